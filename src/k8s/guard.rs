//! The context guard (S5): a run only talks to a kube context that both the
//! scenario (`target.contexts`) and the operator's config
//! (`allowed_contexts`, when set) allow, matched by glob. This is the check
//! that stops "ran the staging drill against prod".

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error(
        "kube context `{context}` is not allowed by the scenario's target.contexts ({allowed}); \
         refusing to touch it"
    )]
    NotInScenario { context: String, allowed: String },
    #[error(
        "kube context `{context}` is not allowed by the config's allowedContexts ({allowed}); \
         refusing to touch it"
    )]
    NotInConfig { context: String, allowed: String },
    #[error("invalid context glob `{glob}`: {message}")]
    BadGlob { glob: String, message: String },
}

fn matches_any(context: &str, globs: &[String]) -> Result<bool, GuardError> {
    for g in globs {
        let pattern = glob::Pattern::new(g).map_err(|e| GuardError::BadGlob {
            glob: g.clone(),
            message: e.to_string(),
        })?;
        if pattern.matches(context) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `scenario_globs` must match (an empty list matches nothing);
/// `config_globs` must match too unless it is empty.
pub fn check_context(
    context: &str,
    scenario_globs: &[String],
    config_globs: &[String],
) -> Result<(), GuardError> {
    if !matches_any(context, scenario_globs)? {
        return Err(GuardError::NotInScenario {
            context: context.to_string(),
            allowed: scenario_globs.join(", "),
        });
    }
    if !config_globs.is_empty() && !matches_any(context, config_globs)? {
        return Err(GuardError::NotInConfig {
            context: context.to_string(),
            allowed: config_globs.join(", "),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn glob_matches_and_refuses() {
        let sc = v(&["gameday-sandbox", "staging-*"]);
        assert!(check_context("staging-eu", &sc, &[]).is_ok());
        assert!(check_context("gameday-sandbox", &sc, &[]).is_ok());
        let err = check_context("prod-eu", &sc, &[]).unwrap_err();
        assert!(err.to_string().contains("prod-eu"));
        assert!(check_context("anything", &[], &[]).is_err());
    }

    #[test]
    fn config_narrows_the_scenario() {
        let sc = v(&["*"]);
        let cfg = v(&["staging-*"]);
        assert!(check_context("staging-us", &sc, &cfg).is_ok());
        assert!(matches!(
            check_context("prod", &sc, &cfg),
            Err(GuardError::NotInConfig { .. })
        ));
    }

    #[test]
    fn bad_glob_is_an_error_not_a_match() {
        assert!(matches!(
            check_context("x", &v(&["[unclosed"]), &[]),
            Err(GuardError::BadGlob { .. })
        ));
    }
}

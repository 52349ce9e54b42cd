//! Every target a run is scored against, resolved once: the config's severity
//! table gives the defaults, the scenario overrides them where it says
//! something more specific (an alert's `within`, an explicit `recoverWithin`).

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::scenario::{Duration, Noise, RoleName, Scenario};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Targets {
    /// The severity the run is scored as: the scenario's `response.severity`,
    /// else the first one responders declared, else none.
    pub severity: Option<String>,
    /// The severity is a level of the config's table.
    pub severity_known: bool,
    pub ack: Option<Duration>,
    pub update_cadence: Option<Duration>,
    pub initial_notification: Option<Duration>,
    pub required_roles: Vec<RoleName>,
    /// Used for expected alerts without their own `within`.
    pub detect_default: Option<Duration>,
    /// Target for TTM (T_mitigate − T_inject).
    pub mitigate: Option<Duration>,
    pub noise: Noise,
    pub pass_mark: f64,
}

impl Targets {
    /// `declared` is the first severity responders declared, used only when
    /// the scenario does not fix one.
    pub fn resolve(config: &Config, scenario: &Scenario, declared: Option<&str>) -> Targets {
        let spec = &scenario.spec;
        let severity = spec
            .response
            .as_ref()
            .and_then(|r| r.severity.clone())
            .or_else(|| declared.map(str::to_string));
        let level = severity.as_deref().and_then(|s| config.severities.get(s));
        // TTM counts from the first injection, so the scenario's own window is
        // the last fault's end plus the time it allows to recover.
        let last_end = spec
            .faults
            .iter()
            .map(|f| f.end().0)
            .max()
            .unwrap_or_default();
        let first_at = spec
            .faults
            .iter()
            .map(|f| f.at().0)
            .min()
            .unwrap_or_default();
        let window = |recover: Duration| Duration(last_end.saturating_sub(first_at) + recover.0);
        let mitigate = match (
            spec.steady_state.recover_within,
            level.and_then(|l| l.mitigate_target),
        ) {
            (Some(r), _) => Some(window(r)),
            (None, Some(m)) => Some(m),
            (None, None) => Some(window(spec.steady_state.recover_within())),
        };
        Targets {
            severity_known: level.is_some(),
            severity,
            ack: level.and_then(|l| l.ack_target),
            update_cadence: level.and_then(|l| l.update_cadence),
            initial_notification: level.and_then(|l| l.initial_notification),
            required_roles: level.map(|l| l.required_roles.clone()).unwrap_or_default(),
            detect_default: level.and_then(|l| l.detect_target),
            mitigate,
            noise: spec
                .detection
                .as_ref()
                .and_then(|d| d.noise)
                .unwrap_or_default(),
            pass_mark: config.pass_mark,
        }
    }

    /// Targets with nothing set: a starting point for tests and tabletop tools.
    pub fn none(pass_mark: f64) -> Targets {
        Targets {
            severity: None,
            severity_known: false,
            ack: None,
            update_cadence: None,
            initial_notification: None,
            required_roles: Vec::new(),
            detect_default: None,
            mitigate: None,
            noise: Noise::Warn,
            pass_mark,
        }
    }

    /// Targets of one severity level of `config`, without a scenario.
    pub fn for_severity(config: &Config, severity: &str) -> Targets {
        let mut t = Targets::none(config.pass_mark);
        t.severity = Some(severity.to_string());
        if let Some(l) = config.severities.get(severity) {
            t.severity_known = true;
            t.ack = l.ack_target;
            t.update_cadence = l.update_cadence;
            t.initial_notification = l.initial_notification;
            t.required_roles = l.required_roles.clone();
            t.detect_default = l.detect_target;
            t.mitigate = l.mitigate_target;
        }
        t
    }

    /// SEV1 and SEV2 by name: the levels that need an explicit IC and comms lead.
    pub fn is_major(&self) -> bool {
        matches!(self.severity.as_deref(), Some("SEV1" | "SEV2"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(extra: &str) -> Scenario {
        let text = format!(
            r#"
apiVersion: gameday/v1
kind: Scenario
metadata: {{name: t}}
spec:
  hypothesis: h
  target: {{contexts: [x], namespaces: [shop]}}
  blastRadius: {{maxTargets: 1, maxDuration: 10m}}
  steadyState:
    probes: [{{name: p, kubernetes: {{kind: Deployment, namespace: shop, name: c, field: replicas}}, expect: ">= 1"}}]
{extra}
  faults:
    - {{name: f, type: podFailure, at: 10s, duration: 60s, selector: {{namespace: shop, labels: {{app: c}}}}}}
"#
        );
        serde_yaml::from_str(&text).unwrap()
    }

    #[test]
    fn severity_table_gives_defaults() {
        let s = scenario("  response: {severity: SEV1}");
        let t = Targets::resolve(&Config::default(), &s, None);
        assert_eq!(t.severity.as_deref(), Some("SEV1"));
        assert!(t.severity_known && t.is_major());
        assert_eq!(t.ack, Some(Duration::from_secs(300)));
        assert_eq!(t.update_cadence, Some(Duration::from_secs(900)));
        assert_eq!(
            t.required_roles,
            vec![RoleName::IncidentCommander, RoleName::Communications]
        );
        // No recoverWithin: the fault window (60s) plus the 2m default.
        assert_eq!(t.mitigate, Some(Duration::from_secs(180)));
        assert_eq!(t.pass_mark, 0.7);
    }

    #[test]
    fn scenario_overrides_and_declared_severity_fallback() {
        let mut cfg = Config::default();
        if let Some(sev) = cfg.severities.get_mut("SEV3") {
            sev.mitigate_target = Some(Duration::from_secs(999));
        }
        let s = scenario("");
        let t = Targets::resolve(&cfg, &s, Some("SEV3"));
        assert_eq!(t.severity.as_deref(), Some("SEV3"));
        assert_eq!(t.mitigate, Some(Duration::from_secs(999)));
        let mut s2 = scenario("");
        s2.spec.steady_state.recover_within = Some(Duration::from_secs(30));
        let t2 = Targets::resolve(&cfg, &s2, Some("SEV3"));
        assert_eq!(t2.mitigate, Some(Duration::from_secs(90)));
        let t3 = Targets::resolve(&cfg, &s, Some("SEV9"));
        assert!(!t3.severity_known);
        assert_eq!(t3.ack, None);
    }
}

#[cfg(test)]
mod doc_tests {
    use crate::config::Config;
    use crate::scenario::Duration;

    /// The configuration example in docs/scoring.md must stay valid.
    #[test]
    fn docs_config_example_parses() {
        let doc = include_str!("../../docs/scoring.md");
        let start = doc.find("```yaml\n").unwrap() + 8;
        let end = start + doc[start..].find("```").unwrap();
        let cfg: Config = serde_yaml::from_str(&doc[start..end]).unwrap();
        assert_eq!(cfg.pass_mark, 0.8);
        let sev1 = &cfg.severities["SEV1"];
        assert_eq!(sev1.mitigate_target, Some(Duration::from_secs(600)));
        assert_eq!(sev1.detect_target, Some(Duration::from_secs(120)));
    }
}

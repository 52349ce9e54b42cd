//! Prometheus alerting rules, from rule files (plain `groups:` files or a
//! Kubernetes `PrometheusRule`'s `spec.groups`) with the line of every rule,
//! or from a live Prometheus's `/api/v1/rules` (see `live`). Recording rules
//! are skipped: they page nobody.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::nodes;
use crate::diag::{Diagnostic, Source};
use crate::yaml::Node;

/// One alerting rule as the audit sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    pub name: String,
    pub group: String,
    /// The rules file (or the file a live Prometheus names for the group).
    pub file: String,
    /// The line of the rule's `alert:` key; 0 when unknown (live mode
    /// without a local copy of the file).
    pub line: usize,
    /// Static labels of the rule, as written (`severity`, `service`, ...).
    pub labels: BTreeMap<String, String>,
    pub runbook_url: Option<String>,
    /// The line of the `runbook_url` annotation (the rule's line without one).
    pub runbook_line: usize,
    /// Where a relative `runbook_url` resolves: the rules file's folder.
    pub base_dir: Option<PathBuf>,
}

/// Loads every rules file under `paths` (files or folders). All mistakes of
/// all files are returned together.
pub fn load_paths(paths: &[PathBuf]) -> Result<Vec<AlertRule>, Vec<Diagnostic>> {
    let mut rules = Vec::new();
    let mut diags = Vec::new();
    let files = nodes::files_under(paths, &mut diags);
    let loaded = nodes::par_map(&files, |file| {
        nodes::read(file)
            .and_then(|text| parse_str(&file.display().to_string(), &text, file.parent()))
    });
    for result in loaded {
        match result {
            Ok(mut r) => rules.append(&mut r),
            Err(mut d) => diags.append(&mut d),
        }
    }
    if diags.is_empty() {
        Ok(rules)
    } else {
        crate::diag::sort(&mut diags);
        Err(diags)
    }
}

/// Parses one rules file's text; `name` names it in findings and
/// diagnostics, `dir` is where its relative runbook URLs resolve.
pub fn parse_str(
    name: &str,
    text: &str,
    dir: Option<&Path>,
) -> Result<Vec<AlertRule>, Vec<Diagnostic>> {
    let src = Source::new(name, text);
    let mut diags = Vec::new();
    let mut out = Vec::new();
    for root in nodes::parse(&src, &mut diags) {
        let groups = match (
            root.get("groups"),
            root.get("spec").and_then(|s| s.get("groups")),
        ) {
            (Some(_), _) => nodes::list(&src, &root, "groups", &mut diags),
            (None, Some(_)) => root.get("spec").map_or(&[][..], |spec| {
                nodes::list(&src, spec, "groups", &mut diags)
            }),
            (None, None) => {
                diags.push(
                    src.error(root.span, "not a Prometheus rules file: no `groups:` list")
                        .with_hint("a rules file is `groups: [{name: ..., rules: [{alert: ..., expr: ...}]}]`, or a PrometheusRule with `spec.groups`"),
                );
                continue;
            }
        };
        for group in groups {
            read_group(&src, group, dir, &mut out, &mut diags);
        }
    }
    if diags.iter().any(Diagnostic::is_error) {
        crate::diag::sort(&mut diags);
        Err(diags)
    } else {
        Ok(out)
    }
}

fn read_group(
    src: &Source<'_>,
    group: &Node,
    dir: Option<&Path>,
    out: &mut Vec<AlertRule>,
    diags: &mut Vec<Diagnostic>,
) {
    if !nodes::require_map(src, group, "a rule group", diags) {
        return;
    }
    let Some(group_name) = nodes::string(src, group, "name", diags) else {
        diags.push(src.error(group.span, "a rule group needs a `name`"));
        return;
    };
    for rule in nodes::list(src, group, "rules", diags) {
        if !nodes::require_map(src, rule, "a rule", diags) {
            continue;
        }
        if rule.get("record").is_some() {
            continue;
        }
        let Some(name) = nodes::string(src, rule, "alert", diags) else {
            diags.push(
                src.error(rule.span, "a rule needs `alert:` or `record:`")
                    .with_hint("Prometheus rejects a rule with neither"),
            );
            continue;
        };
        if rule.get("expr").is_none() {
            diags.push(src.error(
                rule.entry("alert").map_or(rule.span, |e| e.key.span),
                format!("alert `{name}` has no `expr`"),
            ));
        }
        let labels = nodes::string_map(src, rule, "labels", diags);
        let annotations = nodes::string_map(src, rule, "annotations", diags);
        let line = nodes::line_of(rule, "alert");
        let runbook = annotations.get("runbook_url");
        out.push(AlertRule {
            name,
            group: group_name.clone(),
            file: src.name.to_string(),
            line,
            labels: labels.into_iter().map(|(k, (v, _))| (k, v)).collect(),
            runbook_url: runbook.map(|(v, _)| v.clone()),
            runbook_line: runbook.map_or(line, |(_, l)| *l),
            base_dir: dir.map(Path::to_path_buf),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alert_carries_its_line_and_runbook_line() {
        let text = "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n      - alert: A\n        expr: up == 0\n        labels: {severity: critical}\n        annotations:\n          runbook_url: a.md\n";
        let rules = parse_str("r.yml", text, None).unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!((rules[0].line, rules[0].runbook_line), (6, 10));
        assert_eq!(rules[0].labels["severity"], "critical");
    }

    #[test]
    fn a_rule_without_alert_or_record_is_an_error_with_its_position() {
        let text = "groups:\n  - name: g\n    rules:\n      - expr: up\n";
        let diags = parse_str("r.yml", text, None).unwrap_err();
        assert_eq!((diags[0].line, diags[0].column), (4, 9));
    }
}

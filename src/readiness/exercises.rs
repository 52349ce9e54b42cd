//! What the team exercises: the scenarios and tabletop drills in the given
//! folders, loaded with gameday's own loaders (so an invalid scenario is the
//! same diagnostic `gameday validate` gives), reduced to what the checks
//! need: the alerts each one expects, the services it touches, whether its
//! SLO has a guardrail, and where it is written.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::nodes;
use crate::config::Config;
use crate::diag::{Diagnostic, Source};
use crate::drill::Drill;
use crate::scenario::{Scenario, StringMap};
use crate::yaml::{Node, Step, Target};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExerciseKind {
    Scenario,
    Drill,
}

impl ExerciseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExerciseKind::Scenario => "scenario",
            ExerciseKind::Drill => "drill",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Exercise {
    pub name: String,
    pub kind: ExerciseKind,
    pub file: String,
    /// The line of `metadata.name`.
    pub line: usize,
    /// Alert names it expects (`detection.alerts`, and a drill's alert injects).
    pub alerts: BTreeSet<String>,
    /// Services it touches, by the service label on its metadata and alerts.
    pub services: BTreeSet<String>,
    /// For a scenario: whether an SLO probe (Prometheus or HTTP) has a
    /// `during` guardrail. Drills have none to have.
    pub guarded: Option<bool>,
    /// The line of `spec.steadyState`.
    pub steady_line: usize,
}

/// Loads the scenarios and drills under `dirs`. Files that are not
/// `apiVersion: gameday/v1` (a config, a sandbox world) are skipped.
pub fn load(
    dirs: &[PathBuf],
    service_label: &str,
    config: &Config,
) -> Result<Vec<Exercise>, Vec<Diagnostic>> {
    let mut out = Vec::new();
    let mut diags = Vec::new();
    let files = nodes::files_under(dirs, &mut diags);
    let loaded = nodes::par_map(&files, |file| {
        let (mut found, mut problems) = (Vec::new(), Vec::new());
        match nodes::read(file) {
            Ok(text) => load_file(
                file,
                &text,
                service_label,
                config,
                &mut found,
                &mut problems,
            ),
            Err(mut d) => problems.append(&mut d),
        }
        (found, problems)
    });
    for (mut found, mut problems) in loaded {
        out.append(&mut found);
        diags.append(&mut problems);
    }
    if diags.iter().any(Diagnostic::is_error) {
        crate::diag::sort(&mut diags);
        Err(diags)
    } else {
        Ok(out)
    }
}

fn load_file(
    path: &Path,
    text: &str,
    service_label: &str,
    config: &Config,
    out: &mut Vec<Exercise>,
    diags: &mut Vec<Diagnostic>,
) {
    let name = path.display().to_string();
    let src = Source::new(&name, text);
    let (docs, parse_diags) = crate::yaml::parse(&src);
    let roots: Vec<&Node> = docs
        .iter()
        .filter(|d| !crate::yaml::is_empty_document(d))
        .map(|d| &d.root)
        .collect();
    let Some(first) = roots.first() else {
        diags.extend(parse_diags);
        return;
    };
    if first.get("apiVersion").and_then(Node::as_str) != Some("gameday/v1") {
        return;
    }
    let registry = &crate::faults::Registry;
    let at = |root: &Node, path: &[Step<'_>]| root.locate(path, Target::Key).line as usize;
    let name_path = [Step::Key("metadata"), Step::Key("name")];
    let steady_path = [Step::Key("spec"), Step::Key("steadyState")];
    if first.get("kind").and_then(Node::as_str) == Some("Drill") {
        match crate::drill::load_parsed(&src, &docs, parse_diags, config, registry) {
            Ok(drills) => out.extend(
                drills
                    .iter()
                    .zip(&roots)
                    .map(|(d, root)| drill_exercise(d, &name, at(root, &name_path), service_label)),
            ),
            Err(mut d) => diags.append(&mut d),
        }
        return;
    }
    match crate::scenario::load_parsed(&src, &docs, parse_diags, config, registry) {
        Ok(scenarios) => out.extend(scenarios.iter().zip(&roots).map(|(s, root)| {
            let mut e = scenario_exercise(s, &name, at(root, &name_path), service_label);
            e.steady_line = at(root, &steady_path);
            e
        })),
        Err(mut d) => diags.append(&mut d),
    }
}

fn service_of(labels: &StringMap, service_label: &str) -> Option<String> {
    labels.get(service_label).cloned()
}

/// A scenario as the checks see it.
pub fn scenario_exercise(s: &Scenario, file: &str, line: usize, service_label: &str) -> Exercise {
    let expected = s.spec.detection.iter().flat_map(|d| &d.alerts);
    let mut services: BTreeSet<String> = service_of(&s.metadata.labels, service_label)
        .into_iter()
        .collect();
    services.extend(
        expected
            .clone()
            .filter_map(|a| service_of(&a.labels, service_label)),
    );
    let guarded = s
        .spec
        .steady_state
        .probes
        .iter()
        .any(|p| (p.prometheus.is_some() || p.http.is_some()) && p.during.is_some());
    Exercise {
        name: s.metadata.name.clone(),
        kind: ExerciseKind::Scenario,
        file: file.to_string(),
        line,
        alerts: expected.map(|a| a.name.clone()).collect(),
        services,
        guarded: Some(guarded),
        steady_line: line,
    }
}

/// A drill as the checks see it: its expected alerts and the alerts it pages with.
pub fn drill_exercise(d: &Drill, file: &str, line: usize, service_label: &str) -> Exercise {
    let injected: Vec<&StringMap> = d
        .spec
        .injects
        .iter()
        .filter_map(|i| i.alert.as_ref())
        .map(|a| &a.labels)
        .collect();
    let expected = d.spec.detection.iter().flat_map(|det| &det.alerts);
    let mut alerts: BTreeSet<String> = expected.clone().map(|a| a.name.clone()).collect();
    alerts.extend(injected.iter().filter_map(|l| l.get("alertname").cloned()));
    let mut services: BTreeSet<String> = service_of(&d.metadata.labels, service_label)
        .into_iter()
        .collect();
    services.extend(expected.filter_map(|a| service_of(&a.labels, service_label)));
    services.extend(injected.iter().filter_map(|l| service_of(l, service_label)));
    Exercise {
        name: d.metadata.name.clone(),
        kind: ExerciseKind::Drill,
        file: file.to_string(),
        line,
        alerts,
        services,
        guarded: None,
        steady_line: line,
    }
}

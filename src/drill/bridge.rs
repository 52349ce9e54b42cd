//! A drill seen as a scenario. The responder state, the scoring, the reports
//! and the fault engine all take a `Scenario`; a drill shares its sections
//! (`target`, `blastRadius`, `detection`, `response`, faults) and lends them
//! to one, so every rule and every renderer applies unchanged, with no copy.

use crate::scenario::{BlastRadius, Fault, Scenario, ScenarioKind, Spec, SteadyState, Target};
use crate::values::Duration;

use super::model::Drill;

/// The context a drill without `target` is recorded under: it touches none.
pub const TABLETOP_CONTEXT: &str = "tabletop";

impl Drill {
    /// The scenario the drill's shared sections make. Without faults it has
    /// no steady state and an empty target: nothing can be touched.
    /// `with_detection` is false when no Alertmanager pages for the drill:
    /// detection is then left out of the score (drill-v1.md, "Scoring").
    pub fn to_scenario(&self, with_detection: bool) -> Scenario {
        let spec = &self.spec;
        Scenario {
            api_version: self.api_version,
            kind: ScenarioKind::Scenario,
            metadata: self.metadata.clone(),
            spec: Spec {
                description: spec.description.clone(),
                hypothesis: spec
                    .description
                    .clone()
                    .unwrap_or_else(|| format!("tabletop drill {}", self.metadata.name)),
                target: spec.target.clone().unwrap_or_else(|| Target {
                    contexts: vec![TABLETOP_CONTEXT.into()],
                    namespaces: Vec::new(),
                }),
                blast_radius: spec.blast_radius.clone().unwrap_or(BlastRadius {
                    max_targets: 1,
                    max_percent: None,
                    max_duration: self.length(),
                    allow_full_outage: false,
                }),
                steady_state: SteadyState {
                    interval: None,
                    // Mitigation in a drill is the responders' `resolve`;
                    // its target is the planned length of the timeline
                    // (a hybrid drill keeps the scenario's recovery window,
                    // which its faults are validated against).
                    recover_within: (!spec.is_hybrid()).then(|| self.length()),
                    settle: Some(Duration::ZERO),
                    probes: Vec::new(),
                },
                faults: self.faults(),
                detection: spec.detection.clone().filter(|_| with_detection),
                response: spec.response.clone(),
            },
        }
    }

    /// The fault injects, each at its inject's time (a fault's own `at` is
    /// relative to it).
    pub fn faults(&self) -> Vec<Fault> {
        self.spec
            .injects
            .iter()
            .filter_map(|i| {
                let mut f = i.fault.clone()?;
                let base = i.at.unwrap_or(Duration::ZERO);
                f.at = Some(Duration(base.0 + f.at().0));
                Some(f)
            })
            .collect()
    }

    /// The latest moment the timeline names (an `at`, a `by`, an objective's
    /// `within`, an autopilot entry), so a drill without a blast radius still
    /// has a bound on its length.
    pub fn length(&self) -> Duration {
        let spec = &self.spec;
        let injects = spec.injects.iter().flat_map(|i| {
            [
                i.at,
                i.when.as_ref().and_then(|w| w.by),
                i.when.as_ref().and_then(|w| w.delay),
            ]
        });
        let objectives = spec.objectives.iter().map(|o| Some(o.check.within));
        let autopilot = spec
            .response
            .iter()
            .flat_map(|r| r.autopilot.iter().map(|a| Some(a.at)));
        injects
            .chain(objectives)
            .chain(autopilot)
            .flatten()
            .max()
            .unwrap_or(Duration::ZERO)
    }
}

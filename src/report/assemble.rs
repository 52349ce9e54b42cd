//! Builds a `RunReport` from what the engine knows at the end of a run (or
//! what `gameday report` rebuilt from a journal): scores it, derives the
//! action items, and settles the final status and exit code.

use jiff::Timestamp;

use super::actions;
use super::model::{
    FaultRecord, Moments, ProbeSeries, RESULT_VERSION, RunReport, RunStatus, ScenarioInfo,
};
use crate::incident::Incident;
use crate::scenario::Scenario;
use crate::score::{Observed, Targets, score};

pub struct RunFacts<'a> {
    pub run_id: String,
    pub scenario: &'a Scenario,
    /// How the engine's lifecycle ended, before scoring.
    pub status: RunStatus,
    pub status_reason: Option<String>,
    pub started: Timestamp,
    pub ended: Option<Timestamp>,
    pub context: Option<String>,
    pub faults: Vec<FaultRecord>,
    pub probes: Vec<ProbeSeries>,
    pub observed: Observed,
    pub incident: Incident,
    pub targets: Targets,
}

/// A lifecycle that passed still fails when the score is under the pass mark
/// or a failing flag was raised (DESIGN.md exit code 1); every other status
/// is kept as the engine reported it.
pub fn assemble(facts: RunFacts<'_>) -> RunReport {
    let scored = score(&facts.targets, &facts.observed, &facts.incident);
    let from = facts.ended.unwrap_or(facts.observed.t_end);
    let cut_short = matches!(facts.status, RunStatus::Aborted | RunStatus::Incomplete);
    let action_items = actions::derive(
        &scored.scorecard,
        &scored.detection,
        &facts.faults,
        (&facts.observed, cut_short),
        from,
    );
    let (status, status_reason) = match facts.status {
        RunStatus::Passed if !scored.scorecard.passed => (
            RunStatus::Failed,
            Some(format!("score: {}", scored.scorecard.reason)),
        ),
        s => (s, facts.status_reason),
    };
    RunReport {
        version: RESULT_VERSION,
        run_id: facts.run_id,
        scenario: ScenarioInfo::of(facts.scenario),
        status,
        status_reason,
        exit_code: status.exit_code(),
        started: facts.started,
        ended: facts.ended,
        context: facts.context,
        faults: facts.faults,
        probes: facts.probes,
        moments: Moments {
            t_inject: facts.observed.t_inject,
            t_impact: facts.observed.t_impact,
            t_mitigate: facts.observed.t_mitigate,
        },
        detection: scored.detection,
        noise: scored.noise,
        roles: facts.incident.roles.assignments().to_vec(),
        responders: facts.incident.events,
        runbook: facts.incident.runbook,
        scorecard: scored.scorecard,
        action_items,
        kind: None,
        injects: Vec::new(),
        objectives: Vec::new(),
        evaluation: None,
        paging: facts.observed.paging.clone(),
    }
}

impl RunReport {
    /// Every name the report knows (role holders, actors, silence creators):
    /// what the blameless draft must not print outside the roles table.
    pub fn people(&self) -> Vec<String> {
        let mut v: Vec<String> = self.roles.iter().map(|r| r.person.clone()).collect();
        for e in &self.responders {
            v.push(e.person.clone());
            if let crate::incident::Action::Assign { person, .. } = &e.action {
                v.push(person.clone());
            }
        }
        for s in &self.runbook.steps {
            v.extend(s.claimed_by.clone());
        }
        v.retain(|p| !p.trim().is_empty());
        v.sort();
        v.dedup();
        v
    }

    /// The time everything is shown relative to: the first injection, else the start.
    pub fn t0(&self) -> Timestamp {
        self.moments.t_inject.unwrap_or(self.started)
    }
}

//! `RunReport`: the shape of result.json, and the one value every other
//! report (report.md, junit.xml, report.html, history) renders from.
//! Times are RFC 3339 UTC (`jiff::Timestamp`); durations are seconds.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::incident::{ResponderEvent, RoleAssignment, RunbookProgress};
use crate::scenario::{FaultType, RoleName};
use crate::score::{AlertDetection, NoiseGroup, Scorecard};

/// Bumped when result.json changes incompatibly.
pub const RESULT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// The hypothesis held and the score reached the pass mark.
    Passed,
    /// The hypothesis failed, or the score is under the pass mark.
    Failed,
    /// A guardrail (or Ctrl-C, SIGTERM, an error, the kill switch) stopped the
    /// run; faults were reverted.
    Aborted,
    /// The steady state did not hold before; nothing was injected.
    NotRun,
    /// Rebuilt from the journal of a run that never finished (S7).
    Incomplete,
    /// The cluster could not be reached before anything was injected.
    Unreachable,
    /// A revert failed: faults may remain; run `gameday recover`.
    RevertFailed,
}

impl RunStatus {
    /// The exit codes of DESIGN.md.
    pub fn exit_code(self) -> i32 {
        use crate::exit;
        match self {
            RunStatus::Passed => exit::OK,
            RunStatus::Failed | RunStatus::NotRun | RunStatus::Incomplete => exit::FAILED,
            RunStatus::Aborted => exit::ABORTED,
            RunStatus::Unreachable => exit::UNREACHABLE,
            RunStatus::RevertFailed => exit::REVERT_FAILED,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Passed => "passed",
            RunStatus::Failed => "failed",
            RunStatus::Aborted => "aborted",
            RunStatus::NotRun => "not-run",
            RunStatus::Incomplete => "incomplete",
            RunStatus::Unreachable => "unreachable",
            RunStatus::RevertFailed => "revert-failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    pub version: u32,
    pub run_id: String,
    pub scenario: ScenarioInfo,
    pub status: RunStatus,
    /// Why the run ended the way it did, in one line.
    pub status_reason: Option<String>,
    pub exit_code: i32,
    pub started: Timestamp,
    pub ended: Option<Timestamp>,
    pub context: Option<String>,
    pub faults: Vec<FaultRecord>,
    pub probes: Vec<ProbeSeries>,
    /// T_inject, T_impact, T_mitigate (the rest are in `scorecard.metrics`).
    pub moments: Moments,
    pub detection: Vec<AlertDetection>,
    /// Each unexpected alert once, with its label sets.
    pub noise: Vec<NoiseGroup>,
    pub roles: Vec<RoleAssignment>,
    pub responders: Vec<ResponderEvent>,
    pub runbook: RunbookProgress,
    pub scorecard: Scorecard,
    pub action_items: Vec<ActionItem>,
    /// `Drill` for a tabletop drill; absent for a game day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// A drill's injects as they went (drill-v1.md, result.json).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub injects: Vec<super::exercise::InjectRecord>,
    /// A drill's objectives, met or not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objectives: Vec<super::exercise::ObjectiveRecord>,
    /// A drill's "Exercise evaluation".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<super::exercise::Evaluation>,
    /// The run's pages as the paging tools recorded them: source, whom the
    /// page reached, who acknowledged and when, escalations (issue 17).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paging: Vec<crate::score::PageObservation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioInfo {
    pub name: String,
    pub hypothesis: String,
    pub description: Option<String>,
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

impl ScenarioInfo {
    pub fn of(s: &crate::scenario::Scenario) -> ScenarioInfo {
        ScenarioInfo {
            name: s.metadata.name.clone(),
            hypothesis: s.spec.hypothesis.clone(),
            description: s.spec.description.clone(),
            severity: s.spec.response.as_ref().and_then(|r| r.severity.clone()),
            labels: s.metadata.labels.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Moments {
    pub t_inject: Option<Timestamp>,
    pub t_impact: Option<Timestamp>,
    pub t_mitigate: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRecord {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: FaultType,
    /// `namespace/kind/name` of every object touched.
    pub targets: Vec<String>,
    pub injected_at: Option<Timestamp>,
    pub reverted_at: Option<Timestamp>,
    /// Set when the revert failed.
    pub revert_error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    Before,
    During,
    Recover,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbePoint {
    pub at: Timestamp,
    pub phase: Phase,
    /// None: the probe could not be read.
    pub value: Option<f64>,
    /// The expectation for this phase held.
    pub ok: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeSeries {
    pub name: String,
    /// The `expect` text, e.g. `>= 0.99`.
    pub expect: String,
    pub during: Option<String>,
    pub points: Vec<ProbePoint>,
}

impl ProbeSeries {
    /// Whether every reading of `phase` held; None when it has none.
    pub fn phase_held(&self, phase: Phase) -> Option<bool> {
        let mut it = self.points.iter().filter(|p| p.phase == phase).peekable();
        it.peek()?;
        Some(it.all(|p| p.ok))
    }

    /// Whether the probe came back: its last recovery reading held. The
    /// recovery phase stops at the first tick where every probe holds, so
    /// earlier failing readings of that phase are the recovery itself, not
    /// a failure to recover. None when it has no recovery reading.
    pub fn recovered(&self) -> Option<bool> {
        self.points
            .iter()
            .rfind(|p| p.phase == Phase::Recover)
            .map(|p| p.ok)
    }

    /// Whether some reading at or after `t` could not be read.
    pub fn unreadable_since(&self, t: Timestamp) -> bool {
        self.points
            .iter()
            .any(|p| p.at >= t && p.phase != Phase::Before && p.value.is_none())
    }

    /// The last reading of `phase`, for a "measured" value in reports.
    pub fn last_value(&self, phase: Phase) -> Option<f64> {
        self.points
            .iter()
            .filter(|p| p.phase == phase)
            .filter_map(|p| p.value)
            .next_back()
    }
}

/// The names of the probes that could not be read at some point after the
/// injection (empty when nothing was injected): what scoring needs to tell
/// "recovered" from "unknown".
pub fn unreadable_probes<'a>(
    probes: impl IntoIterator<Item = &'a ProbeSeries>,
    t_inject: Option<Timestamp>,
) -> Vec<String> {
    let Some(t) = t_inject else {
        return Vec::new();
    };
    probes
        .into_iter()
        .filter(|p| p.unreadable_since(t))
        .map(|p| p.name.clone())
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Priority {
    P1,
    P2,
    P3,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionItem {
    pub title: String,
    /// The role that owns it (blameless: never a person).
    pub owner_role: OwnerRole,
    pub due: jiff::civil::Date,
    pub priority: Priority,
    /// The finding that produced it.
    pub reason: String,
    /// The rule that derived it; with `subject` and the scenario, the key
    /// that merges the same item across runs in the history.
    pub rule: super::actions::ActionRule,
    /// What the rule is about (an alert, a step, a role, a fault); empty for
    /// run-wide items.
    pub subject: String,
}

/// Incident roles plus the standing owners of alerting and runbooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OwnerRole {
    Incident(RoleName),
    /// Whoever owns the alert rules (usually the service's on-call).
    AlertOwner,
    /// Whoever owns the service's runbooks.
    RunbookOwner,
    /// Whoever runs the on-call rotation.
    RotationLead,
}

impl OwnerRole {
    pub fn label(self) -> &'static str {
        match self {
            OwnerRole::Incident(r) => crate::incident::role_label(r),
            OwnerRole::AlertOwner => "alert owner",
            OwnerRole::RunbookOwner => "runbook owner",
            OwnerRole::RotationLead => "on-call rotation lead",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    #[test]
    fn status_names_and_exit_codes() {
        assert_eq!(serde_json::to_value(RunStatus::NotRun).unwrap(), "not-run");
        assert_eq!(RunStatus::NotRun.as_str(), "not-run");
        assert_eq!(RunStatus::Passed.exit_code(), 0);
        assert_eq!(RunStatus::Failed.exit_code(), 1);
        assert_eq!(RunStatus::Incomplete.exit_code(), 1);
        assert_eq!(RunStatus::Aborted.exit_code(), 3);
        assert_eq!(RunStatus::Unreachable.exit_code(), 4);
        assert_eq!(RunStatus::RevertFailed.exit_code(), 5);
    }

    #[test]
    fn probe_phases() {
        let p = |s, phase, ok| ProbePoint {
            at: t(s),
            phase,
            value: Some(1.0 + s as f64),
            ok,
        };
        let series = ProbeSeries {
            name: "p".into(),
            expect: ">= 0.99".into(),
            during: None,
            points: vec![
                p(0, Phase::Before, true),
                p(1, Phase::During, false),
                p(2, Phase::During, true),
            ],
        };
        assert_eq!(series.phase_held(Phase::Before), Some(true));
        assert_eq!(series.phase_held(Phase::During), Some(false));
        assert_eq!(series.phase_held(Phase::Recover), None);
        assert_eq!(series.last_value(Phase::During), Some(3.0));
    }

    #[test]
    fn result_json_round_trips_with_every_timestamp() {
        let r = crate::report::fixture::report(true);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["status"], "passed");
        assert_eq!(v["exitCode"], 0);
        assert_eq!(v["scenario"]["name"], "checkout-pod-loss");
        let d = &v["detection"][0];
        for k in ["tActive", "tFire", "tNotify", "tResolve"] {
            assert!(d[k].is_string(), "{k} missing in {d}");
        }
        assert_eq!(d["ttdSeconds"], 6.0);
        assert_eq!(d["parts"]["forHoldSeconds"], 2.0);
        assert_eq!(v["faults"][0]["type"], "podKill");
        assert_eq!(v["scorecard"]["components"].as_array().unwrap().len(), 6);
        assert_eq!(v["scorecard"]["metrics"]["ttaSeconds"], 1.0);
        assert_eq!(v["responders"][0]["source"], "silence");
        assert_eq!(v["scorecard"]["flags"][0]["kind"], "noise");
        assert_eq!(v["actionItems"][0]["ownerRole"], "alertOwner");
        assert_eq!(v["probes"][0]["points"].as_array().unwrap().len(), 30);
        let back: RunReport = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }
}

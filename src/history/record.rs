//! The history's own view of a finished run. It is deliberately smaller than
//! the run report (`result.json`): only what trends are computed from, so the
//! database schema does not have to follow every change to the report.

use std::path::PathBuf;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// One run as the history stores it. The run report maps into this with a
/// `From` impl; times are seconds from the fault injection (DESIGN.md
/// "Scoring") and `None` when the run never reached that point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    pub run_id: String,
    /// `scenario` (a game day) or `drill` (a tabletop drill).
    #[serde(default = "scenario_kind")]
    pub kind: String,
    pub scenario: String,
    /// Declared severity (e.g. `SEV2`); `None` when nobody declared one.
    pub severity: Option<String>,
    /// The run's status as the report names it (`passed`, `failed`, `aborted`, `not-run`, ...).
    pub status: String,
    pub exit_code: i32,
    pub started_at: Timestamp,
    /// `None` for a run that crashed and was reported from its journal.
    pub ended_at: Option<Timestamp>,
    pub ttd_seconds: Option<f64>,
    pub tta_seconds: Option<f64>,
    pub ttm_seconds: Option<f64>,
    pub ttr_seconds: Option<f64>,
    /// Composite score in 0..1; `None` when the run was not scored (not-run).
    pub score: Option<f64>,
    pub passed: bool,
    /// Where the run's files are; the history only points at them.
    pub run_dir: PathBuf,
    #[serde(default)]
    pub action_items: Vec<ActionItem>,
    /// Why the run ended as it did when the status alone does not say:
    /// for `skipped`, the calendar's reason (docs/schedule.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The kind of the rows recorded before drills were.
pub fn scenario_kind() -> String {
    KIND_SCENARIO.to_string()
}

pub const KIND_SCENARIO: &str = "scenario";
pub const KIND_DRILL: &str = "drill";
/// The status of a scheduled run the calendar skipped: nothing ran.
pub const STATUS_SKIPPED: &str = "skipped";

/// A postmortem action item. Completion is tracked here rather than in the
/// report, because it happens weeks after the run (`gameday actions done`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionItem {
    /// The item's id within its run's report (e.g. `A1`).
    pub id: String,
    pub title: String,
    pub owner_role: Option<String>,
    pub due: Option<Date>,
    pub priority: Option<String>,
    pub done_at: Option<Timestamp>,
    /// The rule that derived the item (`fix-detection`, ...). With `subject`
    /// and the run's scenario it is the key that merges the same item across
    /// runs; items without one (recorded before schema v4) merge by title.
    #[serde(default)]
    pub rule: Option<String>,
    /// What the rule is about: an alert, a step, a role, a fault; empty for
    /// run-wide items.
    #[serde(default)]
    pub subject: Option<String>,
}

//! The readiness audit (`gameday readiness`, issue 18): the incident
//! blueprint's readiness checklist (every alert has a runbook, every service
//! an owner and an escalation path, severities are defined, the team drills,
//! postmortem actions get done) checked continuously from the inputs gameday
//! already reads, instead of filled in by hand once.
//!
//! Why a module of its own, and why split this way: loading (rule files or a
//! live Prometheus, the Alertmanager config, the Backstage catalog, runbooks,
//! scenarios and drills, the history) does all the I/O and turns every input
//! into a small model with file and line; the checks (`checks`) are pure
//! functions of that model; `tally` scores them and `output` renders the
//! result. So the same checks run on files and on live servers.

pub mod catalog;
pub mod checks;
pub mod error;
pub mod estate;
pub mod exercises;
pub mod live;
pub mod matchers;
mod nodes;
pub mod output;
pub mod routing;
pub mod rules;
pub mod runbooks;
pub mod tally;

pub use checks::{CHECKS, CheckInfo, MANUAL_CHECKS, Options, audit};
pub use error::ReadinessError;
pub use estate::{Estate, HistoryView};
pub use tally::{AreaScore, Audit};

use serde::Serialize;

/// How bad a finding is. `error` breaks the checklist item outright
/// (an alert nobody can act on); `warning` weakens it (never drilled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
        }
    }
}

/// One gap: which check found it, about what, where, and how to fix it.
/// These six fields are the JSON contract of `-o json` (issue 18), so the
/// specifics of the gap go into `hint`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    pub check: &'static str,
    pub severity: Level,
    /// The alert, service, group, scenario or action item.
    pub subject: String,
    /// The file (or URL) the offending entry came from.
    pub file: String,
    /// 1-based line of the offending entry; 0 when the source has no lines
    /// (a history database row, a live API without a local copy).
    pub line: usize,
    pub hint: String,
}

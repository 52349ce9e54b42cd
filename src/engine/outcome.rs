//! How a run ended, and the exit code that says so (DESIGN.md).

use serde::{Deserialize, Serialize};

use crate::exit;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Every fault ran and was reverted; every gate proceeded.
    Passed,
    /// The hypothesis failed after the revert.
    Failed,
    /// The steady state did not hold before; nothing was injected.
    NotRun,
    /// Stopped early (guardrail, Ctrl-C, SIGTERM, an error); faults reverted.
    Aborted,
    /// The kill switch stopped or blocked the run; faults reverted.
    Halted,
    /// The cluster could not be reached before anything was injected.
    Unreachable,
    /// A revert failed after its retries: faults may remain.
    RevertFailed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub status: Status,
    pub reason: Option<String>,
    pub run_id: String,
}

impl Outcome {
    pub fn exit_code(&self) -> i32 {
        match self.status {
            Status::Passed => exit::OK,
            Status::Failed | Status::NotRun => exit::FAILED,
            Status::Aborted | Status::Halted => exit::ABORTED,
            Status::Unreachable => exit::UNREACHABLE,
            Status::RevertFailed => exit::REVERT_FAILED,
        }
    }
}

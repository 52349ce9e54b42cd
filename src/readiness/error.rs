//! Why an audit could not run. Bad input files are diagnostics with file,
//! line and column (exit 2); a server that cannot be reached or does not
//! answer like Prometheus or Alertmanager is exit 4, the same split as a run.

use crate::diag::Diagnostic;
use crate::exit;

#[derive(Debug, thiserror::Error)]
pub enum ReadinessError {
    #[error("{} problem(s) in the inputs", .0.len())]
    Invalid(Vec<Diagnostic>),
    #[error("cannot reach {url}: {cause}")]
    Unreachable { url: String, cause: String },
    #[error("{url} did not answer as expected: {cause}")]
    BadResponse { url: String, cause: String },
    #[error("history database: {0}")]
    History(#[from] crate::history::HistoryError),
}

impl ReadinessError {
    /// The exit code DESIGN.md gives this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            ReadinessError::Invalid(_) => exit::USAGE,
            ReadinessError::Unreachable { .. } | ReadinessError::BadResponse { .. } => {
                exit::UNREACHABLE
            }
            ReadinessError::History(_) => exit::USAGE,
        }
    }
}

impl From<Vec<Diagnostic>> for ReadinessError {
    fn from(diags: Vec<Diagnostic>) -> Self {
        ReadinessError::Invalid(diags)
    }
}

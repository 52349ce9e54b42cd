//! Run history: every run is recorded in a SQLite database, which is where
//! drill trends come from (MTTD, MTTA, MTTR by scenario and severity, pass
//! rate, postmortem action completion).
//!
//! The history is secondary storage. A run's directory (`journal.jsonl`,
//! `result.json`, reports) is written first and is the record of truth; a
//! locked or corrupt database costs the history row, never the run, and the
//! error says where the run's files are.

mod error;
pub mod exposition;
mod merged;
pub mod metrics;
mod path;
pub mod quantile;
mod record;
pub mod schema;
pub mod since;
mod store;

use std::path::Path;

pub use error::HistoryError;
pub use merged::{Completion, MergedAction};
pub use path::{DEFAULT_FILE, default_path, resolve_path};
pub use record::{ActionItem, KIND_DRILL, KIND_SCENARIO, RunRecord, STATUS_SKIPPED};
pub use store::{DEFAULT_BUSY_TIMEOUT, OpenOptions, RunFilter, Store, StoredAction};

/// Records `run` in the history database at `db` (opened, created or
/// migrated as needed). Call it after the run directory is written.
pub fn record(db: &Path, run: &RunRecord) -> Result<(), HistoryError> {
    let mut store = Store::open(db).map_err(|cause| HistoryError::NotRecorded {
        run_id: run.run_id.clone(),
        run_dir: run.run_dir.clone(),
        cause: Box::new(cause),
    })?;
    store.record(run)
}

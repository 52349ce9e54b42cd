//! Run history: every run is recorded in a database, a SQLite file or a
//! shared PostgreSQL one (store.rs picks by the location), which is where
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
mod postgres;
pub mod quantile;
mod record;
mod rows;
pub mod schema;
pub mod since;
mod sql;
mod sqlite;
mod store;

use std::path::Path;

pub use error::HistoryError;
pub use merged::{Completion, MergedAction};
pub use path::{DEFAULT_FILE, default_path, is_postgres, redacted, resolve_path};
pub use record::{ActionItem, KIND_DRILL, KIND_SCENARIO, RunRecord, STATUS_SKIPPED};
pub use store::{
    DEFAULT_BUSY_TIMEOUT, OpenOptions, RunFilter, Store, StoredAction, display_location,
};

/// Records `run` in the history at `db` (opened, created or migrated as
/// needed), with its journal lines when given, so the run can be rebuilt
/// from the history alone. Call it after the run directory is written.
///
/// It runs on a thread of its own: the PostgreSQL client blocks on a
/// runtime of its own, which must not happen on a caller's tokio worker
/// (the responder session records from async code).
pub fn record(db: &Path, run: &RunRecord, journal: Option<&[String]>) -> Result<(), HistoryError> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| record_here(db, run, journal))
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn record_here(db: &Path, run: &RunRecord, journal: Option<&[String]>) -> Result<(), HistoryError> {
    let not_recorded = |cause| HistoryError::NotRecorded {
        run_id: run.run_id.clone(),
        run_dir: run.run_dir.clone(),
        cause: Box::new(cause),
    };
    let mut store = Store::open(db).map_err(not_recorded)?;
    store.record(run)?;
    match journal {
        Some(lines) => store
            .record_journal(&run.run_id, lines)
            .map_err(not_recorded),
        None => Ok(()),
    }
}

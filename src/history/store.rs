//! The one interface the history commands use, whichever backend holds the
//! history: a SQLite file (the default, sqlite.rs) or a PostgreSQL database
//! shared by many runs (`postgres://…`, postgres.rs). The location says
//! which; every method means the same on both, and the tests hold the two
//! to the same output.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use super::merged::{Completion, MergedAction, key_of, merged_key};
use super::path::{is_postgres, redacted};
use super::postgres::PgStore;
use super::sqlite::SqliteStore;
use super::{ActionItem, HistoryError, RunRecord};

/// How long a write waits for another gameday process before reporting the
/// database as locked. Recording a run takes milliseconds, so five seconds
/// only runs out when something holds the database for real.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// SQLite: how long to wait for a lock. PostgreSQL: the connect timeout
    /// and the lock timeout of each statement.
    pub busy_timeout: Duration,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
        }
    }
}

/// Which runs to read. Empty means all, newest first.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub scenario: Option<String>,
    /// `scenario` or `drill`; None for both.
    pub kind: Option<String>,
    /// Runs that started at or after this instant.
    pub since: Option<Timestamp>,
    pub limit: Option<usize>,
}

/// An action item with the number users refer to it by and its run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredAction {
    /// The stable number `gameday actions done` takes.
    pub number: i64,
    pub run_id: String,
    pub scenario: String,
    pub run_started_at: Timestamp,
    #[serde(flatten)]
    pub item: ActionItem,
}

enum Backend {
    Sqlite(SqliteStore),
    Postgres(Box<PgStore>),
}

/// An open history.
pub struct Store {
    backend: Backend,
}

/// Calls the same method on whichever backend is open.
macro_rules! each {
    ($self:expr, $s:ident => $call:expr) => {
        match $self {
            Backend::Sqlite($s) => $call,
            Backend::Postgres($s) => $call,
        }
    };
}

impl Store {
    pub fn open(location: &Path) -> Result<Store, HistoryError> {
        Store::open_with(location, &OpenOptions::default())
    }

    /// Opens (creating and migrating as needed) the history at `location`:
    /// a `postgres://` or `postgresql://` URL, else a SQLite file path.
    pub fn open_with(location: &Path, options: &OpenOptions) -> Result<Store, HistoryError> {
        let backend = match location.to_str().filter(|l| is_postgres(l)) {
            Some(url) => Backend::Postgres(Box::new(PgStore::open(url, options)?)),
            None => Backend::Sqlite(SqliteStore::open_with(location, options)?),
        };
        Ok(Store { backend })
    }

    /// Where the history is, fit to print: a PostgreSQL URL without its
    /// password.
    pub fn path(&self) -> &Path {
        each!(&self.backend, s => s.path())
    }

    pub fn schema_version(&self) -> Result<i64, HistoryError> {
        each!(&self.backend, s => s.schema_version())
    }

    /// Records a run and its action items. Recording the same run again
    /// (e.g. after `gameday report` re-rendered it) updates it in place and
    /// keeps completions already marked with `gameday actions done`.
    ///
    /// The run directory must exist: it is the run's primary record, and
    /// writing it first is what makes a locked or corrupt database harmless.
    pub fn record(&mut self, run: &RunRecord) -> Result<(), HistoryError> {
        let recorded = if run.run_dir.is_dir() {
            each!(&mut self.backend, s => s.record_run(run))
        } else {
            Err(HistoryError::RunDirMissing {
                run_dir: run.run_dir.clone(),
            })
        };
        recorded.map_err(|cause| HistoryError::NotRecorded {
            run_id: run.run_id.clone(),
            run_dir: run.run_dir.clone(),
            cause: Box::new(cause),
        })
    }

    /// Keeps the run's journal (its `journal.jsonl` lines) in the history,
    /// replacing any kept before, so the run can be rebuilt without its
    /// directory.
    pub fn record_journal(&mut self, run_id: &str, lines: &[String]) -> Result<(), HistoryError> {
        each!(&mut self.backend, s => s.record_journal(run_id, lines))
    }

    /// The journal lines kept for `run_id`; empty when none were.
    pub fn journal(&self, run_id: &str) -> Result<Vec<String>, HistoryError> {
        each!(&self.backend, s => s.journal(run_id))
    }

    /// Runs matching `filter`, newest first, each with its action items.
    pub fn runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, HistoryError> {
        each!(&self.backend, s => s.runs(filter))
    }

    /// Action items, the ones due soonest first (undated last).
    pub fn actions(
        &self,
        open_only: bool,
        scenario: Option<&str>,
    ) -> Result<Vec<StoredAction>, HistoryError> {
        each!(&self.backend, s => s.actions(open_only, scenario))
    }

    /// Looks an action item up by its number (`12`, or `#12` as `list` shows
    /// it) or by `RUN_ID:ITEM_ID`.
    pub fn action(&self, reference: &str) -> Result<StoredAction, HistoryError> {
        let found = match ActionRef::parse(reference) {
            Some(r) => each!(&self.backend, s => s.action_by(&r))?,
            None => None,
        };
        found.ok_or_else(|| HistoryError::NoSuchAction {
            path: self.path().to_path_buf(),
            id: reference.trim().to_string(),
        })
    }

    /// Action items merged across runs, one per key, due soonest first.
    pub fn merged_actions(
        &self,
        open_only: bool,
        scenario: Option<&str>,
    ) -> Result<Vec<MergedAction>, HistoryError> {
        each!(&self.backend, s => s.merged(open_only, scenario, None))
    }

    /// The merged item an item reference (`12`, `#12`, `RUN_ID:ITEM_ID`)
    /// belongs to.
    pub fn merged_action(&self, reference: &str) -> Result<MergedAction, HistoryError> {
        let item = self.action(reference)?;
        let (scenario, rule, subject) = key_of(&item);
        let key = Some((rule.as_str(), subject.as_str()));
        each!(&self.backend, s => s.merged(false, Some(&scenario), key))?
            .pop()
            .ok_or_else(|| HistoryError::NoSuchAction {
                path: self.path().to_path_buf(),
                id: reference.trim().to_string(),
            })
    }

    /// Marks every open occurrence of the item's key done at `at`. Marking
    /// it again keeps the first completion times, so the record cannot drift.
    pub fn mark_done(
        &mut self,
        reference: &str,
        at: Timestamp,
    ) -> Result<Completion, HistoryError> {
        let merged = self.merged_action(reference)?;
        if merged.open == 0 {
            return Ok(Completion::AlreadyDone(merged));
        }
        let (rule, subject) = merged_key(&merged);
        let key = (rule.as_str(), subject.as_str());
        each!(&mut self.backend, s => s.mark_key_done(at, &merged.scenario, key))?;
        self.merged_action(&merged.number.to_string())
            .map(Completion::Done)
    }
}

/// How a user names an action item.
pub(super) enum ActionRef<'a> {
    /// The number `list` shows (`12` or `#12`).
    Number(i64),
    /// `RUN_ID:ITEM_ID`.
    Key(&'a str, &'a str),
}

impl<'a> ActionRef<'a> {
    fn parse(reference: &'a str) -> Option<ActionRef<'a>> {
        let reference = reference.trim();
        if let Ok(number) = reference.trim_start_matches('#').parse::<i64>() {
            return Some(ActionRef::Number(number));
        }
        let (run_id, item_id) = reference.rsplit_once(':')?;
        Some(ActionRef::Key(run_id, item_id))
    }
}

/// Hands each item to its run (`runs` came from the same filter, so every
/// item's run is there unless a run was recorded between the two reads).
pub(super) fn attach_items(runs: &mut [RunRecord], items: Vec<StoredAction>) {
    let index: HashMap<String, usize> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| (r.run_id.clone(), i))
        .collect();
    for item in items {
        if let Some(&i) = index.get(&item.run_id) {
            runs[i].action_items.push(item.item);
        }
    }
}

/// `location` as it may be printed (see [`redacted`]).
pub fn display_location(location: &Path) -> String {
    match location.to_str() {
        Some(l) if is_postgres(l) => redacted(l),
        _ => location.display().to_string(),
    }
}

//! The SQLite backend: opening (WAL, busy timeout, migrations), recording
//! runs and reading them back for listings, metrics and action tracking.
//! The default, for one person's or one CI job's history; PostgreSQL
//! (postgres.rs) is the one many writers share.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::schema::{self, Migrated};
use super::store::{ActionRef, OpenOptions, RunFilter, StoredAction, attach_items};
use super::{HistoryError, RunRecord};
use super::{rows, sql};

pub struct SqliteStore {
    pub(super) conn: Connection,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating it and its directory if needed) and migrates the
    /// database. WAL mode lets `gameday history` read while a run records.
    pub fn open_with(path: &Path, options: &OpenOptions) -> Result<SqliteStore, HistoryError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| HistoryError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        // The busy handler does not cover every lock an open takes: SQLite
        // answers SQLITE_BUSY at once, without calling it, where waiting
        // could deadlock, and switching a new file to WAL needs the file to
        // itself. Several processes creating the same new database (many
        // scheduled Jobs on one volume, or the concurrent-writers test) can
        // meet that; the whole open is idempotent, so it is tried again
        // until the busy timeout is spent.
        let deadline = std::time::Instant::now() + options.busy_timeout;
        loop {
            match Self::open_once(path, options) {
                Err(HistoryError::Locked { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    fn open_once(path: &Path, options: &OpenOptions) -> Result<SqliteStore, HistoryError> {
        let sql = |e| HistoryError::from_sqlite(path, e);
        let mut conn = Connection::open(path).map_err(sql)?;
        conn.busy_timeout(options.busy_timeout).map_err(sql)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(sql)?;
        // Checks before any setting that writes to the file: garbage,
        // another program's database and a newer schema are reported with
        // the file left exactly as it was.
        match schema::migrate_to(&mut conn, schema::LATEST).map_err(sql)? {
            Migrated::TooNew { found } => {
                return Err(HistoryError::TooNew {
                    path: path.to_path_buf(),
                    found,
                    known: schema::LATEST,
                });
            }
            Migrated::Foreign => {
                return Err(HistoryError::Foreign {
                    path: path.to_path_buf(),
                });
            }
            Migrated::Upgraded { from } if from != schema::LATEST => {
                let to = schema::LATEST;
                tracing::info!(path = %path.display(), from, to, "history schema migrated");
            }
            Migrated::Upgraded { .. } => {}
        }
        // WAL: `gameday history` and `metrics` read while a run records.
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(sql)?;
        tracing::debug!(path = %path.display(), %mode, "history database opened");
        // In WAL mode NORMAL never corrupts the database; a power cut may
        // only lose the last commits. The run directory (fsynced journal) is
        // the record of truth, so a sync per commit buys nothing here.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        Ok(SqliteStore {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn schema_version(&self) -> Result<i64, HistoryError> {
        schema::version(&self.conn).map_err(|e| self.err(e))
    }

    pub(super) fn err(&self, e: rusqlite::Error) -> HistoryError {
        HistoryError::from_sqlite(&self.path, e)
    }

    /// Runs `write` in one immediate transaction and commits it.
    fn write(
        &mut self,
        write: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<()>,
    ) -> Result<(), HistoryError> {
        let path = self.path.clone();
        let sql = |e| HistoryError::from_sqlite(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        write(&tx).map_err(sql)?;
        tx.commit().map_err(sql)
    }

    /// Records a run and its action items in one transaction (see
    /// [`super::Store::record`]).
    pub(super) fn record_run(&mut self, run: &RunRecord) -> Result<(), HistoryError> {
        self.write(|tx| {
            tx.execute(
                sql::UPSERT_RUN,
                params![
                    run.run_id,
                    run.scenario,
                    run.severity,
                    run.status,
                    run.exit_code,
                    run.started_at.as_millisecond(),
                    run.ended_at.map(|t| t.as_millisecond()),
                    finite(run.ttd_seconds),
                    finite(run.tta_seconds),
                    finite(run.ttm_seconds),
                    finite(run.ttr_seconds),
                    finite(run.score),
                    run.passed,
                    run.run_dir.to_string_lossy(),
                    Timestamp::now().as_millisecond(),
                    run.kind,
                    run.reason,
                ],
            )?;
            let mut upsert = tx.prepare_cached(sql::UPSERT_ACTION)?;
            for item in &run.action_items {
                upsert.execute(params![
                    run.run_id,
                    item.id,
                    item.title,
                    item.owner_role,
                    item.due.map(|d| d.to_string()),
                    item.priority,
                    item.done_at.map(|t| t.as_millisecond()),
                    item.rule,
                    item.subject,
                ])?;
            }
            Ok(())
        })
    }

    /// Replaces the journal kept for `run_id` with `lines`.
    pub(super) fn record_journal(
        &mut self,
        run_id: &str,
        lines: &[String],
    ) -> Result<(), HistoryError> {
        self.write(|tx| {
            tx.execute(sql::DELETE_JOURNAL, [run_id])?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO journal_lines (run_id, seq, line) VALUES (?1, ?2, ?3)",
            )?;
            for (seq, line) in lines.iter().enumerate() {
                insert.execute(params![run_id, seq as i64, line])?;
            }
            Ok(())
        })
    }

    /// The journal kept for `run_id`, empty when there is none.
    pub(super) fn journal(&self, run_id: &str) -> Result<Vec<String>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare_cached(sql::JOURNAL)
            .map_err(|e| self.err(e))?;
        stmt.query_map([run_id], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))
    }

    /// Runs matching `filter`, newest first, each with its action items.
    pub fn runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, HistoryError> {
        let limit = filter
            .limit
            .and_then(|l| i64::try_from(l).ok())
            .unwrap_or(-1);
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "{} WHERE {} ORDER BY started_at_ms DESC, run_id DESC LIMIT ?3",
                sql::RUN_COLUMNS,
                sql::RUN_FILTER
            ))
            .map_err(|e| self.err(e))?;
        let since = filter.since.map(|t| t.as_millisecond());
        let mut runs = stmt
            .query_map(params![filter.scenario, since, limit, filter.kind], |r| {
                rows::run(r)
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err(e))?;
        // One query for the items of every run in the window rather than
        // one per run: metrics read thousands of runs. Without a limit the
        // filter applies directly (the common, large case); with one, only
        // the items of the runs the limit kept are read.
        let items_sql = if filter.limit.is_some() {
            sql::items_of_limited_runs()
        } else {
            format!(
                "{} WHERE {} AND ?3 = -1 ORDER BY a.id",
                sql::ACTION_SELECT,
                sql::RUN_FILTER
            )
        };
        let mut stmt = self
            .conn
            .prepare_cached(&items_sql)
            .map_err(|e| self.err(e))?;
        let items = stmt
            .query_map(params![filter.scenario, since, limit, filter.kind], |r| {
                rows::action(r)
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err(e))?;
        attach_items(&mut runs, items);
        Ok(runs)
    }

    /// Action items, the ones due soonest first (undated last).
    pub fn actions(
        &self,
        open_only: bool,
        scenario: Option<&str>,
    ) -> Result<Vec<StoredAction>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{} {}", sql::ACTION_SELECT, sql::ACTIONS))
            .map_err(|e| self.err(e))?;
        stmt.query_map(params![open_only, scenario], |r| rows::action(r))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))
    }

    /// The action item `reference` names, if it exists.
    pub(super) fn action_by(
        &self,
        reference: &ActionRef<'_>,
    ) -> Result<Option<StoredAction>, HistoryError> {
        match reference {
            ActionRef::Number(number) => self.conn.query_row(
                &format!("{} WHERE a.id = ?1", sql::ACTION_SELECT),
                [number],
                |r| rows::action(r),
            ),
            ActionRef::Key(run_id, item_id) => self.conn.query_row(
                &format!(
                    "{} WHERE a.run_id = ?1 AND a.item_id = ?2",
                    sql::ACTION_SELECT
                ),
                [run_id, item_id],
                |r| rows::action(r),
            ),
        }
        .optional()
        .map_err(|e| self.err(e))
    }
}

/// NaN and infinities are not times; store them as unknown rather than
/// poisoning every median computed later.
fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

rows::impl_cells!(Row<'_>, get, rusqlite::Error, |i, e| {
    rusqlite::Error::FromSqlConversionFailure(i, Type::Text, e)
});

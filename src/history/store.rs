//! The SQLite store: opening (WAL, busy timeout, migrations), recording runs
//! and reading them back for listings, metrics and action tracking.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use serde::Serialize;

use super::schema::{self, Migrated};
use super::{ActionItem, HistoryError, RunRecord};

/// How long a write waits for another gameday process before reporting the
/// database as locked. Recording a run takes milliseconds, so five seconds
/// only runs out when something holds the database for real.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct OpenOptions {
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

pub struct Store {
    pub(super) conn: Connection,
    path: PathBuf,
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, HistoryError> {
        Store::open_with(path, &OpenOptions::default())
    }

    /// Opens (creating it and its directory if needed) and migrates the
    /// database. WAL mode lets `gameday history` read while a run records.
    pub fn open_with(path: &Path, options: &OpenOptions) -> Result<Store, HistoryError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| HistoryError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
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
        Ok(Store {
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

    /// Records a run and its action items. Recording the same run again
    /// (e.g. after `gameday report` re-rendered it) updates it in place and
    /// keeps completions already marked with `gameday actions done`.
    ///
    /// The run directory must exist: it is the run's primary record, and
    /// writing it first is what makes a locked or corrupt database harmless.
    pub fn record(&mut self, run: &RunRecord) -> Result<(), HistoryError> {
        self.record_inner(run)
            .map_err(|cause| HistoryError::NotRecorded {
                run_id: run.run_id.clone(),
                run_dir: run.run_dir.clone(),
                cause: Box::new(cause),
            })
    }

    fn record_inner(&mut self, run: &RunRecord) -> Result<(), HistoryError> {
        if !run.run_dir.is_dir() {
            return Err(HistoryError::RunDirMissing {
                run_dir: run.run_dir.clone(),
            });
        }
        let path = self.path.clone();
        let sql = |e| HistoryError::from_sqlite(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        tx.execute(
            "INSERT INTO runs (run_id, scenario, severity, status, exit_code, started_at_ms,
                 ended_at_ms, ttd_seconds, tta_seconds, ttm_seconds, ttr_seconds, score, passed,
                 run_dir, recorded_at_ms, kind, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
             ON CONFLICT (run_id) DO UPDATE SET
                 scenario = excluded.scenario, severity = excluded.severity,
                 status = excluded.status, exit_code = excluded.exit_code,
                 started_at_ms = excluded.started_at_ms, ended_at_ms = excluded.ended_at_ms,
                 ttd_seconds = excluded.ttd_seconds, tta_seconds = excluded.tta_seconds,
                 ttm_seconds = excluded.ttm_seconds, ttr_seconds = excluded.ttr_seconds,
                 score = excluded.score, passed = excluded.passed, run_dir = excluded.run_dir,
                 recorded_at_ms = excluded.recorded_at_ms, kind = excluded.kind,
                 reason = excluded.reason",
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
        )
        .map_err(sql)?;
        for item in &run.action_items {
            tx.execute(
                "INSERT INTO action_items (run_id, item_id, title, owner_role, due, priority,
                     done_at_ms, rule, subject)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (run_id, item_id) DO UPDATE SET
                     title = excluded.title, owner_role = excluded.owner_role,
                     due = excluded.due, priority = excluded.priority,
                     done_at_ms = coalesce(action_items.done_at_ms, excluded.done_at_ms),
                     rule = excluded.rule, subject = excluded.subject",
                params![
                    run.run_id,
                    item.id,
                    item.title,
                    item.owner_role,
                    item.due.map(|d| d.to_string()),
                    item.priority,
                    item.done_at.map(|t| t.as_millisecond()),
                    item.rule,
                    item.subject,
                ],
            )
            .map_err(sql)?;
        }
        tx.commit().map_err(sql)
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
                "SELECT run_id, scenario, severity, status, exit_code, started_at_ms, ended_at_ms,
                        ttd_seconds, tta_seconds, ttm_seconds, ttr_seconds, score, passed, run_dir, kind, reason
                 FROM runs r WHERE {RUN_FILTER}
                 ORDER BY started_at_ms DESC, run_id DESC LIMIT ?3"
            ))
            .map_err(|e| self.err(e))?;
        let since = filter.since.map(|t| t.as_millisecond());
        let mut runs = stmt
            .query_map(
                params![filter.scenario, since, limit, filter.kind],
                run_from_row,
            )
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err(e))?;
        // One query for the items of every run in the window rather than
        // one per run: metrics read thousands of runs. Without a limit the
        // filter applies directly (the common, large case); with one, only
        // the items of the runs the limit kept are read.
        let index: std::collections::HashMap<String, usize> = runs
            .iter()
            .enumerate()
            .map(|(i, r)| (r.run_id.clone(), i))
            .collect();
        let items_sql = if filter.limit.is_some() {
            format!(
                "{ACTION_SELECT} WHERE a.run_id IN (SELECT run_id FROM runs r WHERE {RUN_FILTER}
                     ORDER BY started_at_ms DESC, run_id DESC LIMIT ?3)
                 ORDER BY a.id"
            )
        } else {
            format!("{ACTION_SELECT} WHERE {RUN_FILTER} AND ?3 = -1 ORDER BY a.id")
        };
        let mut stmt = self
            .conn
            .prepare_cached(&items_sql)
            .map_err(|e| self.err(e))?;
        let items = stmt
            .query_map(
                params![filter.scenario, since, limit, filter.kind],
                action_from_row,
            )
            .map_err(|e| self.err(e))?;
        for item in items {
            let item = item.map_err(|e| self.err(e))?;
            if let Some(&i) = index.get(&item.run_id) {
                runs[i].action_items.push(item.item);
            }
        }
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
            .prepare_cached(&format!(
                "{ACTION_SELECT}
                 WHERE (?1 = 0 OR a.done_at_ms IS NULL) AND (?2 IS NULL OR r.scenario = ?2)
                 ORDER BY a.due IS NULL, a.due, a.id"
            ))
            .map_err(|e| self.err(e))?;
        stmt.query_map(params![open_only, scenario], action_from_row)
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))
    }

    /// Looks an action item up by its number (`12`, or `#12` as `list` shows
    /// it) or by `RUN_ID:ITEM_ID`.
    pub fn action(&self, reference: &str) -> Result<StoredAction, HistoryError> {
        let reference = reference.trim();
        let found = if let Ok(number) = reference.trim_start_matches('#').parse::<i64>() {
            self.conn
                .query_row(
                    &format!("{ACTION_SELECT} WHERE a.id = ?1"),
                    [number],
                    action_from_row,
                )
                .optional()
        } else if let Some((run_id, item_id)) = reference.rsplit_once(':') {
            self.conn
                .query_row(
                    &format!("{ACTION_SELECT} WHERE a.run_id = ?1 AND a.item_id = ?2"),
                    [run_id, item_id],
                    action_from_row,
                )
                .optional()
        } else {
            Ok(None)
        };
        found
            .map_err(|e| self.err(e))?
            .ok_or_else(|| HistoryError::NoSuchAction {
                path: self.path.clone(),
                id: reference.to_string(),
            })
    }
}

/// NaN and infinities are not times; store them as unknown rather than
/// poisoning every median computed later.
fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

/// The condition a [`RunFilter`] puts on `runs r` (?1 scenario, ?2 since in
/// ms, ?4 kind); shared by the run and item queries so they always agree.
const RUN_FILTER: &str = "(?1 IS NULL OR r.scenario = ?1) AND (?2 IS NULL OR r.started_at_ms >= ?2)
     AND (?4 IS NULL OR r.kind = ?4)";

const ACTION_SELECT: &str =
    "SELECT a.id, a.run_id, r.scenario, r.started_at_ms, a.item_id, a.title,
        a.owner_role, a.due, a.priority, a.done_at_ms, a.rule, a.subject
     FROM action_items a JOIN runs r ON r.run_id = a.run_id";

pub(super) fn timestamp(row: &Row<'_>, idx: usize) -> rusqlite::Result<Timestamp> {
    let ms: i64 = row.get(idx)?;
    Timestamp::from_millisecond(ms)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Integer, Box::new(e)))
}

pub(super) fn opt_timestamp(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Timestamp>> {
    match row.get::<_, Option<i64>>(idx)? {
        None => Ok(None),
        Some(_) => timestamp(row, idx).map(Some),
    }
}

fn run_from_row(row: &Row<'_>) -> rusqlite::Result<RunRecord> {
    Ok(RunRecord {
        run_id: row.get(0)?,
        kind: row.get(14)?,
        scenario: row.get(1)?,
        severity: row.get(2)?,
        status: row.get(3)?,
        exit_code: row.get(4)?,
        started_at: timestamp(row, 5)?,
        ended_at: opt_timestamp(row, 6)?,
        ttd_seconds: row.get(7)?,
        tta_seconds: row.get(8)?,
        ttm_seconds: row.get(9)?,
        ttr_seconds: row.get(10)?,
        score: row.get(11)?,
        passed: row.get(12)?,
        run_dir: PathBuf::from(row.get::<_, String>(13)?),
        action_items: Vec::new(),
        reason: row.get(15)?,
    })
}

/// A `YYYY-MM-DD` column that may be NULL.
pub(super) fn opt_date(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Date>> {
    match row.get::<_, Option<String>>(idx)? {
        None => Ok(None),
        Some(s) => s
            .parse::<Date>()
            .map(Some)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e))),
    }
}

fn action_from_row(row: &Row<'_>) -> rusqlite::Result<StoredAction> {
    let due = opt_date(row, 7)?;
    Ok(StoredAction {
        number: row.get(0)?,
        run_id: row.get(1)?,
        scenario: row.get(2)?,
        run_started_at: timestamp(row, 3)?,
        item: ActionItem {
            id: row.get(4)?,
            title: row.get(5)?,
            owner_role: row.get(6)?,
            due,
            priority: row.get(8)?,
            done_at: opt_timestamp(row, 9)?,
            rule: row.get(10)?,
            subject: row.get(11)?,
        },
    })
}

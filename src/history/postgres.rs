//! The PostgreSQL backend: the history many runs share (scheduled Jobs in a
//! cluster, several CI pipelines), where one SQLite file cannot be.
//!
//! The sync `postgres` client (rust-postgres), like rusqlite on the SQLite
//! side: every call is a short query, callers are mostly synchronous CLI
//! commands, and an async caller moves the whole open-record-close onto a
//! thread of its own (mod.rs `record`, `metrics serve`). The client runs its
//! own small runtime, so it must not be called on a tokio worker.
//!
//! Migrations are the SQLite ones in PostgreSQL's dialect
//! (`schema::PG_MIGRATIONS`). They run in one transaction holding a
//! transaction-level advisory lock, so processes starting at once apply each
//! step exactly once: the second waits for the lock, then finds the version
//! already there. (PostgreSQL docs, "Advisory Locks": `pg_advisory_xact_lock`
//! is released at the end of the transaction, also when it aborts.)

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use postgres::types::ToSql;
use postgres::{Client, NoTls, Row};

use super::merged::MergedAction;
use super::path::redacted;
use super::rows;
use super::schema::{LATEST, PG_MIGRATIONS};
use super::sql::{self, to_pg};
use super::store::{ActionRef, OpenOptions, RunFilter, StoredAction, attach_items};
use super::{HistoryError, RunRecord};

/// The advisory lock key migrations hold: "gameday" in ASCII, so it does not
/// collide with another application's locks in a shared database.
const MIGRATION_LOCK: i64 = 0x67_61_6d_65_64_61_79;

pub struct PgStore {
    client: RefCell<Client>,
    /// The URL without its password, for messages.
    shown: PathBuf,
}

impl PgStore {
    /// Connects and migrates. The password comes from the URL or, better,
    /// from `PGPASSWORD` (the URL itself usually comes from a Secret through
    /// `GAMEDAY_HISTORY_DB`); it is never printed.
    pub fn open(url: &str, options: &OpenOptions) -> Result<PgStore, HistoryError> {
        let shown = PathBuf::from(redacted(url));
        let connect_err = |source| HistoryError::PgConnect {
            location: shown.clone(),
            source,
        };
        let mut config: postgres::Config = url.parse().map_err(connect_err)?;
        if config.get_password().is_none()
            && let Some(password) = std::env::var_os("PGPASSWORD")
        {
            config.password(password.as_encoded_bytes());
        }
        config.connect_timeout(options.busy_timeout);
        let mut client = config.connect(NoTls).map_err(connect_err)?;
        let from = migrate(&mut client).map_err(|source| HistoryError::Postgres {
            location: shown.clone(),
            source,
        })?;
        if from > LATEST {
            return Err(HistoryError::TooNew {
                path: shown,
                found: from,
                known: LATEST,
            });
        }
        if from != LATEST {
            tracing::info!(location = %shown.display(), from, to = LATEST, "history schema migrated");
        }
        Ok(PgStore {
            client: RefCell::new(client),
            shown,
        })
    }

    pub fn path(&self) -> &Path {
        &self.shown
    }

    fn err(&self, source: postgres::Error) -> HistoryError {
        HistoryError::Postgres {
            location: self.shown.clone(),
            source,
        }
    }

    fn bad_value(&self, detail: String) -> HistoryError {
        HistoryError::Corrupt {
            path: self.shown.clone(),
            detail,
        }
    }

    fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, HistoryError> {
        let mut client = self.client.borrow_mut();
        let stmt = client.prepare(&to_pg(sql)).map_err(|e| self.err(e))?;
        client.query(&stmt, params).map_err(|e| self.err(e))
    }

    /// Decodes every row with `decode`, reporting the first bad one.
    fn decode<T>(
        &self,
        rows: Vec<Row>,
        decode: fn(&Row) -> Result<T, RowError>,
    ) -> Result<Vec<T>, HistoryError> {
        rows.iter()
            .map(|r| {
                decode(r).map_err(|e| match e {
                    RowError::Pg(e) => self.err(e),
                    RowError::Value(detail) => self.bad_value(detail),
                })
            })
            .collect()
    }

    pub fn schema_version(&self) -> Result<i64, HistoryError> {
        let rows = self.query(
            "SELECT coalesce(max(version), 0) FROM gameday_schema_version",
            &[],
        )?;
        self.decode(rows, |r| r.cell::<i64>(0))
            .map(|v| v.first().copied().unwrap_or(0))
    }

    pub(super) fn record_run(&mut self, run: &RunRecord) -> Result<(), HistoryError> {
        let mut client = self.client.borrow_mut();
        let result = (|| {
            let mut tx = client.transaction()?;
            let ended = run.ended_at.map(|t| t.as_millisecond());
            let ttd = finite(run.ttd_seconds);
            let tta = finite(run.tta_seconds);
            let ttm = finite(run.ttm_seconds);
            let ttr = finite(run.ttr_seconds);
            let score = finite(run.score);
            let run_dir = run.run_dir.to_string_lossy().into_owned();
            tx.execute(
                &to_pg(sql::UPSERT_RUN),
                &[
                    &run.run_id,
                    &run.scenario,
                    &run.severity,
                    &run.status,
                    &run.exit_code,
                    &run.started_at.as_millisecond(),
                    &ended,
                    &ttd,
                    &tta,
                    &ttm,
                    &ttr,
                    &score,
                    &run.passed,
                    &run_dir,
                    &Timestamp::now().as_millisecond(),
                    &run.kind,
                    &run.reason,
                ],
            )?;
            let upsert = tx.prepare(&to_pg(sql::UPSERT_ACTION))?;
            for item in &run.action_items {
                let due = item.due.map(|d| d.to_string());
                let done = item.done_at.map(|t| t.as_millisecond());
                tx.execute(
                    &upsert,
                    &[
                        &run.run_id,
                        &item.id,
                        &item.title,
                        &item.owner_role,
                        &due,
                        &item.priority,
                        &done,
                        &item.rule,
                        &item.subject,
                    ],
                )?;
            }
            tx.commit()
        })();
        drop(client);
        result.map_err(|e| self.err(e))
    }

    /// Replaces the journal kept for `run_id`: one statement for all the
    /// lines (an array parameter), however long the run.
    pub(super) fn record_journal(
        &mut self,
        run_id: &str,
        lines: &[String],
    ) -> Result<(), HistoryError> {
        let mut client = self.client.borrow_mut();
        let result = (|| {
            let mut tx = client.transaction()?;
            tx.execute(&to_pg(sql::DELETE_JOURNAL), &[&run_id])?;
            tx.execute(
                "INSERT INTO journal_lines (run_id, seq, line)
                 SELECT $1, l.ord - 1, l.line FROM unnest($2::text[]) WITH ORDINALITY AS l(line, ord)",
                &[&run_id, &lines],
            )?;
            tx.commit()
        })();
        drop(client);
        result.map_err(|e| self.err(e))
    }

    pub(super) fn journal(&self, run_id: &str) -> Result<Vec<String>, HistoryError> {
        let rows = self.query(sql::JOURNAL, &[&run_id])?;
        self.decode(rows, |r| r.cell(0))
    }

    pub(super) fn runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, HistoryError> {
        let since = filter.since.map(|t| t.as_millisecond());
        let limit = filter.limit.and_then(|l| i64::try_from(l).ok());
        let params: [&(dyn ToSql + Sync); 4] = [&filter.scenario, &since, &limit, &filter.kind];
        let runs_sql = format!(
            "{} WHERE {} ORDER BY started_at_ms DESC, run_id DESC LIMIT ?3",
            sql::RUN_COLUMNS,
            sql::RUN_FILTER
        );
        let mut runs = self.decode(self.query(&runs_sql, &params)?, rows::run)?;
        // LIMIT NULL is no limit; the unlimited case reads the items by the
        // filter directly, as the SQLite backend does.
        let items_sql = if limit.is_some() {
            sql::items_of_limited_runs()
        } else {
            format!(
                "{} WHERE {} AND CAST(?3 AS BIGINT) IS NULL ORDER BY a.id",
                sql::ACTION_SELECT,
                sql::RUN_FILTER
            )
        };
        let items = self.decode(self.query(&items_sql, &params)?, rows::action)?;
        attach_items(&mut runs, items);
        Ok(runs)
    }

    pub(super) fn actions(
        &self,
        open_only: bool,
        scenario: Option<&str>,
    ) -> Result<Vec<StoredAction>, HistoryError> {
        let sql = format!("{} {}", sql::ACTION_SELECT, sql::ACTIONS);
        let rows = self.query(&sql, &[&i32::from(open_only), &scenario])?;
        self.decode(rows, rows::action)
    }

    pub(super) fn action_by(
        &self,
        reference: &ActionRef<'_>,
    ) -> Result<Option<StoredAction>, HistoryError> {
        let rows = match reference {
            ActionRef::Number(n) => {
                self.query(&format!("{} WHERE a.id = ?1", sql::ACTION_SELECT), &[n])?
            }
            ActionRef::Key(run_id, item_id) => self.query(
                &format!(
                    "{} WHERE a.run_id = ?1 AND a.item_id = ?2",
                    sql::ACTION_SELECT
                ),
                &[run_id, item_id],
            )?,
        };
        Ok(self.decode(rows, rows::action)?.pop())
    }

    pub(super) fn merged(
        &self,
        open_only: bool,
        scenario: Option<&str>,
        key: Option<(&str, &str)>,
    ) -> Result<Vec<MergedAction>, HistoryError> {
        let (rule, subject) = key.unzip();
        let rows = self.query(
            &sql::merged(),
            &[&i32::from(open_only), &scenario, &rule, &subject],
        )?;
        self.decode(rows, rows::merged)
    }

    pub(super) fn mark_key_done(
        &mut self,
        at: Timestamp,
        scenario: &str,
        (rule, subject): (&str, &str),
    ) -> Result<(), HistoryError> {
        self.query(
            &sql::mark_done(),
            &[&at.as_millisecond(), &scenario, &rule, &subject],
        )
        .map(drop)
    }
}

/// Applies the missing migrations under the advisory lock; returns the
/// version found (greater than [`LATEST`] means too new, left untouched).
fn migrate(client: &mut Client) -> Result<i64, postgres::Error> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    // Looked up before creating: CREATE needs the privilege even when the
    // table exists, and a migrated database needs only DML afterwards.
    let exists: bool = tx
        .query_one(
            "SELECT to_regclass('gameday_schema_version') IS NOT NULL",
            &[],
        )?
        .try_get(0)?;
    if !exists {
        tx.batch_execute(
            "CREATE TABLE gameday_schema_version (
                 version BIGINT PRIMARY KEY,
                 applied_at_ms BIGINT NOT NULL
             )",
        )?;
    }
    let from: i64 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM gameday_schema_version",
            &[],
        )?
        .try_get(0)?;
    if from > LATEST {
        return Ok(from);
    }
    for (index, ddl) in PG_MIGRATIONS.iter().enumerate() {
        let to = index as i64 + 1;
        if to <= from {
            continue;
        }
        tx.batch_execute(ddl)?;
        tx.execute(
            "INSERT INTO gameday_schema_version (version, applied_at_ms) VALUES ($1, $2)",
            &[&to, &Timestamp::now().as_millisecond()],
        )?;
    }
    tx.commit()?;
    Ok(from)
}

/// NaN and infinities are not times; store them as unknown.
fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

/// Why a row did not decode: the driver's error, or a value that is not
/// what gameday wrote (a bad timestamp or date).
pub(super) enum RowError {
    Pg(postgres::Error),
    Value(String),
}

impl From<postgres::Error> for RowError {
    fn from(e: postgres::Error) -> Self {
        RowError::Pg(e)
    }
}

/// `Row::try_get` with the error as [`RowError`].
pub(super) trait TryCell {
    fn cell<'a, T: postgres::types::FromSql<'a>>(&'a self, i: usize) -> Result<T, RowError>;
}

impl TryCell for Row {
    fn cell<'a, T: postgres::types::FromSql<'a>>(&'a self, i: usize) -> Result<T, RowError> {
        self.try_get(i).map_err(RowError::Pg)
    }
}

rows::impl_cells!(Row, cell, RowError, |i, e| RowError::Value(format!(
    "column {i}: {e}"
)));

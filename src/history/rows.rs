//! Rows back into records, once for both backends. A row of either driver
//! is read through [`Cells`]; each driver keeps its own error type, so the
//! SQLite side still sees `rusqlite::Error` and the PostgreSQL side
//! `postgres::Error` (or a value gameday did not write).

use std::path::PathBuf;

use jiff::Timestamp;
use jiff::civil::Date;

use super::merged::MergedAction;
use super::store::StoredAction;
use super::{ActionItem, RunRecord};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The typed column reads the decoders need.
pub(super) trait Cells {
    type Error;
    fn text(&self, i: usize) -> Result<String, Self::Error>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, Self::Error>;
    fn int(&self, i: usize) -> Result<i64, Self::Error>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>, Self::Error>;
    fn int32(&self, i: usize) -> Result<i32, Self::Error>;
    fn opt_real(&self, i: usize) -> Result<Option<f64>, Self::Error>;
    fn boolean(&self, i: usize) -> Result<bool, Self::Error>;
    /// A column whose value is not what gameday writes there.
    fn bad_value(i: usize, e: BoxError) -> Self::Error;
}

/// Implements [`Cells`] for a driver's row type with its generic getter.
macro_rules! impl_cells {
    ($row:ty, $get:ident, $err:ty, $bad:expr) => {
        impl $crate::history::rows::Cells for $row {
            type Error = $err;
            fn text(&self, i: usize) -> Result<String, $err> {
                self.$get(i)
            }
            fn opt_text(&self, i: usize) -> Result<Option<String>, $err> {
                self.$get(i)
            }
            fn int(&self, i: usize) -> Result<i64, $err> {
                self.$get(i)
            }
            fn opt_int(&self, i: usize) -> Result<Option<i64>, $err> {
                self.$get(i)
            }
            fn int32(&self, i: usize) -> Result<i32, $err> {
                self.$get(i)
            }
            fn opt_real(&self, i: usize) -> Result<Option<f64>, $err> {
                self.$get(i)
            }
            fn boolean(&self, i: usize) -> Result<bool, $err> {
                self.$get(i)
            }
            fn bad_value(i: usize, e: Box<dyn std::error::Error + Send + Sync>) -> $err {
                ($bad)(i, e)
            }
        }
    };
}
pub(super) use impl_cells;

pub(super) fn timestamp<R: Cells>(row: &R, i: usize) -> Result<Timestamp, R::Error> {
    Timestamp::from_millisecond(row.int(i)?).map_err(|e| R::bad_value(i, Box::new(e)))
}

pub(super) fn opt_timestamp<R: Cells>(row: &R, i: usize) -> Result<Option<Timestamp>, R::Error> {
    match row.opt_int(i)? {
        None => Ok(None),
        Some(_) => timestamp(row, i).map(Some),
    }
}

/// A `YYYY-MM-DD` column that may be NULL.
pub(super) fn opt_date<R: Cells>(row: &R, i: usize) -> Result<Option<Date>, R::Error> {
    match row.opt_text(i)? {
        None => Ok(None),
        Some(s) => s
            .parse::<Date>()
            .map(Some)
            .map_err(|e| R::bad_value(i, Box::new(e))),
    }
}

/// A row of `sql::RUN_COLUMNS`.
pub(super) fn run<R: Cells>(row: &R) -> Result<RunRecord, R::Error> {
    Ok(RunRecord {
        run_id: row.text(0)?,
        kind: row.text(14)?,
        reason: row.opt_text(15)?,
        scenario: row.text(1)?,
        severity: row.opt_text(2)?,
        status: row.text(3)?,
        exit_code: row.int32(4)?,
        started_at: timestamp(row, 5)?,
        ended_at: opt_timestamp(row, 6)?,
        ttd_seconds: row.opt_real(7)?,
        tta_seconds: row.opt_real(8)?,
        ttm_seconds: row.opt_real(9)?,
        ttr_seconds: row.opt_real(10)?,
        score: row.opt_real(11)?,
        passed: row.boolean(12)?,
        run_dir: PathBuf::from(row.text(13)?),
        action_items: Vec::new(),
    })
}

/// A row of `sql::ACTION_SELECT`.
pub(super) fn action<R: Cells>(row: &R) -> Result<StoredAction, R::Error> {
    Ok(StoredAction {
        number: row.int(0)?,
        run_id: row.text(1)?,
        scenario: row.text(2)?,
        run_started_at: timestamp(row, 3)?,
        item: ActionItem {
            id: row.text(4)?,
            title: row.text(5)?,
            owner_role: row.opt_text(6)?,
            due: opt_date(row, 7)?,
            priority: row.opt_text(8)?,
            done_at: opt_timestamp(row, 9)?,
            rule: row.opt_text(10)?,
            subject: row.opt_text(11)?,
        },
    })
}

/// A row of `sql::merged()`.
pub(super) fn merged<R: Cells>(row: &R) -> Result<MergedAction, R::Error> {
    let rule = row.text(2)?;
    let legacy = rule.is_empty();
    Ok(MergedAction {
        number: row.int(0)?,
        scenario: row.text(1)?,
        subject: if legacy { None } else { Some(row.text(3)?) },
        rule: (!legacy).then_some(rule),
        title: row.text(4)?,
        owner_role: row.opt_text(5)?,
        priority: row.opt_text(6)?,
        due: opt_date(row, 7)?,
        occurrences: row.int(8)?,
        open: row.int(9)?,
        first_seen: timestamp(row, 10)?,
        last_seen: timestamp(row, 11)?,
        last_run_id: row.text(12)?,
        done_at: opt_timestamp(row, 13)?,
    })
}

//! Action items merged across runs. A game day run again and again finds
//! the same gaps; listing every occurrence buries the few real follow-ups
//! under copies. Items are merged by a stable key, (scenario, rule,
//! subject), into one row with an occurrence count and first/last seen.
//! Items recorded before the key existed (no rule) merge by their title.

use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::params;
use serde::Serialize;

use super::sqlite::SqliteStore;
use super::{HistoryError, StoredAction};
use super::{rows, sql};

/// One follow-up, however many runs found it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MergedAction {
    /// The number `gameday actions done` takes: the first occurrence's, so
    /// it stays the same as more runs find the item (and the number of any
    /// occurrence finds it too).
    pub number: i64,
    pub scenario: String,
    /// The rule and subject of the key; None for items recorded before v4.
    pub rule: Option<String>,
    pub subject: Option<String>,
    /// From the latest occurrence, whose wording is the current one.
    pub title: String,
    pub owner_role: Option<String>,
    /// The most urgent priority any occurrence had.
    pub priority: Option<String>,
    /// The earliest due date of the open occurrences (the gap has been open
    /// since then), else the last one.
    pub due: Option<Date>,
    pub occurrences: i64,
    /// Occurrences not marked done. A done item found again is open again.
    pub open: i64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub last_run_id: String,
    /// When the last occurrence was marked done; None while any is open.
    pub done_at: Option<Timestamp>,
}

/// What `mark_done` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Completion {
    /// Every open occurrence was marked done.
    Done(MergedAction),
    /// Nothing was open; the earlier completion times are kept.
    AlreadyDone(MergedAction),
}

/// The merge key of one stored item: (scenario, rule, subject), or
/// (scenario, "", title) for an item recorded without a rule.
pub(super) fn key_of(a: &StoredAction) -> (String, String, String) {
    match &a.item.rule {
        Some(rule) => (
            a.scenario.clone(),
            rule.clone(),
            a.item.subject.clone().unwrap_or_default(),
        ),
        None => (a.scenario.clone(), String::new(), a.item.title.clone()),
    }
}

/// The (rule, subject) half of a merged item's key, as [`sql::mark_done`]
/// matches it: legacy items (no rule) are keyed by their title.
pub(super) fn merged_key(merged: &MergedAction) -> (String, String) {
    let rule = merged.rule.clone().unwrap_or_default();
    let subject = match &merged.rule {
        Some(_) => merged.subject.clone().unwrap_or_default(),
        None => merged.title.clone(),
    };
    (rule, subject)
}

impl SqliteStore {
    /// Merged items, or the one of `key` (rule, subject) in `scenario`.
    pub(super) fn merged(
        &self,
        open_only: bool,
        scenario: Option<&str>,
        key: Option<(&str, &str)>,
    ) -> Result<Vec<MergedAction>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare_cached(&sql::merged())
            .map_err(|e| self.err(e))?;
        let (rule, subject) = key.unzip();
        stmt.query_map(params![open_only, scenario, rule, subject], |r| {
            rows::merged(r)
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.err(e))
    }

    /// Marks the open occurrences of one key done at `at`.
    pub(super) fn mark_key_done(
        &mut self,
        at: Timestamp,
        scenario: &str,
        (rule, subject): (&str, &str),
    ) -> Result<(), HistoryError> {
        self.conn
            .execute(
                &sql::mark_done(),
                params![at.as_millisecond(), scenario, rule, subject],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }
}

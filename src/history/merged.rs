//! Action items merged across runs. A game day run again and again finds
//! the same gaps; listing every occurrence buries the few real follow-ups
//! under copies. Items are merged by a stable key, (scenario, rule,
//! subject), into one row with an occurrence count and first/last seen.
//! Items recorded before the key existed (no rule) merge by their title.

use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::{Row, params};
use serde::Serialize;

use super::store::{opt_date, opt_timestamp, timestamp};
use super::{HistoryError, Store, StoredAction};

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

/// The key columns of `action_items a JOIN runs r`, as SQL expressions.
const KEY_RULE: &str = "coalesce(a.rule, '')";
const KEY_SUBJECT: &str = "CASE WHEN a.rule IS NULL THEN a.title ELSE coalesce(a.subject, '') END";

/// ?1 open only, ?2 scenario, ?3/?4 one key (rule, subject) or NULL for all.
fn merged_sql() -> String {
    format!(
        "WITH k AS (
            SELECT a.id, a.run_id, a.title, a.owner_role, a.due, a.priority, a.done_at_ms,
                   r.scenario, r.started_at_ms,
                   {KEY_RULE} AS krule, {KEY_SUBJECT} AS ksubject,
                   row_number() OVER (PARTITION BY r.scenario, {KEY_RULE}, {KEY_SUBJECT}
                                      ORDER BY r.started_at_ms DESC, a.id DESC) AS recency
            FROM action_items a JOIN runs r ON r.run_id = a.run_id
            WHERE (?2 IS NULL OR r.scenario = ?2)
        ), g AS (
            SELECT scenario, krule, ksubject, min(id) AS number, count(*) AS occurrences,
                   sum(done_at_ms IS NULL) AS open, min(started_at_ms) AS first_ms,
                   max(started_at_ms) AS last_ms, min(priority) AS priority,
                   min(CASE WHEN done_at_ms IS NULL THEN due END) AS open_due,
                   max(due) AS last_due, max(done_at_ms) AS done_ms
            FROM k GROUP BY scenario, krule, ksubject
        )
        SELECT g.number, g.scenario, g.krule, g.ksubject, l.title, l.owner_role, g.priority,
               coalesce(g.open_due, g.last_due) AS due, g.occurrences, g.open,
               g.first_ms, g.last_ms, l.run_id,
               CASE WHEN g.open = 0 THEN g.done_ms END
        FROM g JOIN k l ON l.scenario = g.scenario AND l.krule = g.krule
                       AND l.ksubject = g.ksubject AND l.recency = 1
        WHERE (?1 = 0 OR g.open > 0) AND (?3 IS NULL OR (g.krule = ?3 AND g.ksubject = ?4))
        ORDER BY due IS NULL, due, g.number"
    )
}

fn merged_from_row(row: &Row<'_>) -> rusqlite::Result<MergedAction> {
    let rule: String = row.get(2)?;
    let legacy = rule.is_empty();
    let due = opt_date(row, 7)?;
    Ok(MergedAction {
        number: row.get(0)?,
        scenario: row.get(1)?,
        subject: if legacy { None } else { Some(row.get(3)?) },
        rule: (!legacy).then_some(rule),
        title: row.get(4)?,
        owner_role: row.get(5)?,
        priority: row.get(6)?,
        due,
        occurrences: row.get(8)?,
        open: row.get(9)?,
        first_seen: timestamp(row, 10)?,
        last_seen: timestamp(row, 11)?,
        last_run_id: row.get(12)?,
        done_at: opt_timestamp(row, 13)?,
    })
}

/// The merge key of one stored item: (scenario, rule, subject), or
/// (scenario, "", title) for an item recorded without a rule.
fn key_of(a: &StoredAction) -> (String, String, String) {
    match &a.item.rule {
        Some(rule) => (
            a.scenario.clone(),
            rule.clone(),
            a.item.subject.clone().unwrap_or_default(),
        ),
        None => (a.scenario.clone(), String::new(), a.item.title.clone()),
    }
}

impl Store {
    /// Action items merged across runs, one per key, due soonest first.
    pub fn merged_actions(
        &self,
        open_only: bool,
        scenario: Option<&str>,
    ) -> Result<Vec<MergedAction>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare_cached(&merged_sql())
            .map_err(|e| self.err(e))?;
        stmt.query_map(
            params![open_only, scenario, None::<String>, None::<String>],
            merged_from_row,
        )
        .and_then(|rows| rows.collect())
        .map_err(|e| self.err(e))
    }

    /// The merged item an item reference (`12`, `#12`, `RUN_ID:ITEM_ID`)
    /// belongs to.
    pub fn merged_action(&self, reference: &str) -> Result<MergedAction, HistoryError> {
        let item = self.action(reference)?;
        let (scenario, rule, subject) = key_of(&item);
        let mut stmt = self
            .conn
            .prepare_cached(&merged_sql())
            .map_err(|e| self.err(e))?;
        stmt.query_row(params![false, scenario, rule, subject], merged_from_row)
            .map_err(|e| self.err(e))
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
        let sql = format!(
            "UPDATE action_items SET done_at_ms = ?1
             WHERE done_at_ms IS NULL AND id IN (
                 SELECT a.id FROM action_items a JOIN runs r ON r.run_id = a.run_id
                 WHERE r.scenario = ?2 AND {KEY_RULE} = ?3 AND {KEY_SUBJECT} = ?4)"
        );
        let rule = merged.rule.clone().unwrap_or_default();
        let subject = match &merged.rule {
            Some(_) => merged.subject.clone().unwrap_or_default(),
            None => merged.title.clone(),
        };
        self.conn
            .execute(
                &sql,
                params![at.as_millisecond(), merged.scenario, rule, subject],
            )
            .map_err(|e| self.err(e))?;
        self.merged_action(&merged.number.to_string())
            .map(Completion::Done)
    }
}

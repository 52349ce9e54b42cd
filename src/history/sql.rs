//! The query text both backends run. SQLite and PostgreSQL agree on the
//! SQL these need (window functions, `ON CONFLICT … DO UPDATE`), so each
//! query is written once, with SQLite's `?N` parameters, and [`to_pg`]
//! renumbers them as `$N` for PostgreSQL. A parameter tested with `IS NULL`
//! is cast there: PostgreSQL cannot infer its type from that test alone. Only the
//! DDL (schema.rs) and the row decoding differ per backend.

/// The condition a [`super::RunFilter`] puts on `runs r` (?1 scenario, ?2
/// since in ms, ?4 kind); shared by the run and item queries so they always
/// agree.
pub const RUN_FILTER: &str = "(CAST(?1 AS TEXT) IS NULL OR r.scenario = ?1)
     AND (CAST(?2 AS BIGINT) IS NULL OR r.started_at_ms >= ?2)
     AND (CAST(?4 AS TEXT) IS NULL OR r.kind = ?4)";

pub const RUN_COLUMNS: &str =
    "SELECT run_id, scenario, severity, status, exit_code, started_at_ms, ended_at_ms,
        ttd_seconds, tta_seconds, ttm_seconds, ttr_seconds, score, passed, run_dir, kind,
        reason
     FROM runs r";

pub const ACTION_SELECT: &str =
    "SELECT a.id, a.run_id, r.scenario, r.started_at_ms, a.item_id, a.title,
        a.owner_role, a.due, a.priority, a.done_at_ms, a.rule, a.subject
     FROM action_items a JOIN runs r ON r.run_id = a.run_id";

/// ?1 nonzero for open items only, ?2 scenario or NULL.
pub const ACTIONS: &str = "WHERE (?1 = 0 OR a.done_at_ms IS NULL)
     AND (CAST(?2 AS TEXT) IS NULL OR r.scenario = ?2)
     ORDER BY a.due IS NULL, a.due, a.id";

pub const UPSERT_RUN: &str = "INSERT INTO runs (run_id, scenario, severity, status, exit_code,
         started_at_ms, ended_at_ms, ttd_seconds, tta_seconds, ttm_seconds, ttr_seconds, score,
         passed, run_dir, recorded_at_ms, kind, reason)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
     ON CONFLICT (run_id) DO UPDATE SET
         scenario = excluded.scenario, severity = excluded.severity,
         status = excluded.status, exit_code = excluded.exit_code,
         started_at_ms = excluded.started_at_ms, ended_at_ms = excluded.ended_at_ms,
         ttd_seconds = excluded.ttd_seconds, tta_seconds = excluded.tta_seconds,
         ttm_seconds = excluded.ttm_seconds, ttr_seconds = excluded.ttr_seconds,
         score = excluded.score, passed = excluded.passed, run_dir = excluded.run_dir,
         recorded_at_ms = excluded.recorded_at_ms, kind = excluded.kind,
         reason = excluded.reason";

pub const UPSERT_ACTION: &str = "INSERT INTO action_items (run_id, item_id, title, owner_role, due,
         priority, done_at_ms, rule, subject)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
     ON CONFLICT (run_id, item_id) DO UPDATE SET
         title = excluded.title, owner_role = excluded.owner_role,
         due = excluded.due, priority = excluded.priority,
         done_at_ms = coalesce(action_items.done_at_ms, excluded.done_at_ms),
         rule = excluded.rule, subject = excluded.subject";

/// The items of the runs a filter with a limit keeps (?3 the limit).
pub fn items_of_limited_runs() -> String {
    format!(
        "{ACTION_SELECT} WHERE a.run_id IN (SELECT run_id FROM runs r WHERE {RUN_FILTER}
             ORDER BY started_at_ms DESC, run_id DESC LIMIT ?3)
         ORDER BY a.id"
    )
}

/// The key columns of `action_items a JOIN runs r`, as SQL expressions.
const KEY_RULE: &str = "coalesce(a.rule, '')";
const KEY_SUBJECT: &str = "CASE WHEN a.rule IS NULL THEN a.title ELSE coalesce(a.subject, '') END";

/// Action items merged by key: ?1 nonzero for open only, ?2 scenario,
/// ?3/?4 one key (rule, subject) or NULL for all.
pub fn merged() -> String {
    format!(
        "WITH k AS (
            SELECT a.id, a.run_id, a.title, a.owner_role, a.due, a.priority, a.done_at_ms,
                   r.scenario, r.started_at_ms,
                   {KEY_RULE} AS krule, {KEY_SUBJECT} AS ksubject,
                   row_number() OVER (PARTITION BY r.scenario, {KEY_RULE}, {KEY_SUBJECT}
                                      ORDER BY r.started_at_ms DESC, a.id DESC) AS recency
            FROM action_items a JOIN runs r ON r.run_id = a.run_id
            WHERE (CAST(?2 AS TEXT) IS NULL OR r.scenario = ?2)
        ), g AS (
            SELECT scenario, krule, ksubject, min(id) AS number, count(*) AS occurrences,
                   sum(CASE WHEN done_at_ms IS NULL THEN 1 ELSE 0 END) AS open,
                   min(started_at_ms) AS first_ms,
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
        WHERE (?1 = 0 OR g.open > 0) AND (CAST(?3 AS TEXT) IS NULL OR (g.krule = ?3 AND g.ksubject = ?4))
        ORDER BY due IS NULL, due, g.number"
    )
}

/// Marks the open occurrences of one key done: ?1 time in ms, ?2 scenario,
/// ?3 rule, ?4 subject.
pub fn mark_done() -> String {
    format!(
        "UPDATE action_items SET done_at_ms = ?1
         WHERE done_at_ms IS NULL AND id IN (
             SELECT a.id FROM action_items a JOIN runs r ON r.run_id = a.run_id
             WHERE r.scenario = ?2 AND {KEY_RULE} = ?3 AND {KEY_SUBJECT} = ?4)"
    )
}

/// A run's journal, line by line (?1 run id).
pub const JOURNAL: &str = "SELECT line FROM journal_lines WHERE run_id = ?1 ORDER BY seq";
pub const DELETE_JOURNAL: &str = "DELETE FROM journal_lines WHERE run_id = ?1";

/// `?N` to `$N`. Only parameters are rewritten: none of the queries has a
/// `?` inside a string literal.
pub fn to_pg(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::to_pg;

    #[test]
    fn parameters_are_renumbered_for_postgres() {
        assert_eq!(
            to_pg("a = ?1 AND b = ?12 OR c IS NULL"),
            "a = $1 AND b = $12 OR c IS NULL"
        );
    }
}

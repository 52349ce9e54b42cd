//! The database schema as an ordered list of migrations. The schema version
//! is SQLite's `user_version`: migration `i` (1-based) takes the database
//! from version `i - 1` to `i`. Migrations are append-only: a released one
//! is never edited, because databases in the field were built by it.
//!
//! PostgreSQL has the same migrations, version for version, in its own
//! dialect ([`PG_MIGRATIONS`]); its version is the highest row of
//! `gameday_schema_version` (postgres.rs applies them).

use rusqlite::Connection;

/// v4's rewrite of owners stored as serde names into role names, the same
/// statement on both backends (a macro so `concat!` can use it).
macro_rules! v4_owner_roles {
    () => {
        r#"
        UPDATE action_items SET owner_role = CASE owner_role
            WHEN 'alertOwner' THEN 'alert owner'
            WHEN 'runbookOwner' THEN 'runbook owner'
            WHEN 'rotationLead' THEN 'on-call rotation lead'
            WHEN '{"incident":"incidentCommander"}' THEN 'incident commander'
            WHEN '{"incident":"communications"}' THEN 'communications lead'
            WHEN '{"incident":"operations"}' THEN 'operations lead'
            WHEN '{"incident":"sme"}' THEN 'subject-matter expert'
            ELSE owner_role END;"#
    };
}

/// Migration SQL in order; index 0 is version 1.
pub const MIGRATIONS: &[&str] = &[
    // v1: the first release recorded runs and their detection/response times.
    "CREATE TABLE runs (
        run_id        TEXT PRIMARY KEY,
        scenario      TEXT NOT NULL,
        severity      TEXT,
        status        TEXT NOT NULL,
        exit_code     INTEGER NOT NULL,
        started_at_ms INTEGER NOT NULL,
        ended_at_ms   INTEGER,
        ttd_seconds   REAL,
        tta_seconds   REAL,
        ttr_seconds   REAL,
        score         REAL,
        passed        INTEGER NOT NULL,
        run_dir       TEXT NOT NULL,
        recorded_at_ms INTEGER NOT NULL
    ) STRICT;",
    // v2: postmortem action items, so their completion rate can be measured.
    // `id` is the short number users type (`gameday actions done 12`).
    "CREATE TABLE action_items (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id      TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
        item_id     TEXT NOT NULL,
        title       TEXT NOT NULL,
        owner_role  TEXT,
        due         TEXT,
        priority    TEXT,
        done_at_ms  INTEGER,
        UNIQUE (run_id, item_id)
    ) STRICT;",
    // v3: time to mitigate joined the scorecard; trend queries filter by
    // scenario and time, so index both.
    "ALTER TABLE runs ADD COLUMN ttm_seconds REAL;
     CREATE INDEX runs_started_at ON runs(started_at_ms);
     CREATE INDEX runs_scenario ON runs(scenario, started_at_ms);",
    // v4: the same follow-up found by many runs is one item with a count.
    // Items carry the rule that derived them and its subject; with the run's
    // scenario that is the merge key (older items, without a rule, merge by
    // title). Owners recorded as serde names (`alertOwner`,
    // `{"incident":"operations"}`) become the role names the reports print.
    concat!(
        "ALTER TABLE action_items ADD COLUMN rule TEXT;
         ALTER TABLE action_items ADD COLUMN subject TEXT;
         CREATE INDEX action_items_key ON action_items(rule, subject);",
        v4_owner_roles!()
    ),
    // v5: tabletop drills are recorded beside game days; trends can be
    // read for one kind or both.
    "ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'scenario';",
    // v6: the run's journal, line by line, so `gameday report --run-id`
    // rebuilds a run whose directory is gone (a pod deleted with its
    // volume). No foreign key: the lines may be kept before the run's row.
    "CREATE TABLE journal_lines (
        run_id TEXT NOT NULL,
        seq    INTEGER NOT NULL,
        line   TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
    ) STRICT;",
    // v7: scheduled runs the calendar skipped are recorded with status
    // `skipped` and the reason (a blackout, a freeze, on-call fatigue).
    "ALTER TABLE runs ADD COLUMN reason TEXT;",
];

/// The same migrations for PostgreSQL. Text columns compared or sorted are
/// `COLLATE "C"`, so ordering is bytewise as in SQLite whatever the
/// database's locale; integers are BIGINT (SQLite's are 64-bit).
pub const PG_MIGRATIONS: &[&str] = &[
    r#"CREATE TABLE runs (
        run_id        TEXT COLLATE "C" PRIMARY KEY,
        scenario      TEXT COLLATE "C" NOT NULL,
        severity      TEXT COLLATE "C",
        status        TEXT NOT NULL,
        exit_code     INTEGER NOT NULL,
        started_at_ms BIGINT NOT NULL,
        ended_at_ms   BIGINT,
        ttd_seconds   DOUBLE PRECISION,
        tta_seconds   DOUBLE PRECISION,
        ttr_seconds   DOUBLE PRECISION,
        score         DOUBLE PRECISION,
        passed        BOOLEAN NOT NULL,
        run_dir       TEXT NOT NULL,
        recorded_at_ms BIGINT NOT NULL
    );"#,
    r#"CREATE TABLE action_items (
        id          BIGSERIAL PRIMARY KEY,
        run_id      TEXT COLLATE "C" NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
        item_id     TEXT COLLATE "C" NOT NULL,
        title       TEXT COLLATE "C" NOT NULL,
        owner_role  TEXT COLLATE "C",
        due         TEXT COLLATE "C",
        priority    TEXT COLLATE "C",
        done_at_ms  BIGINT,
        UNIQUE (run_id, item_id)
    );"#,
    "ALTER TABLE runs ADD COLUMN ttm_seconds DOUBLE PRECISION;
     CREATE INDEX runs_started_at ON runs(started_at_ms);
     CREATE INDEX runs_scenario ON runs(scenario, started_at_ms);",
    concat!(
        r#"ALTER TABLE action_items ADD COLUMN rule TEXT COLLATE "C";
         ALTER TABLE action_items ADD COLUMN subject TEXT COLLATE "C";
         CREATE INDEX action_items_key ON action_items(rule, subject);"#,
        v4_owner_roles!()
    ),
    r#"ALTER TABLE runs ADD COLUMN kind TEXT COLLATE "C" NOT NULL DEFAULT 'scenario';"#,
    r#"CREATE TABLE journal_lines (
        run_id TEXT COLLATE "C" NOT NULL,
        seq    BIGINT NOT NULL,
        line   TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
    );"#,
    "ALTER TABLE runs ADD COLUMN reason TEXT;",
];

/// The version a database has after all migrations.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

pub fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Outcome of [`migrate`]: the version found, or that it is too new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migrated {
    /// From this version to [`LATEST`] (equal when nothing was to do).
    Upgraded { from: i64 },
    /// Written by a newer gameday; left untouched.
    TooNew { found: i64 },
    /// Version 0 but already holding tables: some other program's SQLite
    /// file, left untouched rather than adding our tables to it.
    Foreign,
}

/// Brings the database up to `target` (normally [`LATEST`]). Each step runs
/// in its own immediate transaction together with its version bump, so a
/// crash leaves the database at a consistent version, and two processes
/// opening a new database at once do not both apply a step.
pub fn migrate_to(conn: &mut Connection, target: i64) -> rusqlite::Result<Migrated> {
    // Version and table count in one statement, so both come from the same
    // snapshot even while another process is creating the database.
    let (from, tables): (i64, i64) = conn.query_row(
        "SELECT (SELECT user_version FROM pragma_user_version),
                (SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%')",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if from > LATEST {
        return Ok(Migrated::TooNew { found: from });
    }
    if from == 0 && tables > 0 {
        return Ok(Migrated::Foreign);
    }
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let to = index as i64 + 1;
        if to > target {
            break;
        }
        // Up-to-date databases take no write lock, so opening one to read
        // works while another process is recording a run.
        if from >= to {
            continue;
        }
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Re-read under the write lock: another process may have migrated.
        if version(&tx)? >= to {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", to)?;
        tx.commit()?;
    }
    Ok(Migrated::Upgraded { from })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_versions() {
        assert_eq!(PG_MIGRATIONS.len(), MIGRATIONS.len());
    }

    #[test]
    fn fresh_database_reaches_latest_and_rerun_is_a_no_op() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(
            migrate_to(&mut conn, LATEST).unwrap(),
            Migrated::Upgraded { from: 0 }
        );
        assert_eq!(version(&conn).unwrap(), LATEST);
        assert_eq!(
            migrate_to(&mut conn, LATEST).unwrap(),
            Migrated::Upgraded { from: LATEST }
        );
    }

    #[test]
    fn each_step_upgrades_to_the_next() {
        let mut conn = Connection::open_in_memory().unwrap();
        for v in 1..=LATEST {
            migrate_to(&mut conn, v).unwrap();
            assert_eq!(version(&conn).unwrap(), v);
        }
    }

    #[test]
    fn another_programs_database_is_left_alone() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE notes (body TEXT)")
            .unwrap();
        assert_eq!(migrate_to(&mut conn, LATEST).unwrap(), Migrated::Foreign);
        assert_eq!(version(&conn).unwrap(), 0);
    }

    #[test]
    fn newer_database_is_reported_not_touched() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", LATEST + 1)
            .unwrap();
        assert_eq!(
            migrate_to(&mut conn, LATEST).unwrap(),
            Migrated::TooNew { found: LATEST + 1 }
        );
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 0);
    }
}

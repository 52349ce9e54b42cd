//! The history store against real SQLite files: round trips, re-recording,
//! migrations from v1, and the clear errors for a locked or corrupt database
//! that never cost the run its files.

mod history_support;

use std::time::Duration;

use gameday::history::{self, Completion, HistoryError, OpenOptions, RunFilter, Store, schema};
use history_support::*;

#[test]
fn records_round_trip_newest_first_with_action_items() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.db");
    let runs = seed(&db, tmp.path());
    let store = Store::open(&db).unwrap();
    let got = store.runs(&RunFilter::default()).unwrap();
    let mut want = runs.clone();
    want.sort_by_key(|r| std::cmp::Reverse(r.started_at));
    assert_eq!(got, want);

    let pod = store
        .runs(&RunFilter {
            scenario: Some("pod-loss".into()),
            since: Some(ts("2026-09-08T00:00:00Z")),
            limit: Some(2),
            kind: None,
        })
        .unwrap();
    let ids: Vec<_> = pod.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(ids, ["p4", "p3"]);
}

#[test]
fn default_open_uses_wal_and_the_latest_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("nested/dir/h.db");
    let store = Store::open(&db).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::LATEST);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn re_recording_a_run_updates_it_and_keeps_completions() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.db");
    let runs = seed(&db, tmp.path());
    let mut store = Store::open(&db).unwrap();
    let done_at = ts("2026-11-01T08:00:00Z");
    assert!(matches!(
        store.mark_done("p1:A2", done_at).unwrap(),
        Completion::Done(a) if a.done_at == Some(done_at)
    ));

    let mut again = runs[0].clone();
    again.status = "incomplete".into();
    again.ttd_seconds = Some(31.5);
    store.record(&again).unwrap();

    let p1 = store
        .runs(&RunFilter::default())
        .unwrap()
        .into_iter()
        .find(|r| r.run_id == "p1")
        .unwrap();
    assert_eq!(p1.status, "incomplete");
    assert_eq!(p1.ttd_seconds, Some(31.5));
    assert_eq!(p1.action_items[1].done_at, Some(done_at));
    assert_eq!(store.runs(&RunFilter::default()).unwrap().len(), runs.len());
}

#[test]
fn action_items_are_found_by_number_or_reference_and_done_once() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.db");
    seed(&db, tmp.path());
    let mut store = Store::open(&db).unwrap();
    let open: Vec<_> = store
        .actions(true, None)
        .unwrap()
        .into_iter()
        .map(|a| (a.run_id, a.item.id))
        .collect();
    // Due soonest first.
    assert_eq!(
        open,
        [
            ("p1".to_string(), "A2".to_string()),
            ("d1".into(), "A1".into())
        ]
    );
    let d1a1 = store.action("d1:A1").unwrap();
    let first = ts("2026-11-02T00:00:00Z");
    store.mark_done(&d1a1.number.to_string(), first).unwrap();
    // `list` shows numbers as `#N`; that form works too.
    let hashed = format!("#{}", d1a1.number);
    match store
        .mark_done(&hashed, ts("2026-11-03T00:00:00Z"))
        .unwrap()
    {
        Completion::AlreadyDone(a) => assert_eq!(a.done_at, Some(first)),
        other => panic!("{other:?}"),
    }
    assert_eq!(store.actions(true, Some("db-failover")).unwrap(), vec![]);
    let err = store.mark_done("999", first).unwrap_err();
    assert!(matches!(err, HistoryError::NoSuchAction { .. }), "{err}");
    assert!(err.to_string().contains("gameday actions list"), "{err}");
}

/// The schema the first release created, frozen here as that release wrote it.
const V1_SCHEMA: &str = "CREATE TABLE runs (
    run_id TEXT PRIMARY KEY, scenario TEXT NOT NULL, severity TEXT, status TEXT NOT NULL,
    exit_code INTEGER NOT NULL, started_at_ms INTEGER NOT NULL, ended_at_ms INTEGER,
    ttd_seconds REAL, tta_seconds REAL, ttr_seconds REAL, score REAL, passed INTEGER NOT NULL,
    run_dir TEXT NOT NULL, recorded_at_ms INTEGER NOT NULL) STRICT;
    PRAGMA user_version = 1;";

#[test]
fn a_v1_database_upgrades_to_latest_and_keeps_its_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(V1_SCHEMA).unwrap();
        conn.execute(
            "INSERT INTO runs VALUES ('old1', 'pod-loss', 'SEV2', 'passed', 0, 1767225600000,
             1767226200000, 42.0, 61.0, 300.0, 0.85, 1, '/runs/old1', 1767226200000)",
            [],
        )
        .unwrap();
    }
    let mut store = Store::open(&db).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::LATEST);
    let runs = store.runs(&RunFilter::default()).unwrap();
    assert_eq!(runs.len(), 1);
    let old = &runs[0];
    assert_eq!(old.run_id, "old1");
    assert_eq!(old.started_at, ts("2026-01-01T00:00:00Z"));
    assert_eq!(old.ttd_seconds, Some(42.0));
    assert_eq!(old.ttr_seconds, Some(300.0));
    assert_eq!(old.ttm_seconds, None, "added in v3, unknown for old runs");
    // The newer tables work on the upgraded file.
    let new = seeded_runs(tmp.path()).remove(0);
    store.record(&new).unwrap();
    assert_eq!(store.actions(false, None).unwrap().len(), 2);
}

/// A v3 history (before items had a merge key) holds the junk the issue
/// describes: the same item in several runs, owners as raw JSON. Upgraded,
/// each item is one row with its count and a role name as owner.
#[test]
fn a_v3_history_merges_repeated_items_and_renders_owners_as_roles() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("v3.db");
    {
        let mut conn = rusqlite::Connection::open(&db).unwrap();
        schema::migrate_to(&mut conn, 3).unwrap();
        for (i, run) in ["r1", "r2", "r3"].iter().enumerate() {
            conn.execute(
                "INSERT INTO runs (run_id, scenario, status, exit_code, started_at_ms, passed,
                     run_dir, recorded_at_ms)
                 VALUES (?1, 'pod-loss', 'failed', 1, ?2, 0, '/runs', 0)",
                rusqlite::params![run, 1_767_225_600_000_i64 + i as i64 * 86_400_000],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO action_items (run_id, item_id, title, owner_role, due, priority)
                 VALUES (?1, 'A1', 'Shorten mitigation: automate or pre-approve the mitigating step',
                         '{\"incident\":\"operations\"}', '2026-01-15', 'P2')",
                [run],
            )
            .unwrap();
        }
    }
    let mut store = Store::open(&db).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::LATEST);
    let merged = store.merged_actions(false, None).unwrap();
    assert_eq!(merged.len(), 1, "{merged:#?}");
    let m = &merged[0];
    assert_eq!(m.occurrences, 3);
    assert_eq!(m.owner_role.as_deref(), Some("operations lead"));
    assert_eq!(m.last_run_id, "r3");
    assert_eq!(
        (m.first_seen, m.last_seen),
        (ts("2026-01-01T00:00:00Z"), ts("2026-01-03T00:00:00Z"))
    );
    // New items with a key merge by it, not by their wording.
    let mut run = seeded_runs(tmp.path()).remove(0);
    for (i, it) in run.action_items.iter_mut().enumerate() {
        it.rule = Some("fix-detection".into());
        it.subject = Some("CheckoutHighErrorRate".into());
        it.title = format!("wording {i}");
    }
    store.record(&run).unwrap();
    let keyed: Vec<_> = store
        .merged_actions(false, Some("pod-loss"))
        .unwrap()
        .into_iter()
        .filter(|m| m.rule.is_some())
        .collect();
    assert_eq!(keyed.len(), 1);
    assert_eq!(keyed[0].occurrences, 2);
    assert_eq!(keyed[0].open, 1, "one of the two was done");
}

#[test]
fn a_newer_schema_is_refused_with_a_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("future.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", schema::LATEST + 5)
        .unwrap();
    let err = Store::open(&db).err().unwrap();
    assert!(matches!(err, HistoryError::TooNew { .. }), "{err}");
    assert!(err.to_string().contains("upgrade gameday"), "{err}");
}

#[test]
fn a_locked_database_is_a_clear_error_and_the_run_dir_is_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.db");
    drop(Store::open(&db).unwrap());
    let run = seeded_runs(tmp.path()).remove(0);
    let before = snapshot(&run.run_dir);

    // Another process in the middle of a write.
    let holder = rusqlite::Connection::open(&db).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();

    let options = OpenOptions {
        busy_timeout: Duration::from_millis(200),
    };
    let mut store = Store::open_with(&db, &options).unwrap();
    let err = store.record(&run).unwrap_err();
    assert!(matches!(err.root(), HistoryError::Locked { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("locked by another gameday process"), "{msg}");
    assert!(msg.contains(&db.display().to_string()), "{msg}");
    assert!(msg.contains(&run.run_dir.display().to_string()), "{msg}");
    assert!(msg.contains("hint:"), "{msg}");
    assert_eq!(snapshot(&run.run_dir), before);

    // Once the other writer is done, the same run records fine.
    holder.execute_batch("COMMIT").unwrap();
    store.record(&run).unwrap();
    assert_eq!(store.runs(&RunFilter::default()).unwrap(), vec![run]);
}

#[test]
fn a_database_locked_before_wal_is_reported_as_locked_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("rollback.db");
    let holder = rusqlite::Connection::open(&db).unwrap();
    holder
        .execute_batch("CREATE TABLE t (x); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1);")
        .unwrap();
    let options = OpenOptions {
        busy_timeout: Duration::from_millis(200),
    };
    let err = Store::open_with(&db, &options).err().unwrap();
    assert!(matches!(err, HistoryError::Locked { .. }), "{err:?}");
}

#[test]
fn a_corrupt_file_is_a_clear_error_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.db");
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(&db, &garbage).unwrap();
    let run = seeded_runs(tmp.path()).remove(0);
    let before = snapshot(&run.run_dir);

    let err = history::record(&db, &run, None).unwrap_err();
    assert!(
        matches!(err.root(), HistoryError::Corrupt { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("is not a gameday history database (file is corrupt?)"),
        "{msg}"
    );
    assert!(msg.contains("move it aside"), "{msg}");
    assert!(msg.contains(&run.run_dir.display().to_string()), "{msg}");
    assert_eq!(snapshot(&run.run_dir), before);
    assert_eq!(
        std::fs::read(&db).unwrap(),
        garbage,
        "the corrupt file was modified"
    );
}

#[test]
fn recording_before_the_run_dir_exists_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.db");
    let mut run = seeded_runs(tmp.path()).remove(0);
    run.run_dir = tmp.path().join("never-written");
    let err = history::record(&db, &run, None).unwrap_err();
    assert!(
        matches!(err.root(), HistoryError::RunDirMissing { .. }),
        "{err:?}"
    );
    assert_eq!(
        Store::open(&db)
            .unwrap()
            .runs(&RunFilter::default())
            .unwrap(),
        vec![]
    );
}

#[test]
fn concurrent_writers_on_a_new_database_all_get_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("shared.db");
    let template = seeded_runs(tmp.path()).remove(1);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let db = db.clone();
            let template = template.clone();
            std::thread::spawn(move || {
                // Each thread opens (and races to create and migrate) the file.
                let mut store = Store::open(&db).unwrap();
                for i in 0..20 {
                    let mut run = template.clone();
                    run.run_id = format!("t{t}-{i}");
                    store.record(&run).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let store = Store::open(&db).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::LATEST);
    assert_eq!(store.runs(&RunFilter::default()).unwrap().len(), 160);
}

#[test]
fn another_programs_sqlite_file_is_refused_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("notes.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me');")
        .unwrap();
    drop(conn);
    let err = Store::open(&db).err().unwrap();
    assert!(matches!(err, HistoryError::Foreign { .. }), "{err:?}");
    assert!(
        err.to_string().contains("another program's SQLite file"),
        "{err}"
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(tables, ["notes"]);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete", "journal mode changed");
}

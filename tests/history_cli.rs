//! `gameday history`, `gameday actions` and the database location, through
//! the real binary on real SQLite files.

mod history_support;

use history_support::*;

#[test]
fn history_lists_runs_newest_first_as_text_and_json() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.db");
    seed(&db, tmp.path());

    let out = gameday(tmp.path(), Some(&db), &["history"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("STARTED (UTC)"), "{text}");
    assert!(lines[0].contains(" KIND "), "{text}");
    assert!(lines[1].contains(" scenario "), "{text}");
    assert_eq!(lines.len(), 8, "{text}");
    assert!(
        lines[1].contains("d3") && lines[1].contains("not-run (1)"),
        "{text}"
    );
    let p1 = lines.iter().find(|l| l.contains(" p1 ")).unwrap();
    assert!(p1.starts_with("2026-09-01 10:00"), "{p1}");
    assert!(
        p1.contains("30s") && p1.contains("2m00s") && p1.ends_with("1/2"),
        "{p1}"
    );

    let out = gameday(
        tmp.path(),
        Some(&db),
        &[
            "history",
            "-o",
            "json",
            "--scenario",
            "pod-loss",
            "--limit",
            "2",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let runs: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let ids: Vec<_> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["runId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["p4", "p3"]);
    assert_eq!(runs[0]["startedAt"], "2026-10-01T10:00:00Z");
    assert_eq!(runs[0]["ttdSeconds"], 40.0);
    assert_eq!(runs[1]["ttaSeconds"], serde_json::Value::Null);
}

#[test]
fn an_empty_history_says_where_it_looked() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("empty.db");
    let out = gameday(tmp.path(), Some(&db), &["history"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        format!("no runs recorded in {}", db.display())
    );
}

#[test]
fn actions_done_is_reflected_in_the_list_and_the_completion_rate() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.db");
    seed(&db, tmp.path());

    let out = gameday(
        tmp.path(),
        Some(&db),
        &["actions", "list", "--open", "-o", "json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let open: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let open = open.as_array().unwrap();
    assert_eq!(open.len(), 2);
    assert_eq!(open[0]["title"], "Add PDB to checkout");
    assert_eq!(open[0]["due"], "2026-01-01");
    let number = open[0]["number"].as_i64().unwrap().to_string();

    let out = gameday(tmp.path(), Some(&db), &["actions", "done", &number]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with(&format!("done: #{number} Add PDB to checkout (run p1)")));
    let out = gameday(tmp.path(), Some(&db), &["actions", "done", &number]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("already done"), "{}", stdout(&out));

    let out = gameday(tmp.path(), Some(&db), &["actions", "list", "--open"]);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("Runbook for replica promotion"), "{text}");

    let out = gameday(tmp.path(), Some(&db), &["actions", "list"]);
    assert_eq!(stdout(&out).lines().count(), 5);

    let out = gameday(tmp.path(), Some(&db), &["metrics", "-o", "json"]);
    let m: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(m["actions"]["done"], 3);
    assert!(approx(
        m["actions"]["completionRate"].as_f64().unwrap(),
        0.75
    ));
    assert_eq!(m["actions"]["overdue"], 0);

    let out = gameday(tmp.path(), Some(&db), &["actions", "done", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no action item nope"),
        "{}",
        stderr(&out)
    );
}

/// `gameday actions list` shows one row per (scenario, rule, subject) with
/// how many runs found it, and `done` closes it in all of them.
#[test]
fn actions_list_shows_one_row_per_key_with_its_count() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.db");
    let mut store = gameday::history::Store::open(&db).unwrap();
    for (i, day) in ["01", "02", "03"].iter().enumerate() {
        let mut r = run(
            &format!("k{i}"),
            "pod-loss",
            Some("SEV2"),
            &format!("2026-11-{day}T10:00:00Z"),
            [None; 4],
            false,
            tmp.path(),
        );
        let mut detect = item(
            "A1",
            "Fix detection: alert X must fire",
            Some("2026-12-01"),
            None,
        );
        detect.rule = Some("fix-detection".into());
        detect.subject = Some("X".into());
        detect.owner_role = Some("alert owner".into());
        detect.priority = Some("P1".into());
        r.action_items = vec![detect];
        store.record(&r).unwrap();
    }
    drop(store);
    let out = gameday(tmp.path(), Some(&db), &["actions", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains("RUNS"), "{text}");
    assert!(
        lines[1].contains(" 3 ") && lines[1].contains("alert owner"),
        "{text}"
    );
    let number = lines[1].split_whitespace().next().unwrap().to_string();
    let out = gameday(tmp.path(), Some(&db), &["actions", "done", &number]);
    assert!(
        stdout(&out).contains("(found in 3 runs, last k2)"),
        "{}",
        stdout(&out)
    );
    let out = gameday(tmp.path(), Some(&db), &["actions", "list", "--open"]);
    assert!(
        stdout(&out).starts_with("no open action items"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn corrupt_database_fails_clearly_from_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.db");
    std::fs::write(
        &db,
        b"this is not sqlite, just some text that fills the page ".repeat(80),
    )
    .unwrap();
    for args in [&["history"][..], &["metrics"], &["actions", "list"]] {
        let out = gameday(tmp.path(), Some(&db), args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "{} is not a gameday history database (file is corrupt?)",
                db.display()
            )),
            "{err}"
        );
        assert!(err.contains("hint: move it aside"), "{err}");
    }
}

#[test]
fn locked_database_fails_clearly_from_the_cli_but_reads_still_work() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.db");
    seed(&db, tmp.path());
    let holder = rusqlite::Connection::open(&db).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();

    // WAL: listing works while another process writes.
    let out = gameday(tmp.path(), Some(&db), &["history", "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // Writing waits the busy timeout, then says who holds it.
    let out = gameday(tmp.path(), Some(&db), &["actions", "done", "p1:A2"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "history database {} is locked by another gameday process",
            db.display()
        )),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
    holder.execute_batch("ROLLBACK").unwrap();
}

#[test]
fn the_database_defaults_to_the_per_user_data_dir_and_follows_the_config() {
    let tmp = tempfile::tempdir().unwrap();
    let out = gameday(tmp.path(), None, &["history"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let default = tmp.path().join("xdg-data/gameday/history.db");
    assert!(default.is_file(), "{}", stdout(&out));
    assert!(stdout(&out).contains(&default.display().to_string()));

    let configured = tmp.path().join("team/history.db");
    let config = tmp.path().join("gameday.yaml");
    std::fs::write(
        &config,
        format!("history:\n  path: {}\n", configured.display()),
    )
    .unwrap();
    let out = gameday(
        tmp.path(),
        None,
        &["history", "--config", config.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(configured.is_file());

    // GAMEDAY_HISTORY_DB (and --db) win over the config file.
    let explicit = tmp.path().join("explicit.db");
    let out = gameday(
        tmp.path(),
        Some(&explicit),
        &["history", "--config", config.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(explicit.is_file());
    let flag = tmp.path().join("flag.db");
    let out = gameday(
        tmp.path(),
        Some(&explicit),
        &["history", "--db", flag.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(flag.is_file());
}

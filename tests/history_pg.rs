//! The shared history in a real PostgreSQL (Debian's package, started by
//! the test on a free port as a non-root user): concurrent writers, two
//! processes migrating at once, the history/metrics/actions output equal to
//! SQLite's for the same runs, a report rebuilt from the journal kept in the
//! history, and `metrics serve` checked by promtool and scraped by a real
//! Prometheus.

mod common;
mod history_support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::harness::{Process, Stack, StackOptions, free_port, promtool_check_metrics, spawn};
use common::postgres::Postgres;
use gameday::history::{RunFilter, Store, schema};
use history_support::*;

/// One server for the whole binary would need a static with a Drop; a
/// server per test starts in about a second and keeps the tests apart.
fn server() -> Postgres {
    Postgres::start()
}

#[test]
fn ten_concurrent_writers_lose_no_row() {
    let pg = server();
    let url = pg.create_database("writers");
    let tmp = tempfile::tempdir().unwrap();
    const WRITERS: usize = 10;
    const EACH: usize = 30;
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            let (url, dir) = (url.clone(), tmp.path());
            s.spawn(move || {
                let mut store = Store::open(Path::new(&url)).unwrap();
                for i in 0..EACH {
                    let mut r = run(
                        &format!("w{w}-r{i}"),
                        &format!("scenario-{}", i % 3),
                        Some("SEV2"),
                        "2026-10-01T10:00:00Z",
                        [Some(1.0), Some(2.0), Some(3.0), Some(4.0)],
                        i % 2 == 0,
                        dir,
                    );
                    r.action_items = vec![item("A1", "fix the alert", None, None)];
                    store.record(&r).unwrap();
                }
            });
        }
    });
    let store = Store::open(Path::new(&url)).unwrap();
    let runs = store.runs(&RunFilter::default()).unwrap();
    assert_eq!(runs.len(), WRITERS * EACH);
    assert!(runs.iter().all(|r| r.action_items.len() == 1));
    assert_eq!(store.actions(false, None).unwrap().len(), WRITERS * EACH);
}

#[test]
fn two_processes_migrating_at_once_both_succeed_and_leave_one_version() {
    let pg = server();
    let tmp = tempfile::tempdir().unwrap();
    for round in 0..3 {
        let url = pg.create_database(&format!("migrate{round}"));
        let children: Vec<_> = (0..2)
            .map(|_| {
                Command::new(env!("CARGO_BIN_EXE_gameday"))
                    .args(["history", "-o", "json"])
                    .current_dir(tmp.path())
                    .env("GAMEDAY_HISTORY_DB", &url)
                    .env_remove("GAMEDAY_CONFIG")
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", stderr(&out));
            assert_eq!(stdout(&out).trim(), "[]");
        }
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let versions: Vec<i64> = client
            .query(
                "SELECT version FROM gameday_schema_version ORDER BY version",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(versions, (1..=schema::LATEST).collect::<Vec<_>>());
        let store = Store::open(Path::new(&url)).unwrap();
        assert_eq!(store.schema_version().unwrap(), schema::LATEST);
    }
}

/// The same runs in SQLite and PostgreSQL, one action marked done in each
/// at the same instant.
fn seeded_pair(pg: &Postgres, dir: &Path) -> (String, std::path::PathBuf) {
    let url = pg.create_database("same");
    let sqlite = dir.join("h.db");
    for db in [Path::new(&url), sqlite.as_path()] {
        seed(db, dir);
        let mut store = Store::open(db).unwrap();
        store
            .mark_done("p1:A2", ts("2026-11-02T08:00:00Z"))
            .unwrap();
    }
    (url, sqlite)
}

#[test]
fn history_metrics_and_actions_output_from_postgres_equals_sqlite() {
    let pg = server();
    let tmp = tempfile::tempdir().unwrap();
    let (url, sqlite) = seeded_pair(&pg, tmp.path());
    let commands: &[&[&str]] = &[
        &["history"],
        &["history", "-o", "json"],
        &["history", "--scenario", "pod-loss", "--limit", "2"],
        &["history", "--kind", "drill", "-o", "json"],
        &["metrics"],
        &["metrics", "-o", "prometheus"],
        &["metrics", "--since", "2026-09-08", "--scenario", "pod-loss"],
        &["actions", "list"],
        &["actions", "list", "--open", "-o", "json"],
        &["actions", "done", "p1:A2"],
        &["actions", "done", "#1"],
    ];
    for args in commands {
        let from_pg = gameday(tmp.path(), Some(Path::new(&url)), args);
        let from_sqlite = gameday(tmp.path(), Some(&sqlite), args);
        assert!(from_pg.status.success(), "{args:?}: {}", stderr(&from_pg));
        assert_eq!(from_pg.status.code(), from_sqlite.status.code(), "{args:?}");
        assert_eq!(stdout(&from_pg), stdout(&from_sqlite), "{args:?}");
        assert!(!stdout(&from_pg).is_empty(), "{args:?}");
    }
    // `metrics -o json` carries the time it was computed; the rest is equal.
    let json = |db: &Path| {
        let out = gameday(tmp.path(), Some(db), &["metrics", "-o", "json"]);
        let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v.as_object_mut().unwrap().remove("generatedAt");
        v
    };
    assert_eq!(json(Path::new(&url)), json(&sqlite));
}

#[test]
fn a_password_in_the_url_is_never_printed() {
    let pg = server();
    let tmp = tempfile::tempdir().unwrap();
    // Trust authentication ignores the password; a wrong port fails the
    // connection so the error message is printed.
    let url = format!("postgres://gameday:s3cret@127.0.0.1:{}/none", free_port());
    let out = gameday(tmp.path(), Some(Path::new(&url)), &["history"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("postgres://gameday:***@127.0.0.1"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
    drop(pg);
}

#[test]
fn a_report_is_rebuilt_from_the_journal_kept_in_postgres() {
    let pg = server();
    let url = pg.create_database("journal");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let drill = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/drills/valid/payments-tabletop.yaml");
    let out = gameday_cmd(tmp.path(), &url)
        .args(["drill", "--ci", "--speed", "60", "--out"])
        .arg(&runs)
        .arg(&drill)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let original = std::fs::read_to_string(runs.join("report.md")).unwrap();
    let result: serde_json::Value =
        serde_json::from_slice(&std::fs::read(runs.join("result.json")).unwrap()).unwrap();
    let run_id = result["runId"].as_str().unwrap().to_string();
    // The pod is gone, and its volume with it.
    std::fs::remove_dir_all(&runs).unwrap();

    let rebuilt = tmp.path().join("rebuilt");
    let out = gameday_cmd(tmp.path(), &url)
        .args(["report", "--run-id", &run_id])
        .arg(&rebuilt)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(rebuilt.join("report.md")).unwrap(),
        original
    );
    for f in ["journal.jsonl", "result.json", "report.html", "junit.xml"] {
        assert!(rebuilt.join(f).is_file(), "{f} missing");
    }
    let md = gameday_cmd(tmp.path(), &url)
        .args(["report", "--run-id", &run_id, "-f", "md"])
        .output()
        .unwrap();
    assert_eq!(stdout(&md), original);
    let missing = gameday_cmd(tmp.path(), &url)
        .args(["report", "--run-id", "no-such-run", "-f", "md"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2), "{}", stderr(&missing));
    assert!(stderr(&missing).contains("no journal for run no-such-run"));
}

fn gameday_cmd(cwd: &Path, url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gameday"));
    cmd.current_dir(cwd)
        .env("GAMEDAY_HISTORY_DB", url)
        .env_remove("GAMEDAY_CONFIG")
        .env("XDG_DATA_HOME", cwd.join("xdg-data"))
        .env("HOME", cwd.join("home"))
        .env("NO_COLOR", "1");
    cmd
}

/// GETs `http://{addr}/metrics` until it answers 200, within the timeout.
fn wait_for_metrics(addr: &str, server: &Process) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(body) = get_metrics(addr) {
            return body;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{addr}/metrics never answered: {}", server.log());
}

/// One plain HTTP/1.0 GET (the server closes the connection after it).
fn get_metrics(addr: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(addr).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    conn.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    conn.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.lines()
        .next()?
        .contains(" 200 ")
        .then(|| body.to_string())
}

#[test]
fn metrics_serve_passes_promtool_and_a_real_prometheus_scrapes_it() {
    let pg = server();
    let tmp = tempfile::tempdir().unwrap();
    let url = pg.create_database("serve");
    seed(Path::new(&url), tmp.path());
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let bin = Path::new(env!("CARGO_BIN_EXE_gameday"));
    let args = [
        "metrics",
        "--db",
        &url,
        "serve",
        "--listen",
        &listen,
        "--cache-seconds",
        "0",
    ];
    let serve = spawn("gameday-metrics", bin, &args.map(String::from), tmp.path());
    let metrics_url = format!("http://{listen}/metrics");
    let body = wait_for_metrics(&listen, &serve);
    promtool_check_metrics(&body);
    let expected = gameday(
        tmp.path(),
        Some(Path::new(&url)),
        &["metrics", "-o", "prometheus"],
    );
    assert_eq!(body, stdout(&expected));
    assert!(body.contains("gameday_last_run_timestamp_seconds{scenario=\"\",severity=\"\"}"));
    assert!(body.contains("gameday_action_items_completion_ratio "));

    // Recomputed per scrape: a new run shows on the next one.
    let mut extra = run(
        "p9",
        "pod-loss",
        Some("SEV2"),
        "2026-11-20T10:00:00Z",
        [None; 4],
        true,
        tmp.path(),
    );
    extra.action_items.clear();
    Store::open(Path::new(&url))
        .unwrap()
        .record(&extra)
        .unwrap();
    let after = wait_for_metrics(&listen, &serve);
    assert!(
        after.contains("gameday_runs{scenario=\"\",severity=\"\"} 8"),
        "{after}"
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let stack = Stack::start(StackOptions::new(metrics_url.clone())).await;
        let up = stack
            .query(&format!("up{{job=\"{}\"}}", common::harness::JOB))
            .await;
        assert_eq!(up.first().map(|(_, v)| *v), Some(1.0), "{}", stack.logs());
        let runs = stack
            .wait_for_query(
                "gameday_runs{scenario=\"\",severity=\"\"}",
                Duration::from_secs(20),
                |v| v == 8.0,
            )
            .await;
        assert_eq!(runs, 8.0);
    });
}

//! Shared by the history tests: a seeded set of runs whose medians and p90s
//! are worked out by hand in `history_metrics.rs`, and a way to run the real
//! binary against a given database.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gameday::history::{ActionItem, RunRecord, Store};

pub fn ts(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

/// A run with the given times; `dir` must exist before it is recorded.
#[allow(clippy::too_many_arguments)]
pub fn run(
    id: &str,
    scenario: &str,
    severity: Option<&str>,
    started: &str,
    times: [Option<f64>; 4],
    passed: bool,
    dir: &Path,
) -> RunRecord {
    let run_dir = dir.join(id);
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::write(
        run_dir.join("result.json"),
        format!("{{\"runId\":\"{id}\"}}"),
    )
    .unwrap();
    let started_at = ts(started);
    RunRecord {
        run_id: id.to_string(),
        kind: "scenario".to_string(),
        scenario: scenario.to_string(),
        severity: severity.map(str::to_string),
        status: if passed { "passed" } else { "failed" }.to_string(),
        exit_code: if passed { 0 } else { 1 },
        started_at,
        ended_at: Some(started_at + jiff::SignedDuration::from_mins(10)),
        ttd_seconds: times[0],
        tta_seconds: times[1],
        ttm_seconds: times[2],
        ttr_seconds: times[3],
        score: Some(if passed { 0.9 } else { 0.4 }),
        passed,
        run_dir,
        action_items: Vec::new(),
        reason: None,
    }
}

pub fn item(id: &str, title: &str, due: Option<&str>, done: Option<&str>) -> ActionItem {
    ActionItem {
        id: id.to_string(),
        title: title.to_string(),
        owner_role: Some("ic".to_string()),
        due: due.map(|d| d.parse().unwrap()),
        priority: Some("P2".to_string()),
        done_at: done.map(ts),
        rule: None,
        subject: None,
    }
}

/// Seven runs over two scenarios and three severity keys (SEV2, SEV3, none),
/// with four action items (two done, one overdue).
pub fn seeded_runs(dir: &Path) -> Vec<RunRecord> {
    let mut p1 = run(
        "p1",
        "pod-loss",
        Some("SEV2"),
        "2026-09-01T10:00:00Z",
        [Some(30.0), Some(60.0), Some(90.0), Some(120.0)],
        true,
        dir,
    );
    p1.action_items = vec![
        item(
            "A1",
            "Page on checkout 5xx",
            Some("2026-09-15"),
            Some("2026-09-10T09:00:00Z"),
        ),
        item("A2", "Add PDB to checkout", Some("2026-01-01"), None),
    ];
    let p2 = run(
        "p2",
        "pod-loss",
        Some("SEV2"),
        "2026-09-08T10:00:00Z",
        [Some(50.0), Some(120.0), Some(100.0), Some(200.0)],
        true,
        dir,
    );
    let p3 = run(
        "p3",
        "pod-loss",
        Some("SEV3"),
        "2026-09-15T10:00:00Z",
        [Some(20.0), None, Some(150.0), Some(300.0)],
        false,
        dir,
    );
    let p4 = run(
        "p4",
        "pod-loss",
        Some("SEV2"),
        "2026-10-01T10:00:00Z",
        [Some(40.0), Some(30.0), Some(80.0), Some(160.0)],
        true,
        dir,
    );
    let mut d1 = run(
        "d1",
        "db-failover",
        Some("SEV2"),
        "2026-09-03T10:00:00Z",
        [Some(100.0), Some(45.0), Some(200.0), Some(400.0)],
        false,
        dir,
    );
    d1.action_items = vec![
        item(
            "A1",
            "Runbook for replica promotion",
            Some("2099-01-01"),
            None,
        ),
        item(
            "A2",
            "Alert on replication lag",
            None,
            Some("2026-09-20T09:00:00Z"),
        ),
    ];
    let d2 = run(
        "d2",
        "db-failover",
        Some("SEV3"),
        "2026-10-05T10:00:00Z",
        [Some(60.0), Some(90.0), None, None],
        false,
        dir,
    );
    let mut d3 = run(
        "d3",
        "db-failover",
        None,
        "2026-10-10T10:00:00Z",
        [None, None, None, None],
        false,
        dir,
    );
    d3.status = "not-run".to_string();
    d3.score = None;
    vec![p1, p2, p3, p4, d1, d2, d3]
}

pub fn seed(db: &Path, dir: &Path) -> Vec<RunRecord> {
    let runs = seeded_runs(dir);
    let mut store = Store::open(db).unwrap();
    for r in &runs {
        store.record(r).unwrap();
    }
    runs
}

/// The real binary, isolated from the caller's environment and config.
pub fn gameday(cwd: &Path, db: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gameday"));
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("GAMEDAY_HISTORY_DB")
        .env_remove("GAMEDAY_CONFIG")
        .env("XDG_DATA_HOME", cwd.join("xdg-data"))
        .env("HOME", cwd.join("home"))
        .env("NO_COLOR", "1");
    if let Some(db) = db {
        cmd.env("GAMEDAY_HISTORY_DB", db);
    }
    cmd.output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every file under `dir` with its bytes, to show a directory was not touched.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    files
}

pub fn approx(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

//! History store costs that a user waits on:
//! - recording one run (two action items) at the end of a game day, into a
//!   database that already holds 10,000 runs — one WAL transaction;
//! - `gameday metrics -o prometheus` over 10,000 runs: read every run and its
//!   action items, compute the quantiles, render the exposition;
//! - `gameday history --limit 50` on the same database.
//!
//! Each on the SQLite backend, then on PostgreSQL (Debian's server, started
//! by the bench as the tests start it, tests/common/postgres.rs), where
//! `gameday metrics -o prometheus` is also timed end to end through the
//! real binary (connect, schema check, read, render).
//!
//! Prints the median and p95 of each; `scripts/bench/history.sh` runs it and
//! docs/performance.md ("History") records the figures.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "../tests/common/mod.rs"]
mod common;

use gameday::history::{ActionItem, RunFilter, RunRecord, Store, exposition, metrics};
use jiff::{SignedDuration, Timestamp};

const RUNS: usize = 10_000;
const SCENARIOS: [&str; 8] = [
    "pod-loss",
    "db-failover",
    "dns-outage",
    "bad-rollout",
    "zone-drain",
    "cpu-starvation",
    "network-partition",
    "cache-eviction",
];
const SEVERITIES: [Option<&str>; 4] = [Some("SEV1"), Some("SEV2"), Some("SEV3"), None];

fn run(i: usize, run_dir: &Path) -> RunRecord {
    let start: Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
    let started_at = start + SignedDuration::from_hours(i as i64);
    let f = |base: usize| Some((base + (i * 7919) % 300) as f64 / 1.5);
    RunRecord {
        run_id: format!("run-{i:06}"),
        kind: "scenario".to_string(),
        scenario: SCENARIOS[i % SCENARIOS.len()].to_string(),
        severity: SEVERITIES[i % SEVERITIES.len()].map(str::to_string),
        status: "passed".into(),
        exit_code: 0,
        started_at,
        ended_at: Some(started_at + SignedDuration::from_mins(15)),
        ttd_seconds: f(20),
        tta_seconds: if i.is_multiple_of(5) { None } else { f(40) },
        ttm_seconds: f(60),
        ttr_seconds: f(120),
        score: Some(0.8),
        passed: !i.is_multiple_of(3),
        run_dir: run_dir.to_path_buf(),
        action_items: (0..2)
            .map(|k| ActionItem {
                id: format!("A{k}"),
                title: format!("follow-up {k} of run {i}"),
                owner_role: Some("ic".into()),
                due: Some("2024-06-01".parse().unwrap()),
                priority: Some("P2".into()),
                done_at: (k == 0).then_some(started_at),
                rule: None,
                subject: None,
            })
            .collect(),
        reason: None,
    }
}

fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!(
        "{name}: median {:.3} ms, p95 {:.3} ms ({} samples)",
        at(0.5).as_secs_f64() * 1e3,
        at(0.95).as_secs_f64() * 1e3,
        samples.len()
    );
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = tmp.path().join("run");
    std::fs::create_dir_all(&run_dir).unwrap();
    println!("== SQLite");
    measure(&tmp.path().join("history.db"), &run_dir);

    println!("== PostgreSQL");
    let pg = common::postgres::Postgres::start();
    let url = pg.create_database("bench");
    measure(Path::new(&url), &run_dir);
    let end_to_end: Vec<Duration> = (0..11)
        .map(|_| {
            let t = Instant::now();
            let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
                .args(["metrics", "-o", "prometheus", "--db", &url])
                .env_remove("GAMEDAY_CONFIG")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            t.elapsed()
        })
        .collect();
    summary(
        "gameday metrics -o prometheus --db postgres://… (end to end)",
        end_to_end,
    );
    server_side(&url);
}

/// The server's own execution time of the two reads `metrics` makes (runs,
/// then their items), from EXPLAIN ANALYZE: what the database costs apart
/// from the client decoding the rows, which depends on the build profile.
fn server_side(url: &str) {
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    for (name, query) in [
        (
            "runs",
            "SELECT * FROM runs r ORDER BY started_at_ms DESC, run_id DESC",
        ),
        (
            "action items",
            "SELECT a.*, r.scenario, r.started_at_ms FROM action_items a
             JOIN runs r ON r.run_id = a.run_id ORDER BY a.id",
        ),
    ] {
        let plan = client
            .query(&format!("EXPLAIN (ANALYZE, TIMING OFF) {query}"), &[])
            .unwrap();
        let time = plan
            .iter()
            .map(|r| r.get::<_, String>(0))
            .find(|l| l.starts_with("Execution Time"))
            .unwrap_or_default();
        println!("  server side, {name}: {time}");
    }
}

/// Seeds the history at `db` with [`RUNS`] runs and times the three costs.
fn measure(db: &Path, run_dir: &Path) {
    let mut store = Store::open(db).unwrap();

    let seeding = Instant::now();
    for i in 0..RUNS {
        store.record(&run(i, run_dir)).unwrap();
    }
    println!(
        "seeded {RUNS} runs in {:.2} s",
        seeding.elapsed().as_secs_f64()
    );

    let record: Vec<Duration> = (RUNS..RUNS + 101)
        .map(|i| {
            let r = run(i, run_dir);
            let t = Instant::now();
            store.record(&r).unwrap();
            t.elapsed()
        })
        .collect();
    summary(
        "record one run (2 action items) into 10k-run history",
        record,
    );

    let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    let mut bytes = 0;
    let metrics_times: Vec<Duration> = (0..21)
        .map(|_| {
            let t = Instant::now();
            let runs = store.runs(&RunFilter::default()).unwrap();
            let m = metrics::compute(&runs, now, None, None);
            bytes = exposition::render(&m).len();
            t.elapsed()
        })
        .collect();
    summary(
        &format!(
            "metrics -o prometheus over {} runs ({bytes} bytes)",
            RUNS + 101
        ),
        metrics_times,
    );

    let read: Vec<Duration> = (0..21)
        .map(|_| {
            let t = Instant::now();
            store.runs(&RunFilter::default()).unwrap();
            t.elapsed()
        })
        .collect();
    summary("  of which reading the runs and items", read);

    let list: Vec<Duration> = (0..51)
        .map(|_| {
            let t = Instant::now();
            let runs = store
                .runs(&RunFilter {
                    limit: Some(50),
                    ..RunFilter::default()
                })
                .unwrap();
            assert_eq!(runs.len(), 50);
            t.elapsed()
        })
        .collect();
    summary("history --limit 50", list);
}

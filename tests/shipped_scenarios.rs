//! Every `gameday init` starter (all fault types) and every file in
//! `scenarios/` runs to exit 0 against the demo stack: the shop world in a
//! sandbox, real Prometheus and Alertmanager (`gameday::demo::stack`, what
//! `gameday demo` runs), Alertmanager paging the run's responder API.
//!
//! Each run gets a fresh stack of its own (sandbox, Prometheus and
//! Alertmanager on free loopback ports), so no run inherits another's
//! alerts, SLI history or autopilot changes. Runs go several at a time to
//! keep CI short: `GAMEDAY_SHIPPED_CONCURRENCY` (default 7) bounds them,
//! `GAMEDAY_SHIPPED_FILTER` (a substring of the case name) picks cases when
//! working on one scenario, and `GAMEDAY_SHIPPED_KEEP` keeps the run
//! directories.
//!
//! Scenarios with `response.autopilot` answer the page themselves. For the
//! others with a `response` section (the starters), the test answers as a
//! person would with `gameday respond`: once the fault is in and the
//! expected alert fired, it acknowledges, does every runbook step and
//! resolves.

mod common;
mod shipped_support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use shipped_support::{Case, Outcome, run_case};

const DEFAULT_CONCURRENCY: usize = 7;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `gameday init starter-<type> --fault <type> -o FILE` for every fault
/// type, exactly as a user would write a first scenario.
fn write_starters(dir: &Path) -> Vec<Case> {
    gameday::faults::FAULTS
        .iter()
        .map(|k| {
            let ty = k.fault_type();
            let name = format!("starter-{}", ty.as_str().to_ascii_lowercase());
            let file = dir.join(format!("{name}.yaml"));
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
                .args(["init", &name, "--fault", ty.as_str(), "-o"])
                .arg(&file)
                .output()
                .expect("gameday init runs");
            assert!(
                out.status.success(),
                "gameday init {name} --fault {ty}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            Case { name, file }
        })
        .collect()
}

/// Every `scenarios/*.yaml` (drills under `scenarios/drills/` are not
/// `gameday run` scenarios).
fn shipped() -> Vec<Case> {
    let mut v: Vec<Case> = std::fs::read_dir(repo().join("scenarios"))
        .expect("scenarios/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .map(|file| Case {
            name: format!("scenarios/{}", file.file_name().unwrap().to_string_lossy()),
            file,
        })
        .collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(v.len() >= 14, "one scenario per fault type at least");
    v
}

/// About how long a run of `file` takes: its last fault's end plus the
/// recovery window. Only used to order the cases.
fn expected_secs(file: &Path) -> f64 {
    let secs = |v: &serde_yaml::Value| {
        v.as_str()
            .and_then(|s| s.parse::<gameday_spanned::values::Duration>().ok())
            .map_or(0.0, |d| d.as_secs_f64())
    };
    let Ok(text) = std::fs::read_to_string(file) else {
        return 0.0;
    };
    let Ok(doc) = serde_yaml::from_str::<serde_yaml::Value>(&text) else {
        return 0.0;
    };
    let spec = &doc["spec"];
    let faults_end = spec["faults"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|f| secs(&f["at"]) + secs(&f["duration"]))
        .fold(0.0, f64::max);
    let recover = &spec["steadyState"]["recoverWithin"];
    faults_end
        + if recover.is_null() {
            120.0
        } else {
            secs(recover)
        }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_starter_and_shipped_scenario_passes_on_the_demo_stack() {
    let started = Instant::now();
    let work = tempfile::tempdir().unwrap();
    if std::env::var_os("GAMEDAY_SHIPPED_KEEP").is_some() {
        eprintln!("keeping {}", work.path().display());
    }
    let mut cases = write_starters(work.path());
    cases.extend(shipped());
    if let Ok(filter) = std::env::var("GAMEDAY_SHIPPED_FILTER") {
        cases.retain(|c| c.name.contains(&filter));
    }
    // Longest first: with a bounded number in flight, a long run started
    // last would set the wall time alone (the semaphore hands out permits
    // in the order the tasks ask).
    cases.sort_by(|a, b| expected_secs(&b.file).total_cmp(&expected_secs(&a.file)));
    let limit = Arc::new(tokio::sync::Semaphore::new(env_usize(
        "GAMEDAY_SHIPPED_CONCURRENCY",
        DEFAULT_CONCURRENCY,
    )));
    let mut tasks = Vec::new();
    for case in cases {
        let limit = limit.clone();
        let dir = work.path().join(case.name.replace('/', "-"));
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await.unwrap();
            run_case(case, dir).await
        }));
    }
    let mut outcomes: Vec<Outcome> = Vec::new();
    for t in tasks {
        outcomes.push(t.await.expect("a case task panicked"));
    }
    for o in &outcomes {
        eprintln!(
            "{:<40} exit {:>2} in {:>5.1}s",
            o.name,
            o.code,
            o.elapsed.as_secs_f64()
        );
    }
    eprintln!(
        "{} runs in {:.1}s wall time",
        outcomes.len(),
        started.elapsed().as_secs_f64()
    );
    if std::env::var_os("GAMEDAY_SHIPPED_KEEP").is_some() {
        let _ = work.keep();
    }
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.code != 0).collect();
    assert!(
        failed.is_empty(),
        "{} of {} runs did not exit 0:\n{}",
        failed.len(),
        outcomes.len(),
        failed
            .iter()
            .map(|o| o.details.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

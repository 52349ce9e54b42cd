//! Hybrid drills (`fault` injects) against the shop sandbox, through the
//! `gameday drill` binary: the library's hybrid drill runs to exit 0 with
//! its fault injected and reverted by the engine of `gameday run`; a context
//! outside the drill's `target` is refused before anything is written;
//! SIGTERM, the facilitator's `end` and the kill switch revert; and a
//! SIGKILLed drill leaves its marks (with an expiry)
//! for `gameday recover`, which restores the workload, while the drill can
//! still be reported from its journal.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gameday::k8s::marks::LABEL_RUN_ID;
use gameday::sandbox::world::World;
use gameday::sandbox::{Sandbox, SandboxHandle, SandboxOptions};
use k8s_openapi::api::apps::v1::Deployment;
use serde_json::Value;

mod drill_support;
use drill_support::{gameday, result};

const CONTEXT: &str = "gameday-sandbox";

fn hybrid_drill() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/drills/checkout-capacity-loss-hybrid.yaml")
}

/// The shop world in a sandbox, and a kubeconfig for it under `context`.
async fn shop(dir: &Path, context: &str) -> (SandboxHandle, PathBuf) {
    let sandbox = Sandbox::start(SandboxOptions {
        objects: World::shop().expect("the shop world").to_objects(),
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox starts");
    let kubeconfig = dir.join("kubeconfig");
    sandbox
        .write_kubeconfig(&kubeconfig, context)
        .expect("kubeconfig written");
    (sandbox, kubeconfig)
}

/// `gameday` with the sandbox's kubeconfig and context.
fn on_cluster(dir: &Path, kubeconfig: &Path, context: &str) -> Command {
    let mut c = gameday(dir);
    c.arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--context")
        .arg(context)
        .current_dir(dir)
        .stdin(Stdio::null());
    c
}

/// The checkout Deployment: its replicas and whether it carries a mark.
async fn checkout(sandbox: &SandboxHandle) -> (i32, bool) {
    let api: kube::Api<Deployment> =
        kube::Api::namespaced(sandbox.kube_client().expect("client"), "shop");
    let d = api.get("checkout").await.expect("checkout exists");
    let replicas = d.spec.and_then(|s| s.replicas).unwrap_or(0);
    let marked = d
        .metadata
        .labels
        .is_some_and(|l| l.contains_key(LABEL_RUN_ID));
    (replicas, marked)
}

/// Polls `checkout` until `want` holds (bounded).
async fn wait_checkout(sandbox: &SandboxHandle, want: impl Fn((i32, bool)) -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let seen = checkout(sandbox).await;
        if want(seen) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: still {seen:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn journal(run: &Path) -> Vec<Value> {
    std::fs::read_to_string(run.join("journal.jsonl"))
        .expect("journal")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a journal line"))
        .collect()
}

fn events(j: &[Value]) -> Vec<&str> {
    j.iter().filter_map(|e| e["event"].as_str()).collect()
}

/// Starts the hybrid drill in the background at `speed`, output to files.
fn spawn_drill(dir: &Path, kubeconfig: &Path, run: &Path, speed: &str) -> Child {
    let log = |n: &str| Stdio::from(std::fs::File::create(dir.join(n)).expect("log file"));
    on_cluster(dir, kubeconfig, CONTEXT)
        .args(["drill", "--ci", "--speed", speed, "--out"])
        .arg(run)
        .arg(hybrid_drill())
        .stdout(log("drill.stdout"))
        .stderr(log("drill.stderr"))
        .spawn()
        .expect("gameday drill starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hybrid_library_drill_injects_and_reverts_its_fault_through_the_engine() {
    let tmp = tempfile::tempdir().unwrap();
    let (sandbox, kubeconfig) = shop(tmp.path(), CONTEXT).await;
    let run = tmp.path().join("run");
    let mut drill = spawn_drill(tmp.path(), &kubeconfig, &run, "60");
    // The fault is really there while the drill runs: half of checkout.
    wait_checkout(&sandbox, |(r, m)| r == 2 && m, "checkout scaled down").await;
    let status = tokio::task::spawn_blocking(move || drill.wait())
        .await
        .unwrap()
        .unwrap();
    let stderr = std::fs::read_to_string(tmp.path().join("drill.stderr")).unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_eq!(
        checkout(&sandbox).await,
        (4, false),
        "restored and unmarked"
    );
    let j = journal(&run);
    let ev = events(&j);
    for want in [
        "fault.intent",
        "fault.injected",
        "fault.reverted",
        "revert.confirmed",
        "faults.end",
    ] {
        assert!(ev.contains(&want), "{want} missing from {ev:?}");
    }
    // Intent is on disk before the injection (S1), and the revert is
    // confirmed clean by label before the drill ends.
    let pos = |e: &str| ev.iter().position(|x| *x == e).unwrap();
    assert!(pos("fault.intent") < pos("fault.injected"));
    assert!(pos("revert.confirmed") < pos("run.end"));
    let confirmed = j.iter().find(|e| e["event"] == "revert.confirmed").unwrap();
    assert_eq!(confirmed["clean"], true, "{confirmed}");
    let intent = j.iter().find(|e| e["event"] == "fault.intent").unwrap();
    assert!(intent["expiresAt"].is_string(), "{intent}");
    // The fault fired in drill time at its inject's `at` (30 s), held
    // 3 min of drill time = 3 s of wall time at speed 60.
    let injected = j.iter().find(|e| e["event"] == "fault.injected").unwrap();
    let at = injected["drillSeconds"].as_f64().unwrap();
    assert!((30.0..40.0).contains(&at), "injected at drill {at}");
    assert!((injected["holdSeconds"].as_f64().unwrap() - 3.0).abs() < 0.01);
    // Every entry carries the drill time and the wall offset.
    for e in &j {
        assert!(e["drillSeconds"].is_f64(), "no drillSeconds: {e}");
        assert!(e["wallSeconds"].is_f64(), "no wallSeconds: {e}");
    }
    let r = result(&run);
    assert_eq!(r["context"], CONTEXT);
    assert_eq!(r["faults"][0]["name"], "halve-checkout");
    assert!(r["faults"][0]["revertedAt"].is_string(), "{}", r["faults"]);
    // The report is in drill time, the fault too: injected about 30 s
    // after the start, reverted about 3 min later (not 0.5 s and 3 s of
    // wall time at speed 60).
    let at = |k: &str| {
        r["faults"][0][k]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
    };
    let started: jiff::Timestamp = r["started"].as_str().unwrap().parse().unwrap();
    let injected = at("injectedAt").duration_since(started).as_secs_f64();
    let held = at("revertedAt")
        .duration_since(at("injectedAt"))
        .as_secs_f64();
    assert!((30.0..40.0).contains(&injected), "injected at {injected}");
    assert!((175.0..200.0).contains(&held), "held {held}");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hybrid_drill_refuses_a_context_outside_its_target_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let (sandbox, kubeconfig) = shop(tmp.path(), "prod-eu").await;
    let run = tmp.path().join("run");
    let o = on_cluster(tmp.path(), &kubeconfig, "prod-eu")
        .args(["drill", "--ci", "--speed", "60", "--out"])
        .arg(&run)
        .arg(hybrid_drill())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("prod-eu"), "{stderr}");
    assert!(!run.exists(), "no run directory for a refused context");
    assert_eq!(checkout(&sandbox).await, (4, false));
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_a_hybrid_drill_with_its_fault_reverted() {
    let tmp = tempfile::tempdir().unwrap();
    let (sandbox, kubeconfig) = shop(tmp.path(), CONTEXT).await;
    let run = tmp.path().join("run");
    // At speed 5 the fault holds 36 s of wall time: SIGTERM lands inside it.
    let drill = spawn_drill(tmp.path(), &kubeconfig, &run, "5");
    wait_checkout(&sandbox, |(r, m)| r == 2 && m, "checkout scaled down").await;
    let pid = drill.id().to_string();
    let kill = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(kill.success());
    let mut drill = drill;
    let status = tokio::task::spawn_blocking(move || drill.wait())
        .await
        .unwrap()
        .unwrap();
    let stderr = std::fs::read_to_string(tmp.path().join("drill.stderr")).unwrap();
    assert_eq!(status.code(), Some(3), "aborted: {stderr}");
    assert_eq!(checkout(&sandbox).await, (4, false), "reverted on SIGTERM");
    let j = journal(&run);
    let confirmed = j.iter().find(|e| e["event"] == "revert.confirmed").unwrap();
    assert_eq!(confirmed["clean"], true);
    assert_eq!(result(&run)["status"], "aborted");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_hybrid_drill_leaves_nothing_after_recover_and_still_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let (sandbox, kubeconfig) = shop(tmp.path(), CONTEXT).await;
    let run = tmp.path().join("run");
    let mut drill = spawn_drill(tmp.path(), &kubeconfig, &run, "5");
    wait_checkout(&sandbox, |(r, m)| r == 2 && m, "the fault's mark").await;
    drill.kill().expect("SIGKILL");
    let _ = drill.wait();
    // Nothing ran after the kill: the mark (with its undo data) is all
    // that is left, and it is what recover works from.
    assert_eq!(checkout(&sandbox).await, (2, true));
    let o = on_cluster(tmp.path(), &kubeconfig, CONTEXT)
        .args(["recover", "--run"])
        .arg(&run)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    wait_checkout(&sandbox, |s| s == (4, false), "restored by recover").await;
    // S7: the killed drill is still reported from its journal.
    let o = gameday(tmp.path())
        .arg("report")
        .arg(&run)
        .output()
        .unwrap();
    assert!(
        run.join("result.json").is_file(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = result(&run);
    assert_eq!(r["kind"], "Drill");
    assert_eq!(r["status"], "incomplete", "{}", r["statusReason"]);
    assert_eq!(r["faults"][0]["name"], "halve-checkout");
    sandbox.shutdown().await;
}

/// Waits (bounded) for `gameday drill` to exit; returns its exit code.
async fn exit_code(mut drill: Child) -> Option<i32> {
    tokio::task::spawn_blocking(move || drill.wait())
        .await
        .unwrap()
        .unwrap()
        .code()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_facilitators_end_reverts_the_fault_before_the_drill_exits() {
    let tmp = tempfile::tempdir().unwrap();
    let (sandbox, kubeconfig) = shop(tmp.path(), CONTEXT).await;
    let run = tmp.path().join("run");
    let drill = spawn_drill(tmp.path(), &kubeconfig, &run, "5");
    wait_checkout(&sandbox, |(r, m)| r == 2 && m, "checkout scaled down").await;
    let o = gameday(tmp.path())
        .args(["drill", "control", "end", "--run-dir"])
        .arg(&run)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let code = exit_code(drill).await;
    let stderr = std::fs::read_to_string(tmp.path().join("drill.stderr")).unwrap();
    // Ended before the autopilot resolved: scored, not aborted.
    assert!(matches!(code, Some(0 | 1)), "{code:?}: {stderr}");
    assert_eq!(checkout(&sandbox).await, (4, false), "reverted at the end");
    let j = journal(&run);
    let confirmed = j.iter().find(|e| e["event"] == "revert.confirmed").unwrap();
    assert_eq!(confirmed["clean"], true);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kill_switch_ends_a_hybrid_drill_with_nothing_left() {
    let tmp = tempfile::tempdir().unwrap();
    let (sandbox, kubeconfig) = shop(tmp.path(), CONTEXT).await;
    let run = tmp.path().join("run");
    let drill = spawn_drill(tmp.path(), &kubeconfig, &run, "5");
    wait_checkout(&sandbox, |(r, m)| r == 2 && m, "checkout scaled down").await;
    let o = on_cluster(tmp.path(), &kubeconfig, CONTEXT)
        .arg("halt")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let code = exit_code(drill).await;
    let stderr = std::fs::read_to_string(tmp.path().join("drill.stderr")).unwrap();
    assert_eq!(code, Some(3), "halted: {stderr}");
    assert_eq!(checkout(&sandbox).await, (4, false));
    let j = journal(&run);
    assert!(events(&j).contains(&"halt.seen"), "{:?}", events(&j));
    let end = j.iter().find(|e| e["event"] == "run.end").unwrap();
    assert_eq!(end["status"], "halted", "{end}");
    sandbox.shutdown().await;
}

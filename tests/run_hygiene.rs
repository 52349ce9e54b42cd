//! A game day leaves the place as it found it (issue 10): one run, one
//! directory; a run waits for the steady state to settle before injecting;
//! autopilot's mitigation is reverted after the recovery measurement (or
//! kept with `keep: true`), also by `gameday recover` after a SIGKILL; and
//! so `scenarios/checkout-pod-loss.yaml` can run twice in a row. Against the
//! shop sandbox with real Prometheus and Alertmanager (the demo stack).

mod common;
// Shared with response_run.rs, which uses all of it.
#[allow(dead_code)]
mod response_support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use gameday::engine::{Entry, Journal};
use k8s_openapi::api::apps::v1::Deployment;
use response_support::{Drill, finish, finish_within, wait_until};

const BIN: &str = env!("CARGO_BIN_EXE_gameday");

fn shipped(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

fn journal(dir: &Path) -> Vec<Entry> {
    Journal::read(&dir.join("journal.jsonl")).unwrap()
}

fn events(j: &[Entry]) -> Vec<&str> {
    j.iter().map(|e| e.event.as_str()).collect()
}

fn position(j: &[Entry], event: &str) -> usize {
    j.iter()
        .position(|e| e.event == event)
        .unwrap_or_else(|| panic!("no {event} in {:#?}", events(j)))
}

fn status(j: &[Entry]) -> String {
    j.iter()
        .rev()
        .find(|e| e.event == "run.end")
        .and_then(|e| e.data["status"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// `gameday run SCENARIO --ci <placement>` on the drill's stack, with the
/// drill's API port and token file so Alertmanager reaches the run.
fn start(drill: &Drill, scenario: &Path, placement: &[&std::ffi::OsStr]) -> tokio::process::Child {
    let mut c = tokio::process::Command::new(BIN);
    c.arg("run")
        .arg(scenario)
        .args(placement)
        .args(["--ci", "--api-listen"])
        .arg(format!("127.0.0.1:{}", drill.api_port))
        .arg("--api-token-file")
        .arg(&drill.token_file);
    drill.wire(&mut c);
    c.env("GAMEDAY_HISTORY_DB", drill.dir.path().join("history.db"));
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c.spawn().unwrap()
}

/// Long enough for a run that first settles for up to its 90 s default.
const RUN_LIMIT: Duration = Duration::from_secs(240);

async fn run_out(drill: &Drill, scenario: &Path, out: &Path) -> (i32, String) {
    let child = start(drill, scenario, &["--out".as_ref(), out.as_os_str()]);
    finish_within(child, RUN_LIMIT).await
}

fn deployments(drill: &Drill) -> kube::Api<Deployment> {
    kube::Api::namespaced(drill.sandbox.kube_client().unwrap(), "shop")
}

/// checkout's spec.replicas and whether it carries a gameday mark.
async fn checkout(drill: &Drill) -> (i32, bool) {
    let d = deployments(drill).get("checkout").await.unwrap();
    let marked = d
        .metadata
        .labels
        .unwrap_or_default()
        .contains_key("gameday/run-id");
    (d.spec.unwrap().replicas.unwrap(), marked)
}

/// Waits until checkout's pods are all available again (a previous test
/// step scaled it), so each step starts from the shop world's state.
async fn wait_checkout_available(drill: &Drill, n: i32) {
    let api = deployments(drill);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let d = api.get("checkout").await.unwrap();
        if d.status.and_then(|s| s.available_replicas) == Some(n) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "checkout never {n}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

const QUICK: &str = r#"apiVersion: gameday/v1
kind: Scenario
metadata: {name: out-dir}
spec:
  hypothesis: Checkout keeps its replica count while one pod is killed.
  target: {contexts: ["gameday-sandbox"], namespaces: [shop]}
  blastRadius: {maxTargets: 1, maxPercent: 25, maxDuration: 2m}
  steadyState:
    interval: 1s
    recoverWithin: 20s
    probes:
      - name: checkout-replicas
        kubernetes: {kind: Deployment, namespace: shop, name: checkout, field: replicas}
        expect: ">= 4"
  faults:
    - name: kill-one
      type: podKill
      selector: {namespace: shop, labels: {app: checkout}}
      mode: {count: 1}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_into_the_same_out_is_refused_and_out_parent_gives_each_its_own() {
    let drill = Drill::start().await;
    let scenario = drill.dir.path().join("quick.yaml");
    std::fs::write(&scenario, QUICK).unwrap();
    let out = drill.dir.path().join("gameday-run");

    let (code, err) = run_out(&drill, &scenario, &out).await;
    assert_eq!(code, 0, "{err}");
    let first = std::fs::read(out.join("journal.jsonl")).unwrap();
    let writes = drill.sandbox.write_count();

    // The same --out again: refused with a hint, nothing written anywhere.
    let (code, err) = run_out(&drill, &scenario, &out).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("already holds a run"), "{err}");
    assert!(err.contains("--out-parent"), "{err}");
    assert_eq!(std::fs::read(out.join("journal.jsonl")).unwrap(), first);
    assert_eq!(
        drill.sandbox.write_count(),
        writes,
        "the cluster was touched"
    );
    // `gameday demo --out` is refused the same way, before it starts anything.
    let demo = std::process::Command::new(BIN)
        .args(["demo", "--ci", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(demo.status.code(), Some(2));
    assert_eq!(std::fs::read(out.join("journal.jsonl")).unwrap(), first);

    // --out-parent: a fresh directory per run, one run per journal.
    let parent = drill.dir.path().join("runs");
    for _ in 0..2 {
        let placement = ["--out-parent".as_ref(), parent.as_os_str()];
        let (code, err) = finish(start(&drill, &scenario, &placement)).await;
        assert_eq!(code, 0, "{err}");
    }
    let mut ids = Vec::new();
    for d in std::fs::read_dir(&parent).unwrap() {
        let j = journal(&d.unwrap().path());
        let starts: Vec<&Entry> = j.iter().filter(|e| e.event == "run.start").collect();
        assert_eq!(starts.len(), 1);
        assert_eq!(j.iter().filter(|e| e.event == "run.end").count(), 1);
        ids.push(starts[0].data["runId"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_ne!(ids[0], ids[1]);
}

/// The autopilot's scale-up of one run, as journalled.
fn scale_action(j: &[Entry]) -> &Entry {
    &j[position(j, "autopilot.action")]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_pod_loss_twice_in_a_row_settles_passes_and_leaves_four_replicas() {
    let drill = Drill::start().await;
    let scenario = shipped("checkout-pod-loss.yaml");
    let first = drill.dir.path().join("first");
    let (code, err) = run_out(&drill, &scenario, &first).await;
    let j = journal(&first);
    assert_eq!(code, 0, "{err}\n{:#?}", events(&j));

    // The mitigation was journalled with its undo data before the write,
    // marked for revert, and reverted after the recovery measurement, with
    // the replicas read back as evidence.
    let action = scale_action(&j);
    assert_eq!(action.data["undo"]["replicas"], 4, "{action:?}");
    assert_eq!(action.data["marked"], true);
    assert_eq!(action.data["keep"], false);
    assert!(position(&j, "autopilot.action") < position(&j, "autopilot.action.done"));
    let reverted = &j[position(&j, "action.reverted")];
    assert_eq!(reverted.data["replicas"], 4, "{reverted:?}");
    assert!(position(&j, "steady.recovery") < position(&j, "action.reverted"));
    assert!(position(&j, "action.reverted") < position(&j, "run.end"));
    assert_eq!(checkout(&drill).await, (4, false));

    // Right away again: it settles first, then passes.
    let second = drill.dir.path().join("second");
    let (code, err) = run_out(&drill, &scenario, &second).await;
    let j = journal(&second);
    assert_eq!(code, 0, "{err}\n{:#?}", events(&j));
    assert_eq!(status(&j), "passed");
    let settled = &j[position(&j, "steady.settled")];
    assert!(position(&j, "steady.settled") < position(&j, "fault.intent"));
    let ticks = settled.data["tick"].as_u64().unwrap();
    let settling = j.iter().filter(|e| e.event == "steady.settling").count() as u64;
    assert_eq!(settling, ticks - 1, "every unsettled tick is journalled");
    eprintln!(
        "second run settled after {} tick(s), {:.1}s",
        ticks, settled.data["waitedSeconds"]
    );
    assert_eq!(checkout(&drill).await, (4, false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_true_leaves_the_autopilot_scale_in_place() {
    let drill = Drill::start().await;
    let text = std::fs::read_to_string(shipped("checkout-pod-loss.yaml")).unwrap();
    let runbook = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/runbooks/checkout.md");
    let kept = text
        .replace(
            "          scale: {kind: Deployment, namespace: shop, name: checkout, replicas: 6}",
            "          scale: {kind: Deployment, namespace: shop, name: checkout, replicas: 6}\n          keep: true",
        )
        .replace(
            "../examples/runbooks/checkout.md",
            runbook.to_str().unwrap(),
        );
    assert!(kept.contains("keep: true"));
    let scenario = drill.dir.path().join("kept.yaml");
    std::fs::write(&scenario, kept).unwrap();
    let out = drill.dir.path().join("kept");
    let (code, err) = run_out(&drill, &scenario, &out).await;
    let j = journal(&out);
    assert_eq!(code, 0, "{err}\n{:#?}", events(&j));
    let action = scale_action(&j);
    assert_eq!(action.data["keep"], true, "{action:?}");
    assert_eq!(action.data["marked"], false);
    assert!(!events(&j).contains(&"action.reverted"));
    assert_eq!(checkout(&drill).await, (6, false), "kept, and unmarked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_reverts_the_autopilot_scale_after_a_sigkill() {
    let drill = Drill::start().await;
    let out = drill.dir.path().join("killed");
    let placement = ["--out".as_ref(), out.as_os_str()];
    let mut child = start(&drill, &shipped("checkout-pod-loss.yaml"), &placement);
    let journal_path = out.join("journal.jsonl");
    wait_until(Duration::from_secs(90), || {
        let j = Journal::read(&journal_path).ok()?;
        j.iter()
            .any(|e| e.event == "autopilot.action.done")
            .then_some(())
    })
    .await;
    assert_eq!(checkout(&drill).await, (6, true), "scaled and marked");
    // SIGKILL by PID: no revert path of its own runs.
    child.start_kill().unwrap();
    let _ = child.wait().await;
    assert_eq!(checkout(&drill).await, (6, true), "left behind by the kill");

    let mut c = tokio::process::Command::new(BIN);
    c.arg("recover").arg("--run").arg(&out);
    drill.wire(&mut c);
    let o = c.output().await.unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(checkout(&drill).await, (4, false), "{err}");
    wait_checkout_available(&drill, 4).await;
}

//! nodeNotReady against the sandbox, whose runtime acts out the helper pod's
//! `nsenter -t 1 ... systemd-run ... && systemctl stop kubelet` on the
//! node's init system: a SIGKILLed run leaves a node that comes back Ready
//! by itself at the host timer, and `gameday recover` (under exactly the
//! RBAC `gameday rbac` prints) removes the helper pod; a `baseline` helper
//! namespace is refused by the preflight's dry run before any write. The
//! sandbox runs ten times faster than a cluster here (grace period 5 s).

mod faults_support;

use std::path::Path;
use std::time::{Duration, Instant};

use faults_support::{Cluster, journal_events, shop_world};
use gameday::sandbox::SandboxOptions;

/// A shop at ten times a cluster's speed.
async fn fast_shop(world: Vec<serde_json::Value>) -> Cluster {
    Cluster::start_opts(SandboxOptions {
        objects: world,
        time_scale: 10.0,
        ..SandboxOptions::default()
    })
    .await
}

/// The node's Ready condition status.
async fn ready(c: &Cluster, node: &str) -> String {
    c.node(node)
        .await
        .status
        .and_then(|s| s.conditions)
        .and_then(|cs| cs.into_iter().find(|c| c.type_ == "Ready"))
        .map_or_else(|| "True".into(), |c| c.status)
}

fn injected(dir: &Path) -> Option<serde_json::Value> {
    journal_events(dir)
        .into_iter()
        .find(|e| e.event == "fault.injected")
        .map(|e| serde_json::Value::Object(e.data))
}

const FAULT: &str = "    - {name: down, type: nodeNotReady, duration: 20s, selector: {nodeLabels: {pool: green}}, mode: {count: 1}}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_run_leaves_a_node_that_comes_back_by_itself_and_recover_removes_the_helper() {
    let c = fast_shop(shop_world()).await;
    let sc = c.write_scenario("down.yaml", "node-down", FAULT, "");
    let sa = c.bound_to_printed_rbac(&sc, |_| {}).await;
    let out = c.path("run");
    let mut child = c
        .gameday_with(
            &sa,
            &[
                "run",
                sc.to_str().unwrap(),
                "--ci",
                "--out",
                out.to_str().unwrap(),
            ],
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(c.path("stderr")).unwrap())
        .spawn()
        .unwrap();
    // Injected on evidence: the node left Ready.
    let deadline = Instant::now() + Duration::from_secs(30);
    let e = loop {
        if let Some(e) = injected(&out) {
            break e;
        }
        assert!(
            Instant::now() < deadline,
            "never injected: {}",
            std::fs::read_to_string(c.path("stderr")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let stopped = Instant::now();
    assert_eq!(e["injected"], 1, "{e}");
    assert_ne!(ready(&c, "node-3").await, "True");
    child.start_kill().unwrap();
    let status = child.wait().await.unwrap();
    assert!(status.code().is_none(), "killed by the signal");
    let helpers = c.marked().await;
    assert_eq!(
        helpers.len(),
        1,
        "the helper pod keeps its marks: {helpers:?}"
    );

    // Nothing of gameday runs now: the host timer brings the kubelet back
    // within the fault's 20 s of the stop.
    assert!(
        c.eventually(Duration::from_secs(30), || async {
            ready(&c, "node-3").await == "True"
        })
        .await,
        "node-3 not Ready again by its host timer"
    );
    println!(
        "node-3 Ready again {:?} after the injection was journalled",
        stopped.elapsed()
    );
    assert_eq!(c.marked().await, helpers, "nothing but the timer acted");
    // The kubelet back reports its pods afresh: the lifecycle controller's
    // NotReady goes (20 s is within their 30 s scaled toleration).
    let on_node = || async {
        c.kubectl(&[
            "get", "pods", "-n", "shop", "--field-selector", "spec.nodeName=node-3",
            "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type==\"Ready\")].status} {end}",
        ])
        .await
    };
    assert!(
        c.eventually(Duration::from_secs(10), || async {
            let pods = on_node().await;
            pods.split_whitespace()
                .filter(|p| !p.starts_with("gameday-"))
                .all(|p| p.ends_with("=True"))
        })
        .await,
        "pods on node-3 not Ready again: {}",
        on_node().await
    );

    let (code, stdout, err) = c
        .run_as(&sa, &["recover", "--namespace", "shop", "--nodes"])
        .await;
    assert_eq!(code, 0, "{stdout}{err}");
    let left = c.marked().await;
    println!("orphans after recover: {}", left.len());
    assert!(left.is_empty(), "orphans {left:?}");
    let pods = c
        .kubectl(&["get", "pods", "-n", "shop", "-o", "name"])
        .await;
    assert!(!pods.contains("gameday-down-"), "helper pod left: {pods}");
}

/// Pod Security `baseline` forbids hostPID and privileged containers: the
/// run's preflight dry-run create meets the refusal and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_baseline_helper_namespace_is_refused_before_any_write() {
    let mut world = shop_world();
    world[0]["metadata"]["labels"] =
        serde_json::json!({"pod-security.kubernetes.io/enforce": "baseline"});
    let c = fast_shop(world).await;
    let sc = c.write_scenario("down.yaml", "node-down", FAULT, "");
    let out = c.path("run");
    let (code, stdout, err) = c
        .run(&[
            "run",
            sc.to_str().unwrap(),
            "--ci",
            "--out",
            out.to_str().unwrap(),
        ])
        .await;
    assert_ne!(code, 0, "{stdout}");
    assert!(
        err.contains("dryRun=All") && err.contains("hostPID") && err.contains("privileged"),
        "{err}"
    );
    assert!(c.marked().await.is_empty(), "nothing marked");
    let pods = c
        .kubectl(&["get", "pods", "-n", "shop", "-o", "name"])
        .await;
    assert!(!pods.contains("gameday-"), "no helper pod: {pods}");
    assert_eq!(ready(&c, "node-3").await, "True");
}

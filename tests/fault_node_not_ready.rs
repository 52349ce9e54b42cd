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

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

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

/// `run SCENARIO --ci --out DIR`.
fn run_args<'a>(sc: &'a Path, out: &'a Path) -> [&'a str; 5] {
    let s = |p: &'a Path| p.to_str().unwrap_or_default();
    ["run", s(sc), "--ci", "--out", s(out)]
}

const FAULT: &str = "    - {name: down, type: nodeNotReady, duration: 20s, selector: {nodeLabels: {pool: green}}, mode: {count: 1}}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_run_leaves_a_node_that_comes_back_by_itself_and_recover_removes_the_helper() {
    let c = fast_shop(shop_world()).await;
    let sc = c.write_scenario("down.yaml", "node-down", FAULT, "");
    let sa = c.bound_to_printed_rbac(&sc, |_| {}).await;
    let out = c.path("run");
    let mut child = c
        .gameday_with(&sa, &run_args(&sc, &out))
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

/// A run stopped (SIGINT) long before the host timer cannot end the fault:
/// it exits 5, saying when the node comes back by itself, and the helper
/// pod keeps its marks for `gameday recover`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_stop_exits_5_and_says_when_the_node_comes_back_by_itself() {
    let c = fast_shop(shop_world()).await;
    let fault = FAULT.replace("duration: 20s", "duration: 3m");
    let sc = c.write_scenario("down.yaml", "node-down", &fault, "");
    let out = c.path("run");
    let child = c
        .gameday(&run_args(&sc, &out))
        .stdout(std::fs::File::create(c.path("stdout")).unwrap())
        .stderr(std::fs::File::create(c.path("stderr")).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while injected(&out).is_none() {
        assert!(Instant::now() < deadline, "never injected");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // SAFETY: a signal to our own child process.
    assert_eq!(unsafe { libc_kill(child.id().unwrap() as i32, 2) }, 0);
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the run ends")
        .unwrap()
        .status;
    let text = std::fs::read_to_string(c.path("stdout")).unwrap_or_default()
        + &std::fs::read_to_string(c.path("stderr")).unwrap_or_default();
    assert_eq!(status.code(), Some(5), "{text}");
    assert!(
        text.contains("host timer restarts the kubelet at") && text.contains("cannot end earlier"),
        "{text}"
    );
    assert_eq!(c.marked().await.len(), 1, "the helper keeps its marks");
    assert_ne!(ready(&c, "node-3").await, "True");
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
    let (code, stdout, err) = c.run(&run_args(&sc, &out)).await;
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

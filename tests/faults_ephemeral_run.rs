//! Ephemeral faults in a real `gameday run` against the sandbox's container
//! runtime: a SIGINT ends the stress process itself (not its timeout), and
//! an image that does not pull is a failed injection — the run aborts,
//! reverts, and does not count the fault as injected.

mod faults_support;

use std::path::Path;
use std::time::{Duration, Instant};

use faults_support::{Cluster, journal_events, shop_world};

const SIGINT: i32 = 2;

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

fn entries(dir: &Path, event: &str) -> Vec<serde_json::Value> {
    journal_events(dir)
        .into_iter()
        .filter(|e| e.event == event)
        .map(|e| serde_json::Value::Object(e.data))
        .collect()
}

/// Waits (bounded) for the journal to record the fault's injection.
async fn wait_injected(dir: &Path) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        if let Some(e) = entries(dir, "fault.injected").pop() {
            return e;
        }
        assert!(Instant::now() < deadline, "never injected");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The ephemeral container statuses of a checkout pod, as kubectl shows them.
async fn ephemeral_statuses(c: &Cluster, pod: &str) -> serde_json::Value {
    let text = c
        .kubectl(&[
            "get",
            "pod",
            pod,
            "-n",
            "shop",
            "-o",
            "jsonpath={.status.ephemeralContainerStatuses}",
        ])
        .await;
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
}

fn inject_state(statuses: &serde_json::Value) -> Option<String> {
    statuses.as_array()?.iter().find_map(|s| {
        let name = s["name"].as_str()?;
        (!name.ends_with("-r")).then(|| s["state"].as_object()?.keys().next().cloned())?
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_terminates_the_stress_container_within_5s() {
    let c = Cluster::start(shop_world()).await;
    let sc = c.write_scenario(
        "s.yaml",
        "hot-checkout",
        "    - {name: hot, type: cpuStress, duration: 2m, selector: {namespace: shop, labels: {app: checkout}}, mode: {count: 1}, params: {workers: 2}}",
        "",
    );
    let out = c.path("run");
    let mut child = c
        .gameday(&["run", sc.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let injected = wait_injected(&out).await;
    assert_eq!(injected["injected"], 1, "{injected}");
    let pod = c
        .pods("shop", "checkout")
        .await
        .into_iter()
        .find(|p| {
            p.spec
                .as_ref()
                .and_then(|s| s.ephemeral_containers.as_ref())
                .is_some_and(|e| !e.is_empty())
        })
        .and_then(|p| p.metadata.name)
        .expect("a pod with the stress container");
    assert_eq!(
        inject_state(&ephemeral_statuses(&c, &pod).await).as_deref(),
        Some("running")
    );
    let pid = child.id().unwrap() as i32;
    let sent = Instant::now();
    // SAFETY: a signal to our own child process.
    assert_eq!(unsafe { libc_kill(pid, SIGINT) }, 0);
    let mut ended = None;
    while sent.elapsed() < Duration::from_secs(10) {
        if inject_state(&ephemeral_statuses(&c, &pod).await).as_deref() == Some("terminated") {
            ended = Some(sent.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ended = ended.expect("the stress container ends");
    println!("stress container Terminated {ended:?} after SIGINT");
    assert!(ended < Duration::from_secs(5), "{ended:?}");
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the run exits")
        .unwrap();
    assert_eq!(status.code(), Some(3), "aborted, faults reverted");
    let confirmed = entries(&out, "revert.confirmed");
    assert_eq!(
        confirmed.first().map(|e| e["clean"].clone()),
        Some(true.into())
    );
    assert!(c.marked().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpullable_image_fails_the_fault_and_aborts_the_run() {
    let c = Cluster::start(shop_world()).await;
    let sc = c.write_scenario(
        "s.yaml",
        "no-pull",
        "    - {name: hot, type: cpuStress, duration: 2m, selector: {namespace: shop, labels: {app: checkout}}, mode: {count: 1}, params: {stressImage: registry.invalid/stress-ng:1}}",
        "",
    );
    let out = c.path("run");
    let started = Instant::now();
    let (code, stdout, stderr) = c
        .run(&["run", sc.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "aborted, not held for the fault's 2m"
    );
    assert_ne!(code, 0, "{stdout}\n{stderr}");
    let injected = entries(&out, "fault.injected");
    let e = injected.first().expect("the attempt is journalled");
    assert_eq!(e["injected"], 0, "{e}");
    let error = e["errors"][0]["error"].as_str().unwrap_or("");
    assert!(
        error.contains("ErrImagePull") || error.contains("ImagePullBackOff"),
        "{e}"
    );
    let stopping = entries(&out, "run.stopping");
    assert!(
        stopping
            .first()
            .is_some_and(|s| s["cause"].to_string().contains("failed to inject")),
        "{stopping:?}"
    );
    let confirmed = entries(&out, "revert.confirmed");
    assert_eq!(
        confirmed.first().map(|e| e["clean"].clone()),
        Some(true.into())
    );
    assert!(c.marked().await.is_empty(), "{:?}", c.marked().await);
    let card = std::fs::read_to_string(out.join("result.json")).unwrap_or_default();
    assert!(card.contains("nothing was injected"), "{card}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_refuses_a_helper_image_without_the_tool_its_command_runs() {
    let c = Cluster::start(shop_world()).await;
    let sc = c.write_scenario(
        "s.yaml",
        "hot-checkout",
        "    - {name: hot, type: cpuStress, duration: 30s, selector: {namespace: shop, labels: {app: checkout}}, mode: {count: 1}}",
        "",
    );
    // A revert image said to have no pkill: the stress revert cannot work.
    std::fs::write(
        c.path("gameday.yaml"),
        "apiVersion: gameday/v1\nhelperImages:\n  revert: {image: 'busybox:1.36', tools: [sh, timeout]}\n",
    )
    .unwrap();
    let (code, stdout, stderr) = c.run(&["plan", sc.to_str().unwrap()]).await;
    assert_ne!(code, 0, "{stdout}");
    assert!(
        stderr.contains("`pkill`") && stderr.contains("helperImages.revert"),
        "{stderr}"
    );
    // The default catalog (busybox with pkill) plans fine.
    std::fs::remove_file(c.path("gameday.yaml")).unwrap();
    let (code, stdout, stderr) = c.run(&["plan", sc.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(c.sandbox.write_count(), 0, "plan changes nothing");
}

//! Scheduled game days inside the sandbox (issue 16): the gameday image is
//! run by the sandbox's kubelet as the locally built binary, in-cluster
//! (ServiceAccount token, CA and namespace mounted, `KUBERNETES_SERVICE_*`
//! set), with exactly the RBAC `gameday rbac` prints, under Pod Security
//! `restricted`. Manifests are in tests/fixtures/incluster/ in the shape
//! charts/gameday renders.

mod faults_support;
mod incluster_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use faults_support::{Cluster, scenario_text};
use incluster_support::{
    NS, create_job_from, first_probe_after, job, job_pod, logs, pod_run_dir, runner_peak_rss,
    start, wait_finished,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/incluster")
        .join(name)
}

/// A scenario that scales checkout down for `hold`, allowed only in the
/// in-cluster context.
fn scenario(hold: &str) -> String {
    let faults = format!(
        "    - name: halve-checkout\n      type: scale\n      duration: {hold}\n      selector: {{namespace: shop, kind: Deployment, name: checkout}}\n      params: {{by: -1}}\n"
    );
    scenario_text("scheduled-scale-down", &faults, "").replace(
        "contexts: [\"gameday-sandbox*\"]",
        "contexts: [\"in-cluster/sandbox\"]",
    )
}

/// The namespace, RBAC from `gameday rbac`, the config ConfigMap and both
/// CronJobs, applied with the real kubectl.
async fn install(c: &Cluster, scenario_text: &str) {
    let ns = fixture("namespace.yaml");
    c.kubectl(&["apply", "-f", ns.to_str().unwrap()]).await;
    let file = c.path("scenario.yaml");
    std::fs::write(&file, scenario_text).unwrap();
    c.bound_to_printed_rbac(&file, |_| {}).await;
    // The config ConfigMap as the chart builds it from values.
    let cfg = std::fs::read_to_string(fixture("gameday.yaml")).unwrap();
    let cm = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "gameday-config", "namespace": NS},
        "data": {"gameday.yaml": cfg, "scenario.yaml": scenario_text}});
    let cm_file = c.path("configmap.json");
    std::fs::write(&cm_file, cm.to_string()).unwrap();
    c.kubectl(&["apply", "-f", cm_file.to_str().unwrap()]).await;
    for f in ["cronjob.yaml", "watchdog.yaml"] {
        let p = fixture(f);
        c.kubectl(&["apply", "--dry-run=server", "-f", p.to_str().unwrap()])
            .await;
        c.kubectl(&["apply", "-f", p.to_str().unwrap()]).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_from_the_cronjob_runs_the_scenario_in_cluster_and_reverts() {
    let c = start().await;
    install(&c, &scenario("3s")).await;
    let created = Instant::now();
    let created_at = jiff::Timestamp::now();
    create_job_from(&c, "gameday-scale-down", "manual-1").await;
    let done = wait_finished(&c, "manual-1", Duration::from_secs(120)).await;
    let elapsed = created.elapsed();
    let logs = logs(&c, "manual-1").await;
    assert_eq!(done, "Complete", "logs:\n{logs}");
    let j = job(&c, "manual-1").await;
    assert_eq!(j["status"]["succeeded"], 1);
    assert_eq!(
        j["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"], "manual",
        "kubectl's manual instantiation"
    );
    assert!(
        logs.contains("passed"),
        "the run's result in its log:\n{logs}"
    );
    c.assert_restored("shop", "checkout", 4).await;
    let rss = runner_peak_rss(&c, "manual-1").await;
    let overhead = first_probe_after(&pod_run_dir(&c, "manual-1").await, &created_at);
    eprintln!(
        "scheduled run: job created to first probe {overhead:?}, to Complete {:.2}s; runner peak RSS {} KiB",
        elapsed.as_secs_f64(),
        rss.unwrap_or(-1)
    );
    let rss = rss.expect("the node measured the runner");
    assert!(rss < 64 * 1024, "runner peak RSS {rss} KiB is over 64 MiB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_mid_fault_is_reverted_by_the_watchdog_after_expiry() {
    let c = start().await;
    install(&c, &scenario("5s")).await;
    create_job_from(&c, "gameday-scale-down", "doomed").await;
    // The fault is injected once checkout carries a gameday mark.
    let marked = c
        .eventually(Duration::from_secs(60), || async {
            !c.marked().await.is_empty()
        })
        .await;
    assert!(marked, "the fault was never injected");
    let pod = job_pod(&c, "doomed").await;
    let name = pod["metadata"]["name"].as_str().unwrap().to_string();
    c.kubectl(&[
        "delete",
        "pod",
        &name,
        "-n",
        NS,
        "--grace-period=0",
        "--force",
    ])
    .await;
    assert_eq!(
        wait_finished(&c, "doomed", Duration::from_secs(30)).await,
        "Failed"
    );
    // Killed at once: nothing reverted the fault, and the mark stays past
    // the fault's own duration.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(
        !c.marked().await.is_empty(),
        "a SIGKILLed run cannot revert"
    );
    assert_eq!(
        c.deployment("shop", "checkout")
            .await
            .spec
            .unwrap()
            .replicas,
        Some(3)
    );
    // Before expiry the watchdog leaves it alone; after, it reverts.
    create_job_from(&c, "gameday-watchdog", "watch-early").await;
    assert_eq!(
        wait_finished(&c, "watch-early", Duration::from_secs(60)).await,
        "Complete"
    );
    assert!(!c.marked().await.is_empty(), "not expired yet: left alone");
    // Wait out the mark's expiry (the fault's duration plus the engine's
    // grace), as the watchdog's schedule would.
    let d = c.deployment("shop", "checkout").await;
    let ann = d.metadata.annotations.unwrap_or_default();
    let expires: jiff::Timestamp = ann["gameday/expires-at"].parse().unwrap();
    let wait = expires
        .duration_since(jiff::Timestamp::now())
        .as_secs_f64()
        .max(0.0)
        + 1.0;
    assert!(wait < 300.0, "expiry {expires} is too far away");
    tokio::time::sleep(Duration::from_secs_f64(wait)).await;
    create_job_from(&c, "gameday-watchdog", "watch-late").await;
    let done = wait_finished(&c, "watch-late", Duration::from_secs(60)).await;
    let logs = logs(&c, "watch-late").await;
    assert_eq!(done, "Complete", "logs:\n{logs}");
    c.assert_restored("shop", "checkout", 4).await;
}

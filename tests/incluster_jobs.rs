//! Scheduled game days inside the sandbox (issue 16): the gameday image is
//! run by the sandbox's kubelet as the locally built binary, in-cluster
//! (ServiceAccount token, CA and namespace mounted, `KUBERNETES_SERVICE_*`
//! set), with exactly the RBAC `gameday rbac` prints, under Pod Security
//! `restricted`. Manifests are in tests/fixtures/incluster/ in the shape
//! charts/gameday renders.

mod faults_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use faults_support::{Cluster, scenario_text, shop_world};
use gameday::sandbox::SandboxOptions;
use gameday::sandbox::runtime::{ImageCatalog, ImageSpec};
use serde_json::Value;

const NS: &str = "gameday-system";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/incluster")
        .join(name)
}

/// The gameday image, mapped to the binary under test.
fn gameday_image() -> ImageSpec {
    ImageSpec {
        name: "ghcr.io/gameday-dev/gameday:*".into(),
        digest: None,
        executables: vec!["gameday".into(), "/usr/local/bin/gameday".into()],
        user: 65532,
        entrypoint: vec!["gameday".into()],
        host: Some(PathBuf::from(env!("CARGO_BIN_EXE_gameday"))),
    }
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

/// `kubectl create job NAME --from=cronjob/CRONJOB`, as issue 16's
/// acceptance runs it: kubectl GETs the CronJob and POSTs the Job
/// (template, `cronjob.kubernetes.io/instantiate: manual`, the CronJob as
/// controller) as protobuf, which the sandbox decodes (crates/sandbox/src/wire).
async fn create_job_from(c: &Cluster, cronjob: &str, name: &str) {
    c.kubectl(&[
        "create",
        "job",
        name,
        &format!("--from=cronjob/{cronjob}"),
        "-n",
        NS,
    ])
    .await;
}

async fn start() -> Cluster {
    Cluster::start_opts(SandboxOptions {
        objects: shop_world(),
        images: ImageCatalog::with_overrides(&[gameday_image()]),
        ..SandboxOptions::default()
    })
    .await
}

async fn job(c: &Cluster, name: &str) -> Value {
    let out = c
        .kubectl(&["get", "job", name, "-n", NS, "-o", "json"])
        .await;
    serde_json::from_str(&out).unwrap()
}

fn finished(job: &Value) -> Option<String> {
    job["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")
        .and_then(|c| c["type"].as_str().map(String::from))
}

/// Waits (bounded) until the job finishes; its condition type.
async fn wait_finished(c: &Cluster, name: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let j = job(c, name).await;
        if let Some(done) = finished(&j) {
            return done;
        }
        if Instant::now() > deadline {
            let logs = c.kubectl(&["logs", &format!("job/{name}"), "-n", NS]).await;
            panic!(
                "job {name} unfinished after {within:?}: {}\nlogs:\n{logs}",
                j["status"]
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The job's pod (the first the job controller made).
async fn job_pod(c: &Cluster, name: &str) -> Value {
    let out = c
        .kubectl(&[
            "get",
            "pods",
            "-n",
            NS,
            "-l",
            &format!("batch.kubernetes.io/job-name={name}"),
            "-o",
            "json",
        ])
        .await;
    let list: Value = serde_json::from_str(&out).unwrap();
    list["items"][0].clone()
}

/// Seconds from `created` to the run's first probe, from the journal in
/// the runner pod's emptyDir (where the sandbox's node keeps it while the
/// pod exists: its per-pod directory, volume #1 of the fixture).
fn first_probe_after(pod_uid: &str, created: &jiff::Timestamp) -> Option<f64> {
    let runs = std::env::temp_dir()
        .join("gameday-sandbox-pods")
        .join(format!("{pod_uid}-c-gameday/vol1/runs"));
    let first = faults_support::journal_events(&runs)
        .into_iter()
        .find(|e| {
            e.source == "probe" || e.event.starts_with("probe") || e.event.starts_with("steady")
        })?;
    Some(first.ts.duration_since(*created).as_secs_f64())
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
    let logs = c.kubectl(&["logs", "job/manual-1", "-n", NS]).await;
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
    assert!(
        c.marked().await.is_empty(),
        "faults reverted, no marks left"
    );
    assert_eq!(
        c.deployment("shop", "checkout")
            .await
            .spec
            .unwrap()
            .replicas,
        Some(4)
    );
    let pod = job_pod(&c, "manual-1").await;
    let uid = pod["metadata"]["uid"].as_str().unwrap_or("");
    let rss = c.sandbox.host_peak_rss(uid, "gameday");
    let overhead = first_probe_after(uid, &created_at);
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
    let logs = c.kubectl(&["logs", "job/watch-late", "-n", NS]).await;
    assert_eq!(done, "Complete", "logs:\n{logs}");
    assert!(
        c.marked().await.is_empty(),
        "the watchdog reverted it:\n{logs}"
    );
    assert_eq!(
        c.deployment("shop", "checkout")
            .await
            .spec
            .unwrap()
            .replicas,
        Some(4)
    );
}

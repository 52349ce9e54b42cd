//! Shared by the in-cluster tests (tests/incluster_*.rs): a strict sandbox
//! whose kubelet runs the gameday image as the binary under test, and the
//! Job helpers (`kubectl create job --from=cronjob/...`, a bounded wait for
//! the Job's outcome, its pod). Every binary that includes this module also
//! declares `mod faults_support;` at its root.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gameday::sandbox::SandboxOptions;
use gameday::sandbox::runtime::{ImageCatalog, ImageSpec};
use serde_json::Value;

use crate::faults_support::{Cluster, shop_world};

/// The release namespace of the chart and of the fixtures.
pub const NS: &str = "gameday-system";

/// The gameday image (any tag), mapped to the binary under test.
pub fn gameday_image() -> ImageSpec {
    ImageSpec {
        name: "ghcr.io/gameday-dev/gameday:*".into(),
        digest: None,
        executables: vec!["gameday".into(), "/usr/local/bin/gameday".into()],
        user: 65532,
        entrypoint: vec!["gameday".into()],
        host: Some(PathBuf::from(env!("CARGO_BIN_EXE_gameday"))),
    }
}

/// The shop world in a sandbox that runs the gameday image for real.
pub async fn start() -> Cluster {
    Cluster::start_opts(SandboxOptions {
        objects: shop_world(),
        images: ImageCatalog::with_overrides(&[gameday_image()]),
        ..SandboxOptions::default()
    })
    .await
}

/// `kubectl create job NAME --from=cronjob/CRONJOB`, as issue 16's
/// acceptance runs it: kubectl GETs the CronJob and POSTs the Job
/// (template, `cronjob.kubernetes.io/instantiate: manual`, the CronJob as
/// controller) as protobuf, which the sandbox decodes (crates/sandbox/src/wire).
pub async fn create_job_from(c: &Cluster, cronjob: &str, name: &str) {
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

pub async fn job(c: &Cluster, name: &str) -> Value {
    let out = c
        .kubectl(&["get", "job", name, "-n", NS, "-o", "json"])
        .await;
    serde_json::from_str(&out).unwrap()
}

/// The job's finished condition (`Complete` or `Failed`), if it has one.
pub fn finished(job: &Value) -> Option<String> {
    job["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")
        .and_then(|c| c["type"].as_str().map(String::from))
}

/// The job's log (`kubectl logs job/NAME`).
pub async fn logs(c: &Cluster, name: &str) -> String {
    c.kubectl(&["logs", &format!("job/{name}"), "-n", NS]).await
}

/// Waits (bounded) until the job finishes; its condition type.
pub async fn wait_finished(c: &Cluster, name: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let j = job(c, name).await;
        if let Some(done) = finished(&j) {
            return done;
        }
        if Instant::now() > deadline {
            let logs = logs(c, name).await;
            panic!(
                "job {name} unfinished after {within:?}: {}\nlogs:\n{logs}",
                j["status"]
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The job's pod (the first the job controller made).
pub async fn job_pod(c: &Cluster, name: &str) -> Value {
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

/// The runner's peak RSS in KiB, as the sandbox's node measured it.
pub async fn runner_peak_rss(c: &Cluster, job_name: &str) -> Option<i64> {
    let pod = job_pod(c, job_name).await;
    let uid = pod["metadata"]["uid"].as_str().unwrap_or("");
    c.sandbox.host_peak_rss(uid, "gameday")
}

/// The run directory of the job's runner (`--out /var/lib/gameday/runs`)
/// as the sandbox's node keeps it while the pod exists: the pod's per-pod
/// directory, volume #1 (`runs` in the chart, `data` in the fixtures).
pub async fn pod_run_dir(c: &Cluster, job_name: &str) -> PathBuf {
    let pod = job_pod(c, job_name).await;
    let uid = pod["metadata"]["uid"].as_str().unwrap_or("");
    std::env::temp_dir()
        .join("gameday-sandbox-pods")
        .join(format!("{uid}-c-gameday/vol1/runs"))
}

/// Seconds from `created` to the run's first probe, from its journal.
pub fn first_probe_after(run_dir: &Path, created: &jiff::Timestamp) -> Option<f64> {
    let first = crate::faults_support::journal_events(run_dir)
        .into_iter()
        .find(|e| {
            e.source == "probe" || e.event.starts_with("probe") || e.event.starts_with("steady")
        })?;
    Some(first.ts.duration_since(*created).as_secs_f64())
}

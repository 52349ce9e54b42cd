//! An error is printed once (issue 10, item 9): with Prometheus killed
//! while a fault holds, the run aborts fail-safe, and the reason (with its
//! URL-encoded query) is not repeated by every line that follows it.

mod common;
mod observe_common;
mod steady_support;

use std::time::Duration;

use steady_support::{Env, journal, readings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_down_mid_run_prints_its_error_once() {
    let mut env = Env::start().await;
    env.wait_settled().await;
    let scenario = env.scenario("prometheus-lost.yaml", &[("ON_UNKNOWN", "abort")]);
    let dir = env.run_dir("down");
    let child = env
        .command(&scenario, &dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    observe_common::wait_for("a during reading", Duration::from_secs(60), || {
        let dir = dir.clone();
        async move { (!readings(&journal(&dir), Some("during")).is_empty()).then_some(()) }
    })
    .await;
    env.stack.prometheus.kill();
    let out = tokio::time::timeout(Duration::from_secs(90), child.wait_with_output())
        .await
        .expect("gameday run finishes")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let encoded = "kube_deployment_spec_replicas%7B";
    let query = "kube_deployment_spec_replicas{";
    let times = stderr.matches(encoded).count() + stderr.matches(query).count();
    assert_eq!(times, 1, "the query is printed {times} times:\n{stderr}");
    // The lines after it refer to it.
    assert!(
        stderr.contains("guardrail breached: checkout-replicas"),
        "{stderr}"
    );
    assert!(stderr.contains("run ended: aborted (as above)"), "{stderr}");
}

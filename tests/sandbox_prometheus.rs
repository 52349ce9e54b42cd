//! Issue 3 acceptance: real Prometheus scrapes the sandbox's `/metrics`,
//! `promtool check metrics` accepts the scrape, and scaling `checkout` to 0
//! with the real kubectl makes the example error-rate alert fire, all the way
//! to an Alertmanager webhook.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::harness::{WebhookSink, require_binary, sandbox_stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_sandbox_and_scaling_checkout_to_zero_fires_the_alert() {
    let mut sink = WebhookSink::start().await;
    let (sandbox, stack) = sandbox_stack(Some(&sink.url)).await;

    // up == 1 (sandbox_stack waited for it); the scrape passes promtool's linter.
    let up = stack.query(r#"up{job="gameday-target"}"#).await;
    assert_eq!(up[0].1, 1.0, "{up:?}");
    let body = reqwest::get(sandbox.metrics_url())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut promtool = Command::new(require_binary("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    let findings = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && findings.trim().is_empty(),
        "promtool check metrics: {findings}"
    );

    // The world's facts reach Prometheus through kube-state-metrics names.
    let replicas = stack
        .wait_for_query(
            r#"kube_deployment_status_replicas_available{namespace="shop",deployment="checkout"}"#,
            Duration::from_secs(10),
            |v| v == 4.0,
        )
        .await;
    assert_eq!(replicas, 4.0);
    stack
        .wait_for_query(
            r#"sum(http_requests_total{namespace="shop",service="checkout",code="200"})"#,
            Duration::from_secs(10),
            |v| v > 0.0,
        )
        .await;
    assert!(
        stack
            .alerts()
            .await
            .iter()
            .all(|a| a["labels"]["alertname"] != "CheckoutHighErrorRate")
    );

    // Scale checkout to 0 with the real kubectl.
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    sandbox
        .write_kubeconfig(&kubeconfig, "gameday-sandbox")
        .unwrap();
    let out = Command::new(require_binary("kubectl"))
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["-n", "shop", "scale", "deployment/checkout", "--replicas=0"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl scale: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let alert = stack
        .wait_for_alert("CheckoutHighErrorRate", "firing", Duration::from_secs(40))
        .await;
    assert_eq!(alert["labels"]["service"], "checkout");
    assert_eq!(alert["labels"]["namespace"], "shop");
    assert!(alert["annotations"]["runbook_url"].is_string());
    // The failure propagates: frontend, which calls checkout, fails too.
    stack
        .wait_for_query(
            r#"sum(rate(http_requests_total{namespace="shop",service="frontend",code=~"5.."}[30s]))"#,
            Duration::from_secs(10),
            |v| v > 0.0,
        )
        .await;
    let (_, payload) = sink
        .wait_for_firing("CheckoutHighErrorRate", Duration::from_secs(20))
        .await;
    assert_eq!(payload["commonLabels"]["service"], "checkout");

    drop(stack);
    sandbox.shutdown().await;
}

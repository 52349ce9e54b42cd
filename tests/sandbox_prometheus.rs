//! Issue 3 acceptance: real Prometheus scrapes the sandbox's `/metrics`,
//! `promtool check metrics` accepts the scrape, and scaling `checkout` to 0
//! with the real kubectl makes the example error-rate alert fire, all the way
//! to an Alertmanager webhook.

mod common;

use std::process::Command;
use std::time::Duration;

use common::harness::{WebhookSink, promtool_check_metrics, require_binary, sandbox_stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_sandbox_and_scaling_checkout_to_zero_fires_the_alert() {
    let mut sink = WebhookSink::start().await;
    let (sandbox, stack) = sandbox_stack(Some(&sink.url)).await;

    // up == 1 (sandbox_stack waited for it); the scrape passes promtool's linter.
    let up = stack.query(r#"up{job="gameday-target"}"#).await;
    assert_eq!(up[0].1, 1.0, "{up:?}");
    let body = sandbox
        .http_client()
        .unwrap()
        .get(sandbox.metrics_url())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    promtool_check_metrics(&body);

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

/// The pod-loss story the bundled scenario tells: killing one of four
/// checkout pods with no grace period costs a few seconds of errors (until
/// the endpoint removal propagates), enough for the 99% SLO alert to fire,
/// while most requests still succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_one_checkout_pod_abruptly_fires_the_slo_alert_but_keeps_most_traffic() {
    let (sandbox, stack) = sandbox_stack(None).await;
    stack
        .wait_for_query(
            r#"sum(http_requests_total{namespace="shop",service="checkout",code="200"})"#,
            Duration::from_secs(10),
            |v| v > 0.0,
        )
        .await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    sandbox
        .write_kubeconfig(&kubeconfig, "gameday-sandbox")
        .unwrap();
    let kubectl = |args: &[&str]| {
        let out = Command::new(require_binary("kubectl"))
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let pods = kubectl(&[
        "-n",
        "shop",
        "get",
        "pods",
        "-l",
        "app=checkout",
        "-o",
        "name",
    ]);
    let victim = pods.lines().next().unwrap().to_string();
    kubectl(&[
        "-n",
        "shop",
        "delete",
        &victim,
        "--grace-period=0",
        "--force",
    ]);

    stack
        .wait_for_alert("CheckoutHighErrorRate", "firing", Duration::from_secs(30))
        .await;
    // About 4 s of a quarter of checkout's ~40 rps failed, then 3 pods serve everything.
    let errors = r#"sum(http_requests_total{namespace="shop",service="checkout",code=~"5.."})"#;
    let ok = r#"sum(http_requests_total{namespace="shop",service="checkout",code="200"})"#;
    let failed_then = stack
        .wait_for_query(errors, Duration::from_secs(5), |v| v >= 20.0)
        .await;
    let ok_then = stack.query(ok).await[0].1;
    stack
        .wait_for_query(ok, Duration::from_secs(10), |v| v >= ok_then + 100.0)
        .await;
    let failed_now = stack.query(errors).await[0].1;
    assert!(
        (20.0..=70.0).contains(&failed_now),
        "{failed_then} then {failed_now} errors"
    );

    drop(stack);
    sandbox.shutdown().await;
}

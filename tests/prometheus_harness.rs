//! The test harness against a real Prometheus and Alertmanager: a small
//! in-test server exposes the sandbox exposition for the shop world; when the
//! test takes checkout's pods away, the example error-rate alert fires in
//! Prometheus and Alertmanager delivers it to a local webhook.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::harness::{Stack, StackOptions, WebhookSink};
use gameday::sandbox::metrics;
use gameday::sandbox::snapshot::Snapshot;
use gameday::sandbox::traffic::TrafficModel;
use gameday::sandbox::world::World;
use serde_json::{Value, json};

/// The shop world with every pod ready, with or without checkout's pods.
fn shop(with_checkout: bool) -> Snapshot {
    let mut objs = World::shop().unwrap().to_objects();
    let workloads: Vec<Value> = objs
        .iter()
        .filter(|o| o["kind"] == "Deployment" || o["kind"] == "StatefulSet")
        .filter(|o| with_checkout || o["metadata"]["name"] != "checkout")
        .cloned()
        .collect();
    for w in &workloads {
        let tpl = &w["spec"]["template"];
        for i in 0..w["spec"]["replicas"].as_u64().unwrap() {
            let name = format!("{}-{i}", w["metadata"]["name"].as_str().unwrap());
            objs.push(json!({
                "kind": "Pod",
                "metadata": {"name": name, "namespace": w["metadata"]["namespace"], "uid": name,
                             "labels": tpl["metadata"]["labels"], "annotations": tpl["metadata"]["annotations"]},
                "spec": {"nodeName": "node-blue-1", "containers": tpl["spec"]["containers"]},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
            }));
        }
    }
    Snapshot::from_objects(&objs)
}

struct Target {
    broken: AtomicBool,
    healthy: Snapshot,
    without_checkout: Snapshot,
    traffic: Mutex<(TrafficModel, Instant)>,
}

/// Serves `/metrics`, advancing the traffic model by the time since the last scrape.
async fn serve_metrics(target: Arc<Target>) -> (String, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let target = target.clone();
            async move {
                let snap = if target.broken.load(Ordering::SeqCst) {
                    &target.without_checkout
                } else {
                    &target.healthy
                };
                let mut guard = target.traffic.lock().unwrap();
                let (traffic, last) = &mut *guard;
                traffic.tick(snap, last.elapsed());
                *last = Instant::now();
                (
                    [("content-type", metrics::CONTENT_TYPE)],
                    metrics::render(snap, traffic),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_rate_alert_fires_and_reaches_the_webhook() {
    let target = Arc::new(Target {
        broken: AtomicBool::new(false),
        healthy: shop(true),
        without_checkout: shop(false),
        traffic: Mutex::new((TrafficModel::new(11), Instant::now())),
    });
    let (url, server) = serve_metrics(target.clone()).await;
    let mut sink = WebhookSink::start().await;
    let stack = Stack::start(
        StackOptions::new(&url)
            .webhook(&sink.url)
            .webhook_bearer_token("s3cret"),
    )
    .await;

    // Healthy: traffic is scraped and checkout answers everything.
    let ok = stack
        .wait_for_query(
            r#"sum(http_requests_total{namespace="shop",service="checkout",code="200"})"#,
            Duration::from_secs(10),
            |v| v > 0.0,
        )
        .await;
    assert!(ok > 0.0);
    let errors = stack
        .query(r#"sum(http_requests_total{service="checkout",code=~"5.."})"#)
        .await;
    assert_eq!(errors[0].1, 0.0, "{errors:?}");
    assert!(
        stack
            .alerts()
            .await
            .iter()
            .all(|a| a["labels"]["alertname"] != "CheckoutHighErrorRate")
    );

    // Break checkout: the SLO alert goes pending, then fires, then pages.
    let broken_at = Instant::now();
    target.broken.store(true, Ordering::SeqCst);
    let alert = stack
        .wait_for_alert("CheckoutHighErrorRate", "firing", Duration::from_secs(30))
        .await;
    assert_eq!(alert["labels"]["service"], "checkout");
    assert_eq!(alert["labels"]["namespace"], "shop");
    assert_eq!(alert["labels"]["severity"], "critical");
    assert!(
        alert["annotations"]["runbook_url"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    assert!(
        alert["annotations"]["summary"]
            .as_str()
            .unwrap()
            .contains("checkout is failing")
    );

    let (_, payload) = sink
        .wait_for_firing("CheckoutHighErrorRate", Duration::from_secs(20))
        .await;
    assert_eq!(payload["version"], "4");
    assert_eq!(payload["status"], "firing");
    let paged = payload["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["alertname"] == "CheckoutHighErrorRate")
        .unwrap();
    assert_eq!(paged["labels"]["service"], "checkout");
    assert_eq!(paged["endsAt"], "0001-01-01T00:00:00Z");
    assert!(
        sink.authorization
            .lock()
            .unwrap()
            .iter()
            .any(|h| h.as_deref() == Some("Bearer s3cret")),
        "the webhook carries the bearer token"
    );
    // Alertmanager's own API shows the alert active.
    let am = stack.alertmanager_alerts().await;
    assert!(
        am.iter()
            .any(|a| a["labels"]["alertname"] == "CheckoutHighErrorRate"
                && a["status"]["state"] == "active")
    );
    // A generous bound: the detection pipeline is seconds, not minutes.
    assert!(broken_at.elapsed() < Duration::from_secs(40));

    // The harness kills its processes by PID on drop.
    let pids = [stack.prometheus.pid(), stack.alertmanager.pid()];
    drop(stack);
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "pid {pid} survived the drop"
        );
    }
    server.abort();
}

//! Responder API latency: one `POST /v1/events` (parse, validate, journal
//! append with fsync, apply) and one Alertmanager webhook (parse, match,
//! journal, T_notify) over loopback HTTP, measured from the client. The
//! journal's fsync dominates; it is what makes an acknowledgement durable.
//!
//! Run: cargo bench --bench respond_api

use std::sync::Arc;
use std::time::{Duration, Instant};

use gameday::config::Config;
use gameday::engine::Journal;
use gameday::respond::live::Live;
use gameday::respond::server::{ApiServer, ApiState};
use serde_json::json;

const N: usize = 300;

const SCENARIO: &str = r#"apiVersion: gameday/v1
kind: Scenario
metadata: {name: bench}
spec:
  hypothesis: h
  target: {contexts: ["gameday-sandbox"], namespaces: [shop]}
  blastRadius: {maxTargets: 1, maxDuration: 5m}
  steadyState:
    probes:
      - name: p
        kubernetes: {kind: Deployment, namespace: shop, name: checkout, field: replicas}
        expect: ">= 1"
  faults:
    - name: k
      type: podKill
      selector: {namespace: shop, labels: {app: checkout}}
  detection:
    alerts:
      - {name: CheckoutHighErrorRate, within: 30s}
"#;

fn summary(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let q = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{name}: n={} median {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        v.len(),
        q(0.5).as_secs_f64() * 1e3,
        q(0.95).as_secs_f64() * 1e3,
        q(1.0).as_secs_f64() * 1e3
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::default();
    let scenario =
        gameday::scenario::load_str("bench.yaml", SCENARIO, &config, &gameday::faults::Registry)
            .unwrap()
            .remove(0);
    let journal = Arc::new(Journal::open(&dir.path().join("journal.jsonl")).unwrap());
    let shared = Live::new(
        Arc::new(scenario),
        Arc::new(config),
        "bench".into(),
        "ctx".into(),
        jiff::Timestamp::now(),
    )
    .shared();
    let server = ApiServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        ApiState {
            shared: shared.clone(),
            journal,
            token: Arc::from("t"),
            facilitator: None,
        },
    )
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let url = server.url();

    let mut events = Vec::new();
    for i in 0..N {
        let t = Instant::now();
        let r = http
            .post(format!("{url}/v1/events"))
            .bearer_auth("t")
            .json(&json!({"as": "bench", "do": "note", "text": format!("note {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        events.push(t.elapsed());
    }
    summary("POST /v1/events (journalled, fsync)", events);

    let mut hooks = Vec::new();
    for _ in 0..N {
        let t = Instant::now();
        let r = http
            .post(format!("{url}/v1/alertmanager"))
            .bearer_auth("t")
            .json(
                &json!({"version": "4", "receiver": "gameday", "status": "firing", "alerts": [{
                    "status": "firing",
                    "labels": {"alertname": "OtherAlert"},
                    "startsAt": jiff::Timestamp::now().to_string(),
                }]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        hooks.push(t.elapsed());
    }
    summary("POST /v1/alertmanager (no expected alert)", hooks);

    let mut states = Vec::new();
    for _ in 0..N / 3 {
        let t = Instant::now();
        let r = http
            .get(format!("{url}/v1/state"))
            .bearer_auth("t")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let _ = r.bytes().await.unwrap();
        states.push(t.elapsed());
    }
    summary(
        &format!("GET /v1/state ({N} events in the timeline)"),
        states,
    );
    server.stop();
}

//! HTTP probes against a local test server: status code and latency.

#[path = "observe_common/mod.rs"]
mod observe_common;

use std::time::Duration;

use gameday::observe::{Phase, ProbeOutcome, ProbeReader, SteadyMonitor};
use gameday::scenario::Probe;
use observe_common::TestApp;

fn http_probe(url: &str, extra: &str) -> Probe {
    serde_yaml::from_str(&format!("name: web\nhttp: {{url: '{url}'}}\n{extra}")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_latency_are_judged() {
    let app = TestApp::start().await;
    let obs = ProbeReader::new().unwrap();
    let p = http_probe(&app.url("/healthz"), "expect: \"< 300ms\"");

    let r = obs.read(&p, Phase::Before).await;
    assert_eq!(r.outcome, ProbeOutcome::Holds, "{r}");
    let latency = r.value.expect("latency");
    assert!(latency > 0.0 && latency < 0.3, "{latency}");

    // Slow: the value is the latency in seconds, compared with 300ms.
    app.set_health(200, Duration::from_millis(400));
    let r = obs.read(&p, Phase::During).await;
    assert_eq!(r.outcome, ProbeOutcome::Breach, "{r}");
    assert!(r.value.unwrap() >= 0.4, "{r}");

    // Fast but failing: a breach with its status, and the latency kept.
    app.set_health(503, Duration::ZERO);
    let r = obs.read(&p, Phase::During).await;
    assert_eq!(r.outcome, ProbeOutcome::Breach, "{r}");
    assert!(r.value.unwrap() < 0.3);
    assert_eq!(
        r.detail.as_deref(),
        Some("status 503 Service Unavailable, expected 200")
    );

    // The status the probe expects is configurable.
    let p503 = serde_yaml::from_str::<Probe>(&format!(
        "name: web\nhttp: {{url: '{}', status: 503}}\nexpect: \"< 1s\"",
        app.url("/healthz")
    ))
    .unwrap();
    assert_eq!(
        obs.read(&p503, Phase::After).await.outcome,
        ProbeOutcome::Holds
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_and_refused_are_unknown_and_s4_applies() {
    let app = TestApp::start().await;
    let obs = ProbeReader::new().unwrap();
    app.set_health(200, Duration::from_secs(5));
    let p = http_probe(
        &app.url("/healthz"),
        "expect: \"< 1s\"\nduring: \"< 2s\"\ntimeout: 500ms",
    );
    let started = std::time::Instant::now();
    let r = obs.read(&p, Phase::During).await;
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "bounded by timeout"
    );
    assert!(r.outcome.is_unknown(), "{r}");

    // Nothing listening: refused, retried within the timeout, unknown.
    let port = observe_common::free_port();
    let down = http_probe(
        &format!("http://127.0.0.1:{port}/healthz"),
        "expect: \"< 1s\"\nduring: \"< 1s\"\ntimeout: 2s",
    );
    let r = obs.read(&down, Phase::During).await;
    assert!(
        matches!(&r.outcome, ProbeOutcome::Unknown(why) if why.to_lowercase().contains("connection refused")),
        "{r}"
    );
    assert_eq!(r.attempts, 3, "transport errors are retried (bounded)");

    // The guardrail: unknown aborts by default ...
    let mut guard = SteadyMonitor::new(obs.clone(), vec![down.clone()], Duration::from_millis(100));
    assert!(guard.guard_tick().await.should_abort());
    // ... and is ignored with onUnknown: ignore.
    let mut ignore = down;
    ignore.on_unknown = Some(gameday::scenario::OnUnknown::Ignore);
    let mut guard = SteadyMonitor::new(obs, vec![ignore], Duration::from_millis(100));
    assert!(!guard.guard_tick().await.should_abort());
}

//! Prometheus probes and the steady-state phases against a real Prometheus
//! scraping a test app every second.

#[path = "observe_common/mod.rs"]
mod observe_common;

use std::time::{Duration, Instant};

use gameday::observe::steady::all_hold;
use gameday::observe::{Phase, ProbeOutcome, ProbeReader, SteadyMonitor};
use gameday::scenario::Probe;
use observe_common::{Prometheus, TestApp, wait_for};

fn probe(yaml: &str) -> Probe {
    serde_yaml::from_str(yaml).unwrap()
}

fn observer(prom: &Prometheus) -> ProbeReader {
    ProbeReader::new().unwrap().with_prometheus(prom.conn())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reduce_modes_and_the_single_series_error() {
    let app = TestApp::start().await;
    app.set(r#"gd_value{i="a"}"#, 1.0);
    app.set(r#"gd_value{i="b"}"#, 4.0);
    app.set(r#"gd_value{i="c"}"#, 2.5);
    let prom = Prometheus::start(&[app.addr()]).await;
    prom.wait_value("count(gd_value)", 3.0).await;
    let obs = observer(&prom);

    for (reduce, want) in [
        ("min", 1.0),
        ("max", 4.0),
        ("sum", 7.5),
        ("avg", 2.5),
        ("count", 3.0),
    ] {
        let p = probe(&format!(
            "name: r\nprometheus: {{query: gd_value, reduce: {reduce}}}\nexpect: \"== {want}\""
        ));
        let r = obs.read(&p, Phase::Before).await;
        assert_eq!(r.value, Some(want), "{reduce}: {r}");
        assert_eq!(r.outcome, ProbeOutcome::Holds, "{reduce}: {r}");
    }

    // Default reduce is single: three series is an error that says so.
    let r = obs
        .read(
            &probe("name: s\nprometheus: {query: gd_value}\nexpect: \">= 0\""),
            Phase::Before,
        )
        .await;
    match &r.outcome {
        ProbeOutcome::Unknown(why) => assert!(why.contains("exactly one series, got 3"), "{why}"),
        other => panic!("expected unknown, got {other:?}"),
    }
    assert_eq!(r.attempts, 1, "a wrong series count is not retried");

    // One series, and a scalar result.
    let r = obs
        .read(
            &probe("name: one\nprometheus: {query: 'gd_value{i=\"b\"}'}\nexpect: \"== 4\""),
            Phase::Before,
        )
        .await;
    assert_eq!((r.value, r.outcome), (Some(4.0), ProbeOutcome::Holds));
    let r = obs
        .read(
            &probe("name: scalar\nprometheus: {query: 'scalar(sum(gd_value))'}\nexpect: \"> 7\""),
            Phase::Before,
        )
        .await;
    assert_eq!((r.value, r.outcome), (Some(7.5), ProbeOutcome::Holds));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expectation_follows_the_metric_and_query_errors_are_unknown() {
    let app = TestApp::start().await;
    app.set("gd_success_ratio", 0.999);
    let prom = Prometheus::start(&[app.addr()]).await;
    prom.wait_value("gd_success_ratio", 0.999).await;
    let obs = observer(&prom);
    let p = probe("name: success\nprometheus: {query: gd_success_ratio}\nexpect: \">= 0.99\"");

    let r = obs.read(&p, Phase::Before).await;
    assert_eq!(r.outcome, ProbeOutcome::Holds, "{r}");
    assert_eq!(r.within_slo, Some(true));

    app.set("gd_success_ratio", 0.5);
    let r = wait_for(
        "the breach to be visible",
        Duration::from_secs(10),
        || async {
            let r = obs.read(&p, Phase::After).await;
            (r.outcome == ProbeOutcome::Breach).then_some(r)
        },
    )
    .await;
    assert_eq!(r.value, Some(0.5));
    assert_eq!(r.within_slo, Some(false));

    // A query Prometheus rejects: unknown, with Prometheus's reason, no retry.
    let bad = probe("name: bad\nprometheus: {query: 'sum(rate(x[5m]'}\nexpect: \">= 0\"");
    let r = obs.read(&bad, Phase::Before).await;
    match &r.outcome {
        ProbeOutcome::Unknown(why) => assert!(why.contains("bad_data"), "{why}"),
        other => panic!("expected unknown, got {other:?}"),
    }
    assert_eq!(r.attempts, 1);
    assert_eq!(r.value, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_killed_is_a_breach_unless_ignored() {
    let app = TestApp::start().await;
    app.set("gd_ok", 1.0);
    let mut prom = Prometheus::start(&[app.addr()]).await;
    prom.wait_value("gd_ok", 1.0).await;
    let strict = probe(
        "name: strict\nprometheus: {query: gd_ok}\nexpect: \"== 1\"\nduring: \"== 1\"\ntimeout: 2s",
    );
    let lenient = probe(
        "name: lenient\nprometheus: {query: gd_ok}\nexpect: \"== 1\"\nduring: \"== 1\"\nonUnknown: ignore\ntimeout: 2s",
    );
    let interval = Duration::from_millis(200);
    let mut both = SteadyMonitor::new(
        observer(&prom),
        vec![strict.clone(), lenient.clone()],
        interval,
    );
    let mut only_lenient = SteadyMonitor::new(observer(&prom), vec![lenient], interval);

    let v = both.guard_tick().await;
    assert!(!v.should_abort(), "{v:?}");
    assert!(all_hold(&v.readings));

    prom.kill();

    let started = Instant::now();
    let v = both.guard_tick().await;
    assert!(v.should_abort(), "S4: an unreadable guardrail aborts");
    assert_eq!(v.breaches.len(), 1, "{:?}", v.breaches);
    assert_eq!(v.breaches[0].probe, "strict");
    assert!(v.breaches[0].unknown);
    assert!(
        v.breaches[0]
            .reason
            .to_lowercase()
            .contains("connection refused"),
        "{}",
        v.breaches[0].reason
    );
    // Connection refused is retried, but within the 2s timeout.
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(v.readings.iter().all(|r| r.outcome.is_unknown()));
    assert_eq!(both.t_impact(), None, "an unknown reading is not impact");

    let v = only_lenient.guard_tick().await;
    assert!(!v.should_abort(), "onUnknown: ignore carries on: {v:?}");
    assert!(v.readings[0].outcome.is_unknown());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_bounds_a_hung_prometheus() {
    let app = TestApp::start().await;
    app.set("gd_ok", 1.0);
    let prom = Prometheus::start(&[app.addr()]).await;
    prom.wait_value("gd_ok", 1.0).await;
    let obs = observer(&prom);
    let p = probe("name: hung\nprometheus: {query: gd_ok}\nexpect: \"== 1\"\ntimeout: 700ms");

    prom.pause();
    let started = Instant::now();
    let r = obs.read(&p, Phase::During).await;
    let took = started.elapsed();
    prom.resume();

    match &r.outcome {
        ProbeOutcome::Unknown(why) => assert!(why.contains("timed out after 700ms"), "{why}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_millis(1500),
        "the timeout bounds the reading: took {took:?}"
    );
    // And once it answers again, so does the probe.
    let r = wait_for(
        "Prometheus to answer again",
        Duration::from_secs(10),
        || async {
            let r = obs.read(&p, Phase::After).await;
            r.outcome.holds().then_some(r)
        },
    )
    .await;
    assert_eq!(r.value, Some(1.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phases_record_impact_and_mitigation() {
    let app = TestApp::start().await;
    app.set("gd_success_ratio", 1.0);
    app.set("gd_latency_seconds", 0.1);
    let prom = Prometheus::start(&[app.addr()]).await;
    prom.wait_value("gd_success_ratio", 1.0).await;
    let probes = vec![
        probe(
            "name: success\nprometheus: {query: gd_success_ratio}\nexpect: \">= 0.99\"\nduring: \">= 0.9\"",
        ),
        probe("name: latency\nprometheus: {query: gd_latency_seconds}\nexpect: \"< 0.5\""),
    ];
    let mut steady = SteadyMonitor::new(observer(&prom), probes, Duration::from_millis(300));

    let before = steady.check_before().await;
    assert_eq!(before.len(), 2);
    assert!(all_hold(&before), "{before:?}");
    assert!(before.iter().all(|r| r.phase == Phase::Before));

    // Impact without a guardrail breach: below the SLO, above `during`.
    app.set("gd_success_ratio", 0.95);
    let deadline = Instant::now() + Duration::from_secs(10);
    let v = loop {
        let v = steady.guard_tick().await;
        if v.readings[0].value == Some(0.95) {
            break v;
        }
        assert!(Instant::now() < deadline, "impact not visible: {v:?}");
    };
    assert!(!v.should_abort(), "0.95 is within the guardrail: {v:?}");
    let t_impact = steady.t_impact().expect("SLO miss is impact");
    assert_eq!(v.readings[0].within_slo, Some(false));

    // Past the guardrail: abort.
    app.set("gd_success_ratio", 0.5);
    let deadline = Instant::now() + Duration::from_secs(10);
    let v = loop {
        let v = steady.guard_tick().await;
        if v.should_abort() {
            break v;
        }
        assert!(Instant::now() < deadline, "breach not visible: {v:?}");
    };
    assert_eq!(v.breaches[0].probe, "success");
    assert!(!v.breaches[0].unknown);
    assert_eq!(
        steady.t_impact(),
        Some(t_impact),
        "T_impact is the first breach"
    );

    // No recovery within a short deadline: T_mitigate missing, and why.
    let rec = steady
        .await_recovery(Duration::from_millis(1000), tokio::time::Instant::now())
        .await;
    assert!(!rec.recovered());
    let msg = rec.to_string();
    assert!(
        msg.contains("T_mitigate missing") && msg.contains("success"),
        "{msg}"
    );
    assert!(rec.readings.iter().all(|r| r.phase == Phase::After));

    // Recovery: T_mitigate after T_impact.
    app.set("gd_success_ratio", 1.0);
    let rec = steady
        .await_recovery(Duration::from_secs(10), tokio::time::Instant::now())
        .await;
    let t_mitigate = rec.t_mitigate.expect("recovered");
    assert!(t_mitigate > t_impact);
    assert!(rec.still_failing.is_empty());
    let last = &rec.readings[rec.readings.len() - 2..];
    assert!(all_hold(last), "{last:?}");
}

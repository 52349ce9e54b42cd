//! Prometheus load: at most one query per probe per interval, counted by a
//! recording proxy in front of a real Prometheus while the caller asks for
//! guardrail ticks as fast as it can.

#[path = "observe_common/mod.rs"]
mod observe_common;

use std::time::{Duration, Instant};

use gameday::observe::{ProbeReader, PrometheusConn, SteadyMonitor};
use gameday::scenario::Probe;
use observe_common::{Prometheus, RecordingProxy, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_one_query_per_probe_per_interval() {
    let app = TestApp::start().await;
    app.set("gd_a", 1.0);
    app.set("gd_b", 1.0);
    let prom = Prometheus::start(&[app.addr()]).await;
    prom.wait_value("gd_b", 1.0).await;
    let proxy = RecordingProxy::start(&prom.url()).await;
    let probes: Vec<Probe> = ["gd_a", "gd_b"]
        .iter()
        .map(|q| {
            serde_yaml::from_str(&format!(
                "name: {q}\nprometheus: {{query: {q}}}\nexpect: \"== 1\"\nduring: \"== 1\""
            ))
            .unwrap()
        })
        .collect();
    let interval = Duration::from_millis(250);
    let obs = ProbeReader::new()
        .unwrap()
        .with_prometheus(PrometheusConn::from_url(&proxy.url()).unwrap());
    let mut steady = SteadyMonitor::new(obs, probes, interval);

    // An impatient engine: before, then ticks back to back, then recovery.
    let started = Instant::now();
    let _ = steady.check_before().await;
    let mut ticks = 1;
    while started.elapsed() < Duration::from_secs(2) {
        let v = steady.guard_tick().await;
        assert!(!v.should_abort(), "{v:?}");
        ticks += 1;
    }
    let revert_at = Instant::now();
    let rec = steady
        .await_recovery(Duration::from_secs(5), revert_at.into())
        .await;
    assert!(rec.recovered());
    ticks += 1;
    let recovery_took = revert_at.elapsed();
    let elapsed = started.elapsed();

    let queries = proxy.count("/api/v1/query");
    // Slots start at 0, interval, 2·interval, ...: at most elapsed/interval
    // + 1, and one more for the reading taken at the revert.
    let slots = (elapsed.as_secs_f64() / interval.as_secs_f64()).floor() as usize + 2;
    eprintln!(
        "prometheus load: {queries} queries for 2 probes over {:.2}s at interval {interval:?} \
         ({ticks} ticks requested back to back; bound {})",
        elapsed.as_secs_f64(),
        2 * slots
    );
    assert_eq!(queries, 2 * ticks, "one query per probe per tick");
    assert!(
        queries <= 2 * slots,
        "{queries} queries > 2 probes × {slots} intervals"
    );
    // And the pacing did not starve the guardrail either.
    assert!(ticks + 2 >= slots, "{ticks} ticks in {slots} slots");
    // The recovery reading did not wait for the guardrail's next slot.
    assert!(
        recovery_took < interval / 2,
        "the first reading after the revert took {recovery_took:?}, not at once"
    );
}

//! Guardrail detection latency: from the moment a breach is visible in
//! Prometheus's query result to `SteadyMonitor::guard_tick` returning "abort".
//! This is the observation half of issue 5's "guardrail reaction" target
//! (interval + 250 ms at p95, interval 1 s); the engine adds revert + confirm.
//!
//! Run: cargo bench --bench observe_guard
//! Real Prometheus (Debian package) scraping a test app every second; the
//! guard ticks continuously at `interval: 1s` as in a run, and a separate
//! poller (every 10 ms, straight to Prometheus) timestamps visibility.

#[path = "../tests/observe_common/mod.rs"]
mod observe_common;

use std::time::{Duration, Instant};

use gameday::observe::{ProbeReader, SteadyMonitor};
use gameday::scenario::Probe;
use observe_common::{Prometheus, TestApp};

const TRIALS: usize = 12;

async fn visible(prom: &gameday::observe::PrometheusConn, want: f64) -> Instant {
    loop {
        if let Ok(r) = prom.client().query("gd_ok").get().await
            && r.data()
                .as_vector()
                .and_then(|v| v.first())
                .is_some_and(|s| s.sample().value() == want)
        {
            return Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn run() {
    let app = TestApp::start().await;
    app.set("gd_ok", 1.0);
    let prom = Prometheus::start(&[app.addr()]).await;
    prom.wait_value("gd_ok", 1.0).await;
    let interval = Duration::from_secs(1);
    let probe: Probe = serde_yaml::from_str(
        "name: ok\nprometheus: {query: gd_ok}\nexpect: \"== 1\"\nduring: \"== 1\"",
    )
    .unwrap();
    let mut steady = SteadyMonitor::new(
        ProbeReader::new().unwrap().with_prometheus(prom.conn()),
        vec![probe],
        interval,
    );
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let guard = tokio::spawn(async move {
        loop {
            let v = steady.guard_tick().await;
            if tx.send((Instant::now(), v.should_abort())).is_err() {
                return;
            }
        }
    });
    let direct = prom.conn();
    let mut samples = Vec::new();
    for trial in 0..TRIALS {
        app.set("gd_ok", 1.0);
        visible(&direct, 1.0).await;
        // Wait for a healthy tick so the next abort is this trial's.
        while let Some((_, abort)) = rx.recv().await {
            if !abort {
                break;
            }
        }
        app.set("gd_ok", 0.0);
        let seen = visible(&direct, 0.0).await;
        let aborted = loop {
            let (at, abort) = rx.recv().await.expect("guard task runs");
            if abort {
                break at;
            }
        };
        let ms = aborted.saturating_duration_since(seen).as_secs_f64() * 1000.0;
        println!("trial {trial:2}: breach visible → guard abort {ms:7.1} ms");
        samples.push(ms);
    }
    guard.abort();
    samples.sort_by(f64::total_cmp);
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "guard detection over {TRIALS} trials, interval {interval:?}: median {:.0} ms, p95 {:.0} ms, max {:.0} ms (target for the whole reaction: interval + 250 ms = {} ms)",
        pct(0.5),
        pct(0.95),
        samples[samples.len() - 1],
        interval.as_millis() + 250
    );
}

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}

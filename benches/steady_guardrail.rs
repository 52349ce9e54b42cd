//! Guardrail reaction of a whole `gameday run` (issue 5): from the moment a
//! breach is visible in Prometheus's query result to every fault reverted and
//! confirmed (`revert.confirmed` in the journal). Target: interval + 250 ms at
//! p95 with interval 1 s.
//!
//! Run: cargo bench --profile dev --bench steady_guardrail
//! The real binary against the in-process shop sandbox and real Prometheus
//! (1 s scrape). Each trial runs tests/fixtures/steady/guardrail-bench.yaml
//! (scale checkout to 0, guardrail `during: ">= 1"` on its declared
//! replicas); a poller in this process queries Prometheus every 10 ms and
//! stamps the first answer that shows 0. Trial starts are swept across one
//! scrape period so every phase between scrape and tick is sampled. It also reports the Prometheus load
//! of the guardrail (queries per probe per interval, from the journal).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/steady_support/mod.rs"]
mod steady_support;

use std::time::Duration;

use jiff::Timestamp;
use steady_support::{Env, first, journal, readings};

const TRIALS: usize = 12;
const QUERY: &str = r#"kube_deployment_spec_replicas{namespace="shop",deployment="checkout"}"#;

fn ms(a: Timestamp, b: Timestamp) -> f64 {
    b.duration_since(a).as_secs_f64() * 1000.0
}

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

async fn first_visible_zero(env: &Env) -> Timestamp {
    loop {
        if env.stack.query(QUERY).await.iter().any(|(_, v)| *v == 0.0) {
            return Timestamp::now();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let env = Env::start().await;
    let scenario = env.scenario("guardrail-bench.yaml", &[]);
    let mut reaction = Vec::new();
    let mut detect = Vec::new();
    let mut revert = Vec::new();
    let (mut queries, mut ticks) = (0u64, 0u64);
    for trial in 0..TRIALS {
        env.stack
            .wait_for_query(QUERY, Duration::from_secs(30), |v| v == 4.0)
            .await;
        // Sweep the start across one scrape period: the wait above returns
        // just after a scrape, so without this every trial would see the
        // same phase between the scrape and the guardrail tick schedules.
        tokio::time::sleep(Duration::from_millis((trial * 1000 / TRIALS) as u64)).await;
        let dir = env.run_dir(&format!("trial-{trial}"));
        let child = env.command(&scenario, &dir).spawn().unwrap();
        let visible = tokio::time::timeout(Duration::from_secs(30), first_visible_zero(&env))
            .await
            .expect("the scale to 0 shows in Prometheus");
        let out = child.wait_with_output().await.unwrap();
        assert_eq!(
            out.status.code(),
            Some(3),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let j = journal(&dir);
        let confirmed = first(&j, "revert.confirmed").unwrap().ts;
        let breach = first(&j, "guardrail.breach").unwrap().ts;
        reaction.push(ms(visible, confirmed));
        detect.push(ms(visible, breach));
        revert.push(ms(breach, confirmed));
        let during = readings(&j, Some("during"));
        ticks += during.len() as u64;
        queries += during
            .iter()
            .map(|r| r.data["attempts"].as_u64().unwrap_or(0))
            .sum::<u64>();
        eprintln!(
            "trial {trial}: reaction {:.0} ms (detect {:.0} + revert/confirm {:.0})",
            reaction[trial], detect[trial], revert[trial]
        );
    }
    for v in [&mut reaction, &mut detect, &mut revert] {
        v.sort_by(f64::total_cmp);
    }
    let line = |name: &str, v: &[f64]| {
        format!(
            "{name}: median {:.0} ms, p95 {:.0} ms, max {:.0} ms",
            pct(v, 50.0),
            pct(v, 95.0),
            v[v.len() - 1]
        )
    };
    println!(
        "guardrail reaction over {TRIALS} trials, interval 1s (target interval + 250 ms = 1250 ms at p95)"
    );
    println!("  {}", line("visible -> reverted and confirmed", &reaction));
    println!("  {}", line("visible -> guardrail.breach", &detect));
    println!("  {}", line("guardrail.breach -> confirmed", &revert));
    println!(
        "  prometheus load: {queries} guardrail queries for {ticks} guardrail ticks of 1 probe ({:.2} queries per probe per interval)",
        queries as f64 / ticks.max(1) as f64
    );
}

//! An unreliable API server: 30% of calls fail (500, then 429) and every
//! call takes 200 ms longer. Every run must complete or abort, and leave no
//! orphans.

mod faults_support;

use std::time::Duration;

use faults_support::{Cluster, shop_world};
use gameday::sandbox::Misbehaviour;

const FAULTS: &str = "    - {name: freeze, type: podFailure, duration: 1s, selector: {namespace: shop, labels: {app: checkout}}, mode: {count: 1}}
    - {name: shrink, type: scale, duration: 1s, selector: {namespace: shop, kind: Deployment, name: frontend}, params: {replicas: 1}}
    - {name: split, type: networkPartition, duration: 1s, selector: {namespace: shop, labels: {app: checkout}}, mode: {count: 1}}";

async fn flaky_run(status: u16) {
    let c = Cluster::start(shop_world()).await;
    let sc = c.write_scenario("flaky.yaml", "flaky", FAULTS, "");
    c.sandbox
        .set_misbehaviour(Misbehaviour {
            error_rate: 0.3,
            error_status: Some(status),
            latency_ms: 200,
            ..Default::default()
        })
        .unwrap();
    let out = c.path("run");
    let (code, _, err) = tokio::time::timeout(
        Duration::from_secs(120),
        c.run(&[
            "run",
            sc.to_str().unwrap(),
            "--ci",
            "--out",
            out.to_str().unwrap(),
        ]),
    )
    .await
    .expect("the run ends in bounded time");
    assert!(
        code == 0 || code == 3,
        "completed or aborted, got {code}: {err}"
    );
    c.sandbox.set_misbehaviour(Misbehaviour::default()).unwrap();
    let failed = c
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.status == status)
        .count();
    assert!(failed > 0, "the sandbox really failed calls");
    assert!(
        c.marked().await.is_empty(),
        "orphans: {:?}",
        c.marked().await
    );
    assert!(
        c.eventually(Duration::from_secs(15), || async {
            c.workload_restored("shop", "checkout", 4, "shop/checkout:1.4")
                .await
                && c.workload_restored("shop", "frontend", 2, "shop/frontend:2.0")
                    .await
        })
        .await
    );
    println!("flaky {status}: exit {code}, {failed} failed calls, 0 orphans");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_percent_500s_with_latency() {
    flaky_run(500).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_percent_429s_with_latency() {
    flaky_run(429).await;
}

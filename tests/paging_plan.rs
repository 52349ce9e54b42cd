//! `gameday plan` checks each configured paging integration with one
//! read-only call and reports it: a working one as ok, an unset credential
//! or an unreachable tool as FAILED, without failing the plan.

mod drill_support;
mod faults_support;
mod paging_support;

use faults_support::{Cluster, scenario_text, shop_world};
use paging_support::{PD_API_TOKEN, PD_ROUTING_KEY, Script, pagerduty};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_checks_each_paging_integration_read_only() {
    let stub = tokio::task::spawn_blocking(|| pagerduty(Script::default()))
        .await
        .unwrap();
    let c = Cluster::start(shop_world()).await;
    let sc = c.path("s.yaml");
    std::fs::write(
        &sc,
        scenario_text(
            "paged",
            "    - {name: s, type: scale, duration: 5s, selector: {namespace: shop, kind: Deployment, name: checkout}, params: {replicas: 1}}",
            "{maxTargets: 10, maxPercent: 100, maxDuration: 10m}",
        ),
    )
    .unwrap();
    let config = c.path("gameday.yaml");
    std::fs::write(
        &config,
        format!(
            "paging:\n  pagerduty:\n    routingKey: ${{PD_ROUTING_KEY}}\n    apiToken: ${{PD_API_TOKEN}}\n    apiUrl: {}\n  opsgenie:\n    apiKey: ${{GAMEDAY_TEST_UNSET_OG_KEY}}\n",
            stub.url
        ),
    )
    .unwrap();
    let out = c
        .gameday(&[
            "--config",
            config.to_str().unwrap(),
            "plan",
            sc.to_str().unwrap(),
        ])
        .env("PD_ROUTING_KEY", PD_ROUTING_KEY)
        .env("PD_API_TOKEN", PD_API_TOKEN)
        .env_remove("GAMEDAY_TEST_UNSET_OG_KEY")
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("pagerduty: ok: REST API token accepted"),
        "{text}"
    );
    assert!(
        text.contains("opsgenie: FAILED: `paging.opsgenie.apiKey` names ${GAMEDAY_TEST_UNSET_OG_KEY}, which is not set"),
        "{text}"
    );
    let reads = stub.recorded(|r| r.reads.iter().map(|r| r.0.clone()).collect::<Vec<_>>());
    assert_eq!(reads, ["GET /abilities"], "one read-only call");
    assert!(
        stub.recorded(|r| r.triggers.is_empty()),
        "plan pages nobody"
    );
    tokio::task::spawn_blocking(move || drop(stub))
        .await
        .unwrap();
}

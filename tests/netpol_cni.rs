//! The CNI knob end to end: the same networkPartition game day, run by the
//! real binary, on the shop world with a CNI that enforces NetworkPolicies
//! and on one that ignores them (flannel). Both store gameday's policy and
//! count the fault as injected; only the enforcing one shows it in the
//! traffic counters a Prometheus would scrape from `/metrics`.

mod faults_support;

use std::time::Duration;

use faults_support::{Cluster, journal_events, scenario_text};
use gameday::sandbox::SandboxOptions;
use gameday::sandbox::world::{SHOP_WORLD, World};
use k8s_openapi::api::networking::v1::NetworkPolicy;

/// Half of checkout's pods cut off from every caller for 4 s.
const PARTITION: &str = "    - {name: split, type: networkPartition, duration: 4s, selector: {namespace: shop, labels: {app: checkout}}, mode: {count: 2}, params: {direction: ingress}}";

async fn shop(network_yaml: &str) -> Cluster {
    let text = format!("{SHOP_WORLD}  network: {network_yaml}\n");
    let world = World::from_str("shop-cni.yaml", &text).expect("the world loads");
    Cluster::start_opts(SandboxOptions {
        objects: world.to_objects(),
        images: world.catalog(),
        network: world.spec.network,
        ..SandboxOptions::default()
    })
    .await
}

/// checkout's non-200 answers so far, from one `/metrics` scrape (each
/// scrape advances the traffic model by the wall time since the last).
async fn checkout_errors(c: &Cluster) -> (u64, u64) {
    let text = c
        .sandbox
        .http_client()
        .unwrap()
        .get(c.sandbox.metrics_url())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (mut errors, mut ok) = (0, 0);
    for line in text
        .lines()
        .filter(|l| l.starts_with("http_requests_total{") && l.contains(r#"service="checkout""#))
    {
        let v: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        if line.contains(r#"code="200""#) {
            ok += v;
        } else {
            errors += v;
        }
    }
    (errors, ok)
}

async fn gameday_policies(c: &Cluster) -> usize {
    c.kube
        .namespaced::<NetworkPolicy>("shop")
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .len()
}

/// Runs the partition game day in the background; while its policy is
/// stored, scrapes `/metrics`; returns checkout's (new errors, new 200s)
/// over the scrapes taken while the policy was there, and the run's dir.
async fn partition_day(c: &Cluster) -> (u64, u64, std::path::PathBuf) {
    // The probe is a guardrail too (`during`): what fault.no-visible-effect
    // compares with its pre-fault value.
    let text = scenario_text("split", PARTITION, "").replace(
        "        expect: \">= 0\"\n",
        "        expect: \">= 0\"\n        during: \">= 0\"\n",
    );
    assert!(text.contains("during:"));
    let sc = c.path("split.yaml");
    std::fs::write(&sc, text).unwrap();
    let out = c.path("run");
    let mut run = c.spawn_run(&sc, &out);
    assert!(
        c.eventually(Duration::from_secs(30), || async {
            gameday_policies(c).await == 1
        })
        .await,
        "the partition's policy is stored"
    );
    let start = checkout_errors(c).await;
    let mut during = start;
    // Scrape at a steady pace while the policy stays; a scrape counts only
    // if the policy was still there after it. Bounded: the fault lasts 4 s.
    let mut pace = tokio::time::interval(Duration::from_millis(250));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        pace.tick().await;
        let now = checkout_errors(c).await;
        if gameday_policies(c).await != 1 {
            break;
        }
        during = now;
    }
    let status = run.wait().await.unwrap();
    assert_eq!(status.code(), Some(0), "the run passes (trivial probe)");
    (during.0 - start.0, during.1 - start.1, out)
}

/// How many targets the journal says the partition was injected into.
fn injected(out: &std::path::Path) -> u64 {
    journal_events(out)
        .iter()
        .find(|e| e.event == "fault.injected" && e.data["fault"] == "split")
        .and_then(|e| e.data["injected"].as_u64())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enforcing_cni_shows_the_partition_in_the_counters() {
    let c = shop("{networkPolicy: enforced}").await;
    let (errors, served, out) = partition_day(&c).await;
    assert_eq!(injected(&out), 2);
    assert!(
        errors > 0,
        "checkout fails while half its pods drop packets ({errors} errors, {served} ok)"
    );
    eprintln!("enforcing CNI: {errors} errors, {served} ok while stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ignoring_cni_stores_the_policy_and_the_counters_do_not_move() {
    let c = shop("{networkPolicy: ignored}").await;
    let (errors, served, out) = partition_day(&c).await;
    // Injected: the policy was created and stored, as on a flannel cluster.
    assert_eq!(injected(&out), 2);
    assert!(served > 0, "traffic flowed while the policy was stored");
    assert_eq!(errors, 0, "no visible effect ({served} requests served)");
    // ...and the journal says so, naming the CNI.
    let warning = journal_events(&out)
        .into_iter()
        .find(|e| e.event == "fault.no-visible-effect")
        .expect("fault.no-visible-effect journalled");
    assert_eq!(warning.data["faults"], serde_json::json!(["split"]));
    let message = warning.data["message"].as_str().unwrap();
    assert!(message.contains("CNI"), "{message}");
    eprintln!("ignored CNI: {served} requests served, {errors} errors while stored");
}

//! Kubernetes probes through kube-rs against the in-process sandbox API.

use std::time::{Duration, Instant};

use gameday::observe::preflight;
use gameday::observe::{Phase, ProbeOutcome, ProbeReader, SteadyMonitor};
use gameday::sandbox::{Misbehaviour, Sandbox, SandboxHandle, SandboxOptions};
use gameday::scenario::{Probe, VerifyProbe};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};

const WORLD: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Node
metadata: {name: node-1}
status: {capacity: {cpu: "8", memory: 32Gi, pods: "110"}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: checkout, namespace: shop, labels: {app: checkout}}
spec:
  replicas: 4
  selector: {matchLabels: {app: checkout}}
  template:
    metadata: {labels: {app: checkout}}
    spec:
      containers:
      - {name: app, image: shop/checkout:1.4}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - {name: db, image: shop/db:15}
"#;

async fn sandbox() -> SandboxHandle {
    let objects = serde_yaml::Deserializer::from_str(WORLD)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect::<Vec<serde_json::Value>>();
    Sandbox::start(SandboxOptions {
        objects,
        ..SandboxOptions::default()
    })
    .await
    .unwrap()
}

fn probe(yaml: &str) -> Probe {
    serde_yaml::from_str(yaml).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workload_fields_and_pod_counts() {
    let sb = sandbox().await;
    let obs = ProbeReader::new()
        .unwrap()
        .with_kube(sb.kube_client().unwrap());
    let cases = [
        ("kind: Deployment, name: checkout, field: replicas", 4.0),
        (
            "kind: Deployment, name: checkout, field: readyReplicas",
            4.0,
        ),
        (
            "kind: Deployment, name: checkout, field: availableReplicas",
            4.0,
        ),
        (
            "kind: Deployment, name: checkout, field: updatedReplicas",
            4.0,
        ),
        ("kind: StatefulSet, name: db, field: readyReplicas", 2.0),
        ("kind: Pods, selector: {app: checkout}, field: ready", 4.0),
        ("kind: Pods, selector: {app: checkout}, field: running", 4.0),
        ("kind: Pods, selector: {app: checkout}, field: total", 4.0),
        (
            "kind: Pods, selector: {app: checkout}, field: restarts",
            0.0,
        ),
        ("kind: Pods, selector: {app: db}, field: total", 2.0),
    ];
    for (source, want) in cases {
        let p = probe(&format!(
            "name: k\nkubernetes: {{namespace: shop, {source}}}\nexpect: \"== {want}\""
        ));
        let r = obs.read(&p, Phase::Before).await;
        assert_eq!(
            (r.value, &r.outcome),
            (Some(want), &ProbeOutcome::Holds),
            "{source}: {r}"
        );
    }

    // A runbook step's verify probe reads the same way.
    let verify: VerifyProbe = serde_yaml::from_str(
        "kubernetes: {kind: Deployment, namespace: shop, name: checkout, field: replicas}\nexpect: \">= 6\"",
    )
    .unwrap();
    let r = obs.verify("scale-up", &verify).await;
    assert_eq!((r.phase, r.outcome), (Phase::Verify, ProbeOutcome::Breach));

    // Something that does not exist is unknown, not zero, and not retried.
    let missing = probe(
        "name: k\nkubernetes: {kind: Deployment, namespace: shop, name: nope, field: replicas}\nexpect: \">= 0\"",
    );
    let r = obs.read(&missing, Phase::Before).await;
    assert_eq!(
        r.outcome,
        ProbeOutcome::Unknown("Deployment shop/nope not found".into())
    );
    assert_eq!(r.attempts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_down_breaches_and_api_errors_are_unknown() {
    let sb = sandbox().await;
    let client = sb.kube_client().unwrap();
    let obs = ProbeReader::new().unwrap().with_kube(client.clone());
    let available = probe(
        "name: checkout-available\nkubernetes: {kind: Deployment, namespace: shop, name: checkout, field: availableReplicas}\nexpect: \">= 4\"\nduring: \">= 2\"\ntimeout: 2s",
    );
    let mut steady = SteadyMonitor::new(obs.clone(), vec![available], Duration::from_millis(200));
    assert!(!steady.guard_tick().await.should_abort());

    let deployments: Api<Deployment> = Api::namespaced(client, "shop");
    deployments
        .patch(
            "checkout",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"replicas": 1}})),
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let v = loop {
        let v = steady.guard_tick().await;
        if v.should_abort() {
            break v;
        }
        assert!(Instant::now() < deadline, "scale-down not seen: {v:?}");
    };
    assert_eq!(v.readings[0].value, Some(1.0));
    assert!(!v.breaches[0].unknown);
    assert!(steady.t_impact().is_some());

    // The API failing every request with 500: unknown after our bounded
    // retries → S4 abort.
    sb.set_misbehaviour(Misbehaviour {
        error_rate: 1.0,
        error_status: Some(500),
        ..Misbehaviour::default()
    })
    .unwrap();
    let v = steady.guard_tick().await;
    assert!(v.should_abort());
    assert!(v.breaches[0].unknown, "{v:?}");
    assert_eq!(v.readings[0].attempts, 3, "500 is retried, bounded: {v:?}");
    // With 503, kube-rs itself retries with backoff; the probe's timeout
    // still bounds the reading.
    sb.set_misbehaviour(Misbehaviour {
        error_rate: 1.0,
        error_status: Some(503),
        ..Misbehaviour::default()
    })
    .unwrap();
    let started = Instant::now();
    let v = steady.guard_tick().await;
    assert!(v.should_abort() && v.breaches[0].unknown, "{v:?}");
    assert!(
        started.elapsed() < Duration::from_millis(2600),
        "{:?}",
        started.elapsed()
    );
    sb.set_misbehaviour(Misbehaviour::default()).unwrap();

    // Preflight against the same API, up and then gone.
    let check = preflight::check_kube(obs.kube().unwrap(), Duration::from_secs(5)).await;
    assert!(check.result.is_ok(), "{check}");
    sb.shutdown().await;
    let check = preflight::check_kube(obs.kube().unwrap(), Duration::from_secs(2)).await;
    assert!(check.result.is_err(), "{check}");
    eprintln!("{check}");
}

/// The oldest supported server and the newest pass preflight with their
/// version named. (The sandbox serves only 1.27 to 1.33, the kubectl
/// versions installed; the refusal of an older server is a unit test of
/// `preflight::supported`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_names_the_servers_version() {
    for minor in [preflight::OLDEST_MINOR, 33] {
        let sb = Sandbox::start(SandboxOptions {
            kube_minor: minor,
            ..SandboxOptions::default()
        })
        .await
        .unwrap();
        let client = sb.kube_client().unwrap();
        let check = preflight::check_kube(&client, Duration::from_secs(5)).await;
        assert_eq!(
            check.result,
            Ok(format!("Kubernetes v1.{minor}.0")),
            "{check}"
        );
        sb.shutdown().await;
    }
}

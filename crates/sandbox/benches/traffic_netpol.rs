//! The traffic model's tick on 200 pods and 50 NetworkPolicies (issue 12,
//! item 6): 10 namespaces of 2 Services x 10 pods, each front Service
//! calling its back Service and the next namespace's front, and 5 policies
//! per namespace mixing podSelector, namespaceSelector, ipBlock, named and
//! ranged ports. Prints the median and p95 tick over 31 runs of 50 ticks;
//! docs/performance.md ("Traffic model with NetworkPolicies") records the
//! figures and the command:
//! `cargo bench -p gameday-sandbox --bench traffic_netpol`.

use std::time::{Duration, Instant};

use gameday_sandbox::snapshot::Snapshot;
use gameday_sandbox::traffic::TrafficModel;
use gameday_sandbox::world::{ANN_BASE_LATENCY, ANN_CALLS, ANN_REQUESTS_PER_SECOND};
use serde_json::{Value, json};

const NAMESPACES: usize = 10;
const PODS_PER_SERVICE: usize = 10;
const RUNS: usize = 31;
const TICKS: u32 = 50;

fn service(ns: &str, name: &str, rps: f64, calls: &str) -> Value {
    json!({"kind": "Service", "metadata": {"name": name, "namespace": ns, "annotations": {
            ANN_REQUESTS_PER_SECOND: rps.to_string(), ANN_BASE_LATENCY: "20ms", ANN_CALLS: calls}},
        "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 8080, "targetPort": 8080}]}})
}

fn pod(ns: &str, app: &str, i: usize, n: usize) -> Value {
    json!({"kind": "Pod",
        "metadata": {"name": format!("{app}-{i}"), "namespace": ns, "uid": format!("{ns}-{app}-{i}"),
                     "labels": {"app": app, "tier": if app == "web" { "front" } else { "back" }}},
        "spec": {"nodeName": "node-1", "containers": [{"name": "app",
            "ports": [{"name": "http", "containerPort": 8080}]}]},
        "status": {"phase": "Running", "podIP": format!("10.244.{n}.{}", i + 2 + usize::from(app == "api") * 100),
                   "conditions": [{"type": "Ready", "status": "True"}]}})
}

fn policies(ns: &str, n: usize) -> Vec<Value> {
    let np = |name: &str, spec: Value| json!({"kind": "NetworkPolicy", "metadata": {"name": name, "namespace": ns}, "spec": spec});
    vec![
        np(
            "api-from-web",
            json!({"podSelector": {"matchLabels": {"app": "api"}},
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": "http"}]}]}),
        ),
        np(
            "web-from-anywhere",
            json!({"podSelector": {"matchLabels": {"app": "web"}},
            "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.245.0.0/16"]}}]}]}),
        ),
        np(
            "web-egress",
            json!({"podSelector": {"matchLabels": {"tier": "front"}}, "policyTypes": ["Egress"],
            "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]},
                       {"to": [{"namespaceSelector": {"matchLabels": {"team": "shop"}}}],
                        "ports": [{"port": 8000, "endPort": 8100}]}]}),
        ),
        np(
            "api-egress",
            json!({"podSelector": {"matchLabels": {"tier": "back"}}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": format!("10.244.{n}.0/24")}}]}]}),
        ),
        np(
            "monitoring",
            json!({"podSelector": {}, "ingress": [{"from": [{
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
            "podSelector": {"matchLabels": {"app": "prometheus"}}}], "ports": [{"port": 9090}]}]}),
        ),
    ]
}

fn world() -> Vec<Value> {
    let mut objs = Vec::new();
    for n in 0..NAMESPACES {
        let ns = format!("ns-{n}");
        let next = format!("ns-{}/web", (n + 1) % NAMESPACES);
        objs.push(
            json!({"kind": "Namespace", "metadata": {"name": ns, "labels": {"team": "shop"}}}),
        );
        objs.push(service(&ns, "web", 100.0, &format!("api,{next}")));
        objs.push(service(&ns, "api", 0.0, ""));
        for app in ["web", "api"] {
            for i in 0..PODS_PER_SERVICE {
                objs.push(pod(&ns, app, i, n));
            }
        }
        objs.extend(policies(&ns, n));
    }
    objs
}

fn main() {
    let objs = world();
    let snap = Snapshot::from_objects(&objs);
    assert_eq!((snap.pods.len(), snap.network_policies.len()), (200, 50));
    let mut per_tick: Vec<Duration> = (0..RUNS)
        .map(|run| {
            let mut model = TrafficModel::new(run as u64);
            let t = Instant::now();
            for _ in 0..TICKS {
                model.tick(&snap, Duration::from_secs(1));
            }
            t.elapsed() / TICKS
        })
        .collect();
    per_tick.sort();
    let errors: u64 = {
        let mut m = TrafficModel::new(1);
        m.tick(&snap, Duration::from_secs(1));
        m.services().map(|(_, s)| s.errors()).sum()
    };
    println!(
        "traffic tick, 200 pods, 50 policies: median {:?}, p95 {:?} ({RUNS} runs of {TICKS} ticks; {errors} errors in one tick)",
        per_tick[RUNS / 2],
        per_tick[RUNS * 95 / 100]
    );
}

//! One sandbox `/metrics` scrape on a world of 10,000 pods in 200 namespaces:
//! building the snapshot from the stored objects, advancing the traffic
//! model, and rendering the exposition; then the same through the store
//! (`metrics::store_source`, what `GET /metrics` runs). Issue 3's target: a scrape under
//! 150 ms. Prints medians and p95 over repeated runs; `scripts/bench/metrics.sh`
//! runs it, and docs/performance.md ("Sandbox metrics") records the figures.

use std::time::{Duration, Instant};

use std::sync::Arc;

use gameday::sandbox::metrics;
use gameday::sandbox::resources;
use gameday::sandbox::snapshot::Snapshot;
use gameday::sandbox::store::{Store, UpdateMode};
use gameday::sandbox::traffic::TrafficModel;
use gameday::sandbox::world::{
    ANN_BASE_LATENCY, ANN_CALLS, ANN_CAPACITY_RPS, ANN_REQUESTS_PER_SECOND,
};
use serde_json::{Value, json};

const NAMESPACES: usize = 200;
const SERVICES_PER_NS: usize = 5;
const PODS_PER_SERVICE: usize = 10;
const RUNS: usize = 31;

/// The families `kube_state.rs` renders (issue 19), by name prefix.
const KUBE_STATE_PREFIXES: &[&str] = &[
    "kube_pod_info{",
    "kube_pod_owner{",
    "kube_pod_status_reason{",
    "kube_pod_container_status_waiting_reason{",
    "kube_pod_container_resource_",
    "kube_deployment_metadata_generation{",
    "kube_deployment_status_observed_generation{",
    "kube_deployment_status_replicas_ready{",
    "kube_deployment_status_replicas_unavailable{",
    "kube_deployment_status_condition{",
    "kube_statefulset_status_replicas{",
    "kube_statefulset_status_replicas_available{",
    "kube_statefulset_status_replicas_current{",
    "kube_statefulset_status_replicas_updated{",
    "kube_statefulset_status_observed_generation{",
    "kube_statefulset_status_current_revision{",
    "kube_statefulset_status_update_revision{",
    "kube_statefulset_metadata_generation{",
    "kube_daemonset_",
    "kube_node_info{",
    "kube_node_role{",
    "kube_node_spec_taint{",
    "kube_node_status_",
    "kube_poddisruptionbudget_",
];

/// 200 namespaces, each a chain of 5 services (web → api → ... → db) with
/// 10 pods each, ready and spread over 100 nodes.
fn objects() -> Vec<Value> {
    let mut out = Vec::new();
    for n in 0..100 {
        out.push(json!({"kind": "Node", "metadata": {"name": format!("node-{n}"), "labels": {"pool": "blue"}}, "spec": {}}));
    }
    for ns_i in 0..NAMESPACES {
        let ns = format!("team-{ns_i:03}");
        for s in 0..SERVICES_PER_NS {
            let name = format!("svc-{s}");
            let calls = if s + 1 < SERVICES_PER_NS {
                format!("{ns}/svc-{}", s + 1)
            } else {
                String::new()
            };
            out.push(json!({
                "kind": "Service",
                "metadata": {"name": name, "namespace": ns, "annotations": {
                    ANN_REQUESTS_PER_SECOND: if s == 0 { "100" } else { "0" },
                    ANN_BASE_LATENCY: "20ms", ANN_CALLS: calls}},
                "spec": {"selector": {"app": name}, "ports": [{"port": 8080, "targetPort": 8080}]},
            }));
            out.push(json!({
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"replicas": PODS_PER_SERVICE},
                "status": {"replicas": PODS_PER_SERVICE, "availableReplicas": PODS_PER_SERVICE, "readyReplicas": PODS_PER_SERVICE},
            }));
            for p in 0..PODS_PER_SERVICE {
                let pod = format!("{name}-7d9f8c6b5-{p:05}");
                out.push(json!({
                    "kind": "Pod",
                    "metadata": {"name": pod, "namespace": ns, "uid": format!("{ns_i}-{s}-{p}"),
                                 "labels": {"app": name, "pod-template-hash": "7d9f8c6b5"},
                                 "annotations": {ANN_CAPACITY_RPS: "50"},
                                 "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                     "name": format!("{name}-7d9f8c6b5"), "uid": format!("rs-{ns_i}-{s}"), "controller": true}]},
                    "spec": {"nodeName": format!("node-{}", (ns_i + p) % 100),
                             "containers": [{"name": "app", "image": format!("registry.example.com/{name}:1.0"),
                                 "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                               "limits": {"memory": "256Mi"}}}]},
                    "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                               "containerStatuses": [{"name": "app", "restartCount": 0}]},
                }));
            }
        }
    }
    out
}

/// CPU time this thread has run (Linux schedstat, ns). The machine the
/// figures come from is shared, so wall-clock time includes waiting for a
/// core; CPU time is what one scrape costs.
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

fn stats(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (
        ms(samples[samples.len() / 2]),
        ms(samples[(samples.len() * 95).div_ceil(100) - 1]),
    )
}

fn main() {
    let objs = objects();
    // The same world in the sandbox's store, scraped the way GET /metrics is.
    let store = Arc::new(Store::new(100));
    for ns_i in 0..NAMESPACES {
        let ns = format!("team-{ns_i:03}");
        store
            .create(
                resources::NAMESPACES,
                "",
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
            )
            .unwrap();
    }
    for o in &objs {
        let res = resources::find_kind(
            if o["kind"] == "Deployment" {
                "apps/v1"
            } else {
                "v1"
            },
            o["kind"].as_str().unwrap(),
        )
        .unwrap();
        let ns = o["metadata"]["namespace"].as_str().unwrap_or("");
        store.create(res, ns, o.clone()).unwrap();
    }
    let scrape = metrics::store_source(store.clone(), 1);
    // The first scrape reads every object; later ones only what changed
    // since (crates/sandbox/src/view_cache.rs). Between scrapes 1% of the
    // pods get a status write, about what a world's controllers and
    // kubelet write in a 15 s scrape interval with a fault running.
    let pod_names: Vec<(String, String)> = objs
        .iter()
        .filter(|o| o["kind"] == "Pod")
        .map(|o| {
            let m = &o["metadata"];
            (
                m["namespace"].as_str().unwrap().to_string(),
                m["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let cold = Instant::now();
    std::hint::black_box(scrape());
    let cold = cold.elapsed();
    let (mut t_store, mut cpu_store) = (Vec::new(), Vec::new());
    for run in 0..RUNS {
        for (ns, name) in pod_names.iter().skip(run).step_by(100) {
            store
                .modify(resources::PODS, ns, name, UpdateMode::Status, |_, new| {
                    new["status"]["startTime"] =
                        json!(format!("2026-11-30T00:00:{:02}Z", run % 60));
                    Ok(())
                })
                .unwrap();
        }
        let (start, cpu) = (Instant::now(), thread_cpu());
        std::hint::black_box(scrape());
        t_store.push(start.elapsed());
        cpu_store.push(thread_cpu().saturating_sub(cpu));
    }

    let pods = objs.iter().filter(|o| o["kind"] == "Pod").count();
    let mut traffic = TrafficModel::new(1);
    let (mut t_snap, mut t_tick, mut t_render, mut t_total) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut bytes = 0;
    let mut lines = (0, 0);
    for _ in 0..RUNS {
        let start = Instant::now();
        let snap = Snapshot::from_objects(&objs);
        let a = Instant::now();
        traffic.tick(&snap, Duration::from_secs(1));
        let b = Instant::now();
        let text = metrics::render(&snap, &traffic);
        let end = Instant::now();
        bytes = text.len();
        // Samples, and those of the kube-state-metrics families issue 19
        // added (crate::kube_state).
        let samples = text.lines().filter(|l| !l.starts_with('#'));
        lines = samples.fold((0, 0), |(all, ksm), l| {
            let new = KUBE_STATE_PREFIXES.iter().any(|p| l.starts_with(p));
            (all + 1, ksm + usize::from(new))
        });
        t_snap.push(a - start);
        t_tick.push(b - a);
        t_render.push(end - b);
        t_total.push(end - start);
        std::hint::black_box(text);
    }
    println!(
        "sandbox /metrics scrape: {pods} pods, {NAMESPACES} namespaces, {} services, {RUNS} runs, exposition {bytes} bytes, {} samples ({} from the issue 19 families)",
        NAMESPACES * SERVICES_PER_NS,
        lines.0,
        lines.1
    );
    println!(
        "  first store scrape (every object read): {:.2} ms",
        cold.as_secs_f64() * 1000.0
    );
    for (name, samples) in [
        ("snapshot", t_snap),
        ("traffic tick", t_tick),
        ("render", t_render),
        ("total scrape", t_total),
        ("store scrape (1% of pods changed)", t_store),
        ("store scrape CPU", cpu_store),
    ] {
        let (median, p95) = stats(samples);
        println!("  {name:<34} median {median:8.2} ms   p95 {p95:8.2} ms");
    }
}

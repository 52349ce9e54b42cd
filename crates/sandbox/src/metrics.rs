//! The sandbox's `/metrics`: Prometheus text exposition (format 0.0.4).
//!
//! Names and labels follow the common HTTP conventions
//! (`http_requests_total`, `http_request_duration_seconds`) and
//! kube-state-metrics, so the alert rules in `examples/prometheus/` work
//! unchanged on the sandbox and on a real cluster.

use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::api::MetricsFn;
use super::resources;
use super::runtime::Runtime;
use super::snapshot::{FaultEffect, PodView, Snapshot};
use super::store::Store;
use super::traffic::{BUCKETS, TrafficModel};
use super::view_cache::ViewCache;
use super::world::NetworkSpec;

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The sandbox's `/metrics` source: each scrape reads the store as it is,
/// advances the traffic model (seeded with `seed`) by the time since the
/// previous scrape, and renders. Traffic advances on scrapes rather than on
/// a timer so that an idle sandbox costs nothing; with one scraper every
/// second or so, the counters follow every change the scraper could see.
pub fn store_source(store: Arc<Store>, seed: u64) -> MetricsFn {
    source(store, seed, None, NetworkSpec::default())
}

/// [`store_source`] with the fault effects of the processes the node's
/// container runtime runs (stress, netem): what the traffic model and the
/// CPU/memory series show; `network` is what the CNI does with
/// NetworkPolicies.
pub fn runtime_source(
    store: Arc<Store>,
    seed: u64,
    runtime: Arc<Runtime>,
    network: NetworkSpec,
) -> MetricsFn {
    source(store, seed, Some(runtime), network)
}

fn source(
    store: Arc<Store>,
    seed: u64,
    runtime: Option<Arc<Runtime>>,
    network: NetworkSpec,
) -> MetricsFn {
    let model = Mutex::new((TrafficModel::new(seed), Instant::now()));
    let views = Mutex::new(ViewCache::default());
    Arc::new(move || {
        let kinds = [
            resources::NAMESPACES,
            resources::PODS,
            resources::DEPLOYMENTS,
            resources::STATEFULSETS,
            resources::SERVICES,
            resources::NETWORKPOLICIES,
            resources::NODES,
            resources::DAEMONSETS,
            resources::PDBS,
        ];
        let lists: Vec<_> = kinds.iter().map(|r| store.list(*r, None).0).collect();
        // Only objects written since the last scrape are parsed.
        let mut snapshot = views
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .snapshot(&lists);
        snapshot.abrupt_deletions = store.abrupt_pod_deletions();
        snapshot.network = network;
        if let Some(rt) = &runtime {
            snapshot.apply_effects(&rt.effects());
        }
        // A panic in another scrape must not take /metrics down for good.
        let mut guard = model
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (traffic, last) = &mut *guard;
        let now = Instant::now();
        traffic.tick(&snapshot, now - *last);
        *last = now;
        render(&snapshot, traffic)
    })
}

/// Renders every metric family for `snapshot` and the traffic counters.
pub fn render(snapshot: &Snapshot, traffic: &TrafficModel) -> String {
    // About 2.1 KB per pod with the kube-state-metrics families (23.7 MB
    // for 10,000 pods): sized once, so the 20 MB are not copied by doubling.
    let mut out = String::with_capacity(4096 + snapshot.pods.len() * 2400);
    // Writing to a String cannot fail; the fmt::Result is ignored on purpose.
    let _ = write_all(&mut out, snapshot, traffic);
    out
}

fn write_all(out: &mut String, snapshot: &Snapshot, traffic: &TrafficModel) -> std::fmt::Result {
    http_requests(out, traffic)?;
    http_request_duration(out, traffic)?;
    workload_families(out, snapshot)?;
    // Pod families dominate the exposition (8 lines per pod): their label
    // sets are built once per pod and lines are pushed without formatting.
    let pod_label_sets: Vec<String> = snapshot
        .pods
        .iter()
        .map(|p| pod_labels(&p.namespace, &p.name, &p.uid))
        .collect();
    let pods: Vec<(&PodView, &str)> = snapshot
        .pods
        .iter()
        .map(|p| &**p)
        .zip(pod_label_sets.iter().map(String::as_str))
        .collect();
    pod_status_ready(out, &pods)?;
    pod_status_phase(out, &pods)?;
    pod_container_restarts(out, &pods)?;
    pod_runtime_effects(out, &pods)?;
    node_unschedulable(out, snapshot)?;
    super::kube_state::write(out, snapshot, &pods)
}

fn http_requests(out: &mut String, traffic: &TrafficModel) -> std::fmt::Result {
    header(
        out,
        "http_requests_total",
        "counter",
        "Requests answered by a Service, by status code.",
    )?;
    for ((ns, svc), stats) in traffic.services() {
        for (code, n) in &stats.requests {
            out.push_str("http_requests_total{namespace=\"");
            escape(out, ns);
            out.push_str("\",service=\"");
            escape(out, svc);
            writeln!(out, "\",code=\"{code}\"}} {n}")?;
        }
    }
    Ok(())
}

fn http_request_duration(out: &mut String, traffic: &TrafficModel) -> std::fmt::Result {
    header(
        out,
        "http_request_duration_seconds",
        "histogram",
        "Latency of requests answered by a Service, downstream calls included.",
    )?;
    for ((ns, svc), stats) in traffic.services() {
        let mut labels = String::with_capacity(64);
        labels.push_str("namespace=\"");
        escape(&mut labels, ns);
        labels.push_str("\",service=\"");
        escape(&mut labels, svc);
        labels.push('"');
        let mut cumulative = 0u64;
        for (bound, n) in BUCKETS.iter().zip(stats.buckets.iter()) {
            cumulative += n;
            writeln!(
                out,
                "http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
            )?;
        }
        writeln!(
            out,
            "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
            stats.count
        )?;
        writeln!(
            out,
            "http_request_duration_seconds_sum{{{labels}}} {}",
            stats.sum_seconds
        )?;
        writeln!(
            out,
            "http_request_duration_seconds_count{{{labels}}} {}",
            stats.count
        )?;
    }
    Ok(())
}

/// The kube-state-metrics Deployment and StatefulSet replica families.
fn workload_families(out: &mut String, snapshot: &Snapshot) -> std::fmt::Result {
    workload_family(
        out,
        "kube_deployment_spec_replicas",
        "Number of desired pods for a deployment.",
        "deployment",
        &snapshot.deployments,
        |w| w.spec_replicas,
    )?;
    workload_family(
        out,
        "kube_deployment_status_replicas",
        "The number of replicas per deployment.",
        "deployment",
        &snapshot.deployments,
        |w| w.replicas,
    )?;
    workload_family(
        out,
        "kube_deployment_status_replicas_available",
        "The number of available replicas per deployment.",
        "deployment",
        &snapshot.deployments,
        |w| w.available_replicas,
    )?;
    workload_family(
        out,
        "kube_deployment_status_replicas_updated",
        "The number of updated replicas per deployment.",
        "deployment",
        &snapshot.deployments,
        |w| w.updated_replicas,
    )?;
    workload_family(
        out,
        "kube_statefulset_replicas",
        "Number of desired pods for a StatefulSet.",
        "statefulset",
        &snapshot.statefulsets,
        |w| w.spec_replicas,
    )?;
    workload_family(
        out,
        "kube_statefulset_status_replicas_ready",
        "The number of ready replicas per StatefulSet.",
        "statefulset",
        &snapshot.statefulsets,
        |w| w.ready_replicas,
    )
}

fn pod_status_ready(out: &mut String, pods: &[(&PodView, &str)]) -> std::fmt::Result {
    header(
        out,
        "kube_pod_status_ready",
        "gauge",
        "Describes whether the pod is ready to serve requests.",
    )?;
    for &(p, labels) in pods {
        for (condition, on) in [
            ("true", p.ready == Some(true)),
            ("false", p.ready == Some(false)),
            ("unknown", p.ready.is_none()),
        ] {
            gauge_line(
                out,
                "kube_pod_status_ready{",
                labels,
                ",condition=\"",
                condition,
                on,
            );
        }
    }
    Ok(())
}

fn pod_status_phase(out: &mut String, pods: &[(&PodView, &str)]) -> std::fmt::Result {
    header(
        out,
        "kube_pod_status_phase",
        "gauge",
        "The pods current phase.",
    )?;
    for &(p, labels) in pods {
        for phase in ["Pending", "Succeeded", "Failed", "Unknown", "Running"] {
            gauge_line(
                out,
                "kube_pod_status_phase{",
                labels,
                ",phase=\"",
                phase,
                p.phase == phase,
            );
        }
    }
    Ok(())
}

fn pod_container_restarts(out: &mut String, pods: &[(&PodView, &str)]) -> std::fmt::Result {
    header(
        out,
        "kube_pod_container_status_restarts_total",
        "counter",
        "The number of container restarts per container.",
    )?;
    for &(p, labels) in pods {
        for c in &p.containers {
            out.push_str("kube_pod_container_status_restarts_total{");
            out.push_str(labels);
            out.push_str(",container=\"");
            escape(out, &c.name);
            writeln!(out, "\"}} {}", c.restarts)?;
        }
    }
    Ok(())
}

fn pod_runtime_effects(out: &mut String, pods: &[(&PodView, &str)]) -> std::fmt::Result {
    header(
        out,
        "sandbox_pod_runtime_effect",
        "gauge",
        "What a pod's processes do to it now, as the node's container runtime model runs them: stress CPU workers, stress memory bytes, netem delay seconds and loss ratio on eth0. Pods without any are left out.",
    )?;
    for &(p, labels) in pods {
        for e in &p.effects {
            let (kind, value) = match *e {
                FaultEffect::CpuStress { workers } => ("cpu_workers", f64::from(workers)),
                FaultEffect::MemoryStress { bytes } => ("memory_bytes", bytes as f64),
                FaultEffect::NetworkDelay { latency_ms, .. } => {
                    ("delay_seconds", latency_ms / 1000.0)
                }
                FaultEffect::PacketLoss { percent } => ("loss_ratio", percent / 100.0),
            };
            out.push_str("sandbox_pod_runtime_effect{");
            out.push_str(labels);
            writeln!(out, ",effect=\"{kind}\"}} {value}")?;
        }
    }
    Ok(())
}

fn node_unschedulable(out: &mut String, snapshot: &Snapshot) -> std::fmt::Result {
    header(
        out,
        "kube_node_spec_unschedulable",
        "gauge",
        "Whether a node can schedule new pods.",
    )?;
    for n in &snapshot.nodes {
        out.push_str("kube_node_spec_unschedulable{node=\"");
        escape(out, &n.name);
        writeln!(out, "\"}} {}", u8::from(n.unschedulable))?;
    }
    Ok(())
}

pub(crate) fn header(out: &mut String, name: &str, kind: &str, help: &str) -> std::fmt::Result {
    writeln!(out, "# HELP {name} {help}")?;
    writeln!(out, "# TYPE {name} {kind}")
}

fn workload_family(
    out: &mut String,
    name: &str,
    help: &str,
    label: &str,
    items: &[super::snapshot::WorkloadView],
    value: impl Fn(&super::snapshot::WorkloadView) -> u64,
) -> std::fmt::Result {
    header(out, name, "gauge", help)?;
    for w in items {
        write!(out, "{name}{{namespace=\"")?;
        escape(out, &w.namespace);
        write!(out, "\",{label}=\"")?;
        escape(out, &w.name);
        writeln!(out, "\"}} {}", value(w))?;
    }
    Ok(())
}

/// `<metric{><labels><,key="><value>"} 0|1`
fn gauge_line(out: &mut String, metric_open: &str, labels: &str, key: &str, value: &str, on: bool) {
    out.push_str(metric_open);
    out.push_str(labels);
    out.push_str(key);
    out.push_str(value);
    out.push_str(if on { "\"} 1\n" } else { "\"} 0\n" });
}

fn pod_labels(ns: &str, pod: &str, uid: &str) -> String {
    let mut s = String::with_capacity(32 + ns.len() + pod.len() + uid.len());
    s.push_str("namespace=\"");
    escape(&mut s, ns);
    s.push_str("\",pod=\"");
    escape(&mut s, pod);
    s.push_str("\",uid=\"");
    escape(&mut s, uid);
    s.push('"');
    s
}

/// Label values escape backslash, double quote and newline (exposition format).
pub(crate) fn escape(out: &mut String, value: &str) {
    if !value.contains(['\\', '"', '\n']) {
        out.push_str(value);
        return;
    }
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::world::World;

    fn sample() -> (Snapshot, TrafficModel) {
        let mut objs = World::shop().unwrap().to_objects();
        objs.push(json!({
            "kind": "Pod",
            "metadata": {"name": "checkout-abc", "namespace": "shop", "uid": "u1", "labels": {"app": "checkout"}},
            "spec": {"containers": [{"name": "app", "image": "i"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": "app", "restartCount": 2}]},
        }));
        objs.push(json!({
            "kind": "Deployment",
            "metadata": {"name": "we\"ird", "namespace": "shop"},
            "spec": {"replicas": 2}, "status": {"availableReplicas": 1},
        }));
        let snap = Snapshot::from_objects(&objs);
        let mut t = TrafficModel::new(1);
        t.tick(&snap, Duration::from_secs(2));
        (snap, t)
    }

    #[test]
    fn renders_the_documented_families() {
        let (snap, t) = sample();
        let text = render(&snap, &t);
        for family in [
            "http_requests_total",
            "http_request_duration_seconds",
            "kube_deployment_spec_replicas",
            "kube_deployment_status_replicas_available",
            "kube_statefulset_status_replicas_ready",
            "kube_pod_status_ready",
            "kube_pod_container_status_restarts_total",
            "kube_node_spec_unschedulable",
        ] {
            assert!(
                text.contains(&format!("# TYPE {family} ")),
                "missing {family}"
            );
            assert!(
                text.contains(&format!("# HELP {family} ")),
                "missing help {family}"
            );
        }
        assert!(text.contains(
            "kube_deployment_spec_replicas{namespace=\"shop\",deployment=\"checkout\"} 4\n"
        ));
        assert!(text.contains("kube_pod_status_ready{namespace=\"shop\",pod=\"checkout-abc\",uid=\"u1\",condition=\"true\"} 1\n"));
        assert!(text.contains("kube_pod_status_ready{namespace=\"shop\",pod=\"checkout-abc\",uid=\"u1\",condition=\"false\"} 0\n"));
        assert!(text.contains("kube_pod_container_status_restarts_total{namespace=\"shop\",pod=\"checkout-abc\",uid=\"u1\",container=\"app\"} 2\n"));
        assert!(text.contains("kube_node_spec_unschedulable{node=\"node-green-1\"} 0\n"));
        assert!(
            text.contains("deployment=\"we\\\"ird\""),
            "label values are escaped"
        );
        // One checkout pod serves 40 rps past 30 rps capacity: 503s are counted.
        assert!(text.contains(
            "http_requests_total{namespace=\"shop\",service=\"checkout\",code=\"503\"} "
        ));
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_end_at_count() {
        let (snap, t) = sample();
        let text = render(&snap, &t);
        let prefix =
            "http_request_duration_seconds_bucket{namespace=\"shop\",service=\"frontend\",";
        let values: Vec<u64> = text
            .lines()
            .filter(|l| l.starts_with(prefix))
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(values.len(), BUCKETS.len() + 1);
        assert!(values.windows(2).all(|w| w[0] <= w[1]), "{values:?}");
        let count_line = text
            .lines()
            .find(|l| {
                l.starts_with(
                    "http_request_duration_seconds_count{namespace=\"shop\",service=\"frontend\"}",
                )
            })
            .unwrap();
        assert_eq!(
            count_line
                .rsplit(' ')
                .next()
                .unwrap()
                .parse::<u64>()
                .unwrap(),
            *values.last().unwrap()
        );
        assert!(*values.last().unwrap() > 0);
    }
}

//! The kube-state-metrics families the kubernetes-mixin alerts read
//! (kube-prometheus' `kubernetes-apps` and `kubernetes-system-kubelet`
//! groups), rendered from a [`Snapshot`].
//!
//! Separate from [`crate::metrics`] because these follow one outside
//! contract exactly: names, label names, label order and value semantics
//! are those of kube-state-metrics (docs/metrics/workload/*.md,
//! docs/metrics/cluster/node-metrics.md,
//! docs/metrics/policy/poddisruptionbudget-metrics.md and the generators in
//! internal/store/{pod,deployment,statefulset,daemonset,node,
//! poddisruptionbudget}.go). In particular:
//! - conditions are one-hot over `status="true|false|unknown"`
//!   (`addConditionMetrics` in internal/store/utils.go);
//! - `kube_deployment_status_condition` carries the condition's `reason`,
//!   `unknown` when it is not in ksm's allowlist;
//! - `kube_pod_container_status_waiting_reason` has a series only for a
//!   container that is waiting, valued 1;
//! - `kube_pod_owner` of a pod without owners has empty owner labels.

use std::fmt::Write;

use crate::metrics::{escape, header};
use crate::snapshot::{ConditionView, PodView, Snapshot, WorkloadView};

/// `allowedDeploymentReasons` (internal/store/deployment.go).
const DEPLOYMENT_REASONS: &[&str] = &[
    "ReplicaSetUpdated",
    "ReplicaSetCreateError",
    "NewReplicaSetCreated",
    "FoundNewReplicaSet",
    "NewReplicaSetAvailable",
    "ProgressDeadlineExceeded",
    "DeploymentPaused",
    "DeploymentResumed",
    "MinimumReplicasAvailable",
    "MinimumReplicasUnavailable",
    "",
];

/// Every family in this module; `pods` pairs each pod with its rendered
/// `namespace,pod,uid` label set.
pub fn write(out: &mut String, snapshot: &Snapshot, pods: &[(&PodView, &str)]) -> std::fmt::Result {
    pod_families(out, pods)?;
    deployment_families(out, &snapshot.deployments)?;
    statefulset_families(out, &snapshot.statefulsets)?;
    daemonset_families(out, snapshot)?;
    node_families(out, snapshot)?;
    pdb_families(out, snapshot)
}

fn pod_families(out: &mut String, pods: &[(&PodView, &str)]) -> std::fmt::Result {
    header(out, "kube_pod_info", "gauge", "Information about pod.")?;
    for &(p, labels) in pods {
        let (kind, name) = p
            .owners
            .iter()
            .find(|o| o.2)
            .map_or(("", ""), |o| (o.0.as_str(), o.1.as_str()));
        write!(out, "kube_pod_info{{{labels},host_ip=\"")?;
        escape(out, &p.host_ip);
        out.push_str("\",pod_ip=\"");
        escape(out, &p.pod_ip);
        out.push_str("\",node=\"");
        escape(out, p.node.as_deref().unwrap_or_default());
        out.push_str("\",created_by_kind=\"");
        escape(out, kind);
        out.push_str("\",created_by_name=\"");
        escape(out, name);
        out.push_str("\",priority_class=\"");
        escape(out, &p.priority_class);
        writeln!(out, "\",host_network=\"{}\"}} 1", p.host_network)?;
    }
    header(
        out,
        "kube_pod_owner",
        "gauge",
        "Information about the Pod's owner.",
    )?;
    for &(p, labels) in pods {
        if p.owners.is_empty() {
            writeln!(
                out,
                "kube_pod_owner{{{labels},owner_kind=\"\",owner_name=\"\",owner_is_controller=\"\"}} 1"
            )?;
        }
        for (kind, name, controller) in &p.owners {
            write!(out, "kube_pod_owner{{{labels},owner_kind=\"")?;
            escape(out, kind);
            out.push_str("\",owner_name=\"");
            escape(out, name);
            writeln!(out, "\",owner_is_controller=\"{controller}\"}} 1")?;
        }
    }
    header(
        out,
        "kube_pod_status_reason",
        "gauge",
        "The pod status reasons.",
    )?;
    for &(p, labels) in pods {
        for reason in &p.status_reasons {
            writeln!(
                out,
                "kube_pod_status_reason{{{labels},reason=\"{reason}\"}} 1"
            )?;
        }
    }
    header(
        out,
        "kube_pod_container_status_waiting_reason",
        "gauge",
        "Describes the reason the container is currently in waiting state.",
    )?;
    for &(p, labels) in pods {
        for c in &p.containers {
            if let Some(reason) = &c.waiting {
                write!(
                    out,
                    "kube_pod_container_status_waiting_reason{{{labels},container=\""
                )?;
                escape(out, &c.name);
                out.push_str("\",reason=\"");
                escape(out, reason);
                out.push_str("\"} 1\n");
            }
        }
    }
    container_resources(out, pods, "requests", |c| &c.requests)?;
    container_resources(out, pods, "limits", |c| &c.limits)
}

/// `kube_pod_container_resource_requests|limits`: one series per resource,
/// with kube-state-metrics' `unit` (core, byte, integer).
fn container_resources(
    out: &mut String,
    pods: &[(&PodView, &str)],
    which: &str,
    list: impl Fn(&crate::snapshot::ContainerView) -> &Vec<(String, f64)>,
) -> std::fmt::Result {
    let name = format!("kube_pod_container_resource_{which}");
    let help = format!("The number of requested {which} resource by a container.");
    header(out, &name, "gauge", &help)?;
    for &(p, labels) in pods {
        for c in &p.containers {
            for (resource, value) in list(c) {
                write!(out, "{name}{{{labels},container=\"")?;
                escape(out, &c.name);
                out.push_str("\",node=\"");
                escape(out, p.node.as_deref().unwrap_or_default());
                out.push_str("\",");
                resource_labels(out, resource);
                writeln!(out, "}} {value}")?;
            }
        }
    }
    Ok(())
}

/// `resource="..",unit=".."` as kube-state-metrics names them: dashes
/// become underscores, CPU is in cores, memory and storage in bytes.
fn resource_labels(out: &mut String, resource: &str) {
    let unit = match resource {
        "cpu" => "core",
        "memory" | "ephemeral-storage" | "storage" => "byte",
        r if r.starts_with("hugepages-") => "byte",
        _ => "integer",
    };
    out.push_str("resource=\"");
    escape(out, &resource.replace(['-', '.', '/'], "_"));
    out.push_str("\",unit=\"");
    out.push_str(unit);
    out.push('"');
}

fn deployment_families(out: &mut String, items: &[WorkloadView]) -> std::fmt::Result {
    let kind = "deployment";
    counters(
        out,
        kind,
        items,
        &[
            (
                "kube_deployment_metadata_generation",
                "Sequence number representing a specific generation of the desired state.",
                |w| w.generation,
            ),
            (
                "kube_deployment_status_observed_generation",
                "The generation observed by the deployment controller.",
                |w| w.observed_generation,
            ),
            (
                "kube_deployment_status_replicas_ready",
                "The number of ready replicas per deployment.",
                |w| w.ready_replicas,
            ),
            (
                "kube_deployment_status_replicas_unavailable",
                "The number of unavailable replicas per deployment.",
                |w| w.unavailable_replicas,
            ),
        ],
    )?;
    let name = "kube_deployment_status_condition";
    header(
        out,
        name,
        "gauge",
        "The current status conditions of a deployment.",
    )?;
    for w in items {
        for c in &w.conditions {
            let reason = if DEPLOYMENT_REASONS.contains(&c.reason.as_str()) {
                c.reason.as_str()
            } else {
                "unknown"
            };
            let mut prefix = String::new();
            workload_labels(&mut prefix, kind, w);
            prefix.push_str(",reason=\"");
            escape(&mut prefix, reason);
            prefix.push('"');
            condition_lines(out, name, &prefix, c)?;
        }
    }
    Ok(())
}

fn statefulset_families(out: &mut String, items: &[WorkloadView]) -> std::fmt::Result {
    let kind = "statefulset";
    counters(
        out,
        kind,
        items,
        &[
            (
                "kube_statefulset_status_replicas",
                "The number of replicas per StatefulSet.",
                |w| w.replicas,
            ),
            (
                "kube_statefulset_status_replicas_available",
                "The number of available replicas per StatefulSet.",
                |w| w.available_replicas,
            ),
            (
                "kube_statefulset_status_replicas_current",
                "The number of current replicas per StatefulSet.",
                |w| w.current_replicas,
            ),
            (
                "kube_statefulset_status_replicas_updated",
                "The number of updated replicas per StatefulSet.",
                |w| w.updated_replicas,
            ),
            (
                "kube_statefulset_metadata_generation",
                "Sequence number representing a specific generation of the desired state for the StatefulSet.",
                |w| w.generation,
            ),
            (
                "kube_statefulset_status_observed_generation",
                "The generation observed by the StatefulSet controller.",
                |w| w.observed_generation,
            ),
        ],
    )?;
    for (name, help, revision) in [
        (
            "kube_statefulset_status_current_revision",
            "Indicates the version of the StatefulSet used to generate Pods in the sequence [0,currentReplicas).",
            (|w| &w.current_revision) as fn(&WorkloadView) -> &String,
        ),
        (
            "kube_statefulset_status_update_revision",
            "Indicates the version of the StatefulSet used to generate Pods in the sequence [replicas-updatedReplicas,replicas)",
            |w| &w.update_revision,
        ),
    ] {
        header(out, name, "gauge", help)?;
        for w in items {
            out.push_str(name);
            out.push('{');
            workload_labels(out, kind, w);
            out.push_str(",revision=\"");
            escape(out, revision(w));
            out.push_str("\"} 1\n");
        }
    }
    Ok(())
}

type Counter<T> = (&'static str, &'static str, fn(&T) -> u64);

/// One gauge family per entry, one line per workload.
fn counters(
    out: &mut String,
    kind: &str,
    items: &[WorkloadView],
    families: &[Counter<WorkloadView>],
) -> std::fmt::Result {
    for (name, help, value) in families {
        header(out, name, "gauge", help)?;
        for w in items {
            out.push_str(name);
            out.push('{');
            workload_labels(out, kind, w);
            writeln!(out, "}} {}", value(w))?;
        }
    }
    Ok(())
}

fn workload_labels(out: &mut String, kind: &str, w: &WorkloadView) {
    namespaced(out, kind, &w.namespace, &w.name);
}

fn namespaced(out: &mut String, kind: &str, namespace: &str, name: &str) {
    out.push_str("namespace=\"");
    escape(out, namespace);
    out.push_str("\",");
    out.push_str(kind);
    out.push_str("=\"");
    escape(out, name);
    out.push('"');
}

/// `condition="..",status="true|false|unknown"`, one-hot.
fn condition_lines(
    out: &mut String,
    name: &str,
    labels: &str,
    c: &ConditionView,
) -> std::fmt::Result {
    for status in ["true", "false", "unknown"] {
        write!(out, "{name}{{{labels},condition=\"")?;
        escape(out, &c.kind);
        let on = c.status.eq_ignore_ascii_case(status);
        writeln!(out, "\",status=\"{status}\"}} {}", u8::from(on))?;
    }
    Ok(())
}

fn daemonset_families(out: &mut String, snapshot: &Snapshot) -> std::fmt::Result {
    use crate::snapshot::DaemonSetView as D;
    let families: &[Counter<D>] = &[
        (
            "kube_daemonset_status_current_number_scheduled",
            "The number of nodes running at least one daemon pod and are supposed to.",
            |d| d.current_number_scheduled,
        ),
        (
            "kube_daemonset_status_desired_number_scheduled",
            "The number of nodes that should be running the daemon pod.",
            |d| d.desired_number_scheduled,
        ),
        (
            "kube_daemonset_status_number_available",
            "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available",
            |d| d.number_available,
        ),
        (
            "kube_daemonset_status_number_misscheduled",
            "The number of nodes running a daemon pod but are not supposed to.",
            |d| d.number_misscheduled,
        ),
        (
            "kube_daemonset_status_number_ready",
            "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
            |d| d.number_ready,
        ),
        (
            "kube_daemonset_status_number_unavailable",
            "The number of nodes that should be running the daemon pod and have none of the daemon pod running and available",
            |d| d.number_unavailable,
        ),
        (
            "kube_daemonset_status_updated_number_scheduled",
            "The total number of nodes that are running updated daemon pod",
            |d| d.updated_number_scheduled,
        ),
        (
            "kube_daemonset_status_observed_generation",
            "The most recent generation observed by the daemon set controller.",
            |d| d.observed_generation,
        ),
        (
            "kube_daemonset_metadata_generation",
            "Sequence number representing a specific generation of the desired state.",
            |d| d.generation,
        ),
    ];
    for (name, help, value) in families {
        header(out, name, "gauge", help)?;
        for d in &snapshot.daemonsets {
            out.push_str(name);
            out.push('{');
            namespaced(out, "daemonset", &d.namespace, &d.name);
            writeln!(out, "}} {}", value(d))?;
        }
    }
    Ok(())
}

fn pdb_families(out: &mut String, snapshot: &Snapshot) -> std::fmt::Result {
    use crate::snapshot::PdbView as P;
    type F = (&'static str, fn(&P) -> i64);
    let families: &[F] = &[
        ("kube_poddisruptionbudget_status_current_healthy", |p| {
            p.current_healthy
        }),
        ("kube_poddisruptionbudget_status_desired_healthy", |p| {
            p.desired_healthy
        }),
        (
            "kube_poddisruptionbudget_status_pod_disruptions_allowed",
            |p| p.disruptions_allowed,
        ),
        ("kube_poddisruptionbudget_status_expected_pods", |p| {
            p.expected_pods
        }),
        ("kube_poddisruptionbudget_status_observed_generation", |p| {
            p.observed_generation
        }),
    ];
    for (name, value) in families {
        let help = format!(
            "The PodDisruptionBudget's status.{}.",
            name.trim_start_matches("kube_poddisruptionbudget_status_")
        );
        header(out, name, "gauge", &help)?;
        for p in &snapshot.pdbs {
            out.push_str(name);
            out.push('{');
            namespaced(out, "poddisruptionbudget", &p.namespace, &p.name);
            writeln!(out, "}} {}", value(p))?;
        }
    }
    Ok(())
}

fn node_families(out: &mut String, snapshot: &Snapshot) -> std::fmt::Result {
    const INFO: [&str; 9] = [
        "kernel_version",
        "os_image",
        "container_runtime_version",
        "kubelet_version",
        "kubeproxy_version",
        "pod_cidr",
        "provider_id",
        "system_uuid",
        "internal_ip",
    ];
    let node_label = |n: &str| {
        let mut s = String::from("node=\"");
        escape(&mut s, n);
        s.push('"');
        s
    };
    header(
        out,
        "kube_node_info",
        "gauge",
        "Information about a cluster node.",
    )?;
    for n in &snapshot.nodes {
        write!(out, "kube_node_info{{{}", node_label(&n.name))?;
        for (key, value) in INFO.iter().zip(&n.info) {
            write!(out, ",{key}=\"")?;
            escape(out, value);
            out.push('"');
        }
        out.push_str("} 1\n");
    }
    header(
        out,
        "kube_node_role",
        "gauge",
        "The role of a cluster node.",
    )?;
    for n in &snapshot.nodes {
        for key in n.labels.keys() {
            if let Some(role) = key.strip_prefix("node-role.kubernetes.io/") {
                write!(out, "kube_node_role{{{},role=\"", node_label(&n.name))?;
                escape(out, role);
                out.push_str("\"} 1\n");
            }
        }
    }
    header(
        out,
        "kube_node_spec_taint",
        "gauge",
        "The taint of a cluster node.",
    )?;
    for n in &snapshot.nodes {
        for (key, value, effect) in &n.taints {
            write!(out, "kube_node_spec_taint{{{},key=\"", node_label(&n.name))?;
            escape(out, key);
            out.push_str("\",value=\"");
            escape(out, value);
            out.push_str("\",effect=\"");
            escape(out, effect);
            out.push_str("\"} 1\n");
        }
    }
    header(
        out,
        "kube_node_status_condition",
        "gauge",
        "The condition of a cluster node.",
    )?;
    for n in &snapshot.nodes {
        let labels = node_label(&n.name);
        for c in &n.conditions {
            condition_lines(out, "kube_node_status_condition", &labels, c)?;
        }
    }
    for (name, help, list) in [
        (
            "kube_node_status_capacity",
            "The capacity for different resources of a node.",
            (|n| &n.capacity) as fn(&crate::snapshot::NodeView) -> &Vec<(String, f64)>,
        ),
        (
            "kube_node_status_allocatable",
            "The allocatable for different resources of a node that are available for scheduling.",
            |n| &n.allocatable,
        ),
    ] {
        header(out, name, "gauge", help)?;
        for n in &snapshot.nodes {
            for (resource, value) in list(n) {
                write!(out, "{name}{{{},", node_label(&n.name))?;
                resource_labels(out, resource);
                writeln!(out, "}} {value}")?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::metrics::render;
    use crate::snapshot::Snapshot;
    use crate::traffic::TrafficModel;

    fn text() -> String {
        let objs = [
            json!({"kind": "Pod",
                "metadata": {"name": "web-1", "namespace": "shop", "uid": "u1",
                    "ownerReferences": [{"kind": "ReplicaSet", "name": "web-abc", "controller": true}]},
                "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "bad",
                    "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}}]},
                "status": {"phase": "Pending", "hostIP": "10.0.0.2", "podIP": "10.244.0.9",
                    "containerStatuses": [{"name": "app", "restartCount": 0,
                        "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}}),
            json!({"kind": "Pod", "metadata": {"name": "bare", "namespace": "shop", "uid": "u2"},
                "spec": {"containers": []}, "status": {"phase": "Failed", "reason": "Evicted"}}),
            json!({"kind": "Deployment", "metadata": {"name": "web", "namespace": "shop", "generation": 3},
                "spec": {"replicas": 2},
                "status": {"observedGeneration": 3, "conditions": [
                    {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"},
                    {"type": "Available", "status": "True", "reason": "Whatever"}]}}),
            json!({"kind": "StatefulSet", "metadata": {"name": "db", "namespace": "shop", "generation": 2},
                "spec": {"replicas": 3},
                "status": {"replicas": 3, "currentRevision": "db-1", "updateRevision": "db-2", "updatedReplicas": 1}}),
            json!({"kind": "Node", "metadata": {"name": "n1", "labels": {"node-role.kubernetes.io/worker": ""}},
                "spec": {"taints": [{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}]},
                "status": {"conditions": [{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown"}],
                    "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                    "addresses": [{"type": "InternalIP", "address": "10.0.0.2"}],
                    "nodeInfo": {"kubeletVersion": "v1.31.0"}}}),
            json!({"kind": "PodDisruptionBudget", "metadata": {"name": "web", "namespace": "shop"},
                "status": {"currentHealthy": 3, "desiredHealthy": 3, "expectedPods": 4}}),
        ];
        let snap = Snapshot::from_objects(&objs);
        render(&snap, &TrafficModel::new(1))
    }

    #[test]
    fn pod_series_follow_kube_state_metrics() {
        let t = text();
        assert!(t.contains("kube_pod_owner{namespace=\"shop\",pod=\"web-1\",uid=\"u1\",owner_kind=\"ReplicaSet\",owner_name=\"web-abc\",owner_is_controller=\"true\"} 1\n"), "{t}");
        assert!(t.contains("kube_pod_owner{namespace=\"shop\",pod=\"bare\",uid=\"u2\",owner_kind=\"\",owner_name=\"\",owner_is_controller=\"\"} 1\n"));
        assert!(t.contains("kube_pod_container_status_waiting_reason{namespace=\"shop\",pod=\"web-1\",uid=\"u1\",container=\"app\",reason=\"ImagePullBackOff\"} 1\n"));
        assert!(t.contains("kube_pod_status_reason{namespace=\"shop\",pod=\"bare\",uid=\"u2\",reason=\"Evicted\"} 1\n"));
        assert!(t.contains("kube_pod_info{namespace=\"shop\",pod=\"web-1\",uid=\"u1\",host_ip=\"10.0.0.2\",pod_ip=\"10.244.0.9\",node=\"n1\",created_by_kind=\"ReplicaSet\",created_by_name=\"web-abc\",priority_class=\"\",host_network=\"false\"} 1\n"));
        assert!(t.contains("kube_pod_container_resource_requests{namespace=\"shop\",pod=\"web-1\",uid=\"u1\",container=\"app\",node=\"n1\",resource=\"cpu\",unit=\"core\"} 0.25\n"));
        assert!(t.contains("kube_pod_container_resource_requests{namespace=\"shop\",pod=\"web-1\",uid=\"u1\",container=\"app\",node=\"n1\",resource=\"memory\",unit=\"byte\"} 67108864\n"));
    }

    #[test]
    fn conditions_are_one_hot_with_reasons() {
        let t = text();
        for (status, v) in [("true", 0), ("false", 1), ("unknown", 0)] {
            assert!(t.contains(&format!("kube_deployment_status_condition{{namespace=\"shop\",deployment=\"web\",reason=\"ProgressDeadlineExceeded\",condition=\"Progressing\",status=\"{status}\"}} {v}\n")), "{t}");
        }
        // A reason outside kube-state-metrics' allowlist reads as unknown.
        assert!(t.contains("kube_deployment_status_condition{namespace=\"shop\",deployment=\"web\",reason=\"unknown\",condition=\"Available\",status=\"true\"} 1\n"));
        assert!(t.contains(
            "kube_node_status_condition{node=\"n1\",condition=\"Ready\",status=\"unknown\"} 1\n"
        ));
        assert!(t.contains(
            "kube_node_status_condition{node=\"n1\",condition=\"Ready\",status=\"true\"} 0\n"
        ));
        assert!(t.contains(
            "kube_deployment_metadata_generation{namespace=\"shop\",deployment=\"web\"} 3\n"
        ));
    }

    #[test]
    fn statefulset_node_and_pdb_series() {
        let t = text();
        assert!(t.contains("kube_statefulset_status_current_revision{namespace=\"shop\",statefulset=\"db\",revision=\"db-1\"} 1\n"));
        assert!(t.contains("kube_statefulset_status_update_revision{namespace=\"shop\",statefulset=\"db\",revision=\"db-2\"} 1\n"));
        assert!(t.contains(
            "kube_statefulset_status_replicas_updated{namespace=\"shop\",statefulset=\"db\"} 1\n"
        ));
        assert!(t.contains("kube_node_spec_taint{node=\"n1\",key=\"node.kubernetes.io/unreachable\",value=\"\",effect=\"NoSchedule\"} 1\n"));
        assert!(t.contains("kube_node_role{node=\"n1\",role=\"worker\"} 1\n"));
        assert!(t.contains(
            "kube_node_status_capacity{node=\"n1\",resource=\"pods\",unit=\"integer\"} 110\n"
        ));
        assert!(t.contains(
            "kube_node_status_capacity{node=\"n1\",resource=\"memory\",unit=\"byte\"} 17179869184\n"
        ));
        assert!(
            t.contains(",kubelet_version=\"v1.31.0\",")
                && t.contains(",internal_ip=\"10.0.0.2\"} 1\n")
        );
        assert!(t.contains("kube_poddisruptionbudget_status_desired_healthy{namespace=\"shop\",poddisruptionbudget=\"web\"} 3\n"));
        assert!(t.contains("kube_poddisruptionbudget_status_expected_pods{namespace=\"shop\",poddisruptionbudget=\"web\"} 4\n"));
    }
}

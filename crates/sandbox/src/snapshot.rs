//! A read-only view of the cluster objects that traffic and metrics need.
//!
//! The store holds raw JSON objects; the traffic model and the exposition
//! read a handful of fields from thousands of them on every tick and scrape.
//! Extracting those fields once into plain structs keeps both fast and keeps
//! the JSON shape knowledge (and its leniency towards missing fields) in one
//! place.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

pub use super::netpol::PolicyView;
use super::netpol::policy_view;
use super::runtime::PodEffects;
use super::world::{
    ANN_BASE_LATENCY, ANN_CALLS, ANN_CAPACITY_RPS, ANN_REQUESTS_PER_SECOND, DEFAULT_CAPACITY_RPS,
    NetworkSpec,
};
use gameday_spanned::values::Duration;

pub type Labels = BTreeMap<String, String>;

/// An effect in force on a pod, from what its processes do (stress
/// workers running, a netem qdisc on its interface), as the node's
/// container runtime reports it ([`crate::runtime`]).
#[derive(Debug, Clone, PartialEq)]
pub enum FaultEffect {
    CpuStress { workers: u32 },
    MemoryStress { bytes: u64 },
    NetworkDelay { latency_ms: f64, jitter_ms: f64 },
    PacketLoss { percent: f64 },
}

impl FaultEffect {
    /// The runtime's per-pod report as the traffic model's effects.
    pub fn from_runtime(e: &PodEffects) -> Vec<FaultEffect> {
        let mut out = Vec::new();
        if e.cpu_workers > 0 {
            out.push(FaultEffect::CpuStress {
                workers: e.cpu_workers,
            });
        }
        if e.memory_bytes > 0 {
            out.push(FaultEffect::MemoryStress {
                bytes: e.memory_bytes,
            });
        }
        if let Some(n) = e.netem {
            if n.delay_ms > 0.0 {
                out.push(FaultEffect::NetworkDelay {
                    latency_ms: n.delay_ms,
                    jitter_ms: n.jitter_ms,
                });
            }
            if n.loss_percent > 0.0 {
                out.push(FaultEffect::PacketLoss {
                    percent: n.loss_percent,
                });
            }
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContainerView {
    pub name: String,
    pub image: String,
    pub restarts: u64,
    /// `state.waiting.reason` when the container is waiting.
    pub waiting: Option<String>,
    /// `resources.requests` and `.limits` as (resource, value in the
    /// kube-state-metrics unit: cores, bytes, count).
    pub requests: Vec<(String, f64)>,
    pub limits: Vec<(String, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PodView {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub labels: Labels,
    pub node: Option<String>,
    pub phase: String,
    /// The Ready condition: `Some(true|false)`, or `None` when unknown.
    pub ready: Option<bool>,
    /// Being deleted: never an endpoint, whatever its conditions say.
    pub terminating: bool,
    pub containers: Vec<ContainerView>,
    pub effects: Vec<FaultEffect>,
    /// Requests/s this pod serves (`sandbox.gameday/capacity-rps`).
    pub capacity_rps: f64,
    /// `metadata.ownerReferences` as (kind, name, controller).
    pub owners: Vec<(String, String, bool)>,
    pub host_ip: String,
    pub pod_ip: String,
    /// The pod status reasons kube-state-metrics reports
    /// (`kube_pod_status_reason`): [`POD_STATUS_REASONS`] found in
    /// `status.reason`, a condition's reason or a terminated container's
    /// reason, then `Other` for an unlisted `status.reason`.
    pub status_reasons: Vec<&'static str>,
    pub priority_class: String,
    pub host_network: bool,
    /// Every container's `ports` as (name, containerPort, protocol), for
    /// NetworkPolicy named ports.
    pub ports: Vec<(String, u16, String)>,
}

impl PodView {
    pub fn restarts(&self) -> u64 {
        self.containers.iter().map(|c| c.restarts).sum()
    }

    pub fn images(&self) -> impl Iterator<Item = &str> {
        self.containers.iter().map(|c| c.image.as_str())
    }

    /// Whether a Service would route to this pod.
    pub fn is_endpoint(&self) -> bool {
        self.ready == Some(true) && !self.terminating && self.phase == "Running"
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadView {
    pub namespace: String,
    pub name: String,
    pub spec_replicas: u64,
    pub replicas: u64,
    pub ready_replicas: u64,
    pub available_replicas: u64,
    pub updated_replicas: u64,
    pub unavailable_replicas: u64,
    pub current_replicas: u64,
    pub generation: u64,
    pub observed_generation: u64,
    pub conditions: Vec<ConditionView>,
    /// StatefulSets: `status.currentRevision` / `status.updateRevision`.
    pub current_revision: String,
    pub update_revision: String,
}

/// One entry of `status.conditions`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionView {
    pub kind: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    pub reason: String,
}

/// A DaemonSet's status counters, as kube-state-metrics reads them.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonSetView {
    pub namespace: String,
    pub name: String,
    pub generation: u64,
    pub observed_generation: u64,
    pub current_number_scheduled: u64,
    pub desired_number_scheduled: u64,
    pub number_available: u64,
    pub number_misscheduled: u64,
    pub number_ready: u64,
    pub number_unavailable: u64,
    pub updated_number_scheduled: u64,
}

/// A PodDisruptionBudget's status, as the disruption controller wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct PdbView {
    pub namespace: String,
    pub name: String,
    pub current_healthy: i64,
    pub desired_healthy: i64,
    pub disruptions_allowed: i64,
    pub expected_pods: i64,
    pub observed_generation: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceView {
    pub namespace: String,
    pub name: String,
    pub selector: Labels,
    pub port: u16,
    /// Requests/s from outside the cluster.
    pub requests_per_second: f64,
    pub base_latency: Duration,
    /// `(namespace, name)` of the Services each request calls.
    pub calls: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NodeView {
    pub name: String,
    pub labels: Labels,
    pub unschedulable: bool,
    pub conditions: Vec<ConditionView>,
    /// `spec.taints` as (key, value, effect).
    pub taints: Vec<(String, String, String)>,
    /// `status.nodeInfo` fields kube_node_info reports, in its label order:
    /// kernel_version, os_image, container_runtime_version,
    /// kubelet_version, kubeproxy_version, pod_cidr, provider_id,
    /// system_uuid, internal_ip.
    pub info: [String; 9],
    pub capacity: Vec<(String, f64)>,
    pub allocatable: Vec<(String, f64)>,
}

/// A `metav1.LabelSelector` (matchLabels and matchExpressions).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Selector {
    pub match_labels: Labels,
    pub expressions: Vec<(String, String, Vec<String>)>,
}

impl Selector {
    pub fn from_json(v: &Value) -> Selector {
        let match_labels = string_map(&v["matchLabels"]);
        let expressions = v["matchExpressions"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        let values = e["values"]
                            .as_array()
                            .map(|vs| {
                                vs.iter()
                                    .filter_map(|x| x.as_str().map(String::from))
                                    .collect()
                            })
                            .unwrap_or_default();
                        (str_of(&e["key"]), str_of(&e["operator"]), values)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Selector {
            match_labels,
            expressions,
        }
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.expressions.iter().all(|(key, op, values)| {
                let have = labels.get(key);
                match op.as_str() {
                    "In" => have.is_some_and(|h| values.contains(h)),
                    "NotIn" => have.is_none_or(|h| !values.contains(h)),
                    "Exists" => have.is_some(),
                    "DoesNotExist" => have.is_none(),
                    // An unknown operator matches nothing, as the API server
                    // would have rejected it.
                    _ => false,
                }
            })
    }
}

/// What the metrics read of one object of a kind the snapshot holds: a
/// pure function of the object, so it can be kept for as long as the
/// object's resourceVersion does not change (`crate::view_cache`).
#[derive(Debug, Clone, PartialEq)]
pub enum ObjectView {
    Pod(Arc<PodView>),
    Deployment(WorkloadView),
    StatefulSet(WorkloadView),
    Service(ServiceView),
    NetworkPolicy(PolicyView),
    Node(NodeView),
    DaemonSet(DaemonSetView),
    Pdb(PdbView),
    Namespace(String, Labels),
}

impl ObjectView {
    /// The view of `obj`; `None` for kinds the snapshot ignores.
    pub fn of(obj: &Value) -> Option<ObjectView> {
        Some(match obj["kind"].as_str()? {
            "Pod" => ObjectView::Pod(Arc::new(pod_view(obj))),
            "Deployment" => ObjectView::Deployment(workload_view(obj)),
            "StatefulSet" => ObjectView::StatefulSet(workload_view(obj)),
            "Service" => ObjectView::Service(service_view(obj)),
            "NetworkPolicy" => ObjectView::NetworkPolicy(policy_view(obj)),
            "Node" => ObjectView::Node(node_view(obj)),
            "DaemonSet" => ObjectView::DaemonSet(daemonset_view(obj)),
            "PodDisruptionBudget" => ObjectView::Pdb(pdb_view(obj)),
            "Namespace" => ObjectView::Namespace(
                str_of(&obj["metadata"]["name"]),
                string_map(&obj["metadata"]["labels"]),
            ),
            _ => return None,
        })
    }
}

/// Everything traffic and metrics read, captured at one instant.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Shared with the view cache: a scrape copies pointers, not views.
    pub pods: Vec<Arc<PodView>>,
    pub deployments: Vec<WorkloadView>,
    pub statefulsets: Vec<WorkloadView>,
    pub services: Vec<ServiceView>,
    pub network_policies: Vec<PolicyView>,
    pub nodes: Vec<NodeView>,
    pub daemonsets: Vec<DaemonSetView>,
    pub pdbs: Vec<PdbView>,
    /// Recent pods deleted with no grace period, `(namespace, name, uid)`
    /// (`Store::abrupt_pod_deletions`): not objects, so `from_objects`
    /// leaves it empty and the store's metrics source fills it in.
    pub abrupt_deletions: HashSet<(String, String, String)>,
    /// Namespace labels by name, for `namespaceSelector` peers.
    pub namespaces: HashMap<String, Labels>,
    /// What the CNI does with policies: not an object, so the sandbox's
    /// options set it (the world file's `spec.network`).
    pub network: NetworkSpec,
}

impl Snapshot {
    /// Sets each pod's effects from the runtime's report, by pod uid.
    pub fn apply_effects(&mut self, by_uid: &HashMap<String, PodEffects>) {
        if by_uid.is_empty() {
            return;
        }
        for pod in &mut self.pods {
            if let Some(e) = by_uid.get(&pod.uid) {
                Arc::make_mut(pod).effects = FaultEffect::from_runtime(e);
            }
        }
    }

    /// Builds a view from objects of any kinds (others are ignored). Missing
    /// or malformed fields read as absent, never as an error: a snapshot of
    /// a half-written object must not take the metrics endpoint down.
    pub fn from_objects<'a>(objects: impl IntoIterator<Item = &'a Value>) -> Snapshot {
        let mut snap = Snapshot::default();
        for view in objects.into_iter().filter_map(ObjectView::of) {
            snap.push(view);
        }
        snap
    }

    /// Adds one object's view to the collection of its kind.
    pub fn push(&mut self, view: ObjectView) {
        match view {
            ObjectView::Pod(v) => self.pods.push(v),
            ObjectView::Deployment(v) => self.deployments.push(v),
            ObjectView::StatefulSet(v) => self.statefulsets.push(v),
            ObjectView::Service(v) => self.services.push(v),
            ObjectView::NetworkPolicy(v) => self.network_policies.push(v),
            ObjectView::Node(v) => self.nodes.push(v),
            ObjectView::DaemonSet(v) => self.daemonsets.push(v),
            ObjectView::Pdb(v) => self.pdbs.push(v),
            ObjectView::Namespace(name, labels) => {
                self.namespaces.insert(name, labels);
            }
        }
    }

    /// Pods a Service selects (same namespace), whatever their readiness.
    pub fn pods_of<'s>(&'s self, svc: &'s ServiceView) -> impl Iterator<Item = &'s PodView> + 's {
        self.pods.iter().map(|p| &**p).filter(move |p| {
            p.namespace == svc.namespace
                && !svc.selector.is_empty()
                && svc.selector.iter().all(|(k, v)| p.labels.get(k) == Some(v))
        })
    }
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn string_map(v: &Value) -> Labels {
    v.as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn u64_of(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

fn pod_view(obj: &Value) -> PodView {
    let meta = &obj["metadata"];
    let status = &obj["status"];
    let ready = status["conditions"].as_array().and_then(|cs| {
        cs.iter()
            .find(|c| c["type"] == "Ready")
            .and_then(|c| match c["status"].as_str() {
                Some("True") => Some(true),
                Some("False") => Some(false),
                _ => None,
            })
    });
    let statuses = status["containerStatuses"].as_array();
    let status_of = |name: &str| statuses.and_then(|a| a.iter().find(|c| c["name"] == name));
    let containers = obj["spec"]["containers"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    let name = str_of(&c["name"]);
                    let st = status_of(&name);
                    ContainerView {
                        restarts: st.map_or(0, |c| u64_of(&c["restartCount"])),
                        waiting: st.and_then(|c| c["state"]["waiting"].as_object()).map(|w| {
                            w.get("reason")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string()
                        }),
                        requests: quantities(&c["resources"]["requests"]),
                        limits: quantities(&c["resources"]["limits"]),
                        image: str_of(&c["image"]),
                        name,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let annotations = &meta["annotations"];
    PodView {
        namespace: str_of(&meta["namespace"]),
        name: str_of(&meta["name"]),
        uid: str_of(&meta["uid"]),
        labels: string_map(&meta["labels"]),
        node: obj["spec"]["nodeName"].as_str().map(String::from),
        phase: status["phase"].as_str().unwrap_or("Pending").to_string(),
        ready,
        terminating: !meta["deletionTimestamp"].is_null(),
        containers,
        effects: Vec::new(),
        capacity_rps: annotations[ANN_CAPACITY_RPS]
            .as_str()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|c| c.is_finite() && *c > 0.0)
            .unwrap_or(DEFAULT_CAPACITY_RPS),
        owners: meta["ownerReferences"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|o| {
                        (
                            str_of(&o["kind"]),
                            str_of(&o["name"]),
                            o["controller"].as_bool().unwrap_or(false),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        host_ip: str_of(&status["hostIP"]),
        pod_ip: str_of(&status["podIP"]),
        status_reasons: status_reasons(status),
        priority_class: str_of(&obj["spec"]["priorityClassName"]),
        host_network: obj["spec"]["hostNetwork"].as_bool().unwrap_or(false),
        ports: container_ports(&obj["spec"]["containers"]),
    }
}

fn container_ports(containers: &Value) -> Vec<(String, u16, String)> {
    let Some(cs) = containers.as_array() else {
        return Vec::new();
    };
    cs.iter()
        .filter_map(|c| c["ports"].as_array())
        .flatten()
        .filter_map(|p| {
            let port = u16::try_from(p["containerPort"].as_u64()?).ok()?;
            Some((
                str_of(&p["name"]),
                port,
                p["protocol"].as_str().unwrap_or("TCP").to_string(),
            ))
        })
        .collect()
}

fn workload_view(obj: &Value) -> WorkloadView {
    let status = &obj["status"];
    WorkloadView {
        namespace: str_of(&obj["metadata"]["namespace"]),
        name: str_of(&obj["metadata"]["name"]),
        // The API defaults an absent spec.replicas to 1.
        spec_replicas: obj["spec"]["replicas"].as_u64().unwrap_or(1),
        replicas: u64_of(&status["replicas"]),
        ready_replicas: u64_of(&status["readyReplicas"]),
        available_replicas: u64_of(&status["availableReplicas"]),
        updated_replicas: u64_of(&status["updatedReplicas"]),
        unavailable_replicas: u64_of(&status["unavailableReplicas"]),
        current_replicas: u64_of(&status["currentReplicas"]),
        generation: u64_of(&obj["metadata"]["generation"]),
        observed_generation: u64_of(&status["observedGeneration"]),
        conditions: conditions(&status["conditions"]),
        current_revision: str_of(&status["currentRevision"]),
        update_revision: str_of(&status["updateRevision"]),
    }
}

/// kube-state-metrics' `podStatusReasons` (internal/store/pod.go).
pub const POD_STATUS_REASONS: &[&str] = &[
    "Evicted",
    "NodeAffinity",
    "NodeLost",
    "PreemptionByScheduler",
    "SchedulingGated",
    "Shutdown",
    "TerminationByKubelet",
    "UnexpectedAdmissionError",
];

/// kube-state-metrics' `hasPodStatusReason` over every listed reason, plus
/// `Other` for a `status.reason` it does not list.
fn status_reasons(status: &Value) -> Vec<&'static str> {
    let own = status["reason"].as_str().unwrap_or_default();
    let mut seen: Vec<&str> = vec![own];
    for c in status["conditions"].as_array().into_iter().flatten() {
        seen.push(c["reason"].as_str().unwrap_or_default());
    }
    for c in status["containerStatuses"].as_array().into_iter().flatten() {
        seen.push(
            c["state"]["terminated"]["reason"]
                .as_str()
                .unwrap_or_default(),
        );
    }
    let mut out: Vec<&'static str> = POD_STATUS_REASONS
        .iter()
        .copied()
        .filter(|r| seen.contains(r))
        .collect();
    if !own.is_empty() && !POD_STATUS_REASONS.contains(&own) {
        out.push("Other");
    }
    out
}

fn conditions(v: &Value) -> Vec<ConditionView> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|c| ConditionView {
                    kind: str_of(&c["type"]),
                    status: str_of(&c["status"]),
                    reason: str_of(&c["reason"]),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A resource list (`requests`, `capacity`) in kube-state-metrics units:
/// CPU in cores, memory and storage in bytes, everything else as a count.
/// Unparsable quantities are left out, as a half-written object must not
/// take `/metrics` down.
fn quantities(v: &Value) -> Vec<(String, f64)> {
    v.as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, q)| {
                    let q = match q {
                        Value::String(s) => quantity(s)?,
                        Value::Number(n) => n.as_f64()?,
                        _ => return None,
                    };
                    Some((k.clone(), q))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A Kubernetes quantity (`500m`, `2`, `128Mi`, `1G`, `1e3`) as a number.
pub fn quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    const SUFFIXES: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("Pi", 1125899906842624.0),
        ("Ei", 1152921504606846976.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    for (suffix, factor) in SUFFIXES {
        if let Some(num) = s.strip_suffix(suffix) {
            return num.parse::<f64>().ok().map(|n| n * factor);
        }
    }
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

fn node_view(obj: &Value) -> NodeView {
    let status = &obj["status"];
    let info = &status["nodeInfo"];
    let internal_ip = status["addresses"]
        .as_array()
        .and_then(|a| a.iter().rfind(|x| x["type"] == "InternalIP"))
        .map(|x| str_of(&x["address"]))
        .unwrap_or_default();
    NodeView {
        name: str_of(&obj["metadata"]["name"]),
        labels: string_map(&obj["metadata"]["labels"]),
        unschedulable: obj["spec"]["unschedulable"].as_bool().unwrap_or(false),
        conditions: conditions(&status["conditions"]),
        taints: obj["spec"]["taints"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|t| (str_of(&t["key"]), str_of(&t["value"]), str_of(&t["effect"])))
                    .collect()
            })
            .unwrap_or_default(),
        info: [
            str_of(&info["kernelVersion"]),
            str_of(&info["osImage"]),
            str_of(&info["containerRuntimeVersion"]),
            str_of(&info["kubeletVersion"]),
            str_of(&info["kubeProxyVersion"]),
            str_of(&obj["spec"]["podCIDR"]),
            str_of(&obj["spec"]["providerID"]),
            str_of(&info["systemUUID"]),
            internal_ip,
        ],
        capacity: quantities(&status["capacity"]),
        allocatable: quantities(&status["allocatable"]),
    }
}

fn daemonset_view(obj: &Value) -> DaemonSetView {
    let st = &obj["status"];
    DaemonSetView {
        namespace: str_of(&obj["metadata"]["namespace"]),
        name: str_of(&obj["metadata"]["name"]),
        generation: u64_of(&obj["metadata"]["generation"]),
        observed_generation: u64_of(&st["observedGeneration"]),
        current_number_scheduled: u64_of(&st["currentNumberScheduled"]),
        desired_number_scheduled: u64_of(&st["desiredNumberScheduled"]),
        number_available: u64_of(&st["numberAvailable"]),
        number_misscheduled: u64_of(&st["numberMisscheduled"]),
        number_ready: u64_of(&st["numberReady"]),
        number_unavailable: u64_of(&st["numberUnavailable"]),
        updated_number_scheduled: u64_of(&st["updatedNumberScheduled"]),
    }
}

fn pdb_view(obj: &Value) -> PdbView {
    let st = &obj["status"];
    let i = |v: &Value| v.as_i64().unwrap_or(0);
    PdbView {
        namespace: str_of(&obj["metadata"]["namespace"]),
        name: str_of(&obj["metadata"]["name"]),
        current_healthy: i(&st["currentHealthy"]),
        desired_healthy: i(&st["desiredHealthy"]),
        disruptions_allowed: i(&st["disruptionsAllowed"]),
        expected_pods: i(&st["expectedPods"]),
        observed_generation: i(&st["observedGeneration"]),
    }
}

fn service_view(obj: &Value) -> ServiceView {
    let meta = &obj["metadata"];
    let ann = &meta["annotations"];
    let namespace = str_of(&meta["namespace"]);
    let calls = ann[ANN_CALLS]
        .as_str()
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(|c| super::world::qualify(&namespace, c))
                .collect()
        })
        .unwrap_or_default();
    let port = obj["spec"]["ports"][0]["targetPort"]
        .as_u64()
        .or_else(|| obj["spec"]["ports"][0]["port"].as_u64())
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(80);
    ServiceView {
        name: str_of(&meta["name"]),
        selector: string_map(&obj["spec"]["selector"]),
        port,
        requests_per_second: ann[ANN_REQUESTS_PER_SECOND]
            .as_str()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|r| r.is_finite() && *r >= 0.0)
            .unwrap_or(0.0),
        base_latency: ann[ANN_BASE_LATENCY]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(Duration::from_millis(20)),
        calls,
        namespace,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod(name: &str, ready: &str) -> Value {
        json!({
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"), "labels": {"app": "checkout"},
                         "annotations": {ANN_CAPACITY_RPS: "30"}},
            "spec": {"nodeName": "node-blue-1", "containers": [{"name": "app", "image": "shop/checkout:1.4"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": ready}],
                       "containerStatuses": [{"name": "app", "restartCount": 3}]},
        })
    }

    #[test]
    fn reads_pod_fields() {
        let objs = [pod("a", "True"), pod("b", "False")];
        let s = Snapshot::from_objects(&objs);
        assert_eq!(s.pods.len(), 2);
        let a = &s.pods[0];
        assert_eq!((a.namespace.as_str(), a.name.as_str()), ("shop", "a"));
        assert_eq!(a.node.as_deref(), Some("node-blue-1"));
        assert_eq!(a.ready, Some(true));
        assert!(a.is_endpoint());
        assert!(!s.pods[1].is_endpoint());
        assert_eq!(a.restarts(), 3);
        assert_eq!(a.images().collect::<Vec<_>>(), ["shop/checkout:1.4"]);
        assert_eq!(a.capacity_rps, 30.0);
    }

    #[test]
    fn malformed_objects_do_not_panic() {
        let objs = [
            json!({"kind": "Pod"}),
            json!({"kind": "Deployment", "spec": "x"}),
            json!(null),
            json!({"kind": "Service", "metadata": []}),
        ];
        let s = Snapshot::from_objects(&objs);
        assert_eq!(s.pods[0].ready, None);
        assert_eq!(s.deployments[0].spec_replicas, 1);
    }

    #[test]
    fn effects_come_from_the_runtime_not_from_env() {
        let mut p = pod("a", "True");
        // A container spec alone is no effect: only what the runtime reports
        // is (faults::ephemeral_on_runtime shows the same for gameday's own
        // container specs, env included).
        p["spec"]["ephemeralContainers"] = json!([{"name": "x", "image": "busybox",
            "command": ["sleep", "60"]}]);
        let mut s = Snapshot::from_objects([&p]);
        assert!(s.pods[0].effects.is_empty());
        let uid = s.pods[0].uid.clone();
        let report = PodEffects {
            cpu_workers: 2,
            memory_bytes: 256 << 20,
            netem: Some(crate::runtime::Netem {
                delay_ms: 200.0,
                jitter_ms: 20.0,
                loss_percent: 30.0,
            }),
        };
        s.apply_effects(&HashMap::from([(uid, report)]));
        assert_eq!(
            s.pods[0].effects,
            [
                FaultEffect::CpuStress { workers: 2 },
                FaultEffect::MemoryStress { bytes: 256 << 20 },
                FaultEffect::NetworkDelay {
                    latency_ms: 200.0,
                    jitter_ms: 20.0
                },
                FaultEffect::PacketLoss { percent: 30.0 },
            ]
        );
    }

    #[test]
    fn selector_expressions() {
        let sel = Selector::from_json(&json!({"matchExpressions": [
            {"key": "app", "operator": "In", "values": ["checkout", "cart"]},
            {"key": "canary", "operator": "DoesNotExist"}]}));
        let mut l = Labels::new();
        l.insert("app".into(), "cart".into());
        assert!(sel.matches(&l));
        l.insert("canary".into(), "true".into());
        assert!(!sel.matches(&l));
    }

    #[test]
    fn world_objects_become_services_with_traffic() {
        let objs = crate::world::World::shop().unwrap().to_objects();
        let s = Snapshot::from_objects(&objs);
        let co = s.services.iter().find(|x| x.name == "checkout").unwrap();
        assert!(
            co.calls
                .contains(&("payments".into(), "payments-api".into()))
        );
        assert_eq!(co.port, 8080);
        let fe = s.services.iter().find(|x| x.name == "frontend").unwrap();
        assert!(fe.requests_per_second > 0.0);
        assert_eq!(s.nodes.len(), 3);
        assert_eq!(
            s.deployments
                .iter()
                .find(|d| d.name == "checkout")
                .unwrap()
                .spec_replicas,
            4
        );
    }
}

//! A read-only view of the cluster objects that traffic and metrics need.
//!
//! The store holds raw JSON objects; the traffic model and the exposition
//! read a handful of fields from thousands of them on every tick and scrape.
//! Extracting those fields once into plain structs keeps both fast and keeps
//! the JSON shape knowledge (and its leniency towards missing fields) in one
//! place.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use super::runtime::PodEffects;
use super::world::{
    ANN_BASE_LATENCY, ANN_CALLS, ANN_CAPACITY_RPS, ANN_REQUESTS_PER_SECOND, DEFAULT_CAPACITY_RPS,
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
pub struct PolicyView {
    pub namespace: String,
    pub name: String,
    pub pod_selector: Selector,
    pub ingress: bool,
    pub egress: bool,
    /// Ports each ingress rule allows; an empty list allows every port.
    pub ingress_rules: Vec<Vec<u16>>,
    pub egress_rules: Vec<Vec<u16>>,
}

impl PolicyView {
    /// Whether this policy, if it selects a pod, lets `port` through in the
    /// given direction. Peers are not modelled: a rule allows every peer.
    fn allows(rules: &[Vec<u16>], port: u16) -> bool {
        rules
            .iter()
            .any(|ports| ports.is_empty() || ports.contains(&port))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NodeView {
    pub name: String,
    pub labels: Labels,
    pub unschedulable: bool,
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

/// Everything traffic and metrics read, captured at one instant.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub pods: Vec<PodView>,
    pub deployments: Vec<WorkloadView>,
    pub statefulsets: Vec<WorkloadView>,
    pub services: Vec<ServiceView>,
    pub network_policies: Vec<PolicyView>,
    pub nodes: Vec<NodeView>,
    /// Recent pods deleted with no grace period, `(namespace, name, uid)`
    /// (`Store::abrupt_pod_deletions`): not objects, so `from_objects`
    /// leaves it empty and the store's metrics source fills it in.
    pub abrupt_deletions: HashSet<(String, String, String)>,
}

impl Snapshot {
    /// Sets each pod's effects from the runtime's report, by pod uid.
    pub fn apply_effects(&mut self, by_uid: &HashMap<String, PodEffects>) {
        if by_uid.is_empty() {
            return;
        }
        for pod in &mut self.pods {
            if let Some(e) = by_uid.get(&pod.uid) {
                pod.effects = FaultEffect::from_runtime(e);
            }
        }
    }

    /// Builds a view from objects of any kinds (others are ignored). Missing
    /// or malformed fields read as absent, never as an error: a snapshot of
    /// a half-written object must not take the metrics endpoint down.
    pub fn from_objects<'a>(objects: impl IntoIterator<Item = &'a Value>) -> Snapshot {
        let mut snap = Snapshot::default();
        for obj in objects {
            match obj["kind"].as_str() {
                Some("Pod") => snap.pods.push(pod_view(obj)),
                Some("Deployment") => snap.deployments.push(workload_view(obj)),
                Some("StatefulSet") => snap.statefulsets.push(workload_view(obj)),
                Some("Service") => snap.services.push(service_view(obj)),
                Some("NetworkPolicy") => snap.network_policies.push(policy_view(obj)),
                Some("Node") => snap.nodes.push(NodeView {
                    name: str_of(&obj["metadata"]["name"]),
                    labels: string_map(&obj["metadata"]["labels"]),
                    unschedulable: obj["spec"]["unschedulable"].as_bool().unwrap_or(false),
                }),
                _ => {}
            }
        }
        snap
    }

    /// Pods a Service selects (same namespace), whatever their readiness.
    pub fn pods_of<'s>(&'s self, svc: &'s ServiceView) -> impl Iterator<Item = &'s PodView> + 's {
        self.pods.iter().filter(move |p| {
            p.namespace == svc.namespace
                && !svc.selector.is_empty()
                && svc.selector.iter().all(|(k, v)| p.labels.get(k) == Some(v))
        })
    }

    /// Whether traffic can reach `pod` on `port`: every NetworkPolicy that
    /// selects the pod for ingress must be satisfied by at least one policy's
    /// rule (Kubernetes semantics: the selecting policies' rules are a union).
    pub fn ingress_allowed(&self, pod: &PodView, port: u16) -> bool {
        self.allowed(pod, port, |p| p.ingress, |p| &p.ingress_rules)
    }

    /// Whether `pod` may open connections to `port`.
    pub fn egress_allowed(&self, pod: &PodView, port: u16) -> bool {
        self.allowed(pod, port, |p| p.egress, |p| &p.egress_rules)
    }

    fn allowed(
        &self,
        pod: &PodView,
        port: u16,
        applies: impl Fn(&PolicyView) -> bool,
        rules: impl Fn(&PolicyView) -> &Vec<Vec<u16>>,
    ) -> bool {
        let mut selected = false;
        for p in &self.network_policies {
            if p.namespace == pod.namespace && applies(p) && p.pod_selector.matches(&pod.labels) {
                selected = true;
                if PolicyView::allows(rules(p), port) {
                    return true;
                }
            }
        }
        !selected
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
    let restarts_of = |name: &str| -> u64 {
        statuses
            .and_then(|a| a.iter().find(|c| c["name"] == name))
            .map_or(0, |c| u64_of(&c["restartCount"]))
    };
    let containers = obj["spec"]["containers"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    let name = str_of(&c["name"]);
                    ContainerView {
                        restarts: restarts_of(&name),
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
    }
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

fn policy_view(obj: &Value) -> PolicyView {
    let spec = &obj["spec"];
    let types: Vec<&str> = spec["policyTypes"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    // Kubernetes defaults policyTypes to Ingress, plus Egress when egress
    // rules are present.
    let (ingress, egress) = if types.is_empty() {
        (
            true,
            spec["egress"].as_array().is_some_and(|a| !a.is_empty()),
        )
    } else {
        (types.contains(&"Ingress"), types.contains(&"Egress"))
    };
    let rules = |v: &Value| -> Vec<Vec<u16>> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|r| {
                        r["ports"]
                            .as_array()
                            .map(|ps| {
                                ps.iter()
                                    .filter_map(|p| {
                                        p["port"].as_u64().and_then(|n| u16::try_from(n).ok())
                                    })
                                    .collect()
                            })
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    PolicyView {
        namespace: str_of(&obj["metadata"]["namespace"]),
        name: str_of(&obj["metadata"]["name"]),
        pod_selector: Selector::from_json(&spec["podSelector"]),
        ingress,
        egress,
        ingress_rules: rules(&spec["ingress"]),
        egress_rules: rules(&spec["egress"]),
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
    fn network_policy_semantics() {
        let deny = json!({"kind": "NetworkPolicy", "metadata": {"name": "deny", "namespace": "shop"},
            "spec": {"podSelector": {"matchLabels": {"app": "checkout"}}, "policyTypes": ["Ingress", "Egress"]}});
        let allow_8080 = json!({"kind": "NetworkPolicy", "metadata": {"name": "allow", "namespace": "shop"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"ports": [{"port": 8080}]}]}});
        let p = pod("a", "True");
        let s = Snapshot::from_objects([&p]);
        assert!(s.ingress_allowed(&s.pods[0], 8080) && s.egress_allowed(&s.pods[0], 53));

        let s = Snapshot::from_objects([&p, &deny]);
        assert!(!s.ingress_allowed(&s.pods[0], 8080));
        assert!(!s.egress_allowed(&s.pods[0], 53));

        let s = Snapshot::from_objects([&p, &allow_8080]);
        assert!(s.ingress_allowed(&s.pods[0], 8080));
        assert!(!s.ingress_allowed(&s.pods[0], 9090));
        assert!(s.egress_allowed(&s.pods[0], 53));

        // Union: the allow policy opens 8080 even though deny also selects the pod.
        let s = Snapshot::from_objects([&p, &deny, &allow_8080]);
        assert!(s.ingress_allowed(&s.pods[0], 8080));
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

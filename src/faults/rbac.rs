//! Least-privilege RBAC: each fault declares the rules it needs; `gameday
//! rbac` and `gameday plan` print exactly the union for a scenario, as a
//! Role per target namespace (plus a ClusterRole only when node faults are
//! used) and their bindings. The union covers the whole life of a run under
//! that identity: inject, revert, `gameday recover --namespace NS` (find
//! and revert the kinds the faults mark, namespaced lists only), `gameday
//! halt --namespace NS` (the kill-switch ConfigMap) and the autopilot's
//! scale actions.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::config::Config;
use crate::scenario::{ProbeKind, ProbeSource, Scenario};

/// One RBAC rule: an API group, a resource and verbs. `cluster` rules go in
/// the ClusterRole (nodes are not namespaced).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub api_group: &'static str,
    pub resource: &'static str,
    pub verbs: &'static [&'static str],
    pub cluster: bool,
}

pub const fn pods_rw(verbs: &'static [&'static str]) -> Rule {
    Rule {
        api_group: "",
        resource: "pods",
        verbs,
        cluster: false,
    }
}

pub const fn pods_sub(resource: &'static str, verbs: &'static [&'static str]) -> Rule {
    Rule {
        api_group: "",
        resource,
        verbs,
        cluster: false,
    }
}

pub const fn workloads(resource: &'static str) -> Rule {
    Rule {
        api_group: "apps",
        resource,
        verbs: &["get", "list", "patch"],
        cluster: false,
    }
}

pub const NODES: Rule = Rule {
    api_group: "",
    resource: "nodes",
    verbs: &["get", "list", "patch"],
    cluster: true,
};

/// Pods in every namespace, read only: what a NoExecute taint would evict.
pub const PODS_ALL_NAMESPACES: Rule = Rule {
    api_group: "",
    resource: "pods",
    verbs: &["list"],
    cluster: true,
};

pub const NETPOL: Rule = Rule {
    api_group: "networking.k8s.io",
    resource: "networkpolicies",
    verbs: &["get", "list", "create", "delete"],
    cluster: false,
};

pub const EPHEMERAL: Rule = Rule {
    api_group: "",
    resource: "pods/ephemeralcontainers",
    verbs: &["get", "patch"],
    cluster: false,
};

/// The confirm step lists every marked kind in the target namespaces.
const CONFIRM: &[Rule] = &[
    pods_rw(&["list"]),
    Rule {
        api_group: "apps",
        resource: "deployments",
        verbs: &["list"],
        cluster: false,
    },
    Rule {
        api_group: "apps",
        resource: "statefulsets",
        verbs: &["list"],
        cluster: false,
    },
    Rule {
        api_group: "networking.k8s.io",
        resource: "networkpolicies",
        verbs: &["list"],
        cluster: false,
    },
];

/// (namespace or None for cluster scope) -> (group, resource) -> verbs
pub type RuleSet = BTreeMap<Option<String>, BTreeMap<(String, String), BTreeSet<String>>>;

fn add(set: &mut RuleSet, scope: Option<&str>, rule: &Rule) {
    let verbs = set
        .entry(scope.map(str::to_string))
        .or_default()
        .entry((rule.api_group.to_string(), rule.resource.to_string()))
        .or_default();
    verbs.extend(rule.verbs.iter().map(|v| v.to_string()));
}

/// Everything the scenario's identity needs, by scope: the run (see
/// [`rules_for_run`]) plus `gameday halt` and `--lift`, which create and
/// delete the kill-switch ConfigMap.
pub fn rules_for(scenario: &Scenario, config: &Config) -> RuleSet {
    let mut set = rules_for_run(scenario, config);
    add(
        &mut set,
        Some(&config.halt_namespace),
        &configmaps(&["get", "create", "delete"]),
    );
    set
}

const fn configmaps(verbs: &'static [&'static str]) -> Rule {
    Rule {
        api_group: "",
        resource: "configmaps",
        verbs,
        cluster: false,
    }
}

/// The permissions a run of `scenario` needs, by scope: its faults, their
/// revert and `recover --namespace`, its probes, its autopilot actions and
/// reading the kill switch. The run's preflight checks exactly these.
pub fn rules_for_run(scenario: &Scenario, config: &Config) -> RuleSet {
    let mut set = RuleSet::new();
    let namespaces = &scenario.spec.target.namespaces;
    for fault in &scenario.spec.faults {
        for rule in super::kind_of(fault.kind).rbac_for(fault) {
            if rule.cluster {
                add(&mut set, None, rule);
            } else if super::kind_of(fault.kind).target_kind() == crate::scenario::TargetKind::Nodes
            {
                // Node faults act on pods in every target namespace.
                for ns in namespaces {
                    add(&mut set, Some(ns), rule);
                }
            } else if let Some(ns) = &fault.selector.namespace {
                add(&mut set, Some(ns), rule);
            }
        }
    }
    for ns in namespaces {
        for rule in CONFIRM {
            add(&mut set, Some(ns), rule);
        }
    }
    for probe in &scenario.spec.steady_state.probes {
        if let Some(ProbeSource::Kubernetes(k)) = probe.source() {
            let rule = match k.kind {
                ProbeKind::Deployment => workload_read("deployments"),
                ProbeKind::StatefulSet => workload_read("statefulsets"),
                ProbeKind::Pods => pods_rw(&["get", "list"]),
            };
            add(&mut set, Some(&k.namespace), &rule);
        }
    }
    // recover --namespace: list the kinds the faults mark, and revert
    // (strip the marks; delete the policies they created).
    for fault in &scenario.spec.faults {
        for kind in super::kinds_marked_by(fault.kind) {
            let Some(rule) = recover_rule(*kind) else {
                continue;
            };
            for ns in namespaces {
                add(&mut set, Some(ns), &rule);
            }
        }
    }
    // The autopilot's scale actions patch `spec.replicas` of the workload
    // itself (engine::actions::scale) and confirm the revert by reading it.
    let autopilot = scenario
        .spec
        .response
        .iter()
        .flat_map(|r| &r.autopilot)
        .filter_map(|e| e.action.as_ref()?.scale.as_ref());
    for s in autopilot {
        let resource = match s.kind {
            crate::scenario::model::WorkloadKind::Deployment => "deployments",
            crate::scenario::model::WorkloadKind::StatefulSet => "statefulsets",
        };
        add(
            &mut set,
            Some(&s.namespace),
            &Rule {
                api_group: "apps",
                resource,
                verbs: &["get", "list", "patch"],
                cluster: false,
            },
        );
    }
    // The kill switch is read every tick.
    add(
        &mut set,
        Some(&config.halt_namespace),
        &configmaps(&["get"]),
    );
    set
}

/// What `recover` needs on one marked kind: list to find it, get and patch
/// to strip the marks, delete for the policies gameday itself created.
fn recover_rule(kind: crate::k8s::marks::ObjKind) -> Option<Rule> {
    use crate::k8s::marks::ObjKind;
    let (api_group, resource, verbs): (_, _, &'static [&'static str]) = match kind {
        ObjKind::Pod => ("", "pods", &["get", "list", "patch"]),
        ObjKind::Deployment => ("apps", "deployments", &["get", "list", "patch"]),
        ObjKind::StatefulSet => ("apps", "statefulsets", &["get", "list", "patch"]),
        ObjKind::NetworkPolicy => (
            "networking.k8s.io",
            "networkpolicies",
            &["get", "list", "patch", "delete"],
        ),
        // Nodes are cluster-scoped: their faults already bring a ClusterRole.
        ObjKind::Node => return None,
    };
    Some(Rule {
        api_group,
        resource,
        verbs,
        cluster: false,
    })
}

const fn workload_read(resource: &'static str) -> Rule {
    Rule {
        api_group: "apps",
        resource,
        verbs: &["get", "list"],
        cluster: false,
    }
}

/// Role/ClusterRole and binding manifests for a ServiceAccount, preceded by
/// the ServiceAccount and its namespace so that `kubectl apply -f` works on a
/// fresh cluster (applying them again is a no-op).
pub fn manifests(name: &str, set: &RuleSet, sa: &str, sa_namespace: &str) -> Vec<Value> {
    let subject = json!([{"kind": "ServiceAccount", "name": sa, "namespace": sa_namespace}]);
    let managed = json!({"app.kubernetes.io/managed-by": "gameday"});
    let mut out = vec![
        json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": sa_namespace, "labels": managed},
        }),
        json!({
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": sa, "namespace": sa_namespace, "labels": managed},
        }),
    ];
    for (scope, rules) in set {
        let rules: Vec<Value> = rules
            .iter()
            .map(|((group, resource), verbs)| {
                json!({"apiGroups": [group], "resources": [resource], "verbs": verbs})
            })
            .collect();
        let labels = json!({"app.kubernetes.io/managed-by": "gameday"});
        match scope {
            Some(ns) => {
                out.push(json!({
                    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                    "metadata": {"name": name, "namespace": ns, "labels": labels},
                    "rules": rules,
                }));
                out.push(json!({
                    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                    "metadata": {"name": name, "namespace": ns, "labels": labels},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                    "subjects": subject,
                }));
            }
            None => {
                out.push(json!({
                    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                    "metadata": {"name": name, "labels": labels},
                    "rules": rules,
                }));
                out.push(json!({
                    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                    "metadata": {"name": name, "labels": labels},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                    "subjects": subject,
                }));
            }
        }
    }
    out
}

/// Multi-document YAML, ready for `kubectl apply -f -`.
pub fn to_yaml(docs: &[Value]) -> Result<String, serde_yaml::Error> {
    let mut out = String::new();
    for d in docs {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(d)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(faults: &str) -> Scenario {
        let text = format!(
            r#"
apiVersion: gameday/v1
kind: Scenario
metadata: {{name: t}}
spec:
  hypothesis: h
  target: {{contexts: ["*"], namespaces: [shop]}}
  blastRadius: {{maxTargets: 3, maxDuration: 10m}}
  steadyState:
    probes:
      - name: avail
        kubernetes: {{kind: Deployment, namespace: shop, name: checkout, field: availableReplicas}}
        expect: ">= 1"
  faults:
{faults}
"#
        );
        serde_yaml::from_str(&text).unwrap()
    }

    #[test]
    fn pod_kill_needs_only_namespaced_pod_rights() {
        let s = scenario(
            "    - {name: k, type: podKill, selector: {namespace: shop, labels: {app: c}}}",
        );
        let set = rules_for(&s, &Config::default());
        assert!(!set.contains_key(&None), "no ClusterRole for pod faults");
        let shop = &set[&Some("shop".to_string())];
        let pods: Vec<_> = shop[&("".into(), "pods".into())].iter().cloned().collect();
        assert_eq!(pods, ["delete", "get", "list", "patch"]);
        assert!(!shop.contains_key(&("".into(), "pods/eviction".into())));
        assert!(
            shop[&("apps".into(), "deployments".into())].contains("get"),
            "probe"
        );
        assert!(
            set[&Some("gameday-system".to_string())]
                .contains_key(&("".into(), "configmaps".into()))
        );
    }

    #[test]
    fn node_faults_add_a_cluster_role() {
        let s = scenario(
            "    - {name: d, type: nodeDrain, duration: 30s, selector: {nodeLabels: {pool: blue}}}",
        );
        let set = rules_for(&s, &Config::default());
        let cluster = &set[&None];
        assert!(cluster.contains_key(&("".into(), "nodes".into())));
        assert!(set[&Some("shop".to_string())].contains_key(&("".into(), "pods/eviction".into())));
        let docs = manifests("gameday-t", &set, "gameday", "gameday-system");
        let kinds: Vec<_> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
        assert!(kinds.contains(&"ClusterRole") && kinds.contains(&"ClusterRoleBinding"));
        assert!(kinds.contains(&"Role") && kinds.contains(&"RoleBinding"));
        let yaml = to_yaml(&docs).unwrap();
        assert!(yaml.starts_with("---\n"));
    }

    /// Only a NoExecute taint reads pods cluster-wide (to count what it
    /// would evict); other taints need the nodes alone.
    #[test]
    fn only_a_no_execute_taint_lists_pods_cluster_wide() {
        let taint = |effect: &str| {
            let s = scenario(&format!(
                "    - {{name: t, type: nodeTaint, duration: 30s, selector: {{nodeLabels: {{pool: blue}}}}, params: {{taint: {{key: k, effect: {effect}}}}}}}"
            ));
            rules_for(&s, &Config::default())[&None].contains_key(&("".into(), "pods".into()))
        };
        assert!(taint("NoExecute"));
        assert!(!taint("NoSchedule"));
    }
}

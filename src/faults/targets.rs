//! Resolving a fault's selector to candidates: pods by namespace and labels,
//! a workload by kind and name, nodes by node labels. Objects already under
//! a gameday fault are never candidates (their undo data would be lost).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::ListParams;

use super::{FaultCx, FaultError};
use crate::k8s::marks::{ObjKind, ObjRef, is_marked};
use crate::k8s::select::{Candidate, Candidates, GroupImpact, check_namespace};
use crate::scenario::{StringMap, WorkloadKind};

pub fn label_selector(labels: &StringMap) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The namespace a namespaced fault acts in, checked against the scenario
/// and the protected list (S3) before any request is made.
pub fn namespace<'a>(cx: &'a FaultCx<'a>) -> Result<&'a str, FaultError> {
    let ns = cx
        .fault
        .selector
        .namespace
        .as_deref()
        .ok_or_else(|| cx.invalid("selector.namespace is required"))?;
    check_namespace(
        &cx.fault.name,
        ns,
        &cx.scenario.spec.target.namespaces,
        cx.config,
    )?;
    Ok(ns)
}

/// The workload a pod belongs to: its controller, else the pod itself.
pub fn pod_group(pod: &Pod) -> String {
    let owner = pod
        .metadata
        .owner_references
        .as_ref()
        .and_then(|o| o.iter().find(|r| r.controller == Some(true)));
    match owner {
        Some(o) => format!("{}/{}", o.kind, o.name),
        None => format!("Pod/{}", pod.metadata.name.as_deref().unwrap_or_default()),
    }
}

pub fn pod_is_live(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    pod.metadata.deletion_timestamp.is_none() && !matches!(phase, Some("Succeeded" | "Failed"))
}

/// Live pods matching the selector. Group totals count every live pod of
/// each workload, marked or not, so percentages are of the real size.
pub async fn pods(cx: &FaultCx<'_>) -> Result<(Candidates, Vec<Pod>), FaultError> {
    let ns = namespace(cx)?;
    let labels = cx.fault.selector.labels.clone().unwrap_or_default();
    let lp = ListParams::default().labels(&label_selector(&labels));
    let api = cx.kube.namespaced::<Pod>(ns);
    let list = cx
        .kube
        .call(&format!("list pods in {ns}"), || api.list(&lp))
        .await?;
    let mut out = Candidates::default();
    let mut pods = Vec::new();
    for pod in list.items {
        if !pod_is_live(&pod) {
            continue;
        }
        let group = pod_group(&pod);
        *out.group_totals.entry(group.clone()).or_default() += 1;
        if is_marked(&pod.metadata) {
            continue;
        }
        out.items.push(Candidate {
            obj: ObjRef {
                kind: ObjKind::Pod,
                namespace: Some(ns.to_string()),
                name: pod.metadata.name.clone().unwrap_or_default(),
            },
            group,
        });
        pods.push(pod);
    }
    Ok((out, pods))
}

/// Pods on the pod network only. A hostNetwork pod shares its node's
/// network namespace: `tc` in it would shape the node's own interface, and
/// NetworkPolicies never select it, so a network fault there would either
/// hit the whole node or silently do nothing. Such pods still count in their
/// workload's total for the blast radius; they are just never chosen.
pub async fn pods_on_pod_network(cx: &FaultCx<'_>) -> Result<Candidates, FaultError> {
    Ok(pods_on_pod_network_with_specs(cx).await?.0)
}

/// [`pods_on_pod_network`], with the candidate pods themselves (for checks
/// that need their labels).
pub async fn pods_on_pod_network_with_specs(
    cx: &FaultCx<'_>,
) -> Result<(Candidates, Vec<Pod>), FaultError> {
    let (mut out, mut pods) = pods(cx).await?;
    let host: std::collections::HashSet<String> = pods
        .iter()
        .filter(|p| p.spec.as_ref().and_then(|s| s.host_network) == Some(true))
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    if !host.is_empty() {
        tracing::info!(
            fault = %cx.fault.name,
            skipped = host.len(),
            "hostNetwork pods are never targets of a network fault"
        );
        out.items.retain(|c| !host.contains(&c.obj.name));
    }
    pods.retain(|p| {
        let name = p.metadata.name.as_deref().unwrap_or_default();
        out.items.iter().any(|c| c.obj.name == name)
    });
    Ok((out, pods))
}

/// The one workload named by the selector; its group total is its replicas.
pub async fn workload(cx: &FaultCx<'_>) -> Result<Candidates, FaultError> {
    let ns = namespace(cx)?;
    let sel = &cx.fault.selector;
    let kind = sel
        .kind
        .ok_or_else(|| cx.invalid("selector.kind (Deployment or StatefulSet) is required"))?;
    let name = sel
        .name
        .as_deref()
        .ok_or_else(|| cx.invalid("selector.name is required"))?;
    let obj = ObjRef {
        kind: match kind {
            WorkloadKind::Deployment => ObjKind::Deployment,
            WorkloadKind::StatefulSet => ObjKind::StatefulSet,
        },
        namespace: Some(ns.to_string()),
        name: name.to_string(),
    };
    let op = format!("get {obj}");
    let (meta, replicas) = match kind {
        WorkloadKind::Deployment => {
            let api = cx.kube.namespaced::<Deployment>(ns);
            match cx.kube.call(&op, || api.get_opt(name)).await? {
                Some(d) => (d.metadata, d.spec.and_then(|s| s.replicas).unwrap_or(1)),
                None => return Ok(Candidates::default()),
            }
        }
        WorkloadKind::StatefulSet => {
            let api = cx.kube.namespaced::<StatefulSet>(ns);
            match cx.kube.call(&op, || api.get_opt(name)).await? {
                Some(s) => (s.metadata, s.spec.and_then(|s| s.replicas).unwrap_or(1)),
                None => return Ok(Candidates::default()),
            }
        }
    };
    let group = format!("{}/{}", obj.kind, name);
    let mut out = Candidates {
        items: vec![],
        group_totals: BTreeMap::from([(group.clone(), replicas.max(0) as usize)]),
        ..Default::default()
    };
    if !is_marked(&meta) {
        out.items.push(Candidate { obj, group });
    }
    Ok(out)
}

/// The group every node belongs to: node faults are measured against the
/// whole cluster.
pub const NODES_GROUP: &str = "nodes";

/// Nodes matching `nodeLabels`; the group total is every node in the cluster.
pub async fn nodes(cx: &FaultCx<'_>) -> Result<(Candidates, Vec<Node>), FaultError> {
    let want = cx.fault.selector.node_labels.clone().unwrap_or_default();
    let api = cx.kube.all::<Node>();
    let lp = ListParams::default();
    let list = cx.kube.call("list nodes", || api.list(&lp)).await?;
    let mut out = Candidates {
        items: vec![],
        group_totals: BTreeMap::from([(NODES_GROUP.to_string(), list.items.len())]),
        ..Default::default()
    };
    let mut nodes = Vec::new();
    for node in list.items {
        let labels = node.metadata.labels.clone().unwrap_or_default();
        let fits = want.iter().all(|(k, v)| labels.get(k) == Some(v));
        if !fits || is_marked(&node.metadata) {
            continue;
        }
        out.items.push(Candidate {
            obj: ObjRef {
                kind: ObjKind::Node,
                namespace: None,
                name: node.metadata.name.clone().unwrap_or_default(),
            },
            group: NODES_GROUP.into(),
        });
        nodes.push(node);
    }
    Ok((out, nodes))
}

/// Records that evicting from `node` would take one pod of `group` (the
/// count `eviction_impact` sums per chosen node).
pub fn count_eviction(out: &mut Candidates, node: &str, group: String) {
    let key = ObjRef {
        kind: ObjKind::Node,
        namespace: None,
        name: node.to_string(),
    };
    *out.disrupts
        .entry(key.to_string())
        .or_default()
        .entry(group)
        .or_default() += 1;
}

/// The impact of faults that evict the pods on the chosen nodes (nodeDrain,
/// a NoExecute nodeTaint): the chosen nodes against all nodes, and the pods
/// they would evict per workload (`Candidates::disrupts`) against each
/// workload's live size.
pub fn eviction_impact(chosen: &[Candidate], all: &Candidates) -> Vec<GroupImpact> {
    let impact = |group: &str, n: usize| {
        let total = all.total_of(group).max(n).max(1);
        GroupImpact {
            group: group.to_string(),
            chosen: n,
            total,
            percent: ((n * 100).div_ceil(total)) as u32,
        }
    };
    let mut per: BTreeMap<&str, usize> = BTreeMap::new();
    for c in chosen {
        for (group, n) in all.disrupts.get(&c.obj.to_string()).into_iter().flatten() {
            *per.entry(group.as_str()).or_default() += n;
        }
    }
    std::iter::once(impact(NODES_GROUP, chosen.len()))
        .chain(per.into_iter().map(|(g, n)| impact(g, n)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_string_is_sorted_and_joined() {
        let m: StringMap = [("b".into(), "2".into()), ("a".into(), "1".into())].into();
        assert_eq!(label_selector(&m), "a=1,b=2");
        assert_eq!(label_selector(&StringMap::new()), "");
    }

    #[test]
    fn pods_group_by_controller() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "c-1", "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "c-7d", "uid": "u", "controller": true}
            ]}
        }))
        .unwrap();
        assert_eq!(pod_group(&pod), "ReplicaSet/c-7d");
        let bare: Pod =
            serde_json::from_value(serde_json::json!({"metadata": {"name": "solo"}})).unwrap();
        assert_eq!(pod_group(&bare), "Pod/solo");
    }
}

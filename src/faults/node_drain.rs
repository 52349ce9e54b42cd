//! nodeDrain: cordon the nodes, then evict their pods through the eviction
//! API (PDBs honoured), the way `kubectl drain` does
//! (`staging/src/k8s.io/kubectl/pkg/drain/filters.go`):
//! - DaemonSet and mirror pods are skipped (they would come straight back);
//! - a bare pod (no controller: nothing recreates it) is refused unless
//!   `force`, a pod with `emptyDir` data unless `deleteEmptyDirData`; the
//!   refusal happens at plan, before any write, naming the pods;
//! - `gracePeriod` is sent with each eviction, else the pod's own applies.
//!
//! Only pods in the scenario's target namespaces are evicted, never
//! protected namespaces. The blast radius counts the evicted pods per
//! workload (a drain can take 100% of a workload whose pods share a node),
//! besides the nodes themselves. Undo: uncordon; evicted pods are
//! rescheduled by their controllers.

use std::collections::BTreeSet;

use futures::FutureExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;

use super::about::About;
use super::common::{self, TargetOutcome};
use super::rbac::{NODES, Rule, pods_rw, pods_sub};
use super::{
    Batch, Entry, FaultCx, FaultError, FaultKind, Injecting, Planning, Reverting, node_cordon,
    pod_evict, targets,
};
use crate::k8s::Kube;
use crate::k8s::marks::{Marked, ObjKind, ObjRef, Stamp};
use crate::k8s::select::{Candidate, Candidates, GroupImpact};
use crate::scenario::ParamCheck;
use crate::scenario::TargetKind;
use crate::scenario::{Fault, FaultSpec};

pub struct NodeDrain;

pub const FAULT: Entry = Entry::new(&NodeDrain, ABOUT);

const STARTER: &str = r#"
hypothesis: Draining a blue node moves its pods without a failed request, and checkout keeps 99% success.
duration: 30s
successDuring: 0.99
      params:
        gracePeriod: 30s        # grace period of each eviction
"#;

const ABOUT: About = About {
    rbac: RBAC,
    marks: &[ObjKind::Node, ObjKind::Pod],
    starter: STARTER,
};

#[derive(Debug, Clone, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Grace period of each eviction (default: each pod's own; `0s`
    /// means 1s, as in kubectl).
    pub grace_period: Option<crate::values::Duration>,
    /// Also evict bare pods (no controller recreates them), as
    /// `kubectl drain --force`.
    pub force: Option<bool>,
    /// Also evict pods with emptyDir volumes (their data is lost), as
    /// `kubectl drain --delete-emptydir-data`.
    pub delete_empty_dir_data: Option<bool>,
}

const RBAC: &[Rule] = &[
    NODES,
    pods_rw(&["get", "list", "patch"]),
    pods_sub("pods/eviction", &["create"]),
];

/// Pods a drain leaves alone: DaemonSet pods, mirror (static) pods and
/// pods already terminating.
fn skipped(pod: &Pod) -> bool {
    let owners = pod.metadata.owner_references.as_deref().unwrap_or_default();
    let daemon = owners
        .iter()
        .any(|o| o.kind == "DaemonSet" && o.controller == Some(true));
    let mirror = pod
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"));
    daemon || mirror || pod.metadata.deletion_timestamp.is_some()
}

fn node_of(pod: &Pod) -> Option<&str> {
    pod.spec.as_ref().and_then(|s| s.node_name.as_deref())
}

fn bare(pod: &Pod) -> bool {
    !pod.metadata
        .owner_references
        .as_deref()
        .unwrap_or_default()
        .iter()
        .any(|o| o.controller == Some(true))
}

fn has_empty_dir(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .is_some_and(|vs| vs.iter().any(|v| v.empty_dir.is_some()))
}

/// Why a drain would refuse `pod` under these params, as kubectl words it.
fn refusal(pod: &Pod, force: bool, delete_empty_dir: bool) -> Option<&'static str> {
    if bare(pod) && !force {
        Some("declares no controller (set `force: true` to evict it; nothing recreates it)")
    } else if has_empty_dir(pod) && !delete_empty_dir {
        Some("has local storage in emptyDir (set `deleteEmptyDirData: true`; its data is lost)")
    } else {
        None
    }
}

/// The target namespaces a drain may touch: protected ones never.
fn drainable_namespaces<'a>(cx: &'a FaultCx<'a>) -> impl Iterator<Item = &'a String> {
    cx.scenario
        .spec
        .target
        .namespaces
        .iter()
        .filter(|ns| !cx.config.is_protected(ns))
}

/// The candidate nodes, with what draining each one would evict (by
/// workload) and every workload's live size; refused when a node holds a
/// pod `kubectl drain` would refuse.
async fn plan_drain(cx: &FaultCx<'_>) -> Result<Candidates, FaultError> {
    let (mut out, _) = targets::nodes(cx).await?;
    let names: BTreeSet<String> = out.items.iter().map(|c| c.obj.name.clone()).collect();
    let params: Params = cx.params()?;
    let force = params.force == Some(true);
    let delete_empty_dir = params.delete_empty_dir_data == Some(true);
    let mut refused = Vec::new();
    for ns in drainable_namespaces(cx) {
        let api = cx.kube.namespaced::<Pod>(ns);
        let lp = ListParams::default();
        let pods = cx
            .kube
            .call(&format!("list pods in {ns}"), || api.list(&lp))
            .await?;
        for pod in pods.items.iter().filter(|p| targets::pod_is_live(p)) {
            let group = targets::pod_group(pod);
            *out.group_totals.entry(group.clone()).or_default() += 1;
            let Some(node) = node_of(pod).filter(|n| names.contains(*n)) else {
                continue;
            };
            if skipped(pod) {
                continue;
            }
            let name = pod.metadata.name.as_deref().unwrap_or_default();
            if let Some(why) = refusal(pod, force, delete_empty_dir) {
                refused.push(format!("pod {ns}/{name} on {node} {why}"));
            }
            targets::count_eviction(&mut out, node, group);
        }
    }
    if refused.is_empty() {
        Ok(out)
    } else {
        Err(cx.invalid(format!(
            "cannot drain as `kubectl drain` would not: {}",
            refused.join("; ")
        )))
    }
}

async fn drain_one(
    cx: &FaultCx<'_>,
    stamp: &Stamp,
    node: &ObjRef,
) -> Result<TargetOutcome, FaultError> {
    if node_cordon::cordon(cx.kube, node, stamp).await?.is_none() {
        return Ok(common::gone_before_injection());
    }
    let grace = common::grace_override(cx.params::<Params>()?.grace_period);
    let mut refused = 0usize;
    for ns in drainable_namespaces(cx) {
        let api = cx.kube.namespaced::<Pod>(ns);
        let lp = ListParams::default().fields(&format!("spec.nodeName={}", node.name));
        let pods = cx
            .kube
            .call(&format!("list pods on {}", node.name), || api.list(&lp))
            .await?;
        for pod in pods.items.iter().filter(|p| !skipped(p)) {
            // Some API servers ignore the field selector: check the node too.
            if node_of(pod) != Some(node.name.as_str()) {
                continue;
            }
            let obj = ObjRef {
                kind: ObjKind::Pod,
                namespace: Some(ns.clone()),
                name: pod.metadata.name.clone().unwrap_or_default(),
            };
            let evicted = common::mark_then(cx.kube, &obj, stamp, async {
                Ok(match pod_evict::evict(cx.kube, &obj, grace).await? {
                    Some(()) => TargetOutcome::Done(vec![]),
                    None => TargetOutcome::Skipped {
                        marked: vec![obj.clone()],
                        reason: String::new(),
                    },
                })
            })
            .await?;
            if let TargetOutcome::Skipped { marked, .. } = evicted
                && !marked.is_empty()
            {
                // Refused by a PDB: leave the pod, drop its marks now.
                common::strip(cx.kube, &obj).await?;
                refused += 1;
            }
        }
    }
    if refused > 0 {
        tracing::info!(node = %node.name, refused, "disruption budgets refused some evictions");
    }
    Ok(TargetOutcome::Done(vec![node.clone()]))
}

impl FaultSpec for NodeDrain {
    fn name(&self) -> &'static str {
        "nodeDrain"
    }

    fn target_kind(&self) -> TargetKind {
        TargetKind::Nodes
    }

    fn check_params(&self, check: &mut ParamCheck<'_, '_>) {
        check.typed::<Params>();
    }
}

impl FaultKind for NodeDrain {
    fn plan<'a>(&'a self, cx: &'a FaultCx<'a>) -> Planning<'a> {
        plan_drain(cx).boxed()
    }

    fn impact(
        &self,
        _fault: &Fault,
        chosen: &[Candidate],
        all: &Candidates,
    ) -> Option<Vec<GroupImpact>> {
        Some(targets::eviction_impact(chosen, all))
    }

    fn inject<'a>(&'a self, cx: &'a FaultCx<'a>, batch: Batch<'a>) -> Injecting<'a> {
        common::each_target(batch, cx.concurrency, move |t| {
            drain_one(cx, batch.stamp, &t.obj).boxed()
        })
        .boxed()
    }

    fn revert<'a>(&'a self, kube: &'a Kube, marked: &'a Marked) -> Reverting<'a> {
        async move {
            match marked.obj.kind {
                ObjKind::Node => node_cordon::uncordon(kube, marked).await,
                // A pod marked on its way to eviction that survived.
                _ => common::strip(kube, &marked.obj).await,
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn drain_refuses_what_kubectl_drain_refuses() {
        let owned = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u", "controller": true}]);
        let bare_pod = pod(json!({"metadata": {"name": "solo"}}));
        assert!(refusal(&bare_pod, false, false).is_some());
        assert!(refusal(&bare_pod, true, false).is_none());
        let scratch = pod(json!({"metadata": {"name": "s", "ownerReferences": owned},
            "spec": {"containers": [], "volumes": [{"name": "tmp", "emptyDir": {}}]}}));
        assert!(refusal(&scratch, true, false).is_some());
        assert!(refusal(&scratch, false, true).is_none());
        let daemon = pod(json!({"metadata": {"name": "d", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "ds", "uid": "u", "controller": true}]}}));
        assert!(skipped(&daemon));
        let mirror = pod(json!({"metadata": {"name": "m",
            "annotations": {"kubernetes.io/config.mirror": "x"}}}));
        assert!(skipped(&mirror));
    }

    #[test]
    fn impact_is_counted_per_workload() {
        let node = |n: &str| Candidate {
            obj: ObjRef {
                kind: ObjKind::Node,
                namespace: None,
                name: n.into(),
            },
            group: targets::NODES_GROUP.into(),
        };
        let mut all = Candidates {
            items: vec![node("a"), node("b")],
            group_totals: BTreeMap::from([
                (targets::NODES_GROUP.to_string(), 3),
                ("ReplicaSet/web".to_string(), 2),
            ]),
            ..Default::default()
        };
        all.disrupts.insert(
            node("a").obj.to_string(),
            BTreeMap::from([("ReplicaSet/web".to_string(), 2)]),
        );
        let groups = targets::eviction_impact(&[node("a")], &all);
        assert_eq!(groups[0].percent, 34, "1 node of 3");
        assert_eq!(groups[1].group, "ReplicaSet/web");
        assert_eq!(groups[1].percent, 100, "both web pods are on node a");
    }
}

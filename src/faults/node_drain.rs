//! nodeDrain: cordon the nodes, then evict their pods through the eviction
//! API (PDBs honoured). Only pods in the scenario's target namespaces are
//! evicted, never DaemonSet or mirror pods, never protected namespaces.
//! Undo: uncordon; evicted pods are rescheduled by their controllers.

use std::sync::atomic::AtomicBool;

use futures::FutureExt;
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;

use super::common::{self, TargetOutcome};
use super::rbac::{NODES, Rule, pods_rw, pods_sub};
use super::{
    FaultCx, FaultError, FaultKind, Reverted, TargetResult, node_cordon, pod_evict, targets,
};
use crate::k8s::Kube;
use crate::k8s::marks::{Marked, ObjKind, ObjRef, Stamp};
use crate::k8s::select::{Candidate, Candidates};
use crate::scenario::FaultType;

pub struct NodeDrain;

const RBAC: &[Rule] = &[
    NODES,
    pods_rw(&["get", "list", "patch"]),
    pods_sub("pods/eviction", &["create"]),
];

fn evictable(pod: &Pod) -> bool {
    let owners = pod.metadata.owner_references.as_deref().unwrap_or_default();
    let daemon = owners.iter().any(|o| o.kind == "DaemonSet");
    let mirror = pod
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"));
    !daemon && !mirror && pod.metadata.deletion_timestamp.is_none()
}

async fn drain_one(
    cx: &FaultCx<'_>,
    stamp: &Stamp,
    node: &ObjRef,
) -> Result<TargetOutcome, FaultError> {
    if node_cordon::cordon(cx.kube, node, stamp).await?.is_none() {
        return Ok(TargetOutcome::Skipped {
            marked: vec![],
            reason: "gone before injection".into(),
        });
    }
    let mut refused = 0usize;
    for ns in &cx.scenario.spec.target.namespaces {
        if cx.config.is_protected(ns) {
            continue;
        }
        let api = cx.kube.namespaced::<Pod>(ns);
        let lp = ListParams::default().fields(&format!("spec.nodeName={}", node.name));
        let pods = cx
            .kube
            .call(&format!("list pods on {}", node.name), || api.list(&lp))
            .await?;
        for pod in pods.items.iter().filter(|p| evictable(p)) {
            // Some API servers ignore the field selector: check the node too.
            if pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) != Some(node.name.as_str()) {
                continue;
            }
            let obj = ObjRef {
                kind: ObjKind::Pod,
                namespace: Some(ns.clone()),
                name: pod.metadata.name.clone().unwrap_or_default(),
            };
            let evicted = common::mark_then(cx.kube, &obj, stamp, async {
                Ok(match pod_evict::evict(cx.kube, &obj).await? {
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

impl FaultKind for NodeDrain {
    fn fault_type(&self) -> FaultType {
        FaultType::NodeDrain
    }

    fn rbac(&self) -> &'static [Rule] {
        RBAC
    }

    fn plan<'a>(&'a self, cx: &'a FaultCx<'a>) -> BoxFuture<'a, Result<Candidates, FaultError>> {
        async move { Ok(targets::nodes(cx).await?.0) }.boxed()
    }

    fn inject<'a>(
        &'a self,
        cx: &'a FaultCx<'a>,
        stamp: &'a Stamp,
        targets: &'a [Candidate],
        stop: &'a AtomicBool,
    ) -> BoxFuture<'a, Vec<TargetResult>> {
        common::each_target(targets, cx.concurrency, stop, move |t| {
            drain_one(cx, stamp, &t.obj).boxed()
        })
        .boxed()
    }

    fn revert<'a>(
        &'a self,
        kube: &'a Kube,
        marked: &'a Marked,
    ) -> BoxFuture<'a, Result<Reverted, FaultError>> {
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

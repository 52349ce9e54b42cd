//! nodeCordon: mark nodes unschedulable. Undo: the previous
//! `{"unschedulable": bool}`, so a node that was cordoned by someone else
//! stays cordoned after the revert.

use std::sync::atomic::AtomicBool;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::json;

use super::common::{self, TargetOutcome};
use super::rbac::{NODES, Rule};
use super::{FaultCx, FaultError, FaultKind, Reverted, TargetResult, targets};
use crate::k8s::Kube;
use crate::k8s::marks::{self, Marked, ObjRef, Stamp};
use crate::k8s::select::{Candidate, Candidates};
use crate::scenario::FaultType;

pub struct NodeCordon;

const RBAC: &[Rule] = &[NODES];

/// Cordons one node in the same write that marks it.
pub async fn cordon(kube: &Kube, obj: &ObjRef, stamp: &Stamp) -> Result<Option<()>, FaultError> {
    let Some(node) = common::get(kube, obj).await? else {
        return Ok(None);
    };
    let was = node.data["spec"]["unschedulable"]
        .as_bool()
        .unwrap_or(false);
    let patch = marks::combine(
        stamp.patch(&json!({ "unschedulable": was }), &[]),
        &json!({"spec": {"unschedulable": true}}),
    );
    Ok(common::merge_patch(kube, obj, &patch).await?.map(|_| ()))
}

/// Uncordons (or keeps cordoned) per the undo data.
pub async fn uncordon(kube: &Kube, marked: &Marked) -> Result<Reverted, FaultError> {
    let was = marked.undo["unschedulable"].as_bool().unwrap_or(false);
    // `null` removes the field, which is what an uncordoned node looks like.
    let value = if was {
        json!(true)
    } else {
        serde_json::Value::Null
    };
    common::restore(
        kube,
        &marked.obj,
        &json!({"spec": {"unschedulable": value}}),
    )
    .await
}

impl FaultKind for NodeCordon {
    fn fault_type(&self) -> FaultType {
        FaultType::NodeCordon
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
            async move {
                Ok(match cordon(cx.kube, &t.obj, stamp).await? {
                    Some(()) => TargetOutcome::Done(vec![t.obj.clone()]),
                    None => TargetOutcome::Skipped {
                        marked: vec![],
                        reason: "gone before injection".into(),
                    },
                })
            }
            .boxed()
        })
        .boxed()
    }

    fn revert<'a>(
        &'a self,
        kube: &'a Kube,
        marked: &'a Marked,
    ) -> BoxFuture<'a, Result<Reverted, FaultError>> {
        uncordon(kube, marked).boxed()
    }
}

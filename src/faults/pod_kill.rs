//! podKill: delete pods with a grace period. The controller recreates them,
//! so there is nothing to undo; a pod that was marked but survived (the
//! delete never landed) just loses its marks on revert.

use std::sync::atomic::AtomicBool;

use futures::FutureExt;
use futures::future::BoxFuture;

use super::common::{self, TargetOutcome};
use super::rbac::{Rule, pods_rw};
use super::{FaultCx, FaultError, FaultKind, Reverted, TargetResult, targets};
use crate::k8s::Kube;
use crate::k8s::marks::{Marked, Stamp};
use crate::k8s::select::{Candidate, Candidates};
use crate::scenario::FaultType;

pub struct PodKill;

const RBAC: &[Rule] = &[pods_rw(&["get", "list", "patch", "delete"])];

impl FaultKind for PodKill {
    fn fault_type(&self) -> FaultType {
        FaultType::PodKill
    }

    fn rbac(&self) -> &'static [Rule] {
        RBAC
    }

    fn plan<'a>(&'a self, cx: &'a FaultCx<'a>) -> BoxFuture<'a, Result<Candidates, FaultError>> {
        async move { Ok(targets::pods(cx).await?.0) }.boxed()
    }

    fn inject<'a>(
        &'a self,
        cx: &'a FaultCx<'a>,
        stamp: &'a Stamp,
        targets: &'a [Candidate],
        stop: &'a AtomicBool,
    ) -> BoxFuture<'a, Vec<TargetResult>> {
        let grace = cx
            .fault
            .params
            .as_ref()
            .and_then(|p| p.grace_period)
            .map(|d| d.as_std().as_secs() as u32)
            .unwrap_or(0);
        common::each_target(targets, cx.concurrency, stop, move |t| {
            async move {
                common::mark_then(cx.kube, &t.obj, stamp, async {
                    common::delete(cx.kube, &t.obj, Some(grace)).await?;
                    // Deleted: nothing left to revert.
                    Ok(TargetOutcome::Done(vec![]))
                })
                .await
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
        common::strip(kube, &marked.obj).boxed()
    }
}

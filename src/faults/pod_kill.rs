//! podKill: delete pods the way `kubectl delete pod` does. By default the
//! pod's own `terminationGracePeriodSeconds` applies (no grace period is
//! sent), so the app gets SIGTERM and its endpoints are removed first;
//! `gracePeriod` overrides it; `force: true` is the explicit force delete
//! (`gracePeriodSeconds: 0`), a crash as far as traffic is concerned, and
//! the only way a StatefulSet can run two pods of one identity.
//!
//! Like kubectl (`staging/src/k8s.io/kubectl/pkg/cmd/delete/delete.go`:
//! "we convert --grace-period=0 into --grace-period=1"), `gracePeriod: 0s`
//! without `force` sends 1 second.
//!
//! The kill counts only on evidence: the DELETE's answer shows the pod
//! terminating or gone, or a bounded wait sees it terminating, gone or
//! replaced. Controllers recreate the pods, so there is nothing to undo; a
//! pod that was marked but survived just loses its marks on revert.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::BoxFuture;

use super::common::{self, DeleteSeen, TargetOutcome};
use super::rbac::{Rule, pods_rw};
use super::{FaultCx, FaultError, FaultKind, Reverted, TargetResult, targets};
use crate::k8s::Kube;
use crate::k8s::marks::{Marked, ObjRef, Stamp};
use crate::k8s::select::{Candidate, Candidates};
use crate::scenario::{FaultType, Params};

pub struct PodKill;

const RBAC: &[Rule] = &[pods_rw(&["get", "list", "patch", "delete"])];

/// How long a kill may take to show (terminating, gone or replaced) when
/// the DELETE's answer did not already show it.
const EVIDENCE_WAIT: Duration = Duration::from_secs(10);

/// The `gracePeriodSeconds` to send: none (the pod's own), the override
/// (at least 1, as kubectl does), or 0 for `force`.
pub fn grace_seconds(params: Option<&Params>) -> Option<u32> {
    let p = params?;
    if p.force == Some(true) {
        return Some(0);
    }
    common::grace_override(Some(p))
}

/// Polls until the pod `uid` is terminating, gone or replaced.
async fn wait_for_evidence(kube: &Kube, obj: &ObjRef, uid: &str) -> Result<(), FaultError> {
    let deadline = Instant::now() + EVIDENCE_WAIT;
    loop {
        match common::get(kube, obj).await? {
            None => return Ok(()),
            Some(o) if o.metadata.uid.as_deref() != Some(uid) => return Ok(()),
            Some(o) if o.metadata.deletion_timestamp.is_some() => return Ok(()),
            Some(_) if Instant::now() >= deadline => {
                return Err(FaultError::Unverified {
                    obj: obj.to_string(),
                    message: format!(
                        "not in effect: the delete was accepted but the pod was neither terminating nor gone after {}s",
                        EVIDENCE_WAIT.as_secs()
                    ),
                });
            }
            Some(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

async fn kill(
    kube: &Kube,
    obj: &ObjRef,
    stamp: &Stamp,
    grace: Option<u32>,
) -> Result<TargetOutcome, FaultError> {
    let Some(marked) = common::mark(kube, obj, stamp).await? else {
        return Ok(common::gone_before_injection());
    };
    let uid = marked.metadata.uid.unwrap_or_default();
    let guard = Some(uid.as_str()).filter(|u| !u.is_empty());
    match common::delete_seen(kube, obj, grace, guard).await? {
        DeleteSeen::Terminating | DeleteSeen::Removed | DeleteSeen::Missing => {}
        DeleteSeen::Unclear => wait_for_evidence(kube, obj, &uid).await?,
    }
    // Deleted: nothing left to revert.
    Ok(TargetOutcome::Done(vec![]))
}

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
        let grace = grace_seconds(cx.fault.params.as_ref());
        common::each_target(targets, cx.concurrency, stop, move |t| {
            kill(cx.kube, &t.obj, stamp, grace).boxed()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Duration as D;

    fn params(grace: Option<&str>, force: Option<bool>) -> Params {
        Params {
            grace_period: grace.map(|g| g.parse::<D>().unwrap()),
            force,
            ..Params::default()
        }
    }

    #[test]
    fn the_pods_own_grace_period_applies_unless_overridden_or_forced() {
        assert_eq!(grace_seconds(None), None);
        assert_eq!(grace_seconds(Some(&Params::default())), None);
        assert_eq!(grace_seconds(Some(&params(Some("5s"), None))), Some(5));
        // kubectl turns 0 into 1 unless --force.
        assert_eq!(grace_seconds(Some(&params(Some("0s"), None))), Some(1));
        assert_eq!(grace_seconds(Some(&params(None, Some(true)))), Some(0));
        assert_eq!(grace_seconds(Some(&params(None, Some(false)))), None);
    }
}

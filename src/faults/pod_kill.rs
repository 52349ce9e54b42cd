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

use std::time::{Duration, Instant};

use futures::FutureExt;

use schemars::JsonSchema;
use serde::Deserialize;

use super::about::About;
use super::common::{self, DeleteSeen, TargetOutcome};
use super::rbac::{Rule, pods_rw};
use super::{
    Batch, Entry, FaultCx, FaultError, FaultKind, Injecting, Planning, Reverting, targets,
};
use crate::k8s::Kube;
use crate::k8s::marks::{Marked, ObjKind, ObjRef, Stamp};
use crate::scenario::{FaultSpec, ParamCheck};
use crate::values::Duration as Span;
use crate::yaml::Target;

pub struct PodKill;

pub const FAULT: Entry = Entry::new(&PodKill, ABOUT);

const STARTER: &str = r#"
hypothesis: A crashed checkout pod is replaced while checkout keeps 75% success; the error-rate alert pages within 1m, and checkout is back above 99% within 1m.
successDuring: 0.75
alert: CheckoutHighErrorRate
      params:
        force: true             # a crash (force delete); its share of requests fails until the endpoints catch up
"#;

const ABOUT: About = About {
    rbac: RBAC,
    marks: &[ObjKind::Pod],
    starter: STARTER,
};

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Grace period for the deletion (default: the pod's own
    /// `terminationGracePeriodSeconds`; `0s` means 1s, as in kubectl,
    /// unless `force`).
    pub grace_period: Option<Span>,
    /// Force delete (`gracePeriodSeconds: 0`): the pod vanishes while serving.
    pub force: Option<bool>,
}

const RBAC: &[Rule] = &[pods_rw(&["get", "list", "patch", "delete"])];

/// How long a kill may take to show (terminating, gone or replaced) when
/// the DELETE's answer did not already show it.
const EVIDENCE_WAIT: Duration = Duration::from_secs(10);

/// The `gracePeriodSeconds` to send: none (the pod's own), the override
/// (at least 1, as kubectl does), or 0 for `force`.
pub fn grace_seconds(p: &Params) -> Option<u32> {
    if p.force == Some(true) {
        return Some(0);
    }
    common::grace_override(p.grace_period)
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

impl FaultSpec for PodKill {
    fn name(&self) -> &'static str {
        "podKill"
    }

    fn holds(&self) -> bool {
        false
    }

    fn check_params(&self, check: &mut ParamCheck<'_, '_>) {
        let Some(p) = check.typed::<Params>() else {
            return;
        };
        if p.force == Some(true) && p.grace_period.is_some_and(|g| !g.as_std().is_zero()) {
            let name = &check.fault.name;
            check.error(
                &["gracePeriod"],
                Target::Key,
                format!("fault `{name}` sets `force: true` and a `gracePeriod`"),
                Some("a force delete has no grace period; remove `gracePeriod`, or `force` for a graceful delete".into()),
            );
        }
    }
}

impl FaultKind for PodKill {
    fn plan<'a>(&'a self, cx: &'a FaultCx<'a>) -> Planning<'a> {
        async move { Ok(targets::pods(cx).await?.0) }.boxed()
    }

    fn inject<'a>(&'a self, cx: &'a FaultCx<'a>, batch: Batch<'a>) -> Injecting<'a> {
        async move {
            let grace = match cx.params::<Params>() {
                Ok(p) => grace_seconds(&p),
                Err(e) => return common::all_failed(batch.targets, &e),
            };
            common::each_target(batch, cx.concurrency, move |t| {
                kill(cx.kube, &t.obj, batch.stamp, grace).boxed()
            })
            .await
        }
        .boxed()
    }

    fn revert<'a>(&'a self, kube: &'a Kube, marked: &'a Marked) -> Reverting<'a> {
        common::strip(kube, &marked.obj).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(grace: Option<&str>, force: Option<bool>) -> Params {
        Params {
            grace_period: grace.map(|g| g.parse::<Span>().unwrap()),
            force,
        }
    }

    #[test]
    fn the_pods_own_grace_period_applies_unless_overridden_or_forced() {
        assert_eq!(grace_seconds(&Params::default()), None);
        assert_eq!(grace_seconds(&params(Some("5s"), None)), Some(5));
        // kubectl turns 0 into 1 unless --force.
        assert_eq!(grace_seconds(&params(Some("0s"), None)), Some(1));
        assert_eq!(grace_seconds(&params(None, Some(true))), Some(0));
        assert_eq!(grace_seconds(&params(None, Some(false))), None);
    }
}

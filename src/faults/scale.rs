//! scale: set a Deployment's or StatefulSet's replicas to `replicas`, or
//! change them `by` a relative amount. Undo: `{"replicas": N}`. The impact
//! is the share of replicas removed, so scaling to zero is a full outage.

use std::sync::atomic::AtomicBool;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::json;

use super::common::{self, TargetOutcome};
use super::rbac::{Rule, workloads};
use super::{FaultCx, FaultError, FaultKind, Reverted, TargetResult, targets};
use crate::k8s::Kube;
use crate::k8s::marks::{self, Marked, Stamp};
use crate::k8s::select::{Candidate, Candidates, GroupImpact};
use crate::scenario::{Fault, FaultType};

pub struct Scale;

const RBAC: &[Rule] = &[workloads("deployments"), workloads("statefulsets")];

/// The replica count after the fault. Default: minus one.
pub fn desired(fault: &Fault, current: i64) -> i64 {
    let p = fault.params.as_ref();
    match (p.and_then(|p| p.replicas), p.and_then(|p| p.by)) {
        (Some(r), _) => r as i64,
        (None, Some(by)) => (current + by as i64).max(0),
        (None, None) => (current - 1).max(0),
    }
}

impl FaultKind for Scale {
    fn fault_type(&self) -> FaultType {
        FaultType::Scale
    }

    fn rbac(&self) -> &'static [Rule] {
        RBAC
    }

    fn plan<'a>(&'a self, cx: &'a FaultCx<'a>) -> BoxFuture<'a, Result<Candidates, FaultError>> {
        targets::workload(cx).boxed()
    }

    fn impact(
        &self,
        fault: &Fault,
        chosen: &[Candidate],
        all: &Candidates,
    ) -> Option<Vec<GroupImpact>> {
        Some(
            chosen
                .iter()
                .map(|c| {
                    let total = all.total_of(&c.group);
                    let removed = (total as i64 - desired(fault, total as i64)).max(0) as usize;
                    GroupImpact {
                        group: c.group.clone(),
                        chosen: removed,
                        total,
                        percent: if total == 0 {
                            0
                        } else {
                            ((removed * 100).div_ceil(total)) as u32
                        },
                    }
                })
                .collect(),
        )
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
                let Some(w) = common::get(cx.kube, &t.obj).await? else {
                    return Ok(TargetOutcome::Skipped {
                        marked: vec![],
                        reason: "gone before injection".into(),
                    });
                };
                let current = w.data["spec"]["replicas"].as_i64().unwrap_or(1);
                let patch = marks::combine(
                    stamp.patch(&json!({ "replicas": current }), &[]),
                    &json!({"spec": {"replicas": desired(cx.fault, current)}}),
                );
                match common::merge_patch(cx.kube, &t.obj, &patch).await? {
                    Some(_) => Ok(TargetOutcome::Done(vec![t.obj.clone()])),
                    None => Ok(TargetOutcome::Skipped {
                        marked: vec![],
                        reason: "gone before injection".into(),
                    }),
                }
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
        async move {
            match marked.undo.get("replicas").and_then(|r| r.as_i64()) {
                Some(r) => {
                    common::restore(kube, &marked.obj, &json!({"spec": {"replicas": r}})).await
                }
                None => Err(FaultError::Undo {
                    obj: marked.obj.to_string(),
                    message: "gameday/undo has no `replicas`".into(),
                }),
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Params;

    fn fault(replicas: Option<u32>, by: Option<i32>) -> Fault {
        serde_json::from_value(json!({
            "name": "s", "type": "scale", "selector": {"namespace": "shop"},
        }))
        .map(|mut f: Fault| {
            f.params = Some(Params {
                replicas,
                by,
                ..Default::default()
            });
            f
        })
        .unwrap()
    }

    #[test]
    fn desired_replicas() {
        assert_eq!(desired(&fault(Some(1), None), 4), 1);
        assert_eq!(desired(&fault(None, Some(-2)), 4), 2);
        assert_eq!(desired(&fault(None, Some(-9)), 4), 0);
        assert_eq!(desired(&fault(None, None), 4), 3);
    }
}

//! badRollout: set the workload's pod template image to a broken reference
//! (ImagePullBackOff), as a bad deploy would. The rollout strategy keeps
//! most old pods, so the impact counted is the strategy's default 25%
//! maxUnavailable of the replicas. Undo: the template's original images.

use std::sync::atomic::AtomicBool;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::json;

use super::common::{self, TargetOutcome};
use super::pod_failure::{restored_containers, with_images};
use super::rbac::{Rule, workloads};
use super::{FaultCx, FaultError, FaultKind, Reverted, TargetResult, targets};
use crate::k8s::Kube;
use crate::k8s::marks::{self, Marked, Stamp};
use crate::k8s::select::{Candidate, Candidates, GroupImpact};
use crate::scenario::{Fault, FaultType};

pub struct BadRollout;

pub const DEFAULT_IMAGE: &str = "registry.invalid/gameday/does-not-exist:0";

const RBAC: &[Rule] = &[workloads("deployments"), workloads("statefulsets")];

impl FaultKind for BadRollout {
    fn fault_type(&self) -> FaultType {
        FaultType::BadRollout
    }

    fn rbac(&self) -> &'static [Rule] {
        RBAC
    }

    fn plan<'a>(&'a self, cx: &'a FaultCx<'a>) -> BoxFuture<'a, Result<Candidates, FaultError>> {
        targets::workload(cx).boxed()
    }

    fn impact(
        &self,
        _fault: &Fault,
        chosen: &[Candidate],
        all: &Candidates,
    ) -> Option<Vec<GroupImpact>> {
        Some(
            chosen
                .iter()
                .map(|c| {
                    let total = all.total_of(&c.group).max(1);
                    let hit = total.div_ceil(4);
                    GroupImpact {
                        group: c.group.clone(),
                        chosen: hit,
                        total,
                        percent: ((hit * 100).div_ceil(total)) as u32,
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
        let image = cx
            .fault
            .params
            .as_ref()
            .and_then(|p| p.image.clone())
            .unwrap_or_else(|| DEFAULT_IMAGE.to_string());
        let image = std::sync::Arc::new(image);
        common::each_target(targets, cx.concurrency, stop, move |t| {
            let image = image.clone();
            async move {
                let Some(w) = common::get(cx.kube, &t.obj).await? else {
                    return Ok(TargetOutcome::Skipped {
                        marked: vec![],
                        reason: "gone before injection".into(),
                    });
                };
                let (containers, before) = with_images(
                    &w.data["spec"]["template"]["spec"]["containers"],
                    &|_, _| image.to_string(),
                );
                let patch = marks::combine(
                    stamp.patch(&json!({ "images": before }), &[]),
                    &json!({"spec": {"template": {"spec": {"containers": containers}}}}),
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
            let Some(w) = common::get(kube, &marked.obj).await? else {
                return Ok(Reverted::Gone);
            };
            let containers = restored_containers(
                &w.data["spec"]["template"]["spec"]["containers"],
                &marked.undo,
            );
            common::restore(
                kube,
                &marked.obj,
                &json!({"spec": {"template": {"spec": {"containers": containers}}}}),
            )
            .await
        }
        .boxed()
    }
}

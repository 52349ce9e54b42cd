//! badRollout: set the workload's pod template image to a broken reference
//! (ImagePullBackOff), as a bad deploy would. The impact counted comes from
//! the rollout strategy, read at plan: `Recreate` takes every pod down (100%);
//! a Deployment's RollingUpdate loses at most `maxUnavailable` (default 25%,
//! at least one pod counted); a StatefulSet's RollingUpdate replaces one pod
//! at a time and stops at the first that never becomes Ready; `OnDelete`
//! changes no pod until one is deleted (counted as one).
//!
//! Undo: the template's original images. A Deployment then rolls back by
//! itself; a StatefulSet does not replace a pod stuck at the bad revision
//! ("forced rollback" in the StatefulSet docs: after reverting the template,
//! delete the pods it already tried to run with the bad configuration), so
//! the revert deletes the owned pods whose images differ from the restored
//! template, gracefully, and the controller recreates them.

use std::time::Duration;

use futures::FutureExt;
use serde_json::json;

use super::about::About;
use super::common::{self, TargetOutcome};
use super::patched::{self, Change, Shown};
use super::pod_failure::{images, restored_containers, with_images};
use super::rbac::{Rule, pods_rw, workloads};
use super::restored;
use super::{Entry, FaultCx, FaultError, FaultKind, Planning, Reverted, Reverting, targets};
use crate::k8s::Kube;
use crate::k8s::marks::{Marked, ObjKind, ObjRef};
use crate::k8s::select::{Candidate, Candidates, GroupImpact};
use crate::scenario::ParamCheck;
use crate::scenario::TargetKind;
use crate::scenario::{Fault, FaultSpec};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DynamicObject, ListParams};
use serde_json::Value;

pub struct BadRollout;

pub const FAULT: Entry = Entry::new(&BadRollout, ABOUT);

const STARTER: &str = r#"
hypothesis: A checkout rollout to an image that cannot be pulled stalls without a failed request; the replicas-unavailable alert pages within 1m, and the revert restores every replica.
duration: 30s
successDuring: 0.99
alert: DeploymentReplicasUnavailable
      params:
        image: registry.invalid/does-not-exist:0   # an image that cannot be pulled
"#;

const ABOUT: About = About {
    rbac: RBAC,
    marks: &[ObjKind::Deployment, ObjKind::StatefulSet],
    starter: STARTER,
};

#[derive(Debug, Clone, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// The image to set (default: an image that cannot be pulled).
    pub image: Option<String>,
}

pub const DEFAULT_IMAGE: &str = "registry.invalid/gameday/does-not-exist:0";

const RBAC: &[Rule] = &[
    workloads("deployments"),
    workloads("statefulsets"),
    // A StatefulSet's revert deletes the pods stuck at the bad revision.
    pods_rw(&["list", "delete"]),
];

/// An int-or-percent of `total`, rounded down (as the Deployment
/// controller rounds maxUnavailable).
fn scaled_down(v: &Value, total: usize) -> Option<usize> {
    match v {
        Value::Number(n) => n.as_u64().map(|n| n as usize),
        Value::String(s) => {
            let p: usize = s.strip_suffix('%')?.trim().parse().ok()?;
            Some(p * total / 100)
        }
        _ => None,
    }
}

/// How many of `total` pods a broken template takes down, from the
/// workload's rollout strategy.
pub fn pods_hit(kind: ObjKind, workload: &Value, total: usize) -> usize {
    let spec = &workload["spec"];
    let hit = match kind {
        ObjKind::Deployment => match spec["strategy"]["type"].as_str() {
            Some("Recreate") => total,
            _ => scaled_down(&spec["strategy"]["rollingUpdate"]["maxUnavailable"], total)
                .unwrap_or(total / 4),
        },
        _ => match spec["updateStrategy"]["type"].as_str() {
            Some("OnDelete") => 1,
            _ => scaled_down(
                &spec["updateStrategy"]["rollingUpdate"]["maxUnavailable"],
                total,
            )
            .unwrap_or(1),
        },
    };
    hit.clamp(1, total.max(1))
}

/// How long the workload's controller may take to start the rollout.
const ROLLOUT_WAIT: Duration = Duration::from_secs(30);

/// Records the template's images and points every container at the bad one.
fn change(p: &Params, w: &DynamicObject) -> Change {
    let image = p.image.as_deref().unwrap_or(DEFAULT_IMAGE);
    let (containers, before) = with_images(
        &w.data["spec"]["template"]["spec"]["containers"],
        &|_, _| image.to_string(),
    );
    Change {
        undo: json!({ "images": before }),
        patch: json!({"spec": {"template": {"spec": {"containers": containers}}}}),
    }
}

/// Injected once the rollout of the new template has started; an error
/// still reports the target marked, so it is reverted.
fn shown<'a>(cx: &'a FaultCx<'a>, _: &Params, obj: &'a ObjRef, w: DynamicObject) -> Shown<'a> {
    let generation = w.metadata.generation.unwrap_or(0);
    async move {
        rollout_started(cx.kube, obj, generation).await?;
        Ok(TargetOutcome::Done(vec![obj.clone()]))
    }
    .boxed()
}

/// The evidence that the bad rollout started: the controller has observed
/// the new generation and has pods at the new revision (`updatedReplicas`;
/// none are expected of a workload scaled to zero). Until then the fault
/// changed a template and nothing else.
async fn rollout_started(kube: &Kube, obj: &ObjRef, generation: i64) -> Result<(), FaultError> {
    let started = |w: &serde_json::Value| {
        let status = &w["status"];
        let observed = status["observedGeneration"].as_i64().unwrap_or(0);
        let updated = status["updatedReplicas"].as_i64().unwrap_or(0);
        let wanted = w["spec"]["replicas"].as_i64().unwrap_or(1);
        (observed < generation || (updated < 1 && wanted != 0)).then(|| {
            format!("observedGeneration {observed} of {generation}, updatedReplicas {updated}")
        })
    };
    match restored::poll_until(kube, obj, ROLLOUT_WAIT, started).await? {
        None => Ok(()),
        Some(why) => Err(FaultError::Unverified {
            obj: obj.to_string(),
            message: format!(
                "not in effect: the controller did not start the rollout within {}s ({why})",
                ROLLOUT_WAIT.as_secs()
            ),
        }),
    }
}

impl FaultSpec for BadRollout {
    fn name(&self) -> &'static str {
        "badRollout"
    }

    fn target_kind(&self) -> TargetKind {
        TargetKind::Workload
    }

    fn check_params(&self, check: &mut ParamCheck<'_, '_>) {
        if let Some(p) = check.typed::<Params>() {
            check.non_empty(p.image.as_deref(), "image");
        }
    }
}

impl FaultKind for BadRollout {
    fn plan<'a>(&'a self, cx: &'a FaultCx<'a>) -> Planning<'a> {
        async move {
            let mut out = targets::workload(cx).await?;
            for c in &out.items {
                if let Some(w) = common::get(cx.kube, &c.obj).await? {
                    let hit = pods_hit(c.obj.kind, &w.data, out.total_of(&c.group));
                    out.disrupts.insert(
                        c.obj.to_string(),
                        [(c.group.clone(), hit)].into_iter().collect(),
                    );
                }
            }
            Ok(out)
        }
        .boxed()
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
                    // Journals from before the strategy was read: 25%.
                    let hit = all
                        .disrupts
                        .get(&c.obj.to_string())
                        .and_then(|m| m.get(&c.group).copied())
                        .unwrap_or_else(|| total.div_ceil(4));
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

    patched::methods!(change, shown);

    /// Restores the template, replaces a StatefulSet's stuck pods, waits
    /// until the workload has rolled back out, and only then removes the
    /// marks (see [`restored`]).
    fn revert<'a>(&'a self, kube: &'a Kube, marked: &'a Marked) -> Reverting<'a> {
        async move {
            let Some(w) = common::get(kube, &marked.obj).await? else {
                return Ok(Reverted::Gone);
            };
            let containers = restored_containers(
                &w.data["spec"]["template"]["spec"]["containers"],
                &marked.undo,
            );
            let template = json!({"spec": {"template": {"spec": {"containers": containers}}}});
            let Some(after) = common::merge_patch(kube, &marked.obj, &template).await? else {
                return Ok(Reverted::Gone);
            };
            if marked.obj.kind == ObjKind::StatefulSet {
                replace_stuck_pods(kube, &marked.obj, &w, &containers).await?;
            }
            let generation = after.metadata.generation.unwrap_or(0);
            restored::wait_until_back(kube, &marked.obj, |w| {
                restored::rollout_pending(marked.obj.kind, w, generation)
            })
            .await?;
            common::strip(kube, &marked.obj).await
        }
        .boxed()
    }
}

/// Deletes the StatefulSet's pods whose images are not the restored
/// template's: the controller never replaces a pod stuck at a bad
/// revision by itself. Graceful (the pod's own grace period), guarded by
/// uid; pods already terminating are left to finish.
async fn replace_stuck_pods(
    kube: &Kube,
    sts: &ObjRef,
    live: &DynamicObject,
    restored: &Value,
) -> Result<(), FaultError> {
    let ns = sts.namespace.as_deref().unwrap_or("default");
    let want = images(restored);
    let selector: Vec<String> = live.data["spec"]["selector"]["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    let api = kube.namespaced::<Pod>(ns);
    let lp = ListParams::default().labels(&selector.join(","));
    let pods = kube
        .call(&format!("list pods of {sts}"), || api.list(&lp))
        .await?;
    let owner_uid = live.metadata.uid.as_deref();
    for pod in pods.items {
        let owned = pod
            .metadata
            .owner_references
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|o| o.controller == Some(true) && Some(o.uid.as_str()) == owner_uid);
        if !owned || pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let running: std::collections::BTreeMap<String, String> = pod
            .spec
            .iter()
            .flat_map(|s| s.containers.iter())
            .map(|c| (c.name.clone(), c.image.clone().unwrap_or_default()))
            .collect();
        if running == want {
            continue;
        }
        let obj = ObjRef {
            kind: ObjKind::Pod,
            namespace: Some(ns.to_string()),
            name: pod.metadata.name.clone().unwrap_or_default(),
        };
        common::delete_seen(kube, &obj, None, pod.metadata.uid.as_deref()).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impact_follows_the_rollout_strategy() {
        let d = |strategy: Value| json!({"spec": {"strategy": strategy}});
        assert_eq!(
            pods_hit(ObjKind::Deployment, &d(json!({"type": "Recreate"})), 4),
            4
        );
        assert_eq!(pods_hit(ObjKind::Deployment, &d(json!({})), 4), 1);
        assert_eq!(pods_hit(ObjKind::Deployment, &d(json!({})), 8), 2);
        let half = json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "50%"}});
        assert_eq!(pods_hit(ObjKind::Deployment, &d(half), 4), 2);
        let none = json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0}});
        assert_eq!(
            pods_hit(ObjKind::Deployment, &d(none), 4),
            1,
            "at least one counted"
        );
        let sts = |u: Value| json!({"spec": {"updateStrategy": u}});
        assert_eq!(pods_hit(ObjKind::StatefulSet, &sts(json!({})), 3), 1);
        assert_eq!(
            pods_hit(ObjKind::StatefulSet, &sts(json!({"type": "OnDelete"})), 3),
            1
        );
    }
}

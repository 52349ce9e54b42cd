//! Helpers shared by the fault files: untyped get/patch/delete by object
//! reference (reverts only know a kind, a namespace and a name), bounded
//! concurrency over targets, and the pieces of revert every fault repeats.

use std::sync::atomic::Ordering;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams};
use serde_json::Value;

use super::{Batch, FaultError, Reverted, TargetResult};
use crate::k8s::marks::{self, Marked, ObjKind, ObjRef};
use crate::k8s::select::Candidate;
use crate::k8s::{K8sError, Kube};

fn resource(kind: ObjKind) -> ApiResource {
    match kind {
        ObjKind::Pod => ApiResource::erase::<Pod>(&()),
        ObjKind::Deployment => ApiResource::erase::<Deployment>(&()),
        ObjKind::StatefulSet => ApiResource::erase::<StatefulSet>(&()),
        ObjKind::Node => ApiResource::erase::<Node>(&()),
        ObjKind::NetworkPolicy => ApiResource::erase::<NetworkPolicy>(&()),
    }
}

/// An untyped API for the object's kind and namespace.
pub fn dyn_api(kube: &Kube, obj: &ObjRef) -> Api<DynamicObject> {
    let ar = resource(obj.kind);
    match &obj.namespace {
        Some(ns) => Api::namespaced_with(kube.client.clone(), ns, &ar),
        None => Api::all_with(kube.client.clone(), &ar),
    }
}

/// The object, or `None` when it does not exist.
pub async fn get(kube: &Kube, obj: &ObjRef) -> Result<Option<DynamicObject>, K8sError> {
    let api = dyn_api(kube, obj);
    let op = format!("get {obj}");
    match kube.call(&op, || api.get(&obj.name)).await {
        Ok(o) => Ok(Some(o)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// A JSON merge patch; `None` when the object does not exist.
pub async fn merge_patch(
    kube: &Kube,
    obj: &ObjRef,
    patch: &Value,
) -> Result<Option<DynamicObject>, K8sError> {
    merge_patch_with(kube, obj, patch, &PatchParams::default()).await
}

/// [`merge_patch`] with `dryRun=All`: the server runs admission and
/// validation and stores nothing.
pub async fn merge_patch_dry_run(
    kube: &Kube,
    obj: &ObjRef,
    patch: &Value,
) -> Result<Option<DynamicObject>, K8sError> {
    merge_patch_with(kube, obj, patch, &PatchParams::default().dry_run()).await
}

async fn merge_patch_with(
    kube: &Kube,
    obj: &ObjRef,
    patch: &Value,
    pp: &PatchParams,
) -> Result<Option<DynamicObject>, K8sError> {
    let api = dyn_api(kube, obj);
    let p = Patch::Merge(patch);
    let op = format!("patch {obj}");
    match kube.call(&op, || api.patch(&obj.name, pp, &p)).await {
        Ok(o) => Ok(Some(o)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Deletes with a grace period; a missing object counts as deleted.
pub async fn delete(
    kube: &Kube,
    obj: &ObjRef,
    grace_seconds: Option<u32>,
) -> Result<Reverted, K8sError> {
    Ok(match delete_seen(kube, obj, grace_seconds, None).await? {
        DeleteSeen::Missing => Reverted::Gone,
        _ => Reverted::Restored,
    })
}

/// What the answer to a DELETE shows about the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteSeen {
    /// The object came back with `deletionTimestamp`: it is terminating.
    Terminating,
    /// The server said the object is gone (a Status, or 404 on a delete
    /// guarded by the uid the caller saw).
    Removed,
    /// There was nothing by that name to delete.
    Missing,
    /// The object came back without a deletion mark: no evidence either way.
    Unclear,
}

/// Deletes, optionally guarded by the uid the caller saw (so a replacement
/// with the same name, a StatefulSet identity, is never hit), and reports
/// what the answer shows. `grace_seconds: None` leaves the grace period to
/// the object (a pod's own `terminationGracePeriodSeconds`).
pub async fn delete_seen(
    kube: &Kube,
    obj: &ObjRef,
    grace_seconds: Option<u32>,
    uid: Option<&str>,
) -> Result<DeleteSeen, K8sError> {
    let api = dyn_api(kube, obj);
    let dp = DeleteParams {
        grace_period_seconds: grace_seconds,
        preconditions: uid.map(|u| kube::api::Preconditions {
            uid: Some(u.to_string()),
            resource_version: None,
        }),
        ..Default::default()
    };
    let op = format!("delete {obj}");
    match kube.call(&op, || api.delete(&obj.name, &dp)).await {
        // Left: the object as stored; Right: a Status (it is gone).
        Ok(answer) => Ok(match answer.left() {
            Some(o) if o.metadata.deletion_timestamp.is_some() => DeleteSeen::Terminating,
            Some(_) => DeleteSeen::Unclear,
            None => DeleteSeen::Removed,
        }),
        Err(e) if e.is_not_found() => Ok(DeleteSeen::Missing),
        // The uid guard failed: the pod we saw is gone and replaced.
        Err(e) if uid.is_some() && e.is_conflict() => Ok(DeleteSeen::Removed),
        Err(e) => Err(e),
    }
}

/// Reads the marks of the live object; `None` when it is gone or unmarked.
pub async fn get_marked(
    kube: &Kube,
    obj: &ObjRef,
) -> Result<Option<(Marked, DynamicObject)>, FaultError> {
    let Some(o) = get(kube, obj).await? else {
        return Ok(None);
    };
    match Marked::from_meta(obj.kind, &o.metadata) {
        None => Ok(None),
        Some(Ok(m)) => Ok(Some((m, o))),
        Some(Err(e)) => Err(FaultError::Undo {
            obj: obj.to_string(),
            message: e.to_string(),
        }),
    }
}

/// Removes the marks and nothing else (faults whose effect is already over).
pub async fn strip(kube: &Kube, obj: &ObjRef) -> Result<Reverted, FaultError> {
    Ok(match merge_patch(kube, obj, &marks::strip_patch()).await? {
        Some(_) => Reverted::Restored,
        None => Reverted::Gone,
    })
}

/// Applies a restoring patch together with the mark removal, in one write,
/// so an object is never left restored-but-marked or marked-but-restored.
pub async fn restore(kube: &Kube, obj: &ObjRef, restore: &Value) -> Result<Reverted, FaultError> {
    let patch = marks::combine(restore.clone(), &marks::strip_patch());
    Ok(match merge_patch(kube, obj, &patch).await? {
        Some(_) => Reverted::Restored,
        None => Reverted::Gone,
    })
}

/// For marks whose fault type is unknown (a newer gameday, a hand edit):
/// delete what gameday created, strip the rest.
pub async fn revert_unknown(kube: &Kube, marked: &Marked) -> Result<Reverted, FaultError> {
    match marked.obj.kind {
        ObjKind::NetworkPolicy => Ok(delete(kube, &marked.obj, None).await?),
        _ => strip(kube, &marked.obj).await,
    }
}

/// Runs `f` on each target with at most `concurrency` in flight; targets not
/// yet started when `stop` is set are skipped.
pub async fn each_target<'a, F>(batch: Batch<'a>, concurrency: usize, f: F) -> Vec<TargetResult>
where
    F: Fn(&'a Candidate) -> BoxFuture<'a, Result<TargetOutcome, FaultError>> + Sync,
{
    let Batch { targets, stop, .. } = batch;
    let mut in_flight = FuturesUnordered::new();
    let mut next = targets.iter();
    let mut out = Vec::with_capacity(targets.len());
    loop {
        while in_flight.len() < concurrency.max(1) {
            let Some(t) = next.next() else { break };
            if stop.load(Ordering::SeqCst) {
                out.push(TargetResult {
                    target: t.obj.clone(),
                    marked: vec![],
                    error: None,
                    skipped: Some("run is stopping".into()),
                });
                continue;
            }
            in_flight.push(one_target(t, f(t)));
        }
        match in_flight.next().await {
            Some(r) => out.push(r),
            None => break,
        }
    }
    out
}

async fn one_target(
    t: &Candidate,
    fut: BoxFuture<'_, Result<TargetOutcome, FaultError>>,
) -> TargetResult {
    match fut.await {
        Ok(TargetOutcome::Done(marked)) => TargetResult {
            target: t.obj.clone(),
            marked,
            error: None,
            skipped: None,
        },
        Ok(TargetOutcome::Skipped { marked, reason }) => TargetResult {
            target: t.obj.clone(),
            marked,
            error: None,
            skipped: Some(reason),
        },
        // The write may have landed before the error: treat the target as
        // marked so the revert looks at it.
        Err(e) => TargetResult {
            target: t.obj.clone(),
            marked: vec![t.obj.clone()],
            error: Some(e.to_string()),
            skipped: None,
        },
    }
}

pub enum TargetOutcome {
    Done(Vec<ObjRef>),
    Skipped { marked: Vec<ObjRef>, reason: String },
}

/// Marks a target, then deletes or evicts it: the pod carries the run's
/// marks for the instant between the two writes (S1), and if the second
/// write never lands, `recover` finds the mark and strips it.
pub async fn mark_then<'a, Fut>(
    kube: &Kube,
    obj: &ObjRef,
    stamp: &marks::Stamp,
    then: Fut,
) -> Result<TargetOutcome, FaultError>
where
    Fut: std::future::Future<Output = Result<TargetOutcome, FaultError>> + 'a,
{
    match mark(kube, obj, stamp).await? {
        None => Ok(gone_before_injection()),
        Some(_) => then.await,
    }
}

/// Puts the run's marks (and no undo data) on an object; the marked
/// object, or `None` when it does not exist.
pub async fn mark(
    kube: &Kube,
    obj: &ObjRef,
    stamp: &marks::Stamp,
) -> Result<Option<DynamicObject>, FaultError> {
    let patch = stamp.patch(&Value::Object(Default::default()), &[]);
    Ok(merge_patch(kube, obj, &patch).await?)
}

/// Merge-patches a target (marks and change in one write): done, with the
/// target to revert, or gone before injection.
pub async fn patch_target(
    kube: &Kube,
    obj: &ObjRef,
    patch: &Value,
) -> Result<TargetOutcome, FaultError> {
    Ok(match merge_patch(kube, obj, patch).await? {
        Some(_) => TargetOutcome::Done(vec![obj.clone()]),
        None => gone_before_injection(),
    })
}

/// The outcome for a target that vanished before anything was written.
pub fn gone_before_injection() -> TargetOutcome {
    TargetOutcome::Skipped {
        marked: vec![],
        reason: "gone before injection".into(),
    }
}

/// The `gracePeriod` param as whole seconds (at least 1: kubectl turns 0
/// into 1 unless forced); `None` leaves the pod's own grace period.
pub fn grace_override(grace_period: Option<crate::values::Duration>) -> Option<u32> {
    grace_period.map(|d| whole_seconds(d.as_std()).min(u64::from(u32::MAX)) as u32)
}

/// Every target failed with the same error, before any was touched (the
/// fault's params could not be read).
pub fn all_failed(targets: &[Candidate], e: &FaultError) -> Vec<TargetResult> {
    targets
        .iter()
        .map(|t| TargetResult {
            target: t.obj.clone(),
            marked: vec![],
            error: Some(e.to_string()),
            skipped: None,
        })
        .collect()
}

/// Seconds for a `duration`, rounded up, at least 1.
pub fn whole_seconds(d: std::time::Duration) -> u64 {
    (d.as_millis().div_ceil(1000) as u64).max(1)
}

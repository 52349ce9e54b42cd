//! The inject most faults share: read each target, work out from it what to
//! record (the undo data) and what to change, and write both in one merge
//! patch, so the marks and the effect land together or not at all (S1).
//! A fault then says only what it changes ([`Change`]) and how the object
//! as stored shows that the change took ([`Shown`]); the params, the
//! concurrency, the stop flag and "gone before injection" are handled here
//! once.

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use kube::api::DynamicObject;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::common::{self, TargetOutcome};
use super::{Batch, DryRun, FaultCx, FaultError, Injecting};
use crate::k8s::marks::{self, ObjRef};
use crate::k8s::select::Candidate;

/// What one target's inject writes.
pub struct Change {
    /// Recorded with the marks; the revert reads it back.
    pub undo: Value,
    /// Merged with the marks into the same patch.
    pub patch: Value,
}

/// What the object as stored after the patch shows: injected, or an error
/// saying why it is not in effect (the target still counts as marked, so
/// it is reverted).
pub type Shown<'a> = BoxFuture<'a, Result<TargetOutcome, FaultError>>;

/// For changes the answer to the patch already proves (the server stored
/// them): the target counts as injected.
pub fn accepted<'a, P>(_: &'a FaultCx<'a>, _: &P, obj: &'a ObjRef, _: DynamicObject) -> Shown<'a> {
    futures::future::ready(Ok(TargetOutcome::Done(vec![obj.clone()]))).boxed()
}

/// Injects into every target of `batch`: `change` sees the fault's params
/// and the live object; `shown` judges the stored object after the write.
pub fn inject<'a, P, C, S>(
    cx: &'a FaultCx<'a>,
    batch: Batch<'a>,
    change: C,
    shown: S,
) -> Injecting<'a>
where
    P: DeserializeOwned + Default + Send + Sync + 'a,
    C: Fn(&P, &DynamicObject) -> Change + Send + Sync + 'a,
    S: Fn(&'a FaultCx<'a>, &P, &'a ObjRef, DynamicObject) -> Shown<'a> + Send + Sync + 'a,
{
    async move {
        let params: Arc<P> = match cx.params() {
            Ok(p) => Arc::new(p),
            Err(e) => return common::all_failed(batch.targets, &e),
        };
        let (change, shown) = (Arc::new(change), Arc::new(shown));
        common::each_target(batch, cx.concurrency, move |t| {
            let (p, change, shown) = (params.clone(), change.clone(), shown.clone());
            async move {
                let Some(live) = common::get(cx.kube, &t.obj).await? else {
                    return Ok(common::gone_before_injection());
                };
                let Change { undo, patch } = change(&p, &live);
                let patch = marks::combine(batch.stamp.patch(&undo, &[]), &patch);
                match common::merge_patch(cx.kube, &t.obj, &patch).await? {
                    None => Ok(common::gone_before_injection()),
                    Some(stored) => shown(cx, &p, &t.obj, stored).await,
                }
            }
            .boxed()
        })
        .await
    }
    .boxed()
}

/// A patched fault's `inject` and `dry_run`, from its `change` and `shown`:
/// one line in its `FaultKind` impl, `patched::methods!(change, shown);`.
/// The trait cannot reach a fault's `change` function, so without this each
/// such fault wrote a `dry_run` that only passed `change` on.
macro_rules! methods {
    ($change:path, $shown:path) => {
        fn inject<'a>(
            &'a self,
            cx: &'a $crate::faults::FaultCx<'a>,
            batch: $crate::faults::Batch<'a>,
        ) -> $crate::faults::Injecting<'a> {
            $crate::faults::patched::inject(cx, batch, $change, $shown)
        }

        fn dry_run<'a>(
            &'a self,
            cx: &'a $crate::faults::FaultCx<'a>,
            targets: &'a [$crate::k8s::select::Candidate],
        ) -> $crate::faults::DryRun<'a> {
            $crate::faults::patched::dry_run(cx, targets, $change)
        }
    };
}
pub(crate) use methods;

/// Sends each target's inject change with `dryRun=All` before anything is
/// written (issue 13's preflight): the server runs admission (Pod Security,
/// webhooks) and validation (a malformed image, a duplicate taint, a
/// negative replica count) and stores nothing, so a refusal stops the run
/// with the cluster untouched instead of as a 422 mid-run. The marks are
/// left out: they are gameday's own fixed-format labels, and writing them
/// needs the run's stamp, which exists only once the run does.
pub fn dry_run<'a, P, C>(cx: &'a FaultCx<'a>, targets: &'a [Candidate], change: C) -> DryRun<'a>
where
    P: DeserializeOwned + Default + Send + Sync + 'a,
    C: Fn(&P, &DynamicObject) -> Change + Send + Sync + 'a,
{
    async move {
        use futures::StreamExt;
        let params: P = cx.params()?;
        let checks: Vec<_> = targets
            .iter()
            .map(|t| check_one(cx, t, &params, &change))
            .collect();
        let mut checks = futures::stream::iter(checks).buffer_unordered(cx.concurrency.max(1));
        while let Some(r) = checks.next().await {
            r?;
        }
        Ok(())
    }
    .boxed()
}

/// One target of [`dry_run`]: a target gone meanwhile has nothing to check.
async fn check_one<P, C>(
    cx: &FaultCx<'_>,
    t: &Candidate,
    params: &P,
    change: &C,
) -> Result<(), FaultError>
where
    C: Fn(&P, &DynamicObject) -> Change,
{
    let Some(live) = common::get(cx.kube, &t.obj).await? else {
        return Ok(());
    };
    let Change { patch, .. } = change(params, &live);
    common::merge_patch_dry_run(cx.kube, &t.obj, &patch)
        .await
        .map(|_| ())
        .map_err(|e| {
            cx.invalid(format!(
                "the server refuses its inject write (dryRun=All) on {}: {e}",
                t.obj
            ))
        })
}

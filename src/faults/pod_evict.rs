//! podEvict: the eviction subresource, so PodDisruptionBudgets are honoured.
//! A budget that refuses (429) skips the target instead of failing the run:
//! that refusal is the cluster's safety net working.

use futures::FutureExt;

use super::about::About;
use super::common::{self, TargetOutcome};
use super::rbac::{Rule, pods_rw, pods_sub};
use super::{
    Batch, Entry, FaultCx, FaultError, FaultKind, Injecting, Planning, Reverting, targets,
};
use crate::k8s::marks::{Marked, ObjKind, ObjRef};
use crate::k8s::{K8sError, Kube};
use crate::scenario::FaultSpec;

pub struct PodEvict;

pub const FAULT: Entry = Entry::new(&PodEvict, ABOUT);

const STARTER: &str = r#"
hypothesis: Evicting a checkout pod (the PodDisruptionBudget is respected) costs no request, and checkout keeps 99% success.
successDuring: 0.99
      # podEvict takes no params; evictions respect PodDisruptionBudgets
"#;

const ABOUT: About = About {
    rbac: RBAC,
    marks: &[ObjKind::Pod],
    starter: STARTER,
};

const RBAC: &[Rule] = &[
    pods_rw(&["get", "list", "patch"]),
    pods_sub("pods/eviction", &["create"]),
];

/// Evicts one pod, a graceful delete behind the PDB check; `grace_seconds`
/// overrides the pod's own grace period. `Ok(None)` when a disruption
/// budget refused it.
///
/// The Eviction body is written here rather than with kube's `EvictParams`:
/// kube 5 sends its delete options as `delete_options`, a field the API
/// server does not know, so a grace period given that way is silently
/// dropped. policy/v1 names it `deleteOptions`.
pub async fn evict(
    kube: &Kube,
    obj: &ObjRef,
    grace_seconds: Option<u32>,
) -> Result<Option<()>, FaultError> {
    let ns = obj.namespace.as_deref().unwrap_or("default");
    let api = kube.namespaced::<k8s_openapi::api::core::v1::Pod>(ns);
    let mut body = serde_json::json!({
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": obj.name, "namespace": ns},
    });
    if let Some(g) = grace_seconds {
        body["deleteOptions"] = serde_json::json!({"gracePeriodSeconds": g});
    }
    let pp = kube::api::PostParams::default();
    // Fewer attempts than usual: a PDB refusal is not transient in seconds.
    let short = crate::k8s::retry::RetryPolicy {
        attempts: 3,
        ..kube.retry
    };
    let op = format!("evict {obj}");
    let post = || api.create_subresource::<_, serde_json::Value>("eviction", &obj.name, &pp, &body);
    match crate::k8s::retry::with_retry(&short, &op, post).await {
        Ok(_) => Ok(Some(())),
        Err(e) if e.is_not_found() => Ok(Some(())),
        Err(e @ K8sError::Api { .. }) if e.is_too_many_requests() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

impl FaultSpec for PodEvict {
    fn name(&self) -> &'static str {
        "podEvict"
    }

    fn holds(&self) -> bool {
        false
    }
}

impl FaultKind for PodEvict {
    fn plan<'a>(&'a self, cx: &'a FaultCx<'a>) -> Planning<'a> {
        async move { Ok(targets::pods(cx).await?.0) }.boxed()
    }

    fn inject<'a>(&'a self, cx: &'a FaultCx<'a>, batch: Batch<'a>) -> Injecting<'a> {
        common::each_target(batch, cx.concurrency, move |t| {
            async move {
                common::mark_then(cx.kube, &t.obj, batch.stamp, async {
                    match evict(cx.kube, &t.obj, None).await? {
                        Some(()) => Ok(TargetOutcome::Done(vec![])),
                        None => Ok(TargetOutcome::Skipped {
                            marked: vec![t.obj.clone()],
                            reason: "refused by a PodDisruptionBudget".into(),
                        }),
                    }
                })
                .await
            }
            .boxed()
        })
        .boxed()
    }

    fn revert<'a>(&'a self, kube: &'a Kube, marked: &'a Marked) -> Reverting<'a> {
        common::strip(kube, &marked.obj).boxed()
    }
}

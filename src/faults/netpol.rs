//! Shared by networkPartition and dnsBlock: label the chosen pods with the
//! fault's id, then create one NetworkPolicy per fault that selects exactly
//! that label. Both the pods and the policy carry the run's marks, so
//! recover finds them separately: the policy is deleted, the pods stripped.

use std::sync::atomic::AtomicBool;

use serde_json::{Value, json};

use super::common::{self};
use super::{FaultCx, FaultError, Reverted, TargetResult};
use crate::k8s::Kube;
use crate::k8s::marks::{LABEL_FAULT_ID, Marked, ObjKind, ObjRef, Stamp, generated_name};
use crate::k8s::select::Candidate;

/// The policy (and the pod label value) for one fault of one run.
pub fn policy_name(stamp: &Stamp) -> String {
    generated_name(&stamp.fault, stamp.run_id.short(), "")
}

/// The NetworkPolicy object, with the run's marks.
pub fn policy(stamp: &Stamp, namespace: &str, spec: Value) -> Value {
    let name = policy_name(stamp);
    let mut spec = spec;
    spec["podSelector"] = json!({"matchLabels": {LABEL_FAULT_ID: name}});
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": stamp.labels(&[]),
            "annotations": stamp.annotations(&json!({"delete": true})),
        },
        "spec": spec,
    })
}

/// Labels the targets, then creates the policy. The policy is created even
/// when the run is stopping if any pod got labelled, so the revert has one
/// consistent shape to undo.
pub async fn inject(
    cx: &FaultCx<'_>,
    stamp: &Stamp,
    targets: &[Candidate],
    stop: &AtomicBool,
    spec: Value,
) -> Vec<TargetResult> {
    let name = policy_name(stamp);
    let mut results = common::each_target(targets, cx.concurrency, stop, |t| {
        let name = name.clone();
        Box::pin(async move {
            let patch = stamp.patch(&json!({}), &[(LABEL_FAULT_ID, name.as_str())]);
            common::patch_target(cx.kube, &t.obj, &patch).await
        })
    })
    .await;
    let Some(ns) = targets.first().and_then(|t| t.obj.namespace.clone()) else {
        return results;
    };
    let policy_ref = ObjRef {
        kind: ObjKind::NetworkPolicy,
        namespace: Some(ns.clone()),
        name: name.clone(),
    };
    let body = policy(stamp, &ns, spec);
    let created = create_policy(cx.kube, &ns, &body).await;
    // Report the policy as part of the first target so the engine reverts it.
    if let Some(first) = results.first_mut() {
        first.marked.push(policy_ref);
        if let Err(e) = created {
            first.error = Some(e.to_string());
        }
    }
    results
}

async fn create_policy(kube: &Kube, ns: &str, body: &Value) -> Result<(), FaultError> {
    let api = kube.namespaced::<k8s_openapi::api::networking::v1::NetworkPolicy>(ns);
    let np: k8s_openapi::api::networking::v1::NetworkPolicy = serde_json::from_value(body.clone())
        .map_err(|e| FaultError::Invalid {
            fault: "networkPolicy".into(),
            message: e.to_string(),
        })?;
    let pp = kube::api::PostParams::default();
    match kube
        .call("create networkpolicy", || api.create(&pp, &np))
        .await
    {
        Ok(_) => Ok(()),
        // A retried create that landed the first time.
        Err(e) if e.is_conflict() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

pub async fn revert(kube: &Kube, marked: &Marked) -> Result<Reverted, FaultError> {
    match marked.obj.kind {
        ObjKind::NetworkPolicy => Ok(common::delete(kube, &marked.obj, None).await?),
        _ => common::strip(kube, &marked.obj).await,
    }
}

//! The kill switch (S6): a ConfigMap `gameday-halt` in the config's halt
//! namespace. Its presence blocks new runs, and a running engine that sees
//! it reverts everything and exits 3.

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{DeleteParams, PostParams};
use serde_json::json;

use crate::k8s::{K8sError, Kube};

pub const HALT_CONFIGMAP: &str = "gameday-halt";

pub async fn is_halted(kube: &Kube, namespace: &str) -> Result<bool, K8sError> {
    let api = kube.namespaced::<ConfigMap>(namespace);
    Ok(kube
        .call("read the kill switch", || api.get_opt(HALT_CONFIGMAP))
        .await?
        .is_some())
}

/// Creates the halt ConfigMap (and its namespace when missing). Idempotent.
pub async fn set(kube: &Kube, namespace: &str, reason: &str) -> Result<(), K8sError> {
    let ns_api = kube.all::<Namespace>();
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": namespace}})).map_err(|e| {
            K8sError::Unexpected {
                op: "build namespace".into(),
                detail: e.to_string(),
            }
        })?;
    let pp = PostParams::default();
    // Creating a namespace is a cluster-wide right a least-privilege
    // identity lacks; the namespace usually exists (`gameday rbac` creates
    // it), so a 403 here falls through to the ConfigMap, which tells.
    match kube
        .call("create halt namespace", || ns_api.create(&pp, &ns))
        .await
    {
        Ok(_) => {}
        Err(e) if e.is_conflict() || e.is_forbidden() => {}
        Err(e) => return Err(e),
    }
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {
            "name": HALT_CONFIGMAP,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "gameday"},
        },
        "data": {
            "reason": reason,
            "haltedAt": jiff::Timestamp::now().to_string(),
        }
    }))
    .map_err(|e| K8sError::Unexpected {
        op: "build halt configmap".into(),
        detail: e.to_string(),
    })?;
    let api = kube.namespaced::<ConfigMap>(namespace);
    match kube
        .call("create the kill switch", || api.create(&pp, &cm))
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.is_conflict() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Deletes the halt ConfigMap. Idempotent.
pub async fn lift(kube: &Kube, namespace: &str) -> Result<(), K8sError> {
    let api = kube.namespaced::<ConfigMap>(namespace);
    let dp = DeleteParams::default();
    match kube
        .call("lift the kill switch", || api.delete(HALT_CONFIGMAP, &dp))
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}

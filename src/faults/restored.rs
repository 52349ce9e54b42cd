//! Evidence that a revert ended its fault's effect, not only that the undo
//! was written: a workload whose template was restored has rolled back out
//! (judged as `kubectl rollout status` judges it), and a pod whose images
//! were restored runs them again and is Ready. The marks stay on until the
//! evidence is in, so a run killed meanwhile leaves them for `gameday
//! recover`, and a run that cannot confirm the end within [`RESTORE_WAIT`]
//! keeps them, reports what remains and exits 5.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::FaultError;
use super::common;
use crate::k8s::Kube;
use crate::k8s::marks::{ObjKind, ObjRef};

/// How long a revert waits for the workload or pod to be back. A later
/// `gameday recover` waits again, so a slow rollback is confirmed then.
pub const RESTORE_WAIT: Duration = Duration::from_secs(60);

const POLL: Duration = Duration::from_millis(200);

/// Why a restored workload is not rolled out yet, in `kubectl rollout
/// status`'s words; `None` once it is. Follows kubectl's
/// `pkg/polymorphichelpers/rollout_status.go` (DeploymentStatusViewer and
/// StatefulSetStatusViewer), given the generation the restore produced.
pub fn rollout_pending(kind: ObjKind, w: &Value, generation: i64) -> Option<String> {
    let st = &w["status"];
    let num = |v: &Value| v.as_i64().unwrap_or(0);
    let observed = num(&st["observedGeneration"]);
    if observed < generation {
        return Some(format!(
            "waiting for the controller to observe generation {generation} (at {observed})"
        ));
    }
    let replicas = w["spec"]["replicas"].as_i64().unwrap_or(1);
    let updated = num(&st["updatedReplicas"]);
    if kind == ObjKind::StatefulSet {
        let ready = num(&st["readyReplicas"]);
        if ready < replicas {
            return Some(format!("{ready} of {replicas} pods ready"));
        }
        let partition = num(&w["spec"]["updateStrategy"]["rollingUpdate"]["partition"]);
        if partition > 0 {
            return (updated < replicas - partition)
                .then(|| format!("{updated} of {} pods updated", replicas - partition));
        }
        return (st["updateRevision"] != st["currentRevision"]).then(|| {
            format!(
                "{updated} pods at revision {}",
                st["updateRevision"].as_str().unwrap_or("?")
            )
        });
    }
    let total = num(&st["replicas"]);
    let available = num(&st["availableReplicas"]);
    if updated < replicas {
        Some(format!(
            "{updated} out of {replicas} new replicas have been updated"
        ))
    } else if total > updated {
        Some(format!(
            "{} old replicas are pending termination",
            total - updated
        ))
    } else if available < updated {
        Some(format!(
            "{available} of {updated} updated replicas are available"
        ))
    } else {
        None
    }
}

/// Why a pod whose images were restored is not back yet; `None` once every
/// named container runs its image and the pod is Ready.
pub fn pod_pending(pod: &Value, images: &BTreeMap<String, String>) -> Option<String> {
    for (name, want) in images {
        let st = pod["status"]["containerStatuses"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["name"] == name.as_str());
        let Some(st) = st else {
            return Some(format!("container {name} has no status yet"));
        };
        let running = st["image"].as_str().unwrap_or_default();
        if !same_image(running, want) {
            return Some(format!("container {name} still runs {running}"));
        }
        if st["ready"] != true {
            return Some(format!("container {name} is not Ready"));
        }
    }
    None
}

/// The kubelet reports images fully qualified (`docker.io/library/x:1`)
/// where the spec may say `x:1`.
fn same_image(status: &str, spec: &str) -> bool {
    let norm = |s: &str| {
        let s = s.strip_prefix("docker.io/").unwrap_or(s);
        s.strip_prefix("library/").unwrap_or(s).to_string()
    };
    norm(status) == norm(spec)
}

/// Polls the object until `pending` says nothing is left, or `within`
/// passes: then the last reason. The object gone counts as nothing left.
pub async fn poll_until(
    kube: &Kube,
    obj: &ObjRef,
    within: Duration,
    pending: impl Fn(&Value) -> Option<String>,
) -> Result<Option<String>, FaultError> {
    let deadline = Instant::now() + within;
    loop {
        let Some(o) = common::get(kube, obj).await? else {
            return Ok(None);
        };
        let why = pending(&o.data);
        if why.is_none() || Instant::now() >= deadline {
            return Ok(why);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits (bounded) until `pending` says the object is back; the error
/// names what remains.
pub async fn wait_until_back(
    kube: &Kube,
    obj: &ObjRef,
    pending: impl Fn(&Value) -> Option<String>,
) -> Result<(), FaultError> {
    match poll_until(kube, obj, RESTORE_WAIT, pending).await? {
        None => Ok(()),
        Some(why) => Err(FaultError::Unverified {
            obj: obj.to_string(),
            message: format!(
                "reverted but not yet back after {}s: {why}; its marks stay until `gameday recover` confirms it",
                RESTORE_WAIT.as_secs()
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_deployment_is_back_as_kubectl_rollout_status_says() {
        let d = |st: Value| json!({"spec": {"replicas": 4}, "status": st});
        let done = d(
            json!({"observedGeneration": 3, "replicas": 4, "updatedReplicas": 4, "availableReplicas": 4}),
        );
        assert_eq!(rollout_pending(ObjKind::Deployment, &done, 3), None);
        assert!(
            rollout_pending(ObjKind::Deployment, &done, 4)
                .unwrap()
                .contains("observe generation 4")
        );
        let old = d(
            json!({"observedGeneration": 3, "replicas": 5, "updatedReplicas": 4, "availableReplicas": 4}),
        );
        assert!(
            rollout_pending(ObjKind::Deployment, &old, 3)
                .unwrap()
                .contains("pending termination")
        );
        let unavailable = d(
            json!({"observedGeneration": 3, "replicas": 4, "updatedReplicas": 4, "availableReplicas": 2}),
        );
        assert_eq!(
            rollout_pending(ObjKind::Deployment, &unavailable, 3).unwrap(),
            "2 of 4 updated replicas are available"
        );
    }

    #[test]
    fn a_statefulset_is_back_when_ready_and_on_one_revision() {
        let s = |st: Value| json!({"spec": {"replicas": 3}, "status": st});
        let done = s(
            json!({"observedGeneration": 2, "readyReplicas": 3, "currentRevision": "a", "updateRevision": "a"}),
        );
        assert_eq!(rollout_pending(ObjKind::StatefulSet, &done, 2), None);
        let rolling = s(
            json!({"observedGeneration": 2, "readyReplicas": 3, "updatedReplicas": 1, "currentRevision": "a", "updateRevision": "b"}),
        );
        assert!(rollout_pending(ObjKind::StatefulSet, &rolling, 2).is_some());
        let not_ready = s(json!({"observedGeneration": 2, "readyReplicas": 2}));
        assert_eq!(
            rollout_pending(ObjKind::StatefulSet, &not_ready, 2).unwrap(),
            "2 of 3 pods ready"
        );
    }

    #[test]
    fn a_pod_is_back_when_its_images_run_and_it_is_ready() {
        let want: BTreeMap<String, String> = [("app".to_string(), "nginx:1".to_string())].into();
        let pod = |image: &str, ready: bool| json!({"status": {"containerStatuses": [{"name": "app", "image": image, "ready": ready}]}});
        assert_eq!(
            pod_pending(&pod("docker.io/library/nginx:1", true), &want),
            None
        );
        assert!(pod_pending(&pod("registry.k8s.io/pause:3.9", false), &want).is_some());
        assert!(pod_pending(&pod("nginx:1", false), &want).is_some());
        assert!(pod_pending(&json!({}), &want).is_some());
    }
}

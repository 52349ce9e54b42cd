//! Kubernetes probes: workload status fields and pod counts.
//!
//! Status fields that Kubernetes leaves out (it omits zeros: a deployment
//! with no ready replica has no `readyReplicas`) read as 0, which is what they
//! mean; a missing object is an error, because "checkout does not exist" is
//! not the same as "checkout has no replicas".
//!
//! kube-rs clients retry 429/503/504 themselves (with backoff); that happens
//! inside the probe's timeout like the probe's own retries, so an API that
//! keeps answering 503 still yields an unknown reading in time.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

use super::probe::ProbeError;
use crate::scenario::{KubernetesProbe, ProbeField, ProbeKind, StringMap};

pub async fn read(client: &kube::Client, probe: &KubernetesProbe) -> Result<f64, ProbeError> {
    if !probe.field.fits(probe.kind) {
        return Err(not_on_kind(probe.field, probe.kind));
    }
    let ns = probe.namespace.as_str();
    match probe.kind {
        ProbeKind::Deployment => {
            let name = probe
                .name
                .as_deref()
                .ok_or_else(|| ProbeError::MissingName("Deployment".into()))?;
            let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
            let d = api
                .get(name)
                .await
                .map_err(|e| kube_error(e, &format!("Deployment {ns}/{name}")))?;
            deployment_field(&d, probe.field)
        }
        ProbeKind::StatefulSet => {
            let name = probe
                .name
                .as_deref()
                .ok_or_else(|| ProbeError::MissingName("StatefulSet".into()))?;
            let api: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
            let s = api
                .get(name)
                .await
                .map_err(|e| kube_error(e, &format!("StatefulSet {ns}/{name}")))?;
            statefulset_field(&s, probe.field)
        }
        ProbeKind::Pods => {
            let api: Api<Pod> = Api::namespaced(client.clone(), ns);
            let mut lp = ListParams::default();
            if let Some(sel) = probe.selector.as_ref().filter(|s| !s.is_empty()) {
                lp = lp.labels(&label_selector(sel));
            }
            let list = api
                .list(&lp)
                .await
                .map_err(|e| kube_error(e, &format!("pods in {ns}")))?;
            pods_field(&list.items, probe.field)
        }
    }
}

/// `{app: checkout, tier: web}` → `app=checkout,tier=web` (sorted: StringMap is a BTreeMap).
pub fn label_selector(labels: &StringMap) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn kube_error(e: kube::Error, what: &str) -> ProbeError {
    match e {
        kube::Error::Api(status) if status.code == 404 => ProbeError::NotFound(what.to_string()),
        kube::Error::Api(status) => {
            let msg = format!("{what}: {} ({})", status.message, status.code);
            // Overload and server errors pass; forbidden or invalid do not.
            if status.code == 429 || status.code >= 500 {
                ProbeError::KubeTransport(msg)
            } else {
                ProbeError::KubeApi(msg)
            }
        }
        other => ProbeError::KubeTransport(format!("{what}: {}", super::error_chain(&other))),
    }
}

fn not_on_kind(field: ProbeField, kind: ProbeKind) -> ProbeError {
    ProbeError::FieldNotOnKind {
        field: format!("{field:?}"),
        kind: format!("{kind:?}"),
    }
}

fn count(v: Option<i32>) -> f64 {
    f64::from(v.unwrap_or(0))
}

pub fn deployment_field(d: &Deployment, field: ProbeField) -> Result<f64, ProbeError> {
    let s = d.status.as_ref();
    Ok(match field {
        ProbeField::Replicas => count(s.and_then(|s| s.replicas)),
        ProbeField::ReadyReplicas => count(s.and_then(|s| s.ready_replicas)),
        ProbeField::AvailableReplicas => count(s.and_then(|s| s.available_replicas)),
        ProbeField::UpdatedReplicas => count(s.and_then(|s| s.updated_replicas)),
        other => return Err(not_on_kind(other, ProbeKind::Deployment)),
    })
}

pub fn statefulset_field(st: &StatefulSet, field: ProbeField) -> Result<f64, ProbeError> {
    let s = st.status.as_ref();
    Ok(match field {
        ProbeField::Replicas => f64::from(s.map_or(0, |s| s.replicas)),
        ProbeField::ReadyReplicas => count(s.and_then(|s| s.ready_replicas)),
        ProbeField::AvailableReplicas => count(s.and_then(|s| s.available_replicas)),
        ProbeField::UpdatedReplicas => count(s.and_then(|s| s.updated_replicas)),
        other => return Err(not_on_kind(other, ProbeKind::StatefulSet)),
    })
}

/// A pod that is being deleted is not counted as ready or running even while
/// its containers still answer: endpoints drop it, so it serves no traffic.
fn terminating(p: &Pod) -> bool {
    p.metadata.deletion_timestamp.is_some()
}

fn is_ready(p: &Pod) -> bool {
    !terminating(p)
        && p.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn is_running(p: &Pod) -> bool {
    !terminating(p)
        && p.status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .is_some_and(|phase| phase == "Running")
}

fn restarts(p: &Pod) -> f64 {
    p.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map_or(0.0, |cs| {
            cs.iter().map(|c| f64::from(c.restart_count)).sum()
        })
}

/// `total` counts every pod the selector matches, terminating ones included.
pub fn pods_field(pods: &[Pod], field: ProbeField) -> Result<f64, ProbeError> {
    Ok(match field {
        ProbeField::Ready => pods.iter().filter(|p| is_ready(p)).count() as f64,
        ProbeField::Running => pods.iter().filter(|p| is_running(p)).count() as f64,
        ProbeField::Total => pods.len() as f64,
        ProbeField::Restarts => pods.iter().map(restarts).sum(),
        other => return Err(not_on_kind(other, ProbeKind::Pods)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(status: serde_json::Value) -> Deployment {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "checkout", "namespace": "shop"},
            "status": status,
        }))
        .unwrap()
    }

    fn pod(phase: &str, ready: bool, restarts: i32, deleting: bool) -> Pod {
        let mut meta = serde_json::json!({"name": "p", "namespace": "shop"});
        if deleting {
            meta["deletionTimestamp"] = "2026-01-01T00:00:00Z".into();
        }
        serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": meta,
            "status": {
                "phase": phase,
                "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}],
                "containerStatuses": [{
                    "name": "app", "image": "x", "imageID": "", "ready": ready,
                    "restartCount": restarts,
                }],
            },
        }))
        .unwrap()
    }

    #[test]
    fn deployment_fields_and_omitted_zeros() {
        let d = deployment(serde_json::json!({
            "replicas": 4, "readyReplicas": 3, "availableReplicas": 2, "updatedReplicas": 4
        }));
        assert_eq!(deployment_field(&d, ProbeField::Replicas).unwrap(), 4.0);
        assert_eq!(
            deployment_field(&d, ProbeField::ReadyReplicas).unwrap(),
            3.0
        );
        assert_eq!(
            deployment_field(&d, ProbeField::AvailableReplicas).unwrap(),
            2.0
        );
        assert_eq!(
            deployment_field(&d, ProbeField::UpdatedReplicas).unwrap(),
            4.0
        );
        let empty = deployment(serde_json::json!({"replicas": 2}));
        assert_eq!(
            deployment_field(&empty, ProbeField::ReadyReplicas).unwrap(),
            0.0
        );
        assert!(matches!(
            deployment_field(&empty, ProbeField::Restarts),
            Err(ProbeError::FieldNotOnKind { .. })
        ));
    }

    #[test]
    fn statefulset_fields() {
        let s: StatefulSet = serde_json::from_value(serde_json::json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "db"},
            "status": {"replicas": 3, "readyReplicas": 1},
        }))
        .unwrap();
        assert_eq!(statefulset_field(&s, ProbeField::Replicas).unwrap(), 3.0);
        assert_eq!(
            statefulset_field(&s, ProbeField::ReadyReplicas).unwrap(),
            1.0
        );
        assert_eq!(
            statefulset_field(&s, ProbeField::AvailableReplicas).unwrap(),
            0.0
        );
    }

    #[test]
    fn pod_counts_exclude_terminating_pods_from_ready_and_running() {
        let pods = vec![
            pod("Running", true, 0, false),
            pod("Running", true, 2, true),
            pod("Running", false, 1, false),
            pod("Pending", false, 0, false),
        ];
        assert_eq!(pods_field(&pods, ProbeField::Ready).unwrap(), 1.0);
        assert_eq!(pods_field(&pods, ProbeField::Running).unwrap(), 2.0);
        assert_eq!(pods_field(&pods, ProbeField::Total).unwrap(), 4.0);
        assert_eq!(pods_field(&pods, ProbeField::Restarts).unwrap(), 3.0);
        assert!(pods_field(&pods, ProbeField::Replicas).is_err());
    }

    #[test]
    fn selector_is_rendered_sorted() {
        let mut m = StringMap::new();
        m.insert("tier".into(), "web".into());
        m.insert("app".into(), "checkout".into());
        assert_eq!(label_selector(&m), "app=checkout,tier=web");
    }
}

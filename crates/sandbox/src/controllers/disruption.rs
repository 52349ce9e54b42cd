//! PodDisruptionBudgets: their status, and the eviction check that turns a
//! disruption past the budget into 429 TooManyRequests, as kube-apiserver's
//! eviction REST handler does.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::meta;
use crate::resources::{DEPLOYMENTS, PDBS, PODS, REPLICASETS, STATEFULSETS};
use crate::selector::LabelSelector;
use crate::store::{Obj, Store};

pub fn pod_ready(p: &Value) -> bool {
    meta::at(p, &["status", "conditions"])
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

/// An int-or-percent against a total; percentages round up, like
/// `intstr.GetScaledValueFromIntOrPercent(.., true)`.
pub fn scaled(v: Option<&Value>, total: i64, round_up: bool) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            if let Some(p) = s.strip_suffix('%') {
                let p: f64 = p.trim().parse().ok()?;
                let x = p * total as f64 / 100.0;
                Some(if round_up {
                    x.ceil() as i64
                } else {
                    x.floor() as i64
                })
            } else {
                s.parse().ok()
            }
        }
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    pub expected: i64,
    pub current_healthy: i64,
    pub desired_healthy: i64,
    pub disruptions_allowed: i64,
}

/// Expected pods come from the controllers' scale, not from the pods
/// that exist: right after an eviction the replacement does not exist yet,
/// and counting pods would let a second eviction through. As upstream's
/// `getExpectedScale` (pkg/controller/disruption/disruption.go) does, a
/// ReplicaSet controlled by a Deployment counts as that Deployment, once:
/// mid-rollout the old and new ReplicaSets together hold more replicas
/// (the surge) than the Deployment's scale, which is what is expected.
fn expected_pods(store: &Store, pods: &[Arc<Obj>]) -> i64 {
    let mut owners: HashSet<(String, String)> = HashSet::new();
    let mut bare = 0;
    let ns = pods
        .first()
        .map(|p| p.summary.namespace.clone())
        .unwrap_or_default();
    for p in pods {
        match &p.summary.owner {
            Some((kind, name, _)) if kind == "ReplicaSet" => {
                let deployment = store.try_get(REPLICASETS, &ns, name).and_then(|rs| {
                    rs.summary
                        .owner
                        .as_ref()
                        .filter(|(k, _, _)| k == "Deployment")
                        .map(|(_, n, _)| n.clone())
                });
                owners.insert(match deployment {
                    Some(d) => ("Deployment".into(), d),
                    None => (kind.clone(), name.clone()),
                });
            }
            Some((kind, name, _)) => {
                owners.insert((kind.clone(), name.clone()));
            }
            None => bare += 1,
        }
    }
    let mut total = bare;
    for (kind, name) in owners {
        let res = match kind.as_str() {
            "Deployment" => DEPLOYMENTS,
            "ReplicaSet" => REPLICASETS,
            "StatefulSet" => STATEFULSETS,
            _ => {
                total += 1;
                continue;
            }
        };
        total += store
            .try_get(res, &ns, &name)
            .and_then(|o| meta::at(o.value(), &["spec", "replicas"]).and_then(Value::as_i64))
            .unwrap_or(0);
    }
    total
}

pub fn budget(store: &Store, pdb: &Value) -> Budget {
    let ns = meta::namespace(pdb);
    let sel = meta::at(pdb, &["spec", "selector"])
        .and_then(LabelSelector::from_object)
        .unwrap_or_default();
    let (pods, _) = store.list_filtered(PODS, Some(ns), |p| sel.matches_obj(p));
    let expected = expected_pods(store, &pods);
    // countHealthyPods (pkg/controller/disruption): a pod being deleted is
    // not healthy, whatever its Ready condition still says.
    let healthy = pods
        .iter()
        .filter(|p| p.summary.ready && !p.summary.deleting)
        .count() as i64;
    let desired = if let Some(min) =
        scaled(meta::at(pdb, &["spec", "minAvailable"]), expected, true)
    {
        min
    } else if let Some(max) = scaled(meta::at(pdb, &["spec", "maxUnavailable"]), expected, true) {
        (expected - max).max(0)
    } else {
        expected
    };
    Budget {
        expected,
        current_healthy: healthy,
        desired_healthy: desired,
        disruptions_allowed: (healthy - desired).max(0),
    }
}

/// Ok when evicting `pod` keeps the PDB that selects it; otherwise the error
/// kube-apiserver's eviction REST handler returns
/// (pkg/registry/core/pod/storage/eviction.go):
/// - more than one PDB selecting the pod: 500, "This pod has more than one
///   PodDisruptionBudget, which the eviction subresource does not support.";
/// - a budget with no disruption left: 429 "Cannot evict pod as it would
///   violate the pod's disruption budget.", the budget's own figures in a
///   `DisruptionBudget` cause of `details.causes`.
///
/// Pods that are not ready may go when the budget is met (the default
/// `IfHealthyBudget` policy).
pub fn check_eviction(store: &Store, pod: &Value) -> Result<(), ApiError> {
    let ns = meta::namespace(pod);
    let (pdbs, _) = store.list(PDBS, Some(ns));
    let selecting: Vec<_> = pdbs
        .into_iter()
        .filter(|pdb| {
            let sel = meta::at(pdb.value(), &["spec", "selector"])
                .and_then(LabelSelector::from_object)
                .unwrap_or_default();
            !sel.is_empty() && sel.matches(pod)
        })
        .collect();
    let pdb = match selecting.as_slice() {
        [] => return Ok(()),
        [one] => one,
        _ => {
            return Err(ApiError::Internal(
                "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.".to_string(),
            ));
        }
    };
    let b = budget(store, pdb.value());
    let ok = if pod_ready(pod) {
        b.disruptions_allowed >= 1
    } else {
        b.current_healthy >= b.desired_healthy
    };
    if ok {
        return Ok(());
    }
    Err(ApiError::DisruptionBudget {
        cause: format!(
            "The disruption budget {} needs {} healthy pods and has {} currently",
            meta::name(pdb.value()),
            b.desired_healthy,
            b.current_healthy
        ),
    })
}

/// Keeps `status` of every PDB current. Returns whether anything changed.
pub fn reconcile(store: &Store) -> bool {
    let (pdbs, _) = store.list(PDBS, None);
    let mut changed = false;
    for pdb in pdbs {
        let b = budget(store, pdb.value());
        let generation = meta::at(pdb.value(), &["metadata", "generation"])
            .cloned()
            .unwrap_or(json!(1));
        let allowed = b.disruptions_allowed > 0;
        let old_cond = meta::at(pdb.value(), &["status", "conditions"])
            .and_then(Value::as_array)
            .and_then(|cs| cs.first())
            .cloned();
        let status_str = if allowed { "True" } else { "False" };
        let cond = match old_cond {
            Some(c) if c["status"] == status_str => c,
            _ => json!({
                "type": "DisruptionAllowed",
                "status": status_str,
                "reason": if allowed { "SufficientPods" } else { "InsufficientPods" },
                "message": "",
                "lastTransitionTime": meta::now_rfc3339(),
                "observedGeneration": generation,
            }),
        };
        let status = json!({
            "observedGeneration": generation,
            "expectedPods": b.expected,
            "currentHealthy": b.current_healthy,
            "desiredHealthy": b.desired_healthy,
            "disruptionsAllowed": b.disruptions_allowed,
            "conditions": [cond],
        });
        if pdb.value().get("status") != Some(&status) {
            let r = store.modify(
                PDBS,
                meta::namespace(pdb.value()),
                meta::name(pdb.value()),
                crate::store::UpdateMode::Full,
                |_, new| {
                    new["status"] = status.clone();
                    Ok(())
                },
            );
            changed |= r.is_ok();
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_or_percent() {
        assert_eq!(scaled(Some(&json!(1)), 4, true), Some(1));
        assert_eq!(scaled(Some(&json!("25%")), 4, true), Some(1));
        assert_eq!(scaled(Some(&json!("30%")), 4, true), Some(2));
        assert_eq!(scaled(Some(&json!("30%")), 4, false), Some(1));
        assert_eq!(scaled(None, 4, true), None);
    }
}

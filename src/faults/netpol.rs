//! Shared by networkPartition and dnsBlock: label the chosen pods with the
//! fault's id, then create one NetworkPolicy per fault that selects exactly
//! that label. Both the pods and the policy carry the run's marks, so
//! recover finds them separately: the policy is deleted, the pods stripped.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicySpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::ListParams;
use serde_json::{Value, json};

use super::common::{self};
use super::{Batch, FaultCx, FaultError, Reverted, TargetResult, targets};
use crate::k8s::Kube;
use crate::k8s::marks::{
    LABEL_FAULT_ID, LABEL_RUN_ID, Marked, ObjKind, ObjRef, Stamp, generated_name, is_marked,
};
use crate::k8s::select::Candidates;

/// What applies these faults' policies ([`super::FaultKind::enforced_by`]):
/// flannel, for one, stores them and lets everything through.
pub const ENFORCED_BY: &str = "a CNI plugin that enforces NetworkPolicy";

/// The candidates of a policy fault (pods on the pod network), with a
/// warning for each existing NetworkPolicy that selects some of them and
/// allows traffic in a direction the fault denies. Policies add up: a pod
/// may send or receive what any policy selecting it allows
/// (https://kubernetes.io/docs/concepts/services-networking/network-policies/,
/// "policies are additive"), so such a policy may let through what the
/// fault's deny-all policy is meant to stop.
pub async fn plan(cx: &FaultCx<'_>, denies: &[&str]) -> Result<Candidates, FaultError> {
    let (mut out, pods) = targets::pods_on_pod_network_with_specs(cx).await?;
    let ns = targets::namespace(cx)?;
    let api = cx.kube.namespaced::<NetworkPolicy>(ns);
    let lp = ListParams::default();
    let list = cx
        .kube
        .call(&format!("list networkpolicies in {ns}"), || api.list(&lp))
        .await?;
    let empty = BTreeMap::new();
    for np in list.items.iter().filter(|np| !is_marked(&np.metadata)) {
        let Some(spec) = np.spec.as_ref() else {
            continue;
        };
        let selected = pods
            .iter()
            .filter(|p| {
                selects(
                    spec.pod_selector.as_ref(),
                    p.metadata.labels.as_ref().unwrap_or(&empty),
                )
            })
            .count();
        let allowed: Vec<&str> = denies.iter().copied().filter(|d| allows(spec, d)).collect();
        if selected == 0 || allowed.is_empty() {
            continue;
        }
        out.warnings.push(format!(
            "NetworkPolicy {ns}/{} selects {selected} of the candidate pods and allows {}: policies add up, so it may let through what this fault denies",
            np.metadata.name.as_deref().unwrap_or_default(),
            allowed.join(" and ")
        ));
    }
    Ok(out)
}

/// Whether a policy has rules allowing traffic in `direction` (`Ingress`
/// or `Egress`). Without `policyTypes`, a policy is of type Ingress, plus
/// Egress when it has egress rules (NetworkPolicySpec.policyTypes docs).
fn allows(spec: &NetworkPolicySpec, direction: &str) -> bool {
    let types: Vec<String> = spec.policy_types.clone().unwrap_or_else(|| {
        let mut t = vec!["Ingress".to_string()];
        if spec.egress.is_some() {
            t.push("Egress".into());
        }
        t
    });
    if !types.iter().any(|t| t == direction) {
        return false;
    }
    let rules = match direction {
        "Ingress" => spec.ingress.as_ref().map(Vec::len),
        _ => spec.egress.as_ref().map(Vec::len),
    };
    rules.unwrap_or(0) > 0
}

/// A label selector as the API server evaluates it: every `matchLabels`
/// pair and every `matchExpressions` requirement must hold; an empty (or
/// missing) selector selects every pod.
fn selects(sel: Option<&LabelSelector>, labels: &BTreeMap<String, String>) -> bool {
    let Some(sel) = sel else { return true };
    let pairs = sel.match_labels.iter().flatten();
    let labels_ok = pairs.into_iter().all(|(k, v)| labels.get(k) == Some(v));
    let exprs = sel.match_expressions.iter().flatten();
    labels_ok
        && exprs.into_iter().all(|e| {
            let values = e.values.as_deref().unwrap_or_default();
            let value = labels.get(&e.key);
            match e.operator.as_str() {
                "In" => value.is_some_and(|v| values.contains(v)),
                "NotIn" => value.is_none_or(|v| !values.contains(v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false,
            }
        })
}

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
pub async fn inject(cx: &FaultCx<'_>, batch: Batch<'_>, spec: Value) -> Vec<TargetResult> {
    let Batch { stamp, targets, .. } = batch;
    let name = policy_name(stamp);
    let mut results = common::each_target(batch, cx.concurrency, |t| {
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
    let created = match create_policy(cx.kube, &ns, &body).await {
        Ok(()) => confirm_policy(cx.kube, &policy_ref, stamp).await,
        Err(e) => Err(e),
    };
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

/// The evidence that the partition is in place: the policy exists and is
/// this run's. (A 409 on create is taken as our own retried create; this
/// read is what tells it from someone else's policy of the same name.)
async fn confirm_policy(kube: &Kube, obj: &ObjRef, stamp: &Stamp) -> Result<(), FaultError> {
    let unverified = |message: &str| FaultError::Unverified {
        obj: obj.to_string(),
        message: message.to_string(),
    };
    let Some(found) = common::get(kube, obj).await? else {
        return Err(unverified(
            "not in effect: the create was accepted but the policy is not there",
        ));
    };
    let ours = found
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(LABEL_RUN_ID))
        .is_some_and(|r| r == stamp.run_id.as_str());
    if ours {
        Ok(())
    } else {
        Err(unverified(
            "not in effect: a policy of that name exists but is not this run's",
        ))
    }
}

pub async fn revert(kube: &Kube, marked: &Marked) -> Result<Reverted, FaultError> {
    match marked.obj.kind {
        ObjKind::NetworkPolicy => Ok(common::delete(kube, &marked.obj, None).await?),
        _ => common::strip(kube, &marked.obj).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: Value) -> NetworkPolicySpec {
        serde_json::from_value(v).expect("a NetworkPolicySpec")
    }

    #[test]
    fn selectors_match_as_the_api_server_evaluates_them() {
        let labels = BTreeMap::from([("app".to_string(), "web".to_string())]);
        let sel = |v: Value| -> LabelSelector { serde_json::from_value(v).unwrap() };
        assert!(selects(None, &labels));
        assert!(selects(Some(&sel(json!({}))), &labels));
        assert!(selects(
            Some(&sel(json!({"matchLabels": {"app": "web"}}))),
            &labels
        ));
        assert!(!selects(
            Some(&sel(json!({"matchLabels": {"app": "db"}}))),
            &labels
        ));
        let expr = |op: &str, values: Value| {
            sel(json!({"matchExpressions": [{"key": "app", "operator": op, "values": values}]}))
        };
        assert!(selects(Some(&expr("In", json!(["web", "db"]))), &labels));
        assert!(!selects(Some(&expr("NotIn", json!(["web"]))), &labels));
        assert!(selects(Some(&expr("Exists", json!(null))), &labels));
        assert!(!selects(Some(&expr("DoesNotExist", json!(null))), &labels));
    }

    #[test]
    fn a_policy_allows_a_direction_only_with_rules_of_that_type() {
        assert!(allows(&spec(json!({"ingress": [{}]})), "Ingress"));
        // No policyTypes: Ingress, plus Egress when it has egress rules.
        assert!(!allows(&spec(json!({"ingress": [{}]})), "Egress"));
        assert!(allows(&spec(json!({"egress": [{}]})), "Egress"));
        // A deny-all (a type, no rules) allows nothing.
        assert!(!allows(
            &spec(json!({"policyTypes": ["Ingress"]})),
            "Ingress"
        ));
        assert!(!allows(
            &spec(json!({"policyTypes": ["Egress"], "ingress": [{}]})),
            "Ingress"
        ));
    }
}

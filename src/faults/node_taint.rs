//! nodeTaint: add a taint (default `gameday=drill:NoSchedule`). Undo names
//! the taint added, `{"taint":{"key":..,"value":..,"effect":..}}`; the revert
//! removes exactly that taint and keeps any others added meanwhile.

use std::collections::BTreeSet;

use futures::FutureExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use serde_json::{Value, json};

use super::about::About;
use super::common::{self, TargetOutcome};
use super::patched::{self, Change, Shown};
use super::rbac::{NODES, PODS_ALL_NAMESPACES, Rule};
use super::{Entry, FaultCx, FaultError, FaultKind, Planning, Reverted, Reverting, targets};
use crate::k8s::Kube;
use crate::k8s::marks::ObjRef;
use crate::k8s::marks::{Marked, ObjKind};
use crate::k8s::select::{Candidate, Candidates, GroupImpact};
use crate::scenario::ParamCheck;
use crate::scenario::TargetKind;
use crate::scenario::{Fault, FaultSpec};
use crate::yaml::Target;
use kube::api::DynamicObject;

pub struct NodeTaint;

pub const FAULT: Entry = Entry::new(&NodeTaint, ABOUT);

const STARTER: &str = r#"
hypothesis: A NoSchedule taint on a blue node for 30s changes nothing for checkout, which keeps 99% success and every replica.
duration: 30s
successDuring: 0.99
      params:
        taint: {key: gameday, value: drill, effect: NoSchedule}
"#;

const ABOUT: About = About {
    rbac: RBAC,
    marks: &[ObjKind::Node],
    starter: STARTER,
};

/// A NoExecute taint's plan also lists the pods on the nodes in every
/// namespace, to see what it would evict; the others need only the nodes.
const RBAC: &[Rule] = &[NODES, PODS_ALL_NAMESPACES];
const RBAC_NODES_ONLY: &[Rule] = &[NODES];

#[derive(Debug, Clone, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// The taint to add (default `gameday=drill:NoSchedule`).
    pub taint: Option<Taint>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Taint {
    pub key: String,
    #[serde(default)]
    pub value: Option<String>,
    pub effect: TaintEffect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

impl Params {
    /// The taint to add: the given one, or `gameday=drill:NoSchedule`.
    pub fn taint(&self) -> Taint {
        self.taint.clone().unwrap_or(Taint {
            key: "gameday".into(),
            value: Some("drill".into()),
            effect: TaintEffect::NoSchedule,
        })
    }
}

/// Whether a pod tolerates the taint, as the taint manager decides it
/// (`Toleration.ToleratesTaint`, staging/src/k8s.io/api/core/v1/toleration.go):
/// the effect and key match when set (an empty key with `Exists` matches
/// every key), and `Exists` matches any value while `Equal` (the default)
/// needs the same value.
pub fn tolerates(pod: &Pod, taint: &Taint) -> bool {
    let effect = taint_json(taint)["effect"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let value = taint.value.as_deref().unwrap_or("");
    let tolerations = pod.spec.as_ref().and_then(|s| s.tolerations.as_deref());
    tolerations.unwrap_or_default().iter().any(|t| {
        let effect_ok = t
            .effect
            .as_deref()
            .is_none_or(|e| e.is_empty() || e == effect);
        let key_ok = t
            .key
            .as_deref()
            .is_none_or(|k| k.is_empty() || k == taint.key);
        let value_ok = match t.operator.as_deref() {
            Some("Exists") => true,
            None | Some("") | Some("Equal") => t.value.as_deref().unwrap_or("") == value,
            Some(_) => false,
        };
        effect_ok && key_ok && value_ok
    })
}

/// The candidate nodes; for a NoExecute taint, also the pods it would
/// evict per workload (the taint manager evicts every pod on the node that
/// does not tolerate it, in every namespace, kube-system included). Refused
/// when any of those is outside `target.namespaces` or in a protected
/// namespace, as nodeDrain refuses what `kubectl drain` would.
async fn plan_taint(cx: &FaultCx<'_>) -> Result<Candidates, FaultError> {
    let (mut out, _) = targets::nodes(cx).await?;
    let taint = cx.params::<Params>()?.taint();
    if taint.effect != TaintEffect::NoExecute {
        return Ok(out);
    }
    let names: BTreeSet<String> = out.items.iter().map(|c| c.obj.name.clone()).collect();
    let api = cx.kube.all::<Pod>();
    let lp = ListParams::default();
    let pods = cx
        .kube
        .call("list pods in all namespaces", || api.list(&lp))
        .await?;
    let mut refused = Vec::new();
    for pod in pods.items.iter().filter(|p| targets::pod_is_live(p)) {
        let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
        let in_scope = cx.scenario.spec.target.namespaces.iter().any(|n| n == ns)
            && !cx.config.is_protected(ns);
        let group = targets::pod_group(pod);
        if in_scope {
            *out.group_totals.entry(group.clone()).or_default() += 1;
        }
        let node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref());
        let Some(node) = node.filter(|n| names.contains(*n)) else {
            continue;
        };
        if tolerates(pod, &taint) {
            continue;
        }
        if !in_scope {
            let name = pod.metadata.name.as_deref().unwrap_or_default();
            refused.push(format!("{ns}/{name} on {node}"));
            continue;
        }
        targets::count_eviction(&mut out, node, group);
    }
    if refused.is_empty() {
        Ok(out)
    } else {
        Err(cx.invalid(format!(
            "a NoExecute taint evicts every pod on its nodes that does not tolerate it, in every namespace; it would evict pods outside target.namespaces or in a protected namespace: {}",
            refused.join(", ")
        )))
    }
}

/// Records the taint and adds it, guarded by the node's resourceVersion so
/// that taints another controller adds meanwhile are never overwritten.
fn change(p: &Params, node: &DynamicObject) -> Change {
    let taint = taint_json(&p.taint());
    Change {
        patch: json!({
            "metadata": {"resourceVersion": node.metadata.resource_version},
            "spec": {"taints": with_taint(&node.data["spec"]["taints"], &taint)}
        }),
        undo: json!({ "taint": taint }),
    }
}

/// The answer to the patch is the node as stored: evidence the taint is on it.
fn shown<'a>(_: &'a FaultCx<'a>, p: &Params, obj: &'a ObjRef, node: DynamicObject) -> Shown<'a> {
    let outcome = if has_taint(&node.data["spec"]["taints"], &taint_json(&p.taint())) {
        Ok(TargetOutcome::Done(vec![obj.clone()]))
    } else {
        Err(FaultError::Unverified {
            obj: obj.to_string(),
            message: "not in effect: the patch was accepted but the node does not show the taint"
                .into(),
        })
    };
    futures::future::ready(outcome).boxed()
}

pub fn taint_json(t: &Taint) -> Value {
    let effect = match t.effect {
        TaintEffect::NoSchedule => "NoSchedule",
        TaintEffect::PreferNoSchedule => "PreferNoSchedule",
        TaintEffect::NoExecute => "NoExecute",
    };
    let mut v = json!({"key": t.key, "effect": effect});
    // The API server drops an empty value (`omitempty`): leave it out so the
    // taint we record is the taint the node will show.
    if let Some(val) = t.value.as_ref().filter(|v| !v.is_empty()) {
        v["value"] = json!(val);
    }
    v
}

/// Same key, effect and value, where a missing value and `""` are the same
/// (the server stores the latter as the former; undo records from older
/// runs may hold either).
fn same_taint(a: &Value, b: &Value) -> bool {
    let value = |t: &Value| {
        t.get("value")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    a["key"] == b["key"] && a["effect"] == b["effect"] && value(a) == value(b)
}

/// How often the revert re-reads the node after a 409 before giving up.
const REVERT_CONFLICT_RETRIES: usize = 5;

/// The node's taints with `taint` added (once).
pub fn with_taint(existing: &Value, taint: &Value) -> Value {
    let mut list = existing.as_array().cloned().unwrap_or_default();
    if !list.iter().any(|t| same_taint(t, taint)) {
        list.push(taint.clone());
    }
    Value::Array(list)
}

/// The node's taints with `taint` removed.
pub fn has_taint(existing: &Value, taint: &Value) -> bool {
    existing
        .as_array()
        .is_some_and(|l| l.iter().any(|t| same_taint(t, taint)))
}

/// The evidence that the revert ended the fault: the node, read back,
/// no longer has the taint.
async fn confirm_gone(kube: &Kube, marked: &Marked) -> Result<Reverted, FaultError> {
    match common::get(kube, &marked.obj).await? {
        Some(n) if has_taint(&n.data["spec"]["taints"], &marked.undo["taint"]) => {
            Err(FaultError::Unverified {
                obj: marked.obj.to_string(),
                message: "not ended: the node still shows the taint after the revert".into(),
            })
        }
        Some(_) => Ok(Reverted::Restored),
        None => Ok(Reverted::Gone),
    }
}

pub fn without_taint(existing: &Value, taint: &Value) -> Value {
    let list = existing.as_array().cloned().unwrap_or_default();
    Value::Array(list.into_iter().filter(|t| !same_taint(t, taint)).collect())
}

impl FaultSpec for NodeTaint {
    fn name(&self) -> &'static str {
        "nodeTaint"
    }

    fn target_kind(&self) -> TargetKind {
        TargetKind::Nodes
    }

    fn check_params(&self, check: &mut ParamCheck<'_, '_>) {
        let Some(p) = check.typed::<Params>() else {
            return;
        };
        if p.taint.as_ref().is_some_and(|t| t.key.trim().is_empty()) {
            check.error(
                &["taint", "key"],
                Target::Key,
                "the taint's `key` must not be empty".into(),
                None,
            );
        }
    }
}

impl FaultKind for NodeTaint {
    fn rbac_for(&self, fault: &Fault) -> Option<&'static [Rule]> {
        match fault.params_as::<Params>() {
            Ok(p) if p.taint().effect != TaintEffect::NoExecute => Some(RBAC_NODES_ONLY),
            _ => None,
        }
    }

    fn plan<'a>(&'a self, cx: &'a FaultCx<'a>) -> Planning<'a> {
        plan_taint(cx).boxed()
    }

    /// A NoExecute taint evicts like a drain; the others evict nothing.
    fn impact(
        &self,
        fault: &Fault,
        chosen: &[Candidate],
        all: &Candidates,
    ) -> Option<Vec<GroupImpact>> {
        let p = fault.params_as::<Params>().ok()?;
        (p.taint().effect == TaintEffect::NoExecute).then(|| targets::eviction_impact(chosen, all))
    }

    patched::methods!(change, shown);

    fn revert<'a>(&'a self, kube: &'a Kube, marked: &'a Marked) -> Reverting<'a> {
        // A merge patch replaces the taint list whole: write it with the
        // resourceVersion it was read at, so a taint another controller added
        // meanwhile is never dropped; on 409, read again.
        async move {
            for _ in 0..REVERT_CONFLICT_RETRIES {
                let Some(node) = common::get(kube, &marked.obj).await? else {
                    return Ok(Reverted::Gone);
                };
                let taints = without_taint(&node.data["spec"]["taints"], &marked.undo["taint"]);
                let restore = json!({
                    "metadata": {"resourceVersion": node.metadata.resource_version},
                    "spec": {"taints": taints},
                });
                match common::restore(kube, &marked.obj, &restore).await {
                    Err(FaultError::K8s(e)) if e.is_conflict() => continue,
                    Ok(Reverted::Restored) => return confirm_gone(kube, marked).await,
                    other => return other,
                }
            }
            Err(FaultError::Undo {
                obj: marked.obj.to_string(),
                message: format!(
                    "the node changed under each of {REVERT_CONFLICT_RETRIES} attempts to remove the taint"
                ),
            })
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taint_added_once_and_removed_exactly() {
        let mine = taint_json(&Taint {
            key: "gameday".into(),
            value: Some("drill".into()),
            effect: TaintEffect::NoSchedule,
        });
        let other = json!({"key": "dedicated", "value": "db", "effect": "NoSchedule"});
        let existing = json!([other]);
        let added = with_taint(&existing, &mine);
        assert_eq!(added.as_array().unwrap().len(), 2);
        assert_eq!(with_taint(&added, &mine), added, "idempotent");
        assert_eq!(without_taint(&added, &mine), existing);
        assert_eq!(without_taint(&Value::Null, &mine), json!([]));
    }

    #[test]
    fn an_empty_value_matches_the_missing_value_the_server_stores() {
        let recorded = json!({"key": "gameday", "value": "", "effect": "NoExecute"});
        let on_node = json!([{"key": "gameday", "effect": "NoExecute"}]);
        assert_eq!(without_taint(&on_node, &recorded), json!([]));
        let mine = taint_json(&Taint {
            key: "gameday".into(),
            value: Some(String::new()),
            effect: TaintEffect::NoExecute,
        });
        assert!(mine.get("value").is_none(), "{mine}");
    }

    #[test]
    fn tolerations_match_as_the_taint_manager_matches_them() {
        let pod = |tolerations: Value| -> Pod {
            serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": {"containers": [], "tolerations": tolerations}})).unwrap()
        };
        let taint = Taint {
            key: "gameday".into(),
            value: Some("drill".into()),
            effect: TaintEffect::NoExecute,
        };
        assert!(!tolerates(&pod(json!([])), &taint));
        assert!(tolerates(&pod(json!([{"operator": "Exists"}])), &taint));
        assert!(tolerates(
            &pod(json!([{"key": "gameday", "operator": "Exists"}])),
            &taint
        ));
        assert!(tolerates(
            &pod(json!([{"key": "gameday", "value": "drill"}])),
            &taint
        ));
        assert!(!tolerates(
            &pod(json!([{"key": "gameday", "value": "other"}])),
            &taint
        ));
        assert!(!tolerates(
            &pod(json!([{"key": "other", "operator": "Exists"}])),
            &taint
        ));
        assert!(!tolerates(
            &pod(json!([{"operator": "Exists", "effect": "NoSchedule"}])),
            &taint
        ));
        assert!(tolerates(
            &pod(json!([{"operator": "Exists", "effect": "NoExecute"}])),
            &taint
        ));
    }
}

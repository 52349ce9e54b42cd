//! Scheduling: each unscheduled pod goes to the least-loaded node that is
//! schedulable (not cordoned, no taint it does not tolerate, matching
//! nodeSelector) and has room for it (pod count and CPU requests).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::Ctx;
use super::events::{NORMAL, WARNING};
use crate::meta;
use crate::resources::{NODES, PODS};
use crate::store::{Obj, UpdateMode};

/// CPU quantity in millicores: "2" → 2000, "500m" → 500.
pub fn cpu_millis(q: &str) -> Option<i64> {
    let q = q.trim();
    if let Some(m) = q.strip_suffix('m') {
        m.parse::<f64>().ok().map(|x| x as i64)
    } else {
        q.parse::<f64>().ok().map(|x| (x * 1000.0) as i64)
    }
}

fn quantity<'a>(node: &'a Value, field: &str) -> Option<&'a str> {
    meta::str_at(node, &["status", "allocatable", field])
        .or_else(|| meta::str_at(node, &["status", "capacity", field]))
}

pub fn tolerates(pod: &Value, taint: &Value) -> bool {
    tolerations_of(pod).any(|t| toleration_matches(t, taint))
}

/// The pod's `spec.tolerations`.
pub fn tolerations_of(pod: &Value) -> impl Iterator<Item = &Value> {
    meta::at(pod, &["spec", "tolerations"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Whether one toleration matches `taint` (`Toleration.ToleratesTaint`).
pub fn toleration_matches(t: &Value, taint: &Value) -> bool {
    let key_ok = match t.get("key").and_then(Value::as_str) {
        None | Some("") => t.get("operator").and_then(Value::as_str) == Some("Exists"),
        Some(k) => Some(k) == taint.get("key").and_then(Value::as_str),
    };
    let value_ok = t.get("operator").and_then(Value::as_str) == Some("Exists")
        || t.get("value") == taint.get("value")
        || (t.get("value").is_none() && taint.get("value").is_none());
    let effect_ok = match t.get("effect").and_then(Value::as_str) {
        None | Some("") => true,
        Some(e) => Some(e) == taint.get("effect").and_then(Value::as_str),
    };
    key_ok && value_ok && effect_ok
}

fn fits(pod: &Value, node: &Value) -> Result<(), &'static str> {
    if meta::at(node, &["spec", "unschedulable"]) == Some(&Value::Bool(true)) {
        return Err("node(s) were unschedulable");
    }
    for t in meta::at(node, &["spec", "taints"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let effect = t.get("effect").and_then(Value::as_str).unwrap_or("");
        if (effect == "NoSchedule" || effect == "NoExecute") && !tolerates(pod, t) {
            return Err("node(s) had untolerated taint");
        }
    }
    if let Some(sel) = meta::at(pod, &["spec", "nodeSelector"]).and_then(Value::as_object) {
        let labels = meta::labels(node);
        if !sel
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
        {
            return Err("node(s) didn't match Pod's node affinity/selector");
        }
    }
    Ok(())
}

pub fn schedule(ctx: &Ctx, pods: &[Arc<Obj>]) -> bool {
    let pending: Vec<&Arc<Obj>> = pods
        .iter()
        .filter(|p| p.summary.node_name.is_empty() && !p.summary.deleting)
        .collect();
    if pending.is_empty() {
        return false;
    }
    let (nodes, _) = ctx.store.list(NODES, None);
    let mut load: HashMap<String, (i64, i64)> = HashMap::new();
    for p in pods {
        if !p.summary.node_name.is_empty() {
            let e = load.entry(p.summary.node_name.clone()).or_default();
            e.0 += 1;
            e.1 += p.summary.cpu_millis;
        }
    }
    let mut changed = false;
    for p in pending {
        // Parsed for this decision only: caching the tree on every pending
        // pod would hold 18 KB per pod until the pass ends.
        let pod = p.parse();
        let cpu = p.summary.cpu_millis;
        let mut best: Option<(&Arc<Obj>, i64)> = None;
        let mut reasons: HashMap<&'static str, usize> = HashMap::new();
        for n in &nodes {
            let name = meta::name(n.value());
            let (count, used_cpu) = load.get(name).copied().unwrap_or((0, 0));
            let max_pods = quantity(n.value(), "pods")
                .and_then(|q| q.parse::<i64>().ok())
                .unwrap_or(110);
            let max_cpu = quantity(n.value(), "cpu")
                .and_then(cpu_millis)
                .unwrap_or(i64::MAX);
            let verdict = fits(&pod, n.value()).and_then(|_| {
                if count >= max_pods {
                    Err("Too many pods")
                } else if used_cpu + cpu > max_cpu {
                    Err("Insufficient cpu")
                } else {
                    Ok(())
                }
            });
            match verdict {
                Ok(()) => {
                    if best.is_none_or(|(_, c)| count < c) {
                        best = Some((n, count));
                    }
                }
                Err(r) => *reasons.entry(r).or_default() += 1,
            }
        }
        let ns = p.summary.namespace.as_str();
        let pod_name = p.summary.name.as_str();
        match best {
            Some((node, _)) => {
                let node_name = meta::name(node.value()).to_string();
                let r = ctx
                    .store
                    .modify(PODS, ns, pod_name, UpdateMode::Full, |_, new| {
                        new["spec"]["nodeName"] = json!(node_name);
                        set_condition(new, "PodScheduled", true, None, None);
                        Ok(())
                    });
                if let Ok(o) = r {
                    let e = load.entry(node_name.clone()).or_default();
                    e.0 += 1;
                    e.1 += cpu;
                    ctx.event_obj(
                        &o,
                        NORMAL,
                        "Scheduled",
                        &format!("Successfully assigned {ns}/{pod_name} to {node_name}"),
                        "default-scheduler",
                    );
                    changed = true;
                }
            }
            None => {
                let mut parts: Vec<String> =
                    reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
                parts.sort();
                let msg = format!(
                    "0/{} nodes are available: {}.",
                    nodes.len(),
                    parts.join(", ")
                );
                let already = meta::at(&pod, &["status", "conditions"])
                    .and_then(Value::as_array)
                    .is_some_and(|cs| {
                        cs.iter()
                            .any(|c| c["type"] == "PodScheduled" && c["message"] == msg.as_str())
                    });
                if !already {
                    let r = ctx
                        .store
                        .modify(PODS, ns, pod_name, UpdateMode::Full, |_, new| {
                            set_condition(
                                new,
                                "PodScheduled",
                                false,
                                Some("Unschedulable"),
                                Some(&msg),
                            );
                            Ok(())
                        });
                    if let Ok(o) = r {
                        ctx.event_obj(&o, WARNING, "FailedScheduling", &msg, "default-scheduler");
                        changed = true;
                    }
                }
            }
        }
    }
    changed
}

/// Sets a pod condition, keeping lastTransitionTime when the status holds.
pub fn set_condition(
    pod: &mut Value,
    kind: &str,
    ok: bool,
    reason: Option<&str>,
    message: Option<&str>,
) {
    let status = if ok { "True" } else { "False" };
    let conds = meta::ensure_object(pod, &["status"])
        .entry("conditions")
        .or_insert(json!([]));
    if !conds.is_array() {
        *conds = json!([]);
    }
    let Value::Array(list) = conds else { return };
    let mut c = json!({"type": kind, "status": status, "lastProbeTime": null, "lastTransitionTime": meta::now_rfc3339()});
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    if let Some(m) = message {
        c["message"] = json!(m);
    }
    match list.iter_mut().find(|x| x["type"] == kind) {
        Some(existing) => {
            if existing["status"] == status
                && existing.get("reason") == c.get("reason")
                && existing.get("message") == c.get("message")
            {
                return;
            }
            *existing = c;
        }
        None => list.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_quantities() {
        assert_eq!(cpu_millis("2"), Some(2000));
        assert_eq!(cpu_millis("250m"), Some(250));
        assert_eq!(cpu_millis("0.5"), Some(500));
        assert_eq!(cpu_millis("x"), None);
    }

    #[test]
    fn cordoned_and_tainted_nodes_take_no_pods() {
        let pod = json!({"spec": {}});
        assert!(fits(&pod, &json!({"spec": {"unschedulable": true}})).is_err());
        let tainted = json!({"spec": {"taints": [{"key": "gameday", "effect": "NoSchedule"}]}});
        assert!(fits(&pod, &tainted).is_err());
        let tolerant = json!({"spec": {"tolerations": [{"key": "gameday", "operator": "Exists"}]}});
        assert!(fits(&tolerant, &tainted).is_ok());
        assert!(fits(&pod, &json!({"spec": {}})).is_ok());
    }
}

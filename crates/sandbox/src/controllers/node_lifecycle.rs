//! Node health: the kubelet's Ready heartbeat and kube-controller-manager's
//! node lifecycle controller (pkg/controller/nodelifecycle).
//!
//! A real node goes NotReady when its kubelet reports Ready=False (container
//! runtime or network plugin down) and Unknown when the kubelet stops
//! posting status at all (kubelet or host down, node partitioned) for the
//! node monitor grace period. A kubelet stops the way it does on a real
//! node: `systemctl stop kubelet` on the host, from a privileged hostPID
//! pod that entered the host's namespaces ([`crate::runtime::systemd`];
//! gameday's `nodeNotReady` fault). The node annotation [`KUBELET_KNOB`]
//! also says what its kubelet does, for drills that want a node down with
//! no pod to do it: `not-ready` (it reports Ready=False) or `stopped` (it
//! posts nothing and stops syncing its pods). It is a sandbox knob: on a
//! real cluster the kubelet owns node status, and nothing in the
//! Kubernetes API alone can stop it (docs/sandbox-world.md, "Node
//! health").
//!
//! What the controller then does, as upstream:
//! - after the grace period without status, every condition becomes
//!   Unknown, reason `NodeStatusUnknown`, "Kubelet stopped posting node
//!   status." (`tryUpdateNodeHealth`);
//! - the node gets `node.kubernetes.io/not-ready` (Ready=False) or
//!   `node.kubernetes.io/unreachable` (Unknown) taints, NoSchedule
//!   (`doNoScheduleTaintingPass`) and NoExecute with `timeAdded`
//!   (`doNoExecuteTaintingPass`); both go when Ready is True again;
//! - the node's pods are marked Ready=False (`MarkPodsNotReady`);
//! - the taint eviction controller evicts pods after their toleration's
//!   `tolerationSeconds` (300 s from the DefaultTolerationSeconds
//!   admission), see [`super::kubelet::Kubelet::taint_evictions`];
//! - the scheduler skips the node because of the NoSchedule taint.
//!
//! The grace period and toleration seconds are divided by the sandbox's
//! time scale.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Ctx;
use super::scheduler::set_condition;
use crate::meta;
use crate::resources::{NODES, PODS};
use crate::store::{Obj, UpdateMode};

/// Node annotation: what the node's kubelet does, `stopped` or
/// `not-ready`; absent, it runs and reports Ready.
pub const KUBELET_KNOB: &str = "sandbox.gameday/kubelet";

pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";

/// kube-controller-manager's `--node-monitor-grace-period` default: 40 s,
/// 50 s from v1.32 (kubernetes/kubernetes#126287).
fn grace_period(kube_minor: u32) -> Duration {
    Duration::from_secs(if kube_minor >= 32 { 50 } else { 40 })
}

/// What the kubelet of `node` does: stopped on its host (`systemctl stop
/// kubelet`, see [`crate::runtime::systemd`]), else as the knob says.
pub fn kubelet_state(node: &Value, stopped_on_host: bool) -> Option<&str> {
    if stopped_on_host {
        return Some("stopped");
    }
    meta::annotation(node, KUBELET_KNOB).filter(|s| *s == "stopped" || *s == "not-ready")
}

/// The controller's memory: when each node's kubelet stopped posting.
#[derive(Default)]
pub struct NodeLifecycle {
    silent_since: HashMap<String, Instant>,
}

impl NodeLifecycle {
    /// One pass over the nodes; returns whether it wrote.
    pub fn reconcile(
        &mut self,
        ctx: &Ctx,
        nodes: &[Arc<Obj>],
        pods: &[Arc<Obj>],
        stopped_on_host: &HashSet<String>,
    ) -> bool {
        let now = Instant::now();
        let mut changed = false;
        for n in nodes {
            let node = n.value();
            let name = meta::name(node).to_string();
            let ready = match kubelet_state(node, stopped_on_host.contains(&name)) {
                None => {
                    self.silent_since.remove(&name);
                    Some(("True", "KubeletReady", "kubelet is posting ready status"))
                }
                Some("not-ready") => {
                    self.silent_since.remove(&name);
                    Some((
                        "False",
                        "KubeletNotReady",
                        "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
                    ))
                }
                _ => {
                    let since = *self.silent_since.entry(name.clone()).or_insert(now);
                    let due = since + grace_period(ctx.kube_minor).div_f64(ctx.time_scale);
                    if now >= due {
                        Some((
                            "Unknown",
                            "NodeStatusUnknown",
                            "Kubelet stopped posting node status.",
                        ))
                    } else {
                        ctx.wake_at(due);
                        None
                    }
                }
            };
            if let Some((status, reason, message)) = ready {
                changed |= set_health(ctx, node, status, reason, message);
            }
            let ready_now = ready.map_or_else(|| ready_status(node), |r| r.0.to_string());
            if ready_now != "True" {
                changed |= mark_pods_not_ready(ctx, &name, pods);
            }
        }
        changed
    }
}

fn ready_status(node: &Value) -> String {
    meta::at(node, &["status", "conditions"])
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
        .and_then(|c| c["status"].as_str())
        .unwrap_or("True")
        .to_string()
}

/// Writes the Ready condition (every condition, when Unknown) and the
/// matching taints, if they differ from what the node has.
fn set_health(ctx: &Ctx, node: &Value, status: &str, reason: &str, message: &str) -> bool {
    let mut conditions: Vec<Value> = meta::at(node, &["status", "conditions"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let stamp = meta::now_rfc3339();
    let mut found = false;
    for c in conditions.iter_mut() {
        let is_ready = c["type"] == "Ready";
        found |= is_ready;
        if !is_ready && status != "Unknown" {
            continue;
        }
        let (r, m) = if is_ready {
            (reason, message)
        } else {
            (reason, "Kubelet stopped posting node status.")
        };
        if c["status"] != status {
            c["lastTransitionTime"] = json!(stamp);
            c["status"] = json!(status);
        }
        c["reason"] = json!(r);
        c["message"] = json!(m);
    }
    if !found {
        conditions.push(json!({"type": "Ready", "status": status, "reason": reason,
            "message": message, "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}));
    }
    let taints = wanted_taints(node, status, &stamp);
    let same_conditions =
        meta::at(node, &["status", "conditions"]) == Some(&Value::Array(conditions.clone()));
    let same_taints = meta::at(node, &["spec", "taints"])
        .cloned()
        .unwrap_or(json!([]))
        == taints;
    if same_conditions && same_taints {
        return false;
    }
    ctx.store
        .modify(NODES, "", meta::name(node), UpdateMode::Full, |_, new| {
            new["status"]["conditions"] = Value::Array(conditions);
            let empty = taints.as_array().is_some_and(Vec::is_empty);
            match new["spec"].as_object_mut() {
                Some(spec) if empty => {
                    spec.remove("taints");
                }
                Some(spec) => {
                    spec.insert("taints".into(), taints);
                }
                None => {}
            }
            Ok(())
        })
        .is_ok()
}

/// The node's taints with the lifecycle ones for a Ready `status`: other
/// taints kept, the not-ready or unreachable pair (NoSchedule, NoExecute
/// with `timeAdded`) present only while Ready is False or Unknown; a taint
/// already there keeps its `timeAdded`.
fn wanted_taints(node: &Value, status: &str, stamp: &str) -> Value {
    let mut taints: Vec<Value> = meta::at(node, &["spec", "taints"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let key = match status {
        "False" => Some(TAINT_NOT_READY),
        "Unknown" => Some(TAINT_UNREACHABLE),
        _ => None,
    };
    taints.retain(|t| {
        let k = t["key"].as_str().unwrap_or("");
        !(k == TAINT_NOT_READY || k == TAINT_UNREACHABLE) || Some(k) == key
    });
    if let Some(key) = key {
        for effect in ["NoSchedule", "NoExecute"] {
            if !taints
                .iter()
                .any(|t| t["key"] == key && t["effect"] == effect)
            {
                let mut t = json!({"key": key, "effect": effect});
                if effect == "NoExecute" {
                    t["timeAdded"] = json!(stamp);
                }
                taints.push(t);
            }
        }
    }
    Value::Array(taints)
}

/// `MarkPodsNotReady`: the node's pods that still say Ready get Ready=False.
fn mark_pods_not_ready(ctx: &Ctx, node: &str, pods: &[Arc<Obj>]) -> bool {
    let mut changed = false;
    for p in pods
        .iter()
        .filter(|p| p.summary.node_name == node && p.summary.ready)
    {
        let r = ctx.store.modify(
            PODS,
            p.summary.namespace.as_str(),
            p.summary.name.as_str(),
            UpdateMode::Full,
            |_, new| {
                set_condition(new, "Ready", false, None, None);
                Ok(())
            },
        );
        changed |= r.is_ok();
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_taints_follow_ready_and_keep_other_taints() {
        let node = json!({"spec": {"taints": [{"key": "gameday", "effect": "NoSchedule"}]}});
        let t = wanted_taints(&node, "Unknown", "2026-01-01T00:00:00Z");
        let keys: Vec<(&str, &str)> = t
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["key"].as_str().unwrap(), t["effect"].as_str().unwrap()))
            .collect();
        assert_eq!(
            keys,
            [
                ("gameday", "NoSchedule"),
                (TAINT_UNREACHABLE, "NoSchedule"),
                (TAINT_UNREACHABLE, "NoExecute")
            ]
        );
        assert_eq!(t[2]["timeAdded"], "2026-01-01T00:00:00Z");
        // Ready again: the lifecycle taints go, the others stay.
        let healed = wanted_taints(&json!({"spec": {"taints": t}}), "True", "x");
        assert_eq!(healed, json!([{"key": "gameday", "effect": "NoSchedule"}]));
        assert_eq!(grace_period(31), Duration::from_secs(40));
        assert_eq!(grace_period(33), Duration::from_secs(50));
    }
}

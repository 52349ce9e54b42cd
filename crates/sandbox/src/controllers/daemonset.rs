//! The DaemonSet controller: one pod per eligible node, as upstream's
//! `pkg/controller/daemon` does. A node is eligible when it matches the
//! template's `nodeSelector` and every NoSchedule/NoExecute taint is
//! tolerated by the template plus the tolerations the real controller adds
//! to every daemon pod (`util.AddOrUpdateDaemonPodTolerations`): not-ready,
//! unreachable, the pressure conditions and `unschedulable`, so a cordoned
//! node keeps its daemon pod and `kubectl drain` must skip it.
//!
//! Upstream binds daemon pods through the scheduler with a node-affinity
//! term on `metadata.name`; the sandbox scheduler does not evaluate
//! affinity, so the pod gets that term for clients to read and is bound to
//! its node directly. A template change replaces pods one node at a time
//! (RollingUpdate with maxUnavailable 1), once the others are ready.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::Ctx;
use super::events::NORMAL;
use super::scheduler::tolerates;
use crate::meta;
use crate::resources::{DAEMONSETS, NODES, PODS};
use crate::store::{Obj, UpdateMode};

/// Tolerations every daemon pod gets, whatever its template says.
fn daemon_tolerations() -> Vec<Value> {
    let t = |key: &str, effect: &str| json!({"key": key, "operator": "Exists", "effect": effect});
    vec![
        t("node.kubernetes.io/not-ready", "NoExecute"),
        t("node.kubernetes.io/unreachable", "NoExecute"),
        t("node.kubernetes.io/disk-pressure", "NoSchedule"),
        t("node.kubernetes.io/memory-pressure", "NoSchedule"),
        t("node.kubernetes.io/pid-pressure", "NoSchedule"),
        t("node.kubernetes.io/unschedulable", "NoSchedule"),
    ]
}

/// The pod spec a daemon pod runs with: the template's, plus the daemon
/// tolerations (deduplicated by key and effect).
fn daemon_pod_spec(ds: &Value) -> Value {
    let mut spec = meta::at(ds, &["spec", "template", "spec"])
        .cloned()
        .unwrap_or(json!({"containers": []}));
    let mut tolerations = meta::at(&spec, &["tolerations"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for t in daemon_tolerations() {
        if !tolerations
            .iter()
            .any(|x| x.get("key") == t.get("key") && x.get("effect") == t.get("effect"))
        {
            tolerations.push(t);
        }
    }
    meta::ensure_object(&mut spec, &[]).insert("tolerations".into(), json!(tolerations));
    spec
}

/// Whether a daemon pod with `spec` should run on `node`.
pub fn should_run(spec: &Value, node: &Value) -> bool {
    let pod = json!({"spec": spec});
    let taints_ok = meta::at(node, &["spec", "taints"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|t| matches!(t["effect"].as_str(), Some("NoSchedule" | "NoExecute")))
        .all(|t| tolerates(&pod, t));
    let selector_ok = meta::at(spec, &["nodeSelector"])
        .and_then(Value::as_object)
        .is_none_or(|sel| {
            let labels = meta::labels(node);
            sel.iter()
                .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
        });
    taints_ok && selector_ok
}

fn template_hash(ds: &Value) -> String {
    meta::at(ds, &["spec", "template"])
        .map(|t| meta::value_hash(&meta::canonical_template(t)))
        .unwrap_or_default()
}

fn daemon_pod(ds: &Value, node: &str, hash: &str) -> Value {
    let mut labels = meta::at(ds, &["spec", "template", "metadata", "labels"])
        .cloned()
        .filter(Value::is_object)
        .unwrap_or(json!({}));
    labels["controller-revision-hash"] = json!(hash);
    let mut md = json!({
        "generateName": format!("{}-", meta::name(ds)),
        "labels": labels,
        "ownerReferences": [meta::owner_ref(ds)],
    });
    if let Some(a) = meta::at(ds, &["spec", "template", "metadata", "annotations"]) {
        md["annotations"] = a.clone();
    }
    let mut spec = daemon_pod_spec(ds);
    spec["nodeName"] = json!(node);
    spec["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [
            {"key": "metadata.name", "operator": "In", "values": [node]}
        ]}]
    }}});
    json!({"metadata": md, "spec": spec, "status": {"phase": "Pending"}})
}

/// One pass over the DaemonSets. Returns whether anything was written.
pub fn reconcile(ctx: &Ctx, pods_by: &HashMap<String, Vec<Arc<Obj>>>) -> bool {
    let (sets, _) = ctx.store.list(DAEMONSETS, None);
    if sets.is_empty() {
        return false;
    }
    let (nodes, _) = ctx.store.list(NODES, None);
    let mut changed = false;
    for ds in sets {
        let ds = ds.value();
        let pods: Vec<&Arc<Obj>> = pods_by
            .get(meta::uid(ds))
            .into_iter()
            .flatten()
            .filter(|p| !p.summary.deleting)
            .collect();
        changed |= one(ctx, ds, &nodes, &pods);
    }
    changed
}

fn one(ctx: &Ctx, ds: &Value, nodes: &[Arc<Obj>], pods: &[&Arc<Obj>]) -> bool {
    let ns = meta::namespace(ds);
    let spec = daemon_pod_spec(ds);
    let hash = template_hash(ds);
    let mut changed = false;
    let mut desired = 0;
    let mut misscheduled = 0;
    let mut on_eligible: Vec<&Arc<Obj>> = Vec::new();
    for n in nodes {
        let node = n.summary.name.as_str();
        let here: Vec<&Arc<Obj>> = pods
            .iter()
            .copied()
            .filter(|p| p.summary.node_name == node)
            .collect();
        if !should_run(&spec, n.value()) {
            // Pods on a node they should not run on are deleted.
            misscheduled += here.len();
            for p in here {
                changed |= delete(ctx, ds, p);
            }
            continue;
        }
        desired += 1;
        match here.split_first() {
            None => {
                if let Ok(p) = ctx.store.create(PODS, ns, daemon_pod(ds, node, &hash)) {
                    ctx.event(
                        ds,
                        NORMAL,
                        "SuccessfulCreate",
                        &format!("Created pod: {}", p.summary.name),
                        "daemonset-controller",
                    );
                    changed = true;
                }
            }
            Some((keep, extra)) => {
                on_eligible.push(keep);
                for p in extra {
                    changed |= delete(ctx, ds, p);
                }
            }
        }
    }
    // Rolling update, one node at a time, once every daemon pod is ready.
    let ready = on_eligible.iter().filter(|p| p.summary.ready).count();
    let outdated =
        |p: &&&Arc<Obj>| p.summary.label("controller-revision-hash") != Some(hash.as_str());
    if ready == desired
        && let Some(p) = on_eligible.iter().find(outdated)
    {
        changed |= delete(ctx, ds, p);
    }
    let updated = on_eligible.iter().filter(|p| !outdated(p)).count();
    let status = json!({
        "currentNumberScheduled": on_eligible.len(),
        "desiredNumberScheduled": desired,
        "numberMisscheduled": misscheduled,
        "numberReady": ready,
        "numberAvailable": ready,
        "numberUnavailable": desired.saturating_sub(ready),
        "updatedNumberScheduled": updated,
        "observedGeneration": meta::at(ds, &["metadata", "generation"]).cloned().unwrap_or(json!(1)),
    });
    if ds.get("status") != Some(&status) {
        changed |= ctx
            .store
            .modify(
                DAEMONSETS,
                ns,
                meta::name(ds),
                UpdateMode::Full,
                |_, new| {
                    new["status"] = status;
                    Ok(())
                },
            )
            .is_ok();
    }
    changed
}

fn delete(ctx: &Ctx, ds: &Value, p: &Obj) -> bool {
    let ok = ctx
        .store
        .delete(
            PODS,
            &p.summary.namespace,
            &p.summary.name,
            Some(&p.summary.uid),
        )
        .is_ok();
    if ok {
        ctx.event(
            ds,
            NORMAL,
            "SuccessfulDelete",
            &format!("Deleted pod: {}", p.summary.name),
            "daemonset-controller",
        );
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_pods_run_on_cordoned_nodes_but_respect_selectors_and_taints() {
        let ds = json!({"metadata": {"name": "agent"}, "spec": {"template": {"spec": {
            "containers": [{"name": "a", "image": "x"}],
            "nodeSelector": {"pool": "blue"},
        }}}});
        let spec = daemon_pod_spec(&ds);
        let blue = json!({"metadata": {"labels": {"pool": "blue"}}, "spec": {}});
        let cordoned = json!({"metadata": {"labels": {"pool": "blue"}}, "spec": {
            "unschedulable": true,
            "taints": [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}],
        }});
        let green = json!({"metadata": {"labels": {"pool": "green"}}, "spec": {}});
        let tainted = json!({"metadata": {"labels": {"pool": "blue"}}, "spec": {
            "taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}],
        }});
        assert!(should_run(&spec, &blue));
        assert!(should_run(&spec, &cordoned));
        assert!(!should_run(&spec, &green));
        assert!(!should_run(&spec, &tainted));
    }

    #[test]
    fn daemon_pods_are_bound_and_owned() {
        let ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "ops", "uid": "u1"},
            "spec": {"template": {"metadata": {"labels": {"app": "agent"}},
            "spec": {"containers": [{"name": "a", "image": "x"}]}}}});
        let p = daemon_pod(&ds, "node-1", "h");
        assert_eq!(p["spec"]["nodeName"], "node-1");
        assert_eq!(p["metadata"]["ownerReferences"][0]["kind"], "DaemonSet");
        assert_eq!(p["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(p["metadata"]["labels"]["app"], "agent");
        let tol = p["spec"]["tolerations"].as_array().unwrap();
        assert!(
            tol.iter()
                .any(|t| t["key"] == "node.kubernetes.io/unschedulable")
        );
    }
}

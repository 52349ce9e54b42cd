//! Deployment, ReplicaSet and StatefulSet controllers, following the
//! upstream algorithms closely enough that rollouts, scale changes and
//! pod replacement look the same to clients: a template change makes a new
//! ReplicaSet and rolls with maxSurge/maxUnavailable; StatefulSets create
//! ordinal pods in order and replace outdated ones from the highest ordinal.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::{Value, json};

use super::Ctx;
use super::disruption::scaled;
use super::events::NORMAL;
use crate::meta;
use crate::resources::{CONTROLLERREVISIONS, DEPLOYMENTS, PODS, REPLICASETS, STATEFULSETS};
use crate::selector::LabelSelector;
use crate::store::{Obj, UpdateMode};

const REVISION: &str = "deployment.kubernetes.io/revision";

fn replicas(v: &Value) -> i64 {
    meta::at(v, &["spec", "replicas"])
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

fn live(p: &Obj) -> bool {
    !p.summary.deleting
}

/// Pods (or ReplicaSets) grouped by the uid of their controlling owner.
pub fn by_owner(objs: &[Arc<Obj>]) -> HashMap<String, Vec<Arc<Obj>>> {
    let mut m: HashMap<String, Vec<Arc<Obj>>> = HashMap::new();
    for o in objs {
        if let Some(uid) = o.summary.owner_uid() {
            m.entry(uid.to_string()).or_default().push(o.clone());
        }
    }
    m
}

/// A pod made from a template, owned by `owner`.
pub(crate) fn pod_from_template(
    owner: &Value,
    name: &str,
    extra_labels: &[(&str, String)],
) -> Value {
    let template = meta::at(owner, &["spec", "template"])
        .cloned()
        .unwrap_or(json!({}));
    let mut labels = meta::at(&template, &["metadata", "labels"])
        .cloned()
        .unwrap_or(json!({}));
    if !labels.is_object() {
        labels = json!({});
    }
    for (k, v) in extra_labels {
        labels[*k] = json!(v);
    }
    let mut md = json!({
        "name": name,
        "labels": labels,
        "ownerReferences": [meta::owner_ref(owner)],
    });
    if let Some(a) = meta::at(&template, &["metadata", "annotations"]) {
        md["annotations"] = a.clone();
    }
    json!({
        "metadata": md,
        "spec": template.get("spec").cloned().unwrap_or(json!({"containers": []})),
        "status": {"phase": "Pending"},
    })
}

fn set_status(ctx: &Ctx, res: usize, obj: &Value, status: Value) -> bool {
    if obj.get("status") == Some(&status) {
        return false;
    }
    ctx.store
        .modify(
            res,
            meta::namespace(obj),
            meta::name(obj),
            UpdateMode::Full,
            |_, new| {
                new["status"] = status;
                Ok(())
            },
        )
        .is_ok()
}

fn set_replicas(ctx: &Ctx, rs: &Value, n: i64, deploy: &Value) -> bool {
    let old = replicas(rs);
    if old == n {
        return false;
    }
    let ok = ctx
        .store
        .modify(
            REPLICASETS,
            meta::namespace(rs),
            meta::name(rs),
            UpdateMode::Full,
            |_, new| {
                new["spec"]["replicas"] = json!(n);
                Ok(())
            },
        )
        .is_ok();
    if ok {
        let dir = if n > old { "up" } else { "down" };
        ctx.event(
            deploy,
            NORMAL,
            "ScalingReplicaSet",
            &format!(
                "Scaled {dir} replica set {} from {old} to {n}",
                meta::name(rs)
            ),
            "deployment-controller",
        );
    }
    ok
}

fn ready_count(pods: Option<&Vec<Arc<Obj>>>) -> i64 {
    pods.map(|ps| ps.iter().filter(|p| live(p) && p.summary.ready).count() as i64)
        .unwrap_or(0)
}

fn pod_count(pods: Option<&Vec<Arc<Obj>>>) -> i64 {
    pods.map(|ps| ps.iter().filter(|p| live(p)).count() as i64)
        .unwrap_or(0)
}

fn revision(rs: &Value) -> i64 {
    meta::annotation(rs, REVISION)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// One pass over the deployments. Returns whether anything was written.
pub fn deployments(
    ctx: &Ctx,
    rs_by: &HashMap<String, Vec<Arc<Obj>>>,
    pods_by: &HashMap<String, Vec<Arc<Obj>>>,
) -> bool {
    let (deploys, _) = ctx.store.list(DEPLOYMENTS, None);
    let mut changed = false;
    for d in deploys {
        changed |= deployment(ctx, d.value(), rs_by.get(meta::uid(d.value())), pods_by);
    }
    changed
}

/// One Deployment's sync, in the order of the upstream deployment
/// controller: find or create the ReplicaSet for the current template,
/// scale ReplicaSets by the strategy, then write status.
fn deployment(
    ctx: &Ctx,
    d: &Value,
    owned: Option<&Vec<Arc<Obj>>>,
    pods_by: &HashMap<String, Vec<Arc<Obj>>>,
) -> bool {
    let want = replicas(d);
    let Some(template) = meta::at(d, &["spec", "template"]) else {
        return false;
    };
    let mut rss: Vec<Value> = owned
        .map(|v| v.iter().map(|o| o.parse()).collect())
        .unwrap_or_default();
    rss.sort_by_key(|r| {
        meta::str_at(r, &["metadata", "creationTimestamp"])
            .unwrap_or("")
            .to_string()
    });
    let Some((new_rs, mut changed)) = new_replica_set(ctx, d, template, want, &mut rss) else {
        return false;
    };
    let new_uid = meta::uid(&new_rs).to_string();
    let olds: Vec<&Value> = rss.iter().filter(|r| meta::uid(r) != new_uid).collect();
    let recreate = meta::str_at(d, &["spec", "strategy", "type"]) == Some("Recreate");
    if olds.iter().all(|r| replicas(r) == 0) {
        // Steady state or plain scaling: the new ReplicaSet carries everything.
        // Recreate waits until the old pods are gone, terminating ones too.
        if olds
            .iter()
            .all(|r| pods_by.get(meta::uid(r)).is_none_or(Vec::is_empty))
            || !recreate
        {
            changed |= set_replicas(ctx, &new_rs, want, d);
        }
    } else if recreate {
        for r in &olds {
            changed |= set_replicas(ctx, r, 0, d);
        }
    } else {
        changed |= rolling_update(ctx, d, want, &new_rs, &olds, &rss, pods_by);
    }
    changed |= deployment_status(ctx, d, want, &new_rs, &rss, pods_by);
    changed
}

/// The ReplicaSet for the Deployment's current template (by
/// `pod-template-hash`), created at the next revision if there is none (it is
/// then pushed onto `rss`). Returns it and whether anything was written, or
/// `None` if creating it failed (nothing was written then).
fn new_replica_set(
    ctx: &Ctx,
    d: &Value,
    template: &Value,
    want: i64,
    rss: &mut Vec<Value>,
) -> Option<(Value, bool)> {
    let hash = meta::value_hash(&meta::canonical_template(template));
    let max_rev = rss.iter().map(revision).max().unwrap_or(0);
    let new_pos = rss.iter().position(|r| {
        meta::str_at(r, &["metadata", "labels", "pod-template-hash"]) == Some(hash.as_str())
    });
    let old_total: i64 = rss
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != new_pos)
        .map(|(_, r)| replicas(r))
        .sum();
    match new_pos {
        Some(i) => {
            let r = rss[i].clone();
            let changed = sync_revision(ctx, d, &r, max_rev);
            Some((r, changed))
        }
        None => {
            let initial = if old_total == 0 { want } else { 0 };
            let o = create_replica_set(ctx, d, template, &hash, want, initial, max_rev + 1)?;
            rss.push(o.clone());
            Some((o, true))
        }
    }
}

/// A rollback to an older template: its ReplicaSet becomes the newest
/// revision, and the Deployment's revision annotation follows it. Returns
/// whether it wrote.
fn sync_revision(ctx: &Ctx, d: &Value, r: &Value, max_rev: i64) -> bool {
    if revision(r) >= max_rev && meta::annotation(d, REVISION) == meta::annotation(r, REVISION) {
        return false;
    }
    let ns = meta::namespace(d);
    let rev = if revision(r) < max_rev {
        max_rev + 1
    } else {
        revision(r)
    };
    let _ = ctx.store.modify(
        REPLICASETS,
        ns,
        meta::name(r),
        UpdateMode::Full,
        |_, new| {
            meta::ensure_object(new, &["metadata", "annotations"])
                .insert(REVISION.into(), json!(rev.to_string()));
            Ok(())
        },
    );
    let _ = ctx.store.modify(
        DEPLOYMENTS,
        ns,
        meta::name(d),
        UpdateMode::Full,
        |_, new| {
            meta::ensure_object(new, &["metadata", "annotations"])
                .insert(REVISION.into(), json!(rev.to_string()));
            Ok(())
        },
    );
    true
}

/// Creates `<name>-<hash>` at revision `rev` with `initial` replicas (all
/// of them when nothing older runs, else none: the rollout scales it), and
/// stamps the revision on the Deployment.
fn create_replica_set(
    ctx: &Ctx,
    d: &Value,
    template: &Value,
    hash: &str,
    want: i64,
    initial: i64,
    rev: i64,
) -> Option<Value> {
    let ns = meta::namespace(d);
    let name = meta::name(d);
    let mut tpl = template.clone();
    meta::ensure_object(&mut tpl, &["metadata", "labels"])
        .insert("pod-template-hash".into(), json!(hash));
    let mut selector = meta::at(d, &["spec", "selector"])
        .cloned()
        .unwrap_or(json!({}));
    meta::ensure_object(&mut selector, &["matchLabels"])
        .insert("pod-template-hash".into(), json!(hash));
    let mut labels = meta::at(template, &["metadata", "labels"])
        .cloned()
        .unwrap_or(json!({}));
    labels["pod-template-hash"] = json!(hash);
    let rs_name = format!("{name}-{hash}");
    let rev = rev.to_string();
    let rs = json!({
        "metadata": {
            "name": rs_name,
            "labels": labels,
            "annotations": {REVISION: rev, "deployment.kubernetes.io/desired-replicas": want.to_string()},
            "ownerReferences": [meta::owner_ref(d)],
        },
        "spec": {"replicas": initial, "selector": selector, "template": tpl},
        "status": {"replicas": 0},
    });
    let o = ctx.store.create(REPLICASETS, ns, rs).ok()?;
    let _ = ctx
        .store
        .modify(DEPLOYMENTS, ns, name, UpdateMode::Full, |_, new| {
            meta::ensure_object(new, &["metadata", "annotations"])
                .insert(REVISION.into(), json!(rev));
            Ok(())
        });
    if initial > 0 {
        ctx.event(
            d,
            NORMAL,
            "ScalingReplicaSet",
            &format!("Scaled up replica set {rs_name} from 0 to {initial}"),
            "deployment-controller",
        );
    }
    Some(o.parse())
}

/// One RollingUpdate step: scale the new ReplicaSet up within maxSurge, then
/// the old ones down within maxUnavailable, unhealthy pods first.
fn rolling_update(
    ctx: &Ctx,
    d: &Value,
    want: i64,
    new_rs: &Value,
    olds: &[&Value],
    rss: &[Value],
    pods_by: &HashMap<String, Vec<Arc<Obj>>>,
) -> bool {
    let mut changed = false;
    let ru = meta::at(d, &["spec", "strategy", "rollingUpdate"]);
    let mut surge = scaled(ru.and_then(|r| r.get("maxSurge")), want, true)
        .unwrap_or((want as f64 * 0.25).ceil() as i64);
    let mut unavailable = scaled(ru.and_then(|r| r.get("maxUnavailable")), want, false)
        .unwrap_or((want as f64 * 0.25).floor() as i64);
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    surge = surge.max(0);
    // Scale up the new ReplicaSet within the surge.
    let new_spec = replicas(new_rs);
    let total: i64 = new_spec + olds.iter().map(|r| replicas(r)).sum::<i64>();
    let new_target = (new_spec + (want + surge - total).max(0)).min(want);
    if new_target != new_spec {
        changed |= set_replicas(ctx, new_rs, new_target, d);
    }
    // Scale down old ReplicaSets within maxUnavailable, unhealthy first.
    let min_available = want - unavailable;
    let all_pods: i64 = rss
        .iter()
        .map(|r| pod_count(pods_by.get(meta::uid(r))))
        .sum();
    let new_unavailable = (new_spec - ready_count(pods_by.get(meta::uid(new_rs)))).max(0);
    let max_scaled_down = all_pods - min_available - new_unavailable;
    if max_scaled_down > 0 {
        let mut cleaned = 0;
        let mut specs: Vec<(Value, i64)> =
            olds.iter().map(|r| ((*r).clone(), replicas(r))).collect();
        for (r, spec) in specs.iter_mut() {
            if cleaned >= max_scaled_down {
                break;
            }
            let unhealthy = (*spec - ready_count(pods_by.get(meta::uid(r)))).max(0);
            let n = unhealthy.min(max_scaled_down - cleaned);
            if n > 0 {
                *spec -= n;
                cleaned += n;
            }
        }
        let available: i64 = rss
            .iter()
            .map(|r| ready_count(pods_by.get(meta::uid(r))))
            .sum();
        let mut budget = available - min_available;
        for (r, spec) in specs.iter_mut() {
            if budget <= 0 {
                break;
            }
            let n = (*spec).min(budget);
            *spec -= n;
            budget -= n;
            let _ = r;
        }
        for (r, spec) in specs {
            changed |= set_replicas(ctx, &r, spec, d);
        }
    }
    changed
}

/// Status from the pods that exist now, with the Available and Progressing
/// conditions; a condition keeps its timestamps while its status and reason
/// stay the same.
fn deployment_status(
    ctx: &Ctx,
    d: &Value,
    want: i64,
    new_rs: &Value,
    rss: &[Value],
    pods_by: &HashMap<String, Vec<Arc<Obj>>>,
) -> bool {
    let all_pods: i64 = rss
        .iter()
        .map(|r| pod_count(pods_by.get(meta::uid(r))))
        .sum();
    let ready: i64 = rss
        .iter()
        .map(|r| ready_count(pods_by.get(meta::uid(r))))
        .sum();
    let updated = pod_count(pods_by.get(meta::uid(new_rs)));
    let unavailable_allowed = {
        let ru = meta::at(d, &["spec", "strategy", "rollingUpdate"]);
        scaled(ru.and_then(|r| r.get("maxUnavailable")), want, false)
            .unwrap_or((want as f64 * 0.25).floor() as i64)
    };
    let available_ok = ready >= want - unavailable_allowed;
    let counts = Counts {
        replicas: all_pods,
        updated,
        ready,
    };
    let old_conds = meta::at(d, &["status", "conditions"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let available = keep_or_new(
        &old_conds,
        "Available",
        available_ok,
        if available_ok {
            "MinimumReplicasAvailable"
        } else {
            "MinimumReplicasUnavailable"
        },
        if available_ok {
            "Deployment has minimum availability."
        } else {
            "Deployment does not have minimum availability."
        },
    );
    let progressing = progressing_condition(ctx, d, want, meta::name(new_rs), &counts, &old_conds);
    let status = json!({
        "observedGeneration": meta::at(d, &["metadata", "generation"]).cloned().unwrap_or(json!(1)),
        "replicas": all_pods,
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "unavailableReplicas": (want - ready).max(0),
        "conditions": [available, progressing],
    });
    set_status(ctx, DEPLOYMENTS, d, strip_zero(status))
}

/// The replica counts of one Deployment status.
struct Counts {
    replicas: i64,
    updated: i64,
    ready: i64,
}

/// `SetDeploymentCondition` (pkg/controller/deployment/util): a condition
/// with the same status and reason is kept as it is, timestamps included.
fn keep_or_new(old: &[Value], kind: &str, ok: bool, reason: &str, msg: &str) -> Value {
    let status = if ok { "True" } else { "False" };
    match old.iter().find(|c| c["type"] == kind) {
        Some(c) if c["status"] == status && c["reason"] == reason => c.clone(),
        _ => {
            let now = meta::now_rfc3339();
            json!({"type": kind, "status": status, "reason": reason, "message": msg,
                   "lastUpdateTime": now, "lastTransitionTime": now})
        }
    }
}

/// apps/v1's default `progressDeadlineSeconds`.
const DEFAULT_PROGRESS_DEADLINE: i64 = 600;

/// The Progressing condition as `syncRolloutStatus`
/// (pkg/controller/deployment/progress.go) computes it:
/// - complete (every replica updated and available): True,
///   NewReplicaSetAvailable;
/// - progress since the last status (more updated, ready or available
///   replicas, fewer old ones): True, ReplicaSetUpdated, with a fresh
///   `lastUpdateTime` and the old `lastTransitionTime` if it was True;
/// - no progress for `progressDeadlineSeconds` since `lastUpdateTime`
///   (`DeploymentTimedOut`): False, ProgressDeadlineExceeded, which stays
///   until progress is seen again (`kubectl rollout status` fails on it).
///
/// Without progress the controller asks to run again at the deadline
/// (`requeueStuckDeployment`).
fn progressing_condition(
    ctx: &Ctx,
    d: &Value,
    want: i64,
    new_rs: &str,
    now: &Counts,
    old_conds: &[Value],
) -> Value {
    let old = |k: &str| {
        meta::at(d, &["status", k])
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    let current = old_conds.iter().find(|c| c["type"] == "Progressing");
    let generation = meta::at(d, &["metadata", "generation"]).and_then(Value::as_i64);
    let complete = now.updated == want && now.replicas == want && now.ready >= want;
    let progressed = now.updated > old("updatedReplicas")
        || now.replicas - now.updated < old("replicas") - old("updatedReplicas")
        || now.ready > old("readyReplicas")
        || now.ready > old("availableReplicas")
        // A new template is progress (getNewReplicaSet: NewReplicaSetCreated).
        || generation != meta::at(d, &["status", "observedGeneration"]).and_then(Value::as_i64);
    if complete {
        let msg = format!("ReplicaSet \"{new_rs}\" has successfully progressed.");
        return keep_or_new(
            old_conds,
            "Progressing",
            true,
            "NewReplicaSetAvailable",
            &msg,
        );
    }
    let stamp = meta::now_rfc3339();
    let Some(cur) = current.filter(|_| !progressed) else {
        let mut c = json!({"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
            "message": format!("ReplicaSet \"{new_rs}\" is progressing."),
            "lastUpdateTime": stamp, "lastTransitionTime": stamp});
        if let Some(cur) = current.filter(|c| c["status"] == "True") {
            c["lastTransitionTime"] = cur["lastTransitionTime"].clone();
        }
        wake_at_deadline(ctx, d, &stamp);
        return c;
    };
    match cur["reason"].as_str() {
        Some("ProgressDeadlineExceeded") | Some("NewReplicaSetAvailable") => cur.clone(),
        _ => {
            let since = cur["lastUpdateTime"].as_str().unwrap_or(&stamp);
            if !wake_at_deadline(ctx, d, since) {
                let msg = format!("ReplicaSet \"{new_rs}\" has timed out progressing.");
                return keep_or_new(
                    old_conds,
                    "Progressing",
                    false,
                    "ProgressDeadlineExceeded",
                    &msg,
                );
            }
            cur.clone()
        }
    }
}

/// Asks for a pass when `since + progressDeadlineSeconds` comes; false if
/// that time has passed already.
fn wake_at_deadline(ctx: &Ctx, d: &Value, since: &str) -> bool {
    let secs = meta::at(d, &["spec", "progressDeadlineSeconds"])
        .and_then(Value::as_i64)
        .unwrap_or(DEFAULT_PROGRESS_DEADLINE);
    let Some(from) = meta::parse_time(since) else {
        return true;
    };
    let deadline = from.as_second() + secs;
    let now = jiff::Timestamp::now();
    // lastUpdateTime has second precision: round the wait up.
    let left = deadline - now.as_second();
    if left < 0 || (left == 0 && now.subsec_nanosecond() > 0) {
        return false;
    }
    let wait = std::time::Duration::from_secs(left as u64 + 1).saturating_sub(
        std::time::Duration::from_nanos(now.subsec_nanosecond() as u64),
    );
    ctx.wake_at(std::time::Instant::now() + wait);
    true
}

/// The apiserver omits zero-valued optional counters; kubectl and
/// kube-state-metrics treat absent as 0, and so do tests written against a
/// real cluster.
fn strip_zero(mut status: Value) -> Value {
    if let Value::Object(m) = &mut status {
        m.retain(|k, v| k == "replicas" || k == "observedGeneration" || v != &json!(0));
    }
    status
}

/// Pods to delete when scaling down: unscheduled, then not ready, then newest.
fn deletion_order(pods: &mut [Arc<Obj>]) {
    pods.sort_by_key(|p| {
        let scheduled = !p.summary.node_name.is_empty();
        let ready = p.summary.ready;
        let created = p.summary.created.clone();
        (scheduled, ready, std::cmp::Reverse(created))
    });
}

pub fn replicasets(ctx: &Ctx, pods_by: &HashMap<String, Vec<Arc<Obj>>>) -> bool {
    let (rss, _) = ctx.store.list(REPLICASETS, None);
    let mut changed = false;
    for rs in rss {
        let rs = &rs.value();
        let ns = meta::namespace(rs);
        let want = replicas(rs);
        let mut pods: Vec<Arc<Obj>> = pods_by
            .get(meta::uid(rs))
            .map(|v| v.iter().filter(|p| live(p)).cloned().collect())
            .unwrap_or_default();
        let have = pods.len() as i64;
        let base = meta::name(rs).to_string();
        if have < want {
            for _ in have..want {
                let name = format!("{base}-{}", meta::random_suffix(5));
                if let Ok(p) = ctx
                    .store
                    .create(PODS, ns, pod_from_template(rs, &name, &[]))
                {
                    ctx.event(
                        rs,
                        NORMAL,
                        "SuccessfulCreate",
                        &format!("Created pod: {name}"),
                        "replicaset-controller",
                    );
                    pods.push(p);
                    changed = true;
                }
            }
        } else if have > want {
            deletion_order(&mut pods);
            let extra = (have - want) as usize;
            for p in pods.drain(..extra) {
                if ctx
                    .store
                    .delete(PODS, ns, p.summary.name.as_str(), None)
                    .is_ok()
                {
                    ctx.killing(p.value());
                    ctx.event(
                        rs,
                        NORMAL,
                        "SuccessfulDelete",
                        &format!("Deleted pod: {}", p.summary.name.as_str()),
                        "replicaset-controller",
                    );
                    changed = true;
                }
            }
        }
        let ready = pods.iter().filter(|p| p.summary.ready).count() as i64;
        let sel = meta::at(rs, &["spec", "selector"])
            .and_then(LabelSelector::from_object)
            .unwrap_or_default();
        let labeled = pods.iter().filter(|p| sel.matches_obj(p)).count() as i64;
        let status = strip_zero(json!({
            "replicas": pods.len(),
            "fullyLabeledReplicas": labeled,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": meta::at(rs, &["metadata", "generation"]).cloned().unwrap_or(json!(1)),
        }));
        changed |= set_status(ctx, REPLICASETS, rs, status);
    }
    changed
}

fn ordinal(sts_name: &str, pod_name: &str) -> Option<i64> {
    pod_name
        .strip_prefix(sts_name)?
        .strip_prefix('-')?
        .parse()
        .ok()
}

pub fn statefulsets(ctx: &Ctx, pods_by: &HashMap<String, Vec<Arc<Obj>>>) -> bool {
    let (all, _) = ctx.store.list(STATEFULSETS, None);
    let mut changed = false;
    for sts in all {
        changed |= statefulset(ctx, sts.value(), pods_by);
    }
    changed
}

/// What one StatefulSet sync reads from the object, once.
struct StsSpec<'a> {
    sts: &'a Value,
    ns: &'a str,
    name: &'a str,
    want: i64,
    parallel: bool,
    /// `<name>-<template hash>`, the pods' `controller-revision-hash`.
    revision: String,
}

/// The set's pods by ordinal: live ones, and the ordinals whose pod is still
/// terminating.
struct StsPods {
    by_ord: BTreeMap<i64, Arc<Obj>>,
    /// Ordinals whose pod is terminating: the identity is taken until that
    /// pod is gone, so it is never recreated alongside it.
    terminating: BTreeSet<i64>,
}

/// One StatefulSet's sync, in the order of the upstream
/// stateful_set_control.go: observe pods by ordinal, scale up, scale down,
/// roll, then write status.
fn statefulset(ctx: &Ctx, sts: &Value, pods_by: &HashMap<String, Vec<Arc<Obj>>>) -> bool {
    let name = meta::name(sts);
    let Some(template) = meta::at(sts, &["spec", "template"]) else {
        return false;
    };
    let spec = StsSpec {
        sts,
        ns: meta::namespace(sts),
        name,
        want: replicas(sts),
        parallel: meta::str_at(sts, &["spec", "podManagementPolicy"]) == Some("Parallel"),
        revision: format!(
            "{name}-{}",
            meta::value_hash(&meta::canonical_template(template))
        ),
    };
    let mut pods = sts_observe(&spec, pods_by);
    let mut changed = sts_history(ctx, &spec, template);
    // OrderedReady waits for every terminating pod to be gone before
    // any other change ("waiting for Pod to Terminate" in the upstream
    // stateful_set_control.go); Parallel only skips those ordinals.
    let wait = !spec.parallel && !pods.terminating.is_empty();
    if !wait {
        changed |= sts_scale_up(ctx, &spec, &mut pods);
        changed |= sts_scale_down(ctx, &spec, &mut pods);
    }
    changed |= sts_roll(ctx, &spec, &mut pods);
    changed |= sts_status(ctx, &spec, &pods);
    changed
}

fn sts_observe(spec: &StsSpec<'_>, pods_by: &HashMap<String, Vec<Arc<Obj>>>) -> StsPods {
    let mut pods = StsPods {
        by_ord: BTreeMap::new(),
        terminating: BTreeSet::new(),
    };
    for p in pods_by.get(meta::uid(spec.sts)).into_iter().flatten() {
        if let Some(o) = ordinal(spec.name, &p.summary.name) {
            if live(p) {
                pods.by_ord.insert(o, p.clone());
            } else {
                pods.terminating.insert(o);
            }
        }
    }
    pods
}

/// Scale up, in order unless Parallel: OrderedReady creates one pod per
/// sync, and only once every lower ordinal is ready.
fn sts_scale_up(ctx: &Ctx, spec: &StsSpec<'_>, pods: &mut StsPods) -> bool {
    let StsSpec {
        sts,
        ns,
        name,
        want,
        parallel,
        ..
    } = *spec;
    let mut changed = false;
    for i in 0..want {
        if pods.by_ord.contains_key(&i) || pods.terminating.contains(&i) {
            continue;
        }
        let predecessors_ready =
            (0..i).all(|j| pods.by_ord.get(&j).is_some_and(|p| p.summary.ready));
        if !parallel && !predecessors_ready {
            break;
        }
        let pod_name = format!("{name}-{i}");
        let mut pod = pod_from_template(
            sts,
            &pod_name,
            &[
                ("statefulset.kubernetes.io/pod-name", pod_name.clone()),
                ("apps.kubernetes.io/pod-index", i.to_string()),
                ("controller-revision-hash", spec.revision.clone()),
            ],
        );
        pod["spec"]["hostname"] = json!(pod_name);
        if let Some(svc) = meta::str_at(sts, &["spec", "serviceName"]) {
            pod["spec"]["subdomain"] = json!(svc);
        }
        if let Ok(p) = ctx.store.create(PODS, ns, pod) {
            ctx.event(
                sts,
                NORMAL,
                "SuccessfulCreate",
                &format!("create Pod {pod_name} in StatefulSet {name} successful"),
                "statefulset-controller",
            );
            pods.by_ord.insert(i, p);
            changed = true;
        }
        if !parallel {
            break;
        }
    }
    changed
}

/// Scale down from the highest ordinal, one at a time.
fn sts_scale_down(ctx: &Ctx, spec: &StsSpec<'_>, pods: &mut StsPods) -> bool {
    let Some((&top, p)) = pods.by_ord.iter().next_back() else {
        return false;
    };
    if top < spec.want {
        return false;
    }
    let p = p.clone();
    if ctx
        .store
        .delete(PODS, spec.ns, p.summary.name.as_str(), None)
        .is_err()
    {
        return false;
    }
    ctx.killing(p.value());
    ctx.event(
        spec.sts,
        NORMAL,
        "SuccessfulDelete",
        &format!(
            "delete Pod {} in StatefulSet {} successful",
            p.summary.name.as_str(),
            spec.name
        ),
        "statefulset-controller",
    );
    pods.by_ord.remove(&top);
    true
}

/// Rolling update: replace the highest outdated pod once all are ready.
fn sts_roll(ctx: &Ctx, spec: &StsSpec<'_>, pods: &mut StsPods) -> bool {
    let all_ready = pods.terminating.is_empty()
        && (0..spec.want).all(|i| pods.by_ord.get(&i).is_some_and(|p| p.summary.ready));
    if !all_ready {
        return false;
    }
    let Some((_, p)) =
        pods.by_ord.iter().rev().find(|(_, p)| {
            p.summary.label("controller-revision-hash") != Some(spec.revision.as_str())
        })
    else {
        return false;
    };
    let p = p.clone();
    if ctx
        .store
        .delete(PODS, spec.ns, p.summary.name.as_str(), None)
        .is_err()
    {
        return false;
    }
    ctx.killing(p.value());
    pods.by_ord.retain(|_, x| !Arc::ptr_eq(x, &p));
    true
}

/// The set's ControllerRevisions, as the upstream `history` package keeps
/// them (pkg/controller/history, stateful_set_utils.go `newRevision`):
/// one per distinct template, named like the pods' `controller-revision-hash`,
/// holding the template as a strategic-merge patch (`$patch: replace`) that
/// `kubectl rollout undo statefulset` applies. A template seen before (a
/// rollback) gets its old revision renumbered to the newest.
fn sts_history(ctx: &Ctx, spec: &StsSpec<'_>, template: &Value) -> bool {
    let uid = meta::uid(spec.sts);
    let (revs, _) = ctx
        .store
        .list_filtered(CONTROLLERREVISIONS, Some(spec.ns), |o| {
            o.summary.owner_uid() == Some(uid)
        });
    let number = |o: &Obj| o.value()["revision"].as_i64().unwrap_or(0);
    let max = revs.iter().map(|o| number(o)).max().unwrap_or(0);
    if let Some(own) = revs.iter().find(|o| o.summary.name == spec.revision) {
        if number(own) == max {
            return false;
        }
        return ctx
            .store
            .modify(
                CONTROLLERREVISIONS,
                spec.ns,
                &spec.revision,
                UpdateMode::Full,
                |_, new| {
                    new["revision"] = json!(max + 1);
                    Ok(())
                },
            )
            .is_ok();
    }
    let mut data_template = template.clone();
    if let Some(t) = data_template.as_object_mut() {
        t.insert("$patch".into(), json!("replace"));
    }
    let mut labels = meta::at(template, &["metadata", "labels"])
        .cloned()
        .filter(Value::is_object)
        .unwrap_or(json!({}));
    let hash = spec.revision.rsplit('-').next().unwrap_or_default();
    labels["controller.kubernetes.io/hash"] = json!(hash);
    let rev = json!({
        "metadata": {"name": spec.revision, "labels": labels,
                     "ownerReferences": [meta::owner_ref(spec.sts)]},
        "data": {"spec": {"template": data_template}},
        "revision": max + 1,
    });
    ctx.store.create(CONTROLLERREVISIONS, spec.ns, rev).is_ok()
}

/// Status as `updateStatefulSet` / `completeRollingUpdate`
/// (pkg/controller/statefulset/stateful_set_control.go) write it:
/// `updateRevision` is the template's revision at once, while
/// `currentRevision` (and `currentReplicas`, the pods at it) stays on the
/// old revision until every replica is updated and ready.
fn sts_status(ctx: &Ctx, spec: &StsSpec<'_>, pods: &StsPods) -> bool {
    let sts = spec.sts;
    let update = spec.revision.as_str();
    let current = meta::str_at(sts, &["status", "currentRevision"])
        .filter(|r| !r.is_empty())
        .unwrap_or(update);
    let at = |rev: &str| {
        pods.by_ord
            .values()
            .filter(|p| p.summary.label("controller-revision-hash") == Some(rev))
            .count() as i64
    };
    let ready = pods.by_ord.values().filter(|p| p.summary.ready).count() as i64;
    let replicas = pods.by_ord.len() as i64;
    let updated = at(update);
    let complete = updated == replicas && ready == replicas && replicas == spec.want;
    let (current, current_replicas) = if complete {
        (update, updated)
    } else {
        (current, at(current))
    };
    let status = strip_zero(json!({
        "observedGeneration": meta::at(sts, &["metadata", "generation"]).cloned().unwrap_or(json!(1)),
        "replicas": replicas,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "currentReplicas": current_replicas,
        "updatedReplicas": updated,
        "currentRevision": current,
        "updateRevision": update,
        "collisionCount": 0,
    }));
    set_status(ctx, STATEFULSETS, sts, status)
}

//! The Job controller, after kubernetes pkg/controller/job/job_controller.go
//! (v1.33) for NonIndexed jobs:
//! - pods come from the template with the labels the Job strategy put
//!   there (`batch.kubernetes.io/job-name`, `batch.kubernetes.io/controller-uid`),
//!   `generateName: <job>-` and a controlling ownerReference;
//! - `status.succeeded`/`failed` count each pod once when it ends; a pod
//!   deleted before it succeeded counts as failed, as the pod-tracking
//!   finalizer makes it on a real cluster (the sandbox keeps the tally in
//!   memory instead of a finalizer);
//! - more failures than `backoffLimit` end the job with `FailureTarget`
//!   then `Failed` (reason `BackoffLimitExceeded`); running past
//!   `activeDeadlineSeconds` ends it with reason `DeadlineExceeded`, its
//!   active pods deleted; `completions` successes add `SuccessCriteriaMet`
//!   then `Complete` (reason `CompletionsReached`) and `completionTime`;
//! - `ttlSecondsAfterFinished` deletes a finished job that long after it
//!   finished (pkg/controller/ttlafterfinished), its pods going with it by
//!   garbage collection.
//!
//! Not modelled: the pod failure policy, Indexed completion, the back-off
//! delay between retries (a retry starts on the next pass), suspend's
//! deletion of running pods.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Ctx;
use super::events::{NORMAL, WARNING};
use crate::meta;
use crate::resources::{JOBS, PODS};
use crate::store::{Obj, UpdateMode};

const COMPONENT: &str = "job-controller";

/// Pods the controller has already counted, by job uid: each end is
/// counted once, even after the pod is gone.
#[derive(Default)]
pub struct JobController {
    counted: HashMap<String, HashSet<String>>,
    /// Jobs whose last pod creation was refused (admission, quota), by
    /// uid: no new attempt before this time, as the controller's
    /// rate-limited requeue (10 s, divided by the time scale) keeps a
    /// refused create from looping on its own FailedCreate event.
    retry_at: HashMap<String, Instant>,
}

/// How one of the job's pods ended, if it did.
fn outcome(p: &Obj) -> Option<bool> {
    match p.summary.phase.as_str() {
        "Succeeded" => Some(true),
        "Failed" => Some(false),
        _ if p.summary.deleting => Some(false),
        _ => None,
    }
}

/// The job's finished condition (`Complete` or `Failed`), if any.
pub fn finished(job: &Value) -> Option<&'static str> {
    let conds = meta::at(job, &["status", "conditions"]).and_then(Value::as_array)?;
    ["Complete", "Failed"].into_iter().find(|t| {
        conds
            .iter()
            .any(|c| c["type"] == *t && c["status"] == "True")
    })
}

fn spec_i64(job: &Value, key: &str, default: i64) -> i64 {
    meta::at(job, &["spec", key])
        .and_then(Value::as_i64)
        .unwrap_or(default)
}

fn condition(kind: &str, reason: &str, message: &str) -> Value {
    let now = meta::now_rfc3339();
    json!({"type": kind, "status": "True", "reason": reason, "message": message,
           "lastProbeTime": now, "lastTransitionTime": now})
}

impl JobController {
    /// One pass over every job. `pods_by` groups pods by controlling owner.
    pub fn reconcile(&mut self, ctx: &Ctx, pods_by: &HashMap<String, Vec<Arc<Obj>>>) -> bool {
        let (jobs, _) = ctx.store.list(JOBS, None);
        let live: HashSet<&str> = jobs.iter().map(|j| j.summary.uid.as_str()).collect();
        self.counted.retain(|u, _| live.contains(u.as_str()));
        self.retry_at.retain(|u, _| live.contains(u.as_str()));
        let mut changed = false;
        for j in &jobs {
            let job = j.parse();
            let pods = pods_by
                .get(&j.summary.uid)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            changed |= match finished(&job) {
                Some(_) => ttl_after_finished(ctx, &job),
                None => self.sync(ctx, &job, pods),
            };
        }
        changed
    }

    fn sync(&mut self, ctx: &Ctx, job: &Value, pods: &[Arc<Obj>]) -> bool {
        let uid = meta::uid(job).to_string();
        let counted = self.counted.entry(uid).or_default();
        let mut status = job.get("status").cloned().unwrap_or(json!({}));
        if !status.is_object() {
            status = json!({});
        }
        let mut succeeded = status["succeeded"].as_i64().unwrap_or(0);
        let mut failed = status["failed"].as_i64().unwrap_or(0);
        let present: HashSet<&str> = pods.iter().map(|p| p.summary.uid.as_str()).collect();
        // A pod the controller saw running that vanished (force-deleted)
        // ended without succeeding.
        for gone in counted
            .iter()
            .filter(|u| u.starts_with('~') && !present.contains(&u[1..]))
            .cloned()
            .collect::<Vec<_>>()
        {
            counted.remove(&gone);
            counted.insert(gone[1..].to_string());
            failed += 1;
        }
        let mut active = Vec::new();
        for p in pods {
            let uid = p.summary.uid.as_str();
            if counted.contains(uid) {
                continue;
            }
            match outcome(p) {
                Some(ok) => {
                    counted.remove(&format!("~{uid}"));
                    counted.insert(uid.to_string());
                    if ok {
                        succeeded += 1;
                    } else {
                        failed += 1;
                    }
                }
                None => {
                    counted.insert(format!("~{uid}"));
                    active.push(p.clone());
                }
            }
        }
        let now = jiff::Timestamp::now();
        if status.get("startTime").is_none_or(Value::is_null) {
            status["startTime"] = json!(meta::format_time(now));
        }
        let ended = end_reason(ctx, job, &status, succeeded, failed, now);
        let mut changed = false;
        match ended {
            Some((ok, reason, message)) => {
                for p in &active {
                    changed |= delete_pod(ctx, job, p);
                }
                let conds = if ok {
                    status["completionTime"] = json!(meta::format_time(now));
                    [
                        condition("SuccessCriteriaMet", reason, message),
                        condition("Complete", reason, message),
                    ]
                } else {
                    [
                        condition("FailureTarget", reason, message),
                        condition("Failed", reason, message),
                    ]
                };
                status["conditions"] = json!(conds);
                let (kind, ev) = if ok {
                    (NORMAL, "Completed")
                } else {
                    (WARNING, reason)
                };
                ctx.event(job, kind, ev, message, COMPONENT);
                active.clear();
            }
            None => {
                let want = spec_i64(job, "completions", 1) - succeeded;
                let room = spec_i64(job, "parallelism", 1) - active.len() as i64;
                let suspended = job["spec"]["suspend"].as_bool() == Some(true);
                let uid = meta::uid(job).to_string();
                let wait = self.retry_at.get(&uid).filter(|t| **t > Instant::now());
                if let Some(t) = wait {
                    ctx.wake_at(*t);
                }
                for _ in 0..want.min(room).max(0) {
                    if suspended || wait.is_some() {
                        break;
                    }
                    if !create_pod(ctx, job) {
                        let t = Instant::now() + Duration::from_secs(10).div_f64(ctx.time_scale);
                        self.retry_at.insert(uid.clone(), t);
                        ctx.wake_at(t);
                        break;
                    }
                    changed = true;
                }
            }
        }
        let ready = active.iter().filter(|p| p.summary.ready).count();
        status["active"] = json!(active.len());
        status["ready"] = json!(ready);
        status["terminating"] = json!(0);
        status["succeeded"] = json!(succeeded);
        status["failed"] = json!(failed);
        status["uncountedTerminatedPods"] = json!({});
        for k in ["active", "succeeded", "failed"] {
            if status[k] == 0
                && let Some(o) = status.as_object_mut()
            {
                o.remove(k);
            }
        }
        changed | set_status(ctx, job, status)
    }
}

/// Why the job ends now, if it does: (succeeded, reason, message).
fn end_reason(
    ctx: &Ctx,
    job: &Value,
    status: &Value,
    succeeded: i64,
    failed: i64,
    now: jiff::Timestamp,
) -> Option<(bool, &'static str, &'static str)> {
    if succeeded >= spec_i64(job, "completions", 1) {
        return Some((
            true,
            "CompletionsReached",
            "Reached expected number of succeeded pods",
        ));
    }
    if failed > spec_i64(job, "backoffLimit", 6) {
        return Some((
            false,
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        ));
    }
    let deadline = meta::at(job, &["spec", "activeDeadlineSeconds"]).and_then(Value::as_i64)?;
    let started = status["startTime"]
        .as_str()
        .and_then(meta::parse_time)
        .unwrap_or(now);
    let elapsed = now.duration_since(started).as_secs_f64().max(0.0);
    let allowed = deadline.max(0) as f64 / ctx.time_scale;
    if elapsed >= allowed {
        return Some((
            false,
            "DeadlineExceeded",
            "Job was active longer than specified deadline",
        ));
    }
    ctx.wake_at(Instant::now() + Duration::from_secs_f64(allowed - elapsed));
    None
}

fn create_pod(ctx: &Ctx, job: &Value) -> bool {
    let mut pod = super::workloads::pod_from_template(job, "", &[]);
    if let Some(md) = pod["metadata"].as_object_mut() {
        md.remove("name");
        md.insert(
            "generateName".into(),
            json!(format!("{}-", meta::name(job))),
        );
    }
    match ctx.store.create(PODS, meta::namespace(job), pod) {
        Ok(o) => {
            ctx.event(
                job,
                NORMAL,
                "SuccessfulCreate",
                &format!("Created pod: {}", o.summary.name),
                COMPONENT,
            );
            true
        }
        Err(e) => {
            ctx.event(
                job,
                WARNING,
                "FailedCreate",
                &format!("Error creating: {e}"),
                COMPONENT,
            );
            false
        }
    }
}

fn delete_pod(ctx: &Ctx, job: &Value, p: &Obj) -> bool {
    let ok = ctx
        .store
        .delete(PODS, &p.summary.namespace, &p.summary.name, None)
        .is_ok();
    if ok {
        ctx.killing(p.value());
        ctx.event(
            job,
            NORMAL,
            "SuccessfulDelete",
            &format!("Deleted pod: {}", p.summary.name),
            COMPONENT,
        );
    }
    ok
}

fn set_status(ctx: &Ctx, job: &Value, status: Value) -> bool {
    if job.get("status") == Some(&status) {
        return false;
    }
    ctx.store
        .modify(
            JOBS,
            meta::namespace(job),
            meta::name(job),
            UpdateMode::Full,
            |_, new| {
                new["status"] = status;
                Ok(())
            },
        )
        .is_ok()
}

/// The TTL-after-finished controller: deletes a finished job
/// `ttlSecondsAfterFinished` after its completion (or failure) time.
fn ttl_after_finished(ctx: &Ctx, job: &Value) -> bool {
    let Some(ttl) = meta::at(job, &["spec", "ttlSecondsAfterFinished"]).and_then(Value::as_i64)
    else {
        return false;
    };
    let conds = meta::at(job, &["status", "conditions"]).and_then(Value::as_array);
    let finished_at = meta::at(job, &["status", "completionTime"])
        .and_then(Value::as_str)
        .or_else(|| {
            conds
                .into_iter()
                .flatten()
                .find(|c| c["type"] == "Failed")
                .and_then(|c| c["lastTransitionTime"].as_str())
        })
        .and_then(meta::parse_time);
    let Some(at) = finished_at else {
        return false;
    };
    let elapsed = jiff::Timestamp::now().duration_since(at).as_secs_f64();
    let allowed = ttl.max(0) as f64 / ctx.time_scale;
    if elapsed < allowed {
        ctx.wake_at(Instant::now() + Duration::from_secs_f64(allowed - elapsed));
        return false;
    }
    ctx.store
        .delete(JOBS, meta::namespace(job), meta::name(job), None)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::{Controllers, ensure_system_namespaces};
    use crate::resources::NODES;
    use crate::store::Store;

    fn cluster() -> (Arc<Store>, Controllers) {
        let store = Arc::new(Store::new(100));
        ensure_system_namespaces(&store);
        store
            .create(NODES, "", json!({"metadata": {"name": "n1"}}))
            .expect("node");
        let ctrl = Controllers::new(store.clone(), 33);
        (store, ctrl)
    }

    fn job(command: &str, backoff: i64) -> Value {
        json!({"metadata": {"name": "run"}, "spec": {"backoffLimit": backoff,
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c",
                "image": "busybox:1.36", "command": ["sh", "-c", command]}]}}}})
    }

    fn settle(ctrl: &mut Controllers) {
        for _ in 0..20 {
            ctrl.pass(true);
        }
    }

    #[test]
    fn a_job_whose_pod_exits_zero_completes() {
        let (store, mut ctrl) = cluster();
        store.create(JOBS, "default", job("true", 6)).expect("job");
        settle(&mut ctrl);
        let j = store.get(JOBS, "default", "run").expect("job").parse();
        assert_eq!(finished(&j), Some("Complete"), "{}", j["status"]);
        assert_eq!(j["status"]["succeeded"], 1);
        assert!(j["status"]["completionTime"].is_string());
        let (pods, _) = store.list(PODS, None);
        assert_eq!(pods.len(), 1);
        let p = pods[0].parse();
        assert_eq!(
            p["metadata"]["labels"]["batch.kubernetes.io/job-name"],
            "run"
        );
        assert_eq!(p["metadata"]["ownerReferences"][0]["kind"], "Job");
        assert_eq!(p["status"]["phase"], "Succeeded");
    }

    #[test]
    fn failures_past_the_backoff_limit_fail_the_job() {
        let (store, mut ctrl) = cluster();
        store
            .create(JOBS, "default", job("exit 3", 1))
            .expect("job");
        settle(&mut ctrl);
        let j = store.get(JOBS, "default", "run").expect("job").parse();
        assert_eq!(finished(&j), Some("Failed"), "{}", j["status"]);
        assert_eq!(j["status"]["failed"], 2, "backoffLimit 1 allows one retry");
        let reason = j["status"]["conditions"][1]["reason"].as_str();
        assert_eq!(reason, Some("BackoffLimitExceeded"));
    }

    #[test]
    fn a_force_deleted_pod_counts_as_a_failure() {
        let (store, mut ctrl) = cluster();
        store
            .create(JOBS, "default", job("sleep 3600", 0))
            .expect("job");
        settle(&mut ctrl);
        let (pods, _) = store.list(PODS, None);
        let name = pods[0].summary.name.clone();
        let req = crate::store::DeleteRequest {
            uid: None,
            grace: Some(0),
        };
        store
            .delete_with(PODS, "default", &name, req)
            .expect("force delete");
        settle(&mut ctrl);
        let j = store.get(JOBS, "default", "run").expect("job").parse();
        assert_eq!(finished(&j), Some("Failed"), "{}", j["status"]);
        assert_eq!(j["status"]["failed"], 1);
    }
}

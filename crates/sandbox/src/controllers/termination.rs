//! The kubelet's half of graceful deletion: a pod marked terminating
//! (`deletionTimestamp` set by the API, see [`crate::deletion`])
//! has its containers sent SIGTERM; once they exit, or the grace period
//! runs out and they are killed, the kubelet deletes the pod with
//! `gracePeriodSeconds: 0` and only then is it gone from the API
//! (kubelet `status_manager.go`, `canBeDeleted` then the final Delete).
//!
//! The sandbox has no processes to signal, so the world says how its pods
//! answer SIGTERM with the pod (template) annotation
//! [`ANN_SHUTDOWN_DELAY`]: a duration (the app exits that long after
//! SIGTERM, capped by the grace period) or `grace` (it ignores SIGTERM and
//! is killed when the grace period ends). Without it a pod exits
//! [`DEFAULT_SHUTDOWN_DELAY`] after SIGTERM, like a well-behaved server.
//! This lives apart from the kubelet model so that the container runtime
//! can change without touching how deletion completes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Ctx;
use crate::meta;
use crate::resources::PODS;
use crate::store::{DeleteRequest, Obj};

/// Pod (template) annotation: how the pod's containers answer SIGTERM, a
/// duration or `grace` (see the module docs).
pub const ANN_SHUTDOWN_DELAY: &str = "sandbox.gameday/shutdown-delay";

/// How long a pod takes to exit after SIGTERM when the world does not say.
pub const DEFAULT_SHUTDOWN_DELAY: Duration = Duration::from_secs(1);

/// How long after SIGTERM a pod's containers are gone, given its current
/// `deletionGracePeriodSeconds`.
pub fn exit_after(pod: &Value) -> Duration {
    let grace = meta::at(pod, &["metadata", "deletionGracePeriodSeconds"])
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .max(0);
    let grace = Duration::from_secs(grace.unsigned_abs());
    match meta::annotation(pod, ANN_SHUTDOWN_DELAY) {
        Some("grace") => grace,
        Some(s) => s
            .parse::<gameday_spanned::values::Duration>()
            .map(|d| d.as_std())
            .unwrap_or(DEFAULT_SHUTDOWN_DELAY)
            .min(grace),
        None => DEFAULT_SHUTDOWN_DELAY.min(grace),
    }
}

/// When each terminating pod (by uid) was first seen terminating: the
/// moment its containers got SIGTERM. Instants, because
/// `deletionTimestamp` has one-second precision.
#[derive(Default)]
pub struct Termination {
    sigterm: HashMap<String, Instant>,
    /// Pods first seen terminating in the last pass: their host processes
    /// get SIGTERM ([`crate::runtime::host`]).
    pub fresh: Vec<String>,
}

impl Termination {
    /// Removes the terminating pods whose containers have exited. Returns
    /// whether it wrote, and when the next one is due.
    pub fn reconcile(&mut self, ctx: &Ctx, pods: &[Arc<Obj>]) -> (bool, Option<Instant>) {
        let now = Instant::now();
        let mut changed = false;
        let mut next: Option<Instant> = None;
        let mut seen: HashSet<&str> = HashSet::new();
        for p in pods.iter().filter(|p| p.summary.deleting) {
            let uid = p.summary.uid.as_str();
            seen.insert(uid);
            if !self.sigterm.contains_key(uid) {
                self.fresh.push(uid.to_string());
            }
            let started = *self.sigterm.entry(uid.to_string()).or_insert(now);
            let due = started + exit_after(&p.parse());
            if due > now && !ctx.warm {
                next = Some(next.map_or(due, |n: Instant| n.min(due)));
                continue;
            }
            // The kubelet's final delete: uid-guarded so that a new pod of
            // the same name (a StatefulSet identity) is never hit.
            let req = DeleteRequest {
                uid: Some(uid),
                grace: Some(0),
            };
            if let Ok(d) = ctx
                .store
                .delete_with(PODS, &p.summary.namespace, &p.summary.name, req)
            {
                changed |= d.removed;
            }
        }
        self.sigterm.retain(|u, _| seen.contains(u.as_str()));
        (changed, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn terminating(grace: i64, ann: Option<&str>) -> Value {
        let mut p = json!({"metadata": {"name": "p", "deletionGracePeriodSeconds": grace}});
        if let Some(a) = ann {
            p["metadata"]["annotations"] = json!({ANN_SHUTDOWN_DELAY: a});
        }
        p
    }

    #[test]
    fn the_world_says_how_long_a_pod_takes_to_exit() {
        assert_eq!(exit_after(&terminating(30, None)), DEFAULT_SHUTDOWN_DELAY);
        assert_eq!(
            exit_after(&terminating(30, Some("grace"))),
            Duration::from_secs(30)
        );
        assert_eq!(
            exit_after(&terminating(30, Some("4s"))),
            Duration::from_secs(4)
        );
        // Never past the grace period: the kubelet kills the containers then.
        assert_eq!(
            exit_after(&terminating(2, Some("10s"))),
            Duration::from_secs(2)
        );
        assert_eq!(exit_after(&terminating(0, None)), Duration::ZERO);
    }
}

//! What a DELETE does to an object, decided the way kube-apiserver decides
//! it: graceful deletion for pods, finalizers for everything.
//!
//! The rules follow `BeforeDelete` in
//! `staging/src/k8s.io/apiserver/pkg/registry/rest/delete.go`, the pod
//! strategy's `CheckGracefulDelete` in `pkg/registry/core/pod/strategy.go`,
//! and `updateForGracefulDeletionAndFinalizers` / `shouldDeleteDuringUpdate`
//! in `staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go`.
//! A real cluster never removes a running pod on DELETE: it stamps
//! `deletionTimestamp`, the kubelet stops the containers, and the kubelet's
//! own DELETE with `gracePeriodSeconds: 0` removes it. Tests that see a pod
//! vanish at once on a graceful delete prove nothing about real clusters.

use serde_json::Value;

use crate::meta;

/// What the store does with a DELETE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Remove the object now (DELETED event).
    Remove,
    /// Stamp `deletionTimestamp` (now + `grace` seconds) and
    /// `deletionGracePeriodSeconds`, and keep the object (MODIFIED event).
    Mark { grace: i64 },
    /// Already terminating with a longer grace: shorten it to `grace`.
    Shorten { grace: i64 },
    /// Already terminating: nothing changes, the object is returned as is.
    Pending,
}

/// Whether the object still has finalizers; it stays until they are removed.
pub fn has_finalizers(v: &Value) -> bool {
    meta::at(v, &["metadata", "finalizers"])
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty())
}

fn grace_of(v: &Value) -> Option<i64> {
    meta::at(v, &["metadata", "deletionGracePeriodSeconds"]).and_then(Value::as_i64)
}

fn is_deleting(v: &Value) -> bool {
    meta::at(v, &["metadata", "deletionTimestamp"]).is_some_and(|t| !t.is_null())
}

/// The plan for deleting `obj`; `is_pod` selects the graceful strategy and
/// `requested` is the request's `gracePeriodSeconds`, if any.
pub fn plan(obj: &Value, is_pod: bool, requested: Option<i64>) -> Plan {
    // BeforeDelete: "Negative values will be treated as the value `1s`".
    let requested = requested.map(|g| if g < 0 { 1 } else { g });
    let finalizers = has_finalizers(obj);
    if !is_pod {
        // No graceful strategy: finalizers alone keep the object
        // (markAsDeleting sets deletionGracePeriodSeconds 0).
        return match (finalizers, is_deleting(obj)) {
            (false, _) => Plan::Remove,
            (true, false) => Plan::Mark { grace: 0 },
            (true, true) => Plan::Pending,
        };
    }
    if is_deleting(obj) {
        // "if we are already being deleted, we may only shorten the
        // deletion grace period"; no grace (or 0) recorded means the first
        // delete's removal failed half-way, so delete now.
        let current = grace_of(obj).unwrap_or(0);
        return match requested {
            _ if current <= 0 => removal_unless(finalizers),
            Some(g) if g < current => {
                if g == 0 && !finalizers {
                    Plan::Remove
                } else {
                    Plan::Shorten { grace: g }
                }
            }
            _ => Plan::Pending,
        };
    }
    // CheckGracefulDelete: the request's period, else the pod's own
    // terminationGracePeriodSeconds; 0 when unscheduled or already terminal.
    let mut grace = requested
        .or_else(|| {
            meta::at(obj, &["spec", "terminationGracePeriodSeconds"]).and_then(Value::as_i64)
        })
        .unwrap_or(0);
    let unscheduled = meta::str_at(obj, &["spec", "nodeName"]).is_none_or(str::is_empty);
    let terminal = matches!(
        meta::str_at(obj, &["status", "phase"]),
        Some("Failed" | "Succeeded")
    );
    if unscheduled || terminal {
        grace = 0;
    }
    if grace < 0 {
        grace = 1;
    }
    if grace == 0 && !finalizers {
        Plan::Remove
    } else {
        Plan::Mark { grace }
    }
}

fn removal_unless(finalizers: bool) -> Plan {
    if finalizers {
        Plan::Pending
    } else {
        Plan::Remove
    }
}

/// `shouldDeleteDuringUpdate`: an update that leaves a deleting object with
/// no finalizers removes it when its grace period is over (0 or unset).
/// A terminating pod with a grace period waits for the kubelet instead.
pub fn remove_after_update(old: &Value, new: &Value) -> bool {
    is_deleting(old) && !has_finalizers(new) && grace_of(old).unwrap_or(0) == 0
}

/// Finalizers may be removed from a deleting object, never added: the
/// apiserver's ValidateObjectMetaUpdate refuses "no new finalizers can be
/// added if the object is being deleted".
pub fn added_finalizer(old: &Value, new: &Value) -> Option<String> {
    if !is_deleting(old) {
        return None;
    }
    let list = |v: &Value| -> Vec<String> {
        meta::at(v, &["metadata", "finalizers"])
            .and_then(Value::as_array)
            .map(|f| {
                f.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    let before = list(old);
    list(new).into_iter().find(|f| !before.contains(f))
}

/// Applies a `Mark` or `Shorten` plan to the object's metadata.
/// `deletionTimestamp` is when the grace period ends, as on the real
/// server (now + grace); a shortened grace moves it earlier by the same
/// amount, keeping the moment the kubelet sent SIGTERM.
pub fn stamp(v: &mut Value, plan: &Plan) {
    let now = jiff::Timestamp::now();
    let (ts, grace) = match plan {
        Plan::Mark { grace } => (now + jiff::SignedDuration::from_secs(*grace), *grace),
        Plan::Shorten { grace } => {
            let old_ts = meta::str_at(v, &["metadata", "deletionTimestamp"])
                .and_then(meta::parse_time)
                .unwrap_or(now);
            let old_grace = grace_of(v).unwrap_or(0);
            (
                old_ts - jiff::SignedDuration::from_secs(old_grace)
                    + jiff::SignedDuration::from_secs(*grace),
                *grace,
            )
        }
        Plan::Remove | Plan::Pending => return,
    };
    let md = meta::ensure_object(v, &["metadata"]);
    md.insert(
        "deletionTimestamp".into(),
        Value::String(meta::format_time(ts)),
    );
    md.insert("deletionGracePeriodSeconds".into(), Value::from(grace));
    if matches!(plan, Plan::Mark { .. }) {
        // "we need to bump object's Generation (if set)".
        if let Some(g) = md.get("generation").and_then(Value::as_i64) {
            md.insert("generation".into(), Value::from(g + 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(grace: Option<i64>) -> Value {
        let mut p = json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
        if let Some(g) = grace {
            p["spec"]["terminationGracePeriodSeconds"] = json!(g);
        }
        p
    }

    #[test]
    fn a_pod_uses_the_request_grace_else_its_own() {
        assert_eq!(plan(&pod(Some(30)), true, None), Plan::Mark { grace: 30 });
        assert_eq!(plan(&pod(Some(30)), true, Some(5)), Plan::Mark { grace: 5 });
        assert_eq!(plan(&pod(Some(30)), true, Some(0)), Plan::Remove);
        assert_eq!(
            plan(&pod(Some(30)), true, Some(-3)),
            Plan::Mark { grace: 1 }
        );
        assert_eq!(plan(&pod(None), true, None), Plan::Remove);
    }

    #[test]
    fn unscheduled_or_finished_pods_go_at_once() {
        let mut p = pod(Some(30));
        p["spec"]["nodeName"] = json!("");
        assert_eq!(plan(&p, true, None), Plan::Remove);
        let mut p = pod(Some(30));
        p["status"]["phase"] = json!("Succeeded");
        assert_eq!(plan(&p, true, None), Plan::Remove);
    }

    #[test]
    fn a_second_delete_only_shortens() {
        let mut p = pod(Some(30));
        stamp(&mut p, &Plan::Mark { grace: 30 });
        assert_eq!(p["metadata"]["deletionGracePeriodSeconds"], 30);
        assert_eq!(plan(&p, true, Some(60)), Plan::Pending);
        assert_eq!(plan(&p, true, None), Plan::Pending);
        assert_eq!(plan(&p, true, Some(10)), Plan::Shorten { grace: 10 });
        assert_eq!(plan(&p, true, Some(0)), Plan::Remove);
        let before =
            meta::parse_time(p["metadata"]["deletionTimestamp"].as_str().unwrap()).unwrap();
        stamp(&mut p, &Plan::Shorten { grace: 10 });
        let after = meta::parse_time(p["metadata"]["deletionTimestamp"].as_str().unwrap()).unwrap();
        assert_eq!(before.as_second() - after.as_second(), 20);
    }

    #[test]
    fn finalizers_keep_any_object() {
        let cm = json!({"metadata": {"name": "c", "finalizers": ["example.com/keep"]}});
        assert_eq!(plan(&cm, false, None), Plan::Mark { grace: 0 });
        let mut marked = cm.clone();
        stamp(&mut marked, &Plan::Mark { grace: 0 });
        assert_eq!(plan(&marked, false, None), Plan::Pending);
        let mut p = pod(Some(30));
        p["metadata"]["finalizers"] = json!(["example.com/keep"]);
        assert_eq!(plan(&p, true, Some(0)), Plan::Mark { grace: 0 });
        let mut released = marked.clone();
        released["metadata"]["finalizers"] = json!([]);
        assert!(remove_after_update(&marked, &released));
        assert!(!remove_after_update(&marked, &marked));
        let mut more = marked.clone();
        more["metadata"]["finalizers"] = json!(["example.com/keep", "x/y"]);
        assert_eq!(added_finalizer(&marked, &more).as_deref(), Some("x/y"));
        assert_eq!(
            plan(&json!({"metadata": {"name": "c"}}), false, None),
            Plan::Remove
        );
    }
}

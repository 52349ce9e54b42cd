//! The marks gameday leaves on every object it creates or changes (the
//! cross-branch object conventions): the `gameday/run-id` label plus the
//! fault, fault type, expiry and undo annotations. They are what makes
//! `gameday recover` work with nothing but the cluster: the undo data
//! travels with the object it undoes.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::scenario::FaultType;

pub const LABEL_RUN_ID: &str = "gameday/run-id";
/// Selects the pods of one network fault for its NetworkPolicy.
pub const LABEL_FAULT_ID: &str = "gameday/fault-id";
pub const ANN_FAULT: &str = "gameday/fault";
pub const ANN_FAULT_TYPE: &str = "gameday/fault-type";
pub const ANN_EXPIRES_AT: &str = "gameday/expires-at";
pub const ANN_UNDO: &str = "gameday/undo";

/// `gameday/fault` of an object changed by a responder action (autopilot's
/// runbook mitigation) rather than by a fault: `autopilot:<step id>`. The
/// colon cannot occur in a fault name, so the two never collide; every
/// other mark is the same as a fault's, so `recover` and `halt` revert it.
pub const ACTION_PREFIX: &str = "autopilot:";

/// The identity of one run, as stamped on objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunId(pub String);

impl RunId {
    /// `<utc yyyymmddThhmmssZ, lowercased>-<8 hex>`: sortable, unique enough,
    /// and a valid label value.
    pub fn generate(now: jiff::Timestamp, random: u32) -> Self {
        let ts = now.strftime("%Y%m%dt%H%M%Sz").to_string();
        RunId(format!("{ts}-{random:08x}"))
    }

    /// The random suffix, used in generated object names.
    pub fn short(&self) -> &str {
        self.0.rsplit('-').next().unwrap_or(&self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The kinds of object gameday marks. `recover` lists exactly these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ObjKind {
    Pod,
    Deployment,
    StatefulSet,
    Node,
    NetworkPolicy,
}

impl ObjKind {
    pub const ALL: [ObjKind; 5] = [
        ObjKind::Pod,
        ObjKind::Deployment,
        ObjKind::StatefulSet,
        ObjKind::Node,
        ObjKind::NetworkPolicy,
    ];
}

impl std::fmt::Display for ObjKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// A reference to one object in the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjRef {
    pub kind: ObjKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for ObjRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// What one fault stamps on the objects it touches.
#[derive(Debug, Clone)]
pub struct Stamp {
    pub run_id: RunId,
    pub fault: String,
    pub fault_type: FaultType,
    pub expires_at: jiff::Timestamp,
}

impl Stamp {
    /// A merge patch that adds the run label and annotations with `undo`.
    /// Faults merge their own mutation into it so that the mark and the
    /// change land in one atomic write whenever the API allows it.
    pub fn patch(&self, undo: &Value, extra_labels: &[(&str, &str)]) -> Value {
        let mut labels = serde_json::Map::new();
        labels.insert(LABEL_RUN_ID.into(), json!(self.run_id.as_str()));
        for (k, v) in extra_labels {
            labels.insert((*k).into(), json!(v));
        }
        json!({
            "metadata": {
                "labels": labels,
                "annotations": self.annotations(undo),
            }
        })
    }

    pub fn annotations(&self, undo: &Value) -> BTreeMap<String, String> {
        BTreeMap::from([
            (ANN_FAULT.into(), self.fault.clone()),
            (ANN_FAULT_TYPE.into(), self.fault_type.as_str().into()),
            (
                ANN_EXPIRES_AT.into(),
                self.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            ),
            (ANN_UNDO.into(), undo.to_string()),
        ])
    }

    pub fn labels(&self, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut l = BTreeMap::from([(LABEL_RUN_ID.to_string(), self.run_id.0.clone())]);
        for (k, v) in extra {
            l.insert((*k).into(), (*v).into());
        }
        l
    }
}

/// A merge patch that removes every gameday mark. Part of every revert, so
/// a reverted object is indistinguishable from one never touched.
pub fn strip_patch() -> Value {
    json!({
        "metadata": {
            "labels": { LABEL_RUN_ID: null, LABEL_FAULT_ID: null },
            "annotations": {
                ANN_FAULT: null, ANN_FAULT_TYPE: null, ANN_EXPIRES_AT: null, ANN_UNDO: null
            }
        }
    })
}

/// Applies `b` to `a` as an RFC 7386 merge patch (nulls delete).
pub fn merged(mut a: Value, b: &Value) -> Value {
    json_patch::merge(&mut a, b);
    a
}

/// Combines two merge patches into one: objects merge recursively and `b`
/// wins, keeping `b`'s nulls (which must still delete on the server).
pub fn combine(a: Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Object(mut a), Value::Object(b)) => {
            for (k, bv) in b {
                let av = a.remove(k).unwrap_or(Value::Null);
                let v = if bv.is_object() && av.is_object() {
                    combine(av, bv)
                } else {
                    bv.clone()
                };
                a.insert(k.clone(), v);
            }
            Value::Object(a)
        }
        (_, b) => b.clone(),
    }
}

/// A marked object as found in the cluster: everything a revert needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Marked {
    pub obj: ObjRef,
    pub run_id: String,
    pub fault: Option<String>,
    pub fault_type: Option<FaultType>,
    pub expires_at: Option<jiff::Timestamp>,
    /// The parsed undo annotation; `Null` when absent.
    pub undo: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarkError {
    #[error("{0}: annotation gameday/undo is not valid JSON: {1}")]
    BadUndo(String, String),
}

impl Marked {
    /// Reads the marks from an object's metadata; `None` when unmarked.
    pub fn from_meta(kind: ObjKind, meta: &ObjectMeta) -> Option<Result<Marked, MarkError>> {
        let run_id = meta.labels.as_ref()?.get(LABEL_RUN_ID)?.clone();
        let obj = ObjRef {
            kind,
            namespace: meta.namespace.clone(),
            name: meta.name.clone().unwrap_or_default(),
        };
        let ann = meta.annotations.clone().unwrap_or_default();
        // Any well-formed name: a type this build does not know still
        // gets its marks removed (faults::kind_of falls back to that).
        let fault_type = ann.get(ANN_FAULT_TYPE).and_then(|t| FaultType::new(t));
        let expires_at = ann.get(ANN_EXPIRES_AT).and_then(|s| s.parse().ok());
        let undo = match ann.get(ANN_UNDO) {
            None => Value::Null,
            Some(s) => match serde_json::from_str(s) {
                Ok(v) => v,
                Err(e) => return Some(Err(MarkError::BadUndo(obj.to_string(), e.to_string()))),
            },
        };
        Some(Ok(Marked {
            obj,
            run_id,
            fault: ann.get(ANN_FAULT).cloned(),
            fault_type,
            expires_at,
            undo,
        }))
    }

    /// Whether a responder action (not a fault) made this mark.
    pub fn is_action(&self) -> bool {
        self.fault
            .as_deref()
            .is_some_and(|f| f.starts_with(ACTION_PREFIX))
    }

    pub fn is_expired(&self, now: jiff::Timestamp) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }
}

/// Whether an object is already under some gameday fault. Such objects are
/// never selected again: a second undo would record the faulted state.
pub fn is_marked(meta: &ObjectMeta) -> bool {
    meta.labels
        .as_ref()
        .is_some_and(|l| l.contains_key(LABEL_RUN_ID))
}

/// A name for an object gameday creates, valid as a DNS-1123 label:
/// `gameday-<fault>-<short id>` with the fault name shortened to fit.
pub fn generated_name(fault: &str, short: &str, suffix: &str) -> String {
    let fixed = "gameday-".len() + 1 + short.len() + suffix.len();
    let room = 63usize.saturating_sub(fixed);
    let f: String = fault.chars().take(room).collect();
    let f = f.trim_end_matches('-');
    format!("gameday-{f}-{short}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp() -> Stamp {
        Stamp {
            run_id: RunId("20261126t154300z-0000abcd".into()),
            fault: "kill-third".into(),
            fault_type: FaultType::named("podFailure"),
            expires_at: "2026-11-26T16:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn run_id_is_a_label_value() {
        let id = RunId::generate("2026-11-26T15:43:00Z".parse().unwrap(), 0xabcd);
        assert_eq!(id.0, "20261126t154300z-0000abcd");
        assert_eq!(id.short(), "0000abcd");
        assert!(id.0.len() <= 63);
    }

    #[test]
    fn mark_then_read_back_round_trips() {
        let s = stamp();
        let undo = json!({"images": {"app": "shop/checkout:1.4"}});
        let patch = s.patch(&undo, &[]);
        let meta: ObjectMeta = serde_json::from_value(merged(
            json!({"name": "p", "namespace": "shop"}),
            &patch["metadata"],
        ))
        .unwrap();
        let m = Marked::from_meta(ObjKind::Pod, &meta).unwrap().unwrap();
        assert_eq!(m.run_id, "20261126t154300z-0000abcd");
        assert_eq!(m.fault.as_deref(), Some("kill-third"));
        assert_eq!(m.fault_type, Some(FaultType::named("podFailure")));
        assert_eq!(m.undo, undo);
        assert!(m.is_expired("2026-11-26T16:00:01Z".parse().unwrap()));
        assert!(!m.is_expired("2026-11-26T15:59:59Z".parse().unwrap()));
        assert_eq!(
            meta.annotations.unwrap()[ANN_EXPIRES_AT],
            "2026-11-26T16:00:00Z"
        );
    }

    #[test]
    fn strip_removes_every_mark_and_keeps_the_rest() {
        let s = stamp();
        let obj = merged(
            json!({"metadata": {"labels": {"app": "x"}, "annotations": {"keep": "1"}}}),
            &s.patch(&json!({"replicas": 4}), &[(LABEL_FAULT_ID, "f")]),
        );
        let stripped = merged(obj, &strip_patch());
        assert_eq!(
            stripped,
            json!({"metadata": {"labels": {"app": "x"}, "annotations": {"keep": "1"}}})
        );
    }

    #[test]
    fn combined_patches_keep_deletions() {
        let p = combine(json!({"spec": {"replicas": 4}}), &strip_patch());
        assert_eq!(p["spec"]["replicas"], 4);
        assert!(p["metadata"]["labels"][LABEL_RUN_ID].is_null());
        assert!(
            p["metadata"]["labels"]
                .as_object()
                .unwrap()
                .contains_key(LABEL_RUN_ID)
        );
        let q = combine(json!({"spec": {"unschedulable": null}}), &strip_patch());
        assert!(q["spec"].as_object().unwrap().contains_key("unschedulable"));
    }

    #[test]
    fn action_marks_are_told_from_fault_marks() {
        let read = |fault: &str| {
            let mut s = stamp();
            s.fault = fault.into();
            let meta: ObjectMeta = serde_json::from_value(merged(
                json!({"name": "checkout", "namespace": "shop"}),
                &s.patch(&json!({"replicas": 4}), &[])["metadata"],
            ))
            .unwrap();
            Marked::from_meta(ObjKind::Deployment, &meta)
                .unwrap()
                .unwrap()
        };
        assert!(read("autopilot:scale-up").is_action());
        assert!(!read("halve-checkout").is_action());
    }

    #[test]
    fn bad_undo_is_reported() {
        let meta = ObjectMeta {
            name: Some("p".into()),
            labels: Some(BTreeMap::from([(LABEL_RUN_ID.into(), "r".into())])),
            annotations: Some(BTreeMap::from([(ANN_UNDO.into(), "{nope".into())])),
            ..Default::default()
        };
        assert!(Marked::from_meta(ObjKind::Pod, &meta).unwrap().is_err());
        assert!(Marked::from_meta(ObjKind::Pod, &ObjectMeta::default()).is_none());
    }

    #[test]
    fn generated_names_fit_a_dns_label() {
        let n = generated_name(&"x".repeat(80), "0000abcd", "-r");
        assert!(n.len() <= 63, "{n}");
        assert!(n.starts_with("gameday-x") && n.ends_with("-0000abcd-r"));
        assert_eq!(
            generated_name("lag", "1234abcd", ""),
            "gameday-lag-1234abcd"
        );
    }
}

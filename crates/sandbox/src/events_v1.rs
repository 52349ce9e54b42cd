//! `events.k8s.io/v1` Events: the same objects as core/v1 Events, in the
//! newer shape. kube-apiserver stores one Event and converts between the two
//! group versions (pkg/apis/events/v1/conversion.go), so an event the kubelet
//! records is listed by both APIs; the sandbox does the same over its one
//! core/v1 table.
//!
//! | core/v1                     | events.k8s.io/v1            |
//! |-----------------------------|-----------------------------|
//! | `message`                   | `note`                      |
//! | `involvedObject`            | `regarding`                 |
//! | `source.component`          | `deprecatedSource.component`|
//! | `source.host`               | `deprecatedSource.host`     |
//! | `firstTimestamp`            | `deprecatedFirstTimestamp`  |
//! | `lastTimestamp`             | `deprecatedLastTimestamp`   |
//! | `count`                     | `deprecatedCount`           |
//! | `reportingComponent`        | `reportingController`       |
//!
//! `reason`, `type`, `action`, `related`, `eventTime`, `series` and
//! `reportingInstance` keep their names.

use serde_json::{Map, Value};

const RENAMES: &[(&str, &str)] = &[
    ("message", "note"),
    ("involvedObject", "regarding"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
    ("reportingComponent", "reportingController"),
];

fn rename(v: &Value, from_core: bool, api_version: &str) -> Value {
    let Some(src) = v.as_object() else {
        return v.clone();
    };
    let mut out = Map::new();
    for (k, x) in src {
        let name = RENAMES
            .iter()
            .find_map(|(core, v1)| match from_core {
                true if k == core => Some(*v1),
                false if k == v1 => Some(*core),
                _ => None,
            })
            .unwrap_or(k.as_str());
        out.insert(name.to_string(), x.clone());
    }
    out.insert("apiVersion".into(), Value::String(api_version.into()));
    out.insert("kind".into(), Value::String("Event".into()));
    Value::Object(out)
}

/// A stored core/v1 Event as events.k8s.io/v1 serves it.
pub fn from_core(v: &Value) -> Value {
    rename(v, true, "events.k8s.io/v1")
}

/// An events.k8s.io/v1 Event as core/v1 stores it.
pub fn to_core(v: &Value) -> Value {
    rename(v, false, "v1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_between_the_two_shapes() {
        let core = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"},
            "message": "Stopping container app", "reason": "Killing", "type": "Normal",
            "involvedObject": {"kind": "Pod", "name": "p"}, "source": {"component": "kubelet"},
            "count": 1, "reportingComponent": "kubelet"});
        let v1 = from_core(&core);
        assert_eq!(v1["apiVersion"], "events.k8s.io/v1");
        assert_eq!(v1["note"], "Stopping container app");
        assert_eq!(v1["regarding"]["name"], "p");
        assert_eq!(v1["deprecatedSource"]["component"], "kubelet");
        assert_eq!(v1["reportingController"], "kubelet");
        assert!(v1.get("message").is_none());
        assert_eq!(to_core(&v1), core);
    }
}

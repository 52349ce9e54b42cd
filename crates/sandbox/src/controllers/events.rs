//! Events as the real components write them (reason, message, source), so
//! `kubectl get events` and `kubectl describe` read like a cluster's.

use serde_json::{Value, json};

use crate::meta;
use crate::resources;
use crate::store::Store;

pub const NORMAL: &str = "Normal";
pub const WARNING: &str = "Warning";

/// Records an event about `involved`. Failures are ignored: an event that
/// cannot be written (say its namespace is being deleted) must never stop a
/// controller.
pub fn record(
    store: &Store,
    involved: &Value,
    kind: &str,
    reason: &str,
    message: &str,
    component: &str,
) {
    let ns = match meta::namespace(involved) {
        "" => "default",
        ns => ns,
    };
    let now = meta::now_rfc3339();
    // Like client-go's recorder: the object name and a unique hex suffix.
    let name = format!(
        "{}.{:016x}",
        meta::name(involved),
        meta::mix(store.current_rv() ^ jiff::Timestamp::now().as_nanosecond() as u64)
    );
    let ev = json!({
        "metadata": {"name": name, "namespace": ns},
        "involvedObject": {
            "kind": involved.get("kind").cloned().unwrap_or(Value::Null),
            "apiVersion": involved.get("apiVersion").cloned().unwrap_or(Value::Null),
            "namespace": meta::namespace(involved),
            "name": meta::name(involved),
            "uid": meta::uid(involved),
            "resourceVersion": meta::str_at(involved, &["metadata", "resourceVersion"]).unwrap_or(""),
        },
        "reason": reason,
        "message": message,
        "type": kind,
        "source": {"component": component},
        "reportingComponent": component,
        "reportingInstance": "",
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "eventTime": null,
    });
    let _ = store.create(resources::EVENTS, ns, ev);
}

//! The four PATCH flavours clients send: JSON merge patch (RFC 7386), JSON
//! patch (RFC 6902), strategic merge patch (kubectl's default) and
//! server-side apply. Strategic merge knows the merge keys of the types the
//! sandbox serves; server-side apply is a strategic merge of the applied
//! configuration, which is what kubectl apply --server-side and kube-rs
//! `Patch::Apply` need from it.

use serde_json::{Map, Value};

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    Merge,
    Json,
    Strategic,
    Apply,
}

impl PatchKind {
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let ct = ct.split(';').next().unwrap_or("").trim();
        match ct {
            "application/merge-patch+json" => Some(PatchKind::Merge),
            "application/json-patch+json" => Some(PatchKind::Json),
            "application/strategic-merge-patch+json" => Some(PatchKind::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => {
                Some(PatchKind::Apply)
            }
            _ => None,
        }
    }
}

/// Parses a patch body: YAML for apply (JSON is YAML), JSON otherwise.
pub fn parse_body(kind: PatchKind, body: &[u8]) -> Result<Value, ApiError> {
    match kind {
        PatchKind::Apply => serde_yaml::from_slice(body)
            .map_err(|e| ApiError::BadRequest(format!("error decoding YAML: {e}"))),
        _ => serde_json::from_slice(body)
            .map_err(|e| ApiError::BadRequest(format!("error decoding patch: {e}"))),
    }
}

pub fn apply(kind: PatchKind, target: &mut Value, patch: &Value) -> Result<(), ApiError> {
    match kind {
        PatchKind::Merge => {
            json_patch::merge(target, patch);
            Ok(())
        }
        PatchKind::Json => {
            let ops: json_patch::Patch = serde_json::from_value(patch.clone())
                .map_err(|e| ApiError::BadRequest(format!("invalid JSON patch: {e}")))?;
            json_patch::patch(target, &ops).map_err(|e| ApiError::Invalid {
                kind: "Patch".into(),
                name: String::new(),
                detail: e.to_string(),
            })
        }
        PatchKind::Strategic | PatchKind::Apply => {
            strategic_merge(target, patch, "");
            Ok(())
        }
    }
}

/// The merge key of a list field, per the Kubernetes types' patchMergeKey
/// tags. Lists without one are replaced wholesale, as upstream does.
fn merge_key(field: &str, sample: &Value) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "conditions" => Some("type"),
        "ownerReferences" => Some("uid"),
        "ports" => {
            if sample.get("containerPort").is_some() {
                Some("containerPort")
            } else {
                Some("port")
            }
        }
        _ => None,
    }
}

pub fn strategic_merge(target: &mut Value, patch: &Value, field: &str) {
    let Value::Object(pm) = patch else {
        *target = patch.clone();
        return;
    };
    if pm.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut p = pm.clone();
        p.remove("$patch");
        *target = Value::Object(p);
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(tm) = target else { return };
    let _ = field;
    for (k, pv) in pm {
        if k.starts_with('$') {
            // $setElementOrder/..., $retainKeys, $deleteFromPrimitiveList/...:
            // ordering and pruning hints the sandbox can do without.
            continue;
        }
        match pv {
            Value::Null => {
                tm.remove(k);
            }
            Value::Object(_) => {
                let slot = tm.entry(k.clone()).or_insert(Value::Null);
                strategic_merge(slot, pv, k);
            }
            Value::Array(items) => {
                let sample = items.first().unwrap_or(&Value::Null);
                match merge_key(k, sample) {
                    Some(mk) => {
                        let slot = tm.entry(k.clone()).or_insert(Value::Array(Vec::new()));
                        merge_list(slot, items, k, mk);
                    }
                    None => {
                        tm.insert(k.clone(), pv.clone());
                    }
                }
            }
            _ => {
                tm.insert(k.clone(), pv.clone());
            }
        }
    }
}

fn merge_list(target: &mut Value, items: &[Value], field: &str, key: &str) {
    if !target.is_array() {
        *target = Value::Array(Vec::new());
    }
    let Value::Array(list) = target else { return };
    for item in items {
        let Some(kv) = item.get(key).cloned() else {
            list.push(item.clone());
            continue;
        };
        let pos = list.iter().position(|x| x.get(key) == Some(&kv));
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (pos, delete) {
            (Some(i), true) => {
                list.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => strategic_merge(&mut list[i], item, field),
            (None, false) => {
                let mut fresh = Value::Null;
                strategic_merge(&mut fresh, item, field);
                list.push(fresh);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strategic_merge_merges_containers_by_name() {
        let mut pod = json!({"spec": {"containers": [
            {"name": "app", "image": "shop/checkout:1.4", "ports": [{"containerPort": 80}]},
            {"name": "sidecar", "image": "envoy:1"}
        ]}});
        strategic_merge(
            &mut pod,
            &json!({"spec": {"$setElementOrder/containers": [{"name": "app"}],
                             "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.9"}]}}),
            "",
        );
        assert_eq!(
            pod["spec"]["containers"][0]["image"],
            "registry.k8s.io/pause:3.9"
        );
        assert_eq!(
            pod["spec"]["containers"][0]["ports"][0]["containerPort"],
            80
        );
        assert_eq!(pod["spec"]["containers"][1]["image"], "envoy:1");
    }

    #[test]
    fn strategic_merge_null_deletes_and_patch_delete_removes_items() {
        let mut node = json!({"spec": {"unschedulable": true, "taints": [{"key": "a"}]}});
        strategic_merge(&mut node, &json!({"spec": {"unschedulable": null}}), "");
        assert!(node["spec"].get("unschedulable").is_none());
        let mut pod = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        strategic_merge(
            &mut pod,
            &json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}}),
            "",
        );
        assert_eq!(pod["spec"]["containers"], json!([{"name": "b"}]));
    }

    #[test]
    fn lists_without_merge_key_are_replaced() {
        let mut np = json!({"spec": {"policyTypes": ["Ingress"]}});
        strategic_merge(&mut np, &json!({"spec": {"policyTypes": ["Egress"]}}), "");
        assert_eq!(np["spec"]["policyTypes"], json!(["Egress"]));
    }

    #[test]
    fn json_and_merge_patches() {
        let mut d = json!({"spec": {"replicas": 3}});
        apply(
            PatchKind::Json,
            &mut d,
            &json!([{"op": "replace", "path": "/spec/replicas", "value": 1}]),
        )
        .unwrap();
        assert_eq!(d["spec"]["replicas"], 1);
        apply(PatchKind::Merge, &mut d, &json!({"spec": {"replicas": 7}})).unwrap();
        assert_eq!(d["spec"]["replicas"], 7);
        let bad = apply(
            PatchKind::Json,
            &mut d,
            &json!([{"op": "test", "path": "/spec/replicas", "value": 2}]),
        );
        assert!(bad.is_err());
    }

    #[test]
    fn content_types() {
        assert_eq!(
            PatchKind::from_content_type("application/apply-patch+yaml"),
            Some(PatchKind::Apply)
        );
        assert_eq!(
            PatchKind::from_content_type("application/strategic-merge-patch+json; charset=utf-8"),
            Some(PatchKind::Strategic)
        );
        assert_eq!(PatchKind::from_content_type("text/plain"), None);
    }
}

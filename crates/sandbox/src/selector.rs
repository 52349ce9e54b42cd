//! Label and field selectors with the syntax of `labels.Parse` and
//! `fields.ParseSelector`: `=`, `==`, `!=`, `in`, `notin`, `key`, `!key`.

use serde_json::Value;

use crate::meta;
use crate::resources::{self, ResId};
use crate::store::Obj;

#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector(Vec<Requirement>);

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("unable to parse requirement: {0}")]
pub struct SelectorError(pub String);

/// Splits on commas outside parentheses.
fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn parse_set(s: &str) -> Result<Vec<String>, SelectorError> {
    let inner = s
        .trim()
        .strip_prefix('(')
        .and_then(|x| x.strip_suffix(')'))
        .ok_or_else(|| SelectorError(format!("expected a parenthesised set, got {s:?}")))?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect())
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

impl LabelSelector {
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut reqs = Vec::new();
        for part in split_top(s) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let req = if let Some(k) = part.strip_prefix('!') {
                Requirement::NotExists(k.trim().to_string())
            } else if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEq(k.trim().to_string(), v.trim().to_string())
            } else if let Some((k, v)) = part.split_once("==") {
                Requirement::Eq(k.trim().to_string(), v.trim().to_string())
            } else if let Some((k, v)) = part.split_once('=') {
                Requirement::Eq(k.trim().to_string(), v.trim().to_string())
            } else if let Some((k, rest)) = part.split_once(" notin ") {
                Requirement::NotIn(k.trim().to_string(), parse_set(rest)?)
            } else if let Some((k, rest)) = part.split_once(" in ") {
                Requirement::In(k.trim().to_string(), parse_set(rest)?)
            } else {
                Requirement::Exists(part.to_string())
            };
            let key = match &req {
                Requirement::Eq(k, _)
                | Requirement::NotEq(k, _)
                | Requirement::In(k, _)
                | Requirement::NotIn(k, _)
                | Requirement::Exists(k)
                | Requirement::NotExists(k) => k,
            };
            if !valid_key(key) {
                return Err(SelectorError(part.to_string()));
            }
            reqs.push(req);
        }
        Ok(LabelSelector(reqs))
    }

    /// From a `metav1.LabelSelector` object (matchLabels + matchExpressions),
    /// as Deployments, PDBs and NetworkPolicies carry. None when malformed.
    pub fn from_object(sel: &Value) -> Option<Self> {
        let mut reqs = Vec::new();
        if let Some(ml) = sel.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in ml {
                reqs.push(Requirement::Eq(k.clone(), v.as_str()?.to_string()));
            }
        }
        if let Some(exprs) = sel.get("matchExpressions").and_then(Value::as_array) {
            for e in exprs {
                let key = e.get("key")?.as_str()?.to_string();
                let values: Vec<String> = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                reqs.push(match e.get("operator")?.as_str()? {
                    "In" => Requirement::In(key, values),
                    "NotIn" => Requirement::NotIn(key, values),
                    "Exists" => Requirement::Exists(key),
                    "DoesNotExist" => Requirement::NotExists(key),
                    _ => return None,
                });
            }
        }
        Some(LabelSelector(reqs))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn matches_labels(&self, labels: Option<&serde_json::Map<String, Value>>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Requirement::Eq(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEq(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
        })
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.is_empty() || self.matches_labels(meta::labels(obj))
    }

    /// Matches a stored object by its summary, without parsing it.
    pub fn matches_obj(&self, obj: &Obj) -> bool {
        let get = |k: &str| obj.summary.label(k);
        self.0.iter().all(|r| match r {
            Requirement::Eq(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEq(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
        })
    }

    /// The `a=b,c=d` form, for Scale status and kubectl columns.
    pub fn to_string_form(&self) -> String {
        self.0
            .iter()
            .map(|r| match r {
                Requirement::Eq(k, v) => format!("{k}={v}"),
                Requirement::NotEq(k, v) => format!("{k}!={v}"),
                Requirement::In(k, vs) => format!("{k} in ({})", vs.join(",")),
                Requirement::NotIn(k, vs) => format!("{k} notin ({})", vs.join(",")),
                Requirement::Exists(k) => k.clone(),
                Requirement::NotExists(k) => format!("!{k}"),
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A field selector over the fields the sandbox indexes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

/// The fields each resource can be selected on, as kube-apiserver's field
/// label conversion functions list them (kubernetes pkg/apis/core/v1 and
/// apps, batch conversion.go; pkg/registry/*/strategy.go): every resource
/// has `metadata.name` and, unless it is a node or a namespace,
/// `metadata.namespace`; anything else is "field label not supported".
fn selectable(res: ResId) -> &'static [&'static str] {
    match res {
        resources::PODS => &[
            "metadata.name",
            "metadata.namespace",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        resources::EVENTS => &[
            "metadata.name",
            "metadata.namespace",
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        resources::NODES => &["metadata.name", "spec.unschedulable"],
        resources::NAMESPACES => &["metadata.name", "status.phase"],
        resources::SECRETS => &["metadata.name", "metadata.namespace", "type"],
        resources::REPLICASETS => &["metadata.name", "metadata.namespace", "status.replicas"],
        resources::JOBS => &["metadata.name", "metadata.namespace", "status.successful"],
        _ => &["metadata.name", "metadata.namespace"],
    }
}

impl FieldSelector {
    /// A selector on `res`'s selectable fields.
    pub fn parse(res: ResId, s: &str) -> Result<Self, SelectorError> {
        let fields = selectable(res);
        let mut reqs = Vec::new();
        for part in s.split(',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (k, eq, v) = if let Some((k, v)) = part.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = part.split_once("==") {
                (k, true, v)
            } else if let Some((k, v)) = part.split_once('=') {
                (k, true, v)
            } else {
                return Err(SelectorError(part.to_string()));
            };
            let k = k.trim();
            if !fields.contains(&k) {
                return Err(SelectorError(format!("field label not supported: {k}")));
            }
            reqs.push((k.to_string(), eq, v.trim().to_string()));
        }
        Ok(FieldSelector(reqs))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Matches a stored object; the pod fields come from its summary.
    pub fn matches_obj(&self, obj: &Obj) -> bool {
        if self.is_empty() {
            return true;
        }
        let s = &obj.summary;
        let from_summary = |k: &str| match k {
            "metadata.name" => Some(s.name.as_str()),
            "metadata.namespace" => Some(s.namespace.as_str()),
            "spec.nodeName" => Some(s.node_name.as_str()),
            "status.phase" => Some(s.phase.as_str()),
            _ => None,
        };
        if self.0.iter().all(|(k, _, _)| from_summary(k).is_some()) {
            return self
                .0
                .iter()
                .all(|(k, eq, v)| (from_summary(k) == Some(v.as_str())) == *eq);
        }
        self.matches(obj.value())
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(k, eq, v)| {
            // An event's `source` selects on its component.
            let k = if k == "source" {
                "source.component"
            } else {
                k.as_str()
            };
            let path: Vec<&str> = k.split('.').collect();
            let actual = match meta::at(obj, &path) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(Value::Null) | None => {
                    if k == "spec.unschedulable" {
                        "false".to_string()
                    } else {
                        String::new()
                    }
                }
                Some(other) => other.to_string(),
            };
            (actual == *v) == *eq
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(labels: Value) -> Value {
        json!({"metadata": {"name": "p", "namespace": "shop", "labels": labels},
               "spec": {"nodeName": "node-1"}, "status": {"phase": "Running"}})
    }

    #[test]
    fn label_operators() {
        let p = pod(json!({"app": "checkout", "tier": "web"}));
        for (sel, want) in [
            ("app=checkout", true),
            ("app==checkout", true),
            ("app!=checkout", false),
            ("app in (checkout, cart)", true),
            ("app notin (checkout)", false),
            ("tier", true),
            ("!tier", false),
            ("!missing", true),
            ("app=checkout,tier=db", false),
            ("", true),
        ] {
            assert_eq!(
                LabelSelector::parse(sel).unwrap().matches(&p),
                want,
                "{sel}"
            );
        }
    }

    #[test]
    fn bad_label_selector_is_an_error() {
        assert!(LabelSelector::parse("app in checkout").is_err());
        assert!(LabelSelector::parse("a b").is_err());
    }

    #[test]
    fn object_selector() {
        let sel = LabelSelector::from_object(&json!({
            "matchLabels": {"app": "checkout"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]
        }))
        .unwrap();
        assert!(sel.matches(&pod(json!({"app": "checkout", "tier": "web"}))));
        assert!(!sel.matches(&pod(json!({"app": "checkout"}))));
    }

    #[test]
    fn field_selectors() {
        let p = pod(json!({}));
        let ok = |s: &str| {
            FieldSelector::parse(resources::PODS, s)
                .unwrap()
                .matches(&p)
        };
        assert!(ok("spec.nodeName=node-1"));
        assert!(ok("status.phase!=Pending,metadata.namespace=shop"));
        assert!(!ok("metadata.name=q"));
        let refused = |res, s: &str| FieldSelector::parse(res, s).unwrap_err().to_string();
        assert!(
            refused(resources::PODS, "spec.bogus=1")
                .ends_with("field label not supported: spec.bogus")
        );
        // Per resource, as the real server: a pod field on a deployment, a
        // node field on a pod, a namespace on a node.
        assert!(refused(resources::DEPLOYMENTS, "spec.nodeName=n").contains("spec.nodeName"));
        assert!(refused(resources::PODS, "spec.unschedulable=true").contains("unschedulable"));
        assert!(refused(resources::NODES, "metadata.namespace=x").contains("metadata.namespace"));
        assert!(FieldSelector::parse(resources::NODES, "spec.unschedulable=true").is_ok());
        assert!(FieldSelector::parse(resources::DEPLOYMENTS, "metadata.name=x").is_ok());
        let event = json!({"source": {"component": "kubelet"}, "type": "Warning"});
        let ev = |s: &str| {
            FieldSelector::parse(resources::EVENTS, s)
                .unwrap()
                .matches(&event)
        };
        assert!(ev("source=kubelet,type=Warning"));
        assert!(!ev("source=scheduler"));
    }
}

//! The RBAC authorizer, evaluated over the Roles, ClusterRoles and bindings
//! in the store the way Kubernetes does it:
//! plugin/pkg/auth/authorizer/rbac/rbac.go (`RuleAllows`),
//! pkg/apis/rbac/v1/evaluation_helpers.go (`VerbMatches`, `APIGroupMatches`,
//! `ResourceMatches`, `ResourceNameMatches`, `NonResourceURLMatches`) and
//! pkg/registry/rbac/validation/rule.go (`VisitRulesFor`, `appliesToUser`).
//! Deny is the default; there are no deny rules. Members of `system:masters`
//! are allowed everything before RBAC is consulted, as the apiserver's
//! privileged-group authorizer does (pkg/kubeapiserver/authorizer/config.go).
//! ClusterRole `aggregationRule`s are not expanded.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::auth::attributes::Attributes;
use crate::auth::identity::UserInfo;
use crate::resources;
use crate::store::{Obj, Store};

/// The group whose members bypass RBAC (`user.SystemPrivilegedGroup`).
pub const SYSTEM_MASTERS: &str = "system:masters";

fn strings<'a>(rule: &'a Value, key: &str) -> impl Iterator<Item = &'a str> {
    rule.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

fn verb_matches(rule: &Value, verb: &str) -> bool {
    strings(rule, "verbs").any(|v| v == "*" || v == verb)
}

fn api_group_matches(rule: &Value, group: &str) -> bool {
    strings(rule, "apiGroups").any(|g| g == "*" || g == group)
}

/// `*` matches every resource and subresource; `*/scale` matches the scale
/// subresource of every resource; `pods` matches pods but not `pods/log`.
fn resource_matches(rule: &Value, combined: &str, subresource: &str) -> bool {
    strings(rule, "resources").any(|r| {
        r == "*"
            || r == combined
            || (!subresource.is_empty()
                && r.len() == subresource.len() + 2
                && r.starts_with("*/")
                && r.ends_with(subresource))
    })
}

fn resource_name_matches(rule: &Value, name: &str) -> bool {
    let mut names = strings(rule, "resourceNames").peekable();
    names.peek().is_none() || names.any(|n| n == name)
}

fn non_resource_url_matches(rule: &Value, path: &str) -> bool {
    strings(rule, "nonResourceURLs").any(|u| {
        u == "*"
            || u == path
            || u.strip_suffix('*')
                .is_some_and(|prefix| path.starts_with(prefix))
    })
}

/// RuleAllows: one PolicyRule against the request.
pub fn rule_allows(a: &Attributes, rule: &Value) -> bool {
    if !verb_matches(rule, &a.verb) {
        return false;
    }
    if a.resource_request {
        let combined;
        let resource = if a.subresource.is_empty() {
            a.resource.as_str()
        } else {
            combined = format!("{}/{}", a.resource, a.subresource);
            combined.as_str()
        };
        api_group_matches(rule, &a.api_group)
            && resource_matches(rule, resource, &a.subresource)
            && resource_name_matches(rule, &a.name)
    } else {
        non_resource_url_matches(rule, &a.path)
    }
}

/// `system:serviceaccount:NS:NAME` (serviceaccount.MakeUsername).
pub fn service_account_username(ns: &str, name: &str) -> String {
    format!("system:serviceaccount:{ns}:{name}")
}

/// appliesToUser: does one subject of a binding in `binding_ns` ("" for a
/// ClusterRoleBinding) name this user?
fn subject_applies(user: &UserInfo, subject: &Value, binding_ns: &str) -> bool {
    let s = |k: &str| subject.get(k).and_then(Value::as_str).unwrap_or("");
    match s("kind") {
        "User" => user.name == s("name"),
        "Group" => user.groups.iter().any(|g| g == s("name")),
        "ServiceAccount" => {
            let ns = match s("namespace") {
                "" => binding_ns,
                ns => ns,
            };
            !ns.is_empty() && user.name == service_account_username(ns, s("name"))
        }
        _ => false,
    }
}

fn binding_applies(user: &UserInfo, binding: &Value, binding_ns: &str) -> bool {
    binding
        .get("subjects")
        .and_then(Value::as_array)
        .is_some_and(|subs| subs.iter().any(|s| subject_applies(user, s, binding_ns)))
}

/// The role a binding refers to: a ClusterRole, or a Role in the binding's
/// namespace. A missing role grants nothing (the real resolver records an
/// error and carries on).
fn role_of(store: &Store, binding: &Value, binding_ns: &str) -> Option<Arc<Obj>> {
    let r = binding.get("roleRef")?;
    let name = r.get("name").and_then(Value::as_str)?;
    match r.get("kind").and_then(Value::as_str)? {
        "ClusterRole" => store.try_get(resources::CLUSTERROLES, "", name),
        "Role" if !binding_ns.is_empty() => store.try_get(resources::ROLES, binding_ns, name),
        _ => None,
    }
}

/// Where a rule came from, for the `reason` of an allowed decision, as the
/// real resolver's `clusterRoleBindingDescriber` / `roleBindingDescriber`.
fn describe(binding: &Value, binding_ns: &str, role: &Value) -> String {
    let name = |v: &Value| {
        v.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let role_kind = binding
        .pointer("/roleRef/kind")
        .and_then(Value::as_str)
        .unwrap_or("");
    if binding_ns.is_empty() {
        format!(
            "ClusterRoleBinding \"{}\" of {role_kind} \"{}\"",
            name(binding),
            name(role)
        )
    } else {
        format!(
            "RoleBinding \"{}/{binding_ns}\" of {role_kind} \"{}\"",
            name(binding),
            name(role)
        )
    }
}

/// VisitRulesFor: every rule that applies to `user` in `namespace` (cluster
/// bindings first, then the namespace's RoleBindings), until `visit` says
/// stop by returning false.
pub fn visit_rules(
    store: &Store,
    user: &UserInfo,
    namespace: &str,
    mut visit: impl FnMut(&dyn Fn() -> String, &Value) -> bool,
) {
    let mut scopes: Vec<(Vec<Arc<Obj>>, &str)> =
        vec![(store.list(resources::CLUSTERROLEBINDINGS, None).0, "")];
    if !namespace.is_empty() {
        scopes.push((
            store.list(resources::ROLEBINDINGS, Some(namespace)).0,
            namespace,
        ));
    }
    for (bindings, ns) in scopes {
        for b in bindings {
            let b = b.value();
            if !binding_applies(user, b, ns) {
                continue;
            }
            let Some(role) = role_of(store, b, ns) else {
                continue;
            };
            let role = role.value();
            let source = || describe(b, ns, role);
            for rule in role
                .get("rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if !visit(&source, rule) {
                    return;
                }
            }
        }
    }
}

/// The authorizer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub reason: String,
}

pub fn is_privileged(user: &UserInfo) -> bool {
    user.groups.iter().any(|g| g == SYSTEM_MASTERS)
}

pub fn authorize(store: &Store, user: &UserInfo, a: &Attributes) -> Decision {
    if is_privileged(user) {
        return Decision {
            allowed: true,
            reason: String::new(),
        };
    }
    let mut reason = None;
    visit_rules(store, user, &a.namespace, |source, rule| {
        if rule_allows(a, rule) {
            reason = Some(format!("RBAC: allowed by {}", source()));
            false
        } else {
            true
        }
    });
    Decision {
        allowed: reason.is_some(),
        reason: reason.unwrap_or_default(),
    }
}

/// RulesFor, as SelfSubjectRulesReview reports them: the resource rules and
/// the non-resource rules that apply to `user` in `namespace`.
pub fn rules_for(store: &Store, user: &UserInfo, namespace: &str) -> (Vec<Value>, Vec<Value>) {
    if is_privileged(user) {
        return (
            vec![json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})],
            vec![json!({"verbs": ["*"], "nonResourceURLs": ["*"]})],
        );
    }
    let (mut res, mut non) = (Vec::new(), Vec::new());
    visit_rules(store, user, namespace, |_, rule| {
        let field = |k: &str| rule.get(k).cloned().unwrap_or_else(|| json!([]));
        if strings(rule, "resources").next().is_some() {
            let mut r = json!({
                "verbs": field("verbs"),
                "apiGroups": field("apiGroups"),
                "resources": field("resources"),
            });
            if strings(rule, "resourceNames").next().is_some() {
                r["resourceNames"] = field("resourceNames");
            }
            res.push(r);
        }
        if strings(rule, "nonResourceURLs").next().is_some() {
            non.push(json!({"verbs": field("verbs"), "nonResourceURLs": field("nonResourceURLs")}));
        }
        true
    });
    (res, non)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    use crate::auth::attributes::derive;

    fn sa(ns: &str, name: &str) -> UserInfo {
        UserInfo::service_account(ns, name, "uid-1")
    }

    #[test]
    fn rule_matching_follows_the_evaluation_helpers() {
        let rule = json!({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]});
        let get = derive(&Method::GET, "/api/v1/namespaces/shop/pods/a", "");
        assert!(rule_allows(&get, &rule));
        let del = derive(&Method::DELETE, "/api/v1/namespaces/shop/pods/a", "");
        assert!(!rule_allows(&del, &rule), "verb not granted");
        let evict = derive(&Method::POST, "/api/v1/namespaces/shop/pods/a/eviction", "");
        let create_pods = json!({"verbs": ["create"], "apiGroups": [""], "resources": ["pods"]});
        assert!(
            !rule_allows(&evict, &create_pods),
            "pods does not cover pods/eviction"
        );
        let sub = json!({"verbs": ["*"], "apiGroups": [""], "resources": ["pods/eviction"]});
        assert!(rule_allows(&evict, &sub));
        let star_sub =
            json!({"verbs": ["create"], "apiGroups": ["*"], "resources": ["*/eviction"]});
        assert!(rule_allows(&evict, &star_sub));
        let named = json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["b"]});
        assert!(!rule_allows(&get, &named));
        let apps = derive(
            &Method::GET,
            "/apis/apps/v1/namespaces/shop/deployments",
            "",
        );
        assert!(!rule_allows(
            &apps,
            &json!({"verbs": ["list"], "apiGroups": [""], "resources": ["deployments"]})
        ));
        let metrics = derive(&Method::GET, "/metrics", "");
        assert!(rule_allows(
            &metrics,
            &json!({"verbs": ["get"], "nonResourceURLs": ["/met*"]})
        ));
        assert!(!rule_allows(
            &metrics,
            &json!({"verbs": ["get"], "nonResourceURLs": ["/healthz"]})
        ));
    }

    #[test]
    fn bindings_resolve_subjects_and_roles() {
        let store = crate::auth::test_store("shop");
        store
            .create(
                resources::ROLES,
                "shop",
                json!({"metadata": {"name": "killer"}, "rules": [{"verbs": ["delete"], "apiGroups": [""], "resources": ["pods"]}]}),
            )
            .unwrap();
        store
            .create(
                resources::ROLEBINDINGS,
                "shop",
                json!({"metadata": {"name": "kb"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "killer"},
                       "subjects": [{"kind": "ServiceAccount", "name": "chaos"}]}),
            )
            .unwrap();
        let del = derive(&Method::DELETE, "/api/v1/namespaces/shop/pods/a", "");
        let d = authorize(&store, &sa("shop", "chaos"), &del);
        assert!(d.allowed);
        assert_eq!(
            d.reason,
            "RBAC: allowed by RoleBinding \"kb/shop\" of Role \"killer\""
        );
        assert!(!authorize(&store, &sa("other", "chaos"), &del).allowed);
        let elsewhere = derive(&Method::DELETE, "/api/v1/namespaces/web/pods/a", "");
        assert!(!authorize(&store, &sa("shop", "chaos"), &elsewhere).allowed);
        let admin = UserInfo {
            name: "admin".into(),
            uid: String::new(),
            groups: vec![SYSTEM_MASTERS.into()],
        };
        assert!(authorize(&store, &admin, &elsewhere).allowed);
        let (res, non) = rules_for(&store, &sa("shop", "chaos"), "shop");
        assert_eq!(res.len(), 1);
        assert!(non.is_empty());
    }
}

//! The default ClusterRoles and ClusterRoleBindings every API server creates
//! at start (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go and
//! controller_policy.go), reduced to the ones that decide what an ordinary
//! identity may do: discovery, health and version, self reviews, and
//! `cluster-admin` for `system:masters`. A world that already declares one
//! keeps its own.

use serde_json::{Value, json};

use crate::resources;
use crate::store::Store;

/// Readable by everyone, anonymous included (`system:public-info-viewer`).
pub const PUBLIC_INFO_URLS: &[&str] = &["/healthz", "/livez", "/readyz", "/version", "/version/"];

fn meta(name: &str) -> Value {
    json!({
        "name": name,
        "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
        "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
    })
}

fn cluster_role(name: &str, rules: Value) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": meta(name), "rules": rules})
}

fn binding(name: &str, groups: &[&str]) -> Value {
    let subjects: Vec<Value> = groups
        .iter()
        .map(|g| json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g}))
        .collect();
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": meta(name),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": subjects,
    })
}

fn roles() -> Vec<(Value, Value)> {
    vec![
        (
            cluster_role(
                "cluster-admin",
                json!([
                    {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                    {"nonResourceURLs": ["*"], "verbs": ["*"]},
                ]),
            ),
            binding("cluster-admin", &["system:masters"]),
        ),
        (
            cluster_role(
                "system:discovery",
                json!([{"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
                    "/openapi", "/openapi/*", "/readyz", "/version", "/version/"], "verbs": ["get"]}]),
            ),
            binding("system:discovery", &["system:authenticated"]),
        ),
        (
            cluster_role(
                "system:public-info-viewer",
                json!([{"nonResourceURLs": PUBLIC_INFO_URLS, "verbs": ["get"]}]),
            ),
            binding(
                "system:public-info-viewer",
                &["system:authenticated", "system:unauthenticated"],
            ),
        ),
        (
            cluster_role(
                "system:basic-user",
                json!([
                    {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], "verbs": ["create"]},
                    {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]},
                ]),
            ),
            binding("system:basic-user", &["system:authenticated"]),
        ),
        (
            // Prometheus' scrape identity on a real cluster.
            cluster_role(
                "system:monitoring",
                json!([{"nonResourceURLs": ["/healthz", "/healthz/*", "/livez", "/livez/*", "/metrics",
                    "/metrics/slis", "/readyz", "/readyz/*"], "verbs": ["get"]}]),
            ),
            binding("system:monitoring", &["system:monitoring"]),
        ),
    ]
}

/// Creates the default roles and bindings that are not there yet.
pub fn ensure_default_policy(store: &Store) {
    for (role, bind) in roles() {
        for (res, v) in [
            (resources::CLUSTERROLES, role),
            (resources::CLUSTERROLEBINDINGS, bind),
        ] {
            let name = crate::meta::name(&v).to_string();
            if store.try_get(res, "", &name).is_none() {
                // Creating a fixed, valid object in a fresh store cannot
                // conflict; a failure would only leave that role out.
                let _ = store.create(res, "", v);
            }
        }
    }
}

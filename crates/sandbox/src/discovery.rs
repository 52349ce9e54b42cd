//! Discovery documents and the minimal OpenAPI v3 that real clients need:
//! kubectl's dispatcher reads `/version` to pick its bundled kubectl, every
//! kubectl command resolves resource names through `/api`, `/apis` and the
//! group/version resource lists, and `create -f` / `apply -f` look in OpenAPI
//! v3 for a PATCH operation that accepts `fieldValidation`, to decide that
//! the server validates fields itself.

use serde_json::{Value, json};

use crate::resources::{self, RESOURCES};

pub fn version(minor: u32) -> Value {
    json!({
        "major": "1",
        "minor": minor.to_string(),
        "gitVersion": format!("v1.{minor}.0"),
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

pub fn core_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
    })
}

fn group_doc(name: &str) -> Value {
    let gv = format!("{name}/v1");
    json!({
        "name": name,
        "versions": [{"groupVersion": gv, "version": "v1"}],
        "preferredVersion": {"groupVersion": gv, "version": "v1"},
    })
}

pub fn group_list() -> Value {
    let groups: Vec<Value> = resources::groups().into_iter().map(group_doc).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn group(name: &str) -> Option<Value> {
    resources::groups().contains(&name).then(|| {
        let mut g = group_doc(name);
        g["kind"] = json!("APIGroup");
        g["apiVersion"] = json!("v1");
        g
    })
}

/// Categories kubectl expands, e.g. `kubectl get all`.
fn categories(plural: &str) -> &'static [&'static str] {
    match plural {
        "pods" | "services" | "deployments" | "statefulsets" | "replicasets" | "daemonsets" => {
            &["all"]
        }
        _ => &[],
    }
}

/// The APIResourceList of one group/version; None when nothing is served.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let mut out = Vec::new();
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        out.push(json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": resources::verbs(),
            "shortNames": r.short_names,
            "categories": categories(r.plural),
        }));
        for s in r.subresources {
            let mut e = json!({
                "name": format!("{}/{}", r.plural, s.name),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": s.kind,
                "verbs": s.verbs,
            });
            if s.group != r.group || s.version != r.version {
                e["group"] = json!(s.group);
                e["version"] = json!(s.version);
            }
            out.push(e);
        }
    }
    if out.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}),
    )
}

/// `api/v1`, `apis/apps/v1`, ... as OpenAPI v3 names them.
fn openapi_paths() -> Vec<(String, &'static str, &'static str)> {
    let mut out: Vec<(String, &'static str, &'static str)> = Vec::new();
    for r in RESOURCES {
        let p = if r.group.is_empty() {
            format!("api/{}", r.version)
        } else {
            format!("apis/{}/{}", r.group, r.version)
        };
        if !out.iter().any(|(x, _, _)| *x == p) {
            out.push((p, r.group, r.version));
        }
    }
    out
}

pub fn openapi_root() -> Value {
    let mut paths = serde_json::Map::new();
    for (p, _, _) in openapi_paths() {
        paths.insert(
            p.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash=gameday-sandbox-1")}),
        );
    }
    json!({"paths": paths})
}

/// The OpenAPI v3 document of one group/version: for each kind a create
/// and a patch operation tagged with its GVK and the `fieldValidation`
/// parameter. That is what kubectl's query-parameter verifier looks for; it
/// then sends `fieldValidation=Strict` and leaves validation to the server.
/// No strategic-merge request body is declared, so client-side `apply`
/// computes its patches from kubectl's compiled-in types.
pub fn openapi_group(path: &str) -> Option<Value> {
    let (_, group, version) = openapi_paths().into_iter().find(|(p, _, _)| p == path)?;
    let field_validation = json!([
        {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
    ]);
    let mut paths = serde_json::Map::new();
    let mut schemas = serde_json::Map::new();
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let gvk = json!({"group": r.group, "version": r.version, "kind": r.kind});
        let prefix = if r.group.is_empty() {
            format!("/api/{}", r.version)
        } else {
            format!("/apis/{}/{}", r.group, r.version)
        };
        let coll = if r.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}", r.plural)
        } else {
            format!("{prefix}/{}", r.plural)
        };
        let op = |id: &str| {
            json!({
                "operationId": format!("{id}{}", r.kind),
                "parameters": field_validation,
                "responses": {"200": {"description": "OK"}},
                "x-kubernetes-action": id,
                "x-kubernetes-group-version-kind": gvk,
            })
        };
        paths.insert(coll.clone(), json!({"post": op("post")}));
        paths.insert(
            format!("{coll}/{{name}}"),
            json!({"put": op("put"), "patch": op("patch")}),
        );
        let schema_group = if r.group.is_empty() {
            "core"
        } else {
            r.group.split('.').next().unwrap_or(r.group)
        };
        schemas.insert(
            format!("io.k8s.api.{schema_group}.{}.{}", r.version, r.kind),
            json!({
                "type": "object",
                "x-kubernetes-group-version-kind": [gvk],
                "x-kubernetes-preserve-unknown-fields": true,
            }),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_list_advertises_eviction_in_policy() {
        let l = resource_list("", "v1").unwrap();
        let ev = l["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "pods/eviction")
            .unwrap();
        assert_eq!(ev["group"], "policy");
        assert_eq!(ev["version"], "v1");
    }

    #[test]
    fn every_group_has_an_openapi_doc() {
        let root = openapi_root();
        for (p, _) in root["paths"].as_object().unwrap() {
            let doc = openapi_group(p).unwrap();
            assert!(!doc["paths"].as_object().unwrap().is_empty(), "{p}");
        }
        assert!(group("apps").is_some());
        assert!(group("nope").is_none());
    }
}

//! Request attributes for authorization, derived from the method and URL the
//! way k8s.io/apiserver's `RequestInfoFactory.NewRequestInfo` does
//! (staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go):
//! `/api/v1/...` and `/apis/GROUP/VERSION/...` are resource requests, every
//! other path is a non-resource URL whose verb is the lower-cased method.

use axum::http::Method;

/// What a request asks to do, as the authorizer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attributes {
    pub resource_request: bool,
    pub verb: String,
    pub api_group: String,
    pub api_version: String,
    pub namespace: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
    /// The URL path, for non-resource requests.
    pub path: String,
}

/// Namespace subresources stay on the namespace (`namespaceSubresources`).
const NAMESPACE_SUBRESOURCES: &[&str] = &["status", "finalize"];

fn query_value<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// strconv.ParseBool, which ListOptions uses for `watch`.
fn parse_bool(v: &str) -> bool {
    matches!(v, "1" | "t" | "T" | "TRUE" | "true" | "True")
}

/// The attributes of one request (path without query, query string apart).
pub fn derive(method: &Method, path: &str, query: &str) -> Attributes {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let non_resource = || Attributes {
        resource_request: false,
        verb: method.as_str().to_ascii_lowercase(),
        path: path.to_string(),
        ..Attributes::default()
    };
    if parts.len() < 3 {
        return non_resource();
    }
    let (group, rest) = match parts[0] {
        "api" => ("", &parts[1..]),
        "apis" if parts.len() >= 4 => (parts[1], &parts[2..]),
        _ => return non_resource(),
    };
    let mut a = Attributes {
        resource_request: true,
        api_group: group.to_string(),
        api_version: rest[0].to_string(),
        path: path.to_string(),
        ..Attributes::default()
    };
    let mut cur = &rest[1..];
    // `/watch/...` is the legacy watch prefix (specialVerbs); the sandbox
    // does not serve it but authorizes it as the real server would.
    if cur.first() == Some(&"watch") {
        a.verb = "watch".into();
        cur = &cur[1..];
    } else {
        a.verb = match *method {
            Method::POST => "create",
            Method::GET | Method::HEAD => "get",
            Method::PUT => "update",
            Method::PATCH => "patch",
            Method::DELETE => "delete",
            _ => "",
        }
        .into();
    }
    if cur.first() == Some(&"namespaces") && cur.len() > 1 {
        a.namespace = cur[1].to_string();
        if cur.len() > 2 && !NAMESPACE_SUBRESOURCES.contains(&cur[2]) {
            cur = &cur[2..];
        }
    }
    if let Some(r) = cur.first() {
        a.resource = r.to_string();
    }
    if let Some(n) = cur.get(1) {
        a.name = n.to_string();
    }
    if let Some(s) = cur.get(2) {
        a.subresource = s.to_string();
    }
    // A WebSocket exec/attach/portforward is a GET; it is authorized as
    // `create`, like the SPDY POST, so `get` alone cannot open a shell
    // (feature gate AuthorizePodWebsocketUpgradeCreatePermission, on by
    // default since 1.35, which checks `create` after `get`). The sandbox
    // applies it at every minor: the safer reading, and the one RBAC
    // guides (`create pods/exec`) describe.
    if a.verb == "get"
        && a.resource == "pods"
        && matches!(a.subresource.as_str(), "exec" | "attach" | "portforward")
    {
        a.verb = "create".into();
    }
    if a.name.is_empty() && a.verb == "get" {
        a.verb = if query_value(query, "watch").is_some_and(parse_bool) {
            "watch"
        } else {
            "list"
        }
        .into();
        // A list narrowed to one name by `fieldSelector=metadata.name=X`
        // (kubectl get pod X -w) is authorized as that name.
        if let Some(fs) = query_value(query, "fieldSelector") {
            let fs = fs.replace("%3D", "=").replace("%3d", "=");
            if let Some(n) = fs.strip_prefix("metadata.name=")
                && !n.contains(',')
                && !n.is_empty()
            {
                a.name = n.to_string();
            }
        }
    }
    if a.name.is_empty() && a.verb == "delete" {
        a.verb = "deletecollection".into();
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_resource_attributes_like_request_info_factory() {
        let a = derive(&Method::DELETE, "/api/v1/namespaces/shop/pods/web-1", "");
        assert_eq!(
            (a.verb.as_str(), a.namespace.as_str(), a.resource.as_str()),
            ("delete", "shop", "pods")
        );
        assert_eq!(a.name, "web-1");
        let a = derive(&Method::GET, "/api/v1/namespaces/shop/pods", "watch=1");
        assert_eq!(a.verb, "watch");
        let a = derive(&Method::GET, "/api/v1/pods", "limit=500");
        assert_eq!((a.verb.as_str(), a.namespace.as_str()), ("list", ""));
        let a = derive(
            &Method::DELETE,
            "/apis/apps/v1/namespaces/x/deployments",
            "",
        );
        assert_eq!(
            (a.verb.as_str(), a.api_group.as_str()),
            ("deletecollection", "apps")
        );
        let a = derive(
            &Method::POST,
            "/api/v1/namespaces/shop/pods/web-1/eviction",
            "",
        );
        assert_eq!(
            (a.verb.as_str(), a.subresource.as_str()),
            ("create", "eviction")
        );
        let a = derive(
            &Method::GET,
            "/api/v1/namespaces/shop/pods/web-1/exec",
            "command=sh",
        );
        assert_eq!(
            (a.verb.as_str(), a.subresource.as_str()),
            ("create", "exec")
        );
        let a = derive(&Method::GET, "/api/v1/namespaces/shop", "");
        assert_eq!(
            (a.resource.as_str(), a.name.as_str(), a.namespace.as_str()),
            ("namespaces", "shop", "shop")
        );
        let a = derive(&Method::PUT, "/api/v1/namespaces/shop/finalize", "");
        assert_eq!(
            (a.resource.as_str(), a.subresource.as_str()),
            ("namespaces", "finalize")
        );
        let a = derive(
            &Method::GET,
            "/api/v1/namespaces/shop/pods",
            "fieldSelector=metadata.name%3Dweb-1",
        );
        assert_eq!(a.name, "web-1");
    }

    #[test]
    fn discovery_and_metrics_are_non_resource_urls() {
        for p in [
            "/api",
            "/api/v1",
            "/apis/apps",
            "/apis/apps/v1",
            "/metrics",
            "/version",
        ] {
            let a = derive(&Method::GET, p, "");
            assert!(!a.resource_request, "{p}");
            assert_eq!(a.verb, "get");
        }
        assert!(derive(&Method::GET, "/apis/apps/v1/deployments", "").resource_request);
    }
}

//! The 401 and 403 answers, shaped as kube-apiserver writes them:
//! 401 from `responsewriters.Unauthorized` (a `Status` with reason
//! `Unauthorized`, message "Unauthorized"), 403 from
//! `responsewriters.Forbidden` + `forbiddenMessage`
//! (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go)
//! wrapped by `apierrors.NewForbidden`, e.g.
//! `pods "x" is forbidden: User "system:serviceaccount:ns:sa" cannot delete
//! resource "pods" in API group "" in the namespace "shop"`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth::attributes::Attributes;
use crate::auth::identity::UserInfo;

fn status(code: u16, reason: &str, message: String, details: Option<Value>) -> Value {
    let mut s = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code,
    });
    if let Some(d) = details {
        s["details"] = d;
    }
    s
}

pub fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(status(401, "Unauthorized", "Unauthorized".into(), None)),
    )
        .into_response()
}

/// forbiddenMessage: what the user may not do, without the object prefix.
pub fn forbidden_message(user: &UserInfo, a: &Attributes) -> String {
    if !a.resource_request {
        return format!("User {:?} cannot {} path {:?}", user.name, a.verb, a.path);
    }
    let resource = if a.subresource.is_empty() {
        a.resource.clone()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    if a.namespace.is_empty() {
        format!(
            "User {:?} cannot {} resource {:?} in API group {:?} at the cluster scope",
            user.name, a.verb, resource, a.api_group
        )
    } else {
        format!(
            "User {:?} cannot {} resource {:?} in API group {:?} in the namespace {:?}",
            user.name, a.verb, resource, a.api_group, a.namespace
        )
    }
}

/// The 403 `Status` body (apierrors.NewForbidden).
pub fn forbidden_status(user: &UserInfo, a: &Attributes) -> Value {
    let err = forbidden_message(user, a);
    let qualified = if a.api_group.is_empty() {
        a.resource.clone()
    } else {
        format!("{}.{}", a.resource, a.api_group)
    };
    let message = if qualified.is_empty() {
        format!("forbidden: {err}")
    } else if a.name.is_empty() {
        format!("{qualified} is forbidden: {err}")
    } else {
        format!("{qualified} {:?} is forbidden: {err}", a.name)
    };
    let mut details = json!({});
    if !a.resource.is_empty() {
        details["kind"] = json!(a.resource);
    }
    if !a.api_group.is_empty() {
        details["group"] = json!(a.api_group);
    }
    if !a.name.is_empty() {
        details["name"] = json!(a.name);
    }
    status(403, "Forbidden", message, Some(details))
}

pub fn forbidden(user: &UserInfo, a: &Attributes) -> Response {
    (StatusCode::FORBIDDEN, axum::Json(forbidden_status(user, a))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::attributes::derive;
    use axum::http::Method;

    #[test]
    fn messages_match_the_real_server() {
        let u = UserInfo::service_account("ns", "sa", "u");
        let a = derive(&Method::DELETE, "/api/v1/namespaces/shop/pods/x", "");
        assert_eq!(
            forbidden_status(&u, &a)["message"],
            "pods \"x\" is forbidden: User \"system:serviceaccount:ns:sa\" cannot delete resource \"pods\" in API group \"\" in the namespace \"shop\""
        );
        let a = derive(&Method::GET, "/apis/apps/v1/deployments", "");
        assert_eq!(
            forbidden_status(&u, &a)["message"],
            "deployments.apps is forbidden: User \"system:serviceaccount:ns:sa\" cannot list resource \"deployments\" in API group \"apps\" at the cluster scope"
        );
        let a = derive(&Method::GET, "/metrics", "");
        assert_eq!(
            forbidden_status(&u, &a)["message"],
            "forbidden: User \"system:serviceaccount:ns:sa\" cannot get path \"/metrics\""
        );
    }
}

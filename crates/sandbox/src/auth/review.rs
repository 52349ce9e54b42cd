//! The identity APIs the authorizer serves: TokenRequest
//! (authentication.k8s.io/v1, `kubectl create token`), SelfSubjectAccessReview
//! (`kubectl auth can-i`) and SelfSubjectRulesReview (`kubectl auth can-i
//! --list`), all answered for the caller's own identity. Like the real
//! server's (pkg/registry/authorization/*, pkg/registry/core/serviceaccount/
//! storage/token.go) they persist nothing and answer 201.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::api::AppState;
use crate::auth::attributes::Attributes;
use crate::auth::identity::UserInfo;
use crate::auth::rbac;
use crate::error::ApiError;
use crate::meta;
use crate::resources;

/// The API server's default token audience.
pub const AUDIENCE: &str = "https://kubernetes.default.svc.cluster.local";
/// TokenRequest's default and minimum lifetimes (apis/authentication
/// validation: "may not specify a duration less than 10 minutes").
const DEFAULT_TTL: u64 = 3600;
const MIN_TTL: u64 = 600;

fn created(v: Value) -> Response {
    (StatusCode::CREATED, axum::Json(v)).into_response()
}

/// The request body as JSON, decoding kubectl's protobuf (crate::wire).
fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    let protobuf = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("protobuf"));
    if protobuf {
        return Ok(crate::wire::decode(body)?);
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("error decoding JSON: {e}")))
}

fn rfc3339(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    jiff::Timestamp::from_second(i64::try_from(secs).unwrap_or(i64::MAX))
        .map(meta::format_time)
        .unwrap_or_default()
}

/// POST /api/v1/namespaces/NS/serviceaccounts/NAME/token
pub async fn token_request(
    State(st): State<Arc<AppState>>,
    Path((ns, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match issue(&st, &ns, &name, &headers, &body) {
        Ok(v) => created(v),
        Err(e) => e.into_response(),
    }
}

fn issue(
    st: &AppState,
    ns: &str,
    name: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, ApiError> {
    let sa = st.store.get(resources::SERVICEACCOUNTS, ns, name)?;
    let mut req = parse(headers, body)?;
    let ttl = req
        .pointer("/spec/expirationSeconds")
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_TTL);
    if ttl < MIN_TTL {
        return Err(ApiError::Invalid {
            kind: "TokenRequest.authentication.k8s.io".into(),
            name: name.into(),
            detail: format!(
                "spec.expirationSeconds: Invalid value: {ttl}: may not specify a duration less than 10 minutes"
            ),
        });
    }
    let uid = meta::str_at(sa.value(), &["metadata", "uid"]).unwrap_or("");
    let (token, expires) =
        st.auth
            .tokens
            .issue_service_account(ns, name, uid, Duration::from_secs(ttl));
    let audiences = match req.pointer("/spec/audiences").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => Value::Array(a.clone()),
        _ => json!([AUDIENCE]),
    };
    req["apiVersion"] = json!("authentication.k8s.io/v1");
    req["kind"] = json!("TokenRequest");
    req["metadata"] =
        json!({"name": name, "namespace": ns, "creationTimestamp": meta::now_rfc3339()});
    req["spec"]["audiences"] = audiences;
    req["spec"]["expirationSeconds"] = json!(ttl);
    req["status"] = json!({"token": token, "expirationTimestamp": rfc3339(expires)});
    Ok(req)
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// The attributes a SubjectAccessReview spec asks about
/// (pkg/registry/authorization/util `ResourceAttributesFrom` /
/// `NonResourceAttributesFrom`).
pub fn attributes_of(spec: &Value) -> Option<Attributes> {
    if let Some(r) = spec.get("resourceAttributes") {
        return Some(Attributes {
            resource_request: true,
            verb: s(r, "verb").into(),
            api_group: s(r, "group").into(),
            api_version: s(r, "version").into(),
            namespace: s(r, "namespace").into(),
            resource: s(r, "resource").into(),
            subresource: s(r, "subresource").into(),
            name: s(r, "name").into(),
            path: String::new(),
        });
    }
    spec.get("nonResourceAttributes").map(|n| Attributes {
        resource_request: false,
        verb: s(n, "verb").into(),
        path: s(n, "path").into(),
        ..Attributes::default()
    })
}

/// A review's answer: the request echoed with `status` filled in by
/// `decide`, as the registry's Create does.
fn answer(
    headers: &HeaderMap,
    body: &[u8],
    kind: &str,
    decide: impl FnOnce(&Value) -> Result<Value, ApiError>,
) -> Response {
    let review = parse(headers, body).and_then(|mut review| {
        let status = decide(review.get("spec").unwrap_or(&Value::Null))?;
        review["apiVersion"] = json!("authorization.k8s.io/v1");
        review["kind"] = json!(kind);
        review["metadata"] = json!({"creationTimestamp": null});
        review["status"] = status;
        Ok(review)
    });
    match review {
        Ok(v) => created(v),
        Err(e) => e.into_response(),
    }
}

/// POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews
pub async fn self_subject_access_review(
    State(st): State<Arc<AppState>>,
    Extension(user): Extension<UserInfo>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(&headers, &body, "SelfSubjectAccessReview", |spec| {
        let attrs = attributes_of(spec).ok_or_else(|| ApiError::Invalid {
            kind: "SelfSubjectAccessReview.authorization.k8s.io".into(),
            name: String::new(),
            detail: "spec.resourceAttributes: Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified".into(),
        })?;
        let d = rbac::authorize(&st.store, &user, &attrs);
        Ok(json!({"allowed": d.allowed, "reason": d.reason}))
    })
}

/// POST /apis/authorization.k8s.io/v1/selfsubjectrulesreviews
pub async fn self_subject_rules_review(
    State(st): State<Arc<AppState>>,
    Extension(user): Extension<UserInfo>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(&headers, &body, "SelfSubjectRulesReview", |spec| {
        let ns = spec.get("namespace").and_then(Value::as_str).unwrap_or("");
        let (resource_rules, non_resource_rules) = rbac::rules_for(&st.store, &user, ns);
        Ok(json!({
            "resourceRules": resource_rules,
            "nonResourceRules": non_resource_rules,
            "incomplete": false,
        }))
    })
}

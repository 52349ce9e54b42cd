//! The HTTP API: routing of `/api` and `/apis` paths onto the store, the
//! verbs and subresources, watch streams, and the misbehaviour middleware.
//!
//! Paths are parsed by hand rather than with one axum route per shape: the
//! Kubernetes URL grammar is ambiguous for a router (`/api/v1/namespaces/x`
//! is a namespace, `/api/v1/namespaces/x/pods` a pod list) and one parser
//! keeps the rules in one place.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::admission;
use crate::auth;
use crate::chunk;
use crate::controllers::{disruption, events};
use crate::discovery;
use crate::error::ApiError;
use crate::events_v1;
use crate::meta;
use crate::misbehave::{Admin, Misbehaviour, RequestRecord, Verdict};
use crate::patch::{self, PatchKind};
use crate::resources::{self, ResId, ResourceDef};
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::{DeleteRequest, Obj, Store, UpdateMode};
use crate::table;
use crate::validation;

/// Renders the `/metrics` exposition; supplied by the traffic model.
pub type MetricsFn = Arc<dyn Fn() -> String + Send + Sync>;

pub struct AppState {
    pub store: Arc<Store>,
    pub admin: Arc<Admin>,
    pub kube_minor: u32,
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    pub metrics: Option<MetricsFn>,
    /// Evictions are decided one at a time, so two concurrent evictions
    /// cannot both spend the same PDB allowance (the apiserver serialises
    /// them through the PDB's resourceVersion).
    pub eviction_lock: tokio::sync::Mutex<()>,
    /// Tokens and the RBAC switch (see [`crate::auth`]).
    pub auth: Arc<crate::auth::Auth>,
    /// The node's container runtime: `pods/log` reads what containers printed.
    pub runtime: Arc<crate::runtime::Runtime>,
}

type Shared = Arc<AppState>;
type Params = HashMap<String, String>;

pub fn router(state: Shared) -> Router {
    let admin = Router::new()
        .route(
            "/misbehaviour",
            get(get_knobs)
                .put(set_knobs)
                .post(set_knobs)
                .delete(clear_knobs),
        )
        .route("/requests", get(get_requests).delete(reset_requests))
        .route("/writes", get(get_writes))
        .route("/healthz", get(|| async { "ok" }));
    // kube-apiserver answers the discovery roots with and without a trailing
    // slash (the Python client asks for `/version/`, `/api/` and `/apis/`).
    Router::new()
        .route("/version", get(version))
        .route("/version/", get(version))
        .route("/api", get(core_versions))
        .route("/api/", get(core_versions))
        .route("/apis", get(group_list))
        .route("/apis/", get(group_list))
        .route(
            "/openapi/v3",
            get(|| async { json_ok(discovery::openapi_root()) }),
        )
        .route("/openapi/v3/{*path}", get(openapi_group))
        .route("/openapi/v2", get(openapi_v2))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
        .route("/livez", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route(
            "/api/v1/namespaces/{ns}/serviceaccounts/{name}/token",
            post(auth::review::token_request),
        )
        .route(
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            post(auth::review::self_subject_access_review),
        )
        .route(
            "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
            post(auth::review::self_subject_rules_review),
        )
        .route(
            "/api/v1/namespaces/{ns}/pods/{name}/exec",
            get(crate::exec::serve),
        )
        .fallback(dispatch)
        // Authentication and authorization run inside the misbehaviour layer,
        // so refused requests are logged too.
        .layer(middleware::from_fn_with_state(state.clone(), auth::layer))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            misbehave_layer,
        ))
        .nest("/sandbox", admin)
        .with_state(state)
}

fn json_ok(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

fn json_bytes(code: StatusCode, bytes: Vec<u8>) -> Response {
    (code, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

async fn core_versions() -> Response {
    json_ok(discovery::core_versions())
}

async fn group_list() -> Response {
    json_ok(discovery::group_list())
}

async fn version(State(st): State<Shared>) -> Response {
    json_ok(discovery::version(st.kube_minor))
}

async fn openapi_group(axum::extract::Path(path): axum::extract::Path<String>) -> Response {
    match discovery::openapi_group(path.trim_end_matches('/')) {
        Some(doc) => json_ok(doc),
        None => ApiError::NoRoute.into_response(),
    }
}

/// kubectl up to about 1.29 builds its client-side validator from OpenAPI
/// v2 (protobuf) and fails `apply`/`create` when it cannot be fetched. An
/// empty protobuf `openapi_v2.Document` is valid and holds no schemas, so
/// kubectl skips client-side validation and computes apply patches from its
/// compiled-in types, exactly as with an unknown kind.
async fn openapi_v2(headers: HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.contains("protobuf") {
        (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
            )],
            Vec::<u8>::new(),
        )
            .into_response()
    } else {
        json_ok(
            json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.33.0"}, "paths": {}, "definitions": {}}),
        )
    }
}

/// A scrape of a large world takes a core for about 100 ms: it runs on the
/// blocking pool, so that the API's two workers keep serving watches and
/// writes meanwhile.
async fn metrics(State(st): State<Shared>) -> Response {
    let Some(f) = st.metrics.clone() else {
        return ApiError::NoRoute.into_response();
    };
    match tokio::task::spawn_blocking(move || f()).await {
        Ok(body) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(e) => ApiError::Internal(format!("metrics: {e}")).into_response(),
    }
}

async fn get_knobs(State(st): State<Shared>) -> Response {
    json_ok(serde_json::to_value(st.admin.get()).unwrap_or(Value::Null))
}

async fn set_knobs(State(st): State<Shared>, body: Bytes) -> Response {
    let spec: Misbehaviour = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => {
            return ApiError::BadRequest(format!("invalid misbehaviour: {e}")).into_response();
        }
    };
    match st.admin.set(spec) {
        Ok(()) => json_ok(serde_json::to_value(st.admin.get()).unwrap_or(Value::Null)),
        Err(e) => ApiError::BadRequest(e.to_string()).into_response(),
    }
}

async fn clear_knobs(State(st): State<Shared>) -> Response {
    st.admin.clear();
    json_ok(json!({}))
}

async fn get_requests(State(st): State<Shared>) -> Response {
    json_ok(serde_json::to_value(st.admin.requests()).unwrap_or(Value::Null))
}

async fn reset_requests(State(st): State<Shared>) -> Response {
    st.admin.reset_log();
    json_ok(json!({}))
}

async fn get_writes(State(st): State<Shared>) -> Response {
    json_ok(json!({"writes": st.admin.write_count(), "requests": st.admin.request_count()}))
}

/// Applies the misbehaviour knobs to every API request (not `/metrics`, not
/// `/sandbox/`) and records it in the request log.
async fn misbehave_layer(State(st): State<Shared>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    if req.uri().path() == "/metrics" {
        return next.run(req).await;
    }
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let resp = match st.admin.verdict(&method) {
        Verdict::Serve { delay } => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            next.run(req).await
        }
        Verdict::Fail { delay, error } => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            error.into_response()
        }
    };
    st.admin.record(RequestRecord {
        at: meta::now_rfc3339(),
        method,
        path,
        status: resp.status().as_u16(),
        user_agent,
    });
    resp
}

/// What a resource path names.
#[derive(Debug, PartialEq)]
struct Target {
    res: ResId,
    ns: Option<String>,
    name: Option<String>,
    sub: Option<String>,
}

enum Route {
    Resource(Target),
    ResourceList(String, String),
    Group(String),
}

fn parse_path(path: &str) -> Option<Route> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", g] => return Some(Route::Group(g.to_string())),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return None,
    };
    let find = |plural: &str| resources::find(group, version, plural);
    let t = |res, ns: Option<&str>, name: Option<&str>, sub: Option<&str>| {
        Some(Route::Resource(Target {
            res,
            ns: ns.map(String::from),
            name: name.map(String::from),
            sub: sub.map(String::from),
        }))
    };
    match rest {
        [] => Some(Route::ResourceList(group.to_string(), version.to_string())),
        ["namespaces", ns, plural, tail @ ..]
            if find(plural).is_some_and(|r| resources::def(r).namespaced) =>
        {
            let res = find(plural)?;
            match tail {
                [] => t(res, Some(ns), None, None),
                [name] => t(res, Some(ns), Some(name), None),
                [name, sub] => t(res, Some(ns), Some(name), Some(sub)),
                _ => None,
            }
        }
        [plural, tail @ ..] => {
            let res = find(plural)?;
            match tail {
                [] => t(res, None, None, None),
                [name] => t(res, None, Some(name), None),
                [name, sub] => t(res, None, Some(name), Some(sub)),
                _ => None,
            }
        }
    }
}

fn wants_table(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("as=Table"))
}

/// Responses are JSON only. client-go lists JSON next to protobuf
/// (`application/vnd.kubernetes.protobuf,application/json`) and decodes by
/// the response's Content-Type, so that is served as JSON; a client that
/// accepts protobuf alone gets 406, as from a real server that cannot encode
/// what was asked (apiserver/pkg/endpoints/handlers/negotiation).
fn negotiate(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let types: Vec<&str> = accept
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    if !types.is_empty() && types.iter().all(|t| t.contains("protobuf")) {
        return Err(ApiError::NotAcceptable);
    }
    Ok(())
}

fn body_value(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    if ct.contains("yaml") {
        serde_yaml::from_slice(body)
            .map_err(|e| ApiError::BadRequest(format!("error decoding YAML: {e}")))
    } else if ct.contains("protobuf") {
        Ok(crate::wire::decode(body)?)
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::BadRequest(format!("error decoding JSON: {e}")))
    }
}

fn is_dry_run(q: &Params) -> bool {
    q.get("dryRun").is_some_and(|v| v == "All")
}

async fn dispatch(
    State(st): State<Shared>,
    method: Method,
    uri: Uri,
    Query(q): Query<Params>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match route(&st, &method, &uri, &q, &headers, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// One request as the router sees it, so each resource-level handler below
/// takes the request whole instead of six loose arguments.
struct Call<'a> {
    st: &'a Shared,
    method: &'a Method,
    q: &'a Params,
    headers: &'a HeaderMap,
    body: &'a Bytes,
}

/// Routes a request by path: discovery, then events.k8s.io/v1, then by what
/// the path names (a collection, one object, or a subresource of one), as
/// kube-apiserver's handler chain does.
async fn route(
    st: &Shared,
    method: &Method,
    uri: &Uri,
    q: &Params,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    negotiate(headers)?;
    let Some(route) = parse_path(uri.path()) else {
        return Err(ApiError::NoRoute);
    };
    let t = match route {
        Route::Group(g) => return discovery::group(&g).map(json_ok).ok_or(ApiError::NoRoute),
        Route::ResourceList(g, v) => {
            return discovery::resource_list(&g, &v)
                .map(json_ok)
                .ok_or(ApiError::NoRoute);
        }
        Route::Resource(t) => t,
    };
    let def = resources::def(t.res);
    let ns = t.ns.clone().unwrap_or_default();
    if def.namespaced && t.name.is_some() && t.ns.is_none() {
        return Err(ApiError::NoRoute);
    }
    if t.res == resources::EVENTS_V1 {
        return events_v1_route(st, method, &t, q, headers, body);
    }
    let call = Call {
        st,
        method,
        q,
        headers,
        body,
    };
    match (&t.name, &t.sub) {
        (None, _) => collection_route(&call, &t, def, &ns),
        (Some(name), None) => object_route(&call, t.res, def, &ns, name),
        (Some(name), Some(sub)) => subresource_route(&call, t.res, def, &ns, name, sub).await,
    }
}

/// A collection (no name in the path): list or watch, create, or delete the
/// collection.
fn collection_route(
    call: &Call<'_>,
    t: &Target,
    def: &'static ResourceDef,
    ns: &str,
) -> Result<Response, ApiError> {
    let Call {
        st,
        method,
        q,
        headers,
        body,
    } = *call;
    match *method {
        Method::GET => {
            if q.get("watch").is_some_and(|w| w == "true" || w == "1") {
                watch(st, t.res, t.ns.as_deref(), q, as_stored)
            } else {
                list(st, t.res, t.ns.as_deref(), q, headers)
            }
        }
        Method::POST => {
            if def.namespaced && t.ns.is_none() {
                return Err(ApiError::MethodNotAllowed);
            }
            let v = body_value(headers, body)?;
            check_kind(def, &v)?;
            if is_dry_run(q) {
                return dry_create(st, t.res, ns, v);
            }
            let o = st.store.create(t.res, ns, v)?;
            Ok(raw_response(StatusCode::CREATED, &o))
        }
        Method::DELETE => delete_collection(st, t.res, t.ns.as_deref(), q),
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// One named object: get, replace, patch or delete it.
fn object_route(
    call: &Call<'_>,
    res: ResId,
    def: &'static ResourceDef,
    ns: &str,
    name: &str,
) -> Result<Response, ApiError> {
    let Call {
        st,
        method,
        q,
        headers,
        body,
    } = *call;
    match *method {
        Method::GET => {
            let o = st.store.get(res, ns, name)?;
            // `kubectl get pod NAME` asks for a Table too.
            if wants_table(headers) {
                return Ok(json_ok(table::table(
                    res,
                    std::slice::from_ref(&o),
                    json!({"resourceVersion": o.rv.to_string()}),
                )));
            }
            Ok(raw_response(StatusCode::OK, &o))
        }
        Method::PUT => {
            let v = body_value(headers, body)?;
            check_kind(def, &v)?;
            if is_dry_run(q) {
                return Ok(json_ok(v));
            }
            match st.store.try_get(res, ns, name) {
                Some(old) => validation::object_update(res, old.value(), &v)?,
                None => validation::object(res, &v)?,
            }
            if res == resources::PODS {
                validation::pod_update(st.store.get(res, ns, name)?.value(), &v)?;
            }
            let o = st.store.update(res, ns, name, v, UpdateMode::Spec)?;
            Ok(raw_response(StatusCode::OK, &o))
        }
        Method::PATCH => patch_object(st, res, ns, name, UpdateMode::Spec, q, headers, body),
        Method::DELETE => delete_object(st, res, ns, name, q, body),
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// DELETE of one object: the body's DeleteOptions give the uid precondition
/// and grace period; a deleted pod gets its `Killing` event.
fn delete_object(
    st: &Shared,
    res: ResId,
    ns: &str,
    name: &str,
    q: &Params,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let opts: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body).unwrap_or(Value::Null)
    };
    let uid = meta::str_at(&opts, &["preconditions", "uid"]);
    if is_dry_run(q) {
        return Ok(raw_response(StatusCode::OK, &st.store.get(res, ns, name)?));
    }
    let grace = requested_grace(q, &opts);
    let d = st
        .store
        .delete_with(res, ns, name, DeleteRequest { uid, grace })?;
    if res == resources::PODS {
        killing(&st.store, &d.obj.parse());
    }
    Ok(raw_response(StatusCode::OK, &d.obj))
}

/// A subresource of one object (status, scale, eviction, log,
/// ephemeralcontainers): 404 if the resource has no such subresource, 405 if
/// it does but not for this verb.
async fn subresource_route(
    call: &Call<'_>,
    res: ResId,
    def: &'static ResourceDef,
    ns: &str,
    name: &str,
    sub: &str,
) -> Result<Response, ApiError> {
    let Call {
        st,
        method,
        q,
        headers,
        body,
    } = *call;
    if def.subresource(sub).is_none() {
        return Err(ApiError::NoRoute);
    }
    match (sub, method.clone()) {
        ("status", Method::GET) | ("ephemeralcontainers", Method::GET) => {
            Ok(raw_response(StatusCode::OK, &st.store.get(res, ns, name)?))
        }
        ("status", Method::PUT) => {
            let v = body_value(headers, body)?;
            let o = st.store.update(res, ns, name, v, UpdateMode::Status)?;
            Ok(raw_response(StatusCode::OK, &o))
        }
        ("status", Method::PATCH) => {
            patch_object(st, res, ns, name, UpdateMode::Status, q, headers, body)
        }
        ("scale", Method::GET) => Ok(json_ok(scale_of(st.store.get(res, ns, name)?.value()))),
        ("scale", Method::PUT) | ("scale", Method::PATCH) => {
            scale(st, res, ns, name, method, headers, body)
        }
        ("eviction", Method::POST) => evict(st, ns, name, headers, body).await,
        ("log", Method::GET) => {
            crate::logs::serve(&st.runtime, st.store.get(res, ns, name)?.value(), q)
        }
        ("ephemeralcontainers", Method::PUT) | ("ephemeralcontainers", Method::PATCH) => {
            ephemeral(st, ns, name, method, q, headers, body)
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}

fn event_v1_bytes(o: &Obj) -> Bytes {
    Bytes::from(serde_json::to_vec(&events_v1::from_core(&o.parse())).unwrap_or_default())
}

/// events.k8s.io/v1 over the core/v1 Event table (see [`events_v1`]): list
/// (with chunking), watch, get, create and delete. Updates and patches are
/// refused with 405 here; nothing in gameday or the clients we test needs them.
fn events_v1_route(
    st: &Shared,
    method: &Method,
    t: &Target,
    q: &Params,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let core = resources::EVENTS;
    let ns = t.ns.clone().unwrap_or_default();
    match (&t.name, method.clone()) {
        (None, Method::GET) if q.get("watch").is_some_and(|w| w == "true" || w == "1") => {
            watch(st, core, t.ns.as_deref(), q, event_v1_bytes)
        }
        (None, Method::GET) => {
            let (ls, fs) = selectors(core, q)?;
            let page = chunk::Request::from_query(q)?;
            let (items, rv) = st.store.list_filtered(core, t.ns.as_deref(), |o| {
                page.after.as_ref().is_none_or(|a| a.is_before(o))
                    && ls.matches_obj(o)
                    && fs.matches_obj(o)
            });
            let rv = page.after.as_ref().map_or(rv, |a| a.rv);
            let (items, next) = page.cut(items, rv);
            let mut md = json!({"resourceVersion": rv.to_string()});
            if let Some(n) = next {
                md["continue"] = json!(n.token);
            }
            let items: Vec<Value> = items
                .iter()
                .map(|o| events_v1::from_core(&o.parse()))
                .collect();
            Ok(json_ok(json!({
                "kind": "EventList", "apiVersion": "events.k8s.io/v1",
                "metadata": md, "items": items,
            })))
        }
        (None, Method::POST) => {
            let v = events_v1::to_core(&body_value(headers, body)?);
            if is_dry_run(q) {
                return Ok(
                    (StatusCode::CREATED, axum::Json(events_v1::from_core(&v))).into_response()
                );
            }
            let o = st.store.create(core, &ns, v)?;
            Ok((
                StatusCode::CREATED,
                axum::Json(events_v1::from_core(&o.parse())),
            )
                .into_response())
        }
        (Some(name), Method::GET) => Ok(json_ok(events_v1::from_core(
            &st.store.get(core, &ns, name)?.parse(),
        ))),
        (Some(name), Method::DELETE) => {
            let o = st.store.delete(core, &ns, name, None)?;
            Ok(json_ok(events_v1::from_core(&o.parse())))
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// The `gracePeriodSeconds` a DELETE asks for: the DeleteOptions body when
/// one is sent, else the query parameter (the apiserver's delete handler
/// decodes one or the other). None leaves the choice to the object.
fn requested_grace(q: &Params, opts: &Value) -> Option<i64> {
    opts.get("gracePeriodSeconds")
        .and_then(Value::as_i64)
        .or_else(|| q.get("gracePeriodSeconds").and_then(|v| v.parse().ok()))
}

/// The kubelet's Killing event for a pod deleted through the API.
fn killing(store: &Store, pod: &Value) {
    for c in meta::at(pod, &["spec", "containers"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = meta::str_at(c, &["name"]).unwrap_or("");
        events::record(
            store,
            pod,
            events::NORMAL,
            "Killing",
            &format!("Stopping container {name}"),
            "kubelet",
        );
    }
}

fn check_kind(def: &resources::ResourceDef, v: &Value) -> Result<(), ApiError> {
    if let Some(kind) = v.get("kind").and_then(Value::as_str)
        && kind != def.kind
    {
        return Err(ApiError::BadRequest(format!(
            "the kind of the object ({kind}) does not match the resource ({})",
            def.kind
        )));
    }
    Ok(())
}

fn raw_response(code: StatusCode, o: &Arc<Obj>) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        o.raw.clone(),
    )
        .into_response()
}

fn dry_create(st: &Shared, res: ResId, ns: &str, mut v: Value) -> Result<Response, ApiError> {
    let def = resources::def(res);
    let name = meta::name(&v).to_string();
    if !name.is_empty()
        && st
            .store
            .try_get(res, if def.namespaced { ns } else { "" }, &name)
            .is_some()
    {
        return Err(ApiError::already_exists(def, &name));
    }
    let md = meta::ensure_object(&mut v, &["metadata"]);
    if def.namespaced {
        md.insert("namespace".into(), Value::String(ns.to_string()));
    }
    md.insert(
        "creationTimestamp".into(),
        Value::String(meta::now_rfc3339()),
    );
    md.insert("uid".into(), Value::String(meta::new_uid()));
    v["apiVersion"] = json!(def.api_version());
    v["kind"] = json!(def.kind);
    dry_admit(st, res, ns, &mut v)?;
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

/// A server-side dry run goes through defaulting, admission and validation
/// like a real create, and stops only before storage (KEP-576, "dryRun:
/// All"): `kubectl apply --dry-run=server` of a pod that Pod Security
/// refuses fails as the real apply would.
fn dry_admit(st: &Shared, res: ResId, ns: &str, v: &mut Value) -> Result<(), ApiError> {
    if res == resources::NODES {
        crate::defaults::node(v);
    }
    crate::defaults::workload(res, v);
    if res == resources::PODS {
        crate::defaults::pod(v);
        let namespace = st
            .store
            .try_get(resources::NAMESPACES, "", ns)
            .map(|o| o.parse());
        admission::pod_security(namespace.as_ref(), v)?;
    }
    validation::object(res, v)
}

fn selectors(res: ResId, q: &Params) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let ls = LabelSelector::parse(q.get("labelSelector").map(String::as_str).unwrap_or(""))
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let fs = FieldSelector::parse(
        res,
        q.get("fieldSelector").map(String::as_str).unwrap_or(""),
    )
    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok((ls, fs))
}

fn list(
    st: &Shared,
    res: ResId,
    ns: Option<&str>,
    q: &Params,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let (ls, fs) = selectors(res, q)?;
    let page = chunk::Request::from_query(q)?;
    if let Some(token) = &page.after
        && token.rv < st.store.oldest_rv(res)
    {
        return Err(ApiError::ContinueExpired);
    }
    let (items, rv) = st.store.list_filtered(res, ns, |o| {
        page.after.as_ref().is_none_or(|t| t.is_before(o)) && ls.matches_obj(o) && fs.matches_obj(o)
    });
    // A continued list reports the first page's resourceVersion, as the real
    // server does (every page belongs to one list).
    let rv = page.after.as_ref().map_or(rv, |t| t.rv);
    let (items, next) = page.cut(items, rv);
    let mut list_meta = json!({"resourceVersion": rv.to_string()});
    if let Some(next) = &next {
        list_meta["continue"] = json!(next.token);
        if ls.is_empty() && fs.is_empty() {
            list_meta["remainingItemCount"] = json!(next.remaining);
        }
    }
    if wants_table(headers) {
        // The Table carries the list's metadata, `continue` included
        // (apiserver's `asTable` copies ResourceVersion, Continue and
        // RemainingItemCount), or kubectl would stop at the first page.
        return Ok(json_ok(table::table(res, &items, list_meta)));
    }
    let def = resources::def(res);
    // Items are concatenated from their stored bytes (less `kind` and
    // `apiVersion`, as the real server writes items): no re-serialisation.
    let total: usize = items.iter().map(|o| o.raw.len() + 1).sum();
    let mut out = Vec::with_capacity(total + 200);
    out.extend_from_slice(
        format!(
            "{{\"kind\":\"{}\",\"apiVersion\":\"{}\",\"metadata\":{list_meta},\"items\":[",
            def.list_kind(),
            def.api_version()
        )
        .as_bytes(),
    );
    for (i, o) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        crate::list_item::write(&o.raw, o.list_kept.as_deref(), &mut out);
    }
    out.extend_from_slice(b"]}");
    Ok(json_bytes(StatusCode::OK, out))
}

fn delete_collection(
    st: &Shared,
    res: ResId,
    ns: Option<&str>,
    q: &Params,
) -> Result<Response, ApiError> {
    let (ls, fs) = selectors(res, q)?;
    let (items, _) = st
        .store
        .list_filtered(res, ns, |o| ls.matches_obj(o) && fs.matches_obj(o));
    let mut deleted = Vec::new();
    for o in items {
        if is_dry_run(q) {
            deleted.push(o.parse());
            continue;
        }
        let grace = requested_grace(q, &Value::Null);
        let req = DeleteRequest { uid: None, grace };
        match st
            .store
            .delete_with(res, &o.summary.namespace, &o.summary.name, req)
        {
            Ok(d) => deleted.push(d.obj.parse()),
            Err(ApiError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let def = resources::def(res);
    Ok(json_ok(json!({
        "kind": def.list_kind(),
        "apiVersion": def.api_version(),
        "metadata": {"resourceVersion": st.store.current_rv().to_string()},
        "items": deleted,
    })))
}

#[allow(clippy::too_many_arguments)]
fn patch_object(
    st: &Shared,
    res: ResId,
    ns: &str,
    name: &str,
    mode: UpdateMode,
    q: &Params,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let kind = PatchKind::from_content_type(ct).ok_or_else(|| {
        ApiError::UnsupportedMediaType(format!("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {ct:?})"))
    })?;
    let p = patch::parse_body(kind, body)?;
    let def = resources::def(res);
    let key_ns = if def.namespaced { ns } else { "" };
    if kind == PatchKind::Apply && st.store.try_get(res, key_ns, name).is_none() {
        // Server-side apply of an absent object creates it.
        let mut v = p.clone();
        meta::ensure_object(&mut v, &["metadata"]).insert("name".into(), json!(name));
        if is_dry_run(q) {
            return dry_create(st, res, ns, v);
        }
        let o = st.store.create(res, ns, v)?;
        return Ok(raw_response(StatusCode::CREATED, &o));
    }
    let want_rv = match kind {
        PatchKind::Merge | PatchKind::Strategic => {
            meta::str_at(&p, &["metadata", "resourceVersion"]).map(String::from)
        }
        _ => None,
    };
    let checked = |old: &crate::store::Current<'_>, new: &mut Value| -> Result<(), ApiError> {
        if let Some(want) = &want_rv
            && *want != old.rv.to_string()
        {
            return Err(ApiError::conflict(def, name));
        }
        patch::apply(kind, new, &p)?;
        if res == resources::PODS && mode == UpdateMode::Spec {
            // Ephemeral containers change only through their subresource.
            let old_eph = meta::at(old.value, &["spec", "ephemeralContainers"]).cloned();
            let spec = meta::ensure_object(new, &["spec"]);
            match old_eph {
                Some(e) => spec.insert("ephemeralContainers".into(), e),
                None => spec.remove("ephemeralContainers"),
            };
            validation::pod_update(old.value, new)?;
        }
        validation::object_update(res, old.value, new)
    };
    if is_dry_run(q) {
        // A dry run runs every check of the real write and stores nothing
        // (KEP-576: "the request is processed as usual until it would be
        // persisted"): preconditions, update rules and validation refuse
        // here exactly as they would for real.
        let stored = st.store.get(res, key_ns, name)?;
        let mut v = stored.parse();
        checked(
            &crate::store::Current {
                rv: stored.rv,
                value: stored.value(),
            },
            &mut v,
        )?;
        return Ok(json_ok(v));
    }
    let o = st
        .store
        .modify(res, key_ns, name, mode, |old, new| checked(old, new))?;
    Ok(raw_response(StatusCode::OK, &o))
}

/// The autoscaling/v1 Scale view of a deployment, statefulset or replicaset.
pub fn scale_of(v: &Value) -> Value {
    let selector = meta::at(v, &["spec", "selector"])
        .and_then(LabelSelector::from_object)
        .map(|s| s.to_string_form())
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta::name(v),
            "namespace": meta::namespace(v),
            "uid": meta::uid(v),
            "resourceVersion": meta::str_at(v, &["metadata", "resourceVersion"]).unwrap_or(""),
            "creationTimestamp": meta::str_at(v, &["metadata", "creationTimestamp"]).unwrap_or(""),
        },
        "spec": {"replicas": meta::at(v, &["spec", "replicas"]).and_then(Value::as_i64).unwrap_or(1)},
        "status": {
            "replicas": meta::at(v, &["status", "replicas"]).and_then(Value::as_i64).unwrap_or(0),
            "selector": selector,
        },
    })
}

fn scale(
    st: &Shared,
    res: ResId,
    ns: &str,
    name: &str,
    method: &Method,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let def = resources::def(res);
    let input = if *method == Method::PUT {
        Some(body_value(headers, body)?)
    } else {
        None
    };
    let patch_in = if *method == Method::PATCH {
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let kind = PatchKind::from_content_type(ct).ok_or_else(|| {
            ApiError::UnsupportedMediaType(format!("unsupported patch type {ct:?}"))
        })?;
        Some((kind, patch::parse_body(kind, body)?))
    } else {
        None
    };
    let o = st
        .store
        .modify(res, ns, name, UpdateMode::Spec, |old, new| {
            let mut sc = scale_of(old.value);
            if let Some(v) = &input {
                if let Some(want) = meta::str_at(v, &["metadata", "resourceVersion"])
                    && !want.is_empty()
                    && want != old.rv.to_string()
                {
                    return Err(ApiError::conflict(def, name));
                }
                sc = v.clone();
            }
            if let Some((kind, p)) = &patch_in {
                patch::apply(*kind, &mut sc, p)?;
            }
            let replicas = meta::at(&sc, &["spec", "replicas"]).and_then(Value::as_i64);
            match replicas {
                Some(r) if (0..=i64::from(i32::MAX)).contains(&r) => {
                    meta::ensure_object(new, &["spec"]).insert("replicas".into(), json!(r));
                    Ok(())
                }
                _ => Err(ApiError::Invalid {
                    kind: "Scale".into(),
                    name: name.to_string(),
                    detail: "spec.replicas: Invalid value: must be greater than or equal to 0"
                        .into(),
                }),
            }
        })?;
    Ok(json_ok(scale_of(o.value())))
}

/// An eviction is a graceful delete (with the Eviction's `deleteOptions`)
/// behind the PDB check. A pod already terminating is deleted without the
/// check, as the eviction REST handler does for pods it can ignore.
async fn evict(
    st: &Shared,
    ns: &str,
    name: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let _guard = st.eviction_lock.lock().await;
    let pod = st.store.get(resources::PODS, ns, name)?;
    if !pod.summary.deleting {
        disruption::check_eviction(&st.store, pod.value())?;
    }
    // `kubectl drain` posts its Eviction as protobuf (a typed client).
    let eviction = if body.is_empty() {
        Value::Null
    } else {
        body_value(headers, body)?
    };
    let opts = eviction
        .get("deleteOptions")
        .cloned()
        .unwrap_or(Value::Null);
    let req = DeleteRequest {
        uid: meta::str_at(&opts, &["preconditions", "uid"]),
        grace: opts.get("gracePeriodSeconds").and_then(Value::as_i64),
    };
    st.store.delete_with(resources::PODS, ns, name, req)?;
    killing(&st.store, pod.value());
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})),
    )
        .into_response())
}

/// An ephemeral-containers write, parsed once and applied to whichever
/// stored version the store hands the edit.
enum EphemeralWrite {
    Put(Value),
    Patch(PatchKind, Value),
}

/// Ephemeral containers may be added, never removed or changed. With
/// `dryRun=All` every check runs (validation, Pod Security) and nothing is
/// stored, as on the real server: gameday's preflight relies on that.
fn ephemeral(
    st: &Shared,
    ns: &str,
    name: &str,
    method: &Method,
    q: &Params,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let write = if *method == Method::PUT {
        EphemeralWrite::Put(body_value(headers, body)?)
    } else {
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let kind = PatchKind::from_content_type(ct).ok_or_else(|| {
            ApiError::UnsupportedMediaType(format!("unsupported patch type {ct:?}"))
        })?;
        EphemeralWrite::Patch(kind, patch::parse_body(kind, body)?)
    };
    let namespace = st
        .store
        .try_get(resources::NAMESPACES, "", ns)
        .map(|o| o.parse());
    if is_dry_run(q) {
        let cur = st.store.get(resources::PODS, ns, name)?;
        let mut out = cur.parse();
        apply_ephemeral(
            name,
            cur.rv,
            cur.value(),
            &mut out,
            &write,
            namespace.as_ref(),
        )?;
        return Ok(json_ok(out));
    }
    let o = st
        .store
        .modify(resources::PODS, ns, name, UpdateMode::Full, |old, new| {
            apply_ephemeral(name, old.rv, old.value, new, &write, namespace.as_ref())
        })?;
    Ok(raw_response(StatusCode::OK, &o))
}

fn apply_ephemeral(
    name: &str,
    old_rv: u64,
    old: &Value,
    new: &mut Value,
    write: &EphemeralWrite,
    namespace: Option<&Value>,
) -> Result<(), ApiError> {
    let def = resources::def(resources::PODS);
    let mut candidate = old.clone();
    match write {
        EphemeralWrite::Put(v) => {
            if let Some(want) = meta::str_at(v, &["metadata", "resourceVersion"])
                && !want.is_empty()
                && want != old_rv.to_string()
            {
                return Err(ApiError::conflict(def, name));
            }
            candidate = v.clone();
        }
        EphemeralWrite::Patch(kind, p) => patch::apply(*kind, &mut candidate, p)?,
    }
    let wanted = meta::at(&candidate, &["spec", "ephemeralContainers"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let existing = meta::at(old, &["spec", "ephemeralContainers"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for e in &existing {
        let same = wanted.iter().find(|w| w.get("name") == e.get("name"));
        if same != Some(e) {
            return Err(ApiError::invalid(
                def,
                name,
                "spec.ephemeralContainers: Forbidden: existing ephemeral containers may not be removed or changed",
            ));
        }
    }
    for w in &wanted {
        if meta::str_at(w, &["name"]).is_none_or(str::is_empty)
            || meta::str_at(w, &["image"]).is_none_or(str::is_empty)
        {
            return Err(ApiError::invalid(
                def,
                name,
                "spec.ephemeralContainers: Required value: name and image are required",
            ));
        }
    }
    meta::ensure_object(new, &["spec"]).insert("ephemeralContainers".into(), Value::Array(wanted));
    validation::object(resources::PODS, new)?;
    admission::pod_security(namespace, new)
}

fn event_line(kind: &str, raw: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(raw.len() + 32);
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\",\"object\":");
    out.extend_from_slice(raw);
    out.extend_from_slice(b"}\n");
    Bytes::from(out)
}

fn bookmark(res: ResId, rv: u64, initial_end: bool) -> Bytes {
    let def = resources::def(res);
    let mut md = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        md["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    let obj = json!({"kind": def.kind, "apiVersion": def.api_version(), "metadata": md});
    event_line("BOOKMARK", obj.to_string().as_bytes())
}

/// A watch: JSON lines, one event per line, ending at `timeoutSeconds`, at
/// shutdown, or when the client goes away.
/// How a stored object goes on the wire: as stored, or converted to another
/// group version's shape (events.k8s.io/v1 over core/v1 Events).
type View = fn(&Obj) -> Bytes;

fn as_stored(o: &Obj) -> Bytes {
    o.raw.clone()
}

fn watch(
    st: &Shared,
    res: ResId,
    ns: Option<&str>,
    q: &Params,
    view: View,
) -> Result<Response, ApiError> {
    let (ls, fs) = selectors(res, q)?;
    let from = match q.get("resourceVersion").map(String::as_str) {
        None | Some("") => None,
        Some(s) => Some(
            s.parse::<u64>()
                .map_err(|_| ApiError::BadRequest(format!("invalid resourceVersion {s:?}")))?,
        ),
    };
    let bookmarks = q.get("allowWatchBookmarks").is_some_and(|v| v == "true");
    let initial_end = q.get("sendInitialEvents").is_some_and(|v| v == "true");
    let from = if initial_end { None } else { from };
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(1800);
    let sub = match st.store.subscribe(res, from) {
        Ok(sub) => sub,
        // Like the apiserver's watch cache: a 200 stream carrying one ERROR
        // event. kube-rs re-lists on that, but would retry the same stale
        // resourceVersion forever after an HTTP 410.
        Err(gone @ ApiError::Gone { .. }) => {
            return Ok((
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                event_line("ERROR", gone.status().to_string().as_bytes()),
            )
                .into_response());
        }
        Err(e) => return Err(e),
    };
    let ns = ns.map(String::from);
    let matches = move |o: &Obj| {
        ns.as_deref().is_none_or(|n| o.summary.namespace == n)
            && ls.matches_obj(o)
            && fs.matches_obj(o)
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(256);
    let mut shutdown = st.shutdown.clone();
    tokio::spawn(async move {
        let mut last_rv = sub.rv;
        for ev in &sub.backlog {
            if let Some(kind) = ev.seen_as(&matches)
                && tx.send(event_line(kind, &view(&ev.obj))).await.is_err()
            {
                return;
            }
        }
        if initial_end && tx.send(bookmark(res, last_rv, true)).await.is_err() {
            return;
        }
        let mut rx = sub.rx;
        let deadline = tokio::time::sleep(Duration::from_secs(timeout));
        tokio::pin!(deadline);
        let mut ticker = tokio::time::interval(Duration::from_secs(5));
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = shutdown.changed() => return,
                _ = ticker.tick() => {
                    if bookmarks && tx.send(bookmark(res, last_rv, false)).await.is_err() {
                        return;
                    }
                }
                ev = rx.recv() => match ev {
                    Ok(ev) => {
                        last_rv = last_rv.max(ev.obj.rv);
                        if ev.res == res
                            && let Some(kind) = ev.seen_as(&matches)
                            && tx.send(event_line(kind, &view(&ev.obj))).await.is_err()
                        {
                            return;
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        let gone = ApiError::Gone { requested: last_rv, oldest: last_rv };
                        let _ = tx.send(event_line("ERROR", gone.status().to_string().as_bytes())).await;
                        return;
                    }
                    Err(RecvError::Closed) => return,
                },
                _ = tx.closed() => return,
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<Bytes, Infallible>(b), rx))
    });
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(p: &str) -> Target {
        match parse_path(p) {
            Some(Route::Resource(t)) => t,
            _ => panic!("{p} did not parse as a resource"),
        }
    }

    #[test]
    fn paths() {
        let t = res("/api/v1/namespaces/shop");
        assert_eq!(
            (t.res, t.name.as_deref()),
            (resources::NAMESPACES, Some("shop"))
        );
        let t = res("/api/v1/namespaces/shop/pods");
        assert_eq!(
            (t.res, t.ns.as_deref(), t.name),
            (resources::PODS, Some("shop"), None)
        );
        let t = res("/api/v1/namespaces/shop/pods/web-1/eviction");
        assert_eq!(t.sub.as_deref(), Some("eviction"));
        let t = res("/apis/apps/v1/namespaces/shop/deployments/web/scale");
        assert_eq!(
            (t.res, t.sub.as_deref()),
            (resources::DEPLOYMENTS, Some("scale"))
        );
        let t = res("/api/v1/pods");
        assert_eq!((t.res, t.ns), (resources::PODS, None));
        let t = res("/api/v1/nodes/node-1/status");
        assert_eq!(
            (t.res, t.sub.as_deref()),
            (resources::NODES, Some("status"))
        );
        assert!(parse_path("/apis/apps/v1/namespaces/shop/widgets").is_none());
        assert!(matches!(
            parse_path("/apis/apps/v1"),
            Some(Route::ResourceList(..))
        ));
    }
}

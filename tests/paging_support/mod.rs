//! Local stubs of PagerDuty, Opsgenie and Grafana OnCall for the paging
//! tests: small axum servers on 127.0.0.1 free ports that implement the
//! documented endpoints gameday calls, validate every request body against
//! the vendor's schema vendored in tests/fixtures/paging/ (a body that does
//! not match is answered 400, as the real APIs do, and recorded as a
//! violation the test fails on), check the credentials, and serve a
//! scripted log: an ack N seconds after the trigger, an escalation.
//! Also: running a drill with a paging config, and reading its files.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

pub const PD_ROUTING_KEY: &str = "R0UTINGKEY0000000000000000000042";
pub const PD_API_TOKEN: &str = "u+PDTOKENSECRET42";
pub const OG_API_KEY: &str = "0a1b2c3d-og-secret-key-42";
pub const ONCALL_TOKEN: &str = "oncall-secret-token-42";
pub const ONCALL_HOOK_SECRET: &str = "hooksecret42";

/// What the stub scripts into the tool's log, relative to the trigger.
#[derive(Clone, Default)]
pub struct Script {
    /// Acknowledged this long after the trigger, by this person.
    pub ack: Option<(Duration, String)>,
    /// Escalated to level 2 this long after the trigger, to this person.
    pub escalate: Option<(Duration, String)>,
    /// Answers for the trigger POST before the real one: (status, Retry-After).
    pub trigger_errors: VecDeque<(u16, Option<u64>)>,
}

#[derive(Default)]
pub struct Recorded {
    /// Schema or auth violations: each fails the test.
    pub violations: Vec<String>,
    /// (dedup key, when the trigger arrived, body).
    pub triggers: Vec<(String, Timestamp, Value)>,
    pub trigger_attempts: Vec<Instant>,
    pub resolved: Vec<String>,
    /// Read requests (GET), with when they came.
    pub reads: Vec<(String, Instant)>,
}

pub struct Stub {
    pub url: String,
    pub state: Arc<Mutex<(Script, Recorded)>>,
    _rt: tokio::runtime::Runtime,
}

/// An ack `secs` after the trigger, by `who`.
pub fn ack_after(secs: u64, who: &str) -> Script {
    Script {
        ack: Some((Duration::from_secs(secs), who.into())),
        ..Default::default()
    }
}

impl Stub {
    pub fn recorded<T>(&self, f: impl FnOnce(&Recorded) -> T) -> T {
        f(&self.state.lock().unwrap().1)
    }

    pub fn assert_no_violations(&self) {
        let v = self.recorded(|r| r.violations.clone());
        assert!(v.is_empty(), "malformed requests: {v:#?}");
    }
}

type Shared = Arc<Mutex<(Script, Recorded)>>;

fn start(router: Router<Shared>, script: Script) -> Stub {
    let state: Shared = Arc::new(Mutex::new((script, Recorded::default())));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let app = router.with_state(state.clone());
    rt.spawn(async move { axum::serve(listener, app).await });
    Stub {
        url: format!("http://{addr}"),
        state,
        _rt: rt,
    }
}

/// A validator for `definition` of a vendored schema file (or the whole
/// file when None).
pub fn validator(file: &str, definition: Option<&str>) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/paging")
        .join(file);
    let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    if let Some(d) = definition {
        schema["$ref"] = json!(format!("#/definitions/{d}"));
    }
    jsonschema::validator_for(&schema).unwrap()
}

fn check(v: &jsonschema::Validator, what: &str, body: &Value, rec: &mut Recorded) -> bool {
    let errors: Vec<String> = v.iter_errors(body).map(|e| e.to_string()).collect();
    if errors.is_empty() {
        return true;
    }
    rec.violations.push(format!("{what}: {errors:?} in {body}"));
    false
}

fn iso(t: Timestamp) -> String {
    t.to_string()
}

fn plus(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_add(SignedDuration::try_from(d).unwrap()).unwrap()
}

/// The next scripted failure for a trigger, if any.
fn scripted_failure(s: &mut (Script, Recorded)) -> Option<Response> {
    s.1.trigger_attempts.push(Instant::now());
    let (status, retry) = s.0.trigger_errors.pop_front()?;
    let mut r = (StatusCode::from_u16(status).unwrap(), "scripted failure").into_response();
    if let Some(secs) = retry {
        r.headers_mut()
            .insert("Retry-After", secs.to_string().parse().unwrap());
    }
    Some(r)
}

// ---------------------------------------------------------------- PagerDuty

pub fn pagerduty(script: Script) -> Stub {
    let router = Router::new()
        .route("/v2/enqueue", post(pd_enqueue))
        .route("/incidents", get(pd_incidents))
        .route("/incidents/{id}/log_entries", get(pd_log_entries))
        .route("/oncalls", get(pd_oncalls))
        .route("/abilities", get(pd_abilities));
    start(router, script)
}

async fn pd_enqueue(State(s): State<Shared>, Json(body): Json<Value>) -> Response {
    let v = validator("pagerduty-events-v2.schema.json", None);
    let mut s = s.lock().unwrap();
    if !check(&v, "POST /v2/enqueue", &body, &mut s.1) {
        return (StatusCode::BAD_REQUEST, "Invalid event").into_response();
    }
    if body["routing_key"] != PD_ROUTING_KEY {
        s.1.violations.push("wrong routing_key".into());
        return (StatusCode::BAD_REQUEST, "Invalid routing key").into_response();
    }
    let key = body["dedup_key"].as_str().unwrap_or_default().to_string();
    match body["event_action"].as_str() {
        Some("trigger") => {
            if let Some(r) = scripted_failure(&mut s) {
                return r;
            }
            if !s.1.triggers.iter().any(|t| t.0 == key) {
                s.1.triggers
                    .push((key.clone(), Timestamp::now(), body.clone()));
            }
        }
        Some("resolve") => s.1.resolved.push(key.clone()),
        _ => {}
    }
    (
        StatusCode::ACCEPTED,
        Json(json!({"status": "success", "message": "Event processed", "dedup_key": key})),
    )
        .into_response()
}

fn pd_auth(h: &HeaderMap, rec: &mut Recorded, what: &str) -> bool {
    let ok = h.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("Token token={PD_API_TOKEN}"))
        && h.get("accept").and_then(|v| v.to_str().ok())
            == Some("application/vnd.pagerduty+json;version=2");
    if !ok {
        rec.violations
            .push(format!("{what}: bad Authorization/Accept"));
    }
    rec.reads.push((what.to_string(), Instant::now()));
    ok
}

async fn pd_incidents(
    State(s): State<Shared>,
    h: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let mut s = s.lock().unwrap();
    if !pd_auth(&h, &mut s.1, "GET /incidents") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let key = q
        .iter()
        .find(|(k, _)| k == "incident_key")
        .map(|(_, v)| v.clone());
    let incidents: Vec<Value> = s
        .1
        .triggers
        .iter()
        .enumerate()
        .filter(|(_, t)| Some(&t.0) == key.as_ref())
        .map(|(i, t)| json!({"id": format!("PINC{i}"), "type": "incident", "created_at": iso(t.1), "status": "triggered", "incident_key": t.0}))
        .collect();
    Json(json!({"incidents": incidents, "limit": 25, "offset": 0, "more": false})).into_response()
}

async fn pd_log_entries(
    State(s): State<Shared>,
    h: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let mut s = s.lock().unwrap();
    if !pd_auth(&h, &mut s.1, "GET /incidents/{id}/log_entries") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let i: usize = id.trim_start_matches("PINC").parse().unwrap_or(usize::MAX);
    let Some((_, t0, _)) = s.1.triggers.get(i).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let user = |name: &str| json!({"type": "user_reference", "summary": name, "id": "PUSER"});
    let mut entries = vec![
        json!({"type": "trigger_log_entry", "created_at": iso(t0), "agent": {"type": "service_reference", "summary": "gameday"}}),
        json!({"type": "notify_log_entry", "created_at": iso(t0), "user": user("Ada Lovelace"), "channel": {"type": "sms"}}),
    ];
    if let Some((after, who)) = &s.0.escalate {
        entries.push(json!({"type": "escalate_log_entry", "created_at": iso(plus(t0, *after)), "assignees": [user(who)]}));
        entries.push(json!({"type": "notify_log_entry", "created_at": iso(plus(t0, *after)), "user": user(who)}));
    }
    if let Some((after, who)) = &s.0.ack {
        entries.push(json!({"type": "acknowledge_log_entry", "created_at": iso(plus(t0, *after)), "agent": user(who)}));
    }
    Json(json!({"log_entries": entries, "limit": 100, "offset": 0, "more": false})).into_response()
}

async fn pd_oncalls(State(s): State<Shared>, h: HeaderMap) -> Response {
    let mut s = s.lock().unwrap();
    if !pd_auth(&h, &mut s.1, "GET /oncalls") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!({"oncalls": [
        {"escalation_level": 2, "user": {"type": "user_reference", "summary": "Grace Hopper"}},
        {"escalation_level": 1, "user": {"type": "user_reference", "summary": "Ada Lovelace"}},
    ]}))
    .into_response()
}

async fn pd_abilities(State(s): State<Shared>, h: HeaderMap) -> Response {
    let mut s = s.lock().unwrap();
    if !pd_auth(&h, &mut s.1, "GET /abilities") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!({"abilities": ["teams"]})).into_response()
}

// ----------------------------------------------------------------- Opsgenie

pub fn opsgenie(script: Script) -> Stub {
    let router = Router::new()
        .route("/v2/alerts", post(og_create))
        .route("/v2/alerts/{alias}/close", post(og_close))
        .route("/v2/alerts/{alias}/logs", get(og_logs))
        .route("/v2/account", get(og_account));
    start(router, script)
}

fn og_auth(h: &HeaderMap, rec: &mut Recorded, what: &str) -> bool {
    let ok = h.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("GenieKey {OG_API_KEY}"));
    if !ok {
        rec.violations.push(format!("{what}: bad Authorization"));
    }
    ok
}

async fn og_create(State(s): State<Shared>, h: HeaderMap, Json(body): Json<Value>) -> Response {
    let v = validator("opsgenie-alert.schema.json", Some("CreateAlertPayload"));
    let mut s = s.lock().unwrap();
    if !og_auth(&h, &mut s.1, "POST /v2/alerts") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if !check(&v, "POST /v2/alerts", &body, &mut s.1) {
        return StatusCode::UNPROCESSABLE_ENTITY.into_response();
    }
    if let Some(r) = scripted_failure(&mut s) {
        return r;
    }
    let key = body["alias"].as_str().unwrap_or_default().to_string();
    s.1.triggers.push((key, Timestamp::now(), body.clone()));
    (
        StatusCode::ACCEPTED,
        Json(json!({"result": "Request will be processed", "took": 0.1, "requestId": "43a29c5c"})),
    )
        .into_response()
}

async fn og_close(
    State(s): State<Shared>,
    h: HeaderMap,
    UrlPath(alias): UrlPath<String>,
    Query(q): Query<Vec<(String, String)>>,
    Json(body): Json<Value>,
) -> Response {
    let v = validator("opsgenie-alert.schema.json", Some("CloseAlertPayload"));
    let mut s = s.lock().unwrap();
    if !og_auth(&h, &mut s.1, "POST close") || !check(&v, "POST close", &body, &mut s.1) {
        return StatusCode::UNPROCESSABLE_ENTITY.into_response();
    }
    if !q.contains(&("identifierType".into(), "alias".into())) {
        s.1.violations
            .push("close without identifierType=alias".into());
    }
    s.1.resolved.push(alias);
    (
        StatusCode::ACCEPTED,
        Json(json!({"result": "Request will be processed"})),
    )
        .into_response()
}

async fn og_logs(
    State(s): State<Shared>,
    h: HeaderMap,
    UrlPath(alias): UrlPath<String>,
) -> Response {
    let mut s = s.lock().unwrap();
    s.1.reads.push(("GET logs".into(), Instant::now()));
    if !og_auth(&h, &mut s.1, "GET logs") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Some((_, t0, _)) = s.1.triggers.iter().find(|t| t.0 == alias).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "Alert not found"})),
        )
            .into_response();
    };
    let mut data = vec![
        json!({"log": "Alert created via API", "type": "system", "owner": "", "createdAt": iso(t0), "offset": "1"}),
        json!({"log": "Sent [SMS] notification to [ada@example.com]", "type": "alertRecipient", "owner": "ada@example.com", "createdAt": iso(t0), "offset": "2"}),
    ];
    if let Some((after, who)) = &s.0.ack {
        data.push(json!({"log": "Alert acknowledged via web", "type": "system", "owner": who, "createdAt": iso(plus(t0, *after)), "offset": "3"}));
    }
    Json(json!({"data": data, "paging": {}, "took": 0.01, "requestId": "r"})).into_response()
}

async fn og_account(State(s): State<Shared>, h: HeaderMap) -> Response {
    let mut s = s.lock().unwrap();
    if !og_auth(&h, &mut s.1, "GET /v2/account") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!({"data": {"name": "gameday-test"}})).into_response()
}

// ----------------------------------------------------------- Grafana OnCall

pub fn grafana_oncall(script: Script) -> Stub {
    let router = Router::new()
        .route(
            "/integrations/v1/formatted_webhook/{secret}/",
            post(oc_webhook),
        )
        .route("/api/v1/alert_groups/", get(oc_groups))
        .route("/api/v1/integrations/", get(oc_integrations));
    start(router, script)
}

async fn oc_webhook(
    State(s): State<Shared>,
    UrlPath(secret): UrlPath<String>,
    Json(body): Json<Value>,
) -> Response {
    let v = validator("grafana-oncall-formatted-webhook.schema.json", None);
    let mut s = s.lock().unwrap();
    if secret != ONCALL_HOOK_SECRET {
        s.1.violations.push("wrong webhook secret".into());
        return StatusCode::NOT_FOUND.into_response();
    }
    if !check(&v, "POST formatted_webhook", &body, &mut s.1) {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let key = body["alert_uid"].as_str().unwrap_or_default().to_string();
    match body["state"].as_str() {
        Some("ok") => s.1.resolved.push(key),
        _ => {
            if let Some(r) = scripted_failure(&mut s) {
                return r;
            }
            if !s.1.triggers.iter().any(|t| t.0 == key) {
                s.1.triggers.push((key, Timestamp::now(), body.clone()));
            }
        }
    }
    (StatusCode::OK, "Ok.").into_response()
}

fn oc_auth(h: &HeaderMap, rec: &mut Recorded, what: &str) -> bool {
    let ok = h.get("authorization").and_then(|v| v.to_str().ok()) == Some(ONCALL_TOKEN);
    if !ok {
        rec.violations.push(format!("{what}: bad Authorization"));
    }
    ok
}

async fn oc_groups(State(s): State<Shared>, h: HeaderMap) -> Response {
    let mut s = s.lock().unwrap();
    s.1.reads.push(("GET alert_groups".into(), Instant::now()));
    if !oc_auth(&h, &mut s.1, "GET alert_groups") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let ack = s.0.ack.clone();
    let results: Vec<Value> = s
        .1
        .triggers
        .iter()
        .enumerate()
        .map(|(i, (_, t0, body))| {
            let (at, by) = match &ack {
                Some((after, who)) => (json!(iso(plus(*t0, *after))), json!(who)),
                None => (Value::Null, Value::Null),
            };
            json!({
                "id": format!("I{i}"), "integration_id": "CFRPV98RPR1U8", "route_id": "RIYGUJXCPFHXY",
                "alerts_count": 1, "state": if ack.is_some() { "acknowledged" } else { "firing" },
                "created_at": iso(*t0), "resolved_at": null, "acknowledged_at": at, "acknowledged_by": by,
                "resolved_by": null, "title": body["title"],
                "last_alert": {"id": "A1", "alert_group_id": format!("I{i}"), "created_at": iso(*t0), "payload": body},
            })
        })
        .collect();
    Json(json!({"count": results.len(), "next": null, "previous": null, "results": results, "current_page_number": 1, "page_size": 50, "total_pages": 1})).into_response()
}

async fn oc_integrations(State(s): State<Shared>, h: HeaderMap) -> Response {
    let mut s = s.lock().unwrap();
    if !oc_auth(&h, &mut s.1, "GET integrations") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!({"count": 0, "next": null, "previous": null, "results": []})).into_response()
}

// -------------------------------------------------------------- the runs

/// The drill tests' `gameday` (private history, no ambient settings) with
/// the stubs' credentials in its environment (never in the config file).
pub fn gameday(dir: &Path) -> Command {
    let mut c = crate::drill_support::gameday(dir);
    c.env("PD_ROUTING_KEY", PD_ROUTING_KEY)
        .env("PD_API_TOKEN", PD_API_TOKEN)
        .env("OPSGENIE_API_KEY", OG_API_KEY)
        .env("ONCALL_TOKEN", ONCALL_TOKEN);
    c
}

/// The secrets a run must never write or print.
pub const SECRETS: [&str; 5] = [
    PD_ROUTING_KEY,
    PD_API_TOKEN,
    OG_API_KEY,
    ONCALL_TOKEN,
    ONCALL_HOOK_SECRET,
];

pub fn pagerduty_config(stub: &Stub, extra: &str) -> String {
    format!(
        "paging:\n  pollInterval: 1s\n  pagerduty:\n    routingKey: ${{PD_ROUTING_KEY}}\n    apiToken: ${{PD_API_TOKEN}}\n    eventsUrl: {u}\n    apiUrl: {u}\n{extra}",
        u = stub.url
    )
}

/// A drill with one alert inject at 0s; the incident is resolved by
/// autopilot at `resolve_at` (which ends it).
pub fn drill_yaml(resolve_at: &str) -> String {
    format!(
        r#"apiVersion: gameday/v1
kind: Drill
metadata: {{name: paging-drill}}
spec:
  injects:
    - id: page
      at: 0s
      alert:
        labels: {{alertname: PaymentsAPIErrors, service: payments-api, severity: critical}}
        annotations: {{summary: "payments-api 5xx above 20%"}}
  response:
    severity: SEV1
    roles: {{incidentCommander: ic, communications: comms, operations: ops-oncall}}
    autopilot:
      - {{at: {resolve_at}, as: ic, do: resolve}}
"#
    )
}

/// Writes the config and drill into `dir`; returns the command that runs it
/// into `dir/run`.
pub fn drill_command(dir: &Path, config: &str, drill: &str) -> (Command, PathBuf) {
    std::fs::write(dir.join("gameday.yaml"), config).unwrap();
    std::fs::write(dir.join("drill.yaml"), drill).unwrap();
    let run = dir.join("run");
    let mut c = gameday(dir);
    c.arg("--config")
        .arg(dir.join("gameday.yaml"))
        .args(["drill", "--ci", "--speed", "1", "--out"])
        .arg(&run)
        .arg(dir.join("drill.yaml"));
    (c, run)
}

/// The journal entries of `event`.
pub fn journal(run: &Path, event: &str) -> Vec<Value> {
    std::fs::read_to_string(run.join("journal.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == event)
        .collect()
}

/// Runs `cmd` (a drill whose stub acks 42 s after the trigger) and checks
/// what every tool's ack test checks: no malformed request, TTA 42 s from
/// `source` with `who` as the acknowledger, the one page resolved at the
/// end. Returns result.json and the trigger's body.
pub fn run_acked(
    stub: &Stub,
    mut cmd: Command,
    run: &Path,
    source: &str,
    who: &str,
) -> (Value, Value) {
    let o = cmd.output().unwrap();
    assert!(
        o.status.code().is_some(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    stub.assert_no_violations();
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("result.json")).unwrap()).unwrap();
    assert_eq!(r["scorecard"]["metrics"]["ttaSeconds"], json!(42.0));
    assert_eq!(r["scorecard"]["metrics"]["ttaSource"], source);
    assert_eq!(r["paging"][0]["source"], source);
    assert_eq!(r["paging"][0]["acknowledgedBy"], who);
    let (key, body) = stub.recorded(|r| (r.triggers[0].0.clone(), r.triggers[0].2.clone()));
    assert_eq!(stub.recorded(|r| r.resolved.clone()), vec![key]);
    (r, body)
}

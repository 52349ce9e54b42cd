//! The run's HTTP API: responders post events, anyone with the token reads
//! the live state, and Alertmanager posts its webhook here, which is what
//! gives T_notify its exact value (the arrival time, not a poll).
//!
//! Every route needs `Authorization: Bearer <token>`; the token is made per
//! run, so a leaked one dies with the run. A request that is rejected (401,
//! 400) records nothing: validation happens before the journal is touched.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;

use crate::engine::Journal;
use crate::incident::{Action, EventSource, ResponderEvent};
use crate::observe::alerts::is_expected;
use crate::report::live::{Shared, lock};

pub const EVENTS_PATH: &str = "/v1/events";
pub const STATE_PATH: &str = "/v1/state";
pub const WEBHOOK_PATH: &str = "/v1/alertmanager";
/// A tabletop drill's facilitator controls (`crate::drill::control`).
pub const FACILITATOR_PATH: &str = "/v1/facilitator";

#[derive(Clone)]
pub struct ApiState {
    pub shared: Shared,
    pub journal: Arc<Journal>,
    pub token: Arc<str>,
    /// A drill's facilitator: a token of its own (participants' tokens
    /// cannot pause or end the drill) and where its controls go.
    pub facilitator: Option<Facilitator>,
}

/// The answer the drill gives a facilitator control: what was done, or
/// why not (an unknown or already fired inject).
pub type ControlReply =
    tokio::sync::oneshot::Sender<Result<String, crate::drill::control::ControlRefused>>;

#[derive(Clone)]
pub struct Facilitator {
    pub token: Arc<str>,
    pub controls:
        tokio::sync::mpsc::UnboundedSender<(crate::drill::control::Control, ControlReply)>,
}

/// A bound, serving API; dropping the handle does not stop it, `stop` does.
pub struct ApiServer {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl ApiServer {
    pub async fn bind(listen: SocketAddr, state: ApiState) -> std::io::Result<ApiServer> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let app = router(state);
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!("responder API stopped: {e}");
            }
        });
        Ok(ApiServer { addr, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn stop(&self) {
        self.task.abort();
    }
}

pub fn router(state: ApiState) -> Router {
    let responders = Router::new()
        .route(STATE_PATH, get(live_state))
        .route(EVENTS_PATH, post(responder_event))
        .route(WEBHOOK_PATH, post(alertmanager_webhook))
        .layer(middleware::from_fn_with_state(state.clone(), require_token));
    let facilitator = Router::new()
        .route(FACILITATOR_PATH, post(facilitator_control))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            require_facilitator,
        ));
    responders
        .merge(facilitator)
        .with_state(state.clone())
        .merge(super::console::router(state))
}

/// The facilitator's token, never the participants' (which is refused 403).
async fn require_facilitator(State(s): State<ApiState>, req: Request, next: Next) -> Response {
    let Some(f) = &s.facilitator else {
        return error(
            StatusCode::NOT_FOUND,
            "this run has no facilitator controls (only a tabletop drill has)",
        );
    };
    match bearer(req.headers()) {
        Some(t) if same(t.as_bytes(), f.token.as_bytes()) => next.run(req).await,
        Some(t) if same(t.as_bytes(), s.token.as_bytes()) => error(
            StatusCode::FORBIDDEN,
            "the participants' token cannot control the drill; use the facilitator token (the run directory's `facilitator-token`)",
        ),
        _ => error(
            StatusCode::UNAUTHORIZED,
            "missing or wrong facilitator bearer token",
        ),
    }
}

/// `POST /v1/facilitator`: pause and resume act on the drill clock at once
/// (so the pause is exact); the rest go to the drill loop, which answers.
async fn facilitator_control(State(s): State<ApiState>, body: Bytes) -> Response {
    use crate::drill::control::Control;
    let control: Control = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("malformed control: {e} (expected e.g. {{\"do\": \"pause\"}})"),
            );
        }
    };
    let Some(f) = &s.facilitator else {
        return error(StatusCode::NOT_FOUND, "no facilitator");
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    if f.controls.send((control, tx)).is_err() {
        return error(StatusCode::CONFLICT, "the drill has ended");
    }
    match rx.await {
        Ok(Ok(done)) => (StatusCode::OK, Json(json!({"done": done}))).into_response(),
        Ok(Err(why)) => error(StatusCode::BAD_REQUEST, why.to_string()),
        Err(_) => error(StatusCode::CONFLICT, "the drill has ended"),
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

/// Compares without an early exit, so timing does not leak the token.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

async fn require_token(State(s): State<ApiState>, req: Request, next: Next) -> Response {
    match bearer(req.headers()) {
        Some(t) if same(t.as_bytes(), s.token.as_bytes()) => next.run(req).await,
        Some(_) => error(StatusCode::UNAUTHORIZED, "wrong bearer token"),
        None => error(
            StatusCode::UNAUTHORIZED,
            "missing `Authorization: Bearer <token>` (the token is in the run directory's `api-token` file)",
        ),
    }
}

async fn live_state(State(s): State<ApiState>) -> Response {
    Json(lock(&s.shared).state_json()).into_response()
}

/// The body of `POST /v1/events`: who, and the action tagged with `do`
/// (the same words as an autopilot entry). The time is the server's.
#[derive(Debug, Deserialize)]
pub struct EventRequest {
    #[serde(rename = "as")]
    pub person: String,
    #[serde(flatten)]
    pub action: Action,
}

/// Why the API refuses a responder event (400): the message goes back to
/// the responder as is.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
enum InvalidEvent {
    #[error("`as` must name a person")]
    NoPerson,
    #[error("unknown severity `{severity}` (known: {known})")]
    UnknownSeverity { severity: String, known: String },
    #[error("unknown runbook step `{step}` (steps: {steps})")]
    UnknownStep { step: String, steps: String },
    #[error("`assign` needs a person")]
    AssignWithoutPerson,
    #[error("`update` needs a message")]
    UpdateWithoutMessage,
    #[error("`note` needs a text")]
    NoteWithoutText,
}

/// Checks an event against the run before anything is recorded.
fn validate(req: &EventRequest, s: &ApiState) -> Result<(), InvalidEvent> {
    if req.person.trim().is_empty() {
        return Err(InvalidEvent::NoPerson);
    }
    let live = lock(&s.shared);
    match &req.action {
        Action::Declare { severity } if !live.config.severities.contains_key(severity) => {
            let known: Vec<&str> = live.config.severities.keys().map(String::as_str).collect();
            Err(InvalidEvent::UnknownSeverity {
                severity: severity.clone(),
                known: known.join(", "),
            })
        }
        Action::Step { step } => {
            let steps = &live.incident.runbook.steps;
            if steps.iter().any(|s| &s.id == step) {
                Ok(())
            } else {
                let ids: Vec<&str> = steps.iter().map(|s| s.id.as_str()).collect();
                Err(InvalidEvent::UnknownStep {
                    step: step.clone(),
                    steps: if ids.is_empty() {
                        "none".to_string()
                    } else {
                        ids.join(", ")
                    },
                })
            }
        }
        Action::Assign { person, .. } if person.trim().is_empty() => {
            Err(InvalidEvent::AssignWithoutPerson)
        }
        Action::Update { message } if message.trim().is_empty() => {
            Err(InvalidEvent::UpdateWithoutMessage)
        }
        Action::Note { text } if text.trim().is_empty() => Err(InvalidEvent::NoteWithoutText),
        _ => Ok(()),
    }
}

async fn responder_event(State(s): State<ApiState>, body: Bytes) -> Response {
    // Drill time in a drill (see `Live::now`).
    let at = lock(&s.shared).now();
    let req: EventRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "malformed responder event: {e} (expected e.g. {{\"as\": \"alice\", \"do\": \"ack\"}})"
                ),
            );
        }
    };
    if let Err(e) = validate(&req, &s) {
        return error(StatusCode::BAD_REQUEST, e.to_string());
    }
    let event = ResponderEvent {
        at,
        person: req.person.trim().to_string(),
        source: EventSource::Cli,
        action: req.action,
    };
    let mut live = lock(&s.shared);
    match live.record_event(&s.journal, event.clone()) {
        Ok(()) => (StatusCode::CREATED, Json(json!({"recorded": event}))).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// Alertmanager webhook payload, version 4 (only the fields used here).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WebhookPayload {
    version: String,
    #[serde(default)]
    receiver: String,
    alerts: Vec<WebhookAlert>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WebhookAlert {
    status: String,
    #[serde(default)]
    labels: crate::observe::alerts::Labels,
    starts_at: Timestamp,
}

async fn alertmanager_webhook(State(s): State<ApiState>, body: Bytes) -> Response {
    // Taken first: T_notify is the arrival of the notification (in drill
    // time in a drill, see `Live::now`).
    let arrived = lock(&s.shared).now();
    let payload: WebhookPayload = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("malformed Alertmanager webhook payload: {e}"),
            );
        }
    };
    if payload.version != "4" {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "unsupported webhook payload version `{}` (expected 4)",
                payload.version
            ),
        );
    }
    let mut live = lock(&s.shared);
    // Only alerts of this run's fault phase (see `detection::poll_loop`).
    let since = live.fault_phase_at.unwrap_or(jiff::Timestamp::MAX);
    let expected = live.scenario.spec.expected_alerts().to_vec();
    let mut notified = Vec::new();
    for (i, exp) in expected.iter().enumerate() {
        let hit = payload
            .alerts
            .iter()
            .any(|a| a.status == "firing" && a.starts_at >= since && is_expected(exp, &a.labels));
        if hit && live.alerts.get(i).is_some_and(|o| o.t_notify.is_none()) {
            notified.push(i);
        }
    }
    for i in notified {
        let name = expected[i].name.clone();
        if let Err(e) = s.journal.append(
            "detection",
            "alert.notified",
            json!({"alert": name, "at": arrived, "receiver": payload.receiver}),
        ) {
            return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
        }
        if let Some(o) = live.alerts.get_mut(i) {
            o.t_notify = Some(arrived);
        }
        live.push(
            arrived,
            "detection",
            "alert.notified",
            format!("{name} notification received (webhook)"),
        );
    }
    (
        StatusCode::OK,
        Json(json!({"received": payload.alerts.len()})),
    )
        .into_response()
}

//! The web drill console (issue 15), served by every run's and drill's
//! responder API on the same address: `GET /` is one page (HTML, CSS and
//! vanilla JS embedded in the binary, nothing fetched from elsewhere), and
//! `GET /v1/console/stream` is its live feed, Server-Sent Events framing
//! over a response the page reads with `fetch()`, so the bearer token
//! travels in a header and never in a URL. Actions go to the existing
//! routes (`POST /v1/events`, `POST /v1/facilitator`) with the token
//! header, so the console gets the API's validation and its error text.
//!
//! The page itself holds no data and needs no token; the token is in the
//! link's fragment (`/#token=…`), which browsers never send to a server.

mod feed;
mod hub;
pub mod view;

use std::convert::Infallible;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

pub use hub::{Hub, Snapshots};
pub use view::Viewer;

use super::server::{ApiState, bearer, same};

pub const PAGE_PATH: &str = "/";
pub const STREAM_PATH: &str = "/v1/console/stream";

const INDEX_HTML: &str = include_str!("assets/index.html");
const CONSOLE_JS: &str = include_str!("assets/console.js");
const CONSOLE_CSS: &str = include_str!("assets/console.css");

/// Only this origin's own script and style, no inline script, no frames:
/// text a participant typed can never run as code here, even if a
/// renderer slipped (the page renders every text with `textContent`).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// The link that opens the console signed in: the token rides in the
/// fragment, which the browser keeps to itself (no server, proxy or access
/// log sees it), and the page moves it out of the address bar.
pub fn link(api_url: &str, token: &str) -> String {
    format!("{api_url}/#token={token}")
}

/// The console's routes, with the state they share (one hub per run).
pub fn router(state: ApiState) -> Router {
    let hub = Hub::default();
    Router::new()
        .route(
            PAGE_PATH,
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/console.js",
            get(|| async { asset("text/javascript; charset=utf-8", CONSOLE_JS) }),
        )
        .route(
            "/console.css",
            get(|| async { asset("text/css; charset=utf-8", CONSOLE_CSS) }),
        )
        .route(STREAM_PATH, get(stream))
        .with_state((state, hub))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    r
}

/// Which view a token opens: the participants' or the facilitator's.
pub fn viewer(state: &ApiState, token: &str) -> Option<Viewer> {
    if same(token.as_bytes(), state.token.as_bytes()) {
        return Some(Viewer::Participant);
    }
    let f = state.facilitator.as_ref()?;
    same(token.as_bytes(), f.token.as_bytes()).then_some(Viewer::Facilitator)
}

/// `GET /v1/console/stream`: a `state` event with the whole snapshot now
/// and after every change, until the run ends.
async fn stream(State((state, hub)): State<(ApiState, Hub)>, req: Request) -> Response {
    let Some(viewer) = bearer(req.headers()).and_then(|t| viewer(&state, t)) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "missing or wrong bearer token (open the console from the link the run printed)"})),
        )
            .into_response();
    };
    let seat = (viewer == Viewer::Facilitator).then(|| hub.seat());
    let rx = hub.subscribe(&state.shared, &state.journal);
    let events =
        futures::stream::unfold((rx, true, seat), move |(mut rx, first, seat)| async move {
            if !first {
                rx.changed().await.ok()?;
            }
            let mut snap = rx.borrow_and_update().for_viewer(viewer);
            // A facilitator's view is built from the snapshot after they came.
            while snap.is_empty() {
                rx.changed().await.ok()?;
                snap = rx.borrow_and_update().for_viewer(viewer);
            }
            let event = Event::default().event("state").data(&*snap);
            Some((Ok::<_, Infallible>(event), (rx, false, seat)))
        });
    let mut r = Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

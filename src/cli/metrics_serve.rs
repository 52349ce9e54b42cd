//! `gameday metrics serve`: the history's metrics (the same exposition as
//! `gameday metrics -o prometheus`) on `/metrics`, for Prometheus to scrape
//! directly, e.g. from the chart's exporter Deployment reading the shared
//! PostgreSQL history.
//!
//! Each scrape reads the history afresh, unless the previous one is younger
//! than `--cache` (Prometheus scraping with several replicas or short
//! intervals then costs one query per window). A history that cannot be
//! read answers 503 with the error, so the target shows as down (`up == 0`)
//! instead of serving stale numbers as if current.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;

use crate::history::{RunFilter, Store, display_location, exposition, metrics};

/// The Prometheus text format's content type.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What to serve: the history and the filter of the `metrics` command.
pub struct Serve {
    pub listen: SocketAddr,
    pub db: PathBuf,
    pub filter: RunFilter,
    /// Lookback of `--since` (re-evaluated per scrape); None for all runs.
    pub since: Option<String>,
    pub cache: Duration,
}

struct Exporter {
    serve: Serve,
    last: Mutex<Option<(Instant, String)>>,
}

/// Serves until SIGINT or SIGTERM.
pub fn run(serve: Serve) -> anyhow::Result<i32> {
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(serve.listen)
            .await
            .with_context(|| format!("listening on {}", serve.listen))?;
        let addr = listener.local_addr()?;
        crate::errln!(
            "serving the metrics of {} on http://{addr}/metrics",
            display_location(&serve.db)
        );
        let exporter = Arc::new(Exporter {
            serve,
            last: Mutex::new(None),
        });
        let app = Router::new()
            .route("/metrics", get(scrape))
            .route(
                "/",
                get(|| async { "gameday metrics exporter: see /metrics\n" }),
            )
            .with_state(exporter);
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                if let Err(e) = super::sandbox::wait_for_signal().await {
                    tracing::warn!(error = %e, "signal handler");
                }
            })
            .await
            .context("serving metrics")?;
        Ok(super::exit::OK)
    })
}

async fn scrape(State(exporter): State<Arc<Exporter>>) -> Response {
    // The history clients block (PostgreSQL's runs a runtime of its own),
    // so the read happens off the async workers.
    let read = tokio::task::spawn_blocking(move || exporter.body()).await;
    match read {
        Ok(Ok(body)) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "history not read for a scrape");
            (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

impl Exporter {
    /// The exposition, from the cache while it is fresh.
    fn body(&self) -> anyhow::Result<String> {
        if let Ok(last) = self.last.lock()
            && let Some((at, body)) = last.as_ref()
            && at.elapsed() < self.serve.cache
        {
            return Ok(body.clone());
        }
        let body = self.read()?;
        if let Ok(mut last) = self.last.lock() {
            *last = Some((Instant::now(), body.clone()));
        }
        Ok(body)
    }

    fn read(&self) -> anyhow::Result<String> {
        let now = Timestamp::now();
        let mut filter = self.serve.filter.clone();
        if let Some(since) = &self.serve.since {
            filter.since = Some(crate::history::since::parse_since(since, now)?);
        }
        let store = Store::open(&self.serve.db)?;
        let runs = store.runs(&filter)?;
        let m = metrics::compute(&runs, now, filter.since, filter.scenario.as_deref());
        Ok(exposition::render(&m))
    }
}

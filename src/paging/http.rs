//! One call to a paging tool, bounded and retried: 429 waits for
//! `Retry-After` (PagerDuty, Opsgenie and OnCall all send it on rate
//! limits), a 5xx or a connection error backs off exponentially, and the
//! whole call, retries included, ends within [`CALL_BUDGET`], so a paging
//! outage costs a run seconds, never a hang (and never a revert).
//! Error messages never carry a URL (OnCall's webhook URL holds a secret) or
//! a header.

use std::time::{Duration, Instant};

use reqwest::{RequestBuilder, Response, StatusCode};

/// The most one call may take, retries and waits included.
pub const CALL_BUDGET: Duration = Duration::from_secs(20);
/// Each attempt's own timeout.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(8);
const MAX_ATTEMPTS: u32 = 4;
/// First 5xx backoff; doubled per attempt.
const BACKOFF: Duration = Duration::from_millis(500);
/// Retry-After over this is not waited for: the call fails as rate limited.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum PagingError {
    #[error("{0}")]
    Config(String),
    #[error("cannot reach it: {0}")]
    Unreachable(String),
    #[error("HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("rate limited (429) past the retry budget")]
    RateLimited,
    #[error("unexpected response: {0}")]
    Decode(String),
}

/// The client every integration uses: rustls, no proxy surprises beyond
/// the environment's, a connect timeout.
pub fn client() -> Result<reqwest::Client, PagingError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("gameday/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| PagingError::Config(e.without_url().to_string()))
}

/// Sends the request `build` makes, retrying as the module says; returns
/// the first 2xx response or the last error.
pub async fn send(build: impl Fn() -> RequestBuilder) -> Result<Response, PagingError> {
    let deadline = Instant::now() + CALL_BUDGET;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let left = deadline.saturating_duration_since(Instant::now());
        let result = build().timeout(ATTEMPT_TIMEOUT.min(left)).send().await;
        let (error, wait) = match result {
            Ok(r) if r.status().is_success() => return Ok(r),
            Ok(r) if r.status() == StatusCode::TOO_MANY_REQUESTS => {
                let wait = retry_after(&r).unwrap_or(BACKOFF * 2u32.pow(attempt - 1));
                if wait > MAX_RETRY_AFTER {
                    return Err(PagingError::RateLimited);
                }
                (PagingError::RateLimited, wait)
            }
            Ok(r) if r.status().is_server_error() => {
                (status_error(r).await, BACKOFF * 2u32.pow(attempt - 1))
            }
            Ok(r) => return Err(status_error(r).await),
            Err(e) => (
                PagingError::Unreachable(error_text(&e)),
                BACKOFF * 2u32.pow(attempt - 1),
            ),
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if attempt >= MAX_ATTEMPTS || wait >= left {
            return Err(error);
        }
        tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, error = %error, "paging call retried");
        tokio::time::sleep(wait).await;
    }
}

/// `Retry-After` in seconds (the form the three tools send).
fn retry_after(r: &Response) -> Option<Duration> {
    let v = r
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

async fn status_error(r: Response) -> PagingError {
    let status = r.status().as_u16();
    let body = r.text().await.unwrap_or_default();
    PagingError::Status {
        status,
        body: body.chars().take(200).collect(),
    }
}

/// The error and its causes, without the URL.
fn error_text(e: &reqwest::Error) -> String {
    let mut s = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "connection failed".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(c) = source {
        let text = c.to_string();
        if !text.contains("://") {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = c.source();
    }
    s
}

/// Decodes a JSON body.
pub async fn json(r: Response) -> Result<serde_json::Value, PagingError> {
    r.json()
        .await
        .map_err(|e| PagingError::Decode(e.without_url().to_string()))
}

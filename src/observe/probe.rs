//! One probe, one [`Reading`].
//!
//! A reading is the unit everything else consumes: the guardrail decides on
//! it, the journal stores it, the live view prints it, the scorer derives
//! T_impact and T_mitigate from it. So a reading always exists, even when the
//! source could not be read: then its outcome is [`ProbeOutcome::Unknown`] with the
//! reason, and what that means (breach or not) is decided by the phase (S4),
//! not here.
//!
//! Every read is bounded by the probe's `timeout`, retries included: a hung
//! Prometheus must not stall a guardrail tick past what the author allowed.
//! Transport errors and 5xx answers are retried (a single dropped connection
//! should not abort a game day); a query the server rejects is not, since it
//! will be rejected again.

use std::fmt;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::connection::{ConnectionError, PrometheusConn};
use crate::scenario::{Expectation, Probe, ProbeSource, VerifyProbe};

/// Which expectation a reading is judged against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    /// Waiting, before injection, for `expect` to hold (`steadyState.settle`):
    /// a reading that misses it here is "not settled yet", not a breach.
    Settle,
    /// Before injection: `expect` must hold.
    Before,
    /// While faults are active: `during` (the guardrail) when set.
    During,
    /// After the last revert: `expect` must hold again.
    After,
    /// A runbook step's `verify` probe.
    Verify,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Settle => "settle",
            Phase::Before => "before",
            Phase::During => "during",
            Phase::After => "after",
            Phase::Verify => "verify",
        })
    }
}

/// What a reading says about its expectation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", content = "reason", rename_all = "camelCase")]
pub enum ProbeOutcome {
    Holds,
    Breach,
    /// The probe could not be read; the string says why.
    Unknown(String),
}

impl ProbeOutcome {
    pub fn holds(&self) -> bool {
        matches!(self, ProbeOutcome::Holds)
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, ProbeOutcome::Unknown(_))
    }
}

/// One evaluation of one probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reading {
    pub probe: String,
    pub phase: Phase,
    /// The observed value (latency in seconds for http probes); absent when unknown.
    pub value: Option<f64>,
    /// When the answer arrived.
    pub at: Timestamp,
    pub outcome: ProbeOutcome,
    /// The threshold `outcome` was judged against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expectation: Option<Expectation>,
    /// Whether the value meets the probe's `expect` (its SLO), whatever the
    /// phase. T_impact and T_mitigate are defined on this, not on `during`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_slo: Option<bool>,
    /// Why a reading breached although it has a value (e.g. an HTTP status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Requests made for this reading (1 unless retried).
    pub attempts: u32,
    /// Time spent reading, retries included.
    pub elapsed_ms: u64,
}

impl fmt::Display for Reading {
    /// One line for logs and the non-TTY progress view:
    /// `checkout-success 0.9971 >= 0.99 holds`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.probe)?;
        match self.value {
            Some(v) => write!(f, "{v:.4}")?,
            None => f.write_str("?")?,
        }
        if let Some(e) = &self.expectation {
            write!(f, " ({e})")?;
        }
        match &self.outcome {
            ProbeOutcome::Holds => f.write_str(" holds")?,
            ProbeOutcome::Breach => f.write_str(" BREACH")?,
            ProbeOutcome::Unknown(why) => write!(f, " UNKNOWN: {why}")?,
        }
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

/// Why a probe could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProbeError {
    #[error(
        "no Prometheus endpoint is configured (use --prometheus-url, GAMEDAY_PROMETHEUS_URL or `prometheus.url` in the config file)"
    )]
    NoPrometheus,
    #[error("no Kubernetes client is available for a kubernetes probe")]
    NoKubernetes,
    #[error("the probe has no source: give exactly one of prometheus, kubernetes or http")]
    NoSource,
    #[error("timed out after {}ms{}", .after.as_millis(), .last.as_ref().map(|l| format!(" (last error: {l})")).unwrap_or_default())]
    Timeout {
        after: Duration,
        last: Option<String>,
    },
    #[error("Prometheus request failed: {0}")]
    PrometheusTransport(String),
    #[error("Prometheus rejected the query: {0}")]
    Query(String),
    #[error("Prometheus is unavailable: {0}")]
    PrometheusUnavailable(String),
    #[error(
        "expected exactly one series, got {0} (set `reduce` to min, max, avg, sum or count to combine them)"
    )]
    SeriesCount(usize),
    #[error("the query returned no series to reduce with `{0}`")]
    NoSeries(&'static str),
    #[error("the query returned a range vector; a probe needs an instant vector or a scalar")]
    RangeVector,
    #[error("the query returned NaN (often 0/0: no traffic in the rate window)")]
    NaN,
    #[error("field `{field}` does not exist on {kind}")]
    FieldNotOnKind { field: String, kind: String },
    #[error("a {0} probe needs `name`")]
    MissingName(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("Kubernetes API error: {0}")]
    KubeApi(String),
    #[error("Kubernetes API unreachable: {0}")]
    KubeTransport(String),
    #[error("HTTP probe request failed: {0}")]
    Http(String),
    #[error("{0}")]
    Connection(String),
}

impl From<ConnectionError> for ProbeError {
    fn from(e: ConnectionError) -> Self {
        ProbeError::Connection(e.to_string())
    }
}

impl ProbeError {
    /// Whether asking again could give a different answer.
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            ProbeError::PrometheusTransport(_)
                | ProbeError::PrometheusUnavailable(_)
                | ProbeError::KubeTransport(_)
                | ProbeError::Http(_)
        )
    }
}

/// A value read from a source, plus a failure the source itself reports
/// (an HTTP probe's wrong status): that is a breach with a value, not an unknown.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    pub value: f64,
    pub failure: Option<String>,
}

impl Measurement {
    pub fn value(value: f64) -> Self {
        Measurement {
            value,
            failure: None,
        }
    }
}

/// How often a failed read is tried again within the probe's timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Requests per reading, the first included.
    pub attempts: u32,
    /// Wait before the first retry; doubled for each further retry.
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            backoff: Duration::from_millis(100),
        }
    }
}

/// Reads probes. Cheap to clone (the clients inside are reference-counted), so
/// the engine can hand one to each task.
#[derive(Clone)]
pub struct ProbeReader {
    prometheus: Option<PrometheusConn>,
    kube: Option<kube::Client>,
    http: reqwest::Client,
    retry: RetryPolicy,
}

impl fmt::Debug for ProbeReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProbeReader")
            .field("prometheus", &self.prometheus)
            .field("kube", &self.kube.is_some())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl ProbeReader {
    /// An observer with no Prometheus and no cluster: only http probes work
    /// until [`with_prometheus`](Self::with_prometheus) / [`with_kube`](Self::with_kube).
    pub fn new() -> Result<Self, ProbeError> {
        let http = reqwest::Client::builder()
            // The probe checks the status of this URL, not of wherever it redirects.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| ProbeError::Connection(super::error_chain(&e)))?;
        Ok(ProbeReader {
            prometheus: None,
            kube: None,
            http,
            retry: RetryPolicy::default(),
        })
    }

    pub fn with_prometheus(mut self, conn: PrometheusConn) -> Self {
        self.prometheus = Some(conn);
        self
    }

    pub fn with_kube(mut self, client: kube::Client) -> Self {
        self.kube = Some(client);
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn prometheus(&self) -> Option<&PrometheusConn> {
        self.prometheus.as_ref()
    }

    pub fn kube(&self) -> Option<&kube::Client> {
        self.kube.as_ref()
    }

    /// One request to the source, bounded by `timeout`.
    async fn attempt(
        &self,
        source: ProbeSource<'_>,
        timeout: Duration,
    ) -> Result<Measurement, ProbeError> {
        match source {
            ProbeSource::Prometheus(p) => {
                let conn = self.prometheus.as_ref().ok_or(ProbeError::NoPrometheus)?;
                super::prometheus::read(conn, p, timeout)
                    .await
                    .map(Measurement::value)
            }
            ProbeSource::Kubernetes(k) => {
                let client = self.kube.as_ref().ok_or(ProbeError::NoKubernetes)?;
                super::kubernetes::read(client, k)
                    .await
                    .map(Measurement::value)
            }
            ProbeSource::Http(h) => super::http::read(&self.http, h, timeout).await,
        }
    }

    /// Reads a source with retries, all within `timeout`. Returns the number of
    /// requests made alongside the result.
    pub async fn measure(
        &self,
        source: ProbeSource<'_>,
        timeout: Duration,
    ) -> (Result<Measurement, ProbeError>, u32) {
        let deadline = tokio::time::Instant::now() + timeout;
        let max = self.retry.attempts.max(1);
        let mut backoff = self.retry.backoff;
        let mut last: Option<ProbeError> = None;
        let mut timed_out = false;
        let mut attempts = 0;
        while attempts < max {
            let now = tokio::time::Instant::now();
            if now >= deadline {
                timed_out = true;
                break;
            }
            attempts += 1;
            match tokio::time::timeout_at(deadline, self.attempt(source, deadline - now)).await {
                Ok(Ok(m)) => return (Ok(m), attempts),
                Ok(Err(e)) if !e.retryable() => return (Err(e), attempts),
                Ok(Err(e)) => last = Some(e),
                Err(_) => {
                    timed_out = true;
                    break;
                }
            }
            // Only retry if the backoff still leaves time for an answer.
            if attempts >= max || tokio::time::Instant::now() + backoff >= deadline {
                break;
            }
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
        let err = match (timed_out, last) {
            (false, Some(e)) => e,
            (_, last) => ProbeError::Timeout {
                after: timeout,
                last: last.map(|e| e.to_string()),
            },
        };
        (Err(err), attempts)
    }

    /// Reads a steady-state probe and judges it for `phase`: `during` while
    /// faults are active (when the probe has one), `expect` otherwise.
    pub async fn read(&self, probe: &Probe, phase: Phase) -> Reading {
        let judged = match phase {
            Phase::During => probe.during.as_ref().unwrap_or(&probe.expect),
            _ => &probe.expect,
        };
        self.evaluate(
            &probe.name,
            phase,
            probe.source(),
            judged,
            &probe.expect,
            probe.timeout().as_std(),
        )
        .await
    }

    /// Reads a runbook step's `verify` probe; `name` is the step id.
    pub async fn verify(&self, name: &str, probe: &VerifyProbe) -> Reading {
        let timeout = probe
            .timeout
            .unwrap_or(crate::scenario::Duration::from_secs(5));
        self.evaluate(
            name,
            Phase::Verify,
            probe.source(),
            &probe.expect,
            &probe.expect,
            timeout.as_std(),
        )
        .await
    }

    async fn evaluate(
        &self,
        name: &str,
        phase: Phase,
        source: Option<ProbeSource<'_>>,
        judged: &Expectation,
        slo: &Expectation,
        timeout: Duration,
    ) -> Reading {
        let started = std::time::Instant::now();
        let (result, attempts) = match source {
            Some(source) => self.measure(source, timeout).await,
            None => (Err(ProbeError::NoSource), 0),
        };
        judge(
            name,
            phase,
            judged,
            slo,
            result,
            attempts,
            started.elapsed(),
        )
    }
}

/// Turns a measurement into a reading. Pure, so the S4 rules are unit-tested
/// without any server.
pub fn judge(
    name: &str,
    phase: Phase,
    judged: &Expectation,
    slo: &Expectation,
    result: Result<Measurement, ProbeError>,
    attempts: u32,
    elapsed: Duration,
) -> Reading {
    let mut reading = Reading {
        probe: name.to_string(),
        phase,
        value: None,
        at: Timestamp::now(),
        outcome: ProbeOutcome::Holds,
        expectation: Some(*judged),
        within_slo: None,
        detail: None,
        attempts,
        elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
    };
    match result {
        Err(e) => reading.outcome = ProbeOutcome::Unknown(e.to_string()),
        Ok(m) if m.value.is_nan() => {
            reading.outcome = ProbeOutcome::Unknown(ProbeError::NaN.to_string());
        }
        Ok(m) => {
            reading.value = Some(m.value);
            match m.failure {
                Some(failure) => {
                    reading.outcome = ProbeOutcome::Breach;
                    reading.within_slo = Some(false);
                    reading.detail = Some(failure);
                }
                None => {
                    reading.within_slo = Some(slo.holds(m.value));
                    reading.outcome = if judged.holds(m.value) {
                        ProbeOutcome::Holds
                    } else {
                        ProbeOutcome::Breach
                    };
                }
            }
        }
    }
    reading
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(s: &str) -> Expectation {
        s.parse().unwrap()
    }

    #[test]
    fn judge_compares_against_the_phase_expectation_and_the_slo() {
        let r = judge(
            "p",
            Phase::During,
            &e(">= 0.95"),
            &e(">= 0.99"),
            Ok(Measurement::value(0.97)),
            1,
            Duration::from_millis(3),
        );
        assert_eq!(r.outcome, ProbeOutcome::Holds);
        assert_eq!(r.within_slo, Some(false));
        assert_eq!(r.value, Some(0.97));
    }

    #[test]
    fn errors_and_nan_are_unknown_without_a_value() {
        let r = judge(
            "p",
            Phase::Before,
            &e(">= 1"),
            &e(">= 1"),
            Err(ProbeError::SeriesCount(3)),
            1,
            Duration::ZERO,
        );
        assert!(matches!(&r.outcome, ProbeOutcome::Unknown(why) if why.contains("got 3")));
        assert_eq!(r.value, None);
        assert_eq!(r.within_slo, None);
        let r = judge(
            "p",
            Phase::Before,
            &e(">= 1"),
            &e(">= 1"),
            Ok(Measurement::value(f64::NAN)),
            1,
            Duration::ZERO,
        );
        assert!(r.outcome.is_unknown());
    }

    #[test]
    fn source_failure_is_a_breach_with_a_value() {
        let r = judge(
            "p",
            Phase::After,
            &e("< 1s"),
            &e("< 1s"),
            Ok(Measurement {
                value: 0.01,
                failure: Some("status 503, expected 200".into()),
            }),
            1,
            Duration::ZERO,
        );
        assert_eq!(r.outcome, ProbeOutcome::Breach);
        assert_eq!(r.within_slo, Some(false));
        assert_eq!(r.detail.as_deref(), Some("status 503, expected 200"));
    }

    #[test]
    fn reading_serialises_outcome_with_reason() {
        let r = judge(
            "p",
            Phase::During,
            &e(">= 1"),
            &e(">= 1"),
            Err(ProbeError::NoPrometheus),
            0,
            Duration::ZERO,
        );
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["outcome"]["state"], "unknown");
        assert!(
            v["outcome"]["reason"]
                .as_str()
                .unwrap()
                .contains("GAMEDAY_PROMETHEUS_URL")
        );
        assert_eq!(v["phase"], "during");
        assert_eq!(v["expectation"], ">= 1");
        let back: Reading = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }
}

//! Reachability checks before anything is injected (exit 4 on failure).
//!
//! A game day that starts injecting and only then finds Prometheus
//! unreachable aborts at its first guardrail tick with faults already live.
//! Checking first, and saying exactly which endpoint failed and how
//! (refused, TLS, 401, not Prometheus at all), turns that into a clean refusal.
//! Each check makes the request the run will make: an instant query for
//! Prometheus (so auth and tenant headers are exercised too), the v2 status
//! for Alertmanager, `/version` for the Kubernetes API.

use std::fmt;
use std::time::{Duration, Instant};

use super::connection::{AlertmanagerConn, PrometheusConn};
use super::error_chain;
use crate::scenario::{ProbeSource, Scenario};

/// What a run will talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    pub prometheus: bool,
    pub alertmanager: bool,
    pub kubernetes: bool,
}

impl Needs {
    /// Prometheus when any probe (steady state or runbook verify) queries it or
    /// alerts are expected; Alertmanager when alerts are expected; Kubernetes
    /// always, since faults act on the cluster.
    pub fn of(scenario: &Scenario) -> Needs {
        let spec = &scenario.spec;
        let mut sources: Vec<ProbeSource<'_>> = spec
            .steady_state
            .probes
            .iter()
            .filter_map(|p| p.source())
            .collect();
        if let Some(rb) = spec.response.as_ref().and_then(|r| r.runbook.as_ref()) {
            sources.extend(
                rb.steps
                    .iter()
                    .filter_map(|s| s.verify.as_ref())
                    .filter_map(|v| v.source()),
            );
        }
        let alerts = spec
            .detection
            .as_ref()
            .is_some_and(|d| !d.alerts.is_empty());
        Needs {
            prometheus: alerts
                || sources
                    .iter()
                    .any(|s| matches!(s, ProbeSource::Prometheus(_))),
            alertmanager: alerts,
            kubernetes: true,
        }
    }
}

/// One endpoint's check.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// "Prometheus", "Alertmanager", "Kubernetes API".
    pub target: &'static str,
    /// The URL checked, if one was configured.
    pub url: Option<String>,
    /// What was seen on success, or exactly what failed.
    pub result: Result<String, CheckError>,
}

/// Why one endpoint's check failed, worded for the person who must fix the
/// configuration: which setting, which credential, which service.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CheckError {
    #[error("not configured: set {flag}, {env} or `{key}` in the config file")]
    NotConfigured {
        flag: &'static str,
        env: &'static str,
        key: &'static str,
    },
    #[error("no kube client: check --kubeconfig / --context")]
    NoKubeClient,
    #[error("{0}")]
    BadUrl(String),
    #[error("no answer within {0}ms")]
    Timeout(u128),
    /// Refused, DNS, TLS: the transport's error chain.
    #[error("{0}")]
    Transport(String),
    #[error("HTTP {status}{hint}: {body}")]
    Status {
        status: String,
        hint: &'static str,
        body: String,
    },
    #[error("answered HTTP {status} but not with JSON (is this the right service?): {snippet:?}")]
    NotJson { status: String, snippet: String },
    #[error("query vector(1) failed: {0}")]
    QueryFailed(String),
    #[error("api/v2/status has no versionInfo: not an Alertmanager v2 API")]
    NotAlertmanagerV2,
    #[error(
        "Kubernetes {0} is older than v1.{OLDEST_MINOR}, the oldest gameday supports; upgrade the cluster or use an older gameday"
    )]
    TooOld(String),
    #[error("no answer from /version within {0}ms")]
    VersionTimeout(u128),
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (mark, text) = match &self.result {
            Ok(t) => ("ok", t.clone()),
            Err(e) => ("FAILED", e.to_string()),
        };
        match &self.url {
            Some(u) => write!(f, "{mark:6} {} at {u}: {text}", self.target),
            None => write!(f, "{mark:6} {}: {text}", self.target),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Preflight {
    pub checks: Vec<Check>,
}

impl Preflight {
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.result.is_ok())
    }

    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.result.is_err())
    }
}

impl fmt::Display for Preflight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.checks {
            writeln!(f, "{c}")?;
        }
        Ok(())
    }
}

/// The endpoints to check; `None` means "not configured".
#[derive(Clone, Default)]
pub struct Services<'a> {
    pub prometheus: Option<&'a PrometheusConn>,
    pub alertmanager: Option<&'a AlertmanagerConn>,
    pub kube: Option<&'a kube::Client>,
}

/// Checks every needed endpoint, concurrently, each bounded by `timeout`.
pub async fn run(needs: Needs, targets: Services<'_>, timeout: Duration) -> Preflight {
    let prom = async {
        match (needs.prometheus, targets.prometheus) {
            (false, _) => None,
            (true, None) => Some(Check {
                target: "Prometheus",
                url: None,
                result: Err(CheckError::NotConfigured {
                    flag: "--prometheus-url",
                    env: "GAMEDAY_PROMETHEUS_URL",
                    key: "prometheus.url",
                }),
            }),
            (true, Some(c)) => Some(check_prometheus(c, timeout).await),
        }
    };
    let am = async {
        match (needs.alertmanager, targets.alertmanager) {
            (false, _) => None,
            (true, None) => Some(Check {
                target: "Alertmanager",
                url: None,
                result: Err(CheckError::NotConfigured {
                    flag: "--alertmanager-url",
                    env: "GAMEDAY_ALERTMANAGER_URL",
                    key: "alertmanager.url",
                }),
            }),
            (true, Some(c)) => Some(check_alertmanager(c, timeout).await),
        }
    };
    let kube = async {
        match (needs.kubernetes, targets.kube) {
            (false, _) => None,
            (true, None) => Some(Check {
                target: "Kubernetes API",
                url: None,
                result: Err(CheckError::NoKubeClient),
            }),
            (true, Some(c)) => Some(check_kube(c, timeout).await),
        }
    };
    let (p, a, k) = tokio::join!(prom, am, kube);
    Preflight {
        checks: [p, a, k].into_iter().flatten().collect(),
    }
}

/// Sends `GET url` with the connection's auth and returns the JSON body, or a
/// message naming the failure: transport (refused, DNS, TLS), HTTP status, or
/// a body that is not the expected API's JSON.
async fn get_json(
    http: &reqwest::Client,
    url: reqwest::Url,
    timeout: Duration,
) -> Result<serde_json::Value, CheckError> {
    let response = http.get(url).timeout(timeout).send().await.map_err(|e| {
        if e.is_timeout() {
            CheckError::Timeout(timeout.as_millis())
        } else {
            CheckError::Transport(error_chain(&e))
        }
    })?;
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|e| CheckError::Transport(error_chain(&e)))?;
    if !status.is_success() {
        let hint = match status.as_u16() {
            401 => " (check bearerToken / basicAuth)",
            403 => " (the credentials lack permission; check the tenant header)",
            404 => " (wrong URL or path prefix?)",
            _ => "",
        };
        let snippet: String = body.chars().take(200).collect();
        return Err(CheckError::Status {
            status: status.to_string(),
            hint,
            body: snippet.trim().to_string(),
        });
    }
    serde_json::from_str(&body).map_err(|_| CheckError::NotJson {
        status: status.to_string(),
        snippet: body.chars().take(80).collect(),
    })
}

pub async fn check_prometheus(conn: &PrometheusConn, timeout: Duration) -> Check {
    let url = conn.base_url().to_string();
    let started = Instant::now();
    let result = async {
        let mut q = conn
            .url("api/v1/query")
            .map_err(|e| CheckError::BadUrl(e.to_string()))?;
        q.query_pairs_mut().append_pair("query", "vector(1)");
        let v = get_json(conn.http(), q, timeout).await?;
        if v["status"] != "success" {
            return Err(CheckError::QueryFailed(
                v["error"]
                    .as_str()
                    .unwrap_or("no error message")
                    .to_string(),
            ));
        }
        Ok(format!(
            "query answered in {}ms",
            started.elapsed().as_millis()
        ))
    }
    .await;
    Check {
        target: "Prometheus",
        url: Some(url),
        result,
    }
}

pub async fn check_alertmanager(conn: &AlertmanagerConn, timeout: Duration) -> Check {
    let url = conn.base_url().to_string();
    let result = async {
        let status_url = conn
            .url("api/v2/status")
            .map_err(|e| CheckError::BadUrl(e.to_string()))?;
        let v = get_json(conn.http(), status_url, timeout).await?;
        let version = v["versionInfo"]["version"]
            .as_str()
            .ok_or(CheckError::NotAlertmanagerV2)?;
        Ok(format!("Alertmanager {version}"))
    }
    .await;
    Check {
        target: "Alertmanager",
        url: Some(url),
        result,
    }
}

/// The oldest Kubernetes minor gameday supports: the faults' APIs
/// (`pods/ephemeralcontainers` and policy/v1 evictions are GA well before)
/// are exercised against it in CI, where kubectl 1.27 to 1.33 run against
/// the sandbox reporting each of those versions.
pub const OLDEST_MINOR: u32 = 27;

/// Refuses a server older than [`OLDEST_MINOR`]. Managed clusters report
/// minors such as `27+` (GKE, EKS); a version that cannot be read is
/// let through, since the API itself answered.
fn supported(info: &k8s_openapi::apimachinery::pkg::version::Info) -> Result<String, CheckError> {
    let minor = info.minor.trim_end_matches('+').parse::<u32>().ok();
    match (info.major.as_str(), minor) {
        ("1", Some(m)) if m < OLDEST_MINOR => Err(CheckError::TooOld(info.git_version.clone())),
        _ => Ok(format!("Kubernetes {}", info.git_version)),
    }
}

pub async fn check_kube(client: &kube::Client, timeout: Duration) -> Check {
    let result = match tokio::time::timeout(timeout, client.apiserver_version()).await {
        Ok(Ok(info)) => supported(&info),
        Ok(Err(e)) => Err(CheckError::Transport(error_chain(&e))),
        Err(_) => Err(CheckError::VersionTimeout(timeout.as_millis())),
    };
    Check {
        target: "Kubernetes API",
        url: None,
        result,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_older_than_the_oldest_supported_minor_are_refused() {
        let info = |major: &str, minor: &str| k8s_openapi::apimachinery::pkg::version::Info {
            major: major.into(),
            minor: minor.into(),
            git_version: format!("v{major}.{}.3", minor.trim_end_matches('+')),
            ..Default::default()
        };
        let refused = supported(&info("1", "26")).unwrap_err().to_string();
        assert!(refused.contains("v1.26.3 is older than v1.27"), "{refused}");
        assert!(supported(&info("1", "26+")).is_err(), "GKE/EKS style minor");
        assert_eq!(
            supported(&info("1", "27+")),
            Ok("Kubernetes v1.27.3".into())
        );
        assert!(supported(&info("1", "33")).is_ok());
        assert!(
            supported(&info("1", "")).is_ok(),
            "unreadable: the API answered"
        );
    }
}

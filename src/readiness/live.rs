//! The live inputs: a running Prometheus's rules (`/api/v1/rules`), a
//! running Alertmanager's config (`/api/v2/status`, whose
//! `config.original` is the loaded YAML), and HTTP HEAD for runbook URLs.
//!
//! How live rules get lines: the API has no positions, but it names each
//! group's file. When that file is readable here (the audit runs next to
//! Prometheus, or on a checkout of the same paths), each rule takes the line
//! of the same alert (same group, same name, same occurrence) in it; when it
//! is not, the line is 0 and the file names where Prometheus read it.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::ReadinessError;
use super::routing::Routing;
use super::rules::{self, AlertRule};

const TIMEOUT: Duration = Duration::from_secs(10);

fn client() -> Result<reqwest::Client, ReadinessError> {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| ReadinessError::Unreachable {
            url: String::new(),
            cause: e.to_string(),
        })
}

/// GETs `url` and decodes its JSON body.
async fn get_json<T: serde::de::DeserializeOwned>(url: &str) -> Result<T, ReadinessError> {
    let unreachable = |e: reqwest::Error| ReadinessError::Unreachable {
        url: url.to_string(),
        cause: crate::observe::error_chain(&e),
    };
    let response = client()?.get(url).send().await.map_err(unreachable)?;
    let status = response.status();
    if !status.is_success() {
        return Err(ReadinessError::BadResponse {
            url: url.to_string(),
            cause: format!("HTTP {status}"),
        });
    }
    response
        .json()
        .await
        .map_err(|e| ReadinessError::BadResponse {
            url: url.to_string(),
            cause: format!("unexpected body: {e}"),
        })
}

#[derive(Deserialize)]
struct RulesBody {
    data: RulesData,
}

#[derive(Deserialize)]
struct RulesData {
    groups: Vec<LiveGroup>,
}

#[derive(Deserialize)]
struct LiveGroup {
    name: String,
    file: String,
    rules: Vec<LiveRule>,
}

#[derive(Deserialize)]
struct LiveRule {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// The alerting rules a running Prometheus has loaded.
pub async fn prometheus_rules(base: &str) -> Result<Vec<AlertRule>, ReadinessError> {
    let url = format!("{}/api/v1/rules?type=alert", base.trim_end_matches('/'));
    let body: RulesBody = get_json(&url).await?;
    let mut out = Vec::new();
    for group in body.data.groups {
        let local = local_lines(&group.file);
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for rule in group.rules.iter().filter(|r| r.kind == "alerting") {
            let nth = seen.entry(&rule.name).or_default();
            let at = local
                .get(&(group.name.clone(), rule.name.clone()))
                .and_then(|v| v.get(*nth));
            *nth += 1;
            out.push(AlertRule {
                name: rule.name.clone(),
                group: group.name.clone(),
                file: group.file.clone(),
                line: at.map_or(0, |a| a.0),
                labels: rule.labels.clone(),
                runbook_url: rule.annotations.get("runbook_url").cloned(),
                runbook_line: at.map_or(0, |a| a.1),
                base_dir: Path::new(&group.file).parent().map(Path::to_path_buf),
            });
        }
    }
    Ok(out)
}

/// (group, alert) -> the (line, runbook line) of each occurrence in a local
/// copy of the rules file; empty when it cannot be read or parsed.
fn local_lines(file: &str) -> HashMap<(String, String), Vec<(usize, usize)>> {
    let mut out: HashMap<_, Vec<_>> = HashMap::new();
    let Ok(text) = std::fs::read_to_string(file) else {
        return out;
    };
    for r in rules::parse_str(file, &text, None).unwrap_or_default() {
        out.entry((r.group, r.name))
            .or_default()
            .push((r.line, r.runbook_line));
    }
    out
}

#[derive(Deserialize)]
struct StatusBody {
    config: StatusConfig,
}

#[derive(Deserialize)]
struct StatusConfig {
    original: String,
}

/// The routing of a running Alertmanager. Lines are lines of the config as
/// Alertmanager prints it back, which the source named `<url>/api/v2/status`
/// says.
pub async fn alertmanager_routing(base: &str) -> Result<Routing, ReadinessError> {
    let url = format!("{}/api/v2/status", base.trim_end_matches('/'));
    let body: StatusBody = get_json(&url).await?;
    Routing::parse(&url, &body.config.original).map_err(ReadinessError::Invalid)
}

/// Why a runbook URL does not resolve.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HeadError {
    #[error("no HTTP client")]
    NoClient,
    #[error("HEAD {url} answered {status}")]
    Status {
        url: String,
        status: reqwest::StatusCode,
    },
    #[error("HEAD {url} failed: {chain}")]
    Failed { url: String, chain: String },
}

/// HEAD each URL once; `Err` holds why it does not resolve.
pub async fn head_all(urls: &[String]) -> BTreeMap<String, Result<(), HeadError>> {
    let Ok(client) = client() else {
        return urls
            .iter()
            .map(|u| (u.clone(), Err(HeadError::NoClient)))
            .collect();
    };
    let checks = urls.iter().map(|u| {
        let client = client.clone();
        async move {
            let verdict = match client.head(u).send().await {
                Ok(r) if r.status().is_success() || r.status().is_redirection() => Ok(()),
                Ok(r) => Err(HeadError::Status {
                    url: u.clone(),
                    status: r.status(),
                }),
                Err(e) => Err(HeadError::Failed {
                    url: u.clone(),
                    chain: crate::observe::error_chain(&e),
                }),
            };
            (u.clone(), verdict)
        }
    });
    futures::future::join_all(checks)
        .await
        .into_iter()
        .collect()
}

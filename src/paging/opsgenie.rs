//! Opsgenie: pages are alerts (`POST /v2/alerts`, `CreateAlertPayload` of
//! opsgenie/opsgenie-oas, vendored in tests/fixtures/paging/), keyed by
//! `alias`; read back as the alert's logs
//! (`GET /v2/alerts/{alias}/logs?identifierType=alias`, one request that
//! needs no alert id); closed with `POST /v2/alerts/{alias}/close`. The EU
//! instance is `apiUrl: https://api.eu.opsgenie.com`.

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::http::{self, PagingError};
use super::{EntryKind, LogEntry, Page, Pager, Secret, expand_env, time};
use crate::config::{OnCallSource, OpsgenieConfig};

pub const SOURCE: &str = "opsgenie";
const API_URL: &str = "https://api.opsgenie.com";
/// `message` is limited to 130 characters (Alert API, "Create Alert").
const MESSAGE_MAX: usize = 130;

pub struct Opsgenie {
    client: reqwest::Client,
    api_url: String,
    api_key: Secret,
    oncall: Option<OnCallSource>,
}

impl Opsgenie {
    pub fn new(c: &OpsgenieConfig) -> Result<Self, PagingError> {
        Ok(Opsgenie {
            client: http::client()?,
            api_url: expand_env(c.api_url.as_deref().unwrap_or(API_URL))
                .trim_end_matches('/')
                .to_string(),
            api_key: Secret::from_env("paging.opsgenie.apiKey", &c.api_key)?,
            oncall: c.oncall.clone(),
        })
    }

    fn auth(&self) -> String {
        format!("GenieKey {}", self.api_key.expose())
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, PagingError> {
        let url = format!("{}{path}", self.api_url);
        let r = http::send(|| {
            self.client
                .get(&url)
                .query(query)
                .header("Authorization", self.auth())
        })
        .await?;
        http::json(r).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<(), PagingError> {
        let url = format!("{}{path}", self.api_url);
        http::send(|| {
            self.client
                .post(&url)
                .query(&[("identifierType", "alias")])
                .header("Authorization", self.auth())
                .json(&body)
        })
        .await?;
        Ok(())
    }
}

/// The text inside the last `[...]` of a log line (Opsgenie writes the
/// recipient last: `Sent [SMS] notification to [jane@example.com]`).
fn bracketed(log: &str) -> Option<String> {
    let start = log.rfind('[')? + 1;
    let end = log[start..].find(']')? + start;
    Some(log[start..end].to_string())
}

/// Alert logs, normalised by their wording: Opsgenie's log `type` is coarse
/// (`system`, `alertRecipient`), the `log` text says what happened.
pub fn alert_logs(v: &Value) -> Vec<LogEntry> {
    let mut out = Vec::new();
    let mut level = 1;
    for e in v["data"].as_array().into_iter().flatten() {
        let Some(at) = time(e.get("createdAt")) else {
            continue;
        };
        let log = e["log"].as_str().unwrap_or_default();
        let lower = log.to_ascii_lowercase();
        let owner = e["owner"].as_str().map(str::to_string);
        let (kind, who) = if lower.contains("alert created") {
            (EntryKind::Trigger, None)
        } else if lower.contains("acknowledged") && !lower.contains("unacknowledged") {
            (EntryKind::Acknowledge, owner)
        } else if lower.contains("escalat") {
            level += 1;
            (EntryKind::Escalate, bracketed(log))
        } else if lower.contains("notification to") {
            (EntryKind::Notify, bracketed(log))
        } else if lower.contains("alert closed") || lower.contains("closed by") {
            (EntryKind::Resolve, owner)
        } else {
            continue;
        };
        out.push(LogEntry {
            kind,
            at,
            who,
            level: (kind == EntryKind::Escalate).then_some(level),
        });
    }
    out.sort_by_key(|e| e.at);
    out
}

impl Pager for Opsgenie {
    fn source(&self) -> &'static str {
        SOURCE
    }

    fn trigger<'a>(&'a self, page: &'a Page) -> BoxFuture<'a, Result<(), PagingError>> {
        let mut tags = vec!["gameday"];
        if page.drill {
            tags.push("drill");
        }
        let priority = match page.severity.as_str() {
            "critical" => "P1",
            "error" => "P2",
            "warning" => "P3",
            _ => "P4",
        };
        let body = json!({
            "message": page.summary.chars().take(MESSAGE_MAX).collect::<String>(),
            "alias": page.key,
            "description": page.summary,
            "details": page.details,
            "tags": tags,
            "priority": priority,
            "source": "gameday",
        });
        async move {
            let url = format!("{}/v2/alerts", self.api_url);
            http::send(|| {
                self.client
                    .post(&url)
                    .header("Authorization", self.auth())
                    .json(&body)
            })
            .await?;
            Ok(())
        }
        .boxed()
    }

    fn resolve<'a>(&'a self, page: &'a Page) -> BoxFuture<'a, Result<(), PagingError>> {
        let body = json!({"source": "gameday", "note": "closed by gameday at the end of the run"});
        async move {
            self.post(&format!("/v2/alerts/{}/close", page.key), body)
                .await
        }
        .boxed()
    }

    fn read_back<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Vec<LogEntry>, PagingError>> {
        async move {
            let v = self
                .get(
                    &format!("/v2/alerts/{key}/logs"),
                    &[
                        ("identifierType", "alias"),
                        ("limit", "100"),
                        ("order", "asc"),
                    ],
                )
                .await?;
            Ok(alert_logs(&v))
        }
        .boxed()
    }

    fn on_call(&self) -> BoxFuture<'_, Result<Option<String>, PagingError>> {
        async move {
            let Some(schedule) = super::schedule(&self.oncall) else {
                return Ok(None);
            };
            let v = self
                .get(
                    &format!("/v2/schedules/{schedule}/on-calls"),
                    &[("scheduleIdentifierType", "name"), ("flat", "true")],
                )
                .await?;
            Ok(super::first_str(&v["data"]["onCallRecipients"]))
        }
        .boxed()
    }

    fn check(&self) -> BoxFuture<'_, Result<String, PagingError>> {
        async move {
            let v = self.get("/v2/account", &[]).await?;
            let name = v["data"]["name"].as_str().unwrap_or("?");
            Ok(format!("API key accepted (account {name})"))
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_are_read_by_their_wording() {
        let v = json!({"data": [
            {"log": "Alert created via API", "type": "system", "createdAt": "2026-01-01T00:00:00Z"},
            {"log": "Sent [SMS] notification to [jane@example.com]", "type": "alertRecipient", "createdAt": "2026-01-01T00:00:01Z"},
            {"log": "Alert acknowledged via web", "type": "system", "owner": "jane@example.com", "createdAt": "2026-01-01T00:00:42Z"},
        ]});
        let e = alert_logs(&v);
        assert_eq!(e.len(), 3);
        assert_eq!(e[1].kind, EntryKind::Notify);
        assert_eq!(e[1].who.as_deref(), Some("jane@example.com"));
        assert_eq!(e[2].kind, EntryKind::Acknowledge);
        assert_eq!(e[2].who.as_deref(), Some("jane@example.com"));
    }
}

//! PagerDuty: pages through the Events API v2 (`POST /v2/enqueue`, request
//! body as in PagerDuty/api-schema `reference/events-v2/openapiv3.json`,
//! vendored in tests/fixtures/paging/), read back through the REST API
//! (`reference/REST/openapiv3.json`): the incident by `incident_key` (the
//! event's `dedup_key`), then its `log_entries`; `/oncalls` for who holds a
//! schedule or escalation policy; `/abilities` as `plan`'s read-only check.

use std::collections::HashMap;
use std::sync::Mutex;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::http::{self, PagingError};
use super::{EntryKind, LogEntry, Page, Pager, Secret, expand_env, time};
use crate::config::{OnCallSource, PagerDutyConfig};

pub const SOURCE: &str = "pagerduty";
const EVENTS_URL: &str = "https://events.pagerduty.com";
const API_URL: &str = "https://api.pagerduty.com";
/// REST API version header (REST API docs, "Versioning").
const ACCEPT: &str = "application/vnd.pagerduty+json;version=2";

pub struct PagerDuty {
    client: reqwest::Client,
    events_url: String,
    api_url: String,
    routing_key: Secret,
    api_token: Option<Secret>,
    oncall: Option<OnCallSource>,
    /// Incident id by dedup key, once found: later reads go straight to
    /// its log entries, one request each.
    incidents: Mutex<HashMap<String, String>>,
}

impl PagerDuty {
    pub fn new(c: &PagerDutyConfig) -> Result<Self, PagingError> {
        let base = |v: &Option<String>, default: &str| {
            expand_env(v.as_deref().unwrap_or(default))
                .trim_end_matches('/')
                .to_string()
        };
        Ok(PagerDuty {
            client: http::client()?,
            events_url: base(&c.events_url, EVENTS_URL),
            api_url: base(&c.api_url, API_URL),
            routing_key: Secret::from_env("paging.pagerduty.routingKey", &c.routing_key)?,
            api_token: c
                .api_token
                .as_deref()
                .map(|t| Secret::from_env("paging.pagerduty.apiToken", t))
                .transpose()?,
            oncall: c.oncall.clone(),
            incidents: Mutex::default(),
        })
    }

    async fn event(&self, body: Value) -> Result<(), PagingError> {
        let url = format!("{}/v2/enqueue", self.events_url);
        http::send(|| self.client.post(&url).json(&body)).await?;
        Ok(())
    }

    async fn rest(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, PagingError> {
        let token = self.api_token.as_ref().ok_or_else(|| {
            PagingError::Config("reading back needs `paging.pagerduty.apiToken`".into())
        })?;
        let url = format!("{}{path}", self.api_url);
        let r = http::send(|| {
            self.client
                .get(&url)
                .query(query)
                .header("Accept", ACCEPT)
                .header("Authorization", format!("Token token={}", token.expose()))
        })
        .await?;
        http::json(r).await
    }

    fn known_incident(&self, key: &str) -> Option<String> {
        self.incidents.lock().ok()?.get(key).cloned()
    }

    /// First read: the incident itself (created_at, acknowledgements).
    async fn find_incident(&self, key: &str) -> Result<Vec<LogEntry>, PagingError> {
        let v = self
            .rest(
                "/incidents",
                &[("incident_key", key), ("date_range", "all")],
            )
            .await?;
        let Some(incident) = v["incidents"].as_array().and_then(|a| a.first()) else {
            return Ok(Vec::new());
        };
        if let (Some(id), Ok(mut map)) = (incident["id"].as_str(), self.incidents.lock()) {
            map.insert(key.to_string(), id.to_string());
        }
        let mut entries: Vec<LogEntry> = time(incident.get("created_at"))
            .map(|at| LogEntry {
                kind: EntryKind::Trigger,
                at,
                who: None,
                level: None,
            })
            .into_iter()
            .collect();
        for a in incident["acknowledgements"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(at) = time(a.get("at")) {
                entries.push(LogEntry {
                    kind: EntryKind::Acknowledge,
                    at,
                    who: summary(&a["acknowledger"]),
                    level: None,
                });
            }
        }
        Ok(entries)
    }
}

/// A reference's `summary` (PagerDuty's display name for it).
fn summary(v: &Value) -> Option<String> {
    v.get("summary").and_then(Value::as_str).map(str::to_string)
}

/// Log entries in time order, normalised; escalations numbered from level
/// 2 (the first level is the one paged).
pub fn log_entries(v: &Value) -> Vec<LogEntry> {
    let mut raw: Vec<&Value> = v["log_entries"].as_array().into_iter().flatten().collect();
    raw.sort_by_key(|e| time(e.get("created_at")));
    let mut level = 1;
    let mut out = Vec::new();
    for e in raw {
        let Some(at) = time(e.get("created_at")) else {
            continue;
        };
        let assignees = || {
            let names: Vec<String> = e["assignees"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(summary)
                .collect();
            (!names.is_empty()).then(|| names.join(", "))
        };
        let (kind, who) = match e["type"].as_str().unwrap_or_default() {
            "trigger_log_entry" => (EntryKind::Trigger, None),
            "notify_log_entry" => (EntryKind::Notify, summary(&e["user"])),
            // The spec names it both ways (LogEntry vs AcknowledgeLogEntry).
            "acknowledge_log_entry" | "acknowledgement_log_entry" => {
                (EntryKind::Acknowledge, summary(&e["agent"]))
            }
            "escalate_log_entry" => {
                level += 1;
                (EntryKind::Escalate, assignees())
            }
            "assign_log_entry" => (EntryKind::Assign, assignees()),
            "resolve_log_entry" => (EntryKind::Resolve, summary(&e["agent"])),
            _ => continue,
        };
        out.push(LogEntry {
            kind,
            at,
            who,
            level: (kind == EntryKind::Escalate).then_some(level),
        });
    }
    out
}

impl Pager for PagerDuty {
    fn source(&self) -> &'static str {
        SOURCE
    }

    fn trigger<'a>(&'a self, page: &'a Page) -> BoxFuture<'a, Result<(), PagingError>> {
        let body = json!({
            "routing_key": self.routing_key.expose(),
            "event_action": "trigger",
            "dedup_key": page.key,
            "client": "gameday",
            "payload": {
                "summary": page.summary,
                "source": "gameday",
                "severity": page.severity,
                "custom_details": page.details,
            },
        });
        async move { self.event(body).await }.boxed()
    }

    fn resolve<'a>(&'a self, page: &'a Page) -> BoxFuture<'a, Result<(), PagingError>> {
        let body = json!({
            "routing_key": self.routing_key.expose(),
            "event_action": "resolve",
            "dedup_key": page.key,
        });
        async move { self.event(body).await }.boxed()
    }

    fn read_back<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Vec<LogEntry>, PagingError>> {
        async move {
            match self.known_incident(key) {
                None => self.find_incident(key).await,
                Some(id) => {
                    let v = self
                        .rest(
                            &format!("/incidents/{id}/log_entries"),
                            &[("limit", "100"), ("is_overview", "false")],
                        )
                        .await?;
                    Ok(log_entries(&v))
                }
            }
        }
        .boxed()
    }

    fn on_call(&self) -> BoxFuture<'_, Result<Option<String>, PagingError>> {
        async move {
            let Some(src) = &self.oncall else {
                return Ok(None);
            };
            let mut query = vec![("earliest", "true")];
            if let Some(s) = &src.schedule {
                query.push(("schedule_ids[]", s));
            }
            if let Some(p) = &src.escalation_policy {
                query.push(("escalation_policy_ids[]", p));
            }
            let v = self.rest("/oncalls", &query).await?;
            let lowest = v["oncalls"]
                .as_array()
                .into_iter()
                .flatten()
                .min_by_key(|o| o["escalation_level"].as_u64().unwrap_or(u64::MAX));
            Ok(lowest.and_then(|o| summary(&o["user"])))
        }
        .boxed()
    }

    fn check(&self) -> BoxFuture<'_, Result<String, PagingError>> {
        async move {
            if self.api_token.is_none() {
                return Ok("events only (no apiToken): the Events API has no read-only call, so the routing key is not checked and nothing is read back".into());
            }
            self.rest("/abilities", &[]).await?;
            Ok(format!("REST API token accepted ({}/abilities)", self.api_url))
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_entries_are_normalised_and_escalations_numbered() {
        let v = json!({"log_entries": [
            {"type": "acknowledge_log_entry", "created_at": "2026-01-01T00:00:42Z", "agent": {"summary": "Ada"}},
            {"type": "trigger_log_entry", "created_at": "2026-01-01T00:00:00Z"},
            {"type": "notify_log_entry", "created_at": "2026-01-01T00:00:00Z", "user": {"summary": "Bo"}},
            {"type": "escalate_log_entry", "created_at": "2026-01-01T00:05:00Z", "assignees": [{"summary": "Cy"}]},
            {"type": "annotate_log_entry", "created_at": "2026-01-01T00:06:00Z"},
        ]});
        let e = log_entries(&v);
        let kinds: Vec<EntryKind> = e.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                EntryKind::Trigger,
                EntryKind::Notify,
                EntryKind::Acknowledge,
                EntryKind::Escalate
            ]
        );
        assert_eq!(e[2].who.as_deref(), Some("Ada"));
        assert_eq!((e[3].who.as_deref(), e[3].level), (Some("Cy"), Some(2)));
    }
}

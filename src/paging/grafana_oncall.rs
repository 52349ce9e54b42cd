//! Grafana OnCall: pages go to a Formatted Webhook integration (`alert_uid`,
//! `title`, `state: alerting|ok`, `message`; documented at
//! grafana.com/docs/oncall/latest/configure/integrations/references/webhook/,
//! transcribed into tests/fixtures/paging/), and `state: ok` with the same
//! `alert_uid` resolves the alert group. Read back from the public API's
//! alert groups (`GET /api/v1/alert_groups/`: `created_at`,
//! `acknowledged_at`, `acknowledged_by`, `resolved_at`), found by the
//! `alert_uid` of their last alert. OnCall's API does not expose
//! notifications or escalation steps, so only T_ack and the acknowledger
//! come from it.

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::http::{self, PagingError};
use super::{EntryKind, LogEntry, Page, Pager, Secret, expand_env, time};
use crate::config::{GrafanaOncallConfig, OnCallSource};

pub const SOURCE: &str = "grafana-oncall";

pub struct GrafanaOncall {
    client: reqwest::Client,
    url: String,
    token: Secret,
    webhook_url: Secret,
    oncall: Option<OnCallSource>,
}

impl GrafanaOncall {
    pub fn new(c: &GrafanaOncallConfig) -> Result<Self, PagingError> {
        Ok(GrafanaOncall {
            client: http::client()?,
            url: expand_env(&c.url).trim_end_matches('/').to_string(),
            token: Secret::from_env("paging.grafanaOncall.token", &c.token)?,
            webhook_url: Secret::from_env("paging.grafanaOncall.webhookUrl", &c.webhook_url)?,
            oncall: c.oncall.clone(),
        })
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, PagingError> {
        let url = format!("{}{path}", self.url);
        let r = http::send(|| {
            self.client
                .get(&url)
                .query(query)
                .header("Authorization", self.token.expose())
        })
        .await?;
        http::json(r).await
    }

    async fn webhook(&self, body: Value) -> Result<(), PagingError> {
        http::send(|| self.client.post(self.webhook_url.expose()).json(&body)).await?;
        Ok(())
    }
}

/// The alert group whose last alert carries `key` as its `alert_uid`.
pub fn group_entries(v: &Value, key: &str) -> Vec<LogEntry> {
    let group = v["results"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|g| g["last_alert"]["payload"]["alert_uid"].as_str() == Some(key));
    let Some(g) = group else {
        return Vec::new();
    };
    let who = |k: &str| g[k].as_str().map(str::to_string);
    [
        (EntryKind::Trigger, "created_at", None),
        (
            EntryKind::Acknowledge,
            "acknowledged_at",
            who("acknowledged_by"),
        ),
        (EntryKind::Resolve, "resolved_at", who("resolved_by")),
    ]
    .into_iter()
    .filter_map(|(kind, field, who)| {
        time(g.get(field)).map(|at| LogEntry {
            kind,
            at,
            who,
            level: None,
        })
    })
    .collect()
}

impl Pager for GrafanaOncall {
    fn source(&self) -> &'static str {
        SOURCE
    }

    fn trigger<'a>(&'a self, page: &'a Page) -> BoxFuture<'a, Result<(), PagingError>> {
        let message = page
            .details
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("\n");
        let body = json!({
            "alert_uid": page.key,
            "title": page.summary,
            "state": "alerting",
            "message": message,
        });
        async move { self.webhook(body).await }.boxed()
    }

    fn resolve<'a>(&'a self, page: &'a Page) -> BoxFuture<'a, Result<(), PagingError>> {
        let body = json!({"alert_uid": page.key, "title": page.summary, "state": "ok"});
        async move { self.webhook(body).await }.boxed()
    }

    fn read_back<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Vec<LogEntry>, PagingError>> {
        async move {
            let v = self.get("/api/v1/alert_groups/", &[]).await?;
            Ok(group_entries(&v, key))
        }
        .boxed()
    }

    fn on_call(&self) -> BoxFuture<'_, Result<Option<String>, PagingError>> {
        async move {
            let Some(name) = super::schedule(&self.oncall) else {
                return Ok(None);
            };
            let v = self.get("/api/v1/schedules/", &[("name", name)]).await?;
            Ok(super::first_str(&v["results"][0]["on_call_now"]))
        }
        .boxed()
    }

    fn check(&self) -> BoxFuture<'_, Result<String, PagingError>> {
        async move {
            self.get("/api/v1/integrations/", &[]).await?;
            Ok(format!(
                "API token accepted ({}/api/v1/integrations/)",
                self.url
            ))
        }
        .boxed()
    }
}

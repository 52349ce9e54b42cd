//! The `paging:` section of gameday.yaml: which paging tools (PagerDuty,
//! Opsgenie, Grafana OnCall) a run pages through and reads back from
//! (docs/paging.md). Credentials are never written in the file: each names
//! an environment variable as `${NAME}`, so the file can be committed and
//! journalled (`run.start` records the config) without leaking a token.
//! Loading refuses a literal credential; `crate::paging` expands the names
//! at run time into redacting `Secret`s.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::values::Duration;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Paging {
    /// Who sends the pages: `direct` (gameday, through each integration's
    /// API; the default) or `alertmanager` (Alertmanager's own PagerDuty or
    /// Opsgenie receiver; gameday then only looks up who is on call and
    /// checks the integrations).
    #[serde(default)]
    pub via: PagingVia,
    /// Wall time between two read-backs of one integration: the poller makes
    /// at most one read request per integration per interval. Default 10s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagerduty: Option<PagerDutyConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opsgenie: Option<OpsgenieConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grafana_oncall: Option<GrafanaOncallConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum PagingVia {
    #[default]
    Direct,
    Alertmanager,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PagerDutyConfig {
    /// `${NAME}` of the Events API v2 integration key.
    pub routing_key: String,
    /// `${NAME}` of a REST API token (read-back, on-call, `plan`'s check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_token: Option<String>,
    /// Events API base; gameday POSTs to `<eventsUrl>/v2/enqueue`.
    /// Default `https://events.pagerduty.com` (EU: `https://events.eu.pagerduty.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_url: Option<String>,
    /// REST API base. Default `https://api.pagerduty.com` (EU: `https://api.eu.pagerduty.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// Whose on-call person `ops-oncall` resolves to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oncall: Option<OnCallSource>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OpsgenieConfig {
    /// `${NAME}` of an API integration key (`Authorization: GenieKey …`).
    pub api_key: String,
    /// API base. Default `https://api.opsgenie.com` (EU: `https://api.eu.opsgenie.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oncall: Option<OnCallSource>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GrafanaOncallConfig {
    /// The OnCall API base (OnCall → Settings), e.g. `https://oncall.example.com`.
    pub url: String,
    /// `${NAME}` of an OnCall API key.
    pub token: String,
    /// `${NAME}` of the Formatted Webhook integration URL pages are sent to
    /// (the URL holds the integration's own secret).
    pub webhook_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oncall: Option<OnCallSource>,
}

/// A named schedule or escalation policy whose current on-call person
/// `ops-oncall` resolves to at run start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OnCallSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// PagerDuty only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation_policy: Option<String>,
}

/// A `${NAME}` reference: the whole value names one environment variable.
pub fn env_reference(value: &str) -> Option<&str> {
    let name = value.strip_prefix("${")?.strip_suffix('}')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    ((first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then_some(name)
}

impl Paging {
    /// Each credential field as (YAML path, value), for the literal check.
    pub fn credentials(&self) -> Vec<([&'static str; 2], &str)> {
        let mut v = Vec::new();
        if let Some(p) = &self.pagerduty {
            v.push((["pagerduty", "routingKey"], p.routing_key.as_str()));
            if let Some(t) = &p.api_token {
                v.push((["pagerduty", "apiToken"], t.as_str()));
            }
        }
        if let Some(o) = &self.opsgenie {
            v.push((["opsgenie", "apiKey"], o.api_key.as_str()));
        }
        if let Some(g) = &self.grafana_oncall {
            v.push((["grafanaOncall", "token"], g.token.as_str()));
            v.push((["grafanaOncall", "webhookUrl"], g.webhook_url.as_str()));
        }
        v
    }

    /// Whether any integration is configured.
    pub fn any(&self) -> bool {
        self.pagerduty.is_some() || self.opsgenie.is_some() || self.grafana_oncall.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn a_literal_token_is_refused_at_its_position_without_printing_it() {
        let text =
            "paging:\n  pagerduty:\n    routingKey: ${PD_ROUTING_KEY}\n    apiToken: u+S3CRET\n";
        let d = Config::load_str("gameday.yaml", text).unwrap_err();
        assert_eq!((d[0].line, d[0].column), (4, 15), "{d:?}");
        assert!(d[0].message.contains("paging.pagerduty.apiToken"));
        assert!(d[0].hint.as_deref().unwrap().contains("${NAME}"));
        let shown = crate::diag::render_all(&d, false);
        assert!(!shown.contains("S3CRET"), "{shown}");
        let ok = "paging:\n  via: alertmanager\n  pagerduty:\n    routingKey: ${PD_ROUTING_KEY}\n";
        assert!(Config::load_str("gameday.yaml", ok).is_ok());
    }

    #[test]
    fn only_a_whole_dollar_brace_name_is_a_reference() {
        assert_eq!(env_reference("${PD_API_TOKEN}"), Some("PD_API_TOKEN"));
        assert_eq!(env_reference("u+abc123"), None);
        assert_eq!(env_reference("${1X}"), None);
        assert_eq!(env_reference("x${A}"), None);
        assert_eq!(env_reference("${}"), None);
    }
}

//! Paging tools as sources of truth (issue 17, docs/paging.md): PagerDuty,
//! Opsgenie and Grafana OnCall, one file each behind the [`Pager`] trait.
//! A run triggers its pages through them, reads back what the tool logged
//! (notifications, the acknowledgement and who gave it, escalations), looks
//! up who is on call, and resolves every page at the end.
//!
//! Separate from `observe` because these are third-party SaaS APIs with
//! credentials, rate limits and outages of their own: every call here is
//! time-bound and retried within a budget ([`http`]), and every failure is a
//! warning the caller reports while the run goes on with its own sources.
//! Nothing here writes the journal; the session reports [`PagingEvent`]s to
//! a sink the caller provides.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use jiff::Timestamp;

use crate::config;

pub mod grafana_oncall;
mod http;
pub mod opsgenie;
pub mod pagerduty;
pub mod session;

pub use http::{CALL_BUDGET, PagingError};
pub use session::{PagingEvent, PagingSession};

/// A credential: Debug and Display print `***`, so a token cannot reach a
/// log line, an error message or a journal entry by accident; only the
/// request builders call [`Secret::expose`].
#[derive(Clone)]
pub struct Secret(Arc<str>);

impl Secret {
    pub fn new(value: &str) -> Self {
        Secret(Arc::from(value))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value of the `${NAME}` reference `reference` (checked when the
    /// config was loaded) from the environment.
    pub fn from_env(field: &str, reference: &str) -> Result<Secret, PagingError> {
        let name = config::env_reference(reference).ok_or_else(|| {
            PagingError::Config(format!(
                "`{field}` must be `${{NAME}}` of an environment variable"
            ))
        })?;
        match std::env::var(name) {
            Ok(v) if !v.is_empty() => Ok(Secret::new(&v)),
            _ => Err(PagingError::Config(format!(
                "`{field}` names ${{{name}}}, which is not set in the environment"
            ))),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Expands `${NAME}` anywhere in a non-secret value (a base URL), so one
/// gameday.yaml can point at staging or production by environment.
pub fn expand_env(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                out.push_str(&std::env::var(&after[..end]).unwrap_or_default());
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// One page to send: the same for every tool.
#[derive(Debug, Clone)]
pub struct Page {
    /// The dedup key (PagerDuty `dedup_key`, Opsgenie `alias`, OnCall
    /// `alert_uid`): derived from the run id, so a re-post updates the same
    /// incident and the end resolves exactly it.
    pub key: String,
    /// Starts with `[DRILL] ` for drill pages.
    pub summary: String,
    pub drill: bool,
    /// `critical`, `error`, `warning` or `info` (PagerDuty's words).
    pub severity: String,
    /// Custom details: run id, drill flag, inject, labels.
    pub details: BTreeMap<String, String>,
}

/// The prefix that marks a page as an exercise in every tool's UI.
pub const DRILL_PREFIX: &str = "[DRILL] ";

/// The dedup key of a run's page for `what` (an inject id or an alert).
pub fn page_key(run_id: &str, what: &str) -> String {
    format!("gameday-{run_id}-{what}")
}

/// What a tool logged about a page, normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    /// The tool created the incident/alert: the anchor of its clock.
    Trigger,
    /// A person was notified (T_notify is the first).
    Notify,
    Acknowledge,
    Escalate,
    Assign,
    Resolve,
}

impl EntryKind {
    /// The journal event name.
    pub fn event(self) -> &'static str {
        match self {
            EntryKind::Trigger => "paging.created",
            EntryKind::Notify => "paging.notified",
            EntryKind::Acknowledge => "paging.acknowledged",
            EntryKind::Escalate => "paging.escalated",
            EntryKind::Assign => "paging.assigned",
            EntryKind::Resolve => "paging.closed",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub kind: EntryKind,
    /// In the tool's clock.
    pub at: Timestamp,
    /// The person (acknowledger, notified user, escalation target).
    pub who: Option<String>,
    /// Escalation level reached, when the tool says.
    pub level: Option<u32>,
}

/// One paging tool. Every method makes at most the requests its doc says,
/// each bounded by [`CALL_BUDGET`] with its retries.
pub trait Pager: Send + Sync {
    /// `pagerduty`, `opsgenie`, `grafana-oncall`: the journal's source.
    fn source(&self) -> &'static str;
    /// Opens (or re-posts) the page. One request.
    fn trigger<'a>(&'a self, page: &'a Page) -> BoxFuture<'a, Result<(), PagingError>>;
    /// Resolves the page with this key. One request.
    fn resolve<'a>(&'a self, page: &'a Page) -> BoxFuture<'a, Result<(), PagingError>>;
    /// Everything the tool has logged about the page so far. Exactly one
    /// read request (the poller's budget per interval).
    fn read_back<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Vec<LogEntry>, PagingError>>;
    /// The person on call now for the configured schedule or escalation
    /// policy; None when none is configured. At most one request.
    fn on_call(&self) -> BoxFuture<'_, Result<Option<String>, PagingError>>;
    /// One read-only call that proves the credentials work (`gameday plan`).
    fn check(&self) -> BoxFuture<'_, Result<String, PagingError>>;
}

/// The integrations of `paging:` that could be built, and those that
/// could not (a variable unset), each with why: the reason names the
/// field, never the value.
#[derive(Default)]
pub struct Connected {
    pub pagers: Vec<Arc<dyn Pager>>,
    pub failed: Vec<(&'static str, PagingError)>,
}

impl Connected {
    fn add<P: Pager + 'static>(&mut self, source: &'static str, built: Result<P, PagingError>) {
        match built {
            Ok(p) => self.pagers.push(Arc::new(p)),
            Err(e) => self.failed.push((source, e)),
        }
    }
}

/// The integrations of `paging:`, each with its credentials from the
/// environment.
pub fn connect(paging: &config::Paging) -> Connected {
    let mut c = Connected::default();
    if let Some(cfg) = &paging.pagerduty {
        c.add(pagerduty::SOURCE, pagerduty::PagerDuty::new(cfg));
    }
    if let Some(cfg) = &paging.opsgenie {
        c.add(opsgenie::SOURCE, opsgenie::Opsgenie::new(cfg));
    }
    if let Some(cfg) = &paging.grafana_oncall {
        c.add(
            grafana_oncall::SOURCE,
            grafana_oncall::GrafanaOncall::new(cfg),
        );
    }
    c
}

/// `gameday plan`'s verdict on one integration.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    pub source: String,
    pub ok: bool,
    pub detail: String,
}

/// Checks every configured integration with one read-only call each (all
/// at once, each within its budget); an integration that cannot be built
/// is reported as failed with the reason.
pub async fn check_all(paging: &config::Paging) -> Vec<Check> {
    let Connected { pagers, failed } = connect(paging);
    let mut checks: Vec<Check> = failed
        .into_iter()
        .map(|(source, e)| Check {
            source: source.to_string(),
            ok: false,
            detail: e.to_string(),
        })
        .collect();
    let results = futures::future::join_all(
        pagers
            .iter()
            .map(|p| async move { (p.source(), p.check().await) }),
    )
    .await;
    for (source, r) in results {
        checks.push(Check {
            source: source.to_string(),
            ok: r.is_ok(),
            detail: r.unwrap_or_else(|e| e.to_string()),
        });
    }
    checks
}

/// The schedule named in an integration's `oncall:`.
fn schedule(oncall: &Option<config::OnCallSource>) -> Option<&str> {
    oncall.as_ref()?.schedule.as_deref()
}

/// The first string of a JSON array (the first on-call person).
fn first_str(v: &serde_json::Value) -> Option<String> {
    v.as_array()?.first()?.as_str().map(str::to_string)
}

/// Parses an RFC 3339 time from a tool's JSON.
fn time(v: Option<&serde_json::Value>) -> Option<Timestamp> {
    v?.as_str()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_formats_its_value() {
        let s = Secret::new("u+tok3n");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
        assert_eq!(s.expose(), "u+tok3n");
    }

    #[test]
    fn expand_env_replaces_names_and_keeps_the_rest() {
        // SAFETY-free: a name no other test sets.
        assert_eq!(
            expand_env("http://h/${GAMEDAY_TEST_SURELY_UNSET_9}/x"),
            "http://h//x"
        );
        assert_eq!(expand_env("plain"), "plain");
        assert_eq!(expand_env("a${b"), "a${b");
    }
}

//! Detection inputs: what Prometheus and Alertmanager say about alerts.
//!
//! Each timestamp of the detection chain comes from the system that owns it,
//! not from when gameday happened to poll:
//! - T_active: Prometheus `/api/v1/alerts` `activeAt` (the alert went pending);
//! - T_fire: Alertmanager `/api/v2/alerts` `startsAt` (Prometheus sends
//!   `StartsAt = FiredAt`, pending alerts are never sent);
//! - acknowledgement: an Alertmanager silence covering the alert; `createdBy`
//!   says who, and since a silence carries no "acknowledged at" of its own,
//!   the first poll that sees it is when (capped below by its `updatedAt`
//!   when that is later, as it is for a silence created mid-run);
//! - T_resolve: the first poll at which Prometheus no longer reports a fired
//!   expected alert, or Alertmanager's `endsAt` once it is in the past.
//!
//! `runbook_url` comes from the rule's annotations (`/api/v1/rules`), so a
//! missing runbook link can become an action item.
//!
//! The webhook (T_notify) is received by the run's responder API, not here.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::connection::{AlertmanagerConn, PrometheusConn};
use super::error_chain;
use crate::scenario::ExpectedAlert;

pub type Labels = BTreeMap<String, String>;

#[derive(Debug, thiserror::Error)]
pub enum AlertsError {
    #[error("{what}: {reason}")]
    Request { what: String, reason: String },
    #[error("{what}: unexpected answer: {reason}")]
    Decode { what: String, reason: String },
}

async fn get<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: Result<reqwest::Url, super::ConnectionError>,
    what: &str,
) -> Result<T, AlertsError> {
    let url = url.map_err(|e| AlertsError::Request {
        what: what.to_string(),
        reason: e.to_string(),
    })?;
    let response = http
        .get(url)
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| AlertsError::Request {
            what: what.to_string(),
            reason: error_chain(&e),
        })?;
    let status = response.status();
    let body = response.text().await.map_err(|e| AlertsError::Request {
        what: what.to_string(),
        reason: error_chain(&e),
    })?;
    if !status.is_success() {
        let snippet: String = body.chars().take(200).collect();
        return Err(AlertsError::Request {
            what: what.to_string(),
            reason: format!("HTTP {status}: {}", snippet.trim()),
        });
    }
    serde_json::from_str(&body).map_err(|e| AlertsError::Decode {
        what: what.to_string(),
        reason: e.to_string(),
    })
}

#[derive(Debug, Deserialize)]
struct PromEnvelope<T> {
    data: T,
}

// ------------------------------------------------------------------ Prometheus

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PromAlertState {
    Inactive,
    Pending,
    Firing,
}

/// An alert as Prometheus's rule evaluation sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromAlert {
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub annotations: Labels,
    pub state: PromAlertState,
    /// When the alert went pending.
    #[serde(default)]
    pub active_at: Option<Timestamp>,
    /// The expression's value, as Prometheus formats it.
    #[serde(default)]
    pub value: Option<String>,
}

impl PromAlert {
    pub fn name(&self) -> &str {
        self.labels.get("alertname").map_or("", String::as_str)
    }
}

#[derive(Debug, Deserialize)]
struct AlertsData {
    alerts: Vec<PromAlert>,
}

/// `GET /api/v1/alerts`: pending and firing alerts.
pub async fn prometheus_alerts(conn: &PrometheusConn) -> Result<Vec<PromAlert>, AlertsError> {
    let env: PromEnvelope<AlertsData> = get(
        conn.http(),
        conn.url("api/v1/alerts"),
        "Prometheus /api/v1/alerts",
    )
    .await?;
    Ok(env.data.alerts)
}

/// The expected alerts that Prometheus reports pending or firing now, as
/// `name state` strings: what a run must wait out before it injects, or a
/// previous run's alert would be taken for this run's (or hide it).
pub async fn active_expected(
    conn: &PrometheusConn,
    expected: &[ExpectedAlert],
) -> Result<Vec<String>, AlertsError> {
    let alerts = prometheus_alerts(conn).await?;
    Ok(alerts
        .iter()
        .filter(|a| a.state != PromAlertState::Inactive)
        .filter(|a| expected.iter().any(|e| is_expected(e, &a.labels)))
        .map(|a| {
            let state = if a.state == PromAlertState::Firing {
                "firing"
            } else {
                "pending"
            };
            format!("{} {state}", a.name())
        })
        .collect())
}

/// An alerting rule, for its `for:` hold and its runbook link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertRule {
    pub group: String,
    pub name: String,
    pub query: String,
    /// The `for:` hold in seconds.
    pub for_seconds: f64,
    pub labels: Labels,
    pub annotations: Labels,
    pub health: String,
}

impl AlertRule {
    /// The `runbook_url` annotation (the common convention), if any.
    pub fn runbook_url(&self) -> Option<&str> {
        self.annotations
            .get("runbook_url")
            .map(String::as_str)
            .filter(|u| !u.is_empty())
    }
}

#[derive(Debug, Deserialize)]
struct RulesData {
    groups: Vec<RawGroup>,
}

#[derive(Debug, Deserialize)]
struct RawGroup {
    name: String,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
struct RawRule {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    #[serde(default)]
    query: String,
    #[serde(default)]
    duration: f64,
    #[serde(default)]
    labels: Option<Labels>,
    #[serde(default)]
    annotations: Option<Labels>,
    #[serde(default)]
    health: String,
}

/// `GET /api/v1/rules?type=alert`: every alerting rule.
pub async fn alert_rules(conn: &PrometheusConn) -> Result<Vec<AlertRule>, AlertsError> {
    let url = conn.url("api/v1/rules").map(|mut u| {
        u.query_pairs_mut().append_pair("type", "alert");
        u
    });
    let env: PromEnvelope<RulesData> = get(conn.http(), url, "Prometheus /api/v1/rules").await?;
    Ok(env
        .data
        .groups
        .into_iter()
        .flat_map(|g| {
            let group = g.name;
            g.rules
                .into_iter()
                .filter(|r| r.kind == "alerting")
                .map(move |r| AlertRule {
                    group: group.clone(),
                    name: r.name,
                    query: r.query,
                    for_seconds: r.duration,
                    labels: r.labels.unwrap_or_default(),
                    annotations: r.annotations.unwrap_or_default(),
                    health: r.health,
                })
        })
        .collect())
}

// ------------------------------------------------------------------ Alertmanager

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AmAlertStatus {
    /// unprocessed | active | suppressed
    pub state: String,
    #[serde(default)]
    pub silenced_by: Vec<String>,
    #[serde(default)]
    pub inhibited_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receiver {
    pub name: String,
}

/// An alert as Alertmanager holds it (`/api/v2/alerts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AmAlert {
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub annotations: Labels,
    pub fingerprint: String,
    /// When the alert started firing (Prometheus's FiredAt).
    pub starts_at: Timestamp,
    #[serde(default)]
    pub ends_at: Option<Timestamp>,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    pub status: AmAlertStatus,
    #[serde(default)]
    pub receivers: Vec<Receiver>,
}

impl AmAlert {
    pub fn name(&self) -> &str {
        self.labels.get("alertname").map_or("", String::as_str)
    }
}

/// `GET /api/v2/alerts` (active, silenced and inhibited alike).
pub async fn alertmanager_alerts(conn: &AlertmanagerConn) -> Result<Vec<AmAlert>, AlertsError> {
    get(
        conn.http(),
        conn.url("api/v2/alerts"),
        "Alertmanager /api/v2/alerts",
    )
    .await
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Matcher {
    pub name: String,
    pub value: String,
    #[serde(default)]
    pub is_regex: bool,
    /// Absent in older Alertmanagers, where every matcher was an equality.
    #[serde(default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

impl Matcher {
    /// Alertmanager semantics: regexes are anchored; a missing label is "".
    pub fn matches(&self, labels: &Labels) -> bool {
        let v = labels.get(&self.name).map_or("", String::as_str);
        let hit = if self.is_regex {
            regex::Regex::new(&format!("^(?:{})$", self.value)).is_ok_and(|re| re.is_match(v))
        } else {
            v == self.value
        };
        hit == self.is_equal
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SilenceStatus {
    /// expired | active | pending
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<Matcher>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    #[serde(default)]
    pub created_by: String,
    #[serde(default)]
    pub comment: String,
    pub status: SilenceStatus,
}

impl Silence {
    /// Whether the silence covers an alert with these labels.
    pub fn covers(&self, labels: &Labels) -> bool {
        !self.matchers.is_empty() && self.matchers.iter().all(|m| m.matches(labels))
    }

    pub fn is_active(&self) -> bool {
        self.status.state == "active"
    }
}

/// `GET /api/v2/silences`.
pub async fn silences(conn: &AlertmanagerConn) -> Result<Vec<Silence>, AlertsError> {
    get(
        conn.http(),
        conn.url("api/v2/silences"),
        "Alertmanager /api/v2/silences",
    )
    .await
}

// ------------------------------------------------------------------ tracking

/// Whether an alert's labels are the expected alert: same alertname, and
/// every extra label the scenario lists equal.
pub fn is_expected(expected: &ExpectedAlert, labels: &Labels) -> bool {
    labels.get("alertname") == Some(&expected.name)
        && expected
            .labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
}

/// Who acknowledged an alert by silencing it, and when that was first seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ack {
    pub by: String,
    pub at: Timestamp,
    pub silence_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
}

/// The detection chain of one expected alert.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertTimes {
    pub t_active: Option<Timestamp>,
    pub t_fire: Option<Timestamp>,
    pub t_resolve: Option<Timestamp>,
    pub ack: Option<Ack>,
    /// The rule's `for:` in seconds, for splitting TTD into its parts.
    pub rule_for_seconds: Option<f64>,
    pub runbook_url: Option<String>,
    /// Whether a rule with this name exists at all (a typo is a detection failure
    /// with an obvious cause).
    pub rule_found: bool,
    /// Labels of the alert instance that matched first.
    pub labels: Labels,
}

/// An alert that fired during the run but was not expected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackedNoise {
    pub labels: Labels,
    pub t_fire: Option<Timestamp>,
    pub first_seen: Timestamp,
}

/// Something new the last poll learned. Tagged `kind`, not `event`: it is
/// journalled as an entry's data, and the entry has its own `event` (a
/// second one made `{"event":"alert.pending",…,"event":"pending"}`, which
/// JSON readers resolve differently).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum DetectionEvent {
    Pending {
        alert: String,
        at: Timestamp,
    },
    Firing {
        alert: String,
        at: Timestamp,
    },
    Acknowledged {
        alert: String,
        by: String,
        at: Timestamp,
        silence_id: String,
    },
    Resolved {
        alert: String,
        at: Timestamp,
    },
    Noise {
        alertname: String,
        labels: Labels,
        at: Timestamp,
    },
}

/// Errors of one poll; the poll still uses whatever sources answered.
#[derive(Debug, Default)]
pub struct PollReport {
    pub events: Vec<DetectionEvent>,
    pub errors: Vec<String>,
}

/// The value of a source that answered; the error of one that did not is kept.
fn keep<T>(r: Option<Result<T, AlertsError>>, errors: &mut Vec<String>) -> Option<T> {
    match r? {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(e.to_string());
            None
        }
    }
}

/// Follows the expected alerts of a run across polls.
#[derive(Debug, Clone)]
pub struct DetectionTracker {
    expected: Vec<ExpectedAlert>,
    /// Alert instances that started before this (the run's start) belong to
    /// an earlier problem: neither detection nor noise of this run.
    since: Timestamp,
    times: Vec<AlertTimes>,
    noise: BTreeMap<String, TrackedNoise>,
    rules_loaded: bool,
}

fn label_key(labels: &Labels) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect::<Vec<_>>()
        .join(",")
}

impl DetectionTracker {
    pub fn new(expected: Vec<ExpectedAlert>, since: Timestamp) -> Self {
        let times = vec![AlertTimes::default(); expected.len()];
        DetectionTracker {
            expected,
            since,
            times,
            noise: BTreeMap::new(),
            rules_loaded: false,
        }
    }

    /// Per expected alert (scenario order): its detection chain so far.
    pub fn times(&self) -> impl Iterator<Item = (&ExpectedAlert, &AlertTimes)> {
        self.expected.iter().zip(&self.times)
    }

    pub fn noise(&self) -> impl Iterator<Item = &TrackedNoise> {
        self.noise.values()
    }

    /// One poll of every source given; `now` is the poll time (a parameter so
    /// that the engine's clock, not this module's, stamps the journal).
    pub async fn poll(
        &mut self,
        prometheus: Option<&PrometheusConn>,
        alertmanager: Option<&AlertmanagerConn>,
        now: Timestamp,
    ) -> PollReport {
        let mut report = PollReport::default();
        let rules_needed = !self.rules_loaded;
        let (rules, prom_alerts, am_alerts, sils) = tokio::join!(
            async {
                match prometheus {
                    Some(c) if rules_needed => Some(alert_rules(c).await),
                    _ => None,
                }
            },
            async {
                match prometheus {
                    Some(c) => Some(prometheus_alerts(c).await),
                    None => None,
                }
            },
            async {
                match alertmanager {
                    Some(c) => Some(alertmanager_alerts(c).await),
                    None => None,
                }
            },
            async {
                match alertmanager {
                    Some(c) => Some(silences(c).await),
                    None => None,
                }
            },
        );
        if let Some(rules) = keep(rules, &mut report.errors) {
            self.apply_rules(&rules);
        }
        let prom_alerts = keep(prom_alerts, &mut report.errors);
        let am_alerts = keep(am_alerts, &mut report.errors);
        let sils = keep(sils, &mut report.errors);
        if let Some(alerts) = &prom_alerts {
            self.apply_prometheus(alerts, now, &mut report.events);
        }
        if let Some(alerts) = &am_alerts {
            self.apply_alertmanager(alerts, now, &mut report.events);
            if let Some(sils) = &sils {
                self.apply_silences(alerts, sils, now, &mut report.events);
            }
        }
        report
    }

    pub fn apply_rules(&mut self, rules: &[AlertRule]) {
        self.rules_loaded = true;
        for (exp, t) in self.expected.iter().zip(self.times.iter_mut()) {
            if let Some(rule) = rules.iter().find(|r| r.name == exp.name) {
                t.rule_found = true;
                t.rule_for_seconds = Some(rule.for_seconds);
                t.runbook_url = rule.runbook_url().map(str::to_string);
            }
        }
    }

    pub fn apply_prometheus(
        &mut self,
        alerts: &[PromAlert],
        now: Timestamp,
        events: &mut Vec<DetectionEvent>,
    ) {
        let since = self.since;
        for (exp, t) in self.expected.iter().zip(self.times.iter_mut()) {
            let current: Vec<&PromAlert> = alerts
                .iter()
                .filter(|a| {
                    a.state != PromAlertState::Inactive
                        && is_expected(exp, &a.labels)
                        && a.active_at.is_none_or(|t| t >= since)
                })
                .collect();
            if t.t_active.is_none()
                && let Some(a) = current
                    .iter()
                    .filter(|a| a.active_at.is_some())
                    .min_by_key(|a| a.active_at)
                && let Some(at) = a.active_at
            {
                t.t_active = Some(at);
                t.labels = a.labels.clone();
                events.push(DetectionEvent::Pending {
                    alert: exp.name.clone(),
                    at,
                });
            }
            // Resolution: it fired, and now Prometheus no longer reports it.
            if t.t_fire.is_some() && t.t_resolve.is_none() && current.is_empty() {
                t.t_resolve = Some(now);
                events.push(DetectionEvent::Resolved {
                    alert: exp.name.clone(),
                    at: now,
                });
            }
        }
    }

    pub fn apply_alertmanager(
        &mut self,
        alerts: &[AmAlert],
        now: Timestamp,
        events: &mut Vec<DetectionEvent>,
    ) {
        let since = self.since;
        for (exp, t) in self.expected.iter().zip(self.times.iter_mut()) {
            let mine: Vec<&AmAlert> = alerts
                .iter()
                .filter(|a| is_expected(exp, &a.labels) && a.starts_at >= since)
                .collect();
            if t.t_fire.is_none()
                && let Some(a) = mine.iter().min_by_key(|a| a.starts_at)
            {
                t.t_fire = Some(a.starts_at);
                if t.labels.is_empty() {
                    t.labels = a.labels.clone();
                }
                events.push(DetectionEvent::Firing {
                    alert: exp.name.clone(),
                    at: a.starts_at,
                });
            }
            if t.t_fire.is_some() && t.t_resolve.is_none() && !mine.is_empty() {
                let ended = mine
                    .iter()
                    .map(|a| a.ends_at.filter(|e| *e <= now))
                    .collect::<Option<Vec<_>>>();
                if let Some(at) = ended.and_then(|e| e.into_iter().max()) {
                    t.t_resolve = Some(at);
                    events.push(DetectionEvent::Resolved {
                        alert: exp.name.clone(),
                        at,
                    });
                }
            }
        }
        for a in alerts {
            let expected = self.expected.iter().any(|e| is_expected(e, &a.labels));
            if expected || a.starts_at < self.since {
                continue;
            }
            let key = label_key(&a.labels);
            if let std::collections::btree_map::Entry::Vacant(slot) = self.noise.entry(key) {
                slot.insert(TrackedNoise {
                    labels: a.labels.clone(),
                    t_fire: Some(a.starts_at),
                    first_seen: now,
                });
                events.push(DetectionEvent::Noise {
                    alertname: a.name().to_string(),
                    labels: a.labels.clone(),
                    at: a.starts_at,
                });
            }
        }
    }

    /// A silence that covers a firing expected alert acknowledges it.
    pub fn apply_silences(
        &mut self,
        alerts: &[AmAlert],
        silences: &[Silence],
        now: Timestamp,
        events: &mut Vec<DetectionEvent>,
    ) {
        for (exp, t) in self.expected.iter().zip(self.times.iter_mut()) {
            if t.ack.is_some() {
                continue;
            }
            let firing: Vec<&AmAlert> = alerts
                .iter()
                .filter(|a| is_expected(exp, &a.labels))
                .collect();
            let found = silences
                .iter()
                .filter(|s| s.is_active() && s.updated_at.is_none_or(|u| u >= self.since))
                .filter(|s| {
                    firing
                        .iter()
                        .any(|a| s.covers(&a.labels) || a.status.silenced_by.contains(&s.id))
                })
                .min_by_key(|s| s.updated_at.unwrap_or(s.starts_at));
            if let Some(s) = found {
                let at = now;
                t.ack = Some(Ack {
                    by: s.created_by.clone(),
                    at,
                    silence_id: s.id.clone(),
                    comment: s.comment.clone(),
                });
                events.push(DetectionEvent::Acknowledged {
                    alert: exp.name.clone(),
                    by: s.created_by.clone(),
                    at,
                    silence_id: s.id.clone(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn expected(name: &str, extra: &[(&str, &str)]) -> ExpectedAlert {
        ExpectedAlert {
            name: name.into(),
            labels: labels(extra),
            within: crate::scenario::Duration::from_secs(90),
        }
    }

    #[test]
    fn expected_alert_matching_needs_name_and_every_label() {
        let e = expected("HighErrors", &[("service", "checkout")]);
        assert!(is_expected(
            &e,
            &labels(&[
                ("alertname", "HighErrors"),
                ("service", "checkout"),
                ("x", "y")
            ])
        ));
        assert!(!is_expected(
            &e,
            &labels(&[("alertname", "HighErrors"), ("service", "cart")])
        ));
        assert!(!is_expected(&e, &labels(&[("service", "checkout")])));
    }

    #[test]
    fn silence_matchers_follow_alertmanager_semantics() {
        let m = |name: &str, value: &str, is_regex, is_equal| Matcher {
            name: name.into(),
            value: value.into(),
            is_regex,
            is_equal,
        };
        let l = labels(&[("alertname", "HighErrors"), ("service", "checkout")]);
        assert!(m("service", "check.*", true, true).matches(&l));
        assert!(!m("service", "check", true, true).matches(&l), "anchored");
        assert!(m("service", "cart", false, false).matches(&l));
        assert!(
            m("team", "", false, true).matches(&l),
            "missing label is empty"
        );
        let decoded: Matcher =
            serde_json::from_str(r#"{"name":"a","value":"b","isRegex":false}"#).unwrap();
        assert!(decoded.is_equal, "older Alertmanagers omit isEqual");
    }

    #[test]
    fn decodes_alertmanager_and_prometheus_shapes() {
        let am: Vec<AmAlert> = serde_json::from_str(
            r#"[{"annotations":{},"endsAt":"2026-11-26T16:05:00.000Z","fingerprint":"abc",
                "receivers":[{"name":"gameday"}],"startsAt":"2026-11-26T16:00:01.123Z",
                "status":{"inhibitedBy":[],"silencedBy":["s1"],"state":"suppressed"},
                "updatedAt":"2026-11-26T16:00:02Z","generatorURL":"http://x",
                "labels":{"alertname":"HighErrors"}}]"#,
        )
        .unwrap();
        assert_eq!(am[0].status.silenced_by, vec!["s1"]);
        assert_eq!(am[0].starts_at.to_string(), "2026-11-26T16:00:01.123Z");
        let p: PromEnvelope<AlertsData> = serde_json::from_str(
            r#"{"status":"success","data":{"alerts":[{"labels":{"alertname":"A"},
                "annotations":{},"state":"pending","activeAt":"2026-11-26T16:00:00.5Z",
                "value":"1e+00"}]}}"#,
        )
        .unwrap();
        assert_eq!(p.data.alerts[0].state, PromAlertState::Pending);
        assert_eq!(p.data.alerts[0].name(), "A");
    }

    fn am_alert(name: &str, starts: &str, ends: Option<&str>) -> AmAlert {
        AmAlert {
            labels: labels(&[("alertname", name)]),
            annotations: Labels::new(),
            fingerprint: name.into(),
            starts_at: starts.parse().unwrap(),
            ends_at: ends.map(|e| e.parse().unwrap()),
            updated_at: None,
            status: AmAlertStatus {
                state: "active".into(),
                silenced_by: vec![],
                inhibited_by: vec![],
            },
            receivers: vec![],
        }
    }

    #[test]
    fn pre_run_alerts_are_neither_detection_nor_noise() {
        let since: Timestamp = "2026-11-26T16:00:00Z".parse().unwrap();
        let now: Timestamp = "2026-11-26T16:01:00Z".parse().unwrap();
        let mut t = DetectionTracker::new(vec![expected("A", &[])], since);
        let mut events = Vec::new();
        let old = [
            am_alert("A", "2026-11-26T15:59:00Z", None),
            am_alert("B", "2026-11-26T15:59:30Z", None),
        ];
        t.apply_alertmanager(&old, now, &mut events);
        assert!(events.is_empty(), "{events:?}");
        assert_eq!(t.times().next().unwrap().1.t_fire, None);

        let new = [
            am_alert("A", "2026-11-26T16:00:20Z", Some("2026-11-26T16:05:00Z")),
            am_alert("B", "2026-11-26T16:00:30Z", None),
        ];
        t.apply_alertmanager(&new, now, &mut events);
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(
            t.times().next().unwrap().1.t_fire,
            Some("2026-11-26T16:00:20Z".parse().unwrap())
        );
        assert_eq!(t.noise().count(), 1);

        // Resolved once Alertmanager's endsAt has passed.
        let later: Timestamp = "2026-11-26T16:06:00Z".parse().unwrap();
        events.clear();
        t.apply_alertmanager(&new, later, &mut events);
        assert_eq!(
            events,
            vec![DetectionEvent::Resolved {
                alert: "A".into(),
                at: "2026-11-26T16:05:00Z".parse().unwrap()
            }]
        );
    }
}

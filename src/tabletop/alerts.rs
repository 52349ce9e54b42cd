//! Alert injects through the real paging path (drill-v1.md, "Alerts"): each
//! is POSTed to Alertmanager's `/api/v2/alerts` with the drill labels
//! `gameday_drill="true"` and `gameday_run="<run id>"`, and re-posted before
//! its `endsAt` while it fires, as Prometheus does (it sends firing alerts
//! again every `resend_delay` with `endsAt` four resends ahead:
//! prometheus/rules/alerting.go, `sendAlerts`/`ValidUntil`). Alertmanager's
//! routing, grouping and inhibition then decide what reaches the run's
//! webhook, which records T_notify. The drill ends its alerts by posting
//! them with `endsAt` = now.
//!
//! Whether Alertmanager suppressed an alert is read back from
//! `GET /api/v2/alerts`, whose `status.inhibitedBy` / `silencedBy` the API
//! computes from the current inhibition rules and silences.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::run::Running;
use crate::drill::{AlertInject, Inject};
use crate::engine::Journal;
use crate::observe::AlertmanagerConn;
use crate::observe::alerts::{DetectionEvent, alertmanager_alerts};
use crate::report::exercise::{ALERT_POSTED, ALERT_SUPPRESSED};
use crate::report::live::{Shared, lock};

/// Wall time between re-posts of a firing alert (the default of
/// `DrillSettings::alert_resend`). Each post's `endsAt` is four resends
/// ahead, as Prometheus sets it.
pub const RESEND: Duration = Duration::from_secs(15);
/// How long to look for Alertmanager's verdict on suppression.
const STATUS_WAIT: Duration = Duration::from_secs(3);
const STATUS_POLL: Duration = Duration::from_millis(200);

/// One posted alert: its full label set (drill labels included).
#[derive(Clone)]
struct Posted {
    inject: String,
    alertname: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    starts_at: Timestamp,
    resolved: bool,
    /// Re-post interval; `endsAt` is four of them ahead.
    resend: Duration,
}

impl Posted {
    fn valid_until(&self) -> Timestamp {
        ts(self.resend * 4)
    }
}

pub struct Paging {
    am: AlertmanagerConn,
    run_id: String,
    resend: Duration,
    posted: Arc<Mutex<Vec<Posted>>>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

fn ts(d: Duration) -> Timestamp {
    Timestamp::now()
        .checked_add(jiff::SignedDuration::try_from(d).unwrap_or_default())
        .unwrap_or_else(|_| Timestamp::now())
}

impl Paging {
    pub fn new(am: AlertmanagerConn, running: &Running, resend: Duration) -> Self {
        Paging {
            am,
            run_id: running.run_id.0.clone(),
            resend,
            posted: Arc::default(),
            tasks: Mutex::default(),
        }
    }

    /// Posts the alert of `inject`, journals it (and T_fire), and keeps it
    /// firing until it is resolved, its `for` runs out or the drill ends.
    pub async fn post(&self, running: &Running, inject: &Inject, alert: &AlertInject) {
        let mut labels = alert.labels.clone();
        labels.insert("gameday_drill".into(), "true".into());
        labels.insert("gameday_run".into(), self.run_id.clone());
        let p = Posted {
            inject: inject.id.clone(),
            alertname: alert.alertname().to_string(),
            labels,
            annotations: alert.annotations.clone(),
            starts_at: Timestamp::now(),
            resolved: false,
            resend: self.resend,
        };
        let at = running.clock.now();
        let result = send(&self.am, &p, p.valid_until()).await;
        let _ = running.journal.append(
            "drill",
            ALERT_POSTED,
            json!({"inject": p.inject, "alert": p.alertname, "at": at, "labels": p.labels,
                   "drillSeconds": running.clock.seconds_of(at), "error": result.as_ref().err().map(ToString::to_string)}),
        );
        if result.is_err() {
            return;
        }
        let firing = serde_json::to_value(DetectionEvent::Firing {
            alert: p.alertname.clone(),
            at,
        })
        .unwrap_or(Value::Null);
        let _ = running.journal.append("detection", "alert.firing", firing);
        if let Ok(mut v) = self.posted.lock() {
            v.push(p.clone());
        }
        let until = alert
            .firing_for
            .map(|f| running.clock.elapsed() + f.as_std());
        // Suppression is looked for beside the re-posting, never before
        // it: the alert must not lapse while Alertmanager is asked.
        let (am, q, journal, clock) = (
            self.am.clone(),
            p.clone(),
            running.journal.clone(),
            running.clock.clone(),
        );
        let check = tokio::spawn(async move { suppression(&am, &q, &journal, &clock).await });
        let task = tokio::spawn(keep_firing(
            self.am.clone(),
            p,
            running.journal.clone(),
            running.shared.clone(),
            running.clock.clone(),
            until,
            self.posted.clone(),
        ));
        if let Ok(mut t) = self.tasks.lock() {
            t.extend([check, task]);
        }
    }

    /// Ends every alert still firing (endsAt = now).
    pub async fn resolve_all(&self, running: &Running) {
        if let Ok(mut t) = self.tasks.lock() {
            t.drain(..).for_each(|h| h.abort());
        }
        let open: Vec<Posted> = self
            .posted
            .lock()
            .map(|v| v.iter().filter(|p| !p.resolved).cloned().collect())
            .unwrap_or_default();
        for p in open {
            resolve(&self.am, &p, &running.journal, running.clock.now()).await;
        }
    }
}

/// Why an alert could not be posted to Alertmanager.
#[derive(Debug, thiserror::Error)]
enum PostError {
    #[error("bad Alertmanager URL: {0}")]
    Url(String),
    #[error("posting to Alertmanager: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("Alertmanager answered {0}")]
    Status(reqwest::StatusCode),
}

/// `POST /api/v2/alerts` with one alert.
async fn send(am: &AlertmanagerConn, p: &Posted, ends_at: Timestamp) -> Result<(), PostError> {
    let url = am
        .url("api/v2/alerts")
        .map_err(|e| PostError::Url(e.to_string()))?;
    let body = json!([{"labels": p.labels, "annotations": p.annotations, "startsAt": p.starts_at, "endsAt": ends_at}]);
    let resp = am.http().post(url).json(&body).send().await?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(PostError::Status(resp.status()))
    }
}

async fn resolve(am: &AlertmanagerConn, p: &Posted, journal: &Journal, at: Timestamp) {
    let now = Timestamp::now();
    let _ = send(am, p, now).await;
    let ev = serde_json::to_value(DetectionEvent::Resolved {
        alert: p.alertname.clone(),
        at,
    })
    .unwrap_or(Value::Null);
    let _ = journal.append("detection", "alert.resolved", ev);
}

/// Re-posts every `resend` until the alert's time is up or responders
/// resolve the incident; then resolves it.
async fn keep_firing(
    am: AlertmanagerConn,
    p: Posted,
    journal: Arc<Journal>,
    shared: Shared,
    clock: crate::drill::DrillClock,
    until: Option<Duration>,
    posted: Arc<Mutex<Vec<Posted>>>,
) {
    let mut last = tokio::time::Instant::now();
    loop {
        let over = until.is_some_and(|u| clock.elapsed() >= u);
        if over || lock(&shared).incident.t_resolve().is_some() {
            resolve(&am, &p, &journal, clock.now()).await;
            if let Ok(mut v) = posted.lock() {
                v.iter_mut()
                    .filter(|q| q.inject == p.inject)
                    .for_each(|q| q.resolved = true);
            }
            return;
        }
        if last.elapsed() >= p.resend {
            let _ = send(&am, &p, p.valid_until()).await;
            last = tokio::time::Instant::now();
        }
        tokio::time::sleep(STATUS_POLL).await;
    }
}

/// Reads the alert back until Alertmanager says it is inhibited or
/// silenced, or [`STATUS_WAIT`] passes; journals a suppression.
async fn suppression(
    am: &AlertmanagerConn,
    p: &Posted,
    journal: &Journal,
    clock: &crate::drill::DrillClock,
) {
    let deadline = tokio::time::Instant::now() + STATUS_WAIT;
    while tokio::time::Instant::now() < deadline {
        if let Ok(alerts) = alertmanager_alerts(am).await
            && let Some(a) = alerts.iter().find(|a| a.labels == p.labels)
        {
            let reason = match (&a.status.inhibited_by[..], &a.status.silenced_by[..]) {
                ([_, ..], _) => Some(("inhibited", &a.status.inhibited_by)),
                (_, [_, ..]) => Some(("silenced", &a.status.silenced_by)),
                _ => None,
            };
            if let Some((reason, by)) = reason {
                let _ = journal.append(
                    "drill",
                    ALERT_SUPPRESSED,
                    json!({"inject": p.inject, "alert": p.alertname, "reason": reason, "by": by, "drillSeconds": clock.elapsed().as_secs_f64()}),
                );
                return;
            }
        }
        tokio::time::sleep(STATUS_POLL).await;
    }
}

//! Firing an inject: a message or an escalation goes to the people holding
//! its roles, an alert to Alertmanager (when one is configured) or straight
//! to the participants. Each is journalled first (`inject.fired`, with the
//! drill time), then shown on the live timeline.

use std::time::Duration;

use serde_json::{Value, json};

use super::run::Running;
use crate::drill::{Inject, InjectAction, Recipient};
use crate::incident::role_label;
use crate::observe::AlertmanagerConn;
use crate::report::exercise::INJECT_FIRED;
use crate::report::live::lock;

pub struct Deliverer {
    alertmanager: Option<super::alerts::Paging>,
    /// The paging tools of `paging:` (docs/paging.md).
    pub paging: Option<super::paging::DrillPaging>,
    /// The fault engine of a hybrid drill.
    pub faults: Option<super::hybrid::FaultTrigger>,
}

impl Deliverer {
    pub fn new(
        running: &Running,
        alertmanager: Option<AlertmanagerConn>,
        resend: std::time::Duration,
    ) -> Self {
        Deliverer {
            alertmanager: alertmanager.map(|am| super::alerts::Paging::new(am, running, resend)),
            paging: None,
            faults: None,
        }
    }

    /// Fires `inject` now; returns the drill time it fired at.
    pub async fn fire(&self, running: &Running, inject: &Inject) -> Duration {
        let now = running.clock.elapsed();
        let at = running.clock.at(now);
        let mut data = json!({"inject": inject.id, "at": at, "drillSeconds": now.as_secs_f64()});
        let text = match inject.action() {
            Some(InjectAction::Message(m)) => {
                let (to, people) = recipients(running, &m.to, at);
                data["action"] = "message".into();
                data["to"] = json!(m.to);
                data["people"] = json!(people);
                data["from"] = json!(m.from);
                data["text"] = json!(m.text);
                format!(
                    "{} to {to}: {}",
                    m.from.as_deref().unwrap_or("message"),
                    m.text
                )
            }
            Some(InjectAction::Escalate(e)) => {
                let holder = lock(&running.shared)
                    .incident
                    .roles
                    .holder_at(e.to, at)
                    .map(str::to_string);
                data["action"] = "escalate".into();
                data["to"] = json!(e.to);
                data["person"] = json!(holder);
                data["reason"] = json!(e.reason);
                format!(
                    "escalated to the {} ({}){}",
                    role_label(e.to),
                    holder.as_deref().unwrap_or("unassigned"),
                    e.reason
                        .as_deref()
                        .map_or(String::new(), |r| format!(": {r}"))
                )
            }
            Some(InjectAction::Alert(a)) => {
                if let Some(p) = &self.paging {
                    p.page(running, inject, a);
                }
                data["action"] = "alert".into();
                data["labels"] = json!(a.labels);
                data["annotations"] = json!(a.annotations);
                match &self.alertmanager {
                    Some(p) => {
                        data["delivery"] = "alertmanager".into();
                        p.post(running, inject, a).await;
                        format!("page {} posted to Alertmanager", a.alertname())
                    }
                    None => {
                        data["delivery"] = "direct".into();
                        format!(
                            "page {} delivered to the participants directly (no Alertmanager configured)",
                            a.alertname()
                        )
                    }
                }
            }
            Some(InjectAction::Fault(f)) => {
                let duration = f.duration.map(|d| d.as_std()).unwrap_or_default();
                let sent = self
                    .faults
                    .as_ref()
                    .is_some_and(|t| t.fire(&f.name, duration));
                data["action"] = "fault".into();
                data["fault"] = json!(f.name);
                data["type"] = json!(f.kind);
                data["engine"] = json!(sent);
                if sent {
                    format!("fault {} ({:?}) handed to the fault engine", f.name, f.kind)
                } else {
                    format!(
                        "fault {} not injected: the fault engine has stopped",
                        f.name
                    )
                }
            }
            None => String::new(),
        };
        record(running, data, text);
        now
    }

    /// Ends the drill's alerts (endsAt = now) in Alertmanager and resolves
    /// its pages in the paging tools.
    pub async fn resolve_all(&self, running: &Running) {
        if let Some(p) = &self.alertmanager {
            p.resolve_all(running).await;
        }
        if let Some(p) = &self.paging {
            p.finish().await;
        }
    }
}

/// The roles a message goes to, in words, and the people holding them now.
fn recipients(running: &Running, to: &[Recipient], at: jiff::Timestamp) -> (String, Vec<String>) {
    let live = lock(&running.shared);
    let roles = &live.incident.roles;
    if to.contains(&Recipient::All) {
        return (
            "everyone".into(),
            roles.people().into_iter().map(str::to_string).collect(),
        );
    }
    let mut words = Vec::new();
    let mut people = Vec::new();
    for r in to.iter().filter_map(|r| r.role()) {
        let holder = roles.holder_at(r, at);
        words.push(format!(
            "{} ({})",
            role_label(r),
            holder.unwrap_or("unassigned")
        ));
        people.extend(holder.map(str::to_string));
    }
    (words.join(", "), people)
}

/// Journals an inject, then shows it on the live timeline.
fn record(running: &Running, data: Value, text: String) {
    if let Ok(entry) = running.journal.append("drill", INJECT_FIRED, data) {
        let at = entry
            .data
            .get("at")
            .and_then(Value::as_str)
            .and_then(|t| t.parse().ok())
            .unwrap_or(entry.ts);
        lock(&running.shared).push(at, "drill", INJECT_FIRED, text);
    }
}

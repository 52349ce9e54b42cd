//! The `paging.*` journal entries (written by the paging session of a run
//! or drill, with the tool as the entry's source: `pagerduty`, `opsgenie`,
//! `grafana-oncall`) folded into one [`PageObservation`] per page and
//! tool, and the line each puts on the timeline. The live picture and the
//! replay both go through here, so a report rebuilt from the journal shows
//! the same pages.

use jiff::Timestamp;
use serde_json::Value;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use super::live::{Live, Shared, lock};
use super::model::RunReport;
use crate::engine::Journal;
use crate::engine::journal::Entry;
use crate::incident::{Action, EventSource, ResponderEvent};
use crate::paging::PagingEvent;
use crate::paging::session::Sink;
use crate::scenario::RoleName;
use crate::score::{Escalation, PageObservation, human_secs, secs};

/// The placeholder person a scenario names for "whoever is on call".
pub const ONCALL_PLACEHOLDER: &str = "ops-oncall";

/// The sink a run's paging session reports to: each event is journalled
/// with the tool as its source, then applied to the live picture. Once
/// `closed` is set (the journal has its `run.end`, after which nothing may
/// be written) events only reach the live picture the report is built from.
pub fn journal_sink(journal: Arc<Journal>, shared: Shared, closed: Arc<AtomicBool>) -> Sink {
    Arc::new(move |event: PagingEvent| {
        let (source, name, data) = journal_form(event);
        let entry = if closed.load(Ordering::SeqCst) {
            let serde_json::Value::Object(data) = data else {
                return;
            };
            Entry {
                ts: Timestamp::now(),
                source: source.to_string(),
                event: name.to_string(),
                data,
            }
        } else {
            match journal.append(source, name, data) {
                Ok(e) => e,
                Err(_) => return,
            }
        };
        lock(&shared).on_entry(&entry);
    })
}

/// An event as a journal entry: (source, event, data). A warning is also
/// printed.
fn journal_form(event: PagingEvent) -> (&'static str, &'static str, serde_json::Value) {
    match event {
        PagingEvent::Triggered {
            source,
            key,
            summary,
            at,
        } => (
            source,
            "paging.triggered",
            json!({"key": key, "summary": summary, "at": at}),
        ),
        PagingEvent::Entry {
            source,
            key,
            entry,
            at,
        } => (
            source,
            entry.kind.event(),
            json!({"key": key, "at": at, "who": entry.who, "level": entry.level, "toolAt": entry.at}),
        ),
        PagingEvent::Resolved { source, key } => (source, "paging.resolved", json!({"key": key})),
        PagingEvent::OnCall { source, person } => {
            (source, "paging.oncall", json!({"person": person}))
        }
        PagingEvent::Warning { source, message } => {
            crate::term::event(
                "warning",
                json!({"level": "warn", "kind": "paging", "source": source, "message": message}),
                format_args!("warning: {source}: {message}"),
            );
            (source, "paging.warning", json!({"message": message}))
        }
    }
}

/// How long a start waits for the on-call lookup.
const ONCALL_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Connects the integrations of `paging` (an unusable one is a warning),
/// looks up who is on call and gives them `ops-oncall`'s role (stamped
/// `now()`), and starts the poller. None when no integration is usable.
pub async fn open_session(
    paging: &crate::config::Paging,
    (journal, shared): (Arc<Journal>, Shared),
    closed: Arc<AtomicBool>,
    scale: f64,
    now: impl Fn() -> Timestamp,
) -> Option<Arc<crate::paging::PagingSession>> {
    use crate::paging::session::POLL_INTERVAL;
    let sink = journal_sink(journal.clone(), shared.clone(), closed);
    let crate::paging::Connected { pagers, failed } = crate::paging::connect(paging);
    for (source, e) in failed {
        sink(PagingEvent::Warning {
            source,
            message: format!("not used: {e}"),
        });
    }
    let interval = paging.poll_interval.map_or(POLL_INTERVAL, |d| d.as_std());
    let session = crate::paging::PagingSession::new(pagers, sink, interval, scale);
    if session.is_empty() {
        return None;
    }
    if let Some(person) = session.on_call_within(ONCALL_WAIT).await {
        assign_oncall(&mut lock(&shared), &journal, &person, now());
    }
    session.start_polling();
    Some(session)
}

/// The on-call person takes the operations role when the scenario names
/// the placeholder `ops-oncall` for it (or nobody).
fn assign_oncall(live: &mut Live, journal: &Journal, person: &str, at: Timestamp) {
    let holder = live.incident.roles.holder_at(RoleName::Operations, at);
    if holder.is_some_and(|h| h != ONCALL_PLACEHOLDER) {
        return;
    }
    let event = ResponderEvent {
        at,
        person: person.to_string(),
        source: EventSource::Webhook,
        action: Action::Assign {
            role: RoleName::Operations,
            person: person.to_string(),
        },
    };
    let _ = live.record_event(journal, event);
}

/// Every paging entry's event starts with this.
pub const PREFIX: &str = "paging.";

fn page<'a>(
    pages: &'a mut Vec<PageObservation>,
    source: &str,
    key: &str,
) -> &'a mut PageObservation {
    let i = match pages
        .iter()
        .position(|p| p.source == source && p.key == key)
    {
        Some(i) => i,
        None => {
            pages.push(PageObservation {
                source: source.to_string(),
                key: key.to_string(),
                ..Default::default()
            });
            pages.len() - 1
        }
    };
    &mut pages[i]
}

/// Applies one entry; returns the timeline line it makes, if any.
pub fn apply(pages: &mut Vec<PageObservation>, e: &Entry) -> Option<(Timestamp, String)> {
    let d = &e.data;
    let text = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_string);
    let at = text("at")
        .and_then(|t| t.parse::<Timestamp>().ok())
        .unwrap_or(e.ts);
    let src = e.source.as_str();
    let who = text("who");
    let by = who.as_deref().map_or(String::new(), |w| format!(" ({w})"));
    let event = e.event.strip_prefix(PREFIX)?;
    if matches!(event, "warning" | "oncall") {
        let line = match event {
            "warning" => format!("{src}: {}", text("message").unwrap_or_default()),
            _ => format!("{src}: {} is on call", text("person").unwrap_or_default()),
        };
        return Some((at, line));
    }
    let p = page(pages, src, &text("key")?);
    let line = match event {
        "triggered" => {
            p.t_trigger.get_or_insert(at);
            format!(
                "page sent through {src}: {}",
                text("summary").unwrap_or_default()
            )
        }
        "created" => {
            p.read = true;
            return None;
        }
        "notified" => {
            p.read = true;
            p.t_notify.get_or_insert(at);
            p.reached
                .extend(who.clone().filter(|w| !p.reached.contains(w)));
            format!("{src} notified{by}")
        }
        "acknowledged" => {
            p.read = true;
            if p.t_ack.is_none() {
                p.t_ack = Some(at);
                p.acknowledged_by = who.clone();
                p.tta_seconds = p.paged_at().map(|t| secs(t, at).max(0.0));
            }
            let after = p
                .tta_seconds
                .map_or(String::new(), |s| format!(" after {}", human_secs(s)));
            format!("acknowledged in {src}{by}{after}")
        }
        "escalated" => {
            p.read = true;
            let level = d.get("level").and_then(Value::as_u64).map(|l| l as u32);
            p.escalations.push(Escalation {
                at,
                level,
                to: who.clone(),
            });
            p.reached
                .extend(who.clone().filter(|w| !p.reached.contains(w)));
            let to = level.map_or("the next level".into(), |l| format!("level {l}"));
            format!("{src} escalated to {to}{by}")
        }
        "assigned" => {
            p.read = true;
            p.reached
                .extend(who.clone().filter(|w| !p.reached.contains(w)));
            format!("{src} assigned{by}")
        }
        "closed" => {
            p.read = true;
            return None;
        }
        "resolved" => {
            p.resolved = true;
            format!("page resolved in {src}")
        }
        _ => return None,
    };
    Some((at, line))
}

/// The pages on the report's timeline: without names (the timeline is
/// told with roles), the tool said each time came from.
pub fn timeline(r: &RunReport) -> Vec<(Timestamp, String)> {
    let mut v = Vec::new();
    for p in &r.paging {
        let src = &p.source;
        if let Some(t) = p.t_trigger {
            v.push((t, format!("Page sent through {src}")));
        }
        if let Some(t) = p.t_notify {
            v.push((t, format!("{src} notified the first responder")));
        }
        if let Some(t) = p.t_ack {
            let after = p
                .tta_seconds
                .map_or(String::new(), |s| format!(" after {}", human_secs(s)));
            v.push((t, format!("Acknowledged in {src}{after}")));
        }
        for e in &p.escalations {
            let to = e
                .level
                .map_or("the next level".into(), |l| format!("level {l}"));
            v.push((e.at, format!("{src} escalated the page to {to}")));
        }
    }
    v
}

/// The report's "Paging" section: whom each page reached and who
/// acknowledged it (issue 17: the report names whom the page reached).
pub fn markdown(r: &RunReport) -> String {
    if r.paging.is_empty() {
        return String::new();
    }
    let mut s = String::from("## Paging\n\n");
    for p in &r.paging {
        let mut parts = Vec::new();
        if p.t_trigger.is_none() {
            parts.push("not sent (the tool refused or was unreachable)".to_string());
        }
        if !p.reached.is_empty() {
            parts.push(format!("reached {}", p.reached.join(", ")));
        }
        match (&p.acknowledged_by, p.tta_seconds) {
            (Some(by), Some(t)) => {
                parts.push(format!("acknowledged by {by} after {}", human_secs(t)))
            }
            (None, Some(t)) => parts.push(format!("acknowledged after {}", human_secs(t))),
            _ if p.read => parts.push("never acknowledged".into()),
            _ => parts.push("not read back (the tool did not answer)".into()),
        }
        let paged = p.paged_at();
        for e in &p.escalations {
            let to = e
                .level
                .map_or("the next level".into(), |l| format!("level {l}"));
            let who = e.to.as_deref().map_or(String::new(), |w| format!(" ({w})"));
            let after = paged.map_or(String::new(), |t| {
                format!(" after {}", human_secs(secs(t, e.at)))
            });
            parts.push(format!("escalated to {to}{who}{after}"));
        }
        parts.push(if p.resolved {
            "resolved by gameday at the end".into()
        } else {
            "not resolved by gameday".into()
        });
        s.push_str(&format!(
            "- **{}** page `{}`: {}\n",
            p.source,
            p.key,
            parts.join("; ")
        ));
    }
    s.push('\n');
    s
}

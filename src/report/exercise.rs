//! What a tabletop drill adds to its report (drill-v1.md, "Outputs"): the
//! injects as they fired, the objectives met or not, and the "Exercise
//! evaluation" section facilitators write after a drill (strengths, areas
//! for improvement, the inject timeline with what each triggered).
//!
//! Everything here is computed from the journal and the report, never from
//! the running drill, so `gameday report` on the journal of a killed drill
//! gives the same section as the drill's own end (S7).

use std::fmt::Write;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::RunReport;
use crate::drill::{Drill, InjectAction};
use crate::engine::Entry;
use crate::incident::{RoleBook, describe, role_label};

/// `kind` in result.json of a drill.
pub const DRILL_KIND: &str = "Drill";

/// Journal events a drill writes, read back here.
pub const INJECT_FIRED: &str = "inject.fired";
pub const INJECT_SKIPPED: &str = "inject.skipped";
pub const ALERT_POSTED: &str = "alert.posted";
pub const ALERT_SUPPRESSED: &str = "alert.suppressed";

/// One inject of the drill as it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InjectRecord {
    pub id: String,
    pub fired: bool,
    /// Drill time it fired at.
    pub at_seconds: Option<f64>,
    /// `alert`, `message`, `escalate` or `fault`.
    pub action: String,
    /// Alert injects only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<AlertDelivery>,
    /// Skipped by the facilitator.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
    /// What responders did after it, until the next inject fired.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggered: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertDelivery {
    pub posted_at: Option<Timestamp>,
    pub notified_at: Option<Timestamp>,
    /// `inhibited` or `silenced` when Alertmanager reports it.
    pub suppressed: Option<String>,
    /// `alertmanager`, or `direct` when no Alertmanager was configured and
    /// the drill handed the page to its participants itself.
    pub delivery: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectiveRecord {
    pub id: String,
    pub met: bool,
    /// Drill time it was met at.
    pub at_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evaluation {
    pub strengths: Vec<String>,
    pub improvements: Vec<String>,
    /// Said when alert injects were delivered without an Alertmanager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_note: Option<String>,
}

fn data_str<'e>(e: &'e Entry, k: &str) -> Option<&'e str> {
    e.data.get(k).and_then(Value::as_str)
}

fn data_ts(e: &Entry, k: &str) -> Option<Timestamp> {
    data_str(e, k).and_then(|t| t.parse().ok())
}

fn find<'e>(entries: &'e [Entry], event: &str, inject: &str) -> Option<&'e Entry> {
    entries
        .iter()
        .find(|e| e.event == event && data_str(e, "inject") == Some(inject))
}

/// Fills the drill's parts of `report` from the journal. `start` is drill
/// time zero (every drill timestamp is `start` plus drill time).
pub fn attach(report: &mut RunReport, drill: &Drill, entries: &[Entry], start: Timestamp) {
    let secs = |t: Timestamp| (t.duration_since(start).as_secs_f64() * 1000.0).round() / 1000.0;
    let mut injects: Vec<InjectRecord> = drill
        .spec
        .injects
        .iter()
        .map(|i| inject_record(i, entries, report, secs))
        .collect();
    triggered(&mut injects, report, start);
    report.kind = Some(DRILL_KIND.into());
    report.objectives = objectives(drill, report, secs);
    report.evaluation = Some(evaluate(drill, &injects, &report.objectives, report));
    report.injects = injects;
}

fn inject_record(
    inject: &crate::drill::Inject,
    entries: &[Entry],
    report: &RunReport,
    secs: impl Fn(Timestamp) -> f64,
) -> InjectRecord {
    let fired = find(entries, INJECT_FIRED, &inject.id);
    let at = fired.and_then(|e| data_ts(e, "at"));
    let alert = inject.alert.as_ref().map(|a| {
        let posted = find(entries, ALERT_POSTED, &inject.id);
        let notified = report
            .detection
            .iter()
            .find(|d| d.name == a.alertname())
            .and_then(|d| d.t_notify)
            .filter(|_| posted.is_some());
        AlertDelivery {
            posted_at: posted.and_then(|e| data_ts(e, "at")),
            notified_at: notified,
            suppressed: find(entries, ALERT_SUPPRESSED, &inject.id)
                .and_then(|e| data_str(e, "reason"))
                .map(str::to_string),
            delivery: fired
                .and_then(|e| data_str(e, "delivery"))
                .unwrap_or("direct")
                .to_string(),
        }
    });
    InjectRecord {
        id: inject.id.clone(),
        fired: fired.is_some(),
        at_seconds: at.map(secs),
        action: inject.action().map_or("", |a| a.name()).to_string(),
        alert: alert.filter(|_| fired.is_some()).or_else(|| {
            inject.alert.as_ref().map(|_| AlertDelivery {
                posted_at: None,
                notified_at: None,
                suppressed: None,
                delivery: "none".into(),
            })
        }),
        skipped: find(entries, INJECT_SKIPPED, &inject.id).is_some(),
        triggered: Vec::new(),
    }
}

/// Each fired inject "triggered" the responder events recorded after it and
/// before the next inject fired.
fn triggered(injects: &mut [InjectRecord], report: &RunReport, start: Timestamp) {
    let mut fired: Vec<(f64, usize)> = injects
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.at_seconds.map(|a| (a, i)))
        .collect();
    fired.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (k, &(from, i)) in fired.iter().enumerate() {
        let to = fired.get(k + 1).map_or(f64::INFINITY, |n| n.0);
        injects[i].triggered = report
            .responders
            .iter()
            .filter(|e| {
                let t = e.at.duration_since(start).as_secs_f64();
                t >= from && t < to
            })
            .map(describe)
            .collect();
    }
}

/// An objective is met by the first event of its kind (by a holder of its
/// role, when it names one) within its drill time.
fn objectives(
    drill: &Drill,
    report: &RunReport,
    secs: impl Fn(Timestamp) -> f64,
) -> Vec<ObjectiveRecord> {
    let book = RoleBook::from_assignments(report.roles.iter().cloned());
    drill
        .spec
        .objectives
        .iter()
        .map(|o| {
            let hit = report
                .responders
                .iter()
                .filter(|e| e.action.kind() == o.check.event)
                .filter(|e| {
                    o.check
                        .by
                        .is_none_or(|r| book.roles_of(&e.person, e.at).contains(&r))
                })
                .map(|e| secs(e.at))
                .filter(|&t| t <= o.check.within.as_std().as_secs_f64())
                .reduce(f64::min);
            ObjectiveRecord {
                id: o.id.clone(),
                met: hit.is_some(),
                at_seconds: hit,
                description: o.description.clone(),
            }
        })
        .collect()
}

fn evaluate(
    drill: &Drill,
    injects: &[InjectRecord],
    objectives: &[ObjectiveRecord],
    report: &RunReport,
) -> Evaluation {
    let mut ev = Evaluation::default();
    for o in objectives {
        let what = o.description.clone().unwrap_or_else(|| o.id.clone());
        match o.at_seconds {
            Some(t) => ev
                .strengths
                .push(format!("Objective met: {what} (at {})", clock(t))),
            None => ev.improvements.push(format!("Objective not met: {what}")),
        }
    }
    for c in &report.scorecard.components {
        match c.score {
            Some(s) if s >= 0.8 => ev.strengths.push(format!(
                "{}: {:.0}% ({})",
                c.component.name(),
                s * 100.0,
                c.measured
            )),
            Some(s) if s < 0.5 => ev.improvements.push(format!(
                "{}: {:.0}% ({}, {})",
                c.component.name(),
                s * 100.0,
                c.measured,
                c.target
            )),
            _ => {}
        }
    }
    for (inject, rec) in drill.spec.injects.iter().zip(injects) {
        if let (Some(w), true) = (&inject.when, rec.fired)
            && let Some(kind) = w.no_event
        {
            let action = match inject.action() {
                Some(InjectAction::Escalate(e)) => {
                    format!("the page escalated to {}", role_label(e.to))
                }
                _ => format!("inject {} fired", inject.id),
            };
            ev.improvements.push(format!(
                "No `{}` by {}: {action}",
                serde_json::to_value(kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                w.by.map_or_else(String::new, |b| b.to_string())
            ));
        }
    }
    if injects
        .iter()
        .any(|i| i.alert.as_ref().is_some_and(|a| a.delivery == "direct"))
    {
        ev.delivery_note = Some(
            "No Alertmanager was configured: alert injects were delivered to the participants directly, and detection (the paging path) is not scored.".into(),
        );
    }
    ev
}

fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    format!("{}:{:02}", s / 60, s % 60)
}

/// The "Exercise evaluation" section of report.md.
pub fn markdown(r: &RunReport) -> String {
    let mut s = String::new();
    let Some(ev) = &r.evaluation else { return s };
    let _ = writeln!(s, "## Exercise evaluation\n");
    if let Some(note) = &ev.delivery_note {
        let _ = writeln!(s, "> {note}\n");
    }
    let _ = writeln!(
        s,
        "### Objectives\n\n| objective | met | at (drill time) |\n|---|---|---|"
    );
    for o in &r.objectives {
        let what = o.description.as_deref().unwrap_or(&o.id);
        let at = o.at_seconds.map_or("—".into(), clock);
        let _ = writeln!(
            s,
            "| {what} | {} | {at} |",
            if o.met { "yes" } else { "no" }
        );
    }
    for (title, items) in [
        ("Strengths", &ev.strengths),
        ("Areas for improvement", &ev.improvements),
    ] {
        let _ = writeln!(s, "\n### {title}\n");
        if items.is_empty() {
            let _ = writeln!(s, "- none noted");
        }
        for i in items.iter() {
            let _ = writeln!(s, "- {i}");
        }
    }
    let _ = writeln!(
        s,
        "\n### Inject timeline\n\n| drill time | inject | action | delivery | triggered |\n|---|---|---|---|---|"
    );
    for i in &r.injects {
        let at = match (i.at_seconds, i.skipped) {
            (Some(t), _) => clock(t),
            (None, true) => "skipped".into(),
            (None, false) => "not fired".into(),
        };
        let triggered = if i.triggered.is_empty() {
            "—".to_string()
        } else {
            i.triggered.join("; ")
        };
        let _ = writeln!(
            s,
            "| {at} | {} | {} | {} | {triggered} |",
            i.id,
            i.action,
            delivery(i)
        );
    }
    s.push('\n');
    s
}

/// How an alert inject reached people: posted and notified times, or "not
/// delivered" with Alertmanager's reason.
pub fn delivery(i: &InjectRecord) -> String {
    let Some(a) = &i.alert else {
        return "—".into();
    };
    match (&a.suppressed, a.delivery.as_str(), a.notified_at) {
        (Some(why), ..) => format!("not delivered: {why}"),
        (None, "direct", _) => "delivered directly (no Alertmanager)".into(),
        (None, "none", _) => "—".into(),
        (None, _, Some(n)) => format!(
            "posted {}, notified {n}",
            a.posted_at.map_or("?".into(), |p| p.to_string())
        ),
        (None, ..) => "posted, no notification".into(),
    }
}

/// The "Exercise evaluation" section of report.html.
pub fn html(r: &RunReport) -> String {
    use super::chart::esc;
    let mut s = String::new();
    let Some(ev) = &r.evaluation else { return s };
    let _ = write!(s, "<section><h2>Exercise evaluation</h2>");
    if let Some(note) = &ev.delivery_note {
        let _ = write!(s, "<p class=\"muted\">{}</p>", esc(note));
    }
    let _ = write!(
        s,
        "<h3>Objectives</h3><table><tr><th>objective</th><th>met</th><th>at (drill time)</th></tr>"
    );
    for o in &r.objectives {
        let what = o.description.as_deref().unwrap_or(&o.id);
        let at = o.at_seconds.map_or("—".into(), clock);
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{at}</td></tr>",
            esc(what),
            if o.met { "yes" } else { "no" }
        );
    }
    s.push_str("</table>");
    for (title, items) in [
        ("Strengths", &ev.strengths),
        ("Areas for improvement", &ev.improvements),
    ] {
        let _ = write!(s, "<h3>{title}</h3><ul>");
        for i in items.iter() {
            let _ = write!(s, "<li>{}</li>", esc(i));
        }
        s.push_str("</ul>");
    }
    let _ = write!(
        s,
        "<h3>Inject timeline</h3><table><tr><th>drill time</th><th>inject</th><th>action</th><th>delivery</th><th>triggered</th></tr>"
    );
    for i in &r.injects {
        let at = i.at_seconds.map_or(
            if i.skipped {
                "skipped".into()
            } else {
                "not fired".into()
            },
            clock,
        );
        let _ = write!(
            s,
            "<tr><td>{at}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&i.id),
            esc(&i.action),
            esc(&delivery(i)),
            esc(&i.triggered.join("; "))
        );
    }
    s.push_str("</table></section>\n");
    s
}

/// The drill a journal's `run.start` carries (`drill`, written by
/// `tabletop`), with its time zero (the `at` of `drill.start`); None for a
/// game day.
pub fn drill_of(start: &Entry, entries: &[Entry]) -> Option<(Drill, Timestamp)> {
    let drill = serde_json::from_value(start.data.get("drill")?.clone()).ok()?;
    let zero = entries.iter().find(|e| e.event == super::live::DRILL_START);
    Some((
        drill,
        zero.and_then(|e| data_ts(e, "at")).unwrap_or(start.ts),
    ))
}

/// An entry of a hybrid drill's fault engine restamped in drill time
/// (drill-v1.md: reports show drill time). The engine stamps its entries
/// with the wall clock, and at `--speed 60` a fault injected 30 s of drill
/// time in would otherwise sit half a second after the start of a report
/// whose every other line is in drill time. Every drill entry carries its
/// `drillSeconds`; `run.start` and `run.end` keep their wall time.
pub fn in_drill_time(e: &Entry, zero: Timestamp) -> std::borrow::Cow<'_, Entry> {
    use std::borrow::Cow;
    let engine = e.source == "fault"
        || (e.source == "engine" && !matches!(e.event.as_str(), "run.start" | "run.end"));
    let secs = e.data.get("drillSeconds").and_then(Value::as_f64);
    match (engine, secs) {
        (true, Some(secs)) => {
            let at = jiff::SignedDuration::try_from_secs_f64(secs)
                .ok()
                .and_then(|d| zero.checked_add(d).ok());
            match at {
                Some(ts) => Cow::Owned(Entry { ts, ..e.clone() }),
                None => Cow::Borrowed(e),
            }
        }
        _ => Cow::Borrowed(e),
    }
}

/// In a drill, mitigation is the responders' `resolve` (drill-v1.md,
/// "Scoring"): there is no SLI to recover.
pub fn mitigate_at_resolve(live: &mut super::live::Live) {
    live.t_mitigate = live.incident.t_resolve();
}

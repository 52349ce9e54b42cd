//! One merged, time-ordered story of the run (faults, SLIs, alerts, people),
//! told with roles instead of names. The full list is the report's timeline;
//! the `key` entries are the postmortem's blameless timeline.

use jiff::Timestamp;

use super::blameless::Blameless;
use super::model::RunReport;
use crate::incident::{Action, AssignedBy, role_label};
use crate::score::human_secs;

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub at: Timestamp,
    /// Part of the blameless timeline (what a postmortem reader needs).
    pub key: bool,
    pub text: String,
}

/// `T+1m05s` relative to the first injection.
pub fn offset(r: &RunReport, at: Timestamp) -> String {
    let s = at.duration_since(r.t0()).as_secs_f64();
    if s < 0.0 {
        format!("T-{}", human_secs(-s))
    } else {
        format!("T+{}", human_secs(s))
    }
}

pub fn entries(r: &RunReport) -> Vec<Entry> {
    let blameless = Blameless::new(r);
    let mut v = Vec::new();
    let mut push = |at: Option<Timestamp>, key: bool, text: String| {
        if let Some(at) = at {
            v.push(Entry { at, key, text });
        }
    };
    for f in &r.faults {
        let n = f.targets.len();
        push(
            f.injected_at,
            true,
            format!(
                "Fault `{}` ({}) injected on {n} target{}",
                f.name,
                serde_json::to_value(f.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                if n == 1 { "" } else { "s" }
            ),
        );
        push(f.reverted_at, false, format!("Fault `{}` reverted", f.name));
        if let Some(e) = &f.revert_error {
            push(
                f.reverted_at.or(r.ended),
                true,
                format!("Revert of `{}` failed: {e}", f.name),
            );
        }
    }
    push(
        r.moments.t_impact,
        true,
        "First SLO breach (impact begins)".into(),
    );
    for a in &r.detection {
        push(a.t_active, false, format!("Alert {} pending", a.name));
        push(a.t_fire, true, format!("Alert {} firing", a.name));
        push(
            a.t_notify,
            false,
            format!("Alert {} notification received by the webhook", a.name),
        );
        push(a.t_resolve, false, format!("Alert {} resolved", a.name));
    }
    for n in &r.noise {
        push(
            n.t_fire,
            false,
            format!("Unexpected alert {} firing", n.describe()),
        );
    }
    let preassigned: Vec<&str> = r
        .roles
        .iter()
        .filter(|a| a.assigned_by == AssignedBy::Scenario)
        .map(|a| role_label(a.role))
        .collect();
    if !preassigned.is_empty() {
        push(
            Some(r.t0()),
            true,
            format!("Roles held from the start: {}", preassigned.join(", ")),
        );
    }
    for e in &r.responders {
        let who = blameless.actor(&e.person, e.at, e.source);
        let text = match &e.action {
            Action::Ack => format!("{who} acknowledged the page"),
            Action::Declare { severity } => format!("{who} declared {severity}"),
            Action::Assign { role, .. } => {
                format!("The {} role was assigned", role_label(*role))
            }
            Action::Update { message } => {
                format!(
                    "{who} posted a status update: \"{}\"",
                    blameless.scrub(message)
                )
            }
            Action::Step { step } => format!("{who} reported runbook step `{step}` done"),
            Action::Resolve => format!("{who} resolved the incident"),
            Action::Note { text } => format!("{who} noted: \"{}\"", blameless.scrub(text)),
        };
        push(Some(e.at), true, capitalise(&text));
    }
    for s in &r.runbook.steps {
        push(
            s.verified_at,
            true,
            format!("Runbook step `{}` verified by its probe", s.id),
        );
    }
    push(
        r.moments.t_mitigate,
        true,
        "SLIs back within their SLOs (mitigated)".into(),
    );
    for (at, text) in super::paging::timeline(r) {
        push(Some(at), true, text);
    }
    v.sort_by_key(|e| e.at);
    v
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

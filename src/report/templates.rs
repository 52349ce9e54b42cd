//! The four communication templates from the seed, filled from the run:
//! initial notification, status update, resolution, postmortem invite.
//! They name roles, never people, and say plainly that this was a drill.

use std::fmt::Write;

use jiff::Timestamp;

use super::blameless::scrub;
use super::model::RunReport;
use crate::incident::{Action, role_label};
use crate::scenario::RoleName;
use crate::score::human_secs;

fn ts(t: Option<Timestamp>) -> String {
    t.map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "(not reached)".into())
}

fn severity(r: &RunReport) -> String {
    r.scorecard
        .severity
        .clone()
        .unwrap_or_else(|| "SEV?".into())
}

/// The whole "Next update" phrase: `by <time>` when the severity sets a
/// cadence, else `on material change` (SEV3 and below in the default table),
/// so the template never reads "by on material change".
fn next_update(r: &RunReport, from: Option<Timestamp>) -> String {
    let cadence = r
        .scorecard
        .comms
        .cadence_seconds
        .or(r.scorecard.comms.initial_target_seconds);
    match (from, cadence) {
        (Some(f), Some(c)) => format!(
            "by {}",
            ts(f.checked_add(jiff::SignedDuration::from_secs_f64(c)).ok())
        ),
        _ => "on material change".into(),
    }
}

fn detected_by(r: &RunReport) -> String {
    let fired: Vec<String> = r
        .detection
        .iter()
        .filter(|a| a.fired)
        .map(|a| format!("alert {} at {}", a.name, ts(a.t_fire)))
        .collect();
    if fired.is_empty() {
        "responders (no expected alert fired)".into()
    } else {
        fired.join(", ")
    }
}

pub fn initial_notification(r: &RunReport) -> String {
    let mut s = String::new();
    let page = r.scorecard.metrics.t_page.or(r.moments.t_inject);
    let _ = writeln!(
        s,
        "**[GAME DAY DRILL] [{}] Investigating: {}**\n",
        severity(r),
        r.scenario.name
    );
    let _ = writeln!(
        s,
        "- Impact: {}",
        r.scenario
            .description
            .as_deref()
            .unwrap_or("degradation under test (see hypothesis)")
    );
    let _ = writeln!(s, "- Started: {}", ts(r.moments.t_inject));
    let _ = writeln!(s, "- Detected by: {}", detected_by(r));
    let _ = writeln!(
        s,
        "- Incident commander: the {} (see the roles table); updates from the {}",
        role_label(RoleName::IncidentCommander),
        role_label(RoleName::Communications)
    );
    let _ = writeln!(s, "- Next update: {}", next_update(r, page));
    s
}

pub fn status_update(r: &RunReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "**[GAME DAY DRILL] [{}] Update: {}**\n",
        severity(r),
        r.scenario.name
    );
    let done: Vec<String> = r
        .runbook
        .steps
        .iter()
        .filter(|st| st.done_at().is_some())
        .map(|st| st.title.clone().unwrap_or_else(|| st.id.clone()))
        .collect();
    let last_update = r.responders.iter().rev().find_map(|e| match &e.action {
        Action::Update { message } => Some((e.at, message.clone())),
        _ => None,
    });
    let status = match r.moments.t_mitigate {
        Some(t) => format!("mitigated at {}; monitoring", ts(Some(t))),
        None => "mitigation in progress".into(),
    };
    let _ = writeln!(s, "- Status: {status}");
    if let Some((_, msg)) = &last_update {
        let _ = writeln!(s, "- Latest: {}", scrub(r, msg));
    }
    let _ = writeln!(
        s,
        "- Actions taken: {}",
        if done.is_empty() {
            "none recorded yet".into()
        } else {
            done.join("; ")
        }
    );
    let _ = writeln!(
        s,
        "- Next update: {}",
        next_update(r, last_update.map(|u| u.0).or(r.moments.t_inject))
    );
    s
}

pub fn resolution(r: &RunReport) -> String {
    let m = &r.scorecard.metrics;
    let t = |v: Option<f64>| v.map(human_secs).unwrap_or_else(|| "-".into());
    let mut s = String::new();
    let _ = writeln!(
        s,
        "**[GAME DAY DRILL] [{}] Resolved: {}**\n",
        severity(r),
        r.scenario.name
    );
    let _ = writeln!(s, "- Resolved: {}", ts(m.t_resolve.or(r.ended)));
    let _ = writeln!(
        s,
        "- Time to detect {} · acknowledge {} · mitigate {} · resolve {}",
        t(m.ttd_seconds),
        t(m.tta_seconds),
        t(m.ttm_seconds),
        t(m.ttr_seconds)
    );
    let _ = writeln!(s, "- Hypothesis: {}", r.scenario.hypothesis);
    let _ = writeln!(
        s,
        "- Outcome: {} ({})",
        r.status.as_str(),
        r.scorecard.reason
    );
    let _ = writeln!(
        s,
        "- Follow-up: a blameless postmortem review; {} action item(s) drafted",
        r.action_items.len()
    );
    s
}

pub fn postmortem_invite(r: &RunReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "**Postmortem review: {} game day ({})**\n",
        r.scenario.name,
        r.started.strftime("%Y-%m-%d")
    );
    let _ = writeln!(
        s,
        "- Attendees: the {}, {}, {} and subject-matter experts; the alert and runbook owners",
        role_label(RoleName::IncidentCommander),
        role_label(RoleName::Communications),
        role_label(RoleName::Operations)
    );
    let _ = writeln!(
        s,
        "- Agenda: the timeline, contributing factors, what went well and poorly, and the {} action item(s)",
        r.action_items.len()
    );
    let _ = writeln!(
        s,
        "- Ground rule: blameless. We look at the system and the process, not at individuals."
    );
    let _ = writeln!(
        s,
        "- Pre-read: report.md and report.html in run {}",
        r.run_id
    );
    s
}

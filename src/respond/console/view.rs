//! What one console snapshot holds, built from the live picture (alerts,
//! roles, faults, probes, timeline, runbook) and the journal feed
//! (messages, pages, injects, pause). The participants' view leaves out
//! what only the facilitator should see: the injects still to come and the
//! scorecard. Pure: a `Live` and a `Feed` in, JSON out.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::feed::Feed;
use crate::incident::role_label;
use crate::report::live::Live;
use crate::scenario::RoleName;

/// The roles a console lists, in the order people think of them.
const ROLES: [RoleName; 4] = [
    RoleName::IncidentCommander,
    RoleName::Communications,
    RoleName::Operations,
    RoleName::Sme,
];

/// Timeline items and probe points beyond these are left out (the oldest):
/// a snapshot goes to every client on every change, so it stays bounded.
const TIMELINE_MAX: usize = 300;
const POINTS_MAX: usize = 600;

/// Who is looking: the stream sends each its own view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Participant,
    Facilitator,
}

/// The participants' snapshot: everything but what is the facilitator's.
pub fn snapshot(live: &Live, feed: &Feed) -> Value {
    let now = live.now();
    json!({
        "viewer": "participant",
        "kind": if feed.drill.is_some() { "drill" } else { "run" },
        "runId": live.run_id,
        "scenario": live.scenario.metadata.name,
        "phase": live.phase,
        "now": now,
        "started": live.started,
        "tInject": live.t_inject,
        "scale": live.clock.as_ref().map_or(1.0, |c| c.scale()),
        "paused": feed.paused,
        "ended": feed.ended,
        "alerts": alerts(live, feed),
        "roles": roles(live, now),
        "faults": faults(live),
        "probes": probes(live, feed),
        "timeline": tail(&live.timeline, TIMELINE_MAX),
        "messages": feed.messages,
        "runbook": live.incident.runbook.steps,
        "severities": live.config.severities.keys().collect::<Vec<_>>(),
    })
}

/// The facilitator's snapshot: the participants' one (built once, shared)
/// plus the inject list and the live scorecard.
pub fn facilitator(mut participant: Value, live: &Live, feed: &Feed) -> Value {
    let scored = crate::score::score(&live.targets(), &live.observed(live.now()), &live.incident);
    participant["viewer"] = json!("facilitator");
    participant["injects"] = json!(feed.inject_list());
    participant["scorecard"] = json!(scored.scorecard);
    participant
}

fn tail<T: serde::Serialize>(items: &[T], max: usize) -> Value {
    json!(items[items.len().saturating_sub(max)..])
}

/// The expected alerts with the furthest state each reached, then the
/// pages a drill delivered.
fn alerts(live: &Live, feed: &Feed) -> Vec<Value> {
    let mut out: Vec<Value> = live
        .alerts
        .iter()
        .map(|a| {
            let state = if a.t_resolve.is_some() {
                "resolved"
            } else if a.t_notify.is_some() {
                "paged"
            } else if a.t_fire.is_some() {
                "firing"
            } else if a.t_active.is_some() {
                "pending"
            } else {
                "not seen yet"
            };
            json!({"name": a.name, "state": state, "since": a.t_resolve.or(a.t_notify).or(a.t_fire).or(a.t_active)})
        })
        .collect();
    out.extend(
        live.noise
            .iter()
            .map(|n| json!({"name": n.name, "state": "firing (unexpected)", "since": n.t_fire})),
    );
    let resolved = live.incident.t_resolve();
    out.extend(feed.pages.iter().map(|p| {
        let name = p
            .pointer("/labels/alertname")
            .and_then(Value::as_str)
            .unwrap_or("page");
        let state = match resolved {
            Some(_) => "resolved",
            None => "paged",
        };
        json!({"name": name, "state": state, "since": resolved.map_or(p["at"].clone(), |t| json!(t)), "summary": p.pointer("/annotations/summary")})
    }));
    out
}

fn roles(live: &Live, now: Timestamp) -> Vec<Value> {
    let book = &live.incident.roles;
    ROLES
        .iter()
        .map(|&r| {
            let since = book
                .assignments()
                .iter()
                .rev()
                .find(|a| a.role == r && a.at <= now)
                .map(|a| a.at);
            json!({"role": r, "label": role_label(r), "person": book.holder_at(r, now), "since": since})
        })
        .collect()
}

/// Each fault with its window; `endsAt` (injection + duration) drives the
/// countdown while it is active.
fn faults(live: &Live) -> Vec<Value> {
    live.faults
        .iter()
        .map(|f| {
            let duration = live
                .scenario
                .spec
                .faults
                .iter()
                .find(|s| s.name == f.name)
                .and_then(|s| s.duration);
            let ends = f.injected_at.zip(duration).and_then(|(t, d)| {
                jiff::SignedDuration::try_from(d.as_std())
                    .ok()
                    .and_then(|d| t.checked_add(d).ok())
            });
            json!({
                "name": f.name, "type": f.kind, "targets": f.targets.len(),
                "injectedAt": f.injected_at, "revertedAt": f.reverted_at, "endsAt": ends,
                "revertError": f.revert_error,
            })
        })
        .collect()
}

/// Each probe with its readings: the live picture's once it has them (a
/// replayed or finished run), else those the console read in the journal.
fn probes(live: &Live, feed: &Feed) -> Vec<Value> {
    live.probes
        .values()
        .map(|s| {
            let points = match feed.probe_points.get(&s.name) {
                Some(p) if s.points.is_empty() => tail(p, POINTS_MAX),
                _ => tail(&s.points, POINTS_MAX),
            };
            json!({"name": s.name, "expect": s.expect, "during": s.during, "points": points})
        })
        .collect()
}

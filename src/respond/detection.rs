//! The detection poller: asks Prometheus and Alertmanager about the expected
//! alerts on a short interval of its own (not the engine's probe interval:
//! detection times are the point of the drill, and a slow poll would only
//! blur the acknowledgement-by-silence time). The alert times themselves
//! come from the systems that own them (`observe::alerts`).

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::json;

use crate::engine::Journal;
use crate::incident::{Action, EventSource, ResponderEvent};
use crate::observe::Endpoints;
use crate::observe::alerts::{DetectionEvent, DetectionTracker};
use crate::report::live::{Shared, lock};
use crate::scenario::Noise;

pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Polls, from the start of the fault phase, until aborted. Each new fact is journaled (source `detection`)
/// before the live state shows it.
pub async fn poll_loop(
    shared: Shared,
    journal: Arc<Journal>,
    endpoints: Endpoints,
    interval: Duration,
) {
    let (expected, noise_policy) = {
        let live = lock(&shared);
        let d = live.scenario.spec.detection.clone();
        (
            d.as_ref().map(|d| d.alerts.clone()).unwrap_or_default(),
            d.and_then(|d| d.noise).unwrap_or_default(),
        )
    };
    // Count from the fault phase, not the run's start: while the steady
    // state settles, the previous run's alert may still fire or resolve,
    // and neither is this run's detection nor its noise.
    let since = loop {
        if let Some(t) = lock(&shared).fault_phase_at {
            break t;
        }
        tokio::time::sleep(interval).await;
    };
    let mut tracker = DetectionTracker::new(expected, since);
    let mut last_errors: Vec<String> = Vec::new();
    loop {
        let report = tracker
            .poll(
                endpoints.prometheus.as_ref(),
                endpoints.alertmanager.as_ref(),
                Timestamp::now(),
            )
            .await;
        if report.errors != last_errors {
            if !report.errors.is_empty() {
                let _ = journal.append(
                    "detection",
                    "detection.error",
                    json!({"errors": report.errors}),
                );
            }
            last_errors = report.errors;
        }
        {
            let mut live = lock(&shared);
            for ev in &report.events {
                journal_event(&journal, ev, noise_policy);
                apply(&mut live, &journal, ev, noise_policy);
            }
            live.apply_detection(tracker.times().map(|(_, t)| t), tracker.noise());
        }
        tokio::time::sleep(interval).await;
    }
}

fn journal_event(journal: &Journal, ev: &DetectionEvent, noise: Noise) {
    let name = match ev {
        DetectionEvent::Pending { .. } => "alert.pending",
        DetectionEvent::Firing { .. } => "alert.firing",
        DetectionEvent::Acknowledged { .. } => "alert.silenced",
        DetectionEvent::Resolved { .. } => "alert.resolved",
        DetectionEvent::Noise { .. } => "alert.noise",
    };
    let mut data = serde_json::to_value(ev).unwrap_or_else(|_| json!({}));
    if let (DetectionEvent::Noise { .. }, Some(obj)) = (ev, data.as_object_mut()) {
        obj.insert("policy".into(), json!(noise));
    }
    let _ = journal.append("detection", name, data);
}

fn apply(
    live: &mut crate::report::live::Live,
    journal: &Journal,
    ev: &DetectionEvent,
    noise: Noise,
) {
    match ev {
        DetectionEvent::Pending { alert, at } => live.push(
            *at,
            "detection",
            "alert.pending",
            format!("{alert} pending"),
        ),
        DetectionEvent::Firing { alert, at } => {
            live.push(*at, "detection", "alert.firing", format!("{alert} firing"))
        }
        DetectionEvent::Resolved { alert, at } => live.push(
            *at,
            "detection",
            "alert.resolved",
            format!("{alert} resolved"),
        ),
        DetectionEvent::Noise { alertname, at, .. } => {
            if noise != Noise::Ignore {
                crate::term::event(
                    "warning",
                    json!({"level": "warn", "kind": "noise", "alertname": alertname, "policy": noise}),
                    format_args!(
                        "warning: unexpected alert {alertname} fired during the run (noise: {noise:?})"
                    ),
                );
            }
            live.push(
                *at,
                "detection",
                "alert.noise",
                format!("unexpected alert {alertname} fired"),
            )
        }
        // A silence on the alert is an acknowledgement by whoever made it.
        DetectionEvent::Acknowledged { alert, by, at, .. } => {
            let event = ResponderEvent {
                at: *at,
                person: if by.trim().is_empty() {
                    "unknown".into()
                } else {
                    by.clone()
                },
                source: EventSource::Silence,
                action: Action::Ack,
            };
            if live.record_event(journal, event).is_ok() {
                live.push(
                    *at,
                    "detection",
                    "alert.silenced",
                    format!("{alert} silenced in Alertmanager"),
                );
            }
        }
    }
}

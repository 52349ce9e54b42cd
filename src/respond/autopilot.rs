//! Scripted responders and runbook verification.
//!
//! Autopilot entries act at their offsets from the first injection, as the
//! person they name, through the same recording path as `gameday respond`.
//! A step's `action` really changes the cluster, because the point of
//! running a runbook in CI is to learn whether its mitigation works; the
//! change is journalled and marked like a fault and reverted by the engine
//! after the recovery measurement (`engine::actions`). Steps with `verify`
//! count only once their probe holds: the verify loop reads the probe for
//! every claimed, unverified step.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::json;

use crate::engine::Journal;
use crate::engine::actions::{self, ActionError, ActionMark};
use crate::incident::{Action, EventSource, ResponderEvent};
use crate::k8s::Kube;
use crate::k8s::marks::RunId;
use crate::observe::ProbeReader;
use crate::report::live::{Shared, lock};
use crate::scenario::{AutopilotEntry, ScaleAction};

const WAIT_STEP: Duration = Duration::from_millis(50);

/// Closes the autopilot's cluster actions: `true` once the run is about to
/// revert them. An action holds the lock from its intent to its write, so
/// whoever closes it knows no action is in flight or still to come.
pub type ActionGate = Arc<tokio::sync::Mutex<bool>>;

/// Scales a workload within the scenario's namespaces only (the autopilot
/// has the run's blast radius), marked for revert unless `mark` is `None`.
pub async fn scale(
    kube: &Kube,
    journal: &Journal,
    scale: &ScaleAction,
    allowed: &[String],
    protected: impl Fn(&str) -> bool,
    mark: Option<&ActionMark>,
    about: serde_json::Value,
) -> Result<(), ActionError> {
    if !allowed.iter().any(|n| n == &scale.namespace) {
        return Err(ActionError::OutsideTarget(scale.namespace.clone()));
    }
    if protected(&scale.namespace) {
        return Err(ActionError::Protected(scale.namespace.clone()));
    }
    actions::scale(kube, journal, scale, mark, about).await
}

/// What every autopilot action needs besides its entry.
struct Actor {
    journal: Arc<Journal>,
    kube: Kube,
    namespaces: Vec<String>,
    config: Arc<crate::config::Config>,
    run_id: RunId,
    /// `gameday/expires-at` of action marks: the run's whole window
    /// (`maxDuration`) plus the engine's grace, as for faults.
    expires_at: Timestamp,
    gate: ActionGate,
}

/// Runs every autopilot entry at its offset from T_inject; returns when all
/// have acted, or when the gate closes. Waits for the first injection before
/// counting.
pub async fn autopilot_loop(shared: Shared, journal: Arc<Journal>, kube: Kube, gate: ActionGate) {
    let (mut entries, actor) = {
        let live = lock(&shared);
        let spec = &live.scenario.spec;
        let window = spec.blast_radius.max_duration.as_std() + Duration::from_secs(120);
        let actor = Actor {
            journal,
            kube,
            namespaces: spec.target.namespaces.clone(),
            config: live.config.clone(),
            run_id: RunId(live.run_id.clone()),
            expires_at: Timestamp::now()
                .checked_add(jiff::SignedDuration::try_from(window).unwrap_or_default())
                .unwrap_or_else(|_| Timestamp::now()),
            gate,
        };
        let entries = spec
            .response
            .as_ref()
            .map(|r| r.autopilot.clone())
            .unwrap_or_default();
        (entries, actor)
    };
    if entries.is_empty() {
        return;
    }
    entries.sort_by_key(|e| e.at.0);
    let base = loop {
        if let Some(i) = lock(&shared).inject_instant {
            break i;
        }
        tokio::time::sleep(WAIT_STEP).await;
    };
    for entry in entries {
        tokio::time::sleep_until((base + entry.at.as_std()).into()).await;
        actor.act(&shared, &entry).await;
        let mut live = lock(&shared);
        live.autopilot_left = live.autopilot_left.saturating_sub(1);
    }
}

impl Actor {
    async fn act(&self, shared: &Shared, entry: &AutopilotEntry) {
        let journal = &self.journal;
        let action = match Action::from_autopilot(entry) {
            Ok(a) => a,
            Err(e) => {
                let _ = journal.append(
                    "autopilot",
                    "autopilot.skipped",
                    json!({"as": entry.person, "error": e.to_string()}),
                );
                return;
            }
        };
        if let Some(step_action) = &entry.action
            && let Some(s) = &step_action.scale
        {
            // Held from the intent to the write: see `ActionGate`.
            let closed = self.gate.lock().await;
            if *closed {
                let _ = journal.append(
                    "autopilot",
                    "autopilot.skipped",
                    json!({"as": entry.person, "step": entry.step, "error": "the run is ending: its actions are being reverted"}),
                );
                return;
            }
            let mark = ActionMark {
                run_id: self.run_id.clone(),
                step: entry.step.clone().unwrap_or_default(),
                expires_at: self.expires_at,
            };
            let about = json!({"as": entry.person, "step": entry.step});
            let result = scale(
                &self.kube,
                journal,
                s,
                &self.namespaces,
                |ns| self.config.is_protected(ns),
                (!step_action.keep).then_some(&mark),
                about,
            )
            .await;
            drop(closed);
            let _ = journal.append(
                "autopilot",
                if result.is_ok() {
                    "autopilot.action.done"
                } else {
                    "autopilot.action.failed"
                },
                json!({"as": entry.person, "step": entry.step, "scale": s, "keep": step_action.keep,
                       "error": result.err().map(|e| e.to_string())}),
            );
        }
        let event = ResponderEvent {
            at: Timestamp::now(),
            person: entry.person.clone(),
            source: EventSource::Autopilot,
            action,
        };
        let _ = lock(shared).record_event(journal, event);
    }
}

/// Reads the `verify` probe of every claimed, unverified step until aborted.
pub async fn verify_loop(
    shared: Shared,
    journal: Arc<Journal>,
    observer: ProbeReader,
    interval: Duration,
) {
    let steps: Vec<(String, crate::scenario::VerifyProbe)> = {
        let live = lock(&shared);
        live.scenario
            .spec
            .response
            .as_ref()
            .and_then(|r| r.runbook.as_ref())
            .map(|rb| {
                rb.steps
                    .iter()
                    .filter_map(|s| s.verify.clone().map(|v| (s.id.clone(), v)))
                    .collect()
            })
            .unwrap_or_default()
    };
    if steps.is_empty() {
        return;
    }
    loop {
        let due: Vec<&(String, crate::scenario::VerifyProbe)> = {
            let live = lock(&shared);
            steps
                .iter()
                .filter(|(id, _)| live.incident.runbook.awaiting_verify().any(|s| &s.id == id))
                .collect()
        };
        for (id, probe) in due {
            let reading = observer.verify(id, probe).await;
            let holds = reading.outcome.holds();
            let _ = journal.append(
                "runbook",
                if holds {
                    "step.verified"
                } else {
                    "step.verify"
                },
                json!({"step": id, "reading": reading}),
            );
            if holds {
                let mut live = lock(&shared);
                if live.incident.runbook.verified(id, reading.at) {
                    live.push(
                        reading.at,
                        "runbook",
                        "step.verified",
                        format!("runbook step {id} verified ({reading})"),
                    );
                }
            }
        }
        tokio::time::sleep(interval).await;
    }
}

//! Scripted responders and runbook verification.
//!
//! Autopilot entries act at their offsets from the first injection, as the
//! person they name, through the same recording path as `gameday respond`.
//! A step's `action` really changes the cluster (kube-rs, `/scale`), because
//! the point of running a runbook in CI is to learn whether its mitigation
//! works. Steps with `verify` count only once their probe holds: the verify
//! loop reads the probe for every claimed, unverified step.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::api::{Patch, PatchParams};
use serde_json::json;

use super::live::{Shared, lock};
use crate::drill::{Action, EventSource, ResponderEvent};
use crate::engine::Journal;
use crate::k8s::Kube;
use crate::observe::Observer;
use crate::scenario::{AutopilotEntry, ScaleAction, WorkloadKind};

const WAIT_STEP: Duration = Duration::from_millis(50);

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("namespace `{0}` is not one of the scenario's target namespaces")]
    OutsideTarget(String),
    #[error("namespace `{0}` is protected")]
    Protected(String),
    #[error(transparent)]
    Kube(#[from] crate::k8s::error::K8sError),
}

/// Scales a workload through its `/scale` subresource, within the
/// scenario's namespaces only (the autopilot has the run's blast radius).
pub async fn scale(
    kube: &Kube,
    scale: &ScaleAction,
    allowed: &[String],
    protected: impl Fn(&str) -> bool,
) -> Result<(), ActionError> {
    if !allowed.iter().any(|n| n == &scale.namespace) {
        return Err(ActionError::OutsideTarget(scale.namespace.clone()));
    }
    if protected(&scale.namespace) {
        return Err(ActionError::Protected(scale.namespace.clone()));
    }
    let patch = json!({"spec": {"replicas": scale.replicas}});
    let pp = PatchParams::default();
    let merge = Patch::Merge(&patch);
    let op = format!(
        "scale {}/{} to {}",
        scale.namespace, scale.name, scale.replicas
    );
    match scale.kind {
        WorkloadKind::Deployment => {
            let api = kube.namespaced::<Deployment>(&scale.namespace);
            kube.call(&op, || api.patch_scale(&scale.name, &pp, &merge))
                .await?;
        }
        WorkloadKind::StatefulSet => {
            let api = kube.namespaced::<StatefulSet>(&scale.namespace);
            kube.call(&op, || api.patch_scale(&scale.name, &pp, &merge))
                .await?;
        }
    }
    Ok(())
}

/// Runs every autopilot entry at its offset from T_inject; returns when all
/// have acted. Waits for the first injection before counting.
pub async fn autopilot_loop(shared: Shared, journal: Arc<Journal>, kube: Kube) {
    let (mut entries, namespaces, config) = {
        let live = lock(&shared);
        (
            live.scenario
                .spec
                .response
                .as_ref()
                .map(|r| r.autopilot.clone())
                .unwrap_or_default(),
            live.scenario.spec.target.namespaces.clone(),
            live.config.clone(),
        )
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
        act(&shared, &journal, &kube, &entry, &namespaces, &config).await;
        let mut live = lock(&shared);
        live.autopilot_left = live.autopilot_left.saturating_sub(1);
    }
}

async fn act(
    shared: &Shared,
    journal: &Journal,
    kube: &Kube,
    entry: &AutopilotEntry,
    namespaces: &[String],
    config: &crate::config::Config,
) {
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
    if let Some(s) = entry.action.as_ref().and_then(|a| a.scale.as_ref()) {
        let _ = journal.append(
            "autopilot",
            "autopilot.action",
            json!({"as": entry.person, "scale": s}),
        );
        let result = scale(kube, s, namespaces, |ns| config.is_protected(ns)).await;
        let _ = journal.append(
            "autopilot",
            if result.is_ok() {
                "autopilot.action.done"
            } else {
                "autopilot.action.failed"
            },
            json!({"as": entry.person, "scale": s, "error": result.err().map(|e| e.to_string())}),
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

/// Reads the `verify` probe of every claimed, unverified step until aborted.
pub async fn verify_loop(
    shared: Shared,
    journal: Arc<Journal>,
    observer: Observer,
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
                .filter(|(id, _)| live.drill.runbook.awaiting_verify().any(|s| &s.id == id))
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
                if live.drill.runbook.verified(id, reading.at) {
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

//! Responder actions as reversible changes. Autopilot's runbook mitigation
//! (`action: {scale: ...}`) really changes the cluster, and a game day must
//! leave the environment as it found it: a checkout left at 6 replicas makes
//! the next run refuse ("would touch 67% of Deployment/checkout"). So an
//! action is handled like a fault (S1, S2):
//! - its intent, with the undo data, is journalled before the write;
//! - the object carries the run's label and annotations (`gameday/fault:
//!   autopilot:<step>`, `gameday/fault-type: scale`, `gameday/undo`), in the
//!   same write as the change, so `gameday recover` and `gameday halt`
//!   revert it after a crash with nothing but the cluster;
//! - the engine reverts it after the recovery measurement (the mitigation
//!   may be what recovered the system), and confirms it by reading the
//!   object back;
//! - `keep: true` opts out: no marks, no revert, and the journal says so.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use super::journal::{Journal, JournalError};
use super::recover::{self, Filter};
use crate::faults::common;
use crate::k8s::marks::{self, Marked, ObjKind, ObjRef, RunId, Stamp};
use crate::k8s::{K8sError, Kube};
use crate::scenario::{FaultType, ScaleAction, WorkloadKind};

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("namespace `{0}` is not one of the scenario's target namespaces")]
    OutsideTarget(String),
    #[error("namespace `{0}` is protected")]
    Protected(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("not changed: the intent could not be journalled: {0}")]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Kube(#[from] K8sError),
}

/// What marks an action's object gets: the run's, unless the action keeps
/// its change.
#[derive(Debug, Clone)]
pub struct ActionMark {
    pub run_id: RunId,
    /// The runbook step the action belongs to.
    pub step: String,
    pub expires_at: jiff::Timestamp,
}

impl ActionMark {
    fn stamp(&self) -> Stamp {
        Stamp {
            run_id: self.run_id.clone(),
            fault: format!("{}{}", marks::ACTION_PREFIX, self.step),
            // Marked as the scale fault marks its writes, so that `recover`
            // undoes a scale action with the scale fault's revert.
            fault_type: FaultType::named("scale"),
            expires_at: self.expires_at,
        }
    }
}

fn workload(scale: &ScaleAction) -> ObjRef {
    ObjRef {
        kind: match scale.kind {
            WorkloadKind::Deployment => ObjKind::Deployment,
            WorkloadKind::StatefulSet => ObjKind::StatefulSet,
        },
        namespace: Some(scale.namespace.clone()),
        name: scale.name.clone(),
    }
}

/// Scales a workload as a responder action. `mark` is `None` for
/// `keep: true`. An object already marked (by a fault, or an earlier action
/// of this run) is not marked again: its existing undo data holds the
/// original, and a second one would record the changed state as original.
/// `about` (who, which step) goes into the journal entries.
pub async fn scale(
    kube: &Kube,
    journal: &Journal,
    scale: &ScaleAction,
    mark: Option<&ActionMark>,
    about: Value,
) -> Result<(), ActionError> {
    let obj = workload(scale);
    let current = common::get(kube, &obj)
        .await?
        .ok_or_else(|| ActionError::NotFound(obj.to_string()))?;
    let replicas = current.data["spec"]["replicas"].as_i64().unwrap_or(1);
    let undo = json!({ "replicas": replicas });
    let covered_by = match Marked::from_meta(obj.kind, &current.metadata) {
        Some(Ok(m)) => Some(m.fault.unwrap_or_default()),
        Some(Err(e)) => Some(e.to_string()),
        None => None,
    };
    let stamp = mark.filter(|_| covered_by.is_none()).map(ActionMark::stamp);
    let mut intent = json!({
        "target": obj.to_string(),
        "scale": scale,
        "undo": undo,
        "keep": mark.is_none(),
        "marked": stamp.is_some(),
        "coveredBy": covered_by,
    });
    merge_into(&mut intent, about);
    // S1: on disk before the write.
    journal.append("autopilot", "autopilot.action", intent)?;
    let change = json!({"spec": {"replicas": scale.replicas}});
    let patch = match &stamp {
        Some(s) => marks::combine(s.patch(&undo, &[]), &change),
        None => change,
    };
    common::merge_patch(kube, &obj, &patch)
        .await?
        .ok_or_else(|| ActionError::NotFound(obj.to_string()))?;
    Ok(())
}

fn merge_into(target: &mut Value, extra: Value) {
    if let (Some(t), Value::Object(e)) = (target.as_object_mut(), extra) {
        t.extend(e);
    }
}

/// One reverted action, with the evidence read back from the cluster.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionRevert {
    pub target: String,
    pub action: Option<String>,
    /// The replicas the object was restored to (its spec, read back).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Where a run's actions can leave marks.
pub fn filter(run_id: &RunId, namespaces: &[String]) -> Filter {
    Filter {
        run_id: Some(run_id.0.clone()),
        expired_only: false,
        namespaces: Some(namespaces.to_vec()),
        nodes: false,
        kinds: Some(vec![ObjKind::Deployment, ObjKind::StatefulSet]),
    }
}

/// Reverts every action of the run still marked in the cluster, then
/// confirms each one by evidence: unmarked, and its spec back at the undo
/// data's replicas. "The API accepted the patch" is not evidence.
pub async fn revert(
    kube: &Kube,
    run_id: &RunId,
    namespaces: &[String],
    concurrency: usize,
) -> Result<Vec<ActionRevert>, K8sError> {
    let filter = filter(run_id, namespaces);
    let found: Vec<Marked> = recover::find(kube, &filter)
        .await?
        .into_iter()
        .filter(Marked::is_action)
        .collect();
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let (_, left) = recover::sweep_where(kube, &filter, concurrency, Marked::is_action).await?;
    let mut out = Vec::new();
    for m in &found {
        let evidence = if left.iter().any(|l| l.obj == m.obj) {
            Err(Unconfirmed::StillMarked)
        } else {
            confirm(kube, m).await
        };
        out.push(ActionRevert {
            target: m.obj.to_string(),
            action: m.fault.clone(),
            replicas: evidence.as_ref().ok().copied().flatten(),
            error: evidence.err().map(|e| e.to_string()),
        });
    }
    Ok(out)
}

/// Why an action's revert could not be confirmed by reading it back.
#[derive(Debug, thiserror::Error)]
enum Unconfirmed {
    #[error("still marked after the revert's retries")]
    StillMarked,
    #[error("still marked")]
    Marked,
    #[error("spec.replicas is {have:?}, expected {want:?}")]
    Replicas {
        have: Option<i64>,
        want: Option<i64>,
    },
    #[error(transparent)]
    Read(#[from] K8sError),
}

/// Reads the object back: no marks left, and the replicas of the undo
/// data in its spec. A workload deleted meanwhile has nothing to restore.
async fn confirm(kube: &Kube, m: &Marked) -> Result<Option<i64>, Unconfirmed> {
    let retry = Duration::from_millis(200);
    let mut last = Unconfirmed::Marked;
    // A few reads: another writer (an HPA, a person) may race the revert.
    for _ in 0..5 {
        let Some(o) = common::get(kube, &m.obj).await? else {
            return Ok(None);
        };
        let want = m.undo.get("replicas").and_then(Value::as_i64);
        let have = o.data["spec"]["replicas"].as_i64();
        if marks::is_marked(&o.metadata) {
            last = Unconfirmed::Marked;
        } else if want.is_some() && want != have {
            last = Unconfirmed::Replicas { have, want };
        } else {
            return Ok(have);
        }
        tokio::time::sleep(retry).await;
    }
    Err(last)
}

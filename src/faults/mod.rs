//! Fault types. Each lives in its own file and implements [`FaultKind`]:
//! `plan` finds what it could touch (changing nothing), `inject` marks and
//! changes the chosen targets, `revert` undoes one marked object from the
//! undo data on that object. Adding a fault means copying one file,
//! changing the three functions, and adding one line to [`kind_of`].
//!
//! Reverts work from the object alone (never from local state), so the run,
//! `gameday recover` and `gameday halt` all share one code path.

pub mod common;
pub mod ephemeral;
#[cfg(test)]
mod ephemeral_on_runtime;
mod netpol;
pub mod rbac;
pub mod targets;

mod bad_rollout;
mod cpu_stress;
mod dns_block;
mod memory_stress;
mod network_delay;
mod network_partition;
mod node_cordon;
mod node_drain;
mod node_taint;
mod packet_loss;
mod pod_evict;
mod pod_failure;
mod pod_kill;
mod scale;

use std::sync::atomic::AtomicBool;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::k8s::marks::{Marked, ObjRef, Stamp};
use crate::k8s::select::{BlastError, Candidate, Candidates, GroupImpact};
use crate::k8s::{K8sError, Kube};
use crate::scenario::{Fault, FaultType, Scenario};

pub use rbac::Rule;

#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    #[error(transparent)]
    K8s(#[from] K8sError),
    #[error(transparent)]
    Blast(#[from] BlastError),
    #[error("fault `{fault}`: {message}")]
    Invalid { fault: String, message: String },
    #[error("{obj}: {message}")]
    Undo { obj: String, message: String },
    /// The write was accepted but the cluster shows no evidence that the
    /// fault took effect (or, for a revert, that it ended): a pod neither
    /// terminating nor gone, an ephemeral container that did not run as
    /// asked. Counting such a fault as injected would score a no-op.
    #[error("{obj}: {message}")]
    Unverified { obj: String, message: String },
}

/// What a fault needs to know about the run it belongs to.
pub struct FaultCx<'a> {
    pub kube: &'a Kube,
    pub scenario: &'a Scenario,
    pub config: &'a Config,
    pub fault: &'a Fault,
    /// Most API calls in flight at once.
    pub concurrency: usize,
}

impl FaultCx<'_> {
    pub fn invalid(&self, message: impl Into<String>) -> FaultError {
        FaultError::Invalid {
            fault: self.fault.name.clone(),
            message: message.into(),
        }
    }
}

/// The result of injecting into one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetResult {
    pub target: ObjRef,
    /// Objects now carrying this run's marks (to revert).
    pub marked: Vec<ObjRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The target was left alone on purpose (e.g. a disruption budget said no).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// What a revert did to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Reverted {
    /// Undo applied and marks removed.
    Restored,
    /// The object was gone already: nothing left to undo.
    Gone,
}

pub trait FaultKind: Send + Sync {
    fn fault_type(&self) -> FaultType;

    /// The API permissions `inject` and `revert` need.
    fn rbac(&self) -> &'static [Rule];

    /// Every object the fault could touch, from live state. Changes nothing.
    fn plan<'a>(&'a self, cx: &'a FaultCx<'a>) -> BoxFuture<'a, Result<Candidates, FaultError>>;

    /// The impact per workload when it is not "one target = one pod of the
    /// group" (scale, badRollout). `None` uses the generic count.
    fn impact(
        &self,
        _fault: &Fault,
        _chosen: &[Candidate],
        _all: &Candidates,
    ) -> Option<Vec<GroupImpact>> {
        None
    }

    /// Marks and changes the targets. The engine has written the intent to
    /// the ledger before calling this. Stops starting new targets once `stop`
    /// is set; targets already in flight finish (and are then reverted).
    fn inject<'a>(
        &'a self,
        cx: &'a FaultCx<'a>,
        stamp: &'a Stamp,
        targets: &'a [Candidate],
        stop: &'a AtomicBool,
    ) -> BoxFuture<'a, Vec<TargetResult>>;

    /// Undoes one marked object from its own annotations. Idempotent: a
    /// second call on a reverted or deleted object succeeds.
    fn revert<'a>(
        &'a self,
        kube: &'a Kube,
        marked: &'a Marked,
    ) -> BoxFuture<'a, Result<Reverted, FaultError>>;
}

/// The implementation of a fault type.
pub fn kind_of(ft: FaultType) -> &'static dyn FaultKind {
    match ft {
        FaultType::PodKill => &pod_kill::PodKill,
        FaultType::PodEvict => &pod_evict::PodEvict,
        FaultType::PodFailure => &pod_failure::PodFailure,
        FaultType::Scale => &scale::Scale,
        FaultType::NetworkPartition => &network_partition::NetworkPartition,
        FaultType::DnsBlock => &dns_block::DnsBlock,
        FaultType::NodeCordon => &node_cordon::NodeCordon,
        FaultType::NodeDrain => &node_drain::NodeDrain,
        FaultType::NodeTaint => &node_taint::NodeTaint,
        FaultType::BadRollout => &bad_rollout::BadRollout,
        FaultType::CpuStress => &cpu_stress::CpuStress,
        FaultType::MemoryStress => &memory_stress::MemoryStress,
        FaultType::NetworkDelay => &network_delay::NetworkDelay,
        FaultType::PacketLoss => &packet_loss::PacketLoss,
    }
}

/// Reverts any marked object, whoever marked it. Objects without a known
/// fault type still lose their marks (and created policies are deleted), so
/// nothing labelled by gameday can outlive `recover`.
pub async fn revert_marked(kube: &Kube, marked: &Marked) -> Result<Reverted, FaultError> {
    match marked.fault_type {
        Some(ft) => kind_of(ft).revert(kube, marked).await,
        None => common::revert_unknown(kube, marked).await,
    }
}

/// The kinds a fault type can leave marks on: what `recover` lists and
/// what `gameday rbac` grants for it. It lives with the faults because each
/// fault decides what it marks.
pub fn kinds_marked_by(ft: crate::scenario::FaultType) -> &'static [crate::k8s::marks::ObjKind] {
    use crate::k8s::marks::ObjKind;
    use crate::scenario::FaultType::*;
    match ft {
        Scale | BadRollout => &[ObjKind::Deployment, ObjKind::StatefulSet],
        NetworkPartition | DnsBlock => &[ObjKind::Pod, ObjKind::NetworkPolicy],
        NodeCordon | NodeTaint => &[ObjKind::Node],
        NodeDrain => &[ObjKind::Node, ObjKind::Pod],
        _ => &[ObjKind::Pod],
    }
}

//! Fault types. Each lives in one file and implements [`FaultKind`]: its
//! params type and their rules ([`FaultSpec`]), `plan` (what it could
//! touch, changing nothing), `inject` (mark and change the chosen targets),
//! `revert` (undo one marked object from the undo data on that object), its
//! RBAC and its starter for `gameday init`. The registry below lists them
//! (a `mod` line and a `FAULTS` entry each), and is the only other place
//! that names them.
//! docs/adding-a-fault.md walks through adding one.
//!
//! Reverts work from the object alone (never from local state), so the run,
//! `gameday recover` and `gameday halt` all share one code path.

pub mod about;
pub mod common;
pub mod ephemeral;
mod ephemeral_fault;
#[cfg(test)]
mod ephemeral_on_runtime;
mod netpol;
mod patched;
pub mod rbac;
mod registry;
mod restored;
pub mod targets;

// The registry: each fault's file, and its entry in `FAULTS`. These two
// lists are the only place besides the file itself that names a fault.
// (Plain `mod` lines rather than a macro: rustfmt does not see modules
// declared inside a macro call, and would leave those files unformatted.)
mod bad_rollout;
mod cpu_stress;
mod dns_block;
mod memory_stress;
mod network_delay;
mod network_partition;
mod node_cordon;
mod node_drain;
mod node_not_ready;
mod node_taint;
mod packet_loss;
mod pod_evict;
mod pod_failure;
mod pod_kill;
mod scale;

/// Every fault type, in the order `gameday init` and the docs list them.
pub static FAULTS: &[Entry] = &[
    pod_kill::FAULT,
    pod_evict::FAULT,
    pod_failure::FAULT,
    scale::FAULT,
    network_partition::FAULT,
    dns_block::FAULT,
    node_cordon::FAULT,
    node_drain::FAULT,
    node_taint::FAULT,
    node_not_ready::FAULT,
    bad_rollout::FAULT,
    cpu_stress::FAULT,
    memory_stress::FAULT,
    network_delay::FAULT,
    packet_loss::FAULT,
];

pub use about::{About, Starter, StarterError};
pub use registry::{Registry, kind_of};

use std::sync::atomic::AtomicBool;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::k8s::marks::{Marked, ObjKind, ObjRef, Stamp};
use crate::k8s::select::{BlastError, Candidate, Candidates, GroupImpact};
use crate::k8s::{K8sError, Kube};
use crate::scenario::{Fault, FaultSpec, Scenario};

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

impl<'a> FaultCx<'a> {
    pub fn new(
        kube: &'a Kube,
        scenario: &'a Scenario,
        config: &'a Config,
        fault: &'a Fault,
        concurrency: usize,
    ) -> Self {
        FaultCx {
            kube,
            scenario,
            config,
            fault,
            concurrency,
        }
    }

    pub fn invalid(&self, message: impl Into<String>) -> FaultError {
        FaultError::Invalid {
            fault: self.fault.name.clone(),
            message: message.into(),
        }
    }

    /// The fault's params as its type's own struct. The validator has
    /// checked them, so a failure here means a scenario that skipped it.
    pub fn params<T: serde::de::DeserializeOwned + Default>(&self) -> Result<T, FaultError> {
        self.fault
            .params_as()
            .map_err(|e| self.invalid(format!("params: {e}")))
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

/// A registry entry: a fault type's behaviour ([`FaultKind`]) next to what
/// it states about itself (its file's `ABOUT`). Keeping the data on the
/// entry rather than behind a trait method lets each fault's file say it
/// once, as a `const`, and the registry hand out both through one lookup:
/// `kind_of(ft).plan(…)` reaches the behaviour through `Deref`,
/// `kind_of(ft).marks()` the data.
pub struct Entry {
    pub kind: &'static dyn FaultKind,
    pub about: About,
}

impl Entry {
    pub const fn new(kind: &'static dyn FaultKind, about: About) -> Entry {
        Entry { kind, about }
    }

    /// The API permissions `inject` and `revert` need.
    pub fn rbac(&self) -> &'static [Rule] {
        self.about.rbac
    }

    /// The permissions this fault needs with these params: what `gameday
    /// rbac` grants and the preflight asks ([`FaultKind::rbac_for`]).
    pub fn rbac_for(&self, fault: &Fault) -> &'static [Rule] {
        self.kind.rbac_for(fault).unwrap_or(self.about.rbac)
    }

    /// The kinds this fault can leave marks on: what `recover` lists and
    /// what `gameday rbac` grants it for.
    pub fn marks(&self) -> &'static [ObjKind] {
        self.about.marks
    }

    /// What `gameday init --fault` writes for it: a starter that passes on
    /// the shop world as generated.
    pub fn starter(&self) -> Result<Starter, StarterError> {
        Starter::parse(self.about.starter)
    }
}

impl std::ops::Deref for Entry {
    type Target = dyn FaultKind;

    fn deref(&self) -> &Self::Target {
        self.kind
    }
}

/// A fault type's behaviour. [`FaultSpec`] (its name, target kind and the
/// rules of its params) is the part the validator sees.
pub trait FaultKind: FaultSpec + Send + Sync {
    /// The permissions this fault needs with these params, when they are
    /// not its `ABOUT.rbac`: a fault whose params change what it touches
    /// overrides it. `None` means "as stated".
    fn rbac_for(&self, _fault: &Fault) -> Option<&'static [Rule]> {
        None
    }

    /// Every object the fault could touch, from live state. Changes nothing.
    fn plan<'a>(&'a self, cx: &'a FaultCx<'a>) -> Planning<'a>;

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

    /// Sends each chosen target's inject write with `dryRun=All`, so the
    /// server's admission (Pod Security, webhooks, validation) refuses it
    /// before anything changes: a real server runs every check of a dry
    /// run and stores nothing. The default has no write worth trying (a
    /// marks-only patch, a delete).
    fn dry_run<'a>(&'a self, _cx: &'a FaultCx<'a>, _targets: &'a [Candidate]) -> DryRun<'a> {
        Box::pin(async { Ok(()) })
    }

    /// Who must act on this fault's write for it to have any effect, when
    /// the API server storing it is not enough: a NetworkPolicy is stored by
    /// every cluster but applied only by a CNI plugin that implements it
    /// ("Creating a NetworkPolicy resource without a controller that
    /// implements it will have no effect",
    /// <https://kubernetes.io/docs/concepts/services-networking/network-policies/>).
    /// The engine names it when nothing visible changed
    /// (`fault.no-visible-effect`).
    fn enforced_by(&self) -> Option<&'static str> {
        None
    }

    /// Marks and changes the targets. The engine has written the intent to
    /// the ledger before calling this. Stops starting new targets once `stop`
    /// is set; targets already in flight finish (and are then reverted).
    fn inject<'a>(&'a self, cx: &'a FaultCx<'a>, batch: Batch<'a>) -> Injecting<'a>;

    /// Undoes one marked object from its own annotations. Idempotent: a
    /// second call on a reverted or deleted object succeeds.
    fn revert<'a>(&'a self, kube: &'a Kube, marked: &'a Marked) -> Reverting<'a>;
}

/// What `plan` returns: every candidate, or why the fault cannot run.
pub type Planning<'a> = BoxFuture<'a, Result<Candidates, FaultError>>;
/// What `dry_run` returns: the server's refusal, if any.
pub type DryRun<'a> = BoxFuture<'a, Result<(), FaultError>>;
/// What `inject` returns: one result per target.
pub type Injecting<'a> = BoxFuture<'a, Vec<TargetResult>>;
/// What `revert` returns for one marked object.
pub type Reverting<'a> = BoxFuture<'a, Result<Reverted, FaultError>>;

/// The targets one `inject` call works on, with the run's stamp (the marks
/// to write) and the stop flag: once it is set, targets not yet started
/// are skipped; those in flight finish (and are then reverted).
#[derive(Clone, Copy)]
pub struct Batch<'a> {
    pub stamp: &'a Stamp,
    pub targets: &'a [Candidate],
    pub stop: &'a AtomicBool,
}

/// Reverts any marked object, whoever marked it. Objects without a known
/// fault type still lose their marks (and created policies are deleted), so
/// nothing labelled by gameday can outlive `recover`.
pub async fn revert_marked(kube: &Kube, marked: &Marked) -> Result<Reverted, FaultError> {
    match marked.fault_type {
        Some(ft) => kind_of(ft).revert(kube, marked).await,
        None => registry::Unknown.revert(kube, marked).await,
    }
}

/// The kinds a fault type can leave marks on (see [`FaultKind::marks`]).
pub fn kinds_marked_by(ft: crate::scenario::FaultType) -> &'static [ObjKind] {
    kind_of(ft).marks()
}

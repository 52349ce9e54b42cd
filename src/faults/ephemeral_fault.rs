//! The shape the four ephemeral-container faults (cpuStress, memoryStress,
//! networkDelay, packetLoss) share: plan checks the helper images' tools,
//! inject adds a bounded container and waits until it runs, revert adds the
//! container that ends it. A fault of this shape only says what differs,
//! its [`Effect`], and gets [`FaultKind`] from the blanket impl here.

use futures::FutureExt;

use super::ephemeral::{self, Effect};
use super::rbac::{EPHEMERAL, Rule, pods_rw};
use super::{
    About, Batch, DryRun, FaultCx, FaultError, FaultKind, Injecting, Planning, Reverting, common,
    targets,
};
use crate::k8s::Kube;
use crate::k8s::marks::{Marked, ObjKind};
use crate::k8s::select::Candidate;
use crate::scenario::FaultSpec;

const RBAC: &[Rule] = &[pods_rw(&["get", "list", "patch"]), EPHEMERAL];

/// What one ephemeral-container fault adds to the shared shape.
pub trait EphemeralFault: FaultSpec + Send + Sync {
    /// tc faults: NET_ADMIN, the network helper image for both ends, and
    /// only pods on the pod network (a hostNetwork pod would take the
    /// node's interface with it).
    const NETWORK: bool;

    /// The containers to run for `secs` seconds, from the fault's params
    /// and the config's helper images.
    fn effect(&self, cx: &FaultCx<'_>, secs: u64) -> Result<Effect, FaultError>;
}

/// What every fault of this shape states about itself: the same rights and
/// marks, and its own starter card.
pub const fn about(starter: &'static str) -> About {
    About {
        rbac: RBAC,
        marks: &[ObjKind::Pod],
        starter,
    }
}

impl<T: EphemeralFault> FaultKind for T {
    fn plan<'a>(&'a self, cx: &'a FaultCx<'a>) -> Planning<'a> {
        async move {
            let effect = self.effect(cx, 1)?;
            if T::NETWORK {
                ephemeral::check_network(cx, &effect)?;
                targets::pods_on_pod_network(cx).await
            } else {
                ephemeral::check_stress(cx, &effect)?;
                Ok(targets::pods(cx).await?.0)
            }
        }
        .boxed()
    }

    fn dry_run<'a>(&'a self, cx: &'a FaultCx<'a>, targets: &'a [Candidate]) -> DryRun<'a> {
        async move { ephemeral::dry_run(cx, targets, &self.effect(cx, 1)?).await }.boxed()
    }

    fn inject<'a>(&'a self, cx: &'a FaultCx<'a>, batch: Batch<'a>) -> Injecting<'a> {
        async move {
            let secs = common::whole_seconds(cx.fault.duration.unwrap_or_default().as_std());
            match self.effect(cx, secs) {
                Ok(e) => ephemeral::inject(cx, batch, &e, secs).await,
                // Checked at plan time; kept total rather than panicking.
                Err(e) => common::all_failed(batch.targets, &e),
            }
        }
        .boxed()
    }

    fn revert<'a>(&'a self, kube: &'a Kube, marked: &'a Marked) -> Reverting<'a> {
        async move {
            // The undo data carries the revert recorded at inject time;
            // these defaults only serve marks written before it did.
            let (image, cmd) = if T::NETWORK {
                (ephemeral::NET_IMAGE, ephemeral::netem_revert_command(0))
            } else {
                (ephemeral::REVERT_IMAGE, ephemeral::stress_revert_command())
            };
            let ft = self.fault_type();
            ephemeral::revert(kube, marked, ft, image, &cmd, T::NETWORK).await
        }
        .boxed()
    }
}

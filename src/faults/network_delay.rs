//! networkDelay: an ephemeral container with NET_ADMIN adds a `tc netem
//! delay` qdisc on gameday's reserved handle, bounded by `timeout`. Revert:
//! a second container removes the qdisc, after checking the handle is ours.

use std::sync::atomic::AtomicBool;

use futures::FutureExt;
use futures::future::BoxFuture;

use super::ephemeral::{self, Effect};
use super::rbac::{EPHEMERAL, Rule, pods_rw};
use super::{FaultCx, FaultError, FaultKind, Reverted, TargetResult, common, targets};
use crate::k8s::Kube;
use crate::k8s::marks::{Marked, Stamp};
use crate::k8s::select::{Candidate, Candidates};
use crate::scenario::FaultType;

pub struct NetworkDelay;

const RBAC: &[Rule] = &[pods_rw(&["get", "list", "patch"]), EPHEMERAL];

pub fn effect(cx: &FaultCx<'_>, secs: u64) -> Effect {
    let p = cx.fault.params.clone().unwrap_or_default();
    let latency = p.latency.map(|d| d.as_std().as_millis()).unwrap_or(200);
    let jitter = p.jitter.map(|d| d.as_std().as_millis()).unwrap_or(0);
    let image = p
        .stress_image
        .unwrap_or_else(|| cx.config.helper_images.network.reference());
    Effect {
        image: image.clone(),
        command: ephemeral::netem_command(secs, &format!("delay {latency}ms {jitter}ms")),
        env: vec![
            ("GAMEDAY_LATENCY_MS", latency.to_string()),
            ("GAMEDAY_JITTER_MS", jitter.to_string()),
        ],
        net_admin: true,
        revert_image: image,
        revert_command: ephemeral::netem_revert_command(secs),
    }
}

impl FaultKind for NetworkDelay {
    fn fault_type(&self) -> FaultType {
        FaultType::NetworkDelay
    }

    fn rbac(&self) -> &'static [Rule] {
        RBAC
    }

    fn plan<'a>(&'a self, cx: &'a FaultCx<'a>) -> BoxFuture<'a, Result<Candidates, FaultError>> {
        async move {
            ephemeral::check_network(cx, &effect(cx, 1))?;
            targets::pods_on_pod_network(cx).await
        }
        .boxed()
    }

    fn inject<'a>(
        &'a self,
        cx: &'a FaultCx<'a>,
        stamp: &'a Stamp,
        targets: &'a [Candidate],
        stop: &'a AtomicBool,
    ) -> BoxFuture<'a, Vec<TargetResult>> {
        async move {
            let secs = common::whole_seconds(cx.fault.duration.unwrap_or_default().as_std());
            ephemeral::inject(cx, stamp, targets, stop, &effect(cx, secs), secs).await
        }
        .boxed()
    }

    fn revert<'a>(
        &'a self,
        kube: &'a Kube,
        marked: &'a Marked,
    ) -> BoxFuture<'a, Result<Reverted, FaultError>> {
        async move {
            // The undo data carries the revert recorded at inject time;
            // this default only serves marks written before it did.
            let cmd = ephemeral::netem_revert_command(0);
            ephemeral::revert(
                kube,
                marked,
                FaultType::NetworkDelay,
                ephemeral::NET_IMAGE,
                &cmd,
                true,
            )
            .await
        }
        .boxed()
    }
}

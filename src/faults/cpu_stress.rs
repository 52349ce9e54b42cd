//! cpuStress: an ephemeral container running `stress-ng --cpu N` bounded by
//! its own `--timeout` and `timeout` for the fault's duration. Revert: a
//! second container, from an image that has `pkill`, kills stress-ng in the
//! same pid namespace.

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

pub struct CpuStress;

const RBAC: &[Rule] = &[pods_rw(&["get", "list", "patch"]), EPHEMERAL];

pub fn effect(cx: &FaultCx<'_>, secs: u64) -> Effect {
    let p = cx.fault.params.clone().unwrap_or_default();
    let workers = p.workers.unwrap_or(1).max(1);
    Effect {
        image: p
            .stress_image
            .unwrap_or_else(|| cx.config.helper_images.stress.reference()),
        command: ephemeral::stress_command(secs, &["--cpu", &workers.to_string()]),
        env: vec![("GAMEDAY_CPU_WORKERS", workers.to_string())],
        net_admin: false,
        revert_image: cx.config.helper_images.revert.reference(),
        revert_command: ephemeral::stress_revert_command(),
    }
}

impl FaultKind for CpuStress {
    fn fault_type(&self) -> FaultType {
        FaultType::CpuStress
    }

    fn rbac(&self) -> &'static [Rule] {
        RBAC
    }

    fn plan<'a>(&'a self, cx: &'a FaultCx<'a>) -> BoxFuture<'a, Result<Candidates, FaultError>> {
        async move {
            ephemeral::check_stress(cx, &effect(cx, 1))?;
            Ok(targets::pods(cx).await?.0)
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
            let cmd = ephemeral::stress_revert_command();
            ephemeral::revert(
                kube,
                marked,
                FaultType::CpuStress,
                ephemeral::REVERT_IMAGE,
                &cmd,
                false,
            )
            .await
        }
        .boxed()
    }
}

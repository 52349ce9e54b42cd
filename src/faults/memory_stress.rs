//! memoryStress: an ephemeral container running `stress-ng --vm 1
//! --vm-bytes M --vm-keep`, bounded by `--timeout` and `timeout`. Revert: a
//! second container, from an image that has `pkill`, kills stress-ng.

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

pub struct MemoryStress;

const RBAC: &[Rule] = &[pods_rw(&["get", "list", "patch"]), EPHEMERAL];

/// A Kubernetes quantity (`256Mi`, `1Gi`, `500M`) in stress-ng's notation.
pub fn stress_bytes(quantity: &str) -> Option<String> {
    let q = quantity.trim();
    let split = q.find(|c: char| !c.is_ascii_digit()).unwrap_or(q.len());
    let (num, unit) = q.split_at(split);
    let n: u64 = num.parse().ok()?;
    let suffix = match unit {
        "" => "b",
        "Ki" | "k" | "K" => "k",
        "Mi" | "M" => "m",
        "Gi" | "G" => "g",
        _ => return None,
    };
    Some(format!("{n}{suffix}"))
}

pub fn effect(cx: &FaultCx<'_>, secs: u64) -> Result<Effect, FaultError> {
    let p = cx.fault.params.clone().unwrap_or_default();
    let memory = p.memory.unwrap_or_else(|| "256Mi".into());
    let bytes = stress_bytes(&memory)
        .ok_or_else(|| cx.invalid(format!("memory `{memory}` is not a quantity like 256Mi")))?;
    Ok(Effect {
        image: p
            .stress_image
            .unwrap_or_else(|| cx.config.helper_images.stress.reference()),
        command: ephemeral::stress_command(secs, &["--vm", "1", "--vm-bytes", &bytes, "--vm-keep"]),
        env: vec![("GAMEDAY_MEMORY", memory)],
        net_admin: false,
        revert_image: cx.config.helper_images.revert.reference(),
        revert_command: ephemeral::stress_revert_command(),
    })
}

impl FaultKind for MemoryStress {
    fn fault_type(&self) -> FaultType {
        FaultType::MemoryStress
    }

    fn rbac(&self) -> &'static [Rule] {
        RBAC
    }

    fn plan<'a>(&'a self, cx: &'a FaultCx<'a>) -> BoxFuture<'a, Result<Candidates, FaultError>> {
        async move {
            ephemeral::check_stress(cx, &effect(cx, 1)?)?;
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
            match effect(cx, secs) {
                Ok(e) => ephemeral::inject(cx, stamp, targets, stop, &e, secs).await,
                // Checked at plan time; kept total rather than panicking.
                Err(e) => targets
                    .iter()
                    .map(|t| TargetResult {
                        target: t.obj.clone(),
                        marked: vec![],
                        error: Some(e.to_string()),
                        skipped: None,
                    })
                    .collect(),
            }
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
                FaultType::MemoryStress,
                ephemeral::REVERT_IMAGE,
                &cmd,
                false,
            )
            .await
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_convert() {
        assert_eq!(stress_bytes("256Mi").as_deref(), Some("256m"));
        assert_eq!(stress_bytes("1Gi").as_deref(), Some("1g"));
        assert_eq!(stress_bytes("512").as_deref(), Some("512b"));
        assert_eq!(stress_bytes("12Xi"), None);
        assert_eq!(stress_bytes("Mi"), None);
    }
}

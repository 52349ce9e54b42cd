//! Shared by the ephemeral-container faults (cpuStress, memoryStress,
//! networkDelay, packetLoss). An ephemeral container runs a real, bounded
//! command next to the target container and carries gameday's env
//! (`GAMEDAY_RUN_ID`, `GAMEDAY_FAULT`, `GAMEDAY_ACTION`, ...), which the
//! sandbox acts out. Ephemeral containers cannot be removed, so a revert adds
//! a second container (`GAMEDAY_ACTION=revert`) that ends the effect.

use std::sync::atomic::AtomicBool;

use serde_json::{Value, json};

use super::common::{self, TargetOutcome};
use super::{FaultCx, FaultError, Reverted, TargetResult};
use crate::k8s::Kube;
use crate::k8s::marks::{Marked, ObjRef, Stamp, generated_name};
use crate::k8s::select::Candidate;
use crate::scenario::FaultType;

/// The image for stress-ng faults; override with `params.stressImage`.
pub const STRESS_IMAGE: &str = "ghcr.io/colinianking/stress-ng:latest";
/// The image for tc faults (has `tc`, `sh`, `timeout`).
pub const NET_IMAGE: &str = "nicolaka/netshoot:v0.13";

/// Everything that differs between the four faults.
pub struct Effect {
    pub image: String,
    /// The inject command, already bounded by `timeout`.
    pub command: Vec<String>,
    /// Per-type env, e.g. `GAMEDAY_CPU_WORKERS`.
    pub env: Vec<(&'static str, String)>,
    /// tc needs NET_ADMIN.
    pub net_admin: bool,
}

/// Leaves room for the revert container's `-r` suffix within 63 characters.
pub fn container_name(stamp_fault: &str, short: &str) -> String {
    let with_room = generated_name(stamp_fault, short, "-r");
    with_room
        .strip_suffix("-r")
        .unwrap_or(&with_room)
        .to_string()
}

pub fn revert_name(inject_name: &str) -> String {
    // Names are generated with room for the suffix.
    format!("{inject_name}-r")
}

/// The ephemeral container spec.
#[allow(clippy::too_many_arguments)]
pub fn container(
    name: &str,
    image: &str,
    command: &[String],
    target: Option<&str>,
    net_admin: bool,
    run_id: &str,
    fault: &str,
    fault_type: FaultType,
    action: &str,
    timeout_secs: u64,
    extra_env: &[(&'static str, String)],
) -> Value {
    let mut env = vec![
        json!({"name": "GAMEDAY_RUN_ID", "value": run_id}),
        json!({"name": "GAMEDAY_FAULT", "value": fault}),
        json!({"name": "GAMEDAY_FAULT_TYPE", "value": fault_type.as_str()}),
        json!({"name": "GAMEDAY_ACTION", "value": action}),
        json!({"name": "GAMEDAY_TIMEOUT_SECONDS", "value": timeout_secs.to_string()}),
    ];
    env.extend(
        extra_env
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v})),
    );
    let mut c = json!({
        "name": name,
        "image": image,
        "command": command,
        "env": env,
        "imagePullPolicy": "IfNotPresent",
    });
    if let Some(t) = target {
        c["targetContainerName"] = json!(t);
    }
    if net_admin {
        c["securityContext"] = json!({"capabilities": {"add": ["NET_ADMIN"]}});
    }
    c
}

async fn add_container(
    kube: &Kube,
    obj: &ObjRef,
    existing: &Value,
    new: Value,
) -> Result<bool, FaultError> {
    let mut list = existing.as_array().cloned().unwrap_or_default();
    if list.iter().any(|c| c["name"] == new["name"]) {
        return Ok(true);
    }
    list.push(new);
    let api = kube.namespaced::<k8s_openapi::api::core::v1::Pod>(
        obj.namespace.as_deref().unwrap_or("default"),
    );
    let body = json!({"spec": {"ephemeralContainers": list}});
    let patch = kube::api::Patch::Merge(&body);
    let pp = kube::api::PatchParams::default();
    let op = format!("add ephemeral container to {obj}");
    match kube
        .call(&op, || {
            api.patch_ephemeral_containers(&obj.name, &pp, &patch)
        })
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn first_container(pod: &Value) -> Option<String> {
    pod["spec"]["containers"][0]["name"]
        .as_str()
        .map(str::to_string)
}

/// Marks each target (undo names the container), then adds the container.
pub async fn inject(
    cx: &FaultCx<'_>,
    stamp: &Stamp,
    targets: &[Candidate],
    stop: &AtomicBool,
    effect: &Effect,
    timeout_secs: u64,
) -> Vec<TargetResult> {
    let name = container_name(&stamp.fault, stamp.run_id.short());
    common::each_target(targets, cx.concurrency, stop, |t| {
        let name = name.clone();
        Box::pin(async move {
            let Some(pod) = common::get(cx.kube, &t.obj).await? else {
                return Ok(TargetOutcome::Skipped {
                    marked: vec![],
                    reason: "gone before injection".into(),
                });
            };
            let target = first_container(&pod.data);
            let undo = json!({"container": name, "targetContainer": target});
            if common::merge_patch(cx.kube, &t.obj, &stamp.patch(&undo, &[]))
                .await?
                .is_none()
            {
                return Ok(TargetOutcome::Skipped {
                    marked: vec![],
                    reason: "gone before injection".into(),
                });
            }
            let c = container(
                &name,
                &effect.image,
                &effect.command,
                target.as_deref(),
                effect.net_admin,
                stamp.run_id.as_str(),
                &stamp.fault,
                stamp.fault_type,
                "inject",
                timeout_secs,
                &effect.env,
            );
            add_container(cx.kube, &t.obj, &pod.data["spec"]["ephemeralContainers"], c).await?;
            Ok(TargetOutcome::Done(vec![t.obj.clone()]))
        })
    })
    .await
}

/// Adds the revert container (once) if the inject container is there, then
/// strips the marks.
pub async fn revert(
    kube: &Kube,
    marked: &Marked,
    fault_type: FaultType,
    image: &str,
    revert_command: &[String],
    net_admin: bool,
) -> Result<Reverted, FaultError> {
    let Some(pod) = common::get(kube, &marked.obj).await? else {
        return Ok(Reverted::Gone);
    };
    let inject_name = marked.undo["container"].as_str().unwrap_or_default();
    let existing = &pod.data["spec"]["ephemeralContainers"];
    let injected = existing
        .as_array()
        .is_some_and(|l| l.iter().any(|c| c["name"] == inject_name));
    if injected {
        let image = existing
            .as_array()
            .and_then(|l| l.iter().find(|c| c["name"] == inject_name))
            .and_then(|c| c["image"].as_str())
            .unwrap_or(image)
            .to_string();
        let c = container(
            &revert_name(inject_name),
            &image,
            revert_command,
            marked.undo["targetContainer"].as_str(),
            net_admin,
            &marked.run_id,
            marked.fault.as_deref().unwrap_or_default(),
            fault_type,
            "revert",
            30,
            &[],
        );
        if !add_container(kube, &marked.obj, existing, c).await? {
            return Ok(Reverted::Gone);
        }
    }
    common::strip(kube, &marked.obj).await
}

/// `timeout` around a command, so the effect ends by itself even if no
/// revert ever arrives.
pub fn bounded(secs: u64, cmd: &[&str]) -> Vec<String> {
    let mut v = vec!["timeout".to_string(), format!("{secs}s")];
    v.extend(cmd.iter().map(|s| s.to_string()));
    v
}

/// The tc command: add netem on the reserved handle, hold, then remove it
/// (checking it is still ours) — all bounded by `timeout`.
pub fn netem_command(secs: u64, netem: &str) -> Vec<String> {
    let script = format!(
        "tc qdisc add dev eth0 handle {h} root netem {netem} && sleep {secs}; {del}",
        h = HANDLE,
        del = netem_remove_script()
    );
    bounded(secs + 5, &["sh", "-c", &script])
}

/// tc's reserved handle for gameday's qdisc; the revert only removes a qdisc
/// with this handle, never someone else's.
pub const HANDLE: &str = "7a11:";

pub fn netem_remove_script() -> String {
    format!(
        "if tc qdisc show dev eth0 | grep -q 'qdisc netem {HANDLE}'; then tc qdisc del dev eth0 handle {HANDLE} root; fi"
    )
}

pub fn netem_revert_command() -> Vec<String> {
    bounded(20, &["sh", "-c", &netem_remove_script()])
}

pub fn stress_revert_command() -> Vec<String> {
    bounded(20, &["pkill", "-x", "stress-ng"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_carries_env_and_command() {
        let cmd = bounded(60, &["stress-ng", "--cpu", "2"]);
        let c = container(
            "gameday-hot-0000abcd",
            STRESS_IMAGE,
            &cmd,
            Some("app"),
            false,
            "r1",
            "hot",
            FaultType::CpuStress,
            "inject",
            60,
            &[("GAMEDAY_CPU_WORKERS", "2".into())],
        );
        assert_eq!(c["command"][0], "timeout");
        assert_eq!(c["command"][1], "60s");
        assert_eq!(c["targetContainerName"], "app");
        let env: Vec<(String, String)> = c["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().unwrap().into(),
                    e["value"].as_str().unwrap().into(),
                )
            })
            .collect();
        for (k, v) in [
            ("GAMEDAY_RUN_ID", "r1"),
            ("GAMEDAY_FAULT", "hot"),
            ("GAMEDAY_FAULT_TYPE", "cpuStress"),
            ("GAMEDAY_ACTION", "inject"),
            ("GAMEDAY_TIMEOUT_SECONDS", "60"),
            ("GAMEDAY_CPU_WORKERS", "2"),
        ] {
            assert!(env.contains(&(k.into(), v.into())), "missing {k}");
        }
        assert!(c.get("securityContext").is_none());
    }

    #[test]
    fn netem_uses_the_reserved_handle_and_is_bounded() {
        let cmd = netem_command(30, "delay 200ms 20ms");
        assert_eq!(cmd[0], "timeout");
        assert!(cmd[4].contains("tc qdisc add dev eth0 handle 7a11: root netem delay 200ms 20ms"));
        assert!(cmd[4].contains("grep -q 'qdisc netem 7a11:'"));
        assert!(netem_revert_command()[4].contains("tc qdisc del dev eth0 handle 7a11: root"));
    }
}

//! Shared by the ephemeral-container faults (cpuStress, memoryStress,
//! networkDelay, packetLoss). An ephemeral container runs a real, bounded
//! command next to the target container, from an image that carries every
//! tool the command names. Ephemeral containers cannot be removed, so a
//! revert adds a second container whose command ends the effect (kills the
//! stress process, deletes the qdisc).
//!
//! Both ends are verified from the kubelet's report: a fault counts as
//! injected only once its container is Running, and a revert is confirmed
//! only once the inject container is Terminated and the revert container
//! exited 0. gameday's env on the containers (`GAMEDAY_RUN_ID`, ...) is
//! bookkeeping for people reading the pod; nothing acts on it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::common::{self, TargetOutcome};
use super::{Batch, FaultCx, FaultError, Reverted, TargetResult};
use crate::config::HelperImage;
use crate::k8s::Kube;
use crate::k8s::marks::{Marked, ObjRef, generated_name};
use crate::k8s::select::Candidate;
use crate::scenario::FaultType;

/// The image for stress-ng faults; override with `params.stressImage`.
/// Built FROM debian:12 (stress-ng's Dockerfile): it has `stress-ng`,
/// `timeout` and `sh`, but no procps, so no `pkill` (docs/safety.md).
pub const STRESS_IMAGE: &str = "ghcr.io/colinianking/stress-ng:latest";
/// The image for tc faults: alpine (busybox: `sh`, `sleep`, `timeout`,
/// `pkill`, `grep`) plus iproute2 (`tc`).
pub const NET_IMAGE: &str = "nicolaka/netshoot:v0.13";
/// The image that stops a stress process: busybox has `sh` and `pkill`.
/// It targets the same container as the inject container, so both live in
/// that container's pid namespace and `pkill` sees the stress process.
pub const REVERT_IMAGE: &str = "busybox:1.36";

/// How long the kubelet gets to start (or fail) a container: an image
/// pull is part of it.
pub const START_WAIT: Duration = Duration::from_secs(30);
/// How often the pod's status is read while waiting.
const POLL: Duration = Duration::from_millis(100);

/// Everything that differs between the four faults.
pub struct Effect {
    pub image: String,
    /// The inject command, already bounded by `timeout`.
    pub command: Vec<String>,
    /// Per-type env, e.g. `GAMEDAY_CPU_WORKERS`.
    pub env: Vec<(&'static str, String)>,
    /// tc needs NET_ADMIN.
    pub net_admin: bool,
    /// The container that ends the effect: image and command, recorded in
    /// the undo data so any later revert (run, recover, halt) runs exactly
    /// this.
    pub revert_image: String,
    pub revert_command: Vec<String>,
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

/// Adds the inject container to each target with `dryRun=All`: Pod
/// Security (a NET_ADMIN container in a `baseline` namespace), webhooks and
/// validation refuse here, before any mark or container is written.
pub async fn dry_run(
    cx: &FaultCx<'_>,
    targets: &[Candidate],
    effect: &Effect,
) -> Result<(), FaultError> {
    let name = container_name(&cx.fault.name, "dryrun");
    for t in targets {
        let Some(pod) = common::get(cx.kube, &t.obj).await? else {
            continue;
        };
        let c = container(
            &name,
            &effect.image,
            &effect.command,
            first_container(&pod.data).as_deref(),
            effect.net_admin,
            "dryrun",
            &cx.fault.name,
            cx.fault.kind,
            "inject",
            1,
            &effect.env,
        );
        let mut list = pod.data["spec"]["ephemeralContainers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        list.push(c);
        patch_ephemeral(cx.kube, &t.obj, &list, true)
            .await
            .map_err(|e| {
                cx.invalid(format!(
                    "the server refuses its inject write (dryRun=All) on {}: {e}",
                    t.obj
                ))
            })?;
    }
    Ok(())
}

async fn patch_ephemeral(
    kube: &Kube,
    obj: &ObjRef,
    list: &[Value],
    dry_run: bool,
) -> Result<bool, crate::k8s::K8sError> {
    let api = kube.namespaced::<k8s_openapi::api::core::v1::Pod>(
        obj.namespace.as_deref().unwrap_or("default"),
    );
    let body = json!({"spec": {"ephemeralContainers": list}});
    let patch = kube::api::Patch::Merge(&body);
    let pp = kube::api::PatchParams {
        dry_run,
        ..Default::default()
    };
    let op = format!("add ephemeral container to {obj}");
    match kube
        .call(&op, || {
            api.patch_ephemeral_containers(&obj.name, &pp, &patch)
        })
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
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
    Ok(patch_ephemeral(kube, obj, &list, false).await?)
}

fn first_container(pod: &Value) -> Option<String> {
    pod["spec"]["containers"][0]["name"]
        .as_str()
        .map(str::to_string)
}

/// What the kubelet reports for one ephemeral container.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// No status yet, or Waiting while the container is being created.
    Pending,
    Running,
    /// Waiting for a reason that means it will not run as asked.
    Failed(String),
    Terminated {
        exit_code: i64,
        reason: String,
    },
}

/// Waiting reasons after which a container is not running the command:
/// the image does not pull, the kubelet refuses the configuration, or the
/// runtime cannot start it.
pub const FAILED_WAITING: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// The kubelet's report for container `name` of `pod`.
pub fn seen(pod: &Value, name: &str) -> Seen {
    let Some(st) = pod["status"]["ephemeralContainerStatuses"]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["name"] == name))
    else {
        return Seen::Pending;
    };
    let state = &st["state"];
    if state["running"].is_object() {
        return Seen::Running;
    }
    if let Some(t) = state["terminated"].as_object() {
        return Seen::Terminated {
            exit_code: t.get("exitCode").and_then(Value::as_i64).unwrap_or(-1),
            reason: t
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        };
    }
    match state["waiting"]["reason"].as_str() {
        Some(r) if FAILED_WAITING.contains(&r) => {
            let msg = state["waiting"]["message"].as_str().unwrap_or("");
            Seen::Failed(if msg.is_empty() {
                r.to_string()
            } else {
                format!("{r}: {msg}")
            })
        }
        _ => Seen::Pending,
    }
}

/// Reads the pod until `done` accepts what the kubelet reports for the
/// containers, or `limit` passes (then the last report). `None` when the
/// pod is gone.
async fn watch_status(
    kube: &Kube,
    obj: &ObjRef,
    limit: Duration,
    stop: Option<&AtomicBool>,
    done: impl Fn(&Value) -> bool,
) -> Result<Option<Value>, FaultError> {
    let deadline = Instant::now() + limit;
    loop {
        let Some(pod) = common::get(kube, obj).await? else {
            return Ok(None);
        };
        let data = pod.data;
        if done(&data)
            || Instant::now() >= deadline
            || stop.is_some_and(|s| s.load(Ordering::SeqCst))
        {
            return Ok(Some(data));
        }
        tokio::time::sleep(POLL).await;
    }
}

fn not_in_effect(obj: &ObjRef, message: String) -> FaultError {
    FaultError::Unverified {
        obj: obj.to_string(),
        message,
    }
}

/// Marks each target (the undo names the containers and records the
/// revert), adds the inject container, and waits for the kubelet to run
/// it: the target counts as injected only once it is Running.
pub async fn inject(
    cx: &FaultCx<'_>,
    batch: Batch<'_>,
    effect: &Effect,
    timeout_secs: u64,
) -> Vec<TargetResult> {
    let Batch { stamp, stop, .. } = batch;
    let name = container_name(&stamp.fault, stamp.run_id.short());
    common::each_target(batch, cx.concurrency, |t| {
        let name = name.clone();
        Box::pin(async move {
            let Some(pod) = common::get(cx.kube, &t.obj).await? else {
                return Ok(common::gone_before_injection());
            };
            let target = first_container(&pod.data);
            let undo = json!({"container": name, "targetContainer": target,
                "revert": {"image": effect.revert_image, "command": effect.revert_command,
                           "netAdmin": effect.net_admin}});
            if common::merge_patch(cx.kube, &t.obj, &stamp.patch(&undo, &[]))
                .await?
                .is_none()
            {
                return Ok(common::gone_before_injection());
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
            let started = watch_status(cx.kube, &t.obj, START_WAIT, Some(stop), |p| {
                seen(p, &name) != Seen::Pending
            })
            .await?;
            match started.as_ref().map(|p| seen(p, &name)) {
                None => Ok(TargetOutcome::Skipped {
                    marked: vec![t.obj.clone()],
                    reason: "gone during injection".into(),
                }),
                Some(Seen::Running) | Some(Seen::Terminated { exit_code: 0, .. }) => {
                    Ok(TargetOutcome::Done(vec![t.obj.clone()]))
                }
                // Stopped while waiting: the revert decides what happened.
                Some(Seen::Pending) if stop.load(Ordering::SeqCst) => {
                    Ok(TargetOutcome::Done(vec![t.obj.clone()]))
                }
                Some(Seen::Pending) => Err(not_in_effect(
                    &t.obj,
                    format!(
                        "container {name} did not start within {}s",
                        START_WAIT.as_secs()
                    ),
                )),
                Some(Seen::Failed(why)) => {
                    Err(not_in_effect(&t.obj, format!("container {name}: {why}")))
                }
                Some(Seen::Terminated { exit_code, reason }) => Err(not_in_effect(
                    &t.obj,
                    format!("container {name} exited {exit_code} ({reason})"),
                )),
            }
        })
    })
    .await
}

/// The revert recorded at inject time, else the fault's default.
fn recorded_revert(
    marked: &Marked,
    image: &str,
    command: &[String],
    net_admin: bool,
) -> (String, Vec<String>, bool) {
    let r = &marked.undo["revert"];
    let cmd: Option<Vec<String>> = r["command"].as_array().map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect()
    });
    match (r["image"].as_str(), cmd) {
        (Some(i), Some(c)) if !c.is_empty() => (
            i.to_string(),
            c,
            r["netAdmin"].as_bool().unwrap_or(net_admin),
        ),
        _ => (image.to_string(), command.to_vec(), net_admin),
    }
}

/// Adds the revert container (once) and confirms the end: the inject
/// container Terminated and the revert container exited 0. The revert
/// never starts before the inject container has started or failed (else
/// the effect could begin after its "revert").
pub async fn revert(
    kube: &Kube,
    marked: &Marked,
    fault_type: FaultType,
    image: &str,
    revert_command: &[String],
    net_admin: bool,
) -> Result<Reverted, FaultError> {
    let obj = &marked.obj;
    let inject_name = marked.undo["container"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let rev_name = revert_name(&inject_name);
    let injected = |p: &Value| {
        p["spec"]["ephemeralContainers"]
            .as_array()
            .is_some_and(|l| l.iter().any(|c| c["name"] == inject_name.as_str()))
    };
    let Some(pod) = watch_status(kube, obj, START_WAIT, None, |p| {
        !injected(p) || seen(p, &inject_name) != Seen::Pending
    })
    .await?
    else {
        return Ok(Reverted::Gone);
    };
    if injected(&pod) {
        match seen(&pod, &inject_name) {
            Seen::Pending => {
                return Err(not_in_effect(
                    obj,
                    format!(
                        "revert held back: container {inject_name} has neither started nor failed after {}s",
                        START_WAIT.as_secs()
                    ),
                ));
            }
            // Never ran: there is nothing to end. (A pull that succeeds
            // later would still start it; its own `timeout` bounds it.)
            Seen::Failed(_) => {}
            Seen::Running | Seen::Terminated { .. } => {
                let (image, command, net_admin) =
                    recorded_revert(marked, image, revert_command, net_admin);
                let c = container(
                    &rev_name,
                    &image,
                    &command,
                    marked.undo["targetContainer"].as_str(),
                    net_admin,
                    &marked.run_id,
                    marked.fault.as_deref().unwrap_or_default(),
                    fault_type,
                    "revert",
                    30,
                    &[],
                );
                if !add_container(kube, obj, &pod["spec"]["ephemeralContainers"], c).await? {
                    return Ok(Reverted::Gone);
                }
                let ended = |p: &Value| {
                    matches!(seen(p, &inject_name), Seen::Terminated { .. })
                        && matches!(
                            seen(p, &rev_name),
                            Seen::Terminated { .. } | Seen::Failed(_)
                        )
                };
                let Some(after) = watch_status(kube, obj, START_WAIT, None, |p| {
                    ended(p)
                        || matches!(
                            seen(p, &rev_name),
                            Seen::Terminated { .. } | Seen::Failed(_)
                        )
                })
                .await?
                else {
                    return Ok(Reverted::Gone);
                };
                match (seen(&after, &inject_name), seen(&after, &rev_name)) {
                    (Seen::Terminated { .. }, Seen::Terminated { exit_code: 0, .. }) => {}
                    (inj, rev) => {
                        return Err(not_in_effect(
                            obj,
                            format!(
                                "revert not confirmed: {inject_name} is {inj:?}, {rev_name} is {rev:?}"
                            ),
                        ));
                    }
                }
            }
        }
    }
    common::strip(kube, obj).await
}

/// Shell builtins: they need no executable in the image.
const BUILTINS: &[&str] = &[
    "true", "false", ":", "exit", "echo", "kill", "test", "[", "cd",
];

/// The first word of each command in an `sh -c` script (quotes removed,
/// split at `&&`, `||`, `;`, `|`, newlines; a leading `!` skipped).
fn script_commands(script: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut quote = None;
    for ch in script.chars() {
        match (quote, ch) {
            (None, '\'' | '"') => quote = Some(ch),
            (Some(q), c) if c == q => quote = None,
            // Separators inside quotes are text, not separators.
            (Some(_), '&' | '|' | ';' | '\n') => plain.push('_'),
            (_, c) => plain.push(c),
        }
    }
    plain
        .split(['&', '|', ';', '\n'])
        .filter_map(|seg| seg.split_whitespace().find(|w| *w != "!").map(String::from))
        .collect()
}

/// Every executable a container command runs: its argv[0], what `timeout`
/// runs, and each command of an `sh -c` script, without shell builtins.
pub fn executables(argv: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = argv;
    while let Some(first) = rest.first() {
        let name = first.rsplit('/').next().unwrap_or(first).to_string();
        match name.as_str() {
            "timeout" => {
                out.push(name);
                // `timeout [-s SIG] N cmd...`
                let skip = rest
                    .iter()
                    .skip(1)
                    .position(|a| a.chars().next().is_some_and(|c| c.is_ascii_digit()))
                    .map_or(rest.len(), |i| i + 2);
                rest = &rest[skip.min(rest.len())..];
            }
            "sh" | "ash" | "bash" | "dash" => {
                out.push(name);
                if let Some(i) = rest.iter().position(|a| a == "-c")
                    && let Some(script) = rest.get(i + 1)
                {
                    out.extend(script_commands(script));
                }
                break;
            }
            _ => {
                out.push(name);
                break;
            }
        }
    }
    out.retain(|t| !BUILTINS.contains(&t.as_str()));
    out.dedup();
    out
}

/// At plan: refuses a command whose image (by its role in the
/// `helperImages` catalog) lacks a tool the command runs.
pub fn check_tools(
    cx: &FaultCx<'_>,
    what: &str,
    role: &str,
    image: &HelperImage,
    command: &[String],
) -> Result<(), FaultError> {
    match image.missing(&executables(command)) {
        None => Ok(()),
        Some(tool) => Err(cx.invalid(format!(
            "the {what} command runs `{tool}`, which the {role} image {} does not contain (helperImages.{role}.tools in gameday.yaml)",
            image.reference()
        ))),
    }
}

/// At plan, for cpuStress and memoryStress: stress-ng from the stress
/// image, the kill from the revert image.
pub fn check_stress(cx: &FaultCx<'_>, e: &Effect) -> Result<(), FaultError> {
    let images = &cx.config.helper_images;
    check_tools(cx, "inject", "stress", &images.stress, &e.command)?;
    check_tools(cx, "revert", "revert", &images.revert, &e.revert_command)
}

/// At plan, for networkDelay and packetLoss: both ends from the network
/// image.
pub fn check_network(cx: &FaultCx<'_>, e: &Effect) -> Result<(), FaultError> {
    let image = &cx.config.helper_images.network;
    check_tools(cx, "inject", "network", image, &e.command)?;
    check_tools(cx, "revert", "network", image, &e.revert_command)
}

/// `timeout` around a command, so the effect ends by itself even if no
/// revert ever arrives.
pub fn bounded(secs: u64, cmd: &[&str]) -> Vec<String> {
    let mut v = vec!["timeout".to_string(), format!("{secs}s")];
    v.extend(cmd.iter().map(|s| s.to_string()));
    v
}

/// stress-ng with its own `--timeout`, under `timeout` as a backstop (the
/// stress image has coreutils).
pub fn stress_command(secs: u64, stressors: &[&str]) -> Vec<String> {
    let mut cmd = vec!["stress-ng"];
    cmd.extend_from_slice(stressors);
    let t = format!("{secs}s");
    cmd.extend_from_slice(&["--timeout", &t]);
    bounded(secs + 5, &cmd)
}

/// tc's reserved handle for gameday's qdisc. The kernel refuses to delete
/// a root qdisc by a handle that is not its own ("Invalid handle"), so a
/// delete by this handle never removes someone else's qdisc.
pub const HANDLE: &str = "7a11:";

fn netem_delete() -> String {
    format!("tc qdisc del dev eth0 root handle {HANDLE}")
}

/// The tc command: add netem on the reserved handle, hold, then remove it
/// — all bounded by `timeout`. The qdisc belongs to the pod's network
/// namespace and would outlive this container, so the script removes it.
pub fn netem_command(secs: u64, netem: &str) -> Vec<String> {
    let script = format!(
        "tc qdisc add dev eth0 root handle {HANDLE} netem {netem} && sleep {secs}; {}",
        netem_delete()
    );
    bounded(secs + 5, &["sh", "-c", &script])
}

/// Ends the hold (the inject container's `sleep`, in the same pid
/// namespace, matched exactly so nothing else is hit), deletes the qdisc,
/// and exits 0 only if no gameday qdisc is left on the interface.
pub fn netem_revert_command(secs: u64) -> Vec<String> {
    let script = format!(
        "pkill -f '^sleep {secs}$'; {} 2>/dev/null; ! tc qdisc show dev eth0 | grep -q 'netem {HANDLE}'",
        netem_delete()
    );
    bounded(20, &["sh", "-c", &script])
}

/// Stops stress-ng in the target container's pid namespace (from an image
/// that has `pkill`). Nothing to kill is fine: the proof of the end is the
/// inject container's Terminated state.
pub fn stress_revert_command() -> Vec<String> {
    bounded(20, &["sh", "-c", "pkill -x stress-ng || true"])
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
            FaultType::named("cpuStress"),
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
        assert!(cmd[4].contains("tc qdisc add dev eth0 root handle 7a11: netem delay 200ms 20ms"));
        let rev = netem_revert_command(30);
        assert!(rev[4].contains("pkill -f '^sleep 30$'"));
        assert!(rev[4].contains("tc qdisc del dev eth0 root handle 7a11:"));
    }

    #[test]
    fn executables_of_the_fault_commands() {
        assert_eq!(
            executables(&stress_command(30, &["--cpu", "1"])),
            ["timeout", "stress-ng"]
        );
        assert_eq!(
            executables(&stress_revert_command()),
            ["timeout", "sh", "pkill"]
        );
        assert_eq!(
            executables(&netem_command(30, "delay 1ms 0ms")),
            ["timeout", "sh", "tc", "sleep", "tc"]
        );
        assert_eq!(
            executables(&netem_revert_command(30)),
            ["timeout", "sh", "pkill", "tc", "grep"]
        );
        let quoted = vec![
            "sh".into(),
            "-c".into(),
            "echo 'a; rm -rf x' && ! b | c".into(),
        ];
        assert_eq!(executables(&quoted), ["sh", "b", "c"]);
    }

    #[test]
    fn statuses_read_as_the_kubelet_reports_them() {
        let pod = json!({"status": {"ephemeralContainerStatuses": [
            {"name": "a", "state": {"running": {"startedAt": "x"}}},
            {"name": "b", "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off"}}},
            {"name": "c", "state": {"terminated": {"exitCode": 2, "reason": "Error"}}},
            {"name": "d", "state": {"waiting": {"reason": "ContainerCreating"}}},
        ]}});
        assert_eq!(seen(&pod, "a"), Seen::Running);
        assert_eq!(
            seen(&pod, "b"),
            Seen::Failed("ImagePullBackOff: Back-off".into())
        );
        assert_eq!(
            seen(&pod, "c"),
            Seen::Terminated {
                exit_code: 2,
                reason: "Error".into()
            }
        );
        assert_eq!(seen(&pod, "d"), Seen::Pending);
        assert_eq!(seen(&pod, "e"), Seen::Pending);
    }
}

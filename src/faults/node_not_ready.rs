//! nodeNotReady: stops the kubelet of the chosen nodes for the fault's
//! duration, so each node goes NotReady, then Unknown (unreachable), and
//! its pods are evicted after their toleration, as when a kubelet or a host
//! dies.
//!
//! No API write stops a kubelet: it owns its node's status. As chaos tools
//! do it on a real cluster (Litmus `kubelet-service-kill`, Krkn's node
//! scenarios), a helper pod pinned to the node (`spec.nodeName`,
//! `hostPID`, a privileged container, tolerating every taint) enters the
//! host's namespaces with `nsenter -t 1` and runs `systemctl stop kubelet`.
//! While the kubelet is down nothing on the node acts on an API write, so
//! the end cannot be an API write either: *before* stopping it, the same
//! command schedules its restart on the host, `systemd-run --on-active=
//! <duration> systemctl start kubelet`. The node comes back at that timer
//! whatever happens to gameday (SIGKILL) or to the helper pod.
//!
//! The helper pod carries the marks (it is what causes the effect); its
//! undo data is the node and the time the host timer restarts the kubelet.
//! Injected on evidence: the node's Ready condition leaves True. Reverted
//! on evidence: the helper pod is deleted (it stays Terminating while the
//! kubelet is down, as on a real cluster), the node is Ready again and the
//! pod is gone. A revert that cannot wait until the timer keeps the marks
//! and says when the node comes back by itself.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures::FutureExt;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::about::About;
use super::common::{self, TargetOutcome};
use super::ephemeral::check_tools;
use super::rbac::{Rule, pods_rw};
use super::restored::{self, RESTORE_WAIT};
use super::{
    Batch, DryRun, Entry, FaultCx, FaultError, FaultKind, Injecting, Planning, Reverted, Reverting,
    TargetResult, targets,
};
use crate::k8s::Kube;
use crate::k8s::marks::{Marked, ObjKind, ObjRef, Stamp, generated_name};
use crate::k8s::select::Candidate;
use crate::scenario::{FaultSpec, ParamCheck, TargetKind};

pub struct NodeNotReady;

pub const FAULT: Entry = Entry::new(&NodeNotReady, ABOUT);

const STARTER: &str = r#"
hypothesis: Stopping the kubelet of one blue node for 60s keeps checkout above 95% success; its containers keep serving, the node goes NotReady after the 50s grace period, and nothing is evicted before the 300s toleration.
duration: 60s
successDuring: 0.95
      params:
        namespace: shop         # where the privileged helper pod runs (Pod Security must allow it)
"#;

const ABOUT: About = About {
    rbac: RBAC,
    marks: &[ObjKind::Pod],
    starter: STARTER,
};

/// Nodes are read (targets, Ready); the helper pod is created, read and
/// deleted in its namespace.
const RBAC: &[Rule] = &[
    Rule {
        api_group: "",
        resource: "nodes",
        verbs: &["get", "list"],
        cluster: true,
    },
    pods_rw(&["get", "list", "create", "delete"]),
];

#[derive(Debug, Clone, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Namespace of the helper pod (default: the scenario's first target
    /// namespace). Its Pod Security level must allow `hostPID` and
    /// privileged containers (`privileged`).
    pub namespace: Option<String>,
}

/// The helper container's name.
const CONTAINER: &str = "kubelet-stop";

impl FaultSpec for NodeNotReady {
    fn name(&self) -> &'static str {
        "nodeNotReady"
    }

    fn target_kind(&self) -> TargetKind {
        TargetKind::Nodes
    }

    fn check_params(&self, check: &mut ParamCheck<'_, '_>) {
        let Some(p) = check.typed::<Params>() else {
            return;
        };
        check.non_empty(p.namespace.as_deref(), "namespace");
    }
}

/// The helper pod's namespace, which must be one the scenario targets (its
/// RBAC, its confirm step and `recover --namespace` cover exactly those).
fn namespace<'a>(cx: &'a FaultCx<'a>, p: &'a Params) -> Result<&'a str, FaultError> {
    let targets = &cx.scenario.spec.target.namespaces;
    let ns = match p.namespace.as_deref() {
        Some(ns) => ns,
        None => targets
            .first()
            .map(String::as_str)
            .ok_or_else(|| cx.invalid("the scenario targets no namespace for the helper pod"))?,
    };
    crate::k8s::select::check_namespace(&cx.fault.name, ns, targets, cx.config)?;
    Ok(ns)
}

/// The helper pod of the `i`-th target of one fault.
fn pod_name(stamp: &Stamp, i: usize) -> String {
    generated_name(&stamp.fault, stamp.run_id.short(), &format!("-{i}"))
}

/// What the helper runs: from the host's namespaces, schedule the
/// kubelet's restart in `secs` seconds, then stop it. `&&`: a timer that
/// could not be scheduled leaves the kubelet alone.
fn command(unit: &str, secs: u64) -> Vec<String> {
    let script = format!(
        "systemd-run --unit={unit} --on-active={secs} systemctl start kubelet && systemctl stop kubelet"
    );
    [
        "nsenter", "-t", "1", "-m", "-u", "-i", "-n", "-p", "--", "sh", "-c", &script,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The helper pod: pinned to the node (no scheduler, so no taint keeps it
/// off), in the host's pid namespace, privileged (setns needs
/// CAP_SYS_ADMIN), tolerating every taint so the eviction it causes does
/// not take it, never restarted.
fn helper_pod(
    cx: &FaultCx<'_>,
    stamp: &Stamp,
    ns: &str,
    name: &str,
    node: &str,
    secs: u64,
) -> Value {
    let back_at = Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(secs as i64))
        .unwrap_or(Timestamp::MAX);
    let undo = json!({"node": node, "kubeletBackAt": back_at.to_string()});
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": stamp.labels(&[]),
            "annotations": stamp.annotations(&undo),
        },
        "spec": {
            "nodeName": node,
            "hostPID": true,
            "restartPolicy": "Never",
            "automountServiceAccountToken": false,
            "tolerations": [{"operator": "Exists"}],
            "containers": [{
                "name": CONTAINER,
                "image": cx.config.helper_images.node.reference(),
                "imagePullPolicy": "IfNotPresent",
                "command": command(name, secs),
                "securityContext": {"privileged": true},
            }],
        },
    })
}

async fn create(kube: &Kube, ns: &str, body: &Value, dry_run: bool) -> Result<(), FaultError> {
    let api = kube.namespaced::<k8s_openapi::api::core::v1::Pod>(ns);
    let pod: k8s_openapi::api::core::v1::Pod =
        serde_json::from_value(body.clone()).map_err(|e| FaultError::Invalid {
            fault: "nodeNotReady".into(),
            message: e.to_string(),
        })?;
    let pp = kube::api::PostParams {
        dry_run,
        ..Default::default()
    };
    match kube
        .call("create helper pod", || api.create(&pp, &pod))
        .await
    {
        Ok(_) => Ok(()),
        // A retried create that landed the first time.
        Err(e) if e.is_conflict() && !dry_run => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn node_ref(node: &str) -> ObjRef {
    ObjRef {
        kind: ObjKind::Node,
        namespace: None,
        name: node.to_string(),
    }
}

/// The node's Ready condition status (`True`, `False`, `Unknown`).
fn ready(node: &Value) -> String {
    node["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
        .and_then(|c| c["status"].as_str())
        .unwrap_or("True")
        .to_string()
}

/// Why the helper will never stop the kubelet, from its status: its
/// container ended with an error (nsenter refused) or cannot start.
fn helper_failed(pod: &Value) -> Option<String> {
    let st = pod["status"]["containerStatuses"].as_array()?.first()?;
    let state = &st["state"];
    if let Some(t) = state["terminated"].as_object() {
        let code = t.get("exitCode").and_then(Value::as_i64).unwrap_or(-1);
        return (code != 0).then(|| {
            format!(
                "helper container exited {code} ({}) without stopping the kubelet",
                t.get("message")
                    .or_else(|| t.get("reason"))
                    .and_then(Value::as_str)
                    .unwrap_or("no message")
            )
        });
    }
    let reason = state["waiting"]["reason"].as_str()?;
    super::ephemeral::FAILED_WAITING
        .contains(&reason)
        .then(|| format!("helper container cannot start: {reason}"))
}

const POLL: Duration = Duration::from_millis(200);

/// Waits until the node's Ready condition leaves True (the evidence), at
/// most `within` (the host timer restarts the kubelet then, so no later
/// evidence can come); stops early when the helper fails or the run stops.
async fn wait_not_ready(
    cx: &FaultCx<'_>,
    node: &str,
    pod: &ObjRef,
    within: Duration,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<(), FaultError> {
    let deadline = Instant::now() + within;
    let unverified = |message: String| FaultError::Unverified {
        obj: node_ref(node).to_string(),
        message,
    };
    loop {
        if let Some(n) = common::get(cx.kube, &node_ref(node)).await?
            && ready(&n.data) != "True"
        {
            return Ok(());
        }
        if let Some(p) = common::get(cx.kube, pod).await?
            && let Some(why) = helper_failed(&p.data)
        {
            return Err(unverified(format!("not in effect: {why}")));
        }
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(unverified(format!(
                "not in effect: Ready stayed True for {}s; the node-monitor grace period (40s, 50s from Kubernetes 1.32) may be longer than the fault's duration",
                within.as_secs()
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn inject(cx: &FaultCx<'_>, batch: Batch<'_>) -> Vec<TargetResult> {
    let p: Params = match cx.params() {
        Ok(p) => p,
        Err(e) => return common::all_failed(batch.targets, &e),
    };
    let ns = match namespace(cx, &p) {
        Ok(ns) => ns.to_string(),
        Err(e) => return common::all_failed(batch.targets, &e),
    };
    let secs = common::whole_seconds(cx.fault.duration.unwrap_or_default().as_std());
    let Batch {
        stamp,
        stop,
        targets,
    } = batch;
    let pod_ref = |i: usize| ObjRef {
        kind: ObjKind::Pod,
        namespace: Some(ns.clone()),
        name: pod_name(stamp, i),
    };
    let mut results = common::each_target(batch, cx.concurrency, |t| {
        let i = targets.iter().position(|x| x.obj == t.obj).unwrap_or(0);
        let pod = pod_ref(i);
        let ns = ns.clone();
        Box::pin(async move {
            let node = t.obj.name.as_str();
            let body = helper_pod(cx, stamp, &ns, &pod.name, node, secs);
            create(cx.kube, &ns, &body, false).await?;
            wait_not_ready(cx, node, &pod, Duration::from_secs(secs), stop).await?;
            Ok(TargetOutcome::Done(vec![pod]))
        })
    })
    .await;
    // A failed target's helper pod may exist: it is what the revert deletes
    // (the node itself carries no marks).
    for r in results.iter_mut().filter(|r| r.error.is_some()) {
        let i = targets.iter().position(|x| x.obj == r.target).unwrap_or(0);
        r.marked = vec![pod_ref(i)];
    }
    results
}

/// Deletes the helper pod and waits for the node to be Ready and the pod
/// gone, as long as the host timer is within the revert's wait.
async fn revert(kube: &Kube, marked: &Marked) -> Result<Reverted, FaultError> {
    let node = marked.undo["node"].as_str().unwrap_or_default().to_string();
    let back_at: Option<Timestamp> = marked.undo["kubeletBackAt"]
        .as_str()
        .and_then(|s| s.parse().ok());
    let seen = common::delete_seen(kube, &marked.obj, None, None).await?;
    if seen == common::DeleteSeen::Missing {
        return Ok(Reverted::Gone);
    }
    if node.is_empty() {
        return Ok(Reverted::Restored);
    }
    let left = back_at
        .map(|t| t.duration_since(Timestamp::now()))
        .map(|d| Duration::try_from(d).unwrap_or(Duration::ZERO))
        .unwrap_or(Duration::ZERO);
    let when = back_at.map_or_else(|| "an unknown time".to_string(), |t| t.to_string());
    let within = left + RESTORE_WAIT;
    if left > RESTORE_WAIT {
        return Err(FaultError::Unverified {
            obj: marked.obj.to_string(),
            message: format!(
                "node {node} stays NotReady until its host timer restarts the kubelet at {when} (in {}s): a stopped kubelet cannot be restarted through the API, so the fault cannot end earlier; the helper pod stays Terminating until then and keeps its marks for `gameday recover`",
                left.as_secs()
            ),
        });
    }
    let pending = |n: &Value| {
        let r = ready(n);
        (r != "True").then(|| format!("node {node} is Ready={r} (its host timer fires at {when})"))
    };
    if let Some(why) = restored::poll_until(kube, &node_ref(&node), within, pending).await? {
        return Err(FaultError::Unverified {
            obj: marked.obj.to_string(),
            message: format!(
                "not yet back after {}s: {why}; the helper pod keeps its marks for `gameday recover`",
                within.as_secs()
            ),
        });
    }
    // The kubelet is back: it finishes the helper pod's deletion.
    restored::wait_until_back(kube, &marked.obj, |_| {
        Some("the helper pod is still terminating".into())
    })
    .await?;
    Ok(Reverted::Restored)
}

impl FaultKind for NodeNotReady {
    fn plan<'a>(&'a self, cx: &'a FaultCx<'a>) -> Planning<'a> {
        async move {
            let p: Params = cx.params()?;
            namespace(cx, &p)?;
            let images = &cx.config.helper_images;
            check_tools(cx, "inject", "node", &images.node, &command("unit", 1))?;
            let mut out = targets::nodes(cx).await?.0;
            let secs = common::whole_seconds(cx.fault.duration.unwrap_or_default().as_std());
            out.warnings.push(format!(
                "fault `{}` cannot be ended early: each node's kubelet restarts only at a timer on its host, {secs}s after it stopped, whatever happens to this run",
                cx.fault.name
            ));
            Ok(out)
        }
        .boxed()
    }

    fn dry_run<'a>(&'a self, cx: &'a FaultCx<'a>, targets: &'a [Candidate]) -> DryRun<'a> {
        async move {
            let p: Params = cx.params()?;
            let ns = namespace(cx, &p)?;
            let stamp = Stamp {
                run_id: crate::k8s::marks::RunId("dryrun-00000000".into()),
                fault: cx.fault.name.clone(),
                fault_type: cx.fault.kind,
                expires_at: Timestamp::now(),
            };
            for (i, t) in targets.iter().enumerate() {
                let body = helper_pod(cx, &stamp, ns, &pod_name(&stamp, i), &t.obj.name, 1);
                create(cx.kube, ns, &body, true).await.map_err(|e| {
                    cx.invalid(format!(
                        "the server refuses its helper pod (dryRun=All) in namespace {ns}: {e}"
                    ))
                })?;
            }
            Ok(())
        }
        .boxed()
    }

    fn inject<'a>(&'a self, cx: &'a FaultCx<'a>, batch: Batch<'a>) -> Injecting<'a> {
        inject(cx, batch).boxed()
    }

    fn revert<'a>(&'a self, kube: &'a Kube, marked: &'a Marked) -> Reverting<'a> {
        revert(kube, marked).boxed()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::sandbox::runtime::{Identity, ImageCatalog, Runtime};

    /// The helper's exact command, acted out by the sandbox's runtime in a
    /// pod on `node-1` with the default node image; the container's exit
    /// and whether the node's kubelet is stopped.
    fn run_helper(privileged: bool, host_pid: bool, now: Instant) -> (Option<i32>, Runtime) {
        let image = ImageCatalog::builtin()
            .lookup(
                &crate::config::Config::default()
                    .helper_images
                    .node
                    .reference(),
            )
            .cloned()
            .expect("the default node image is in the sandbox's catalog");
        let who = Identity {
            uid: 0,
            image,
            net_admin: privileged,
            privileged,
            host_pid,
            on_host: false,
        };
        let rt = Runtime::new(ImageCatalog::builtin());
        rt.attach("uid", "node-1");
        rt.with_pod("uid", |p| {
            p.start(
                "c/x",
                &command("gameday-down-1-0", 30),
                who,
                "c/x".into(),
                now,
            )
        })
        .expect("the node image has nsenter");
        let exit = rt.with_pod("uid", |p| p.procs["c/x"].exec.exit);
        (exit, rt)
    }

    #[test]
    fn the_helper_stops_the_kubelet_only_after_scheduling_its_restart() {
        let now = Instant::now();
        let (exit, rt) = run_helper(true, true, now);
        assert_eq!(exit, Some(0));
        assert_eq!(
            rt.kubelet_stopped("node-1", now + Duration::from_secs(29)),
            (true, Some(now + Duration::from_secs(30)))
        );
        assert_eq!(
            rt.kubelet_stopped("node-1", now + Duration::from_secs(30)),
            (false, None)
        );
        // Without hostPID and privileged, nsenter is refused: the kubelet
        // runs on and the container exits 1 (a failed injection).
        for (privileged, host_pid) in [(false, true), (true, false), (false, false)] {
            let (exit, rt) = run_helper(privileged, host_pid, now);
            assert_ne!(exit, Some(0), "privileged {privileged}, hostPID {host_pid}");
            assert_eq!(rt.kubelet_stopped("node-1", now), (false, None));
        }
    }

    #[test]
    fn a_failed_helper_is_told_from_its_status() {
        let exited = json!({"status": {"containerStatuses": [{"state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}});
        assert!(helper_failed(&exited).is_some_and(|m| m.contains("exited 1")));
        let pull = json!({"status": {"containerStatuses": [{"state": {"waiting": {"reason": "ErrImagePull"}}}]}});
        assert!(helper_failed(&pull).is_some());
        let done =
            json!({"status": {"containerStatuses": [{"state": {"terminated": {"exitCode": 0}}}]}});
        assert_eq!(helper_failed(&done), None);
        assert_eq!(helper_failed(&json!({})), None);
    }
}

//! The node agent: starts scheduled pods' containers in the container
//! runtime model ([`crate::runtime`]), reports what they do as
//! container statuses the way the kubelet does (Waiting with a reason,
//! Running, Terminated with an exit code), restarts crashed containers with
//! back-off, marks pods ready after their readiness delay, keeps node status
//! filled in, and evicts pods from NoExecute taints.
//!
//! Images come from the runtime's catalog: a reference the catalog does not
//! know never pulls. The pod annotation `sandbox.gameday/readiness-delay`
//! delays readiness after a start.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Ctx;
use super::events::{NORMAL, WARNING};
use super::scheduler::{set_condition, toleration_matches, tolerations_of};
use crate::meta;
use crate::resources::{CONFIGMAPS, NODES, PODS};
use crate::runtime::security::{self, ConfigError};
use crate::runtime::{Load, NotFound, Runtime, host};
use crate::store::{Obj, UpdateMode};

pub const READINESS_DELAY: &str = "sandbox.gameday/readiness-delay";

pub fn readiness_delay(pod: &Value) -> Duration {
    meta::annotation(pod, READINESS_DELAY)
        .and_then(|s| s.parse::<gameday_spanned::values::Duration>().ok())
        .map(|d| d.as_std())
        .unwrap_or(Duration::ZERO)
}

/// How long a waiting reason that the kubelet replaces on its next sync
/// (`ErrImagePull`, `RunContainerError`) stays visible.
const TRANSIENT: Duration = Duration::from_secs(1);

/// Crash back-off: 10 s doubling to 5 min, as the kubelet's
/// (pkg/kubelet/kubelet.go: `backOffPeriod = 10s`, `MaxContainerBackOff =
/// 300s`, one doubling per restart), divided by the sandbox's time scale.
fn backoff(restarts: i64, time_scale: f64) -> Duration {
    let exp = u32::try_from(restarts.clamp(0, 5)).unwrap_or(5);
    Duration::from_secs((10u64 << exp).min(300)).div_f64(time_scale.max(f64::MIN_POSITIVE))
}

/// Whether a container is one of the pod's own or an ephemeral one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Regular,
    Ephemeral,
}

/// What the kubelet remembers about one container between syncs.
#[derive(Debug, Clone)]
struct Run {
    image: String,
    started: Instant,
    started_at: Value,
    restarts: i64,
    last_state: Value,
    phase: Phase,
    /// The sandbox's time scale ([`Kubelet::time_scale`]), for the back-off.
    time_scale: f64,
}

#[derive(Debug, Clone)]
enum Phase {
    /// Its processes run in the runtime under this key.
    Running,
    /// Never to run again (ephemeral, or restartPolicy says so).
    Exited(Value),
    /// Waiting to be restarted after a crash or a failed start.
    BackOff {
        since: Instant,
        until: Instant,
        start_error: bool,
    },
    /// Cannot be created yet: image pull or configuration problem.
    Blocked {
        since: Instant,
        reason: &'static str,
        message: String,
    },
}

/// The kubelet's per-container bookkeeping, keyed by pod uid and container
/// key; the processes themselves live in the shared [`Runtime`].
pub struct Kubelet {
    pub(super) runtime: Arc<Runtime>,
    runs: HashMap<(String, String), Run>,
    /// How much faster than a real cluster the sandbox's timers run
    /// (`SandboxOptions::time_scale`): back-offs are divided by it.
    pub time_scale: f64,
}

impl Default for Kubelet {
    fn default() -> Self {
        Kubelet::new(Arc::new(Runtime::default()))
    }
}

fn pod_ip(uid: &str) -> String {
    let h = meta::mix(
        uid.bytes()
            .fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(b))),
    );
    format!("10.244.{}.{}", (h >> 8) % 250, (h % 250) + 2)
}

fn terminated(code: i32, reason: &str, message: Option<&str>, started_at: &Value) -> Value {
    let mut t = json!({"exitCode": code, "reason": reason,
                       "startedAt": started_at, "finishedAt": meta::now_rfc3339()});
    if let Some(m) = message {
        t["message"] = json!(m);
    }
    json!({"terminated": t})
}

/// containerd's report of a container whose executable is missing: exit
/// code 128, reason StartError, startedAt the epoch (containerd CRI
/// `unknownExitCode`; containerd/containerd#9080 shows the status).
fn start_error(e: &NotFound) -> Value {
    let msg = format!(
        "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: {e}: unknown"
    );
    terminated(
        128,
        "StartError",
        Some(&msg),
        &json!("1970-01-01T00:00:00Z"),
    )
}

/// The pid namespace a container's processes live in.
fn pid_ns(pod: &Value, c: &Value, kind: Kind) -> String {
    if pod["spec"]["shareProcessNamespace"].as_bool() == Some(true) {
        return crate::runtime::SHARED_PID_NS.into();
    }
    match (kind, c["targetContainerName"].as_str()) {
        (Kind::Ephemeral, Some(t)) => format!("c/{t}"),
        (Kind::Ephemeral, None) => format!("e/{}", meta::str_at(c, &["name"]).unwrap_or("")),
        (Kind::Regular, _) => format!("c/{}", meta::str_at(c, &["name"]).unwrap_or("")),
    }
}

impl Kubelet {
    pub fn new(runtime: Arc<Runtime>) -> Self {
        Kubelet {
            runtime,
            runs: HashMap::new(),
            time_scale: 1.0,
        }
    }

    /// Fills in node status the way a registering kubelet does.
    pub fn sync_node(&mut self, ctx: &Ctx, node: &Value) -> bool {
        let mut status = node.get("status").cloned().unwrap_or(json!({}));
        if !status.is_object() {
            status = json!({});
        }
        let capacity = status
            .get("capacity")
            .cloned()
            .unwrap_or(json!({"cpu": "4", "memory": "16Gi", "pods": "110"}));
        let name = meta::name(node);
        let fresh = json!({
            "capacity": capacity,
            "allocatable": status.get("allocatable").cloned().unwrap_or(capacity.clone()),
            "conditions": status.get("conditions").cloned().unwrap_or(json!([
                {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
                 "lastHeartbeatTime": meta::now_rfc3339(), "lastTransitionTime": meta::now_rfc3339()}
            ])),
            "addresses": status.get("addresses").cloned().unwrap_or(json!([
                {"type": "InternalIP", "address": format!("10.0.0.{}", (meta::mix(name.len() as u64 ^ name.bytes().map(u64::from).sum::<u64>()) % 250) + 2)},
                {"type": "Hostname", "address": name},
            ])),
            "nodeInfo": status.get("nodeInfo").cloned().unwrap_or(json!({
                "kubeletVersion": format!("v1.{}.0", ctx.kube_minor),
                "kubeProxyVersion": format!("v1.{}.0", ctx.kube_minor),
                "containerRuntimeVersion": "containerd://1.7.0",
                "operatingSystem": "linux", "architecture": "amd64",
                "osImage": "gameday sandbox", "kernelVersion": "6.1.0",
                "machineID": "", "systemUUID": "", "bootID": "",
            })),
            "phase": "Running",
        });
        let mut changed = false;
        if node.get("status") != Some(&fresh) {
            changed |= ctx
                .store
                .modify(NODES, "", name, UpdateMode::Full, |_, new| {
                    new["status"] = fresh;
                    meta::ensure_object(new, &["metadata", "labels"])
                        .entry("kubernetes.io/hostname")
                        .or_insert(json!(name));
                    Ok(())
                })
                .is_ok();
        }
        changed
    }

    /// The taint eviction controller (pkg/controller/tainteviction): a pod
    /// on a node with a NoExecute taint it does not tolerate is deleted at
    /// once; one whose matching tolerations all carry `tolerationSeconds`
    /// is deleted that long (the shortest, divided by the time scale)
    /// after the taint's `timeAdded`; a toleration without them keeps it
    /// for good.
    pub fn taint_evictions(&mut self, ctx: &Ctx, pods: &[Arc<Obj>]) -> bool {
        let (nodes, _) = ctx.store.list(NODES, None);
        let mut no_exec: HashMap<String, Vec<Value>> = HashMap::new();
        for n in &nodes {
            let taints: Vec<Value> = meta::at(n.value(), &["spec", "taints"])
                .and_then(Value::as_array)
                .map(|ts| {
                    ts.iter()
                        .filter(|t| t["effect"] == "NoExecute")
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            if !taints.is_empty() {
                no_exec.insert(meta::name(n.value()).to_string(), taints);
            }
        }
        if no_exec.is_empty() {
            return false;
        }
        let now = Instant::now();
        let mut changed = false;
        for p in pods {
            let Some(taints) = no_exec.get(&p.summary.node_name) else {
                continue;
            };
            let due = taints
                .iter()
                .filter_map(|t| eviction_time(p.value(), t, ctx.time_scale, now))
                .min();
            match due {
                Some(t) if t > now => ctx.wake_at(t),
                Some(_) => changed |= evict_for_taint(ctx, p.value()),
                None => {}
            }
        }
        changed
    }

    /// The nodes whose kubelet is stopped on its host, after running their
    /// timers due by `now`; asks for a pass when the next timer is due.
    pub fn stopped_on_host(&self, ctx: &Ctx, nodes: &[Arc<Obj>], now: Instant) -> HashSet<String> {
        let mut out = HashSet::new();
        for n in nodes {
            let (stopped, next) = self.runtime.kubelet_stopped(&n.summary.name, now);
            if stopped {
                out.insert(n.summary.name.clone());
            }
            if let Some(t) = next {
                ctx.wake_at(t);
            }
        }
        out
    }

    /// Whether a process of the pod being synced stopped this kubelet
    /// (`systemctl stop kubelet` on the host): a stopped kubelet reports
    /// nothing, and the lifecycle controller must see it silent, so it
    /// asks for another pass.
    fn stopped_by_its_pod(&self, ctx: &Ctx, node: &str, now: Instant) -> bool {
        let stopped = self.runtime.kubelet_stopped(node, now).0;
        if stopped {
            ctx.wake_at(now);
        }
        stopped
    }

    /// SIGTERM to a terminating pod's host processes.
    pub fn terminate_host(&self, uid: &str) {
        self.runtime.with_pod(uid, |p| p.terminate_host());
    }

    pub fn forget_gone(&mut self, live_uids: &HashSet<&str>) {
        self.runs
            .retain(|(uid, _), _| live_uids.contains(uid.as_str()));
        self.runtime.forget_gone(live_uids);
    }

    /// Brings one scheduled pod's status up to date. Returns whether it
    /// wrote, and when the pod next needs a look (readiness, a process
    /// ending, a back-off).
    pub fn sync_pod(&mut self, ctx: &Ctx, pod: &Value) -> (bool, Option<Instant>) {
        let Some(node) = meta::str_at(pod, &["spec", "nodeName"]).filter(|n| !n.is_empty()) else {
            return (false, None);
        };
        let uid = meta::uid(pod).to_string();
        self.runtime.attach(&uid, node);
        let now = Instant::now();
        let delay = if ctx.warm {
            Duration::ZERO
        } else {
            readiness_delay(pod)
        };
        let mut next: Option<Instant> = None;
        let mut wake = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
        let mut events: Vec<(&str, &str, String)> = Vec::new();
        let containers = list(pod, "containers");
        let ephemeral = list(pod, "ephemeralContainers");
        // Start (or restart) what is due, then run every process to now,
        // then report: processes in one pod see each other's signals and
        // share the network namespace.
        for (kind, c) in containers
            .iter()
            .map(|c| (Kind::Regular, c))
            .chain(ephemeral.iter().map(|c| (Kind::Ephemeral, c)))
        {
            self.ensure(ctx, pod, c, kind, now, &mut events);
        }
        self.runtime.with_pod(&uid, |p| p.advance(now));
        if self.stopped_by_its_pod(ctx, node, now) {
            return (false, None);
        }
        let mut statuses = Vec::new();
        let mut all_ready = !containers.is_empty();
        let mut any_running = false;
        for c in containers {
            let (st, running, ready) =
                self.report(pod, c, Kind::Regular, now, delay, &mut wake, &mut events);
            any_running |= running;
            all_ready &= ready;
            statuses.push(st);
        }
        let eph: Vec<Value> = ephemeral
            .iter()
            .map(|c| {
                self.report(pod, c, Kind::Ephemeral, now, delay, &mut wake, &mut events)
                    .0
            })
            .collect();
        if let Some(t) = self.runtime.with_pod(&uid, |p| p.next_event()) {
            wake(t);
        }
        let mut new_pod = pod.clone();
        {
            let status = meta::ensure_object(&mut new_pod, &["status"]);
            status.insert(
                "phase".into(),
                json!(pod_phase(pod, &statuses, any_running)),
            );
            status.insert("containerStatuses".into(), Value::Array(statuses));
            status
                .entry("startTime")
                .or_insert(json!(meta::now_rfc3339()));
            status.insert("podIP".into(), json!(pod_ip(&uid)));
            status.insert("podIPs".into(), json!([{"ip": pod_ip(&uid)}]));
            status.insert(
                "hostIP".into(),
                json!(format!(
                    "10.0.0.{}",
                    (meta::mix(node.bytes().map(u64::from).sum::<u64>() ^ node.len() as u64) % 250)
                        + 2
                )),
            );
            if eph.is_empty() {
                status.remove("ephemeralContainerStatuses");
            } else {
                status.insert("ephemeralContainerStatuses".into(), Value::Array(eph));
            }
        }
        set_condition(&mut new_pod, "PodReadyToStartContainers", true, None, None);
        set_condition(&mut new_pod, "Initialized", true, None, None);
        let done = matches!(
            new_pod["status"]["phase"].as_str(),
            Some("Succeeded" | "Failed")
        );
        let (reason, msg) = if done {
            (Some("PodCompleted"), None)
        } else if all_ready {
            (None, None)
        } else {
            (
                Some("ContainersNotReady"),
                Some("containers with unready status"),
            )
        };
        set_condition(&mut new_pod, "ContainersReady", all_ready, reason, msg);
        set_condition(&mut new_pod, "Ready", all_ready, reason, msg);
        set_condition(&mut new_pod, "PodScheduled", true, None, None);
        if new_pod.get("status") == pod.get("status") {
            return (false, next);
        }
        let status = new_pod["status"].take();
        let r = ctx.store.modify(
            PODS,
            meta::namespace(pod),
            meta::name(pod),
            UpdateMode::Full,
            |_, new| {
                new["status"] = status;
                Ok(())
            },
        );
        if let Ok(o) = &r {
            for (kind, reason, msg) in events {
                ctx.event_obj(o, kind, reason, &msg, "kubelet");
            }
        }
        (r.is_ok(), next)
    }

    /// Creates and starts a container that should run and does not: a new
    /// one, one whose image changed, one whose back-off is over, one whose
    /// image or configuration problem went away.
    fn ensure(
        &mut self,
        ctx: &Ctx,
        pod: &Value,
        c: &Value,
        kind: Kind,
        now: Instant,
        events: &mut Vec<(&'static str, &'static str, String)>,
    ) {
        let uid = meta::uid(pod).to_string();
        let name = meta::str_at(c, &["name"]).unwrap_or("").to_string();
        let key = container_key(kind, &name);
        let image = meta::str_at(c, &["image"]).unwrap_or("").to_string();
        let id = (uid.clone(), key.clone());
        if let Some(run) = self.runs.get_mut(&id)
            && run.image != image
        {
            // A changed image (regular containers only; ephemeral ones are
            // immutable) kills the container and starts the new image.
            if matches!(run.phase, Phase::Running) {
                self.runtime.with_pod(&uid, |p| p.stop(&key));
                run.last_state = terminated(0, "Completed", None, &run.started_at);
                run.restarts += 1;
            }
            run.image = image.clone();
            run.phase = Phase::Blocked {
                since: now,
                reason: "ContainerCreating",
                message: String::new(),
            };
        }
        let due = match self.runs.get(&id).map(|r| &r.phase) {
            None | Some(Phase::Blocked { .. }) => true,
            Some(Phase::BackOff { until, .. }) => *until <= now,
            Some(Phase::Running) | Some(Phase::Exited(_)) => false,
        };
        if !due {
            return;
        }
        let run = self.runs.entry(id).or_insert_with(|| Run {
            image: image.clone(),
            started: now,
            started_at: Value::Null,
            restarts: 0,
            last_state: json!({}),
            time_scale: self.time_scale,
            phase: Phase::Blocked {
                since: now,
                reason: "ContainerCreating",
                message: String::new(),
            },
        });
        if let Phase::BackOff { .. } = run.phase {
            run.restarts += 1;
        }
        let Some(spec) = self.runtime.catalog.lookup(&image).cloned() else {
            pull_failed(run, &image, now, events);
            return;
        };
        let who = match security::identity(pod, c, &spec) {
            Ok(w) => w,
            Err(ConfigError(msg)) => return config_error(run, msg, now, events),
        };
        let argv = security::argv(c, &spec);
        let ns = pid_ns(pod, c, kind);
        let started = match host_binary(&spec, &argv) {
            Some(binary) => {
                match start_host(&self.runtime, ctx, pod, c, &key, binary, &argv, who, ns) {
                    Ok(()) => Ok(()),
                    Err(host::HostError(msg)) => return config_error(run, msg, now, events),
                }
            }
            None => self
                .runtime
                .with_pod(&uid, |p| p.start(&key, &argv, who, ns, now)),
        };
        events.push((
            NORMAL,
            "Pulled",
            format!("Container image \"{image}\" already present on machine"),
        ));
        events.push((NORMAL, "Created", format!("Created container: {name}")));
        match started {
            Ok(()) => {
                events.push((NORMAL, "Started", format!("Started container {name}")));
                run.started = if ctx.warm {
                    now.checked_sub(Duration::from_secs(3600)).unwrap_or(now)
                } else {
                    now
                };
                run.started_at = json!(meta::now_rfc3339());
                run.phase = Phase::Running;
            }
            Err(e) => {
                let st = start_error(&e);
                events.push((
                    WARNING,
                    "Failed",
                    format!(
                        "Error: {}",
                        st["terminated"]["message"].as_str().unwrap_or("")
                    ),
                ));
                match kind {
                    Kind::Ephemeral => run.phase = Phase::Exited(st),
                    Kind::Regular => {
                        run.last_state = st;
                        run.phase = Phase::BackOff {
                            since: now,
                            until: now + backoff(run.restarts, run.time_scale),
                            start_error: true,
                        };
                    }
                }
            }
        }
    }

    /// The container's status now, whether it runs, and whether it is ready.
    #[allow(clippy::too_many_arguments)]
    fn report(
        &mut self,
        pod: &Value,
        c: &Value,
        kind: Kind,
        now: Instant,
        delay: Duration,
        wake: &mut impl FnMut(Instant),
        events: &mut Vec<(&'static str, &'static str, String)>,
    ) -> (Value, bool, bool) {
        let uid = meta::uid(pod).to_string();
        let name = meta::str_at(c, &["name"]).unwrap_or("").to_string();
        let key = container_key(kind, &name);
        let image = meta::str_at(c, &["image"]).unwrap_or("").to_string();
        let Some(run) = self.runs.get_mut(&(uid.clone(), key.clone())) else {
            return (json!({"name": name, "image": image}), false, false);
        };
        // A process that ended since the last look.
        let state = self.runtime.with_pod(&uid, |p| {
            p.procs
                .get(&key)
                .map(|x| (x.exec.exit, x.exec.loads().collect::<Vec<_>>()))
        });
        if let Phase::Running = run.phase {
            match &state {
                Some((Some(code), _)) => {
                    self.runtime.note_host_peak(&uid, &key, &name);
                    note_exit(run, *code, pod, kind, &name, &uid, now, events)
                }
                Some((None, _)) => {}
                None => {
                    run.phase = Phase::Blocked {
                        since: now,
                        reason: "ContainerCreating",
                        message: String::new(),
                    }
                }
            }
        }
        let image_id = match self
            .runtime
            .catalog
            .lookup(&image)
            .and_then(|i| i.digest.clone())
        {
            Some(d) => format!("{}@{d}", image.split('@').next().unwrap_or(&image)),
            None => format!("{image}@sha256:{}", meta::value_hash(&json!(image))),
        };
        let mut st = json!({
            "name": name, "image": image, "imageID": "", "ready": false, "started": false,
            "restartCount": run.restarts, "lastState": run.last_state,
        });
        let mut running = false;
        let mut ready = false;
        match &run.phase {
            Phase::Running => {
                running = true;
                let loads = state.map(|s| s.1).unwrap_or_default();
                let ready_at = run.started.checked_add(delay);
                // A readiness probe on the container's port needs something
                // listening there: the pause binary never does.
                let ports = c["ports"].as_array().is_some_and(|p| !p.is_empty());
                let serves =
                    !loads.contains(&Load::Pause) && (!ports || loads.contains(&Load::Server));
                ready = kind == Kind::Regular && serves && ready_at.is_some_and(|t| now >= t);
                if kind == Kind::Regular
                    && serves
                    && !ready
                    && let Some(t) = ready_at
                {
                    wake(t);
                }
                st["imageID"] = json!(image_id);
                st["containerID"] = json!(format!(
                    "containerd://{}",
                    meta::value_hash(&json!([uid, key, run.restarts]))
                ));
                st["started"] = json!(true);
                st["state"] = json!({"running": {"startedAt": run.started_at}});
            }
            Phase::Exited(t) => {
                st["imageID"] = json!(image_id);
                st["containerID"] = json!(format!(
                    "containerd://{}",
                    meta::value_hash(&json!([uid, key, run.restarts]))
                ));
                st["state"] = t.clone();
            }
            Phase::BackOff { .. } | Phase::Blocked { .. } => {
                st["state"] = waiting(run, pod, &name, &uid, now, wake);
            }
        }
        if kind == Kind::Ephemeral {
            if let Some(o) = st.as_object_mut() {
                o.remove("started");
            }
            st["lastState"] = json!({});
        } else {
            st["ready"] = json!(ready);
        }
        (st, running, ready)
    }
}

/// Starts a host image's real process for container `key`
/// ([`crate::runtime::host`]). Err: why it cannot be created.
#[allow(clippy::too_many_arguments)]
fn start_host(
    runtime: &Runtime,
    ctx: &Ctx,
    pod: &Value,
    c: &Value,
    key: &str,
    binary: &std::path::Path,
    argv: &[String],
    who: crate::runtime::Identity,
    ns: String,
) -> Result<(), host::HostError> {
    host::user_namespaces()?;
    let access = runtime
        .access
        .get()
        .ok_or_else(|| host::HostError("the API server is not listening yet".into()))?;
    let uid = meta::uid(pod);
    let pod_ns = meta::namespace(pod);
    let config_map = |name: &str| {
        ctx.store
            .try_get(CONFIGMAPS, pod_ns, name)
            .map(|o| o.parse()["data"].clone())
    };
    let dir = std::env::temp_dir()
        .join("gameday-sandbox-pods")
        .join(format!("{uid}-{}", key.replace('/', "-")));
    let _ = std::fs::remove_dir_all(&dir);
    let child = host::HostChild::launch(&host::Launch {
        binary,
        argv,
        pod,
        container: c,
        config_map: &config_map,
        access,
        dir,
    })?;
    let child = Arc::new(child);
    runtime.with_pod(uid, |p| p.start_host(key, child, who, ns));
    Ok(())
}

/// The host executable a host image runs for `argv`, when its program is
/// the image's ([`crate::runtime::ImageSpec::host`]).
fn host_binary<'a>(
    spec: &'a crate::runtime::ImageSpec,
    argv: &[String],
) -> Option<&'a std::path::Path> {
    spec.host
        .as_deref()
        .filter(|_| argv.first().is_some_and(|a| spec.has(a)))
}

/// A container that cannot be created: CreateContainerConfigError, with
/// one Failed event per distinct message.
fn config_error(
    run: &mut Run,
    msg: String,
    now: Instant,
    events: &mut Vec<(&'static str, &'static str, String)>,
) {
    if !matches!(&run.phase, Phase::Blocked { message, .. } if *message == msg) {
        events.push((WARNING, "Failed", format!("Error: {msg}")));
    }
    run.phase = Phase::Blocked {
        since: now,
        reason: "CreateContainerConfigError",
        message: msg,
    };
}

/// The pod's phase from its containers (kubelet `getPhase`): with
/// restartPolicy Never or OnFailure a pod whose containers all terminated
/// is Succeeded when they all exited 0, else Failed; it never runs again.
fn pod_phase(pod: &Value, statuses: &[Value], any_running: bool) -> &'static str {
    if any_running {
        return "Running";
    }
    let policy = meta::str_at(pod, &["spec", "restartPolicy"]).unwrap_or("Always");
    let codes: Vec<Option<i64>> = statuses
        .iter()
        .map(|s| s["state"]["terminated"]["exitCode"].as_i64())
        .collect();
    if policy == "Always" || codes.is_empty() || codes.iter().any(Option::is_none) {
        return "Pending";
    }
    if codes.iter().all(|c| *c == Some(0)) {
        "Succeeded"
    } else {
        "Failed"
    }
}

/// An image the node cannot pull: ErrImagePull with the registry's answer
/// first, then, after the transient window, ImagePullBackOff, as the
/// kubelet's image manager reports it (pkg/kubelet/images/image_manager.go).
fn pull_failed(
    run: &mut Run,
    image: &str,
    now: Instant,
    events: &mut Vec<(&'static str, &'static str, String)>,
) {
    let first = !matches!(
        run.phase,
        Phase::Blocked {
            reason: "ErrImagePull" | "ImagePullBackOff",
            ..
        }
    );
    if first {
        events.push((NORMAL, "Pulling", format!("Pulling image \"{image}\"")));
        events.push((WARNING, "Failed", format!("Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": not found")));
        run.phase = Phase::Blocked {
            since: now,
            reason: "ErrImagePull",
            message: format!(
                "rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": not found"
            ),
        };
    } else if let Phase::Blocked {
        since,
        reason: r @ "ErrImagePull",
        message,
    } = &mut run.phase
        && now >= *since + TRANSIENT
    {
        events.push((
            WARNING,
            "BackOff",
            format!("Back-off pulling image \"{image}\""),
        ));
        *r = "ImagePullBackOff";
        *message = format!("Back-off pulling image \"{image}\"");
    }
}

/// A running container whose process ended: Exited, or BackOff when the
/// pod's restartPolicy restarts it (only regular containers restart;
/// ephemeral ones never do).
#[allow(clippy::too_many_arguments)]
fn note_exit(
    run: &mut Run,
    code: i32,
    pod: &Value,
    kind: Kind,
    name: &str,
    uid: &str,
    now: Instant,
    events: &mut Vec<(&'static str, &'static str, String)>,
) {
    let st = terminated(
        code,
        if code == 0 { "Completed" } else { "Error" },
        None,
        &run.started_at,
    );
    // The exited processes stay in the runtime until a
    // restart replaces them: their output is the log.
    let policy = meta::str_at(pod, &["spec", "restartPolicy"]).unwrap_or("Always");
    let restart =
        kind == Kind::Regular && (policy == "Always" || (policy == "OnFailure" && code != 0));
    if restart {
        events.push((
            WARNING,
            "BackOff",
            format!(
                "Back-off restarting failed container {name} in pod {}_{}({uid})",
                meta::name(pod),
                meta::namespace(pod)
            ),
        ));
        run.last_state = st;
        run.phase = Phase::BackOff {
            since: now,
            until: now + backoff(run.restarts, run.time_scale),
            start_error: false,
        };
    } else {
        run.phase = Phase::Exited(st);
    }
}

/// The Waiting state of a container that does not run: back-off after a
/// crash or start error (RunContainerError first, then CrashLoopBackOff, as
/// the kubelet reports), or blocked on its image or configuration.
fn waiting(
    run: &Run,
    pod: &Value,
    name: &str,
    uid: &str,
    now: Instant,
    wake: &mut impl FnMut(Instant),
) -> Value {
    match &run.phase {
        Phase::BackOff {
            since,
            until,
            start_error,
        } => {
            wake(*until);
            let (reason, message) = if *start_error && now < *since + TRANSIENT {
                wake(*since + TRANSIENT);
                (
                    "RunContainerError",
                    run.last_state["terminated"]["message"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                )
            } else {
                (
                    "CrashLoopBackOff",
                    format!(
                        "back-off {}s restarting failed container={name} pod={}_{}({uid})",
                        backoff(run.restarts, run.time_scale).as_secs(),
                        meta::name(pod),
                        meta::namespace(pod)
                    ),
                )
            };
            json!({"waiting": {"reason": reason, "message": message}})
        }
        Phase::Blocked {
            since,
            reason,
            message,
        } => {
            if *reason == "ErrImagePull" {
                wake(*since + TRANSIENT);
            }
            if message.is_empty() {
                json!({"waiting": {"reason": reason}})
            } else {
                json!({"waiting": {"reason": reason, "message": message}})
            }
        }
        Phase::Running | Phase::Exited(_) => json!({}),
    }
}

/// When `pod` must go because of the NoExecute `taint`, or None if it may
/// stay (`getMinTolerationTime` in pkg/controller/tainteviction).
fn eviction_time(pod: &Value, taint: &Value, time_scale: f64, now: Instant) -> Option<Instant> {
    let mut seconds: Option<i64> = None;
    let mut matched = false;
    for t in tolerations_of(pod).filter(|t| toleration_matches(t, taint)) {
        matched = true;
        match t["tolerationSeconds"].as_i64() {
            None => return None,
            Some(s) => seconds = Some(seconds.map_or(s, |m| m.min(s))),
        }
    }
    if !matched {
        return Some(now);
    }
    let wait = Duration::from_secs(seconds.unwrap_or(0).max(0).unsigned_abs()).div_f64(time_scale);
    let added = taint["timeAdded"]
        .as_str()
        .and_then(meta::parse_time)
        .unwrap_or_else(jiff::Timestamp::now);
    let elapsed = jiff::Timestamp::now().duration_since(added).unsigned_abs();
    Some(now + wait.saturating_sub(elapsed))
}

fn evict_for_taint(ctx: &Ctx, pod: &Value) -> bool {
    let ok = ctx
        .store
        .delete(PODS, meta::namespace(pod), meta::name(pod), None)
        .is_ok();
    if ok {
        ctx.event(
            pod,
            NORMAL,
            "TaintManagerEviction",
            &format!(
                "Marking for deletion Pod {}/{}",
                meta::namespace(pod),
                meta::name(pod)
            ),
            "taint-eviction-controller",
        );
    }
    ok
}

fn list<'a>(pod: &'a Value, key: &str) -> &'a Vec<Value> {
    static EMPTY: Vec<Value> = Vec::new();
    meta::at(pod, &["spec", key])
        .and_then(Value::as_array)
        .unwrap_or(&EMPTY)
}

fn container_key(kind: Kind, name: &str) -> String {
    match kind {
        Kind::Regular => format!("c/{name}"),
        Kind::Ephemeral => format!("e/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_delay_annotation() {
        let p = json!({"metadata": {"annotations": {READINESS_DELAY: "1500ms"}}});
        assert_eq!(readiness_delay(&p), Duration::from_millis(1500));
        assert_eq!(readiness_delay(&json!({})), Duration::ZERO);
    }

    #[test]
    fn crash_backoff_doubles_to_five_minutes() {
        assert_eq!(backoff(0, 1.0), Duration::from_secs(10));
        assert_eq!(backoff(1, 1.0), Duration::from_secs(20));
        assert_eq!(backoff(9, 1.0), Duration::from_secs(300));
        // A sandbox ten times faster than a cluster backs off ten times less.
        assert_eq!(backoff(9, 10.0), Duration::from_secs(30));
    }

    #[test]
    fn ephemeral_containers_join_their_target_pid_namespace() {
        let pod = json!({"spec": {}});
        let c = json!({"name": "x", "targetContainerName": "app"});
        assert_eq!(pid_ns(&pod, &c, Kind::Ephemeral), "c/app");
        assert_eq!(pid_ns(&pod, &json!({"name": "x"}), Kind::Ephemeral), "e/x");
        let shared = json!({"spec": {"shareProcessNamespace": true}});
        assert_eq!(pid_ns(&shared, &c, Kind::Regular), "pod");
    }
}

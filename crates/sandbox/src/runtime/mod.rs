//! The node's container runtime: images from a catalog, processes acted out
//! from each container's `command` and `args` ([`process`]), and what those
//! processes do to the pod ([`effects`]). The kubelet model drives it and
//! reports what it sees as container statuses; the traffic model and
//! `/metrics` read the effects. Nothing here looks at labels, annotations
//! or env: a container does what its command does with what its image has.

pub mod catalog;
pub mod command;
pub mod effects;
pub mod host;
pub mod process;
pub mod security;
pub mod systemd;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub use catalog::{ImageCatalog, ImageSpec};
pub use effects::{Netem, Netns, PodEffects};
pub use process::{Env, Exec, Identity, Line, Load, NotFound, ProcInfo};
pub use systemd::NodeHost;

/// One container's processes and where they live.
#[derive(Debug, Clone)]
pub struct Proc {
    pub exec: Exec,
    pub who: Identity,
    /// The pid namespace: the container's own, the pod's when it shares
    /// one, or the target container's for an ephemeral container with
    /// `targetContainerName`.
    pub pid_ns: String,
}

/// What a step of a container's processes may touch (see [`Env`]), with
/// no signals sent yet.
fn env<'a>(
    netns: &'a mut Netns,
    next_pid: &'a mut u32,
    visible: &'a [ProcInfo],
    host: Option<&'a Mutex<NodeHost>>,
) -> Env<'a> {
    Env {
        netns,
        next_pid,
        visible,
        kills: Vec::new(),
        host,
    }
}

/// A process `pods/exec` started beside a container's processes: it has
/// the container's identity and pid namespace but is not in
/// [`PodRuntime::procs`], so what it prints is not the container's log and
/// its end does not end the container (the CRI's ExecSync/Exec model).
#[derive(Debug, Clone)]
pub struct Side {
    pub exec: Exec,
    who: Identity,
    pid_ns: String,
}

/// The pid counter of namespace `ns`; the pod-wide one starts past the
/// pause container's PID 1.
fn pid_counter<'a>(counters: &'a mut BTreeMap<String, u32>, ns: &str) -> &'a mut u32 {
    counters
        .entry(ns.to_string())
        .or_insert(u32::from(ns == SHARED_PID_NS))
}

/// The pid namespace of a pod with `shareProcessNamespace: true`.
pub const SHARED_PID_NS: &str = "pod";

/// A pod's sandbox: its network namespace and its containers' processes.
#[derive(Debug, Default)]
pub struct PodRuntime {
    pub netns: Netns,
    /// The last pid handed out, per pid namespace: each namespace numbers
    /// its processes from 1, so a container's first process is its PID 1
    /// (and in a pod sharing one namespace, pause is 1 and the containers
    /// start at 2).
    next_pid: BTreeMap<String, u32>,
    /// By container key (`c/NAME`, `e/NAME`).
    pub procs: BTreeMap<String, Proc>,
    /// What the instance before the current one printed, by container
    /// key: the kubelet keeps the last terminated container's log for
    /// `kubectl logs --previous` until the next restart replaces it.
    previous: BTreeMap<String, Vec<Line>>,
    /// The init system of the node the pod runs on.
    pub host: Option<Arc<Mutex<NodeHost>>>,
}

impl PodRuntime {
    /// Starts a container's init process.
    pub fn start(
        &mut self,
        key: &str,
        argv: &[String],
        who: Identity,
        pid_ns: String,
        now: Instant,
    ) -> Result<(), NotFound> {
        let visible = self.visible(&pid_ns);
        let mut env = env(
            &mut self.netns,
            pid_counter(&mut self.next_pid, &pid_ns),
            &visible,
            self.host.as_deref(),
        );
        let exec = Exec::start(argv, &who, now, &mut env)?;
        let kills = env.kills;
        if let Some(old) = self.procs.get(key) {
            self.previous.insert(key.to_string(), old.exec.lines());
        }
        self.procs.insert(
            key.to_string(),
            Proc {
                exec,
                who,
                pid_ns: pid_ns.clone(),
            },
        );
        self.deliver(&pid_ns, kills, now);
        self.advance(now);
        Ok(())
    }

    /// Starts `argv` in container `key` (`pods/exec`); None when the
    /// container has no running process to join.
    pub fn exec_in(
        &mut self,
        key: &str,
        argv: &[String],
        now: Instant,
    ) -> Option<Result<Side, NotFound>> {
        let p = self.procs.get(key).filter(|p| p.exec.running())?;
        let (who, pid_ns) = (p.who.clone(), p.pid_ns.clone());
        let visible = self.visible(&pid_ns);
        let mut env = env(
            &mut self.netns,
            pid_counter(&mut self.next_pid, &pid_ns),
            &visible,
            self.host.as_deref(),
        );
        let started = Exec::start(argv, &who, now, &mut env);
        let kills = env.kills;
        self.deliver(&pid_ns, kills, now);
        Some(started.map(|exec| Side { exec, who, pid_ns }))
    }

    /// Runs an exec'd process up to `now`; the signals it sends reach the
    /// container's processes.
    pub fn advance_side(&mut self, side: &mut Side, now: Instant) {
        let visible = self.visible(&side.pid_ns);
        let mut env = env(
            &mut self.netns,
            pid_counter(&mut self.next_pid, &side.pid_ns),
            &visible,
            self.host.as_deref(),
        );
        side.exec.advance(&side.who, now, &mut env);
        let kills = env.kills;
        self.deliver(&side.pid_ns, kills, now);
    }

    /// Runs a host image's child as container `key` ([`host`]).
    pub fn start_host(
        &mut self,
        key: &str,
        child: std::sync::Arc<host::HostChild>,
        who: Identity,
        pid_ns: String,
    ) {
        self.procs.insert(
            key.to_string(),
            Proc {
                exec: Exec::host(child),
                who,
                pid_ns,
            },
        );
    }

    /// Sends SIGTERM to the pod's host children (graceful deletion).
    pub fn terminate_host(&self) {
        for p in self.procs.values() {
            if let Some(h) = &p.exec.host {
                h.signal(process::SIGTERM);
            }
        }
    }

    /// Kills a container's processes (SIGKILL); what they printed stays as
    /// the previous instance's log.
    pub fn stop(&mut self, key: &str) {
        if let Some(old) = self.procs.remove(key) {
            self.previous.insert(key.to_string(), old.exec.lines());
        }
    }

    fn visible(&self, pid_ns: &str) -> Vec<ProcInfo> {
        self.procs
            .values()
            .filter(|p| p.pid_ns == pid_ns)
            .flat_map(|p| p.exec.procs())
            .collect()
    }

    /// Runs every container up to `now`, delivering the signals they send
    /// each other (bounded: a signal storm cannot hang the kubelet).
    pub fn advance(&mut self, now: Instant) {
        for _ in 0..16 {
            let mut sent = Vec::new();
            let keys: Vec<String> = self.procs.keys().cloned().collect();
            for key in keys {
                // Most containers are blocked with nothing due (a server, a
                // long sleep): skip them without listing processes.
                let Some(ns) = self
                    .procs
                    .get(&key)
                    .filter(|p| p.exec.due(now))
                    .map(|p| p.pid_ns.clone())
                else {
                    continue;
                };
                let visible = self.visible(&ns);
                let Some(p) = self.procs.get_mut(&key) else {
                    continue;
                };
                let mut env = env(
                    &mut self.netns,
                    pid_counter(&mut self.next_pid, &ns),
                    &visible,
                    self.host.as_deref(),
                );
                p.exec.advance(&p.who, now, &mut env);
                if !env.kills.is_empty() {
                    sent.push((ns, env.kills));
                }
            }
            if sent.is_empty() {
                return;
            }
            for (ns, kills) in sent {
                self.deliver(&ns, kills, now);
            }
        }
    }

    /// The pid of `pid_ns`'s init: the first process of the container the
    /// namespace belongs to (`c/NAME`, `e/NAME`, keyed as `procs`). In a
    /// pod that shares one namespace the pause container is init, which
    /// is not acted out, so no container process is.
    fn ns_init(&self, pid_ns: &str) -> Option<(u32, &Proc)> {
        let p = self.procs.get(pid_ns)?;
        Some((p.exec.init_pid()?, p))
    }

    /// Sends each signal a container's process sent within `pid_ns`. One
    /// aimed at the namespace's init is dropped unless the init handles
    /// it, as the kernel does for a sender inside the namespace (every
    /// sender here is: a container's processes and `kubectl exec`'s).
    fn deliver(&mut self, pid_ns: &str, kills: Vec<(u32, i32)>, now: Instant) {
        for (pid, sig) in kills {
            if let Some((init, p)) = self.ns_init(pid_ns)
                && init == pid
                && !p.exec.catches(pid, sig)
            {
                continue;
            }
            for p in self.procs.values_mut().filter(|p| p.pid_ns == pid_ns) {
                let visible = Vec::new();
                let mut env = env(
                    &mut self.netns,
                    pid_counter(&mut self.next_pid, pid_ns),
                    &visible,
                    self.host.as_deref(),
                );
                if p.exec.signal(pid, sig, &p.who, now, &mut env) {
                    break;
                }
            }
        }
    }

    /// When a process next ends by itself.
    pub fn next_event(&self) -> Option<Instant> {
        self.procs
            .values()
            .filter_map(|p| p.exec.next_event())
            .min()
    }

    pub fn effects(&self) -> PodEffects {
        let mut e = PodEffects {
            netem: self.netns.eth0(),
            ..PodEffects::default()
        };
        for load in self.procs.values().flat_map(|p| p.exec.loads()) {
            if let Load::Stress { cpu, vm_bytes } = load {
                e.cpu_workers = e.cpu_workers.saturating_add(cpu);
                e.memory_bytes = e.memory_bytes.saturating_add(vm_bytes);
            }
        }
        e
    }
}

/// The node's runtime, shared by the kubelet (which drives it) and the
/// metrics source (which reads the effects).
#[derive(Debug, Default)]
pub struct Runtime {
    pub catalog: ImageCatalog,
    pods: Mutex<HashMap<String, PodRuntime>>,
    /// How host images reach the API (set once the API listens).
    pub access: std::sync::OnceLock<host::ClusterAccess>,
    /// Peak RSS (KiB) of host children that exited, by pod uid and
    /// container name, for `SandboxHandle::host_peak_rss`.
    pub peaks: Mutex<HashMap<(String, String), i64>>,
    /// Pods whose processes changed outside the kubelet's own syncs (an
    /// exec'd `pkill` or `tc`): the kubelet syncs them on its next pass,
    /// as PLEG's relist notices a container that died.
    touched: Mutex<HashSet<String>>,
    /// Each node's init system ([`systemd`]), by node name.
    hosts: Mutex<HashMap<String, Arc<Mutex<NodeHost>>>>,
}

impl Runtime {
    pub fn new(catalog: ImageCatalog) -> Self {
        Runtime {
            catalog,
            pods: Mutex::new(HashMap::new()),
            access: std::sync::OnceLock::new(),
            peaks: Mutex::new(HashMap::new()),
            touched: Mutex::new(HashSet::new()),
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Asks the kubelet to sync `uid` on its next pass.
    pub fn touch(&self, uid: &str) {
        self.touched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(uid.to_string());
    }

    /// Whether any pod awaits a sync asked for by [`Runtime::touch`].
    pub fn has_touched(&self) -> bool {
        !self
            .touched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_empty()
    }

    /// The pods touched since the last call.
    pub fn take_touched(&self) -> HashSet<String> {
        std::mem::take(
            &mut *self
                .touched
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// The init system of `node` (created on first use, kubelet running).
    pub fn node_host(&self, node: &str) -> Arc<Mutex<NodeHost>> {
        self.hosts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(node.to_string())
            .or_default()
            .clone()
    }

    /// Puts the pod's sandbox on `node`, so its processes that enter the
    /// host's namespaces reach that node's systemd.
    pub fn attach(&self, uid: &str, node: &str) {
        if self.with_pod(uid, |p| p.host.is_some()) {
            return;
        }
        let host = self.node_host(node);
        self.with_pod(uid, |p| {
            p.host.get_or_insert(host);
        });
    }

    /// Runs `node`'s timers due by `now`: whether its kubelet is stopped
    /// then, and when its next timer is due.
    pub fn kubelet_stopped(&self, node: &str, now: Instant) -> (bool, Option<Instant>) {
        let host = self
            .hosts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(node)
            .cloned();
        let Some(host) = host else {
            return (false, None);
        };
        let mut h = host
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let next = h.fire_due(now);
        (h.kubelet_stopped, next)
    }

    /// Runs `f` on the pod's runtime (created empty on first use).
    pub fn with_pod<R>(&self, uid: &str, f: impl FnOnce(&mut PodRuntime) -> R) -> R {
        let mut pods = self
            .pods
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(pods.entry(uid.to_string()).or_default())
    }

    /// Tears down the sandboxes of pods that are gone (their processes and
    /// network namespace go with them).
    pub fn forget_gone(&self, live: &HashSet<&str>) {
        self.pods
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|uid, _| live.contains(uid.as_str()));
    }

    /// Effects of every pod that has any, by pod uid.
    pub fn effects(&self) -> HashMap<String, PodEffects> {
        self.pods
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(uid, p)| (uid.clone(), p.effects()))
            .filter(|(_, e)| *e != PodEffects::default())
            .collect()
    }

    /// Remembers a host child's peak RSS once it exited.
    pub fn note_host_peak(&self, uid: &str, key: &str, container: &str) {
        let peak = self.with_pod(uid, |p| {
            p.procs
                .get(key)
                .and_then(|x| x.exec.host.as_ref())
                .and_then(|h| *h.peak_rss_kib.lock().unwrap_or_else(|e| e.into_inner()))
        });
        if let Some(kib) = peak {
            self.peaks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert((uid.to_string(), container.to_string()), kib);
        }
    }

    /// Peak RSS (KiB) of a host image's container that exited.
    pub fn host_peak_rss(&self, uid: &str, container: &str) -> Option<i64> {
        self.peaks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(uid.to_string(), container.to_string()))
            .copied()
    }

    /// What a container printed from line `from` on, and whether its
    /// process has exited (so a follower knows nothing more will come).
    pub fn output_from(&self, uid: &str, key: &str, from: usize) -> Option<(Vec<Line>, bool)> {
        let pods = self
            .pods
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let p = pods.get(uid)?.procs.get(key)?;
        let lines = p.exec.lines();
        let new = lines.get(from..).map(<[Line]>::to_vec).unwrap_or_default();
        Some((new, p.exec.exit.is_some()))
    }

    /// What a container printed, oldest first (for `pods/log`); None when
    /// it never started.
    pub fn output(&self, uid: &str, key: &str) -> Option<Vec<Line>> {
        self.pods
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(uid)
            .and_then(|p| p.procs.get(key))
            .map(|p| p.exec.lines())
    }

    /// What the container's previous instance printed (`previous=true`);
    /// None when it has not restarted.
    pub fn previous_output(&self, uid: &str, key: &str) -> Option<Vec<Line>> {
        self.pods
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(uid)
            .and_then(|p| p.previous.get(key).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn who(privileged: bool, host_pid: bool) -> Identity {
        Identity {
            net_admin: privileged,
            privileged,
            host_pid,
            ..who_in("debian:bookworm-slim")
        }
    }

    fn who_in(image: &str) -> Identity {
        let image = ImageCatalog::builtin()
            .lookup(image)
            .cloned()
            .expect("in the built-in catalog");
        Identity {
            uid: image.user,
            image,
            net_admin: false,
            privileged: false,
            host_pid: false,
            on_host: false,
        }
    }

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    /// `kubectl exec -c CONTAINER -- argv`, run to its end.
    fn exec(p: &mut PodRuntime, key: &str, words: &[&str], now: Instant) -> i32 {
        let mut side = p
            .exec_in(key, &argv(words), now)
            .expect("a running container")
            .expect("the image has the command");
        p.advance_side(&mut side, now);
        side.exec.exit.expect("the exec ended")
    }

    /// The kernel protects a pid namespace's init from its own namespace:
    /// `kill 1` (even -9) inside a container whose init is `sleep` succeeds
    /// and does nothing, while the same `sleep` as a shell's child dies.
    #[test]
    fn a_containers_init_ignores_signals_it_has_no_handler_for() {
        let now = Instant::now();
        let rt = Runtime::new(ImageCatalog::builtin());
        rt.attach("uid", "node-1");
        rt.with_pod("uid", |p| {
            let who = who_in("busybox:1.37");
            p.start(
                "c/app",
                &argv(&["sleep", "3600"]),
                who.clone(),
                "c/app".into(),
                now,
            )
            .expect("busybox has sleep");
            assert_eq!(p.procs["c/app"].exec.init_pid(), Some(1));
            for sig in ["-TERM", "-KILL", "-INT", "-HUP"] {
                assert_eq!(
                    exec(p, "c/app", &["kill", sig, "1"], now),
                    0,
                    "kill {sig} 1"
                );
            }
            assert_eq!(
                exec(p, "c/app", &["pkill", "sleep"], now),
                0,
                "pkill matched"
            );
            assert!(p.procs["c/app"].exec.running(), "init sleep survives");

            // A second container has a namespace (and a PID 1) of its own.
            let script = "sleep 3600; echo woke";
            p.start(
                "c/side",
                &argv(&["sh", "-c", script]),
                who,
                "c/side".into(),
                now,
            )
            .expect("busybox has sh");
            assert_eq!(p.procs["c/side"].exec.init_pid(), Some(1));
            assert_eq!(exec(p, "c/side", &["kill", "1"], now), 0);
            assert!(p.procs["c/side"].exec.running(), "init sh survives");
            assert_eq!(exec(p, "c/side", &["pkill", "-x", "sleep"], now), 0);
            p.advance(now);
            let side = &p.procs["c/side"].exec;
            assert_eq!(side.exit, Some(0), "sh went on after its child died");
            assert!(side.lines().iter().any(|l| l.text == "woke"));
            assert!(
                p.procs["c/app"].exec.running(),
                "the other namespace is untouched"
            );
        });
    }

    /// A restart keeps the instance before it for `logs --previous`: the
    /// kubelet starting the container again (after a crash) or stopping it
    /// first (a changed image).
    #[test]
    fn a_restart_keeps_the_previous_instances_log() {
        let now = Instant::now();
        let rt = Runtime::new(ImageCatalog::builtin());
        rt.attach("uid", "node-1");
        let text = |lines: Option<Vec<Line>>| {
            lines.map(|l| l.into_iter().map(|l| l.text).collect::<Vec<_>>())
        };
        let run = |script: &str| {
            rt.with_pod("uid", |p| {
                p.start(
                    "c/x",
                    &argv(&["sh", "-c", script]),
                    who_in("busybox:1.37"),
                    "c/x".into(),
                    now,
                )
            })
            .expect("busybox has sh");
        };
        run("echo one");
        assert_eq!(text(rt.previous_output("uid", "c/x")), None);
        run("echo two");
        assert_eq!(
            text(rt.previous_output("uid", "c/x")),
            Some(vec!["one".into()])
        );
        assert_eq!(text(rt.output("uid", "c/x")), Some(vec!["two".into()]));
        rt.with_pod("uid", |p| p.stop("c/x"));
        assert_eq!(
            text(rt.previous_output("uid", "c/x")),
            Some(vec!["two".into()])
        );
    }

    /// An init that handles the signal gets it: the pause binary and an
    /// application's server exit on SIGTERM, and stress-ng (what the
    /// cpuStress revert's `pkill -x stress-ng` aims at) stops.
    #[test]
    fn an_init_with_a_handler_gets_the_signal() {
        let now = Instant::now();
        let rt = Runtime::new(ImageCatalog::builtin());
        rt.attach("uid", "node-1");
        rt.with_pod("uid", |p| {
            p.start(
                "c/app",
                &argv(&["/app/server"]),
                who_in("shop/checkout:1"),
                "c/app".into(),
                now,
            )
            .expect("an app image");
            // A debug container in the app's namespace (targetContainerName).
            let debug = ["sh", "-c", "kill -KILL 1; sleep 3600"];
            p.start(
                "e/debug",
                &argv(&debug),
                who_in("busybox:1.37"),
                "c/app".into(),
                now,
            )
            .expect("busybox");
            p.advance(now);
            assert!(
                p.procs["c/app"].exec.running(),
                "SIGKILL from inside is dropped"
            );
            assert_eq!(exec(p, "e/debug", &["kill", "1"], now), 0);
            p.advance(now);
            assert_eq!(p.procs["c/app"].exec.exit, Some(128 + process::SIGTERM));

            let stress = who_in("ghcr.io/colinianking/stress-ng:latest");
            let cmd = ["stress-ng", "--cpu", "1", "--timeout", "60s"];
            p.start("e/burn", &argv(&cmd), stress.clone(), "e/burn".into(), now)
                .expect("stress-ng");
            let revert = ["sh", "-c", "kill -TERM 1"];
            p.start("e/undo", &argv(&revert), stress, "e/burn".into(), now)
                .expect("sh");
            p.advance(now);
            assert_eq!(p.procs["e/burn"].exec.exit, Some(128 + process::SIGTERM));
        });
    }

    const STOP: &str = "systemd-run --unit=gameday-kubelet-x --on-active=30 systemctl start kubelet && systemctl stop kubelet";

    /// Runs the fault's command in a pod on a fresh node; the container's
    /// exit, what it printed, and the node's init system after it.
    fn run(
        argv: &[&str],
        w: Identity,
        now: Instant,
    ) -> (Option<i32>, String, Arc<Mutex<NodeHost>>) {
        let rt = Runtime::new(ImageCatalog::builtin());
        rt.attach("uid", "node-1");
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        rt.with_pod("uid", |p| p.start("c/x", &argv, w, "c/x".into(), now))
            .expect("the image has nsenter");
        let (exit, out) = rt.with_pod("uid", |p| {
            let e = &p.procs["c/x"].exec;
            let text: Vec<String> = e.lines().into_iter().map(|l| l.text).collect();
            (e.exit, text.join("\n"))
        });
        (exit, out, rt.node_host("node-1"))
    }

    fn nsenter(script: &str) -> Vec<&str> {
        vec![
            "nsenter", "-t", "1", "-m", "-u", "-i", "-n", "-p", "--", "sh", "-c", script,
        ]
    }

    #[test]
    fn nsenter_needs_a_privileged_container_and_reaches_the_host_only_with_host_pid() {
        let now = Instant::now();
        // Not privileged, own pid namespace: setns on its own namespaces
        // is refused (no CAP_SYS_ADMIN), ipc first as util-linux orders it.
        let (exit, out, host) = run(&nsenter(STOP), who(false, false), now);
        assert_eq!(exit, Some(1));
        assert_eq!(
            out,
            "nsenter: reassociate to namespace 'ns/ipc' failed: Operation not permitted"
        );
        assert!(!host.lock().unwrap().kubelet_stopped);
        // hostPID without privileged: the host init's ns files do not open.
        let (exit, out, _) = run(&nsenter(STOP), who(false, true), now);
        assert_eq!(exit, Some(1));
        assert_eq!(
            out,
            "nsenter: cannot open /proc/1/ns/ipc: Permission denied"
        );
        // Privileged without hostPID: PID 1 is the container's own init, so
        // the script runs in the container, which has no systemd.
        let (exit, out, host) = run(&nsenter(STOP), who(true, false), now);
        assert_eq!(exit, Some(127), "{out}");
        assert!(out.contains("systemd-run: not found"), "{out}");
        assert!(!host.lock().unwrap().kubelet_stopped);
    }

    #[test]
    fn from_the_host_the_kubelet_stops_and_the_timer_starts_it_again() {
        let now = Instant::now();
        let (exit, out, host) = run(&nsenter(STOP), who(true, true), now);
        assert_eq!(exit, Some(0), "{out}");
        assert!(
            out.contains("Running timer as unit: gameday-kubelet-x.timer"),
            "{out}"
        );
        let mut h = host.lock().unwrap();
        assert!(h.kubelet_stopped);
        assert_eq!(
            h.fire_due(now + Duration::from_secs(29)),
            Some(now + Duration::from_secs(30))
        );
        assert!(h.kubelet_stopped);
        h.fire_due(now + Duration::from_secs(30));
        assert!(!h.kubelet_stopped);
    }

    #[test]
    fn systemctl_outside_the_host_fails_as_in_a_container() {
        let mut w = who(true, true);
        w.image.executables.push("systemctl".into());
        let (exit, out, host) = run(&["sh", "-c", "systemctl stop kubelet"], w, Instant::now());
        assert_eq!(exit, Some(1));
        assert!(
            out.starts_with(
                "System has not been booted with systemd as init system (PID 1). Can't operate."
            ),
            "{out}"
        );
        assert!(!host.lock().unwrap().kubelet_stopped);
    }
}

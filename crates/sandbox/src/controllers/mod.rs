//! The control loop: one task that reconciles the whole cluster on a short
//! tick and right after client writes. Each pass runs the controllers in the
//! order a real cluster's components would react (garbage collection,
//! deployments, replicasets, statefulsets, daemonsets, scheduler, kubelet,
//! termination, disruption).
//!
//! A pass only touches pods that changed since the previous pass or whose
//! timer (readiness delay, a process ending, a back-off) is due, so an idle sandbox of
//! 10,000 pods costs nothing.

pub mod cronjob;
pub mod daemonset;
pub mod disruption;
pub mod events;
pub mod job;
pub mod kubelet;
pub mod node_lifecycle;
pub mod scheduler;
pub mod termination;
pub mod workloads;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::meta;
use crate::resources::{
    self, CRONJOBS, DAEMONSETS, DEPLOYMENTS, EVENTS, JOBS, NODES, PODS, REPLICASETS, STATEFULSETS,
};
use crate::runtime::Runtime;
use crate::store::{Obj, Store};

/// What controllers share during one pass.
pub struct Ctx {
    pub store: Arc<Store>,
    pub kube_minor: u32,
    /// Warm start: the world comes up as if it had been running, with no
    /// readiness delays and no events.
    pub warm: bool,
    /// How many times faster than a real cluster the cluster's own timers
    /// run (`SandboxOptions::time_scale`).
    pub time_scale: f64,
    /// The earliest time a controller asked to run again without any write
    /// (a Deployment's progress deadline), during this pass.
    wake: std::cell::Cell<Option<Instant>>,
}

impl Ctx {
    /// Asks for a pass at `t` even if nothing is written meanwhile.
    pub fn wake_at(&self, t: Instant) {
        let next = self.wake.get().map_or(t, |w| w.min(t));
        self.wake.set(Some(next));
    }

    pub fn event(
        &self,
        involved: &Value,
        kind: &str,
        reason: &str,
        message: &str,
        component: &str,
    ) {
        if !self.warm {
            events::record(&self.store, involved, kind, reason, message, component);
        }
    }

    /// Like [`Ctx::event`] for a stored object, parsed only if an event is
    /// written (a cached parse would stay with the stored version).
    pub fn event_obj(
        &self,
        involved: &Obj,
        kind: &str,
        reason: &str,
        message: &str,
        component: &str,
    ) {
        if !self.warm {
            events::record(
                &self.store,
                &involved.parse(),
                kind,
                reason,
                message,
                component,
            );
        }
    }

    /// The kubelet's event when a pod's containers are stopped.
    pub fn killing(&self, pod: &Value) {
        for c in meta::at(pod, &["spec", "containers"])
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = meta::str_at(c, &["name"]).unwrap_or("");
            self.event(
                pod,
                events::NORMAL,
                "Killing",
                &format!("Stopping container {name}"),
                "kubelet",
            );
        }
    }
}

/// Events kept before the oldest are dropped, like the apiserver's event TTL.
const MAX_EVENTS: usize = 3000;

pub struct Controllers {
    ctx: Ctx,
    kubelet: kubelet::Kubelet,
    /// Store resourceVersion when the previous pass began reading. Not the
    /// one at its end: a client write landing after a pass's last list
    /// would then count as seen, and the pod it changed would never be
    /// synced (an ephemeral container left unstarted for good).
    last_rv: u64,
    /// Pods with a due timer, by uid.
    timers: HashMap<String, Instant>,
    termination: termination::Termination,
    /// When the next terminating pod's containers exit.
    termination_next: Option<Instant>,
    /// When a controller asked to look again ([`Ctx::wake_at`]).
    controller_next: Option<Instant>,
    node_lifecycle: node_lifecycle::NodeLifecycle,
    /// Nodes whose kubelet was silent at the previous pass: when one comes
    /// back it resyncs every pod of its node, as a restarted kubelet does.
    silent: HashSet<String>,
    jobs: job::JobController,
    cronjobs: cronjob::CronJobController,
    /// Test hook: runs after a pass's last read, standing in for a client
    /// write that lands while the pass runs.
    #[cfg(test)]
    mid_pass: Option<MidPass>,
}

/// See [`Controllers::mid_pass`].
#[cfg(test)]
type MidPass = Box<dyn FnMut(&Store) + Send>;

const KNOWN_OWNERS: &[(&str, usize)] = &[
    ("ReplicaSet", REPLICASETS),
    ("Deployment", DEPLOYMENTS),
    ("StatefulSet", STATEFULSETS),
    ("DaemonSet", DAEMONSETS),
    ("Job", JOBS),
    ("CronJob", CRONJOBS),
];

impl Controllers {
    pub fn new(store: Arc<Store>, kube_minor: u32) -> Self {
        Controllers::with_runtime(store, kube_minor, Arc::new(Runtime::default()))
    }

    /// Controllers whose kubelet runs containers in `runtime` (shared with
    /// the metrics source, which reads what the processes do).
    pub fn with_runtime(store: Arc<Store>, kube_minor: u32, runtime: Arc<Runtime>) -> Self {
        Controllers {
            ctx: Ctx {
                store,
                kube_minor,
                warm: false,
                time_scale: 1.0,
                wake: std::cell::Cell::new(None),
            },
            kubelet: kubelet::Kubelet::new(runtime),
            last_rv: 0,
            timers: HashMap::new(),
            termination: termination::Termination::default(),
            termination_next: None,
            controller_next: None,
            node_lifecycle: node_lifecycle::NodeLifecycle::default(),
            silent: HashSet::new(),
            jobs: job::JobController::default(),
            cronjobs: cronjob::CronJobController::default(),
            #[cfg(test)]
            mid_pass: None,
        }
    }

    /// Runs the cluster's own timers `scale` times faster than a real
    /// cluster's (see `SandboxOptions::time_scale`); values that are not
    /// positive and finite leave real timing.
    pub fn set_time_scale(&mut self, scale: f64) {
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        self.ctx.time_scale = scale;
        self.kubelet.time_scale = scale;
    }

    /// Runs passes until nothing changes (bounded), with warm-start rules.
    pub fn settle(&mut self, warm: bool) {
        self.ctx.warm = warm;
        for _ in 0..64 {
            if !self.pass(true) {
                break;
            }
        }
        self.ctx.warm = false;
    }

    /// When the loop must next run even without writes.
    pub fn next_timer(&self) -> Option<Instant> {
        self.timers
            .values()
            .copied()
            .chain(self.termination_next)
            .chain(self.controller_next)
            .min()
    }

    /// Whether a pass has anything to do.
    pub fn due(&self) -> bool {
        self.ctx.store.current_rv() != self.last_rv
            || self.next_timer().is_some_and(|t| t <= Instant::now())
            || self.kubelet.runtime.has_touched()
    }

    /// One reconcile pass. Returns whether anything was written.
    pub fn pass(&mut self, force: bool) -> bool {
        if !force && !self.due() {
            return false;
        }
        let store = self.ctx.store.clone();
        let since = self.last_rv;
        let start_rv = store.current_rv();
        let now = Instant::now();
        self.ctx.wake.set(None);
        let mut changed = self.gc();
        let (rss, _) = store.list(REPLICASETS, None);
        let (pods, _) = store.list(PODS, None);
        let rs_by = workloads::by_owner(&rss);
        let pods_by = workloads::by_owner(&pods);
        changed |= workloads::deployments(&self.ctx, &rs_by, &pods_by);
        changed |= workloads::replicasets(&self.ctx, &pods_by);
        changed |= workloads::statefulsets(&self.ctx, &pods_by);
        changed |= daemonset::reconcile(&self.ctx, &pods_by);
        changed |= self.cronjobs.reconcile(&self.ctx);
        changed |= self.jobs.reconcile(&self.ctx, &pods_by);
        let (pods, _) = store.list(PODS, None);
        changed |= scheduler::schedule(&self.ctx, &pods);
        drop(pods);
        // Nodes: status for new or changed nodes, health, taint evictions.
        let (nodes, _) = store.list(NODES, None);
        for n in nodes.iter().filter(|n| n.rv > since) {
            changed |= self.kubelet.sync_node(&self.ctx, n.value());
        }
        let (pods, _) = store.list(PODS, None);
        // Kubelets stopped on their host (`systemctl stop kubelet`), after
        // the hosts' timers due now have run.
        let stopped = self.kubelet.stopped_on_host(&self.ctx, &nodes, now);
        changed |= self
            .node_lifecycle
            .reconcile(&self.ctx, &nodes, &pods, &stopped);
        // A stopped kubelet syncs nothing: its pods keep the status the
        // lifecycle controller gave them and never finish terminating.
        let silent: HashSet<&str> = nodes
            .iter()
            .filter(|n| {
                node_lifecycle::kubelet_state(n.value(), stopped.contains(&n.summary.name))
                    == Some("stopped")
            })
            .map(|n| n.summary.name.as_str())
            .collect();
        let running: Vec<Arc<Obj>> = pods
            .iter()
            .filter(|p| !p.summary.deleting)
            .cloned()
            .collect();
        changed |= self.kubelet.taint_evictions(&self.ctx, &running);
        let (all_pods, _) = store.list(PODS, None);
        let pods: Vec<Arc<Obj>> = all_pods
            .iter()
            .filter(|p| !silent.contains(p.summary.node_name.as_str()))
            .cloned()
            .collect();
        // Pods that changed, whose timer is due, or whose processes an
        // exec changed.
        let mut due: HashSet<String> = self
            .timers
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(u, _)| u.clone())
            .collect();
        due.extend(self.kubelet.runtime.take_touched());
        // A kubelet back from silence reports its pods afresh (the node
        // lifecycle controller marked them NotReady meanwhile).
        let back: HashSet<&str> = self
            .silent
            .iter()
            .map(String::as_str)
            .filter(|n| !silent.contains(n))
            .collect();
        for p in &pods {
            let uid = p.summary.uid.as_str();
            let resync = back.contains(p.summary.node_name.as_str());
            if p.rv > since || due.contains(uid) || self.ctx.warm || resync {
                let (c, next) = self.kubelet.sync_pod(&self.ctx, &p.parse());
                changed |= c;
                match next {
                    Some(t) => {
                        self.timers.insert(uid.to_string(), t);
                    }
                    None => {
                        self.timers.remove(uid);
                    }
                }
            }
        }
        self.silent = silent.iter().map(|n| n.to_string()).collect();
        let (c, next) = self.termination.reconcile(&self.ctx, &pods);
        changed |= c;
        for uid in std::mem::take(&mut self.termination.fresh) {
            self.kubelet.terminate_host(&uid);
        }
        self.termination_next = next;
        let live: HashSet<&str> = all_pods.iter().map(|p| p.summary.uid.as_str()).collect();
        self.timers.retain(|u, _| live.contains(u.as_str()));
        self.kubelet.forget_gone(&live);
        changed |= disruption::reconcile(&store);
        self.trim_events();
        self.controller_next = self.ctx.wake.get();
        #[cfg(test)]
        if let Some(f) = self.mid_pass.as_mut() {
            f(&store);
        }
        // The next pass looks at everything written since this one began:
        // what this pass wrote may need a reaction (new pods scheduled,
        // statuses recounted), and a client's write may have landed after
        // the lists above. Looking twice at an object is harmless; missing
        // one leaves it unsynced until something else touches it.
        self.last_rv = start_rv;
        changed
    }

    /// Background garbage collection: objects whose controlling owner is
    /// gone are deleted (kubectl delete deployment defaults to this).
    fn gc(&mut self) -> bool {
        let store = &self.ctx.store;
        let mut uids: HashMap<&str, HashSet<String>> = HashMap::new();
        for (kind, res) in KNOWN_OWNERS {
            let (objs, _) = store.list(*res, None);
            uids.insert(kind, objs.iter().map(|o| o.summary.uid.clone()).collect());
        }
        let mut changed = false;
        for res in [REPLICASETS, JOBS, PODS] {
            let (objs, _) = store.list(res, None);
            for o in objs {
                // A terminating orphan was already deleted; deleting again
                // would only repeat the Killing event.
                if !o.summary.deleting && orphaned(&o, &uids) {
                    let ok = store
                        .delete(res, meta::namespace(o.value()), meta::name(o.value()), None)
                        .is_ok();
                    if ok && res == PODS {
                        self.ctx.killing(o.value());
                    }
                    changed |= ok;
                }
            }
        }
        changed
    }

    fn trim_events(&self) {
        let store = &self.ctx.store;
        if store.count(EVENTS) <= MAX_EVENTS {
            return;
        }
        let (mut evs, _) = store.list(EVENTS, None);
        evs.sort_by_key(|e| e.rv);
        let drop = evs.len() - MAX_EVENTS * 3 / 4;
        for e in evs.into_iter().take(drop) {
            let _ = store.delete(
                EVENTS,
                meta::namespace(e.value()),
                meta::name(e.value()),
                None,
            );
        }
    }
}

fn orphaned(o: &Obj, uids: &HashMap<&str, HashSet<String>>) -> bool {
    o.summary.owner.as_ref().is_some_and(|(kind, _, uid)| {
        uids.get(kind.as_str())
            .is_some_and(|set| !set.contains(uid))
    })
}

/// The control loop task: a pass on every tick when something changed or a
/// timer is due, and promptly after a write.
pub async fn run(
    mut controllers: Controllers,
    tick: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let store = controllers.ctx.store.clone();
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = store.changed.notified() => {
                // Let a burst of writes land before reacting.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            _ = shutdown.changed() => return,
        }
        // Controllers do synchronous work over the store; keep it off the
        // async workers that serve requests.
        controllers = match tokio::task::spawn_blocking(move || {
            controllers.pass(false);
            controllers
        })
        .await
        {
            Ok(c) => c,
            Err(_) => return,
        };
    }
}

/// Namespaces every cluster has.
pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

pub fn ensure_system_namespaces(store: &Store) {
    for ns in SYSTEM_NAMESPACES {
        if store.try_get(resources::NAMESPACES, "", ns).is_none() {
            let _ = store.create(
                resources::NAMESPACES,
                "",
                serde_json::json!({"metadata": {"name": ns}}),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::UpdateMode;
    use serde_json::json;

    /// A store with node `n1` and pod `default/p` bound to it, whose
    /// container is a shell waiting on a `sleep` (then exiting 3).
    fn one_pod_on_one_node(restart_policy: Option<&str>) -> Arc<Store> {
        let store = Arc::new(Store::new(100));
        ensure_system_namespaces(&store);
        store
            .create(NODES, "", json!({"metadata": {"name": "n1"}}))
            .expect("node");
        let mut pod = json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n1",
            "containers": [{"name": "app", "image": "busybox:1.37",
                "command": ["sh", "-c", "sleep 3600; exit 3"]}]}});
        if let Some(policy) = restart_policy {
            pod["spec"]["restartPolicy"] = json!(policy);
        }
        store.create(PODS, "default", pod).expect("pod");
        store
    }

    /// A client write that lands after a pass has read the pods (here: an
    /// ephemeral container added, as `gameday run` does) is still synced by
    /// the next pass. Before the fix the pass recorded the store's version
    /// at its end as seen, so the container never started: the
    /// faults_crash flake, where a revert waited 30 s for it.
    #[test]
    fn a_write_during_a_pass_is_synced_by_the_next() {
        let store = one_pod_on_one_node(None);
        let mut ctrl = Controllers::new(store.clone(), 33);
        ctrl.settle(true);
        let mut once = true;
        ctrl.mid_pass = Some(Box::new(move |s: &Store| {
            if std::mem::take(&mut once) {
                s.modify(PODS, "default", "p", UpdateMode::Full, |_, v| {
                    v["spec"]["ephemeralContainers"] = json!([{"name": "probe",
                        "image": "busybox:1.36", "command": ["sleep", "60"]}]);
                    Ok(())
                })
                .expect("add ephemeral container");
            }
        }));
        ctrl.pass(true);
        for _ in 0..5 {
            ctrl.pass(false);
        }
        let pod = store.get(PODS, "default", "p").expect("pod").parse();
        let started = pod["status"]["ephemeralContainerStatuses"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["name"] == "probe" && c["state"].get("running").is_some());
        assert!(
            started,
            "ephemeral container never synced: {}",
            pod["status"]
        );
    }

    /// A process an exec kills (here the shell's `sleep`, through `pkill`)
    /// is reported at the kubelet's next pass once the exec touches the
    /// pod; untouched, nothing changed in the store and no timer is due,
    /// so the pass would not look at the pod and the container would show
    /// Running until some later write (the gap docs/sandbox.md noted).
    #[test]
    fn an_exec_that_kills_a_process_is_reported_at_the_next_pass() {
        let store = one_pod_on_one_node(Some("Never"));
        let runtime = Arc::new(Runtime::new(crate::runtime::ImageCatalog::default()));
        let mut ctrl = Controllers::with_runtime(store.clone(), 33, runtime.clone());
        ctrl.settle(true);
        let state = || {
            let pod = store.get(PODS, "default", "p").expect("pod").parse();
            pod["status"]["containerStatuses"][0]["state"]
                .as_object()
                .and_then(|s| s.keys().next().cloned())
                .unwrap_or_default()
        };
        assert_eq!(state(), "running");
        let uid = store
            .get(PODS, "default", "p")
            .expect("pod")
            .summary
            .uid
            .clone();
        runtime.with_pod(&uid, |p| {
            // Not `kill 1`: the kernel drops that for an init without a
            // handler. The shell's child dies, and the shell exits 3.
            let argv: Vec<String> = ["pkill", "-x", "sleep"].map(String::from).to_vec();
            let mut side = p
                .exec_in("c/app", &argv, Instant::now())
                .expect("a running container")
                .expect("busybox 1.37 has pkill");
            p.advance_side(&mut side, Instant::now());
        });
        assert!(!ctrl.pass(false), "nothing asked for a pass yet");
        assert_eq!(state(), "running");
        runtime.touch(&uid);
        assert!(ctrl.due());
        ctrl.pass(false);
        assert_eq!(state(), "terminated");
        let pod = store.get(PODS, "default", "p").expect("pod").parse();
        let exit = &pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"];
        assert_eq!(exit, 3, "the shell ran on after its sleep was killed");
        assert!(!runtime.has_touched(), "a touch is consumed by the pass");
    }
}

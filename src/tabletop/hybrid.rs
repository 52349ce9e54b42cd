//! The cluster side of a hybrid drill: its `fault` injects run through the
//! fault engine of `gameday run` (`engine::Runner::run_on_demand`), not a
//! copy of it. The CLI has already done what `gameday run` does before the
//! first write (`app::prepare`: context guard, kill switch, preflight,
//! permissions, plan, the server's dry run); here the engine is started
//! beside the drill clock, told when each fault inject fires, and stopped
//! when the drill ends, whichever way it ends. Every fault is marked with
//! the run id and an expiry before it changes anything, so after a SIGKILL
//! `gameday recover` finds and reverts it; a panic is covered by the same
//! drop guard as a game day's.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc::UnboundedSender;

use super::run::Running;
use crate::config::Config;
use crate::drill::DrillClock;
use crate::engine::guard::{RevertGuard, install_panic_hook};
use crate::engine::plan::FaultPlan;
use crate::engine::recover::Filter;
use crate::engine::{
    Entry, Observer, Outcome, RunOptions, Runner, Status, StopHandle, Trigger, rundir,
};
use crate::k8s::{Kube, KubeTarget};
use crate::report::live::{Shared, lock};

/// A cluster that passed every check of `app::prepare`, with the plan of
/// the drill's faults.
pub struct Cluster {
    pub kube: Kube,
    /// Already through the context guard (S5).
    pub target: KubeTarget,
    pub plans: Vec<FaultPlan>,
    /// Most API calls in flight at once.
    pub concurrency: usize,
}

/// Fires the drill's fault injects: the engine injects each when told.
#[derive(Clone)]
pub struct FaultTrigger {
    sender: UnboundedSender<Trigger>,
    /// Drill seconds per wall second: a fault's `duration` is drill time.
    scale: f64,
}

impl FaultTrigger {
    /// Asks the engine to inject `fault` now and hold it for `duration` of
    /// drill time. False when the engine is no longer taking faults.
    pub fn fire(&self, fault: &str, duration: Duration) -> bool {
        let hold = duration.div_f64(self.scale.max(f64::MIN_POSITIVE));
        self.sender
            .send(Trigger {
                fault: fault.to_string(),
                hold,
            })
            .is_ok()
    }
}

/// The engine running beside the drill.
pub struct FaultEngine {
    trigger: Option<FaultTrigger>,
    task: tokio::task::JoinHandle<Outcome>,
    stop: StopHandle,
    guard: RevertGuard,
    run_id: String,
}

/// Shows the engine's journal entries to the drill's live picture (the
/// console and the facilitator's view) in drill time, as the reports
/// replay them.
struct LiveFeed(Shared, DrillClock);

impl Observer for LiveFeed {
    fn on_entry(&mut self, entry: &Entry) {
        let entry = crate::report::exercise::in_drill_time(entry, self.1.started());
        lock(&self.0).on_entry(&entry);
    }
}

impl FaultEngine {
    /// Arms the drop guard and the panic hook, then starts the engine on
    /// `cluster`; nothing is injected until a fault inject fires.
    pub fn start(cluster: Cluster, running: &Running, config: &Config) -> FaultEngine {
        let journal_path = running.run_dir.join(rundir::JOURNAL);
        let scenario = lock(&running.shared).scenario.clone();
        install_panic_hook(journal_path.clone());
        let guard = RevertGuard::arm(
            cluster.target.clone(),
            Filter::of_run(&running.run_id.0, &scenario),
            journal_path,
        );
        let stop = StopHandle::new();
        let (sender, triggers) = tokio::sync::mpsc::unbounded_channel();
        let runner = Runner {
            kube: cluster.kube,
            scenario,
            config: Arc::new(config.clone()),
            run_id: running.run_id.clone(),
            run_dir: running.run_dir.clone(),
            journal: running.journal.clone(),
            observers: vec![Box::new(LiveFeed(
                running.shared.clone(),
                running.clock.clone(),
            ))],
            options: RunOptions {
                concurrency: cluster.concurrency,
                ..RunOptions::default()
            },
            stop: stop.clone(),
        };
        FaultEngine {
            trigger: Some(FaultTrigger {
                sender,
                scale: running.clock.scale(),
            }),
            task: tokio::spawn(runner.run_on_demand(cluster.plans, triggers)),
            stop,
            guard,
            run_id: running.run_id.0.clone(),
        }
    }

    pub fn trigger(&self) -> Option<FaultTrigger> {
        self.trigger.clone()
    }

    /// Resolves when the engine stops on its own (an error, the kill
    /// switch): the drill ends then, with the cause as its reason.
    pub async fn stopped(&self) -> String {
        self.stop.wait().await;
        let cause = self.stop.cause().map(|c| c.to_string()).unwrap_or_default();
        format!("the fault engine stopped: {cause}")
    }

    /// Ends the fault phase (every active fault is reverted and the revert
    /// confirmed by label) and returns how it ended. A crashed engine is
    /// reverted by label here.
    pub async fn finish(mut self, running: &Running) -> Outcome {
        // Closing the triggers is the engine's "the drill is over". Every
        // clone of the sender lives in the drill's deliverer, which is done.
        self.trigger = None;
        let outcome = match (&mut self.task).await {
            Ok(o) => o,
            Err(e) => {
                let _ = running.journal.append(
                    "engine",
                    "run.crashed",
                    json!({"error": e.to_string()}),
                );
                let left = tokio::task::block_in_place(|| self.guard.revert_now());
                Outcome {
                    status: if matches!(left, Ok(0)) {
                        Status::Aborted
                    } else {
                        Status::RevertFailed
                    },
                    reason: Some(format!("the fault engine crashed: {e}")),
                    run_id: self.run_id.clone(),
                }
            }
        };
        self.guard.disarm();
        outcome
    }
}

/// Waits for `engine` to stop on its own; never resolves without one.
pub async fn stopped(engine: Option<&FaultEngine>) -> String {
    match engine {
        Some(e) => e.stopped().await,
        None => std::future::pending().await,
    }
}

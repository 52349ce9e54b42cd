//! The plug-in points of a run. The engine owns the fault lifecycle; steady
//! state probes (before/during/after), detection, responders, live display
//! and reports are observers. Each sees every journal entry and can stop
//! the run at the gates, without the engine knowing what they are.

use std::path::Path;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::journal::{Entry, Journal};
use super::outcome::Outcome;
use crate::config::Config;
use crate::k8s::Kube;
use crate::k8s::marks::RunId;
use crate::scenario::Scenario;

/// What an observer says at a gate.
#[derive(Debug, Clone, PartialEq)]
pub enum Gate {
    Proceed,
    /// Before the faults: the steady state does not hold. Nothing is injected; exit 1.
    NotRun(String),
    /// While faults are active: a guardrail breach. Revert everything; exit 3.
    Abort(String),
    /// After the revert: the hypothesis failed (e.g. no recovery in time); exit 1.
    Fail(String),
}

/// What observers can read and write during a run.
pub struct ObserveCx<'a> {
    pub kube: &'a Kube,
    pub scenario: &'a Scenario,
    pub config: &'a Config,
    pub journal: &'a Journal,
    pub run_id: &'a RunId,
    pub run_dir: &'a Path,
    /// When the fault phase began (offsets and T_inject are relative to it).
    pub fault_phase_start: Option<Instant>,
    /// When the last revert began (its undo write); the `after` gate's
    /// recovery clock starts here.
    pub reverted_at: Option<Instant>,
}

fn proceed<'a>() -> BoxFuture<'a, Gate> {
    Box::pin(std::future::ready(Gate::Proceed))
}

pub trait Observer: Send {
    /// Every journal entry, in order, as it is written.
    fn on_entry(&mut self, _entry: &Entry) {}

    /// Called on every engine tick with the time since the fault phase began.
    fn on_tick(&mut self, _elapsed: Duration) {}

    /// Before anything is injected (steady state "before").
    fn before_faults<'a>(&'a mut self, _cx: &'a ObserveCx<'a>) -> BoxFuture<'a, Gate> {
        proceed()
    }

    /// Every `steadyState.interval` while at least one fault is active.
    fn during<'a>(&'a mut self, _cx: &'a ObserveCx<'a>) -> BoxFuture<'a, Gate> {
        proceed()
    }

    /// After every fault is reverted and confirmed (recovery).
    fn after_revert<'a>(&'a mut self, _cx: &'a ObserveCx<'a>) -> BoxFuture<'a, Gate> {
        proceed()
    }

    /// The engine is about to revert what responders changed in the cluster
    /// (autopilot actions): stop changing it, and resolve only once no
    /// action is in flight, so nothing lands after the revert.
    fn stop_actions<'a>(&'a mut self) -> BoxFuture<'a, ()> {
        Box::pin(std::future::ready(()))
    }

    /// The run is over; write reports, close displays.
    fn finish(&mut self, _outcome: &Outcome, _cx: &ObserveCx<'_>) {}
}

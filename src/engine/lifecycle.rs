//! One run, start to end: preflight (kill switch, observers' "before" gate)
//! → inject each fault at its offset → hold → revert → confirm → recovery
//! gate. Every way out of the fault phase (normal end, guardrail, error,
//! signal, kill switch) goes through the same revert-and-confirm tail; the
//! CLI's drop guard covers panics and early returns on top of this.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};

use super::actions;
use super::halt;
use super::journal::Journal;
use super::observer::{Gate, ObserveCx, Observer};
use super::outcome::{Outcome, Status};
use super::plan::{FaultPlan, recheck};
use super::recover::{self, Filter};
use super::stop::{StopCause, StopHandle};
use crate::config::Config;
use crate::faults::{self, FaultCx, TargetResult, kind_of};
use crate::k8s::Kube;
use crate::k8s::marks::{ObjRef, RunId, Stamp};
use crate::k8s::select::{BlastReport, Candidate};
use crate::scenario::{Fault, Scenario, TargetKind};

/// Most live re-checks in flight at once. A re-check lists the fault's
/// candidates (20 pods are a 53 KB list), which the client buffers whole,
/// copies and parses; with one per `--concurrency` slot (32), those lists
/// were the run's peak heap, and every connection that carried one kept a
/// read buffer grown to its size (docs/performance.md, issue 13: peak RSS).
/// A list takes milliseconds, so four side by side still re-check a hundred
/// faults in a fraction of the time their writes take; the writes keep the
/// whole `--concurrency`.
const LIVE_CHECKS_IN_FLIGHT: usize = 4;

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Most API calls in flight at once (`--concurrency`).
    pub concurrency: usize,
    /// How often the engine wakes to check the schedule and the kill switch.
    pub tick: Duration,
    /// Added to each fault's end for `gameday/expires-at`.
    pub expiry_grace: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            concurrency: 32,
            tick: Duration::from_millis(500),
            expiry_grace: Duration::from_secs(120),
        }
    }
}

/// A fault of a hybrid drill to inject now and hold for `hold` of wall
/// time: the drill decides when (its injects fire in drill time, on
/// conditions and on the facilitator's word), the engine does the rest.
#[derive(Debug, Clone)]
pub struct Trigger {
    pub fault: String,
    pub hold: Duration,
}

/// Where [`Runner::run_on_demand`] takes its triggers from. Closing it (the
/// drill is over) reverts every active fault and ends the fault phase.
pub type Triggers = tokio::sync::mpsc::UnboundedReceiver<Trigger>;

/// The faults fired so far by name, with their holds; None when the run
/// injects at the faults' own offsets.
type Fired = Option<std::collections::BTreeMap<String, Duration>>;

enum FaultState {
    Pending,
    /// Injected and holding until `until` (since the phase start).
    Active {
        marked: Vec<ObjRef>,
        until: Duration,
    },
    Done,
    /// Reverted at its time (`revert_due`) at this instant: the recovery
    /// clock of a fault that ended before the phase did starts here.
    Reverted {
        at: Instant,
    },
}

pub struct Runner {
    pub kube: Kube,
    pub scenario: Arc<Scenario>,
    pub config: Arc<Config>,
    pub run_id: RunId,
    pub run_dir: PathBuf,
    pub journal: Arc<Journal>,
    pub observers: Vec<Box<dyn Observer>>,
    pub options: RunOptions,
    pub stop: StopHandle,
}

impl Runner {
    /// Writes to the ledger and shows the entry to every observer. A ledger
    /// that cannot be written stops the run: no mutation without it (S1).
    fn record(&mut self, source: &str, event: &str, data: Value) -> bool {
        match self.journal.append(source, event, data) {
            Ok(entry) => {
                for o in &mut self.observers {
                    o.on_entry(&entry);
                }
                true
            }
            Err(e) => {
                self.stop
                    .trigger(StopCause::Error(format!("cannot write the journal: {e}")));
                false
            }
        }
    }

    fn fault(&self, name: &str) -> Option<Fault> {
        self.scenario
            .spec
            .faults
            .iter()
            .find(|f| f.name == name)
            .cloned()
    }

    /// Namespaces and node scope the confirm step searches.
    fn confirm_filter(&self) -> Filter {
        Filter {
            run_id: Some(self.run_id.0.clone()),
            expired_only: false,
            namespaces: Some(self.scenario.spec.target.namespaces.clone()),
            nodes: self
                .scenario
                .spec
                .faults
                .iter()
                .any(|f| crate::faults::kind_of(f.kind).target_kind() == TargetKind::Nodes),
            kinds: Some(
                self.scenario
                    .spec
                    .faults
                    .iter()
                    .flat_map(|f| recover::kinds_marked_by(f.kind).iter().copied())
                    .collect(),
            ),
        }
    }

    /// What observers see of the run; the observers themselves are taken
    /// out of `self` while they run, so this borrows the rest.
    fn observe_cx(
        &self,
        phase_start: Option<Instant>,
        reverted_at: Option<Instant>,
    ) -> ObserveCx<'_> {
        ObserveCx {
            kube: &self.kube,
            scenario: &self.scenario,
            config: &self.config,
            journal: &self.journal,
            run_id: &self.run_id,
            run_dir: &self.run_dir,
            fault_phase_start: phase_start,
            reverted_at,
        }
    }

    async fn gate(
        &mut self,
        which: &str,
        phase_start: Option<Instant>,
        reverted_at: Option<Instant>,
    ) -> Gate {
        let mut observers = std::mem::take(&mut self.observers);
        let cx = self.observe_cx(phase_start, reverted_at);
        let mut verdict = Gate::Proceed;
        for o in &mut observers {
            let g = match which {
                "before" => o.before_faults(&cx).await,
                "during" => o.during(&cx).await,
                _ => o.after_revert(&cx).await,
            };
            if g != Gate::Proceed && verdict == Gate::Proceed {
                verdict = g;
            }
        }
        self.observers = observers;
        verdict
    }

    fn finish(&mut self, outcome: Outcome) -> Outcome {
        self.record(
            "engine",
            "run.end",
            json!({"status": outcome.status, "reason": outcome.reason, "exitCode": outcome.exit_code()}),
        );
        let mut observers = std::mem::take(&mut self.observers);
        let cx = self.observe_cx(None, None);
        for o in &mut observers {
            o.finish(&outcome, &cx);
        }
        self.observers = observers;
        outcome
    }

    fn outcome(&self, status: Status, reason: Option<String>) -> Outcome {
        Outcome {
            status,
            reason,
            run_id: self.run_id.0.clone(),
        }
    }

    /// The preflight phase: a halted cluster (or one whose kill switch
    /// cannot be read) refuses before anything is injected.
    async fn preflight(&mut self) -> Option<Outcome> {
        let halt_ns = self.config.halt_namespace.clone();
        self.record(
            "engine",
            "phase",
            json!({"phase": "preflight", "context": self.kube.context, "runId": self.run_id.0}),
        );
        match halt::is_halted(&self.kube, &halt_ns).await {
            Ok(false) => None,
            Ok(true) => Some(self.outcome(Status::Halted, Some(format!("the cluster is halted (ConfigMap {halt_ns}/{}); lift it with `gameday halt --lift`", halt::HALT_CONFIGMAP)))),
            Err(e) => Some(self.outcome(Status::Unreachable, Some(e.to_string()))),
        }
    }

    /// How the run ended when the revert failed or a stop cut it short;
    /// None on the normal path.
    fn stopped_outcome(
        &self,
        revert_ok: bool,
        cause: Option<StopCause>,
        injected_any: bool,
    ) -> Option<Outcome> {
        if !revert_ok {
            return Some(self.outcome(
                Status::RevertFailed,
                Some(format!(
                    "a revert failed after its retries; faults may remain: run `gameday recover --run {}`",
                    self.run_id
                )),
            ));
        }
        Some(match cause? {
            StopCause::Halted => self.outcome(Status::Halted, Some(StopCause::Halted.to_string())),
            StopCause::Error(e) if !injected_any => self.outcome(Status::Unreachable, Some(e)),
            c => self.outcome(Status::Aborted, Some(c.to_string())),
        })
    }

    /// A hybrid drill's fault phase: the same preflight, injection (intent
    /// first, marks with expiry, the live blast-radius re-check), kill
    /// switch, revert and confirmation as [`Runner::run`], but each fault is
    /// injected when a [`Trigger`] names it, and everything still active is
    /// reverted when the triggers close or a stop is triggered. It writes no
    /// `run.end`: the drill does, once its reports are due. Observers see no
    /// gates (a drill has no steady state).
    pub async fn run_on_demand(mut self, plans: Vec<FaultPlan>, mut triggers: Triggers) -> Outcome {
        if let Some(o) = self.preflight().await {
            return o;
        }
        let (states, injected_any) = self.fault_phase(&plans, Some(&mut triggers)).await;
        let cause = self.stop.cause();
        if let Some(c) = &cause {
            self.record("engine", "run.stopping", json!({"cause": c.to_string()}));
        }
        let (revert_ok, _) = self.revert_and_confirm(&plans, states).await;
        let o = self
            .stopped_outcome(revert_ok, cause, injected_any)
            .unwrap_or_else(|| self.outcome(Status::Passed, None));
        self.record(
            "engine",
            "faults.end",
            json!({"status": o.status, "reason": o.reason}),
        );
        o
    }

    pub async fn run(mut self, plans: Vec<FaultPlan>) -> Outcome {
        if let Some(o) = self.preflight().await {
            return self.finish(o);
        }
        self.record("engine", "phase", json!({"phase": "steady"}));
        match self.gate("before", None, None).await {
            Gate::Proceed => {}
            Gate::NotRun(r) | Gate::Abort(r) | Gate::Fail(r) => {
                let o = self.outcome(Status::NotRun, Some(r));
                return self.finish(o);
            }
        }
        if self.stop.is_set() {
            let cause = self.stop.cause().map(|c| c.to_string());
            let o = self.outcome(Status::Aborted, cause);
            return self.finish(o);
        }

        let (states, injected_any) = self.fault_phase(&plans, None).await;
        let cause = self.stop.cause();
        if let Some(c) = &cause {
            self.record("engine", "run.stopping", json!({"cause": c.to_string()}));
        }
        let (revert_ok, reverted_at) = self.revert_and_confirm(&plans, states).await;
        // Responder actions too, on every way out (S2); on the normal path
        // only after the recovery measurement below.
        if !revert_ok || cause.is_some() {
            self.revert_actions().await;
        }
        if let Some(o) = self.stopped_outcome(revert_ok, cause, injected_any) {
            return self.finish(o);
        }
        self.record("engine", "phase", json!({"phase": "recover"}));
        let o = match self.gate("after", None, reverted_at).await {
            Gate::Proceed => self.outcome(Status::Passed, None),
            Gate::NotRun(r) | Gate::Abort(r) | Gate::Fail(r) => {
                self.outcome(Status::Failed, Some(r))
            }
        };
        let o = if self.revert_actions().await {
            o
        } else {
            self.outcome(
                Status::RevertFailed,
                Some(format!(
                    "an autopilot action could not be reverted; it may remain: run `gameday recover --run {}`",
                    self.run_id
                )),
            )
        };
        self.finish(o)
    }

    /// Whether any autopilot entry changes the cluster and is to be reverted.
    fn has_revertible_actions(&self) -> bool {
        self.scenario.spec.response.as_ref().is_some_and(|r| {
            r.autopilot
                .iter()
                .filter_map(|e| e.action.as_ref())
                .any(|a| a.scale.is_some() && !a.keep)
        })
    }

    /// Reverts what responders changed in the cluster (autopilot actions
    /// without `keep: true`), found by this run's marks, and journals the
    /// evidence per object. Observers stop acting first, so nothing lands
    /// after it. False when a revert could not be confirmed.
    async fn revert_actions(&mut self) -> bool {
        let mut observers = std::mem::take(&mut self.observers);
        for o in &mut observers {
            o.stop_actions().await;
        }
        self.observers = observers;
        if !self.has_revertible_actions() {
            return true;
        }
        let namespaces = self.scenario.spec.target.namespaces.clone();
        let kube = self.kube.clone();
        let reverted =
            actions::revert(&kube, &self.run_id, &namespaces, self.options.concurrency).await;
        match reverted {
            Ok(list) => {
                let mut ok = true;
                for r in list {
                    ok &= r.error.is_none();
                    let event = if r.error.is_none() {
                        "action.reverted"
                    } else {
                        "action.revert-failed"
                    };
                    let data = serde_json::to_value(&r).unwrap_or_else(|_| json!({}));
                    self.record("autopilot", event, data);
                }
                ok
            }
            Err(e) => {
                self.record(
                    "engine",
                    "action.revert-unconfirmed",
                    json!({"error": e.to_string()}),
                );
                false
            }
        }
    }

    /// Injects at offsets (or, with `triggers`, when a trigger names the
    /// fault) and holds until every fault is over or a stop is triggered.
    /// Returns the state of each fault for the revert.
    async fn fault_phase(
        &mut self,
        plans: &[FaultPlan],
        mut triggers: Option<&mut Triggers>,
    ) -> (Vec<FaultState>, bool) {
        let mut fired: Fired = triggers.as_ref().map(|_| Default::default());
        let mut states: Vec<FaultState> = plans.iter().map(|_| FaultState::Pending).collect();
        let mut injected_any = false;
        let start = Instant::now();
        let interval = self.scenario.spec.steady_state.interval().as_std();
        let mut next_observe = interval;
        let halt_ns = self.config.halt_namespace.clone();
        let mut halt_failures = 0u32;
        self.record("engine", "phase", json!({"phase": "inject"}));
        loop {
            if self.stop.is_set() {
                break;
            }
            let now = start.elapsed();
            for o in &mut self.observers {
                o.on_tick(now);
            }
            // Revert what is due, then inject what is due.
            self.revert_due(plans, &mut states, now).await;
            let due: Vec<usize> = plans
                .iter()
                .enumerate()
                .filter(|(i, p)| {
                    matches!(states[*i], FaultState::Pending) && is_due(p, now, &fired)
                })
                .map(|(i, _)| i)
                .collect();
            if !due.is_empty() && !self.stop.is_set() {
                injected_any = true;
                for (i, st) in self.inject_batch(plans, &due, start, &fired).await {
                    states[i] = st;
                }
            }
            let active = states
                .iter()
                .any(|s| matches!(s, FaultState::Active { .. }));
            let pending = states.iter().any(|s| matches!(s, FaultState::Pending));
            if !active && !pending {
                break;
            }
            if self.stop.is_set() {
                break;
            }
            // The kill switch is read on every tick (S6).
            if self.kill_switch_stops(&halt_ns, &mut halt_failures).await {
                break;
            }
            let now = start.elapsed();
            if active && now >= next_observe {
                next_observe = now + interval;
                if let Gate::Abort(r) | Gate::Fail(r) | Gate::NotRun(r) =
                    self.gate("during", Some(start), None).await
                {
                    self.record("engine", "guardrail.breach", json!({"reason": r}));
                    self.stop.trigger(StopCause::Guardrail(r));
                    break;
                }
            }
            // Sleep until the next event, the next tick, or a stop.
            let next_event = plans
                .iter()
                .zip(&states)
                .filter_map(|(p, s)| match s {
                    FaultState::Pending if fired.is_none() => Some(p.at.as_std()),
                    FaultState::Pending => None,
                    FaultState::Active { until, .. } => Some(*until),
                    FaultState::Done | FaultState::Reverted { .. } => None,
                })
                .min()
                .unwrap_or(now);
            let wait = next_event
                .saturating_sub(start.elapsed())
                .min(self.options.tick)
                .min(
                    next_observe
                        .saturating_sub(start.elapsed())
                        .max(Duration::from_millis(10)),
                );
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.stop.wait() => {}
                t = next_trigger(triggers.as_deref_mut()) => match (t, fired.as_mut()) {
                    (Some(t), Some(f)) => {
                        f.insert(t.fault, t.hold);
                    }
                    // The drill is over: what never fired never will, and
                    // what is active is reverted now.
                    _ => {
                        for s in &mut states {
                            if matches!(s, FaultState::Pending) {
                                *s = FaultState::Done;
                            }
                        }
                        break;
                    }
                },
            }
        }
        (states, injected_any)
    }

    /// Reverts every active fault whose time is up; a failed revert stops
    /// the run (the revert tail then retries it by label).
    async fn revert_due(&mut self, plans: &[FaultPlan], states: &mut [FaultState], now: Duration) {
        for (i, plan) in plans.iter().enumerate() {
            let due = matches!(&states[i], FaultState::Active { until, .. } if *until <= now);
            if due
                && let FaultState::Active { marked, .. } =
                    std::mem::replace(&mut states[i], FaultState::Reverted { at: Instant::now() })
                && !self.revert_fault(plan, marked).await
            {
                self.stop.trigger(StopCause::Error(format!(
                    "revert of `{}` failed",
                    plan.fault
                )));
            }
        }
    }

    /// Reads the kill switch (S6); true when the run must stop: it is set,
    /// or it could not be read three times in a row (fail safe: a kill
    /// switch we cannot read is treated as set).
    async fn kill_switch_stops(&mut self, halt_ns: &str, failures: &mut u32) -> bool {
        match halt::is_halted(&self.kube, halt_ns).await {
            Ok(true) => {
                self.record("engine", "halt.seen", json!({}));
                self.stop.trigger(StopCause::Halted);
                true
            }
            Ok(false) => {
                *failures = 0;
                false
            }
            Err(e) => {
                *failures += 1;
                tracing::warn!("cannot read the kill switch: {e}");
                if *failures >= 3 {
                    self.stop.trigger(StopCause::Error(format!(
                        "cannot read the kill switch: {e}"
                    )));
                }
                *failures >= 3
            }
        }
    }

    /// Injects every fault that is due now. Faults run side by side with the
    /// `--concurrency` bound shared between them (each gets an equal slice),
    /// so a hundred small faults take about as long as one big one.
    async fn inject_batch(
        &mut self,
        plans: &[FaultPlan],
        due: &[usize],
        start: Instant,
        fired: &Fired,
    ) -> Vec<(usize, FaultState)> {
        let conc = self.options.concurrency.max(1);
        let parallel = due.len().clamp(1, conc);
        let per_fault = (conc / parallel).max(1);
        let kube = self.kube.clone();
        let scenario = self.scenario.clone();
        let config = self.config.clone();
        // S3 again, against live state, for every due fault.
        let mut checks = Vec::new();
        for &i in due {
            if let Some(mut fault) = self.fault(&plans[i].fault) {
                // A triggered fault holds as long as its trigger says.
                if let Some(hold) = fired.as_ref().and_then(|f| f.get(&fault.name)) {
                    fault.duration = Some(crate::values::Duration(*hold));
                }
                checks.push(live_check(
                    &kube, &scenario, &config, &plans[i], fault, i, per_fault,
                ));
            }
        }
        let checked = bounded(checks, parallel.min(LIVE_CHECKS_IN_FLIGHT)).await;
        let mut states = Vec::new();
        let mut ready = Vec::new();
        for (i, fault, res) in checked {
            let plan = &plans[i];
            match res {
                Err(e) => {
                    self.record(
                        "fault",
                        "fault.refused",
                        json!({"fault": plan.fault, "error": e.to_string()}),
                    );
                    self.stop.trigger(StopCause::Error(e.to_string()));
                    states.push((i, FaultState::Done));
                }
                Ok((targets, blast)) => match self.record_intent(plan, &fault, &targets, blast) {
                    Some((stamp, hold)) => ready.push((i, fault, stamp, targets, hold)),
                    None => states.push((i, FaultState::Done)),
                },
            }
        }
        if self.stop.is_set() {
            // Intent recorded but nothing written yet: nothing to revert.
            for (i, ..) in ready {
                states.push((i, FaultState::Done));
            }
            return states;
        }
        let stop = self.stop.clone();
        let runs = ready
            .iter()
            .map(|(i, fault, stamp, targets, _)| {
                execute(
                    &kube,
                    &scenario,
                    &config,
                    fault,
                    stamp,
                    targets,
                    per_fault,
                    stop.flag(),
                    *i,
                )
            })
            .collect::<Vec<_>>();
        let results = bounded(runs, parallel).await;
        for (i, results) in results {
            let Some((_, fault, _, targets, hold)) = ready.iter().find(|r| r.0 == i) else {
                continue;
            };
            let st = self.record_injected(fault, targets, *hold, &results, start);
            states.push((i, st));
        }
        states
    }

    /// S1: the intent of one checked fault is on disk before the first write
    /// to the cluster. Returns the stamp its objects will carry and its hold,
    /// or None when the journal could not take the intent (nothing is written).
    fn record_intent(
        &mut self,
        plan: &FaultPlan,
        fault: &Fault,
        targets: &[Candidate],
        blast: BlastReport,
    ) -> Option<(Stamp, Duration)> {
        let hold = fault.duration.map(|d| d.as_std()).unwrap_or_default();
        let expires = jiff::Timestamp::now()
            .checked_add(
                jiff::SignedDuration::try_from(hold + self.options.expiry_grace)
                    .unwrap_or_default(),
            )
            .unwrap_or_else(|_| jiff::Timestamp::now());
        let stamp = Stamp {
            run_id: self.run_id.clone(),
            fault: fault.name.clone(),
            fault_type: fault.kind,
            expires_at: expires,
        };
        let intent = json!({
            "fault": fault.name,
            "type": fault.kind,
            "seed": plan.selection.seed,
            "targets": targets.iter().map(|t| t.obj.to_string()).collect::<Vec<_>>(),
            "blast": blast,
            "expiresAt": expires.to_string(),
            "holdSeconds": hold.as_secs_f64(),
        });
        self.record("fault", "fault.intent", intent)
            .then_some((stamp, hold))
    }

    /// Journals what one fault's injection did, stops the run if any target
    /// failed, and says how long the fault stays active.
    fn record_injected(
        &mut self,
        fault: &Fault,
        targets: &[Candidate],
        hold: Duration,
        results: &[TargetResult],
        start: Instant,
    ) -> FaultState {
        let marked: Vec<ObjRef> = results
            .iter()
            .flat_map(|r| r.marked.iter().cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let errors: Vec<&TargetResult> = results.iter().filter(|r| r.error.is_some()).collect();
        let done = results
            .iter()
            .filter(|r| r.error.is_none() && r.skipped.is_none())
            .count();
        self.record(
            "fault",
            "fault.injected",
            json!({
                "fault": fault.name,
                "type": fault.kind,
                "injected": done,
                "errors": errors,
                "skipped": results.iter().filter(|r| r.skipped.is_some()).collect::<Vec<_>>(),
                "untilSeconds": (start.elapsed() + hold).as_secs_f64(),
                "holdSeconds": hold.as_secs_f64(),
                "targets": targets.len(),
            }),
        );
        if !errors.is_empty() {
            self.stop.trigger(StopCause::Error(format!(
                "fault `{}`: {} of {} targets failed to inject",
                fault.name,
                errors.len(),
                targets.len()
            )));
        }
        // An instantaneous fault (podKill, podEvict) has no hold of its
        // own, but its impact comes after it lands: keep it active for two
        // steady-state intervals so the guardrails read at least once.
        let window = if crate::faults::kind_of(fault.kind).holds() {
            hold
        } else {
            hold.max(2 * self.scenario.spec.steady_state.interval().as_std())
        };
        if crate::faults::kind_of(fault.kind).holds() || !marked.is_empty() || !window.is_zero() {
            FaultState::Active {
                marked,
                until: start.elapsed() + window,
            }
        } else {
            FaultState::Done
        }
    }

    /// Reverts one fault's marked objects (those still carrying this run's
    /// marks). Returns false when any revert failed after its retries.
    async fn revert_fault(&mut self, plan: &FaultPlan, marked: Vec<ObjRef>) -> bool {
        self.revert_faults(&[plan], vec![marked]).await
    }

    /// Reverts the marked objects of several faults at once (bounded by
    /// `--concurrency` overall), then journals one entry per fault.
    async fn revert_faults(&mut self, plans: &[&FaultPlan], marked: Vec<Vec<ObjRef>>) -> bool {
        let kube = Kube {
            retry: self.kube.retry.for_revert(),
            ..self.kube.clone()
        };
        let run_id = self.run_id.0.clone();
        let jobs: Vec<_> = marked
            .into_iter()
            .enumerate()
            .flat_map(|(f, objs)| objs.into_iter().map(move |o| (f, o)))
            .map(|(f, o)| revert_one(&kube, &run_id, o, f))
            .collect();
        let results = bounded(jobs, self.options.concurrency).await;
        let mut all_ok = true;
        for (f, plan) in plans.iter().enumerate() {
            let mine: Vec<&(usize, ObjRef, Result<&'static str, faults::FaultError>)> =
                results.iter().filter(|r| r.0 == f).collect();
            let failed: Vec<Value> = mine
                .iter()
                .filter_map(|(_, o, r)| {
                    r.as_ref()
                        .err()
                        .map(|e| json!({"target": o.to_string(), "error": e.to_string()}))
                })
                .collect();
            let ok = failed.is_empty();
            all_ok &= ok;
            self.record(
                "fault",
                if ok {
                    "fault.reverted"
                } else {
                    "fault.revert-failed"
                },
                json!({
                    "fault": plan.fault,
                    "type": plan.fault_type,
                    "reverted": mine.iter().filter(|(_, _, r)| r.is_ok()).count(),
                    "failed": failed,
                }),
            );
        }
        all_ok
    }

    /// Reverts every fault still active, then confirms by label that nothing
    /// of this run remains, sweeping leftovers (half-finished injections).
    /// Also returns when the last revert began (its undo write): recovery
    /// is measured from there, not from the confirmation, because a revert
    /// confirms only once the effect has ended (see `faults::restored`).
    async fn revert_and_confirm(
        &mut self,
        plans: &[FaultPlan],
        states: Vec<FaultState>,
    ) -> (bool, Option<Instant>) {
        self.record("engine", "phase", json!({"phase": "revert"}));
        let mut active = Vec::new();
        let mut marked = Vec::new();
        let mut reverted_at = None;
        for (plan, st) in plans.iter().zip(states) {
            match st {
                FaultState::Active { marked: m, .. } => {
                    active.push(plan);
                    marked.push(m);
                }
                FaultState::Reverted { at } => reverted_at = reverted_at.max(Some(at)),
                FaultState::Pending | FaultState::Done => {}
            }
        }
        if !active.is_empty() {
            reverted_at = Some(Instant::now());
        }
        // A failure here is retried by the sweep below; the sweep's label
        // search is what decides whether anything remains.
        self.revert_faults(&active, marked).await;
        let filter = self.confirm_filter();
        let kube = self.kube.clone();
        // Responder actions are left for `revert_actions`, after recovery.
        let faults_only = |m: &crate::k8s::marks::Marked| !m.is_action();
        match recover::sweep_where(&kube, &filter, self.options.concurrency, faults_only).await {
            Ok((reports, left)) => {
                self.record(
                    "engine",
                    "revert.confirmed",
                    json!({
                        "clean": left.is_empty(),
                        "sweptLeftovers": reports,
                        "remaining": left.iter().map(|m| m.obj.to_string()).collect::<Vec<_>>(),
                    }),
                );
                (left.is_empty(), reverted_at)
            }
            Err(e) => {
                self.record(
                    "engine",
                    "revert.unconfirmed",
                    json!({"error": e.to_string()}),
                );
                (false, reverted_at)
            }
        }
    }
}

/// Whether a pending fault is due: at its offset, or once triggered.
fn is_due(plan: &FaultPlan, now: Duration, fired: &Fired) -> bool {
    match fired {
        None => plan.at.as_std() <= now,
        Some(f) => f.contains_key(&plan.fault),
    }
}

/// The next trigger; never resolves for a run without triggers, and
/// resolves to None once they are closed.
async fn next_trigger(triggers: Option<&mut Triggers>) -> Option<Trigger> {
    match triggers {
        Some(t) => t.recv().await,
        None => std::future::pending().await,
    }
}

/// Runs futures with at most `limit` in flight, returning their outputs.
async fn bounded<F: std::future::Future>(futs: Vec<F>, limit: usize) -> Vec<F::Output> {
    let mut pending = futs.into_iter();
    let mut in_flight = futures::stream::FuturesUnordered::new();
    let mut out = Vec::new();
    loop {
        while in_flight.len() < limit.max(1) {
            let Some(f) = pending.next() else { break };
            in_flight.push(f);
        }
        match in_flight.next().await {
            Some(o) => out.push(o),
            None => break,
        }
    }
    out
}

/// The live re-check of one fault (S3 at injection time).
async fn live_check(
    kube: &Kube,
    scenario: &Scenario,
    config: &Config,
    plan: &FaultPlan,
    fault: Fault,
    idx: usize,
    concurrency: usize,
) -> (
    usize,
    Fault,
    Result<(Vec<Candidate>, BlastReport), faults::FaultError>,
) {
    let cx = FaultCx {
        kube,
        scenario,
        config,
        fault: &fault,
        concurrency,
    };
    let res = match kind_of(fault.kind).plan(&cx).await {
        Ok(live) => recheck(plan, &fault, &live, scenario),
        Err(e) => Err(e),
    };
    (idx, fault, res)
}

#[allow(clippy::too_many_arguments)]
async fn execute(
    kube: &Kube,
    scenario: &Scenario,
    config: &Config,
    fault: &Fault,
    stamp: &Stamp,
    targets: &[Candidate],
    concurrency: usize,
    stop: &std::sync::atomic::AtomicBool,
    idx: usize,
) -> (usize, Vec<TargetResult>) {
    let cx = FaultCx::new(kube, scenario, config, fault, concurrency);
    (
        idx,
        kind_of(fault.kind)
            .inject(
                &cx,
                faults::Batch {
                    stamp,
                    targets,
                    stop,
                },
            )
            .await,
    )
}

/// Reverts one object if it still carries this run's marks.
async fn revert_one(
    kube: &Kube,
    run_id: &str,
    obj: ObjRef,
    fault_idx: usize,
) -> (usize, ObjRef, Result<&'static str, faults::FaultError>) {
    let r = match faults::common::get_marked(kube, &obj).await {
        Ok(Some((m, _))) if m.run_id == run_id => {
            faults::revert_marked(kube, &m).await.map(|r| match r {
                faults::Reverted::Restored => "restored",
                faults::Reverted::Gone => "gone",
            })
        }
        Ok(_) => Ok("clean"),
        Err(e) => Err(e),
    };
    (fault_idx, obj, r)
}

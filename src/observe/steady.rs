//! The steady-state phases the engine drives: before, during, after.
//!
//! [`SteadyState`] owns the pacing, so that "at most one query per probe per
//! interval" holds by construction whatever loop the engine runs: a tick
//! asked for too early waits for its slot instead of querying again. It also
//! owns T_impact, because only it sees every reading in order.
//!
//! Definitions (also in DESIGN.md, Scoring):
//! - T_impact: the first reading, while faults are active or during recovery,
//!   whose value misses the probe's `expect` (its SLO) or breaches its `during`
//!   guardrail. An unknown reading is not impact: nothing was seen.
//! - T_mitigate: the moment a recovery tick saw every `expect` hold again.

use std::fmt;
use std::time::Duration;

use futures::future::join_all;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::probe::{Observer, Outcome, Phase, Reading};
use crate::scenario::{OnUnknown, Probe};

/// Whether every reading holds its expectation (unknown does not hold).
pub fn all_hold(readings: &[Reading]) -> bool {
    readings.iter().all(|r| r.outcome.holds())
}

/// A guardrail that tripped during one tick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardBreach {
    pub probe: String,
    /// True when the probe could not be read (S4) rather than read out of bounds.
    pub unknown: bool,
    pub reason: String,
}

impl fmt::Display for GuardBreach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.probe, self.reason)
    }
}

/// The result of one guardrail tick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardVerdict {
    /// One reading per probe (guardrail or not), in scenario order.
    pub readings: Vec<Reading>,
    /// Guardrails that tripped; empty means carry on.
    pub breaches: Vec<GuardBreach>,
}

impl GuardVerdict {
    /// Abort the run and revert everything.
    pub fn should_abort(&self) -> bool {
        !self.breaches.is_empty()
    }
}

/// How the system came back after the last revert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recovery {
    /// When every `expect` held again; absent if it did not within the deadline.
    pub t_mitigate: Option<Timestamp>,
    /// Every reading of the recovery phase, in order.
    pub readings: Vec<Reading>,
    pub recover_within_ms: u64,
    /// The readings of the last tick that did not hold: what was still wrong
    /// when time ran out. Empty when recovered.
    pub still_failing: Vec<Reading>,
}

impl Recovery {
    pub fn recovered(&self) -> bool {
        self.t_mitigate.is_some()
    }
}

impl fmt::Display for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let within = Duration::from_millis(self.recover_within_ms);
        match self.t_mitigate {
            Some(t) => write!(f, "recovered at {t}"),
            None => {
                write!(
                    f,
                    "not recovered within {}: T_mitigate missing",
                    crate::scenario::Duration(within)
                )?;
                if self.readings.is_empty() {
                    // recoverWithin shorter than what was left of the interval.
                    return f.write_str(
                        "; no probe slot fell within the deadline (recoverWithin is shorter than the interval)",
                    );
                }
                let failing: Vec<String> =
                    self.still_failing.iter().map(ToString::to_string).collect();
                if !failing.is_empty() {
                    write!(f, "; still failing: {}", failing.join("; "))?;
                }
                Ok(())
            }
        }
    }
}

/// The steady-state probes of one run.
#[derive(Debug, Clone)]
pub struct SteadyState {
    observer: Observer,
    probes: Vec<Probe>,
    interval: Duration,
    last_tick: Option<Instant>,
    t_impact: Option<Timestamp>,
}

impl SteadyState {
    pub fn new(observer: Observer, probes: Vec<Probe>, interval: Duration) -> Self {
        SteadyState {
            observer,
            probes,
            interval,
            last_tick: None,
            t_impact: None,
        }
    }

    /// From a scenario's `steadyState` block, with its interval.
    pub fn from_spec(observer: Observer, spec: &crate::scenario::SteadyState) -> Self {
        Self::new(observer, spec.probes.clone(), spec.interval().as_std())
    }

    pub fn probes(&self) -> &[Probe] {
        &self.probes
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The first impact seen so far (see the module docs).
    pub fn t_impact(&self) -> Option<Timestamp> {
        self.t_impact
    }

    /// Waits until this tick's slot: at most one query per probe per interval.
    async fn pace(&mut self) {
        if let Some(last) = self.last_tick {
            tokio::time::sleep_until(last + self.interval).await;
        }
        self.last_tick = Some(Instant::now());
    }

    /// When the next tick may query, for engines that `select!` on it.
    pub fn next_tick_at(&self) -> Instant {
        self.last_tick
            .map_or_else(Instant::now, |last| last + self.interval)
    }

    /// Reads every probe concurrently, so a tick takes as long as the slowest
    /// probe rather than the sum.
    async fn read_all(&mut self, phase: Phase) -> Vec<Reading> {
        self.pace().await;
        let observer = &self.observer;
        join_all(self.probes.iter().map(|p| observer.read(p, phase))).await
    }

    fn note_impact(&mut self, readings: &[Reading], guarded: impl Fn(&Reading) -> bool) {
        for r in readings {
            let impact =
                r.within_slo == Some(false) || (guarded(r) && r.outcome == Outcome::Breach);
            if impact && self.t_impact.is_none_or(|t| r.at < t) {
                self.t_impact = Some(r.at);
            }
        }
    }

    /// Before injection: every probe's `expect` must hold. The engine ends the
    /// run as not-run when [`all_hold`] is false.
    pub async fn check_before(&mut self) -> Vec<Reading> {
        self.read_all(Phase::Before).await
    }

    /// One guardrail tick while faults are active. Every probe is read once
    /// (for T_impact and the live view); probes with `during` are guardrails:
    /// a breach aborts, and so does an unreadable probe unless it says
    /// `onUnknown: ignore` (S4).
    pub async fn guard_tick(&mut self) -> GuardVerdict {
        let readings = self.read_all(Phase::During).await;
        let mut breaches = Vec::new();
        for (probe, r) in self.probes.iter().zip(&readings) {
            if probe.during.is_none() {
                continue;
            }
            match &r.outcome {
                Outcome::Holds => {}
                Outcome::Breach => breaches.push(GuardBreach {
                    probe: probe.name.clone(),
                    unknown: false,
                    reason: r.to_string(),
                }),
                Outcome::Unknown(why) => {
                    if probe.on_unknown() == OnUnknown::Abort {
                        breaches.push(GuardBreach {
                            probe: probe.name.clone(),
                            unknown: true,
                            reason: format!("cannot be read, counted as a breach (S4): {why}"),
                        });
                    }
                }
            }
        }
        let guarded: Vec<String> = self
            .probes
            .iter()
            .filter(|p| p.during.is_some())
            .map(|p| p.name.clone())
            .collect();
        self.note_impact(&readings, |r| guarded.contains(&r.probe));
        GuardVerdict { readings, breaches }
    }

    /// After the last revert: reads every probe each interval until all
    /// `expect` hold (T_mitigate) or `recover_within` has passed.
    pub async fn await_recovery(&mut self, recover_within: Duration) -> Recovery {
        self.await_recovery_with(recover_within, |_| {}).await
    }

    /// As [`await_recovery`](Self::await_recovery), handing each tick's readings
    /// to `on_tick` as they arrive (journal, live view).
    pub async fn await_recovery_with(
        &mut self,
        recover_within: Duration,
        mut on_tick: impl FnMut(&[Reading]),
    ) -> Recovery {
        let deadline = Instant::now() + recover_within;
        let mut all = Vec::new();
        let mut t_mitigate = None;
        let mut still_failing = Vec::new();
        loop {
            // A tick that could only start after the deadline would prove nothing.
            if self.next_tick_at() > deadline {
                break;
            }
            let readings = self.read_all(Phase::After).await;
            self.note_impact(&readings, |_| false);
            on_tick(&readings);
            let held = all_hold(&readings);
            let at = readings.iter().map(|r| r.at).max();
            still_failing = readings
                .iter()
                .filter(|r| !r.outcome.holds())
                .cloned()
                .collect();
            all.extend(readings);
            if held {
                t_mitigate = at;
                break;
            }
        }
        Recovery {
            t_mitigate,
            readings: all,
            recover_within_ms: u64::try_from(recover_within.as_millis()).unwrap_or(u64::MAX),
            still_failing,
        }
    }
}

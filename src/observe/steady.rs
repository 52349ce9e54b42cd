//! The steady-state phases the engine drives: before, during, after.
//!
//! [`SteadyMonitor`] owns the pacing, so that "at most one query per probe per
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

use super::probe::{Phase, ProbeOutcome, ProbeReader, Reading};
use crate::scenario::{ExpectedAlert, OnUnknown, Probe};

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
    /// How long after the revert began the first reading could be taken:
    /// the time the revert took to show its effect had ended (a workload
    /// rolled back out and Ready). The clock runs from the revert, so a
    /// slow rollback counts against `recoverWithin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_reading_after_ms: Option<u64>,
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
                if let Some(ms) = self
                    .first_reading_after_ms
                    .filter(|ms| *ms > self.recover_within_ms)
                {
                    write!(
                        f,
                        "; the revert took {} to show the fault had ended (workloads back and Ready)",
                        crate::scenario::Duration(Duration::from_millis(ms))
                    )?;
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

/// Where the wait for the steady state before injection stands
/// (`steadyState.settle`): after a previous run the SLI may still be
/// recovering and its alert still firing, and one reading would call that
/// "not-run" or mistake the old alert for this run's.
#[derive(Debug, Clone, PartialEq)]
pub struct Settling {
    /// This tick's readings. Once the wait is over they are the `before`
    /// readings the gate decides on (phase `before`); while waiting, phase
    /// `settle`.
    pub readings: Vec<Reading>,
    /// Expected alerts Prometheus still reports pending or firing.
    pub alerts_active: Vec<String>,
    /// Why the expected alerts could not be read (then it is not settled:
    /// an old alert might still be firing).
    pub alerts_error: Option<String>,
    /// Ticks so far, this one included.
    pub ticks: u32,
    /// Time since the wait began.
    pub waited: Duration,
}

impl Settling {
    pub fn settled(&self) -> bool {
        all_hold(&self.readings) && self.alerts_active.is_empty() && self.alerts_error.is_none()
    }

    /// What is still not settled, with the last value read: `checkout-success
    /// read 0.9712, expected >= 0.99; alert CheckoutHighErrorRate firing`.
    pub fn waiting_for(&self) -> String {
        let mut parts: Vec<String> = self
            .readings
            .iter()
            .filter(|r| !r.outcome.holds())
            .map(|r| match (&r.outcome, r.value) {
                (ProbeOutcome::Unknown(why), _) => format!("{} could not be read: {why}", r.probe),
                (_, Some(v)) => format!(
                    "{} read {v:.4}, expected {}{}",
                    r.probe,
                    r.expectation
                        .as_ref()
                        .map_or_else(|| "its expect".to_string(), ToString::to_string),
                    r.detail
                        .as_ref()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()
                ),
                (_, None) => format!("{} read nothing", r.probe),
            })
            .collect();
        parts.extend(self.alerts_active.iter().map(|a| format!("alert {a}")));
        if let Some(e) = &self.alerts_error {
            parts.push(format!("cannot read the expected alerts: {e}"));
        }
        parts.join("; ")
    }

    /// The names of what is not settled yet: a change here is worth a line.
    pub fn waiting_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .readings
            .iter()
            .filter(|r| !r.outcome.holds())
            .map(|r| r.probe.clone())
            .collect();
        names.extend(self.alerts_active.iter().cloned());
        names.extend(self.alerts_error.iter().map(|_| "alerts".to_string()));
        names
    }

    /// The journal's view of one tick: per probe what it read and whether it
    /// is settled, never "breach" (nothing is injected yet).
    pub fn journal_data(&self) -> serde_json::Value {
        let probes: Vec<serde_json::Value> = self
            .readings
            .iter()
            .map(|r| {
                serde_json::json!({
                    "probe": r.probe,
                    "value": r.value,
                    "expectation": r.expectation.as_ref().map(ToString::to_string),
                    "settled": r.outcome.holds(),
                    "unknown": match &r.outcome {
                        ProbeOutcome::Unknown(why) => Some(why.clone()),
                        _ => None,
                    },
                    "at": r.at,
                })
            })
            .collect();
        serde_json::json!({
            "tick": self.ticks,
            "waitedSeconds": self.waited.as_secs_f64(),
            "settled": self.settled(),
            "probes": probes,
            "alertsActive": self.alerts_active,
            "alertsError": self.alerts_error,
            "waitingFor": if self.settled() { None } else { Some(self.waiting_for()) },
        })
    }
}

/// The steady-state probes of one run.
#[derive(Debug, Clone)]
pub struct SteadyMonitor {
    observer: ProbeReader,
    probes: Vec<Probe>,
    interval: Duration,
    last_tick: Option<Instant>,
    t_impact: Option<Timestamp>,
}

impl SteadyMonitor {
    pub fn new(observer: ProbeReader, probes: Vec<Probe>, interval: Duration) -> Self {
        SteadyMonitor {
            observer,
            probes,
            interval,
            last_tick: None,
            t_impact: None,
        }
    }

    /// From a scenario's `steadyState` block, with its interval.
    pub fn from_spec(observer: ProbeReader, spec: &crate::scenario::SteadyState) -> Self {
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
                r.within_slo == Some(false) || (guarded(r) && r.outcome == ProbeOutcome::Breach);
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

    /// Before injection, waits up to `limit` for every `expect` to hold and
    /// none of `expected` to be pending or firing, reading once per
    /// interval. `on_wait` sees each tick that did not settle while there is
    /// still time. The returned tick (settled or the last one) has its
    /// readings in phase `before`; `limit` zero is a single reading.
    pub async fn settle(
        &mut self,
        limit: Duration,
        expected: &[ExpectedAlert],
        mut on_wait: impl FnMut(&Settling),
    ) -> Settling {
        let start = Instant::now();
        let deadline = start + limit;
        let mut ticks = 0;
        loop {
            let readings = self.read_all(Phase::Settle).await;
            let (alerts_active, alerts_error) = self.active_alerts(expected).await;
            ticks += 1;
            let mut tick = Settling {
                readings,
                alerts_active,
                alerts_error,
                ticks,
                waited: start.elapsed(),
            };
            if tick.settled() || self.next_tick_at() > deadline {
                for r in &mut tick.readings {
                    r.phase = Phase::Before;
                }
                return tick;
            }
            on_wait(&tick);
        }
    }

    /// The expected alerts still active, when there is a Prometheus to ask.
    async fn active_alerts(&self, expected: &[ExpectedAlert]) -> (Vec<String>, Option<String>) {
        let Some(conn) = self.observer.prometheus().filter(|_| !expected.is_empty()) else {
            return (Vec::new(), None);
        };
        match super::alerts::active_expected(conn, expected).await {
            Ok(active) => (active, None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        }
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
                ProbeOutcome::Holds => {}
                ProbeOutcome::Breach => breaches.push(GuardBreach {
                    probe: probe.name.clone(),
                    unknown: false,
                    reason: r.to_string(),
                }),
                ProbeOutcome::Unknown(why) => {
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
    /// `expect` hold (T_mitigate) or `recover_within` has passed since
    /// `since`, the moment the revert began.
    ///
    /// The clock starts when the undo is written, not when the revert is
    /// confirmed: confirming waits until the effect has ended (a workload
    /// rolled back out and Ready), and that wait is part of the recovery
    /// being measured. A revert that took longer than `recover_within` to
    /// confirm still gets one reading, for what was still wrong, but it
    /// cannot count as recovered in time.
    ///
    /// The first reading is taken at once, not one interval after the last
    /// guardrail tick: the revert is the event being measured, and waiting
    /// for the guardrail's cadence made a run's length (and its T_mitigate)
    /// depend on where that last tick happened to land, by up to a whole
    /// interval. Pacing resumes from this reading, so the load stays one
    /// query per probe per interval plus this one.
    pub async fn await_recovery(&mut self, recover_within: Duration, since: Instant) -> Recovery {
        self.await_recovery_with(recover_within, since, |_| {})
            .await
    }

    /// As [`await_recovery`](Self::await_recovery), handing each tick's readings
    /// to `on_tick` as they arrive (journal, live view).
    pub async fn await_recovery_with(
        &mut self,
        recover_within: Duration,
        since: Instant,
        mut on_tick: impl FnMut(&[Reading]),
    ) -> Recovery {
        let deadline = since + recover_within;
        let first_after = Instant::now().saturating_duration_since(since);
        self.last_tick = None;
        let mut all = Vec::new();
        let mut t_mitigate = None;
        let mut still_failing = Vec::new();
        loop {
            // A tick that could only start after the deadline would prove
            // nothing; the first is taken regardless, to say what was wrong.
            if !all.is_empty() && self.next_tick_at() > deadline {
                break;
            }
            let readings = self.read_all(Phase::After).await;
            let in_time = Instant::now() <= deadline;
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
            if held && in_time {
                t_mitigate = at;
                break;
            }
            if !in_time {
                break;
            }
        }
        Recovery {
            t_mitigate,
            readings: all,
            recover_within_ms: u64::try_from(recover_within.as_millis()).unwrap_or(u64::MAX),
            still_failing,
            first_reading_after_ms: Some(
                u64::try_from(first_after.as_millis()).unwrap_or(u64::MAX),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Expectation;

    fn reading(probe: &str, value: Option<f64>, outcome: ProbeOutcome) -> Reading {
        Reading {
            probe: probe.into(),
            phase: Phase::Settle,
            value,
            at: Timestamp::from_second(1_700_000_000).unwrap(),
            outcome,
            expectation: Some(">= 0.99".parse::<Expectation>().unwrap()),
            within_slo: None,
            detail: None,
            attempts: 1,
            elapsed_ms: 3,
        }
    }

    #[test]
    fn an_unsettled_tick_names_each_probe_and_alert_with_what_it_read() {
        let tick = Settling {
            readings: vec![
                reading("ok", Some(1.0), ProbeOutcome::Holds),
                reading("success", Some(0.9712), ProbeOutcome::Breach),
                reading("latency", None, ProbeOutcome::Unknown("timed out".into())),
            ],
            alerts_active: vec!["CheckoutHighErrorRate firing".into()],
            alerts_error: None,
            ticks: 3,
            waited: Duration::from_secs(4),
        };
        assert!(!tick.settled());
        assert_eq!(
            tick.waiting_for(),
            "success read 0.9712, expected >= 0.99; latency could not be read: timed out; \
             alert CheckoutHighErrorRate firing"
        );
        let data = tick.journal_data();
        assert_eq!(data["settled"], false);
        assert_eq!(data["probes"][1]["value"], 0.9712);
        assert!(!data.to_string().contains("breach"), "{data}");
    }

    #[test]
    fn a_firing_expected_alert_or_an_unreadable_one_keeps_it_unsettled() {
        let mut tick = Settling {
            readings: vec![reading("ok", Some(1.0), ProbeOutcome::Holds)],
            alerts_active: Vec::new(),
            alerts_error: None,
            ticks: 1,
            waited: Duration::ZERO,
        };
        assert!(tick.settled());
        tick.alerts_active = vec!["A pending".into()];
        assert!(!tick.settled());
        tick.alerts_active.clear();
        tick.alerts_error = Some("HTTP 503".into());
        assert!(!tick.settled());
    }
}

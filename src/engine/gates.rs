//! Steady state as an engine observer: the one place where the probes of
//! [`SteadyMonitor`] meet the run's gates.
//!
//! The engine knows nothing about Prometheus; it only asks each observer at
//! three gates. This adapter answers them:
//! - before the faults, every `expect` must hold, else the run is not-run
//!   (exit 1) and nothing is injected;
//! - every interval while faults are active, a guardrail breach, or an
//!   unreadable guardrail without `onUnknown: ignore` (S4), aborts (exit 3);
//! - after the revert, every `expect` must hold again within
//!   `recoverWithin`, else the hypothesis failed (exit 1, T_mitigate missing).
//!
//! Every reading is journalled (`probe.reading`), as are T_impact
//! (`steady.impact`) and the recovery (`steady.recovery`), so a report can be
//! rebuilt from the journal alone (S7).

use std::collections::HashMap;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use super::journal::Journal;
use super::observer::{Gate, ObserveCx, Observer};
use super::outcome::Outcome;
use crate::observe::probe::{Phase, ProbeOutcome, Reading};
use crate::observe::steady::SteadyMonitor;

/// Where each tick's readings are shown.
pub enum ProbeDisplay {
    /// Log lines on stderr (CI, pipes): one per probe whenever its state
    /// (phase, holds/breach/unknown) changes. A reading that says what the
    /// last one said is journalled but not printed: a normal recovery would
    /// otherwise print a BREACH line per probe per tick.
    Plain {
        /// probe -> its last printed (phase, state)
        last: HashMap<String, (Phase, &'static str)>,
    },
    /// One line per probe inside the run's progress view, updated in place.
    Tty {
        multi: MultiProgress,
        bars: Vec<ProgressBar>,
    },
}

/// The state name of a reading, as in the journal's `outcome.state`.
fn state(r: &Reading) -> &'static str {
    match r.outcome {
        ProbeOutcome::Holds => "holds",
        ProbeOutcome::Breach => "breach",
        ProbeOutcome::Unknown(_) => "unknown",
    }
}

/// One printed state change: a line for people, fields for `--log-format json`.
fn log_change(r: &Reading) {
    let fields = json!({
        "probe": r.probe,
        "phase": r.phase,
        "state": state(r),
        "value": r.value,
        "expectation": r.expectation.map(|e| e.to_string()),
        "reason": match &r.outcome {
            ProbeOutcome::Unknown(why) => Some(why.as_str()),
            _ => r.detail.as_deref(),
        },
    });
    let ts = r.at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ");
    let line = crate::term::unsaid(&format!("{ts} probe {} {r}", r.phase));
    crate::term::event("probe", fields, line);
    if let ProbeOutcome::Unknown(why) = &r.outcome {
        crate::term::said(why);
    }
}

impl ProbeDisplay {
    /// `multi` is the run's progress view (see `Progress::multi`); without
    /// one the readings are logged as lines.
    pub fn new(multi: Option<MultiProgress>) -> Self {
        match multi {
            Some(multi) => ProbeDisplay::Tty {
                multi,
                bars: Vec::new(),
            },
            None => ProbeDisplay::Plain {
                last: HashMap::new(),
            },
        }
    }

    fn show(&mut self, readings: &[Reading]) {
        match self {
            ProbeDisplay::Plain { last } => {
                for r in readings {
                    let now = (r.phase, state(r));
                    if last.get(&r.probe) != Some(&now) {
                        last.insert(r.probe.clone(), now);
                        log_change(r);
                    }
                }
            }
            ProbeDisplay::Tty { multi, bars } => {
                while bars.len() < readings.len() {
                    let bar = multi.add(ProgressBar::new_spinner());
                    bar.set_style(
                        ProgressStyle::with_template("  {msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    bars.push(bar);
                }
                for (bar, r) in bars.iter().zip(readings) {
                    bar.set_message(format!("[{}] {r}", r.phase));
                }
            }
        }
    }

    /// One line that is not a reading (settling before injection).
    fn note(&mut self, line: &str) {
        match self {
            ProbeDisplay::Plain { .. } => {
                let ts = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.3fZ");
                crate::term::event(
                    "steady.settling",
                    json!({ "waitingFor": line }),
                    format!("{ts} {line}"),
                );
            }
            ProbeDisplay::Tty { multi, .. } => {
                let _ = multi.println(format!("  {line}"));
            }
        }
    }

    fn close(&mut self) {
        if let ProbeDisplay::Tty { bars, .. } = self {
            for b in bars.drain(..) {
                b.finish_and_clear();
            }
        }
    }
}

/// The steady-state observer of one run.
pub struct SteadyGates {
    steady: SteadyMonitor,
    recover_within: Duration,
    display: ProbeDisplay,
    impact_journalled: bool,
    effect: super::no_effect::EffectWatch,
}

impl SteadyGates {
    pub fn new(steady: SteadyMonitor, recover_within: Duration, display: ProbeDisplay) -> Self {
        SteadyGates {
            steady,
            recover_within,
            display,
            impact_journalled: false,
            effect: Default::default(),
        }
    }

    /// From a scenario's `steadyState` block.
    pub fn from_spec(
        reader: crate::observe::probe::ProbeReader,
        spec: &crate::scenario::SteadyState,
        display: ProbeDisplay,
    ) -> Self {
        Self::new(
            SteadyMonitor::from_spec(reader, spec),
            spec.recover_within().as_std(),
            display,
        )
    }

    /// Journals and shows one tick. A journal that cannot be written is only
    /// logged here: the engine's own next append fails and stops the run (S1).
    fn record(&mut self, journal: &Journal, readings: &[Reading]) {
        journal_readings(journal, readings);
        self.display.show(readings);
        self.journal_impact(journal);
    }

    fn journal_impact(&mut self, journal: &Journal) {
        if self.impact_journalled {
            return;
        }
        if let Some(t) = self.steady.t_impact() {
            self.impact_journalled = true;
            append(journal, "steady.impact", json!({"tImpact": t.to_string()}));
        }
    }
}

fn append(journal: &Journal, event: &str, data: Value) {
    if let Err(e) = journal.append("probe", event, data) {
        tracing::warn!("{e}");
    }
}

fn journal_readings(journal: &Journal, readings: &[Reading]) {
    for r in readings {
        let data = serde_json::to_value(r)
            .unwrap_or_else(|e| json!({"probe": r.probe, "encodeError": e.to_string()}));
        append(journal, "probe.reading", data);
    }
}

impl Observer for SteadyGates {
    /// Waits up to `steadyState.settle` for the steady state (see
    /// [`SteadyMonitor::settle`]); each unsettled tick is journalled as
    /// `steady.settling`, the deciding one as the `before` readings.
    fn before_faults<'a>(&'a mut self, cx: &'a ObserveCx<'a>) -> BoxFuture<'a, Gate> {
        async move {
            let limit = cx.scenario.spec.steady_state.settle();
            let expected = cx.scenario.spec.expected_alerts();
            let (journal, display) = (cx.journal, &mut self.display);
            let mut shown = Vec::new();
            let tick = self
                .steady
                .settle(limit.as_std(), expected, |t| {
                    append(journal, "steady.settling", t.journal_data());
                    if t.waiting_names() != shown {
                        shown = t.waiting_names();
                        display.note(&format!("settling (up to {limit}): {}", t.waiting_for()));
                    }
                })
                .await;
            self.record(cx.journal, &tick.readings);
            self.effect.baseline(cx.scenario, &tick.readings);
            let event = if tick.settled() {
                "steady.settled"
            } else {
                "steady.unsettled"
            };
            append(journal, event, tick.journal_data());
            if tick.settled() {
                Gate::Proceed
            } else if tick.ticks == 1 {
                Gate::NotRun(format!(
                    "steady state does not hold before injection: {}",
                    tick.waiting_for()
                ))
            } else {
                Gate::NotRun(format!(
                    "steady state did not settle within {limit}: {}",
                    tick.waiting_for()
                ))
            }
        }
        .boxed()
    }

    fn during<'a>(&'a mut self, cx: &'a ObserveCx<'a>) -> BoxFuture<'a, Gate> {
        async move {
            let verdict = self.steady.guard_tick().await;
            self.record(cx.journal, &verdict.readings);
            self.effect.observe(&verdict.readings);
            if verdict.should_abort() {
                let why: Vec<String> = verdict.breaches.iter().map(ToString::to_string).collect();
                // The engine words it ("guardrail breached: ..."); this is the why.
                Gate::Abort(why.join("; "))
            } else {
                Gate::Proceed
            }
        }
        .boxed()
    }

    fn after_revert<'a>(&'a mut self, cx: &'a ObserveCx<'a>) -> BoxFuture<'a, Gate> {
        async move {
            let journal = cx.journal;
            if let Some(warning) = self.effect.warning(cx.scenario)
                && let Err(e) = journal.append("fault", "fault.no-visible-effect", warning)
            {
                tracing::warn!("{e}");
            }
            let since = cx
                .reverted_at
                .map_or_else(tokio::time::Instant::now, tokio::time::Instant::from_std);
            let display = &mut self.display;
            let recovery = self
                .steady
                .await_recovery_with(self.recover_within, since, |readings| {
                    journal_readings(journal, readings);
                    display.show(readings);
                })
                .await;
            self.journal_impact(journal);
            let message = recovery.to_string();
            append(
                journal,
                "steady.recovery",
                json!({
                    "recovered": recovery.recovered(),
                    "tImpact": self.steady.t_impact().map(|t| t.to_string()),
                    "tMitigate": recovery.t_mitigate.map(|t| t.to_string()),
                    "recoverWithinMs": recovery.recover_within_ms,
                    "firstReadingAfterMs": recovery.first_reading_after_ms,
                    "message": message,
                }),
            );
            if recovery.recovered() {
                Gate::Proceed
            } else {
                Gate::Fail(format!("hypothesis failed: {message}"))
            }
        }
        .boxed()
    }

    fn finish(&mut self, _outcome: &Outcome, _cx: &ObserveCx<'_>) {
        self.display.close();
    }
}

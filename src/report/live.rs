//! The run's live picture, shared by the responder API, the detection poller,
//! autopilot and the report at the end. One mutex, never held across an
//! await: every writer records to the journal first and then updates this,
//! so what the API shows is always something the journal can back up (S7).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};

use super::model::{FaultRecord, Phase as ReportPhase, ProbePoint, ProbeSeries};
use crate::config::Config;
use crate::engine::{Entry, Journal};
use crate::incident::{Incident, JOURNAL_EVENT, ResponderEvent, describe};
use crate::observe::alerts::{AlertTimes, TrackedNoise};
use crate::scenario::Scenario;
use crate::score::{AlertObservation, NoiseAlert, Observed, Targets};

/// One line of the live timeline (`GET /v1/state`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineItem {
    pub at: Timestamp,
    pub source: String,
    pub event: String,
    pub text: String,
}

pub struct Live {
    pub scenario: Arc<Scenario>,
    pub config: Arc<Config>,
    pub run_id: String,
    pub context: String,
    pub started: Timestamp,
    pub phase: String,
    /// When the fault phase began (after the steady state settled): alerts
    /// that started before it belong to an earlier problem.
    pub fault_phase_at: Option<Timestamp>,
    pub t_inject: Option<Timestamp>,
    /// T_inject on the monotonic clock, for autopilot offsets.
    pub inject_instant: Option<Instant>,
    pub t_impact: Option<Timestamp>,
    pub t_mitigate: Option<Timestamp>,
    pub incident: Incident,
    /// One per `detection.alerts` item, in scenario order.
    pub alerts: Vec<AlertObservation>,
    pub noise: Vec<NoiseAlert>,
    pub timeline: Vec<TimelineItem>,
    pub faults: Vec<FaultRecord>,
    pub probes: BTreeMap<String, ProbeSeries>,
    /// Autopilot entries not yet acted on.
    pub autopilot_left: usize,
    pub ended: Option<Timestamp>,
    /// A tabletop drill's clock: responder events and notifications are
    /// stamped in drill time (`crate::drill::clock`). None in a game day.
    pub clock: Option<crate::drill::DrillClock>,
    /// The run's pages as the paging tools report them (`paging.*` entries).
    pub paging: Vec<crate::score::PageObservation>,
}

pub type Shared = Arc<Mutex<Live>>;

/// The journal event that starts a drill's clock; its `at` is drill time 0.
pub const DRILL_START: &str = "drill.start";

/// A poisoned lock only means another task panicked mid-update; the data is
/// still the best record there is, so keep going with it.
pub fn lock(shared: &Shared) -> MutexGuard<'_, Live> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

impl Live {
    pub fn new(
        scenario: Arc<Scenario>,
        config: Arc<Config>,
        run_id: String,
        context: String,
        started: Timestamp,
    ) -> Live {
        let spec = &scenario.spec;
        let alerts = spec
            .detection
            .as_ref()
            .map(|d| {
                d.alerts
                    .iter()
                    .map(|a| AlertObservation::expected(&a.name, a.labels.clone(), a.within))
                    .collect()
            })
            .unwrap_or_default();
        let incident = Incident::new(spec.response.as_ref(), started);
        let autopilot_left = spec.response.as_ref().map_or(0, |r| r.autopilot.len());
        let probes = spec
            .steady_state
            .probes
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    ProbeSeries {
                        name: p.name.clone(),
                        expect: p.expect.to_string(),
                        during: p.during.as_ref().map(ToString::to_string),
                        points: Vec::new(),
                    },
                )
            })
            .collect();
        Live {
            scenario,
            config,
            run_id,
            context,
            started,
            phase: "preflight".into(),
            fault_phase_at: None,
            t_inject: None,
            inject_instant: None,
            t_impact: None,
            t_mitigate: None,
            incident,
            alerts,
            noise: Vec::new(),
            timeline: Vec::new(),
            faults: Vec::new(),
            probes,
            autopilot_left,
            ended: None,
            clock: None,
            paging: Vec::new(),
        }
    }

    /// The time to stamp an event with: wall time in a game day, the drill
    /// timestamp in a drill.
    pub fn now(&self) -> Timestamp {
        self.clock.as_ref().map_or_else(Timestamp::now, |c| c.now())
    }

    pub fn shared(self) -> Shared {
        Arc::new(Mutex::new(self))
    }

    pub fn push(&mut self, at: Timestamp, source: &str, event: &str, text: String) {
        self.timeline.push(TimelineItem {
            at,
            source: source.into(),
            event: event.into(),
            text,
        });
    }

    /// The targets as of now: the declared severity may still change them.
    pub fn targets(&self) -> Targets {
        Targets::resolve(
            &self.config,
            &self.scenario,
            self.incident.declared().map(|(_, s)| s),
        )
    }

    pub fn observed(&self, t_end: Timestamp) -> Observed {
        Observed {
            t_inject: self.t_inject,
            t_impact: self.t_impact,
            t_mitigate: self.t_mitigate,
            t_end,
            alerts: self.alerts.clone(),
            noise: self.noise.clone(),
            unreadable: super::model::unreadable_probes(self.probes.values(), self.t_inject),
            paging: self.paging.clone(),
        }
    }

    /// Takes the detection tracker's view; T_notify (ours) is kept.
    pub fn apply_detection<'a>(
        &mut self,
        times: impl Iterator<Item = &'a AlertTimes>,
        noise: impl Iterator<Item = &'a TrackedNoise>,
    ) {
        for (obs, t) in self.alerts.iter_mut().zip(times) {
            obs.t_active = t.t_active;
            obs.t_fire = t.t_fire;
            obs.t_resolve = t.t_resolve;
            obs.rule_for_seconds = t.rule_for_seconds;
            obs.runbook_url = t.runbook_url.clone();
            obs.rule_found = t.rule_found;
        }
        self.noise = noise
            .map(|n| NoiseAlert {
                name: n.labels.get("alertname").cloned().unwrap_or_default(),
                labels: n.labels.clone(),
                t_fire: n.t_fire,
            })
            .collect();
    }

    /// Journals a responder event, then applies it. Nothing is applied when
    /// the journal cannot be written: what is not on disk did not happen.
    pub fn record_event(
        &mut self,
        journal: &Journal,
        event: ResponderEvent,
    ) -> Result<(), crate::engine::journal::JournalError> {
        journal.append("responder", JOURNAL_EVENT, event.journal_data())?;
        let text = describe(&event);
        self.push(event.at, "responder", JOURNAL_EVENT, text);
        self.incident.record(event);
        Ok(())
    }

    /// Follows the engine's journal: phase, T_inject, fault windows, and the
    /// steady-state readings the probes observer writes.
    pub fn on_entry(&mut self, e: &Entry) {
        let d = &e.data;
        let s = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_string);
        match e.event.as_str() {
            "phase" => {
                if let Some(p) = s("phase") {
                    if p == "inject" && self.fault_phase_at.is_none() {
                        self.fault_phase_at = Some(e.ts);
                    }
                    self.push(e.ts, &e.source, "phase", format!("phase {p}"));
                    self.phase = p;
                }
            }
            "fault.intent" => {
                let targets = d
                    .get("targets")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                if let (Some(name), Some(kind)) = (
                    s("fault"),
                    d.get("type")
                        .and_then(|t| serde_json::from_value(t.clone()).ok()),
                ) {
                    self.faults.push(FaultRecord {
                        name,
                        kind,
                        targets,
                        injected_at: None,
                        reverted_at: None,
                        revert_error: None,
                    });
                }
            }
            "fault.injected" => {
                let name = s("fault").unwrap_or_default();
                let injected = d.get("injected").and_then(Value::as_u64).unwrap_or(0);
                if let Some(f) = self
                    .faults
                    .iter_mut()
                    .rev()
                    .find(|f| f.name == name && f.injected_at.is_none())
                {
                    f.injected_at = Some(e.ts);
                }
                if injected > 0 && self.t_inject.is_none() {
                    self.t_inject = Some(e.ts);
                    self.inject_instant = Some(Instant::now());
                }
                self.push(
                    e.ts,
                    &e.source,
                    "fault.injected",
                    format!("fault {name} injected into {injected} target(s)"),
                );
            }
            "fault.reverted" | "fault.revert-failed" => {
                let name = s("fault").unwrap_or_default();
                if let Some(f) = self.faults.iter_mut().rev().find(|f| f.name == name) {
                    f.reverted_at = Some(e.ts);
                    if e.event == "fault.revert-failed" {
                        f.revert_error = s("error").or_else(|| Some("revert failed".into()));
                    }
                }
                self.push(
                    e.ts,
                    &e.source,
                    &e.event,
                    format!("fault {name} {}", &e.event[6..]),
                );
            }
            // A drill's time zero (`tabletop`): its first page is T_inject.
            DRILL_START => {
                let at = s("at")
                    .and_then(|t| t.parse::<Timestamp>().ok())
                    .unwrap_or(e.ts);
                self.t_inject = Some(at);
                self.fault_phase_at = Some(at);
                self.inject_instant = Some(Instant::now());
                self.phase = "drill".into();
                self.push(at, &e.source, DRILL_START, "drill started".into());
            }
            "guardrail.breach" | "run.stopping" | "run.end" => {
                self.push(e.ts, &e.source, &e.event, compact(d));
            }
            ev if ev.starts_with(super::paging::PREFIX) => {
                if let Some((at, text)) = super::paging::apply(&mut self.paging, e) {
                    self.push(at, &e.source, &e.event, text);
                }
            }
            _ => self.on_reading(e),
        }
    }

    /// A steady-state reading (an `observe::Reading` in the entry, flat or
    /// under `reading`/`readings`) becomes a probe point; the first reading
    /// outside its SLO after injection is T_impact, and the first back
    /// inside it after that is T_mitigate, unless the probes observer
    /// journals those moments itself (`tImpact` / `tMitigate`).
    fn on_reading(&mut self, e: &Entry) {
        let d = &e.data;
        for (k, slot) in [("tImpact", 0), ("tMitigate", 1)] {
            if let Some(t) = d
                .get(k)
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<Timestamp>().ok())
            {
                if slot == 0 {
                    self.t_impact = Some(t);
                } else {
                    self.t_mitigate = Some(t);
                }
            }
        }
        let mut readings: Vec<crate::observe::Reading> = Vec::new();
        let obj = Value::Object(d.clone());
        if let Ok(r) = serde_json::from_value(obj) {
            readings.push(r);
        }
        if let Some(r) = d
            .get("reading")
            .and_then(|r| serde_json::from_value(r.clone()).ok())
        {
            readings.push(r);
        }
        if let Some(rs) = d
            .get("readings")
            .and_then(|r| serde_json::from_value::<Vec<crate::observe::Reading>>(r.clone()).ok())
        {
            readings.extend(rs);
        }
        for r in readings {
            self.on_probe_reading(&r);
        }
    }

    /// Rebuilds the probe series and T_impact / T_mitigate from the journal.
    /// The steady-state observer writes its readings straight to the journal
    /// (not through the engine), so the journal is where they are complete;
    /// its `steady.recovery` verdict, when present, has the last word.
    pub fn rebuild_steady(&mut self, entries: &[Entry]) {
        let probe: Vec<&Entry> = entries.iter().filter(|e| e.source == "probe").collect();
        if probe.is_empty() {
            return;
        }
        for s in self.probes.values_mut() {
            s.points.clear();
        }
        self.t_impact = None;
        self.t_mitigate = None;
        let mut verdict = None;
        for e in probe {
            if e.event == "steady.recovery" {
                verdict = Some(e.data.clone());
            } else {
                self.on_reading(e);
            }
        }
        if let Some(d) = verdict {
            let t = |k: &str| {
                d.get(k)
                    .and_then(Value::as_str)
                    .and_then(|t| t.parse::<Timestamp>().ok())
            };
            self.t_impact = t("tImpact").or(self.t_impact);
            self.t_mitigate = t("tMitigate");
        }
    }

    pub fn on_probe_reading(&mut self, r: &crate::observe::Reading) {
        use crate::observe::Phase;
        let phase = match r.phase {
            Phase::Before => ReportPhase::Before,
            Phase::During => ReportPhase::During,
            Phase::After => ReportPhase::Recover,
            // Settling is not part of the experiment: no chart point.
            Phase::Verify | Phase::Settle => return,
        };
        let within = r.within_slo;
        if let Some(series) = self.probes.get_mut(&r.probe) {
            series.points.push(ProbePoint {
                at: r.at,
                phase,
                value: r.value,
                ok: r.outcome.holds(),
            });
        }
        if self.t_inject.is_some_and(|t| r.at >= t) {
            if within == Some(false) && self.t_impact.is_none() {
                self.t_impact = Some(r.at);
            }
            if within == Some(true)
                && self.t_impact.is_some_and(|i| r.at > i)
                && self.t_mitigate.is_none()
            {
                self.t_mitigate = Some(r.at);
            }
        }
    }

    /// What `GET /v1/state` answers: phase, timeline and the scores so far.
    pub fn state_json(&self) -> Value {
        let now = Timestamp::now();
        let scored = crate::score::score(&self.targets(), &self.observed(now), &self.incident);
        json!({
            "runId": self.run_id,
            "scenario": self.scenario.metadata.name,
            "phase": self.phase,
            "started": self.started,
            "tInject": self.t_inject,
            "alerts": self.alerts,
            "noise": self.noise,
            "timeline": self.timeline,
            "responders": self.incident.events,
            "runbook": self.incident.runbook,
            "scorecard": scored.scorecard,
        })
    }
}

fn compact(d: &serde_json::Map<String, Value>) -> String {
    d.iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

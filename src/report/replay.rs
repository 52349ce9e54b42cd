//! Rebuilding a `RunReport` from `journal.jsonl` alone, for `gameday report`.
//! The journal is the one file written as the run happens, so it is the one a
//! crashed or SIGKILLed run leaves behind (S7): such a run has no `run.end`
//! entry and is reported `incomplete`, with whatever it got to.
//!
//! The replay feeds the entries through the same live state the running
//! responder keeps (`report::live::Live`), so a report rebuilt from the
//! journal of a finished run scores the same facts as the one written at its
//! end.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::Value;

use super::assemble::{RunFacts, assemble};
use super::live::Live;
use super::model::{RunReport, RunStatus};
use crate::config::Config;
use crate::engine::{Entry, Journal};
use crate::incident::{JOURNAL_EVENT, ResponderEvent};
use crate::observe::alerts::DetectionEvent;
use crate::scenario::Scenario;
use crate::score::{AlertObservation, NoiseAlert};

/// Journaled by the responder at the end of a run: the detection tracker's
/// full view, which the individual `alert.*` events do not carry (whether
/// the rule was found, its `for:`, its runbook URL).
pub const DETECTION_SUMMARY: &str = "detection.summary";

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Journal(#[from] crate::engine::journal::JournalError),
    #[error("{path}: no run.start entry; is this a gameday run directory?")]
    NoStart { path: PathBuf },
    #[error(
        "{path}: run.start has no scenario (journals written before gameday recorded it cannot be re-rendered)"
    )]
    NoScenario { path: PathBuf },
    #[error("{path}: the scenario in run.start does not decode: {source}")]
    Scenario {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

fn engine_status(v: Option<&Value>) -> Option<RunStatus> {
    let status: crate::engine::Status = serde_json::from_value(v?.clone()).ok()?;
    use crate::engine::Status as S;
    Some(match status {
        S::Passed => RunStatus::Passed,
        S::Failed => RunStatus::Failed,
        S::NotRun => RunStatus::NotRun,
        S::Aborted | S::Halted => RunStatus::Aborted,
        S::Unreachable => RunStatus::Unreachable,
        S::RevertFailed => RunStatus::RevertFailed,
    })
}

fn text(d: &serde_json::Map<String, Value>, k: &str) -> Option<String> {
    d.get(k).and_then(Value::as_str).map(str::to_string)
}

/// Reads `dir/journal.jsonl` and rebuilds the report.
pub fn from_run_dir(dir: &Path) -> Result<RunReport, ReplayError> {
    let path = dir.join("journal.jsonl");
    let entries = Journal::read(&path)?;
    from_entries(&path, &entries)
}

pub fn from_entries(path: &Path, entries: &[Entry]) -> Result<RunReport, ReplayError> {
    let start = entries
        .iter()
        .find(|e| e.event == "run.start")
        .ok_or_else(|| ReplayError::NoStart {
            path: path.to_path_buf(),
        })?;
    let drill = super::exercise::drill_of(start, entries);
    let mut live = live_from_start(path, start, drill.as_ref().map(|d| d.1))?;
    let scenario = live.scenario.clone();
    let mut summary: Option<&Entry> = None;
    let mut end: Option<&Entry> = None;
    let zero = drill.as_ref().map(|d| d.1);
    for e in entries {
        let stamped = match zero {
            Some(z) => super::exercise::in_drill_time(e, z),
            None => std::borrow::Cow::Borrowed(e),
        };
        live.on_entry(&stamped);
        match e.event.as_str() {
            "run.end" => end = Some(e),
            DETECTION_SUMMARY => summary = Some(e),
            _ => replay_entry(&mut live, &stamped),
        }
    }
    if let Some(s) = summary {
        apply_summary(&mut live, s);
    }
    live.rebuild_steady(entries);
    let last = entries.last().map_or(start.ts, |e| e.ts);
    let (status, reason, ended) = match end {
        Some(e) => (
            engine_status(e.data.get("status")).unwrap_or(RunStatus::Incomplete),
            text(&e.data, "reason"),
            e.ts,
        ),
        None => (
            RunStatus::Incomplete,
            Some(format!(
                "the run never finished (killed or crashed); its journal ends at {last}"
            )),
            last,
        ),
    };
    live.ended = Some(ended);
    if drill.is_some() {
        super::exercise::mitigate_at_resolve(&mut live);
    }
    let mut report = assemble(RunFacts {
        run_id: live.run_id.clone(),
        scenario: &scenario,
        status,
        status_reason: reason,
        started: live.started,
        ended: end.map(|e| e.ts),
        context: Some(live.context.clone()),
        faults: live.faults.clone(),
        probes: live.probes.values().cloned().collect(),
        observed: live.observed(ended),
        incident: live.incident.clone(),
        targets: live.targets(),
    });
    if let Some((d, zero)) = &drill {
        super::exercise::attach(&mut report, d, entries, *zero);
    }
    Ok(report)
}

/// The live picture as `run.start` set it up: the scenario and config the
/// run used (written there so a report needs nothing but the journal).
fn live_from_start(
    path: &Path,
    start: &Entry,
    zero: Option<Timestamp>,
) -> Result<Live, ReplayError> {
    let spec = start
        .data
        .get("scenarioSpec")
        .ok_or_else(|| ReplayError::NoScenario {
            path: path.to_path_buf(),
        })?;
    let scenario: Scenario =
        serde_json::from_value(spec.clone()).map_err(|source| ReplayError::Scenario {
            path: path.to_path_buf(),
            source,
        })?;
    let config: Config = start
        .data
        .get("config")
        .and_then(|c| serde_json::from_value(c.clone()).ok())
        .unwrap_or_default();
    let scenario = Arc::new(scenario);
    let run_id = text(&start.data, "runId").unwrap_or_default();
    let context = text(&start.data, "context").unwrap_or_default();
    // A drill's events are stamped from its clock's zero, not the entry's.
    let started = zero.unwrap_or(start.ts);
    let live = Live::new(scenario.clone(), Arc::new(config), run_id, context, started);
    Ok(live)
}

/// What one journal entry adds to the picture beyond `Live::on_entry`:
/// responder events, verified runbook steps and alert times.
fn replay_entry(live: &mut Live, e: &Entry) {
    match e.event.as_str() {
        JOURNAL_EVENT => {
            if let Some(ev) = ResponderEvent::from_journal_data(&e.data) {
                let line = crate::incident::describe(&ev);
                live.push(ev.at, "responder", JOURNAL_EVENT, line);
                live.incident.record(ev);
            }
        }
        "step.verified" => {
            let step = text(&e.data, "step");
            let at = e
                .data
                .get("reading")
                .and_then(|r| r.get("at"))
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<Timestamp>().ok())
                .unwrap_or(e.ts);
            if let Some(step) = step
                && live.incident.runbook.verified(&step, at)
            {
                live.push(
                    at,
                    "runbook",
                    "step.verified",
                    format!("runbook step {step} verified"),
                );
            }
        }
        "alert.notified" => {
            let name = text(&e.data, "alert");
            let at = text(&e.data, "at").and_then(|t| t.parse::<Timestamp>().ok());
            if let (Some(name), Some(at)) = (name, at)
                && let Some(o) = first_open(&mut live.alerts, &name, |o| o.t_notify)
            {
                o.t_notify = Some(at);
            }
        }
        ev if ev.starts_with("alert.") => {
            if let Ok(d) = serde_json::from_value::<DetectionEvent>(Value::Object(e.data.clone())) {
                apply_detection(live, d);
            }
        }
        _ => {}
    }
}

/// The detection poller's final word on the alerts and the noise, which
/// replaces what the individual entries suggested.
fn apply_summary(live: &mut Live, s: &Entry) {
    if let Some(a) = s
        .data
        .get("alerts")
        .and_then(|a| serde_json::from_value::<Vec<AlertObservation>>(a.clone()).ok())
    {
        live.alerts = a;
    }
    if let Some(n) = s
        .data
        .get("noise")
        .and_then(|n| serde_json::from_value::<Vec<NoiseAlert>>(n.clone()).ok())
    {
        live.noise = n;
    }
}

/// The first expected alert of that name whose `field` is still unset.
fn first_open<'a>(
    alerts: &'a mut [AlertObservation],
    name: &str,
    field: impl Fn(&AlertObservation) -> Option<Timestamp>,
) -> Option<&'a mut AlertObservation> {
    alerts
        .iter_mut()
        .find(|o| o.name == name && field(o).is_none())
}

/// Without the end-of-run summary (a killed run), an alert seen pending or
/// firing proves its rule exists; `for:` and the runbook URL stay unknown.
fn apply_detection(live: &mut Live, d: DetectionEvent) {
    match d {
        DetectionEvent::Pending { alert, at } => {
            if let Some(o) = first_open(&mut live.alerts, &alert, |o| o.t_active) {
                o.t_active = Some(at);
                o.rule_found = true;
            }
            live.push(at, "detection", "alert.pending", format!("{alert} pending"));
        }
        DetectionEvent::Firing { alert, at } => {
            if let Some(o) = first_open(&mut live.alerts, &alert, |o| o.t_fire) {
                o.t_fire = Some(at);
                o.rule_found = true;
            }
            live.push(at, "detection", "alert.firing", format!("{alert} firing"));
        }
        DetectionEvent::Resolved { alert, at } => {
            if let Some(o) = first_open(&mut live.alerts, &alert, |o| o.t_resolve) {
                o.t_resolve = Some(at);
            }
            live.push(
                at,
                "detection",
                "alert.resolved",
                format!("{alert} resolved"),
            );
        }
        DetectionEvent::Noise {
            alertname,
            labels,
            at,
        } => live.noise.push(NoiseAlert {
            name: alertname,
            labels,
            t_fire: Some(at),
        }),
        DetectionEvent::Acknowledged { .. } => {}
    }
}

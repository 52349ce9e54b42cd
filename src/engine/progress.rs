//! Live output of a run, as an observer of the journal: an indicatif view on
//! a TTY (the phase, a countdown per active fault with its targets), plain
//! timestamped lines otherwise (CI, pipes, `--ci`).

use std::collections::BTreeMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::journal::Entry;
use super::observer::{ObserveCx, Observer};
use super::outcome::Outcome;

pub enum Progress {
    Plain,
    Tty {
        multi: MultiProgress,
        phase: ProgressBar,
        /// fault -> (bar, until seconds since phase start)
        faults: BTreeMap<String, (ProgressBar, f64)>,
    },
}

impl Progress {
    pub fn new(tty: bool) -> Self {
        if !tty {
            return Progress::Plain;
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let phase = multi.add(ProgressBar::new_spinner());
        phase.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        phase.enable_steady_tick(Duration::from_millis(120));
        Progress::Tty {
            multi,
            phase,
            faults: BTreeMap::new(),
        }
    }

    /// The view other observers (steady-state probes) add their lines to;
    /// `None` when output is plain lines.
    pub fn multi(&self) -> Option<MultiProgress> {
        match self {
            Progress::Plain => None,
            Progress::Tty { multi, .. } => Some(multi.clone()),
        }
    }

    /// One line for the entries a person watching wants to see.
    pub fn describe(e: &Entry) -> Option<String> {
        let d = &e.data;
        let s = |k: &str| d.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        Some(match e.event.as_str() {
            "phase" => format!("phase {}", s("phase")),
            "fault.intent" => {
                let targets = d
                    .get("targets")
                    .and_then(|t| t.as_array())
                    .map(|a| a.len())
                    .unwrap_or(0);
                format!(
                    "inject {} ({}) on {} targets, seed {}",
                    s("fault"),
                    s("type"),
                    targets,
                    d.get("seed").cloned().unwrap_or_default()
                )
            }
            "fault.injected" => format!(
                "injected {}: {} ok, {} errors, holding {}s",
                s("fault"),
                d.get("injected").cloned().unwrap_or_default(),
                d.get("errors")
                    .and_then(|v| v.as_array())
                    .map(|a| a.len())
                    .unwrap_or(0),
                d.get("holdSeconds").cloned().unwrap_or_default()
            ),
            "fault.reverted" => format!(
                "reverted {} ({} objects)",
                s("fault"),
                d.get("reverted").cloned().unwrap_or_default()
            ),
            "fault.revert-failed" => format!(
                "REVERT FAILED for {}: {}",
                s("fault"),
                d.get("failed").cloned().unwrap_or_default()
            ),
            "fault.refused" => format!("refused {}: {}", s("fault"), s("error")),
            "revert.confirmed" => format!(
                "confirmed: {}",
                if d.get("clean").and_then(|v| v.as_bool()) == Some(true) {
                    "nothing left in the cluster".to_string()
                } else {
                    format!(
                        "remaining {}",
                        d.get("remaining").cloned().unwrap_or_default()
                    )
                }
            ),
            "run.stopping" => format!("stopping: {}", s("cause")),
            "guardrail.breach" => format!("guardrail breached: {}", s("reason")),
            "halt.seen" => "kill switch set: reverting".to_string(),
            "run.end" => format!(
                "run ended: {}{}",
                s("status"),
                d.get("reason")
                    .and_then(|r| r.as_str())
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
            "responder.event" => {
                let ev = crate::incident::ResponderEvent::from_journal_data(d)?;
                format!("responder {}", crate::incident::describe(&ev))
            }
            "alert.pending" | "alert.firing" | "alert.resolved" => format!(
                "alert {} {}",
                s("alert"),
                e.event.trim_start_matches("alert.")
            ),
            "alert.notified" => format!("alert {} reached the webhook", s("alert")),
            _ => return None,
        })
    }

    /// A handle that prints the entries the engine does not pass to its
    /// observers (responder events, alert changes), from any thread; for
    /// [`Journal::set_tap`](super::journal::Journal::set_tap).
    pub fn feed(&self) -> LiveFeed {
        LiveFeed {
            multi: self.multi(),
        }
    }
}

/// See [`Progress::feed`].
#[derive(Clone)]
pub struct LiveFeed {
    multi: Option<MultiProgress>,
}

impl LiveFeed {
    pub fn show(&self, e: &Entry) {
        // The engine's own entries reach `Progress::on_entry`; showing them
        // here too would print them twice.
        if matches!(e.source.as_str(), "engine" | "fault") {
            return;
        }
        let Some(line) = Progress::describe(e) else {
            return;
        };
        match &self.multi {
            Some(multi) => {
                let _ = multi.println(line);
            }
            None => log_line(e, &line),
        }
    }
}

/// One timestamped progress line on stderr (CI, pipes): `TS text`, or under
/// `--log-format json` one object with the entry's own fields (so a log
/// collector reads `fault`, `phase`, `status`… without parsing prose) and
/// the text as `message`.
pub fn log_line(e: &Entry, line: &str) {
    let ts = e.ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let mut fields = e.data.clone();
    fields.insert("ts".into(), ts.clone().into());
    fields.insert("source".into(), e.source.clone().into());
    fields.insert("message".into(), line.into());
    crate::term::event(
        &e.event,
        serde_json::Value::Object(fields),
        format_args!("{ts} {}", crate::term::unsaid(line)),
    );
}

/// The error an entry carries, remembered once it is shown, so the lines
/// after it say "(as above)" (see `term::said`).
fn remember_reason(e: &Entry) {
    for key in ["reason", "cause", "error"] {
        if let Some(text) = e.data.get(key).and_then(|v| v.as_str()) {
            crate::term::said(text);
        }
    }
}

impl Observer for Progress {
    fn on_entry(&mut self, e: &Entry) {
        let Some(line) = Self::describe(e) else {
            return;
        };
        match self {
            Progress::Plain => log_line(e, &line),
            Progress::Tty {
                multi,
                phase,
                faults,
            } => {
                match e.event.as_str() {
                    "phase" => phase.set_message(line.clone()),
                    "fault.injected" => {
                        let name = e
                            .data
                            .get("fault")
                            .and_then(|v| v.as_str())
                            .unwrap_or("")
                            .to_string();
                        let hold = e
                            .data
                            .get("holdSeconds")
                            .and_then(|v| v.as_f64())
                            .unwrap_or(0.0);
                        let until = e
                            .data
                            .get("untilSeconds")
                            .and_then(|v| v.as_f64())
                            .unwrap_or(0.0);
                        if hold > 0.0 {
                            let bar = multi.add(ProgressBar::new((hold * 10.0) as u64));
                            bar.set_style(
                                ProgressStyle::with_template("  {msg:30} [{bar:30}] {prefix}")
                                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                            );
                            let targets = e.data.get("targets").cloned().unwrap_or_default();
                            bar.set_message(format!("{name} ({targets} targets)"));
                            faults.insert(name, (bar, until));
                        }
                    }
                    "fault.reverted" | "fault.revert-failed" => {
                        let name = e.data.get("fault").and_then(|v| v.as_str()).unwrap_or("");
                        if let Some((bar, _)) = faults.remove(name) {
                            bar.finish_and_clear();
                        }
                    }
                    _ => {}
                }
                let _ = multi.println(crate::term::unsaid(&line));
            }
        }
        remember_reason(e);
    }

    fn on_tick(&mut self, elapsed: Duration) {
        if let Progress::Tty { faults, .. } = self {
            let now = elapsed.as_secs_f64();
            for (bar, until) in faults.values() {
                let left = (until - now).max(0.0);
                let len = bar.length().unwrap_or(0);
                bar.set_position(len.saturating_sub((left * 10.0) as u64));
                bar.set_prefix(format!("{left:.0}s left"));
            }
        }
    }

    fn finish(&mut self, _outcome: &Outcome, _cx: &ObserveCx<'_>) {
        if let Progress::Tty { phase, faults, .. } = self {
            for (bar, _) in faults.values() {
                bar.finish_and_clear();
            }
            phase.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(event: &str, data: serde_json::Value) -> Entry {
        Entry {
            ts: "2026-11-26T16:00:00Z".parse().unwrap(),
            source: "engine".into(),
            event: event.into(),
            data: data.as_object().unwrap().clone(),
        }
    }

    #[test]
    fn lines_name_the_fault_and_its_targets() {
        let l = Progress::describe(&entry(
            "fault.intent",
            json!({"fault": "kill", "type": "podKill", "targets": ["a", "b"], "seed": 42}),
        ))
        .unwrap();
        assert_eq!(l, "inject kill (podKill) on 2 targets, seed 42");
        let l = Progress::describe(&entry(
            "revert.confirmed",
            json!({"clean": false, "remaining": ["Pod/shop/x"]}),
        ))
        .unwrap();
        assert!(l.contains("Pod/shop/x"), "{l}");
        assert!(Progress::describe(&entry("probe.reading", json!({}))).is_none());
    }

    #[test]
    fn the_tty_view_tracks_a_countdown_per_fault() {
        let mut p = Progress::new(true);
        p.on_entry(&entry(
            "fault.injected",
            json!({"fault": "lag", "holdSeconds": 10.0, "untilSeconds": 10.0, "targets": 2}),
        ));
        p.on_tick(Duration::from_secs(4));
        match &p {
            Progress::Tty { faults, .. } => {
                let (bar, _) = &faults["lag"];
                assert_eq!(bar.position(), 40);
                assert_eq!(bar.prefix(), "6s left");
            }
            Progress::Plain => panic!("tty view expected"),
        }
        p.on_entry(&entry(
            "fault.reverted",
            json!({"fault": "lag", "reverted": 2}),
        ));
        match &p {
            Progress::Tty { faults, .. } => assert!(faults.is_empty()),
            Progress::Plain => panic!(),
        }
    }
}

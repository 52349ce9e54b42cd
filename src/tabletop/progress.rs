//! What a drill shows while it runs: one line per journal entry worth
//! telling, prefixed with the drill clock. On a terminal the clock is
//! highlighted; with `--ci` (or no terminal) the lines are plain. Fed by the
//! journal's tap, so events that arrive through the responder API show up
//! as well as the drill's own.

use jiff::Timestamp;
use serde_json::Value;

use crate::engine::Entry;
use crate::engine::journal::Tap;
use crate::incident::{JOURNAL_EVENT, ResponderEvent, describe};
use crate::report::exercise::{INJECT_FIRED, INJECT_SKIPPED};

/// The tap that prints a drill's progress.
pub fn tap(zero: Timestamp, live_view: bool) -> Tap {
    Box::new(move |e: &Entry| {
        if let Some((secs, text)) = line(e, zero) {
            let s = secs.max(0.0).round() as u64;
            let clock = format!("[{:02}:{:02}]", s / 60, s % 60);
            let clock = if live_view && crate::term::use_color() {
                format!("\x1b[1;36m{clock}\x1b[0m")
            } else {
                clock
            };
            let fields = serde_json::json!({"drillSeconds": secs, "event": e.event, "text": text});
            crate::term::event("drill", fields, format_args!("{clock} {text}"));
        }
    })
}

fn text<'e>(e: &'e Entry, k: &str) -> Option<&'e str> {
    e.data.get(k).and_then(Value::as_str)
}

/// The drill time and words of an entry, for the entries people follow.
pub fn line(e: &Entry, zero: Timestamp) -> Option<(f64, String)> {
    let secs = e.data.get("drillSeconds").and_then(Value::as_f64);
    match e.event.as_str() {
        INJECT_FIRED => {
            let id = text(e, "inject")?;
            let what = match text(e, "action")? {
                "message" => format!(
                    "{}: {}",
                    text(e, "from").unwrap_or("message"),
                    text(e, "text").unwrap_or("")
                ),
                "escalate" => format!(
                    "escalation to {}",
                    text(e, "person").unwrap_or("the next role")
                ),
                "alert" => format!(
                    "page {} ({})",
                    e.data
                        .get("labels")
                        .and_then(|l| l.get("alertname"))
                        .and_then(Value::as_str)
                        .unwrap_or("?"),
                    text(e, "delivery").unwrap_or("direct")
                ),
                "fault" => format!(
                    "fault {} ({}) handed to the fault engine",
                    text(e, "fault").unwrap_or("?"),
                    text(e, "type").unwrap_or("?")
                ),
                other => other.to_string(),
            };
            Some((secs?, format!("inject {id}: {what}")))
        }
        "fault.injected" | "fault.reverted" | "fault.revert-failed" | "fault.refused" => Some((
            secs?,
            format!(
                "fault {} {}",
                text(e, "fault").unwrap_or("?"),
                e.event.trim_start_matches("fault.").replace('-', " ")
            ),
        )),
        "revert.confirmed" => Some((
            secs?,
            if e.data.get("clean").and_then(Value::as_bool) == Some(true) {
                "revert confirmed: no mark of this drill remains".into()
            } else {
                "revert NOT confirmed: marks remain, run `gameday recover`".into()
            },
        )),
        INJECT_SKIPPED => Some((secs?, format!("inject {} skipped", text(e, "inject")?))),
        JOURNAL_EVENT => {
            let ev = ResponderEvent::from_journal_data(&e.data)?;
            Some((ev.at.duration_since(zero).as_secs_f64(), describe(&ev)))
        }
        "drill.start" => Some((0.0, "drill started".into())),
        "run.end" => Some((
            secs?,
            format!("drill ended: {}", text(e, "reason").unwrap_or("")),
        )),
        ev if ev.starts_with("facilitator.") || ev.starts_with("alert.") => {
            Some((secs?, ev.to_string()))
        }
        _ => None,
    }
}

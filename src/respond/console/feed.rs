//! What the console learns from the journal rather than from the live
//! picture: the drill's inject list (from `run.start`), which injects fired
//! or were skipped, the messages and pages handed to roles, whether the
//! facilitator paused, and whether the run has ended. The journal is the
//! event stream (STYLE.md, "events in, reporters out"); the console is one
//! more reader of it, so it needs no hook in the drill loop.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::engine::Entry;
use crate::report::exercise::{INJECT_FIRED, INJECT_SKIPPED};

/// Reads the lines appended to a journal since the last call. A line still
/// being written (no newline yet) waits for the next call.
pub struct Tail {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
}

impl Tail {
    pub fn new(path: &Path) -> Tail {
        Tail {
            path: path.to_path_buf(),
            offset: 0,
            partial: Vec::new(),
        }
    }

    /// The complete entries appended since the last call. An unreadable
    /// file gives none (the run's own writer reports journal errors).
    pub fn read_new(&mut self) -> Vec<Entry> {
        let mut buf = Vec::new();
        let read = File::open(&self.path).and_then(|mut f| {
            f.seek(SeekFrom::Start(self.offset))?;
            f.read_to_end(&mut buf)
        });
        let Ok(n) = read else { return Vec::new() };
        self.offset += n as u64;
        self.partial.extend_from_slice(&buf);
        let Some(last) = self.partial.iter().rposition(|b| *b == b'\n') else {
            return Vec::new();
        };
        let rest = self.partial.split_off(last + 1);
        let complete = std::mem::replace(&mut self.partial, rest);
        complete
            .split(|b| *b == b'\n')
            .filter_map(|line| serde_json::from_slice::<Entry>(line).ok())
            .collect()
    }
}

/// The console's memory of the journal entries it has read.
#[derive(Debug, Default)]
pub struct Feed {
    /// The drill of a tabletop run (`run.start`'s `drill`), None in a game day.
    pub drill: Option<Value>,
    /// Inject id → `{"state": "fired"|"skipped", "drillSeconds": …}`.
    pub injects: BTreeMap<String, Value>,
    /// Messages and escalations handed to roles, oldest first.
    pub messages: Vec<Value>,
    /// Pages a drill delivered (to Alertmanager or directly), oldest first.
    pub pages: Vec<Value>,
    /// Probe name → its readings as chart points. The steady-state observer
    /// journals its readings without going through the live picture, so
    /// during a run the journal is where they are.
    pub probe_points: BTreeMap<String, Vec<Value>>,
    pub paused: bool,
    /// `run.end`'s status and reason, once written.
    pub ended: Option<Value>,
}

fn text(e: &Entry, k: &str) -> Value {
    e.data.get(k).cloned().unwrap_or(Value::Null)
}

impl Feed {
    pub fn on_entry(&mut self, e: &Entry) {
        match e.event.as_str() {
            "run.start" => self.drill = e.data.get("drill").cloned(),
            INJECT_FIRED => self.on_fired(e),
            INJECT_SKIPPED => {
                if let Some(id) = e.data.get("inject").and_then(Value::as_str) {
                    let secs = text(e, "drillSeconds");
                    self.injects.insert(
                        id.to_string(),
                        json!({"state": "skipped", "drillSeconds": secs}),
                    );
                }
            }
            "facilitator.pause" => self.paused = true,
            "facilitator.resume" => self.paused = false,
            "run.end" => {
                self.paused = false;
                self.ended =
                    Some(json!({"status": text(e, "status"), "reason": text(e, "reason")}));
            }
            _ if e.source == "probe" => self.on_probe(e),
            _ => {}
        }
    }

    /// A steady-state reading, flat or under `reading`/`readings` (as
    /// `report::live` reads them); settling and verify readings are not
    /// part of the experiment and get no point.
    fn on_probe(&mut self, e: &Entry) {
        use crate::observe::{Phase, Reading};
        let mut readings: Vec<Reading> = Vec::new();
        readings.extend(serde_json::from_value(Value::Object(e.data.clone())).ok());
        readings.extend(
            e.data
                .get("reading")
                .and_then(|r| serde_json::from_value(r.clone()).ok()),
        );
        if let Some(rs) = e
            .data
            .get("readings")
            .and_then(|r| serde_json::from_value::<Vec<Reading>>(r.clone()).ok())
        {
            readings.extend(rs);
        }
        for r in readings {
            if matches!(r.phase, Phase::Verify | Phase::Settle) {
                continue;
            }
            self.probe_points.entry(r.probe.clone()).or_default().push(
                json!({"at": r.at, "value": r.value, "ok": r.outcome.holds(), "phase": r.phase}),
            );
        }
    }

    fn on_fired(&mut self, e: &Entry) {
        let Some(id) = e.data.get("inject").and_then(Value::as_str) else {
            return;
        };
        let secs = text(e, "drillSeconds");
        self.injects.insert(
            id.to_string(),
            json!({"state": "fired", "drillSeconds": secs}),
        );
        let at = text(e, "at");
        match e.data.get("action").and_then(Value::as_str) {
            Some("message") => self.messages.push(json!({
                "inject": id, "kind": "message", "at": at, "from": text(e, "from"),
                "to": text(e, "to"), "people": text(e, "people"), "text": text(e, "text"),
            })),
            Some("escalate") => self.messages.push(json!({
                "inject": id, "kind": "escalation", "at": at, "to": [text(e, "to")],
                "people": [text(e, "person")], "text": text(e, "reason"),
            })),
            Some("alert") => self.pages.push(json!({
                "inject": id, "at": at, "labels": text(e, "labels"),
                "annotations": text(e, "annotations"), "delivery": text(e, "delivery"),
            })),
            _ => {}
        }
    }

    /// The drill's injects as the facilitator sees them: when each is due
    /// (a time, or its condition in words), what it does, and where it
    /// stands.
    pub fn inject_list(&self) -> Vec<Value> {
        let injects = self
            .drill
            .as_ref()
            .and_then(|d| d.pointer("/spec/injects"))
            .and_then(Value::as_array);
        let Some(injects) = injects else {
            return Vec::new();
        };
        injects
            .iter()
            .map(|i| {
                let id = i.get("id").and_then(Value::as_str).unwrap_or_default();
                let state = self
                    .injects
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| json!({"state": "waiting"}));
                json!({
                    "id": id,
                    "due": due_words(i),
                    "conditional": i.get("when").is_some(),
                    "action": action_words(i),
                    "state": state["state"],
                    "drillSeconds": state["drillSeconds"],
                })
            })
            .collect()
    }
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// `at 2m`, `if no ack by 5m (incidentCommander)`, `2m after page`.
fn due_words(i: &Value) -> String {
    if let Some(at) = i.get("at").and_then(Value::as_str) {
        return format!("at {at}");
    }
    let Some(w) = i.get("when") else {
        return String::new();
    };
    if let Some(kind) = w.get("noEvent").and_then(Value::as_str) {
        let role = w
            .get("role")
            .and_then(Value::as_str)
            .map_or(String::new(), |r| format!(" by the {r} role"));
        return format!("if no {kind}{role} before {}", str_of(w, "by"));
    }
    let delay = w.get("delay").and_then(Value::as_str).unwrap_or("0s");
    format!("{delay} after {}", str_of(w, "after"))
}

/// `message to incidentCommander: …`, `escalate to communications`, `page X`.
fn action_words(i: &Value) -> String {
    if let Some(m) = i.get("message") {
        let to: Vec<&str> = m
            .get("to")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        return format!("message to {}: {}", to.join(", "), str_of(m, "text"));
    }
    if let Some(e) = i.get("escalate") {
        return format!("escalate to {}", str_of(e, "to"));
    }
    if let Some(a) = i.get("alert") {
        let name = a
            .pointer("/labels/alertname")
            .and_then(Value::as_str)
            .unwrap_or("alert");
        return format!("page {name}");
    }
    "fault".into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn tail_returns_only_complete_new_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let line = r#"{"ts":"2026-01-01T00:00:00Z","source":"drill","event":"facilitator.pause"}"#;
        let mut f = File::create(&p).unwrap();
        write!(f, "{line}\n{}", &line[..20]).unwrap();
        let mut tail = Tail::new(&p);
        assert_eq!(tail.read_new().len(), 1);
        assert!(tail.read_new().is_empty(), "half a line is not an entry");
        writeln!(f, "{}", &line[20..]).unwrap();
        let got = tail.read_new();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].event, "facilitator.pause");
    }

    #[test]
    fn injects_show_due_times_conditions_and_states() {
        let mut feed = Feed::default();
        let start = Entry {
            ts: jiff::Timestamp::UNIX_EPOCH,
            source: "engine".into(),
            event: "run.start".into(),
            data: serde_json::from_value(json!({"drill": {"spec": {"injects": [
                {"id": "page", "at": "0s", "alert": {"labels": {"alertname": "X"}}},
                {"id": "esc", "when": {"noEvent": "ack", "by": "5m"}, "escalate": {"to": "incidentCommander"}},
            ]}}}))
            .unwrap(),
        };
        feed.on_entry(&start);
        let mut fired = start.clone();
        fired.event = INJECT_FIRED.into();
        fired.data = serde_json::from_value(
            json!({"inject": "page", "action": "alert", "drillSeconds": 0.0}),
        )
        .unwrap();
        feed.on_entry(&fired);
        let list = feed.inject_list();
        assert_eq!(list[0]["state"], "fired");
        assert_eq!(list[0]["action"], "page X");
        assert_eq!(list[1]["state"], "waiting");
        assert_eq!(list[1]["conditional"], true);
        assert_eq!(list[1]["due"], "if no ack before 5m");
        assert_eq!(feed.pages.len(), 1);
    }
}

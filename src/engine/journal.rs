//! The run's ledger, `journal.jsonl` (S1, S7): one JSON object per line,
//! append-only, flushed to disk (fsync) before `append` returns. Intent is
//! written here before any object is changed, so a crashed run can still be
//! explained and reported from its journal.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// RFC 3339 UTC with milliseconds.
    pub ts: jiff::Timestamp,
    /// Who wrote it: `engine`, `fault`, `probe`, `responder`, ...
    pub source: String,
    /// Dotted event name, e.g. `fault.intent`.
    pub event: String,
    #[serde(flatten)]
    pub data: Map<String, Value>,
}

/// What every journal line says besides its data: read alone, the data
/// is skipped without being built.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Head {
    pub ts: jiff::Timestamp,
    pub source: String,
    pub event: String,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    /// Set once `run.end` is on disk, so a crash path that runs after a
    /// normal end (an observer panicking in `finish`) does not write a
    /// second one: one run, exactly one `run.end`.
    ended: std::sync::atomic::AtomicBool,
    /// Shown every entry once it is on disk, whoever wrote it: the live
    /// view learns of responder events that arrive on the API's threads
    /// without the writers knowing there is a display.
    tap: std::sync::OnceLock<Tap>,
    /// Fields every entry gets, unless it has them (a drill's clock).
    clock_fields: std::sync::OnceLock<ClockFields>,
    /// How many entries this handle has appended, for readers that follow
    /// the file as it grows (the web console) and want to be woken rather
    /// than poll it.
    appended: tokio::sync::watch::Sender<u64>,
}

/// See [`Journal::set_tap`].
pub type Tap = Box<dyn Fn(&Entry) + Send + Sync>;

/// See [`Journal::set_clock_fields`].
pub type ClockFields = Box<dyn Fn() -> Map<String, Value> + Send + Sync>;

impl Journal {
    /// Opens (creating if needed) for appending; never truncates.
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| JournalError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Journal {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            ended: std::sync::atomic::AtomicBool::new(false),
            tap: std::sync::OnceLock::new(),
            clock_fields: std::sync::OnceLock::new(),
            appended: tokio::sync::watch::Sender::new(0),
        })
    }

    /// Installs the one tap (a later call is ignored). It runs after the
    /// entry is synced and must not block: it is on every writer's path.
    pub fn set_tap(&self, tap: Tap) {
        let _ = self.tap.set(tap);
    }

    /// Installs the one source of clock fields (a later call is ignored):
    /// every entry appended from then on carries them, whoever wrote it, so
    /// a drill's engine and responder entries are in drill time too. An
    /// entry's own value of a field wins.
    pub fn set_clock_fields(&self, fields: ClockFields) {
        let _ = self.clock_fields.set(fields);
    }

    /// Changes after every append, once the entry is on disk: a follower
    /// wakes on it and reads the new lines from the file.
    pub fn appended(&self) -> tokio::sync::watch::Receiver<u64> {
        self.appended.subscribe()
    }

    /// Whether this handle has written the run's `run.end`.
    pub fn ended(&self) -> bool {
        self.ended.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry and syncs it to disk before returning. `data` must
    /// be a JSON object (anything else is stored under `value`).
    pub fn append(&self, source: &str, event: &str, data: Value) -> Result<Entry, JournalError> {
        let mut data = match data {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            other => Map::from_iter([("value".to_string(), other)]),
        };
        if let Some(fields) = self.clock_fields.get() {
            for (k, v) in fields() {
                data.entry(k).or_insert(v);
            }
        }
        let entry = Entry {
            ts: jiff::Timestamp::now(),
            source: source.to_string(),
            event: event.to_string(),
            data,
        };
        let mut line = serde_json::to_string(&entry).unwrap_or_else(|e| {
            format!(
                r#"{{"ts":"{}","source":"engine","event":"journal.encode-error","error":"{e}"}}"#,
                entry.ts
            )
        });
        line.push('\n');
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        // A poisoned lock only means another thread panicked mid-append; the
        // file itself is still fine to append to.
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(line.as_bytes()).map_err(io)?;
        f.sync_data().map_err(io)?;
        if entry.event == "run.end" {
            self.ended.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        drop(f);
        if let Some(tap) = self.tap.get() {
            tap(&entry);
        }
        self.appended.send_modify(|n| *n += 1);
        Ok(entry)
    }

    /// Reads every complete entry. A torn last line (crash mid-write) is
    /// skipped, never an error: S7 says a crashed run stays readable.
    pub fn read(path: &Path) -> Result<Vec<Entry>, JournalError> {
        let mut out = Vec::new();
        Self::scan(path, |_| true, |_, e| out.extend(e))?;
        Ok(out)
    }

    /// Reads the file line by line, as [`Journal::read`] does, without
    /// keeping it: `f` sees each line's [`Head`] and, when `want` asks for
    /// it, the whole entry. A reader that needs a few events of a long
    /// journal neither holds nor builds the rest: a hundred-fault run's
    /// `run.start` alone (every planned target) is 2 MB once parsed.
    pub fn scan(
        path: &Path,
        want: impl Fn(&Head) -> bool,
        mut f: impl FnMut(Head, Option<Entry>),
    ) -> Result<(), JournalError> {
        let file = File::open(path).map_err(|source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        for line in BufReader::new(file).lines() {
            let Ok(line) = line else { break };
            match serde_json::from_str::<Head>(&line) {
                Ok(head) if !want(&head) => f(head, None),
                // Wanted, or a line only `parse_line` reads (a legacy one).
                _ => {
                    if let Some(e) = parse_line(&line) {
                        let head = Head {
                            ts: e.ts,
                            source: e.source.clone(),
                            event: e.event.clone(),
                        };
                        let entry = want(&head).then_some(e);
                        f(head, entry);
                    }
                }
            }
        }
        Ok(())
    }

    /// The entries of journal lines kept elsewhere (the history keeps a
    /// run's lines), read as [`Journal::read`] reads the file.
    pub fn parse_lines(lines: &[String]) -> Vec<Entry> {
        lines.iter().filter_map(|l| parse_line(l)).collect()
    }
}

/// One journal line. Journals written before the detection events were
/// tagged `kind` carry `event` twice (`"event":"alert.pending", …,
/// "event":"pending"`); those lines are read with the first `event` as the
/// entry's and the second as `kind`, so older runs still report.
fn parse_line(line: &str) -> Option<Entry> {
    if let Ok(e) = serde_json::from_str::<Entry>(line) {
        return Some(e);
    }
    let LegacyLine(map) = serde_json::from_str(line).ok()?;
    serde_json::from_value(Value::Object(map)).ok()
}

/// A JSON object whose repeated `event` key is kept as `kind`.
struct LegacyLine(Map<String, Value>);

impl<'de> Deserialize<'de> for LegacyLine {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = LegacyLine;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a journal entry object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<LegacyLine, A::Error> {
                let mut out = Map::new();
                while let Some((k, v)) = m.next_entry::<String, Value>()? {
                    if k == "event" && out.contains_key("event") {
                        out.insert("kind".into(), v);
                    } else {
                        out.entry(k).or_insert(v);
                    }
                }
                Ok(LegacyLine(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn appends_survive_reopen_and_torn_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        {
            let j = Journal::open(&p).unwrap();
            j.append("engine", "run.start", json!({"runId": "r"}))
                .unwrap();
            j.append(
                "fault",
                "fault.intent",
                json!({"fault": "k", "targets": ["a"]}),
            )
            .unwrap();
        }
        // Reopening appends, never truncates.
        let j = Journal::open(&p).unwrap();
        j.append("engine", "run.end", json!({"status": "passed"}))
            .unwrap();
        // Simulate a crash mid-write.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"{\"ts\":\"2026-")
            .unwrap();
        let entries = Journal::read(&p).unwrap();
        let events: Vec<_> = entries.iter().map(|e| e.event.as_str()).collect();
        assert_eq!(events, ["run.start", "fault.intent", "run.end"]);
        assert_eq!(entries[1].data["targets"], json!(["a"]));
        assert_eq!(entries[0].source, "engine");
    }

    #[test]
    fn scan_builds_only_the_wanted_entries_and_heads_every_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let j = Journal::open(&p).unwrap();
        j.append("engine", "run.start", json!({"faults": ["big"]}))
            .unwrap();
        j.append("probe", "probe.reading", json!({"value": 1}))
            .unwrap();
        j.append("engine", "run.end", json!({})).unwrap();
        let (mut heads, mut built) = (Vec::new(), Vec::new());
        Journal::scan(
            &p,
            |h| h.source == "probe",
            |h, e| {
                heads.push(h.event);
                built.extend(e);
            },
        )
        .unwrap();
        assert_eq!(heads, ["run.start", "probe.reading", "run.end"]);
        assert_eq!(built.len(), 1);
        assert_eq!(built[0].data["value"], json!(1));
        let all = Journal::read(&p).unwrap();
        assert_eq!(all[1], built[0]);
    }

    #[test]
    fn an_older_line_with_event_twice_is_read_with_its_kind() {
        let line = r#"{"ts":"2026-11-26T16:00:00Z","source":"detection","event":"alert.pending","alert":"A","at":"2026-11-26T16:00:00Z","event":"pending"}"#;
        let e = parse_line(line).expect("read");
        assert_eq!(e.event, "alert.pending");
        assert_eq!(e.data["kind"], "pending");
        let d: crate::observe::alerts::DetectionEvent =
            serde_json::from_value(Value::Object(e.data)).unwrap();
        assert!(matches!(
            d,
            crate::observe::alerts::DetectionEvent::Pending { .. }
        ));
    }

    #[test]
    fn non_object_data_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        let j = Journal::open(&p).unwrap();
        let e = j.append("engine", "note", json!("hello")).unwrap();
        assert_eq!(e.data["value"], "hello");
    }
}

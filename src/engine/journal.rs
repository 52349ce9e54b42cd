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
}

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
        })
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
        let data = match data {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            other => Map::from_iter([("value".to_string(), other)]),
        };
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
        Ok(entry)
    }

    /// Reads every complete entry. A torn last line (crash mid-write) is
    /// skipped, never an error: S7 says a crashed run stays readable.
    pub fn read(path: &Path) -> Result<Vec<Entry>, JournalError> {
        let f = File::open(path).map_err(|source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut out = Vec::new();
        for line in BufReader::new(f).lines() {
            let Ok(line) = line else { break };
            if let Ok(e) = serde_json::from_str::<Entry>(&line) {
                out.push(e);
            }
        }
        Ok(out)
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
    fn non_object_data_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        let j = Journal::open(&p).unwrap();
        let e = j.append("engine", "note", json!("hello")).unwrap();
        assert_eq!(e.data["value"], "hello");
    }
}

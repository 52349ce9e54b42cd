//! `gameday respond`'s side of the API: find the run, post one event.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::files::{self, FilesError};
use super::server::EVENTS_PATH;
use crate::incident::Action;

pub const RUN_URL_ENV: &str = "GAMEDAY_RUN_URL";
pub const TOKEN_ENV: &str = "GAMEDAY_TOKEN";

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Find(#[from] FilesError),
    #[error("--run-url given without --token (or {TOKEN_ENV})")]
    NoToken,
    #[error("cannot reach the run at {url}: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("the run rejected the event ({status}): {message}")]
    Rejected { status: u16, message: String },
    /// The run directory's journal has its `run.end`: the API is gone with
    /// the run, and "connection refused" would send people looking for a
    /// network problem.
    #[error("the run has ended{}; nothing was recorded (its reports are in {})", outcome(.status, .reason), .run_dir.display())]
    Ended {
        run_dir: PathBuf,
        status: Option<String>,
        reason: Option<String>,
    },
}

fn outcome(status: &Option<String>, reason: &Option<String>) -> String {
    match (status, reason) {
        (Some(s), Some(r)) => format!(" ({s}: {r})"),
        (Some(s), None) => format!(" ({s})"),
        _ => String::new(),
    }
}

/// Where the run is: its API, its token, and its directory when it was
/// found through one.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub url: String,
    pub token: String,
    pub run_dir: Option<PathBuf>,
}

/// Where the run is: flags/env first, else the newest run directory.
pub fn locate(
    url: Option<String>,
    token: Option<String>,
    runs_root: &Path,
) -> Result<Located, ClientError> {
    match (url, token) {
        (Some(url), Some(token)) => Ok(Located {
            url,
            token,
            run_dir: None,
        }),
        (Some(_), None) => Err(ClientError::NoToken),
        (None, token) => {
            let dir = files::newest_run_dir(runs_root)?;
            let (url, t) = files::read_run(&dir)?;
            Ok(Located {
                url,
                token: token.unwrap_or(t),
                run_dir: Some(dir),
            })
        }
    }
}

/// `Err(Ended)` when the run directory's journal says the run is over.
pub fn check_running(run_dir: &Path) -> Result<(), ClientError> {
    let journal = run_dir.join("journal.jsonl");
    let entries = crate::engine::Journal::read(&journal).unwrap_or_default();
    let Some(end) = entries.iter().rev().find(|e| e.event == "run.end") else {
        return Ok(());
    };
    let text = |k: &str| end.data.get(k).and_then(Value::as_str).map(str::to_string);
    Err(ClientError::Ended {
        run_dir: run_dir.to_path_buf(),
        status: text("status"),
        reason: text("reason"),
    })
}

/// The words after `gameday respond` as the API's JSON body. Role names may
/// be the short forms people type (`ic`, `comms`).
pub fn event_body(
    words: &[String],
    person: &str,
) -> Result<Value, crate::incident::ParseActionError> {
    let action = Action::parse_words(words)?;
    let mut body = serde_json::to_value(&action).unwrap_or_else(|_| json!({}));
    if let Some(o) = body.as_object_mut() {
        o.insert("as".into(), json!(person));
    }
    Ok(body)
}

pub async fn post_event(url: &str, token: &str, body: &Value) -> Result<Value, ClientError> {
    let endpoint = format!("{}{EVENTS_PATH}", url.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| ClientError::Unreachable {
            url: url.into(),
            detail: e.to_string(),
        })?;
    let resp = client
        .post(&endpoint)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .map_err(|e| ClientError::Unreachable {
            url: url.into(),
            detail: crate::observe::error_chain(&e),
        })?;
    let status = resp.status();
    let value: Value = resp.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        Ok(value)
    } else {
        Err(ClientError::Rejected {
            status: status.as_u16(),
            message: value
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("no message")
                .to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn bodies_carry_the_person_and_canonical_roles() {
        assert_eq!(
            event_body(&w(&["ack"]), "alice").unwrap(),
            json!({"do": "ack", "as": "alice"})
        );
        assert_eq!(
            event_body(&w(&["assign", "ic", "bob"]), "alice").unwrap(),
            json!({"do": "assign", "role": "incidentCommander", "person": "bob", "as": "alice"})
        );
        assert_eq!(
            event_body(&w(&["update", "checkout", "degraded"]), "c").unwrap()["message"],
            "checkout degraded"
        );
        assert!(event_body(&w(&["assign", "janitor", "bob"]), "a").is_err());
        assert!(event_body(&w(&["dance"]), "a").is_err());
    }

    #[test]
    fn a_url_without_a_token_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            locate(Some("http://x".into()), None, dir.path()),
            Err(ClientError::NoToken)
        ));
        assert!(matches!(
            locate(None, None, dir.path()),
            Err(ClientError::Find(_))
        ));
    }

    #[test]
    fn a_run_whose_journal_has_ended_says_so_with_its_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let j = crate::engine::Journal::open(&dir.path().join("journal.jsonl")).unwrap();
        j.append("engine", "run.start", json!({})).unwrap();
        assert!(check_running(dir.path()).is_ok());
        j.append(
            "engine",
            "run.end",
            json!({"status": "aborted", "reason": "interrupted by SIGINT"}),
        )
        .unwrap();
        let e = check_running(dir.path()).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("the run has ended (aborted: interrupted by SIGINT)"),
            "{msg}"
        );
    }
}

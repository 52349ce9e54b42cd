//! What the drill tests share: the `gameday` command with a private history
//! and no ambient Alertmanager or config, the drill fixtures, and reading a
//! drill's result.json.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// `gameday` with its history database in `dir` and no ambient settings.
pub fn gameday(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gameday"));
    c.env("NO_COLOR", "1")
        .env("GAMEDAY_HISTORY_DB", dir.join("history.db"))
        .env_remove("GAMEDAY_ALERTMANAGER_URL")
        .env_remove("GAMEDAY_FACILITATOR_TOKEN")
        .env_remove("GAMEDAY_CONFIG");
    c
}

/// A file under tests/fixtures/drills.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/drills")
        .join(rel)
}

pub fn result(run: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(run.join("result.json")).unwrap()).unwrap()
}

/// One inject of a result.json.
pub fn inject(r: &Value, id: &str) -> Value {
    r["injects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .unwrap()
        .clone()
}

/// One scorecard component of a result.json.
pub fn component(r: &Value, name: &str) -> Value {
    r["scorecard"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component"] == name)
        .unwrap()
        .clone()
}

//! What the drill tests share: the `gameday` command with a private history
//! and no ambient Alertmanager or config, the drill fixtures, and reading a
//! drill's result.json.
#![allow(dead_code)]

use std::path::Path;

use serde_json::Value;

// A test binary may include tests/common too: one source, two copies.
#[allow(clippy::duplicate_mod)]
#[path = "../common/cli.rs"]
mod cli;
#[allow(unused_imports)] // each test binary uses some of them
pub use cli::{drill_fixture as fixture, gameday};

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

//! The `gameday` binary as the drill and console tests run it, and their
//! drill fixtures. Included by path from tests/drill_support and
//! tests/console_support (as identity.rs is), so those binaries need not
//! build the rest of tests/common.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `gameday` with its history database in `dir` and no ambient settings
/// (CI mode, an Alertmanager, a facilitator token or a config file from
/// the caller's environment would change what a test sees).
pub fn gameday(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gameday"));
    c.env("NO_COLOR", "1")
        .env("GAMEDAY_HISTORY_DB", dir.join("history.db"))
        .env_remove("CI")
        .env_remove("GAMEDAY_ALERTMANAGER_URL")
        .env_remove("GAMEDAY_FACILITATOR_TOKEN")
        .env_remove("GAMEDAY_CONFIG");
    c
}

/// A file under tests/fixtures/drills.
pub fn drill_fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/drills")
        .join(rel)
}

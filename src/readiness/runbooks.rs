//! Whether an alert's `runbook_url` leads somewhere. A relative URL is a
//! file next to the rules (it resolves against the rules file's folder, as
//! a link in a repository does), or under one of the `--runbooks` folders;
//! an `http(s)` URL is only checked (HTTP HEAD, `live::head`) when
//! `--check-urls` asks, because an audit that needs the network by default
//! would fail in CI for the wrong reason.

use std::path::{Path, PathBuf};

use super::rules::AlertRule;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunbookStatus {
    /// No `runbook_url` annotation.
    Missing,
    /// A local file that exists, or a URL that answered HEAD with 2xx/3xx.
    Found,
    /// A URL not checked (no `--check-urls`).
    Unchecked,
    /// Not found: why, for the hint.
    Unresolved(String),
}

/// Whether `url` is fetched over HTTP rather than read from disk.
pub fn is_remote(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

/// The status of a rule's runbook without the network: local files are
/// looked up, remote URLs are `Unchecked`.
pub fn resolve_local(rule: &AlertRule, runbook_dirs: &[PathBuf]) -> RunbookStatus {
    let Some(url) = rule.runbook_url.as_deref().map(str::trim) else {
        return RunbookStatus::Missing;
    };
    if url.is_empty() {
        return RunbookStatus::Missing;
    }
    if is_remote(url) {
        return RunbookStatus::Unchecked;
    }
    let path = url.strip_prefix("file://").unwrap_or(url);
    let path = Path::new(path.split('#').next().unwrap_or(path));
    let candidates: Vec<PathBuf> = if path.is_absolute() {
        vec![path.to_path_buf()]
    } else {
        rule.base_dir
            .iter()
            .chain(runbook_dirs)
            .map(|d| d.join(path))
            .collect()
    };
    if candidates.iter().any(|c| c.is_file()) {
        return RunbookStatus::Found;
    }
    let tried: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
    RunbookStatus::Unresolved(if tried.is_empty() {
        format!(
            "`{url}` is relative and there is no folder to resolve it against (give --runbooks DIR)"
        )
    } else {
        format!("`{url}` is not a file (looked for {})", tried.join(", "))
    })
}

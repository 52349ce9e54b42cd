//! Where a run's files go: `./gameday-runs/<UTC timestamp>-<scenario>-<short
//! id>/` by default, or `--out DIR`. Names sort by time.

use std::path::{Path, PathBuf};

use crate::k8s::marks::RunId;

pub const DEFAULT_ROOT: &str = "gameday-runs";

pub fn default_dir(root: &Path, now: jiff::Timestamp, scenario: &str, run_id: &RunId) -> PathBuf {
    let ts = now.strftime("%Y%m%dT%H%M%SZ");
    root.join(format!("{ts}-{scenario}-{}", run_id.short()))
}

/// Creates the run directory (and parents).
pub fn create(
    out: Option<&Path>,
    now: jiff::Timestamp,
    scenario: &str,
    run_id: &RunId,
) -> std::io::Result<PathBuf> {
    let dir = match out {
        Some(d) => d.to_path_buf(),
        None => default_dir(Path::new(DEFAULT_ROOT), now, scenario, run_id),
    };
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_name_has_time_scenario_and_id() {
        let id = RunId("20261126t154300z-0000abcd".into());
        let d = default_dir(
            Path::new("gameday-runs"),
            "2026-11-26T15:43:00Z".parse().unwrap(),
            "pod-loss",
            &id,
        );
        assert_eq!(
            d,
            Path::new("gameday-runs/20261126T154300Z-pod-loss-0000abcd")
        );
    }
}

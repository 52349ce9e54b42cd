//! Where a run's files go. One run, one directory: `journal.jsonl` is the
//! run's ledger, and a directory whose journal held two runs would report a
//! mix of both (one's id, the other's end time). So a run directory is
//! claimed by creating its journal exclusively, and a directory that already
//! holds a run is refused.
//!
//! - default: a fresh `./gameday-runs/<UTC timestamp>-<scenario>-<short id>/`;
//! - `--out DIR`: exactly DIR, which must not hold a run yet;
//! - `--out-parent DIR`: a fresh `<UTC timestamp>-<scenario>-<short id>/`
//!   inside DIR (what CI wants: a fixed place to upload, a new run each time).
//!
//! Names sort by time.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use crate::k8s::marks::RunId;

pub const DEFAULT_ROOT: &str = "gameday-runs";
pub const JOURNAL: &str = "journal.jsonl";

/// Where the user asked the run's files to go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Placement {
    /// A fresh subdirectory of `./gameday-runs`.
    #[default]
    Default,
    /// Exactly this directory (`--out`).
    Exact(PathBuf),
    /// A fresh subdirectory of this one (`--out-parent`).
    Under(PathBuf),
}

impl Placement {
    /// From the two flags (clap makes them exclusive).
    pub fn from_flags(out: Option<&Path>, out_parent: Option<&Path>) -> Self {
        match (out, out_parent) {
            (Some(d), _) => Placement::Exact(d.to_path_buf()),
            (None, Some(p)) => Placement::Under(p.to_path_buf()),
            (None, None) => Placement::Default,
        }
    }

    /// Refuses early, before anything connects to a cluster, when `--out`
    /// names a directory that already holds a run.
    pub fn check(&self) -> Result<(), RunDirError> {
        match self {
            Placement::Exact(d) if holds_run(d) => Err(RunDirError::HoldsRun(d.clone())),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunDirError {
    #[error(
        "{} already holds a run (its journal.jsonl); one run, one directory. \
         Pick a new directory, or use `--out-parent {}` to get a fresh subdirectory per run",
        .0.display(), .0.display()
    )]
    HoldsRun(PathBuf),
    #[error("creating the run directory {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Whether `dir` already holds a run's journal.
pub fn holds_run(dir: &Path) -> bool {
    dir.join(JOURNAL).exists()
}

pub fn default_dir(root: &Path, now: jiff::Timestamp, scenario: &str, run_id: &RunId) -> PathBuf {
    let ts = now.strftime("%Y%m%dT%H%M%SZ");
    root.join(format!("{ts}-{scenario}-{}", run_id.short()))
}

/// Creates the run directory (and parents) and claims it by creating an
/// empty `journal.jsonl` exclusively, so two runs racing for one `--out`
/// cannot both get it.
pub fn create(
    placement: &Placement,
    now: jiff::Timestamp,
    scenario: &str,
    run_id: &RunId,
) -> Result<PathBuf, RunDirError> {
    let dir = match placement {
        Placement::Exact(d) => d.clone(),
        Placement::Under(p) => default_dir(p, now, scenario, run_id),
        Placement::Default => default_dir(Path::new(DEFAULT_ROOT), now, scenario, run_id),
    };
    let io = |source| RunDirError::Io {
        path: dir.clone(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dir.join(JOURNAL))
    {
        Ok(_) => Ok(dir),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(RunDirError::HoldsRun(dir)),
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u32) -> RunId {
        RunId::generate("2026-11-26T15:43:00Z".parse().unwrap(), n)
    }

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

    #[test]
    fn an_out_directory_that_holds_a_run_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let out = Placement::Exact(tmp.path().join("run"));
        let now = jiff::Timestamp::now();
        assert!(out.check().is_ok(), "a new directory is fine");
        let dir = create(&out, now, "s", &id(1)).unwrap();
        assert!(holds_run(&dir));
        assert!(matches!(out.check(), Err(RunDirError::HoldsRun(_))));
        assert!(matches!(
            create(&out, now, "s", &id(2)),
            Err(RunDirError::HoldsRun(_))
        ));
    }

    #[test]
    fn an_empty_existing_out_directory_is_accepted() {
        let tmp = tempfile::tempdir().unwrap();
        let out = Placement::Exact(tmp.path().to_path_buf());
        assert!(out.check().is_ok());
        assert_eq!(
            create(&out, jiff::Timestamp::now(), "s", &id(1)).unwrap(),
            tmp.path()
        );
    }

    #[test]
    fn out_parent_gives_each_run_its_own_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let parent = Placement::Under(tmp.path().to_path_buf());
        let now = jiff::Timestamp::now();
        let a = create(&parent, now, "s", &id(1)).unwrap();
        let b = create(&parent, now, "s", &id(2)).unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(tmp.path()) && b.starts_with(tmp.path()));
        assert!(parent.check().is_ok(), "the parent itself is never a run");
    }
}

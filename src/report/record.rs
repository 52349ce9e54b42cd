//! Recording a finished run in the history database: the mapping from the
//! report to the history's own smaller `RunRecord` (docs/history.md), and
//! the end-of-run call that treats any database trouble as a warning. The
//! run directory is written first, so a locked or corrupt database never
//! loses a run.

use std::path::{Path, PathBuf};

use super::model::RunReport;
use crate::config::Config;
use crate::history::{self, ActionItem, RunRecord};

/// The environment variable the history commands read too (`--db`).
pub const DB_ENV: &str = "GAMEDAY_HISTORY_DB";

fn name<T: serde::Serialize>(v: &T) -> Option<String> {
    match serde_json::to_value(v).ok()? {
        serde_json::Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

impl From<(&RunReport, &Path)> for RunRecord {
    fn from((r, dir): (&RunReport, &Path)) -> RunRecord {
        let m = &r.scorecard.metrics;
        RunRecord {
            run_id: r.run_id.clone(),
            scenario: r.scenario.name.clone(),
            severity: r.scorecard.severity.clone(),
            status: r.status.as_str().to_string(),
            exit_code: r.exit_code,
            started_at: r.started,
            ended_at: r.ended,
            ttd_seconds: m.ttd_seconds,
            tta_seconds: m.tta_seconds,
            ttm_seconds: m.ttm_seconds,
            ttr_seconds: m.ttr_seconds,
            score: r.scorecard.composite,
            passed: r.scorecard.passed,
            run_dir: dir.to_path_buf(),
            // The report's items have no id; their order is deterministic,
            // so A1, A2, … match the same items when a run is re-recorded.
            action_items: r
                .action_items
                .iter()
                .enumerate()
                .map(|(i, a)| ActionItem {
                    id: format!("A{}", i + 1),
                    title: a.title.clone(),
                    owner_role: name(&a.owner_role),
                    due: Some(a.due),
                    priority: name(&a.priority),
                    done_at: None,
                })
                .collect(),
        }
    }
}

/// The database for a run: `GAMEDAY_HISTORY_DB`, else the config's
/// `history.path`, else the per-user default.
pub fn db_path(config: &Config) -> Result<PathBuf, history::HistoryError> {
    let env = std::env::var_os(DB_ENV).filter(|v| !v.is_empty());
    history::resolve_path(env.as_deref().map(Path::new), config)
}

/// Records the run; returns the database path, or a warning to print.
pub fn record(report: &RunReport, dir: &Path, config: &Config) -> Result<PathBuf, String> {
    let db = db_path(config).map_err(|e| format!("history not recorded: {e}"))?;
    history::record(&db, &RunRecord::from((report, dir)))
        .map_err(|e| format!("history not recorded in {}: {e}", db.display()))?;
    Ok(db)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_the_report_and_records_it_twice_in_place() {
        let r = crate::report::fixture::report(false);
        let rec = RunRecord::from((&r, Path::new("/runs/x")));
        assert_eq!(rec.run_id, r.run_id);
        assert_eq!(rec.status, "failed");
        assert_eq!(rec.score, r.scorecard.composite);
        assert_eq!(rec.action_items.len(), r.action_items.len());
        assert!(!rec.action_items.is_empty());
        assert_eq!(rec.action_items[0].id, "A1");
        assert!(
            rec.action_items[0]
                .priority
                .as_deref()
                .is_some_and(|p| p.starts_with('P'))
        );
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.db");
        // The history only points at run directories that exist.
        let rec = RunRecord::from((&r, dir.path()));
        history::record(&db, &rec).unwrap();
        history::record(&db, &rec).unwrap();
        let runs = history::Store::open(&db)
            .unwrap()
            .runs(&Default::default())
            .unwrap();
        assert_eq!(runs.len(), 1);
    }

    #[test]
    fn a_database_that_cannot_be_opened_is_a_warning_naming_it() {
        let r = crate::report::fixture::report(true);
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("not-a-dir");
        std::fs::write(&db, b"x").unwrap();
        let mut config = Config::default();
        config.history.path = Some(db.join("h.db"));
        // Only when the environment does not override the config.
        if std::env::var_os(DB_ENV).is_none() {
            let err = record(&r, dir.path(), &config).unwrap_err();
            assert!(err.contains("not-a-dir"), "{err}");
        }
    }
}

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
            kind: if r.kind.is_some() {
                history::KIND_DRILL
            } else {
                history::KIND_SCENARIO
            }
            .to_string(),
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
                    owner_role: Some(a.owner_role.label().to_string()),
                    due: Some(a.due),
                    priority: name(&a.priority),
                    done_at: None,
                    rule: Some(a.rule.as_str().to_string()),
                    subject: Some(a.subject.clone()),
                })
                .collect(),
            reason: None,
        }
    }
}

/// The database for a run: `GAMEDAY_HISTORY_DB`, else the config's
/// `history.path`, else the per-user default.
pub fn db_path(config: &Config) -> Result<PathBuf, history::HistoryError> {
    let env = std::env::var_os(DB_ENV).filter(|v| !v.is_empty());
    history::resolve_path(env.as_deref().map(Path::new), config)
}

/// Why a run is missing from the history. A warning, never a failed run:
/// the reports on disk are the record; the history is an index over them.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("history not recorded: {0}")]
    NoDatabase(#[source] history::HistoryError),
    #[error("history not recorded in {}: {source}", history::display_location(.db))]
    NotWritten {
        db: PathBuf,
        #[source]
        source: history::HistoryError,
    },
}

/// Records the run with its journal; returns where (printable: a
/// PostgreSQL URL without its password), or a warning to print.
pub fn record(report: &RunReport, dir: &Path, config: &Config) -> Result<String, RecordError> {
    let db = db_path(config).map_err(RecordError::NoDatabase)?;
    let journal = journal_lines(dir);
    let run = RunRecord::from((report, dir));
    if let Err(source) = history::record(&db, &run, journal.as_deref()) {
        return Err(RecordError::NotWritten { db, source });
    }
    Ok(history::display_location(&db))
}

/// The run's `journal.jsonl`, line by line, for the history to keep; None
/// when it cannot be read (the run row is still recorded).
fn journal_lines(dir: &Path) -> Option<Vec<String>> {
    let path = dir.join(crate::engine::rundir::JOURNAL);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text.lines().map(str::to_string).collect()),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "journal not kept in the history");
            None
        }
    }
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
        history::record(&db, &rec, None).unwrap();
        history::record(&db, &rec, None).unwrap();
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
            assert!(err.to_string().contains("not-a-dir"), "{err}");
        }
    }

    /// Three failing runs of one scenario and a passing one find the same
    /// gaps: `gameday actions` must show each once, with how many runs found
    /// it, owned by a role name, and `done` must close every occurrence.
    #[test]
    fn action_items_merge_across_runs_with_counts_and_role_owners() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.db");
        let mut store = history::Store::open(&db).unwrap();
        let mut recorded = Vec::new();
        for (i, good) in [false, false, true, false].into_iter().enumerate() {
            let mut r = crate::report::fixture::report(good);
            r.run_id = format!("run-{i}");
            r.started = crate::report::fixture::t(i as i64 * 86_400);
            let run_dir = dir.path().join(&r.run_id);
            std::fs::create_dir_all(&run_dir).unwrap();
            store
                .record(&RunRecord::from((&r, run_dir.as_path())))
                .unwrap();
            recorded.push(r);
        }
        let per_run: usize = recorded.iter().map(|r| r.action_items.len()).sum();
        let merged = store.merged_actions(false, None).unwrap();
        assert!(merged.len() < per_run, "{merged:#?}");
        // One row per (scenario, rule, subject).
        let mut keys: Vec<_> = merged.iter().map(|m| (&m.rule, &m.subject)).collect();
        keys.dedup();
        assert_eq!(keys.len(), merged.len());
        let detection = merged
            .iter()
            .find(|m| m.rule.as_deref() == Some("fix-detection"))
            .expect("fix-detection item");
        assert_eq!(detection.subject.as_deref(), Some("CheckoutHighErrorRate"));
        assert_eq!(detection.occurrences, 3, "{detection:#?}");
        assert_eq!(detection.open, 3);
        assert_eq!(detection.first_seen, recorded[0].started);
        assert_eq!(detection.last_seen, recorded[3].started);
        assert_eq!(detection.last_run_id, "run-3");
        assert_eq!(detection.owner_role.as_deref(), Some("alert owner"));
        // The noise item was found by all four runs.
        let noise = merged
            .iter()
            .find(|m| m.rule.as_deref() == Some("reduce-noise"))
            .unwrap();
        assert_eq!(noise.occurrences, 4);
        // Owners are role names, never serde shapes.
        for m in &merged {
            let owner = m.owner_role.as_deref().unwrap_or_default();
            assert!(
                !owner.contains('{') && !owner.contains('"') && owner.contains(' '),
                "owner {owner:?} of {}",
                m.title
            );
        }
        let labels: Vec<&str> = merged
            .iter()
            .filter_map(|m| m.owner_role.as_deref())
            .collect();
        assert!(labels.contains(&"on-call rotation lead"), "{labels:?}");

        // Done closes every occurrence; a later run finding it reopens it.
        let number = detection.number.to_string();
        let done = store
            .mark_done(&number, crate::report::fixture::t(400_000))
            .unwrap();
        let history::Completion::Done(d) = done else {
            panic!("{done:?}")
        };
        assert_eq!((d.open, d.occurrences), (0, 3));
        assert!(d.done_at.is_some());
        assert!(
            store
                .merged_actions(true, None)
                .unwrap()
                .iter()
                .all(|m| m.rule.as_deref() != Some("fix-detection"))
        );
        let mut again = crate::report::fixture::report(false);
        again.run_id = "run-4".into();
        again.started = crate::report::fixture::t(500_000);
        let run_dir = dir.path().join("run-4");
        std::fs::create_dir_all(&run_dir).unwrap();
        store
            .record(&RunRecord::from((&again, run_dir.as_path())))
            .unwrap();
        let reopened = store.merged_action(&number).unwrap();
        assert_eq!((reopened.open, reopened.occurrences), (1, 4));
        assert_eq!(reopened.done_at, None);
        assert_eq!(reopened.number, detection.number, "the number is stable");
    }
}

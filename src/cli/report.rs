//! `gameday report RUN_DIR [-f md|html|json|junit]`: re-renders a run's
//! reports from its journal alone, so a run that crashed or was killed (no
//! result.json) can still be read, marked incomplete (S7), and a report
//! format added later can be produced for old runs.
//!
//! `--run-id ID` rebuilds a run from the journal the history keeps, for a
//! run whose directory is gone (a scheduled Job's pod deleted with its
//! volume): the reports, and the journal itself, are written to RUN_DIR
//! (default `./ID`).

use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;

use super::{GlobalArgs, exit};
use crate::engine::Journal;
use crate::engine::rundir::JOURNAL;
use crate::report::{files, html, junit, markdown, replay};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Md,
    Html,
    Json,
    Junit,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The run directory (holds journal.jsonl). With --run-id, where the
    /// rebuilt run is written (default: ./RUN_ID).
    #[arg(value_name = "RUN_DIR", required_unless_present = "run_id")]
    pub run_dir: Option<PathBuf>,
    /// Rebuild this run from the journal kept in the history (--db,
    /// GAMEDAY_HISTORY_DB or history.path) instead of its directory.
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    #[command(flatten)]
    pub db: super::history::DbArgs,
    /// Write only this format, to stdout (default: every file, into RUN_DIR).
    #[arg(short = 'f', long, value_enum)]
    pub format: Option<Format>,
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<i32> {
    if let Some(run_id) = &args.run_id {
        return from_history(run_id, &args, global);
    }
    let Some(run_dir) = &args.run_dir else {
        return Ok(exit::USAGE);
    };
    let report = match replay::from_run_dir(run_dir) {
        Ok(r) => r,
        Err(e) => {
            crate::errln!("error: {e}");
            return Ok(exit::USAGE);
        }
    };
    let Some(format) = args.format else {
        let paths = files::write_all(run_dir, &report)?;
        crate::errln!(
            "run {} {}: wrote {}",
            report.run_id,
            report.status.as_str(),
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        // Re-recording updates the run in place (a killed run gets its row).
        let config = crate::config::Config::load(global.config.as_deref()).unwrap_or_default();
        match crate::report::record::record(&report, run_dir, &config) {
            Ok(db) => crate::errln!("recorded in the history ({db})"),
            Err(w) => crate::errln!("warning: {w}"),
        }
        return Ok(exit::OK);
    };
    print(&report, format)
}

/// `gameday report --run-id ID`: the run's journal from the history,
/// replayed as from its directory. The rebuilt directory is not recorded
/// again: the history already has the run.
fn from_history(run_id: &str, args: &Args, global: &GlobalArgs) -> anyhow::Result<i32> {
    let Some(store) = super::history::open_store(&args.db, global)? else {
        return Ok(exit::USAGE);
    };
    let lines = store.journal(run_id)?;
    if lines.is_empty() {
        crate::errln!(
            "error: no journal for run {run_id} in the history {}\n  hint: `gameday history` lists the runs; runs recorded before schema v6 kept no journal",
            store.path().display()
        );
        return Ok(exit::USAGE);
    }
    let source = PathBuf::from(format!("{}#{run_id}", store.path().display()));
    let report = match replay::from_entries(&source, &Journal::parse_lines(&lines)) {
        Ok(r) => r,
        Err(e) => {
            crate::errln!("error: {e}");
            return Ok(exit::USAGE);
        }
    };
    if let Some(format) = args.format {
        return print(&report, format);
    }
    let dir = args
        .run_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(run_id));
    std::fs::create_dir_all(&dir)?;
    let mut journal = lines.join("\n");
    journal.push('\n');
    std::fs::write(dir.join(JOURNAL), journal)?;
    let paths = files::write_all(&dir, &report)?;
    crate::errln!(
        "run {} {}: rebuilt from the history into {} ({} files)",
        report.run_id,
        report.status.as_str(),
        dir.display(),
        paths.len() + 1
    );
    Ok(exit::OK)
}

fn print(report: &crate::report::RunReport, format: Format) -> anyhow::Result<i32> {
    let text = match format {
        Format::Md => markdown::render(report),
        Format::Html => html::render(report),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(report)?;
            s.push('\n');
            s
        }
        Format::Junit => junit::render(report)?,
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(exit::OK)
}

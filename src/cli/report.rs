//! `gameday report RUN_DIR [-f md|html|json|junit]`: re-renders a run's
//! reports from its journal alone, so a run that crashed or was killed (no
//! result.json) can still be read, marked incomplete (S7), and a report
//! format added later can be produced for old runs.

use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;

use super::{GlobalArgs, exit};
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
    /// The run directory (holds journal.jsonl).
    #[arg(value_name = "RUN_DIR")]
    pub run_dir: PathBuf,
    /// Write only this format, to stdout (default: every file, into RUN_DIR).
    #[arg(short = 'f', long, value_enum)]
    pub format: Option<Format>,
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<i32> {
    let report = match replay::from_run_dir(&args.run_dir) {
        Ok(r) => r,
        Err(e) => {
            crate::errln!("error: {e}");
            return Ok(exit::USAGE);
        }
    };
    let Some(format) = args.format else {
        let paths = files::write_all(&args.run_dir, &report)?;
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
        match crate::report::record::record(&report, &args.run_dir, &config) {
            Ok(db) => crate::errln!("recorded in the history ({})", db.display()),
            Err(w) => crate::errln!("warning: {w}"),
        }
        return Ok(exit::OK);
    };
    let text = match format {
        Format::Md => markdown::render(&report),
        Format::Html => html::render(&report),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&report)?;
            s.push('\n');
            s
        }
        Format::Junit => junit::render(&report)?,
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(exit::OK)
}

//! `gameday actions list|done`: postmortem action items, tracked after the
//! run so that the completion rate (`gameday metrics`) measures whether the
//! team acts on what its game days find. The same item found by many runs is
//! one row with its count (`history::MergedAction`).

use std::io::Write;

use jiff::Timestamp;

use super::history::{DbArgs, fmt_time, open_store, write_columns};
use super::{GlobalArgs, OutputFormat, exit};
use crate::history::{Completion, MergedAction};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(subcommand)]
    pub command: ActionsCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ActionsCommand {
    /// List action items, one per scenario, rule and subject with how many
    /// runs found it, the ones due soonest first.
    List {
        /// Only items not done yet.
        #[arg(long)]
        open: bool,
        /// Only items from runs of this scenario.
        #[arg(long, value_name = "NAME")]
        scenario: Option<String>,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Mark an action item done in every run that found it (by the number
    /// `list` shows, or RUN_ID:ITEM_ID).
    Done {
        #[arg(value_name = "ID")]
        id: String,
    },
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<i32> {
    let Some(mut store) = open_store(&args.db, global)? else {
        return Ok(exit::USAGE);
    };
    let mut out = std::io::stdout().lock();
    match args.command {
        ActionsCommand::List {
            open,
            scenario,
            output,
        } => {
            let items = store.merged_actions(open, scenario.as_deref())?;
            if output == OutputFormat::Json {
                serde_json::to_writer_pretty(&mut out, &items)?;
                writeln!(out)?;
            } else if items.is_empty() {
                let which = if open {
                    "open action items"
                } else {
                    "action items"
                };
                writeln!(out, "no {which} in {}", store.path().display())?;
            } else {
                write_list(&mut out, &items)?;
            }
        }
        ActionsCommand::Done { id } => match store.mark_done(&id, Timestamp::now())? {
            Completion::Done(a) => {
                writeln!(out, "done: #{} {} ({})", a.number, a.title, found_in(&a))?
            }
            Completion::AlreadyDone(a) => writeln!(
                out,
                "already done: #{} {} (done {} UTC)",
                a.number,
                a.title,
                a.done_at.map_or("-".into(), fmt_time)
            )?,
        },
    }
    Ok(exit::OK)
}

/// `run ID` for an item one run found, `found in N runs, last ID` otherwise.
fn found_in(a: &MergedAction) -> String {
    if a.occurrences == 1 {
        format!("run {}", a.last_run_id)
    } else {
        format!("found in {} runs, last {}", a.occurrences, a.last_run_id)
    }
}

fn write_list(out: &mut impl Write, items: &[MergedAction]) -> std::io::Result<()> {
    let rows: Vec<[String; 8]> = items
        .iter()
        .map(|a| {
            [
                format!("#{}", a.number),
                a.done_at
                    .map_or("open".into(), |t| format!("done {}", fmt_time(t))),
                a.due.map_or("-".into(), |d| d.to_string()),
                a.priority.clone().unwrap_or_else(|| "-".into()),
                a.owner_role.clone().unwrap_or_else(|| "-".into()),
                a.occurrences.to_string(),
                a.scenario.clone(),
                a.title.clone(),
            ]
        })
        .collect();
    write_columns(
        out,
        &[
            "ID", "STATE", "DUE", "PRIORITY", "OWNER", "RUNS", "SCENARIO", "TITLE",
        ],
        &rows,
    )
}

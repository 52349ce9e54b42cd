//! Command-line interface. Conventions follow kubectl: global flags work
//! before or after the subcommand, `--context`/`--kubeconfig`/`KUBECONFIG`
//! select the cluster, and `-o text|json` picks the output format.
//!
//! Each subcommand lives in its own file with an `Args` struct and a `run`
//! function; this file only parses and dispatches.

mod actions;
mod completions;
mod demo;
mod drill;
mod drill_control;
mod halt;
mod history;
pub mod init;
mod init_drill;
mod logging;
mod metrics;
mod metrics_serve;
mod plan;
mod rbac;
mod readiness;
mod recover;
mod report;
mod respond;
pub(crate) mod run;
mod run_output;
mod sandbox;
mod schedule;
mod schema;
pub mod validate;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Exit codes live below the CLI (engine and report map outcomes to them);
/// re-exported so `cli::exit::OK` keeps reading naturally here.
pub use crate::exit;
/// Colour decisions live in `term`, the layer every printer depends on.
pub use crate::term::use_color;

#[derive(Debug, Parser)]
#[command(
    name = "gameday",
    version,
    about = "Chaos game days and incident-response drills for Kubernetes",
    long_about = "Run hypothesis-driven chaos game days: check the steady state, inject bounded \
                  faults, always revert them, and score how the incident was detected and answered."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand accepts, before or after its name.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// The kube context to use (default: the kubeconfig's current context).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Path to the kubeconfig file.
    #[arg(long, global = true, env = "KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The gameday config file (severity table, protected namespaces, endpoints).
    #[arg(long, global = true, env = "GAMEDAY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// More log output (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Log line format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// `-o` for commands that print data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the JSON Schema of the scenario format (for yaml-language-server).
    Schema(schema::Args),
    /// Print shell completions.
    Completions(completions::Args),
    /// Check scenario files and directories; report every mistake.
    Validate(validate::Args),
    /// Write a commented starter scenario for a fault type.
    Init(init::Args),
    /// Show what a run would touch (targets, limits, window, RBAC); change nothing.
    Plan(plan::Args),
    /// Run a game day: inject the faults, hold, and always revert them.
    Run(run::Args),
    /// Revert every gameday fault found in the cluster, from the objects' own undo data.
    Recover(recover::Args),
    /// The kill switch: revert every gameday fault and block new runs (--lift to undo).
    Halt(halt::Args),
    /// Print least-privilege RBAC (Role/ClusterRole + binding) for a scenario.
    Rbac(rbac::Args),
    /// Serve a simulated Kubernetes cluster on loopback (for demos, drills and tests).
    Sandbox(sandbox::Args),
    /// List the runs recorded in the history database.
    History(history::Args),
    /// Drill trends from the history: MTTD/MTTA/MTTR, pass rate, action completion.
    Metrics(metrics::Args),
    /// Track postmortem action items (list, done).
    Actions(actions::Args),
    /// Record a responder action in the running game day (ack, declare, assign, update, step, resolve, note).
    Respond(respond::Args),
    /// Re-render a run's reports from its journal (also a killed run's).
    Report(report::Args),
    /// A whole game day on the built-in sandbox: the place to start.
    Demo(demo::Args),
    /// Run a tabletop drill (`kind: Drill`): injects on a timeline, no cluster needed.
    Drill(drill::Args),
    /// Audit alerts, runbooks, routing, ownership and drill coverage (readiness checklist).
    Readiness(readiness::Args),
    /// The calendar of scheduled runs: list the schedules, show the next runs and why any would be skipped.
    Schedule(schedule::Args),
}

/// `--log-format json` or `--log-format=json` anywhere in the arguments.
fn asks_for_json_log(args: impl Iterator<Item = String>) -> bool {
    let args: Vec<String> = args.collect();
    args.windows(2)
        .any(|w| w[0] == "--log-format" && w[1] == "json")
        || args.iter().any(|a| a == "--log-format=json")
}

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            // The flags did not parse, but a CI log that asked for JSON must
            // still get nothing but JSON lines, even for a usage error.
            if e.use_stderr() && asks_for_json_log(std::env::args()) {
                crate::term::set_json(true);
                let message = e.to_string();
                crate::term::event(
                    "error",
                    serde_json::json!({"kind": "usage", "message": message.trim_end()}),
                    &message,
                );
                return code;
            }
            let _ = e.print();
            return code;
        }
    };
    logging::init(&cli.global);
    let result = match cli.command {
        Command::Schema(args) => schema::run(args),
        Command::Completions(args) => completions::run(args),
        Command::Validate(args) => validate::run(args, &cli.global),
        Command::Init(args) => init::run(args),
        Command::Plan(args) => plan::run(args, &cli.global),
        Command::Run(args) => run::run(args, &cli.global),
        Command::Recover(args) => recover::run(args, &cli.global),
        Command::Halt(args) => halt::run(args, &cli.global),
        Command::Rbac(args) => rbac::run(args, &cli.global),
        Command::Sandbox(args) => sandbox::run(args),
        Command::History(args) => history::run(args, &cli.global),
        Command::Metrics(args) => metrics::run(args, &cli.global),
        Command::Actions(args) => actions::run(args, &cli.global),
        Command::Respond(args) => respond::run(args, &cli.global),
        Command::Report(args) => report::run(args, &cli.global),
        Command::Demo(args) => demo::run(args, &cli.global),
        Command::Drill(args) => drill::run(args, &cli.global),
        Command::Readiness(args) => readiness::run(args, &cli.global),
        Command::Schedule(args) => schedule::run(args, &cli.global),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            crate::errln!("error: {e:#}");
            exit::FAILED
        }
    }
}

//! `gameday run SCENARIO`: parses the flags, loads the scenario and applies
//! the context guard, builds an [`app::RunRequest`] and shows what the run
//! says. The run itself (preflight, plan, confirmation, the engine and every
//! safety net) is `app::execute`, which `demo` and drills share.

use std::fmt::Display;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use super::{GlobalArgs, exit, run_output};
use crate::app::{self, Confirmation, RunRequest, RunSettings, RunView};
use crate::engine::plan::FaultPlan;
use crate::engine::{Outcome, rundir};
use crate::k8s::marks::RunId;
use crate::observe::preflight::Preflight;
use crate::observe::{EndpointArgs, Endpoints};
use crate::scenario::Scenario;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario file.
    #[arg(value_name = "SCENARIO")]
    pub scenario: PathBuf,
    /// Which scenario, when the file holds several.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The run directory (default: ./gameday-runs/<UTC time>-<scenario>-<id>/).
    /// It must not hold a run yet: one run, one directory.
    #[arg(long, value_name = "DIR", conflicts_with = "out_parent")]
    pub out: Option<PathBuf>,
    /// Put the run in a fresh <UTC time>-<scenario>-<id>/ directory inside DIR
    /// (for CI: a fixed place to collect, a new directory per run).
    #[arg(long, value_name = "DIR")]
    pub out_parent: Option<PathBuf>,
    /// Do not ask for confirmation on a non-sandbox context.
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// CI mode: implies --yes and plain log lines (also when CI is set).
    #[arg(long)]
    pub ci: bool,
    /// Most API calls in flight at once.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: u16,
    /// Where the responder API (and the Alertmanager webhook) listens.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub api_listen: std::net::SocketAddr,
    /// Allow --api-listen on an address other than loopback (the API and
    /// the web console are then reachable from other machines).
    #[arg(long)]
    pub api_allow_remote: bool,
    /// Also write the run's API token to this file (0600), e.g. the
    /// `credentials_file` of an Alertmanager webhook receiver.
    #[arg(long, value_name = "FILE")]
    pub api_token_file: Option<PathBuf>,
    #[command(flatten)]
    pub endpoints: EndpointArgs,
    #[command(flatten)]
    pub scheduled: super::schedule::ScheduledArgs,
}

/// `CI` set to anything but empty, `0` or `false`.
pub fn ci_env() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

fn confirm(context: &str) -> bool {
    crate::err!(
        "This will inject faults into context `{context}`. Type the context name to continue: "
    );
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).is_ok() && line.trim() == context
}

/// `gameday run`'s stderr (and a hybrid drill's, while it prepares its
/// cluster): the lines of `run_output`, and the prompt.
pub(super) struct CliView {
    /// Whether the run goes under ./gameday-runs, where `gameday respond`
    /// finds it without being told (it shapes the hint printed).
    pub(super) default_runs_root: bool,
    /// Whether the console link may carry the token (not under --ci or
    /// JSON logs, which are kept and shared).
    pub(super) console_token: bool,
}

impl RunView for CliView {
    fn error(&self, message: &dyn Display) {
        run_output::error(message);
    }
    fn say(&self, line: &dyn Display) {
        crate::errln!("{line}");
    }
    fn halted(&self, namespace: &str) {
        run_output::halted(namespace);
    }
    fn preflight_failed(&self, pre: &Preflight) {
        run_output::preflight_failed(pre);
    }
    fn plan(&self, scenario: &Scenario, context: &str, plans: &[FaultPlan]) {
        run_output::plan(scenario, context, plans);
    }
    fn confirm(&self, context: &str) -> Confirmation {
        if !std::io::stdin().is_terminal() {
            Confirmation::CannotAsk
        } else if confirm(context) {
            Confirmation::Yes
        } else {
            Confirmation::No
        }
    }
    fn started(&self, run_id: &RunId, run_dir: &Path) {
        run_output::started(run_id, run_dir);
    }
    fn responder_api(&self, url: &str, token_file: &Path) {
        run_output::responder_api(url, token_file, self.default_runs_root, self.console_token);
    }
    fn ended(&self, outcome: &Outcome, journal: &Path, crashed: bool) {
        run_output::ended(outcome, journal, crashed);
    }
}

/// The flags as a request for the app layer; a refusal (bad flags, an
/// invalid scenario, a context the guard refuses) is printed and is the
/// exit code.
fn request(args: &Args, global: &GlobalArgs) -> Result<RunRequest, i32> {
    let ci = args.ci || ci_env();
    let placement = rundir::Placement::from_flags(args.out.as_deref(), args.out_parent.as_deref());
    if let Err(e) = placement.check() {
        crate::errln!("error: {e}");
        return Err(exit::USAGE);
    }
    run_output::check_api_listen(args.api_listen, args.api_allow_remote)?;
    let (config, scenario) = super::plan::load(global, &args.scenario, args.name.as_deref())?;
    // Before the guard and any connection: a skipped run touches nothing.
    let gate = super::schedule::Gate {
        args: &args.scheduled,
        kind: crate::history::KIND_SCENARIO,
        name: &scenario.metadata.name,
        pages: super::schedule::scenario_pages(&scenario),
        placement: &placement,
    };
    super::schedule::gate(&gate, &config)?;
    let target = super::plan::guarded_target(global, &scenario, &config)?;
    let endpoints = Endpoints::resolve(&args.endpoints, &config).map_err(|e| {
        run_output::error(e);
        exit::USAGE
    })?;
    Ok(RunRequest {
        scenario,
        config,
        target,
        endpoints,
        placement,
        settings: RunSettings {
            concurrency: args.concurrency as usize,
            confirmed: args.yes || ci,
            live_view: !ci && !crate::term::json() && std::io::stderr().is_terminal(),
            api_listen: args.api_listen,
            api_token_file: args.api_token_file.clone(),
        },
    })
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<i32> {
    let req = match request(&args, global) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let view = CliView {
        default_runs_root: args.out.is_none(),
        console_token: !(args.ci || ci_env() || crate::term::json()),
    };
    let rt = super::plan::runtime()?;
    let end = rt.block_on(app::execute(req, &view))?;
    Ok(end.exit_code())
}

//! `gameday drill FILE`: runs a tabletop drill (shared/drill-v1.md) with no
//! cluster. Parses the flags, loads and validates the drill, and hands it to
//! `tabletop::run`; prints the scorecard and objectives at the end. Exit 0
//! when the pass mark is met, 1 when it is not, 2 for invalid input.

use std::io::IsTerminal;
use std::path::PathBuf;

use super::{GlobalArgs, exit};
use crate::config::Config;
use crate::diag;
use crate::engine::rundir;
use crate::observe::{EndpointArgs, Endpoints};
use crate::tabletop::hybrid::Cluster;
use crate::tabletop::{DrillRequest, DrillSettings};

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<DrillCommand>,
    /// The drill file (`kind: Drill`).
    #[arg(value_name = "FILE", required = true)]
    pub file: Option<PathBuf>,
    /// Drill seconds per wall-clock second (overrides the drill's `timeScale`).
    #[arg(long, value_name = "N")]
    pub speed: Option<f64>,
    /// The run directory (default: ./gameday-runs/<UTC time>-<drill>-<id>/).
    #[arg(long, value_name = "DIR", conflicts_with = "out_parent")]
    pub out: Option<PathBuf>,
    /// Put the run in a fresh directory inside DIR.
    #[arg(long, value_name = "DIR")]
    pub out_parent: Option<PathBuf>,
    /// Plain progress lines, no terminal drawing (also when CI is set).
    #[arg(long)]
    pub ci: bool,
    /// Where the responder API (and the Alertmanager webhook) listens.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub api_listen: std::net::SocketAddr,
    /// Allow --api-listen on an address other than loopback (the API and
    /// the web console are then reachable from other machines).
    #[arg(long)]
    pub api_allow_remote: bool,
    /// Also write the run's API token to this file (0600).
    #[arg(long, value_name = "FILE")]
    pub api_token_file: Option<PathBuf>,
    /// Also write the facilitator's token to this file (0600). It is
    /// always in the run directory's `facilitator-token`; participants'
    /// tokens cannot control the drill.
    #[arg(long, value_name = "FILE")]
    pub facilitator_token_file: Option<PathBuf>,
    /// Hybrid drills: do not ask before injecting into a non-sandbox context.
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Hybrid drills: most API calls in flight at once.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: u16,
    #[command(flatten)]
    pub endpoints: EndpointArgs,
    #[command(flatten)]
    pub scheduled: super::schedule::ScheduledArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum DrillCommand {
    /// The facilitator's controls of a running drill: pause | resume | inject ID | skip ID | hint TEXT | end.
    Control(super::drill_control::Args),
}

fn load(global: &GlobalArgs, file: &std::path::Path) -> Result<(Config, crate::drill::Drill), i32> {
    let color = super::use_color();
    let config = Config::load(global.config.as_deref()).map_err(|d| {
        crate::errln!("{}", diag::render_all(&d, color));
        exit::USAGE
    })?;
    let mut drills =
        crate::drill::load_file(file, &config, &crate::faults::Registry).map_err(|d| {
            crate::errln!("{}", diag::render_all(&d, color));
            exit::USAGE
        })?;
    if drills.len() != 1 {
        crate::errln!(
            "error: {} holds {} drills; one drill per file",
            file.display(),
            drills.len()
        );
        return Err(exit::USAGE);
    }
    Ok((config, drills.remove(0)))
}

fn request(args: &Args, global: &GlobalArgs) -> Result<DrillRequest, i32> {
    if let Some(s) = args.speed
        && !(s > 0.0 && s.is_finite())
    {
        crate::errln!("error: --speed must be above 0, not {s}");
        return Err(exit::USAGE);
    }
    let placement = rundir::Placement::from_flags(args.out.as_deref(), args.out_parent.as_deref());
    if let Err(e) = placement.check() {
        crate::errln!("error: {e}");
        return Err(exit::USAGE);
    }
    let Some(file) = &args.file else {
        return Err(exit::USAGE);
    };
    super::run_output::check_api_listen(args.api_listen, args.api_allow_remote)?;
    let (config, drill) = load(global, file)?;
    let gate = super::schedule::Gate {
        args: &args.scheduled,
        kind: crate::history::KIND_DRILL,
        name: &drill.metadata.name,
        pages: super::schedule::drill_pages(&drill),
        placement: &placement,
    };
    super::schedule::gate(&gate, &config)?;
    let endpoints = Endpoints::resolve(&args.endpoints, &config).map_err(|e| {
        crate::errln!("error: {e}");
        exit::USAGE
    })?;
    let ci = args.ci || super::run::ci_env();
    Ok(DrillRequest {
        cluster: None,
        drill,
        config,
        placement,
        settings: DrillSettings {
            speed: args.speed,
            live_view: !ci && !crate::term::json() && std::io::stderr().is_terminal(),
            api_listen: args.api_listen,
            api_token_file: args.api_token_file.clone(),
            alertmanager: endpoints.alertmanager,
            facilitator_token_file: args.facilitator_token_file.clone(),
            alert_resend: crate::tabletop::alerts::RESEND,
            console_tokens: !ci && !crate::term::json(),
        },
    })
}

/// A hybrid drill's cluster, prepared as `gameday run` prepares one (the
/// context guard of the drill's `target`, then `app::prepare`: kill switch,
/// preflight, permissions, plan, dry run, confirmation), before the drill
/// writes anything. A tabletop drill needs none and never connects.
/// Runs on the drill's own runtime: the client it connects lives there.
async fn prepare_cluster(
    args: &Args,
    global: &GlobalArgs,
    drill: &DrillRequest,
) -> Result<Option<Cluster>, i32> {
    if !drill.drill.spec.is_hybrid() {
        return Ok(None);
    }
    let endpoints = Endpoints::resolve(&args.endpoints, &drill.config).map_err(|e| {
        crate::errln!("error: {e}");
        exit::USAGE
    })?;
    let scenario = drill.drill.to_scenario(endpoints.alertmanager.is_some());
    let target = super::plan::guarded_target(global, &scenario, &drill.config)?;
    let concurrency = args.concurrency as usize;
    let req = crate::app::RunRequest {
        scenario,
        config: drill.config.clone(),
        target: target.clone(),
        endpoints,
        placement: drill.placement.clone(),
        settings: crate::app::RunSettings {
            concurrency,
            confirmed: args.yes || args.ci || super::run::ci_env(),
            live_view: false,
            api_listen: args.api_listen,
            api_token_file: None,
        },
    };
    let view = super::run::CliView {
        default_runs_root: false,
        console_token: false,
    };
    let prepared = crate::app::prepare(&req, &view).await?;
    Ok(Some(Cluster {
        kube: prepared.kube,
        target,
        plans: prepared.plans,
        concurrency,
    }))
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<i32> {
    if let Some(DrillCommand::Control(c)) = args.command {
        return super::drill_control::run(c);
    }
    let mut req = match request(&args, global) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    if req.settings.alertmanager.is_none()
        && req.drill.spec.injects.iter().any(|i| i.alert.is_some())
    {
        crate::errln!(
            "note: no Alertmanager configured (GAMEDAY_ALERTMANAGER_URL or alertmanager.url): alert injects are delivered to the participants directly, and detection is not scored"
        );
    }
    let rt = super::plan::runtime()?;
    let ran = rt.block_on(async {
        match prepare_cluster(&args, global, &req).await {
            Ok(cluster) => req.cluster = cluster,
            Err(code) => return Ok(Err(code)),
        }
        crate::tabletop::run(req).await.map(Ok)
    });
    let end = match ran {
        Ok(Ok(end)) => end,
        Ok(Err(code)) => return Ok(code),
        Err(e @ crate::tabletop::TabletopError::Hybrid(_)) => {
            crate::errln!("error: {e}");
            return Ok(exit::USAGE);
        }
        Err(e) => return Err(e.into()),
    };
    crate::report::terminal::print(&end.report.scorecard);
    for o in &end.report.objectives {
        let at = o
            .at_seconds
            .map_or(String::new(), |t| format!(" at {t:.1}s"));
        crate::errln!(
            "objective {}: {}{at}",
            o.id,
            if o.met { "met" } else { "not met" }
        );
    }
    crate::errln!(
        "drill {}: {} (reports in {})",
        end.report.run_id,
        end.report.status.as_str(),
        end.run_dir.display()
    );
    Ok(end.exit_code)
}

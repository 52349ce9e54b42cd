//! `gameday run SCENARIO`: preflight (load, context guard, plan with blast
//! radius, confirmation), then the engine. Every exit path reverts (S2): the
//! engine's own revert tail for normal ends, guardrails, errors, SIGINT and
//! SIGTERM; a drop guard plus a panic hook for panics; and `gameday
//! recover` by label for SIGKILL.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use rand::RngExt;
use serde_json::json;

use super::{GlobalArgs, exit, run_output};
use crate::engine::gates::{ProbeDisplay, SteadyGates};
use crate::engine::guard::{RevertGuard, install_panic_hook};
use crate::engine::halt;
use crate::engine::plan::plan_all;
use crate::engine::progress::Progress;
use crate::engine::recover::Filter;
use crate::engine::{Journal, Observer, Outcome, RunOptions, Runner, Status, StopHandle, rundir};
use crate::k8s::marks::RunId;
use crate::observe::preflight::{self, Needs, Targets};
use crate::observe::{EndpointArgs, Endpoints};
use crate::scenario::TargetKind;

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
    /// Also write the run's API token to this file (0600), e.g. the
    /// `credentials_file` of an Alertmanager webhook receiver.
    #[arg(long, value_name = "FILE")]
    pub api_token_file: Option<PathBuf>,
    #[command(flatten)]
    pub endpoints: EndpointArgs,
}

/// How long each preflight reachability check may take.
const PREFLIGHT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

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

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<i32> {
    let ci = args.ci || ci_env();
    let yes = args.yes || ci;
    let placement = rundir::Placement::from_flags(args.out.as_deref(), args.out_parent.as_deref());
    if let Err(e) = placement.check() {
        crate::errln!("error: {e}");
        return Ok(exit::USAGE);
    }
    let (config, scenario) = match super::plan::load(global, &args.scenario, args.name.as_deref()) {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let target = match super::plan::guarded_target(global, &scenario, &config) {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    let endpoints = match Endpoints::resolve(&args.endpoints, &config) {
        Ok(e) => e,
        Err(e) => {
            run_output::error(e);
            return Ok(exit::USAGE);
        }
    };
    let rt = super::plan::runtime()?;
    rt.block_on(async move {
        let kube = match super::plan::connect(&target).await {
            Ok(k) => k,
            Err(code) => return Ok(code),
        };
        // A halted cluster refuses before anything else is said or written:
        // no plan, no responder API, no run directory, no history row.
        match halt::is_halted(&kube, &config.halt_namespace).await {
            Ok(false) => {}
            Ok(true) => {
                run_output::halted(&config.halt_namespace);
                return Ok(exit::ABORTED);
            }
            Err(e) => {
                run_output::error(format_args!(
                    "cannot read the kill switch: {e}; nothing was changed"
                ));
                return Ok(exit::UNREACHABLE);
            }
        }
        // Everything the run reads must answer before anything is changed (exit 4).
        let pre = preflight::run(
            Needs::of(&scenario),
            Targets {
                prometheus: endpoints.prometheus.as_ref(),
                alertmanager: endpoints.alertmanager.as_ref(),
                kube: Some(&kube.client),
            },
            PREFLIGHT_TIMEOUT,
        )
        .await;
        if !pre.ok() {
            run_output::preflight_failed(&pre);
            return Ok(exit::UNREACHABLE);
        }
        let mut reader = crate::observe::Observer::new()?.with_kube(kube.client.clone());
        if let Some(p) = endpoints.prometheus.clone() {
            reader = reader.with_prometheus(p);
        }
        let concurrency = args.concurrency as usize;
        let plans = match plan_all(&kube, &scenario, &config, concurrency).await {
            Ok(p) => p,
            Err(e) => {
                run_output::error(format_args!("{e}; nothing was changed"));
                return Ok(super::plan::plan_error_code(&e));
            }
        };
        run_output::plan(&scenario, &target.context, &plans);
        if !target.is_sandbox() && !yes {
            if !std::io::stdin().is_terminal() {
                run_output::error(format_args!(
                    "context `{}` is not the sandbox; pass --yes to run without a prompt",
                    target.context
                ));
                return Ok(exit::USAGE);
            }
            if !confirm(&target.context) {
                crate::errln!("not confirmed; nothing was changed");
                return Ok(exit::USAGE);
            }
        }

        let now = jiff::Timestamp::now();
        let run_id = RunId::generate(now, rand::rng().random());
        let run_dir = match rundir::create(&placement, now, &scenario.metadata.name, &run_id) {
            Ok(d) => d,
            Err(e @ rundir::RunDirError::HoldsRun(_)) => {
                crate::errln!("error: {e}; nothing was changed");
                return Ok(exit::USAGE);
            }
            Err(e) => return Err(e.into()),
        };
        let journal_path = run_dir.join("journal.jsonl");
        let journal = Arc::new(Journal::open(&journal_path)?);
        journal.append(
            "engine",
            "run.start",
            json!({
                "runId": run_id.0,
                "scenario": scenario.metadata.name,
                "context": target.context,
                "runDir": run_dir.display().to_string(),
                "faults": plans,
                // So `gameday report` can rebuild every output from the journal alone.
                "scenarioSpec": scenario,
                "config": config,
            }),
        )?;
        run_output::started(&run_id, &run_dir);

        // From here on something may be injected: arm every safety net
        // before the engine starts.
        install_panic_hook(journal_path.clone());
        let guard = RevertGuard::arm(
            target.clone(),
            Filter {
                run_id: Some(run_id.0.clone()),
                expired_only: false,
                namespaces: Some(scenario.spec.target.namespaces.clone()),
                nodes: scenario
                    .spec
                    .faults
                    .iter()
                    .any(|f| f.kind.target_kind() == TargetKind::Nodes),
                kinds: None,
            },
            journal_path.clone(),
        );
        let stop = StopHandle::new();
        stop.listen_for_signals()?;

        let tty = !ci && !crate::term::json() && std::io::stderr().is_terminal();
        let progress = Progress::new(tty);
        let feed = progress.feed();
        journal.set_tap(Box::new(move |e| feed.show(e)));
        let steady = SteadyGates::from_spec(
            reader,
            &scenario.spec.steady_state,
            ProbeDisplay::new(progress.multi()),
        );
        let scenario = Arc::new(scenario);
        let config = Arc::new(config);
        let response = match super::respond_start::start(
            &kube,
            &scenario,
            &config,
            &run_id,
            &run_dir,
            &journal,
            &args,
            endpoints.clone(),
        )
        .await
        {
            Ok(r) => r,
            Err(code) => {
                guard.disarm();
                return Ok(code);
            }
        };
        let report_slot = response.report_slot();
        let observers: Vec<Box<dyn Observer>> =
            vec![Box::new(progress), Box::new(steady), Box::new(response)];
        let runner = Runner {
            kube,
            scenario: scenario.clone(),
            config,
            run_id: run_id.clone(),
            run_dir: run_dir.clone(),
            journal: journal.clone(),
            observers,
            options: RunOptions {
                concurrency,
                ..RunOptions::default()
            },
            stop,
        };
        let mut crashed = false;
        let outcome = match tokio::spawn(runner.run(plans)).await {
            Ok(o) => o,
            Err(e) => {
                crashed = true;
                // The engine panicked: revert by label now, off the runtime.
                let _ = journal.append("engine", "run.crashed", json!({"error": e.to_string()}));
                let left = tokio::task::block_in_place(|| guard.revert_now());
                let status = if left == Ok(0) {
                    Status::Aborted
                } else {
                    Status::RevertFailed
                };
                let o = Outcome {
                    status,
                    reason: Some(format!("the engine crashed: {e}")),
                    run_id: run_id.0.clone(),
                };
                if !journal.ended() {
                    let _ = journal.append(
                        "engine",
                        "run.end",
                        json!({"status": o.status, "reason": o.reason, "exitCode": o.exit_code()}),
                    );
                }
                o
            }
        };
        guard.disarm();
        run_output::ended(&outcome, &journal_path, crashed);
        Ok(crate::respond::exit_code(&report_slot, &scenario, &outcome))
    })
}

//! `gameday demo [--keep] [--out DIR]`: the README's first command. Starts
//! the shop world in the in-process sandbox, runs a pod-loss game day with
//! autopilot responders through the same path as `gameday run`, prints the
//! scorecard and where the reports are. Every child process (Prometheus,
//! Alertmanager) is killed by PID on the way out, whatever the result.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{GlobalArgs, exit, run};
use crate::demo::{self, stack::Stack};
use crate::engine::rundir;
use crate::observe::EndpointArgs;
use crate::report::files;
use crate::sandbox::world::World;
use crate::sandbox::{Sandbox, SandboxHandle, SandboxOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Leave the sandbox running after the drill (until Ctrl-C), to poke at it with kubectl.
    #[arg(long)]
    pub keep: bool,
    /// The run directory (default: ./gameday-runs/<UTC time>-demo/). It must
    /// not hold a run yet: one run, one directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// CI mode: plain timestamped log lines, no progress bars (also when CI is set).
    #[arg(long)]
    pub ci: bool,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(crate::demo::port::free_loopback_port()?)
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<i32> {
    // Refused before the sandbox starts, and never listing an earlier run's
    // reports as this one's.
    if let Some(out) = &args.out
        && let Err(e) = rundir::Placement::Exact(out.clone()).check()
    {
        crate::errln!("error: {e}");
        return Ok(exit::USAGE);
    }
    let work = tempfile::Builder::new()
        .prefix("gameday-demo-")
        .tempdir()
        .context("creating the demo's temporary directory")?;
    let out = args.out.clone().unwrap_or_else(|| {
        let now = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ");
        Path::new("gameday-runs").join(format!("{now}-demo"))
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let sandbox = rt.block_on(Sandbox::start(SandboxOptions {
        objects: World::shop()?.to_objects(),
        ..SandboxOptions::default()
    }))?;
    let kubeconfig = work.path().join("kubeconfig");
    sandbox
        .write_kubeconfig(&kubeconfig, demo::CONTEXT)
        .with_context(|| format!("writing {}", kubeconfig.display()))?;
    crate::errln!(
        "demo: shop world running in the sandbox at {}",
        sandbox.api_url()
    );

    let api_port = free_port()?;
    let token_file = work.path().join("api-token");
    let (stack, scenario) = match start_stack(&rt, &sandbox, work.path(), api_port, &token_file) {
        Ok(v) => v,
        Err(e) => {
            rt.block_on(sandbox.shutdown());
            return Err(e);
        }
    };
    let scenario_path = work.path().join("demo-scenario.yaml");
    std::fs::write(&scenario_path, scenario)?;

    let (run_args, run_global) = run_request(
        &args,
        global,
        scenario_path,
        &out,
        stack.as_ref(),
        api_port,
        token_file,
        &kubeconfig,
    );
    // `gameday run` builds its own runtime; the sandbox keeps serving from
    // this one's worker threads meanwhile.
    let code = run::run(run_args, &run_global);

    let written = show_reports(&out);
    drop(stack);
    if args.keep && code.is_ok() {
        crate::errln!(
            "demo: the sandbox keeps running (Ctrl-C to stop). Try:\n  kubectl --kubeconfig {} get pods -n shop",
            kubeconfig.display()
        );
        rt.block_on(async {
            let _ = tokio::signal::ctrl_c().await;
        });
    }
    rt.block_on(sandbox.shutdown());
    let code = code?;
    Ok(if code == exit::OK || written.len() == 5 {
        code
    } else {
        exit::FAILED
    })
}

/// Prometheus and Alertmanager on loopback when they are installed, with the
/// scenario that uses them; otherwise the scenario with kubernetes and http
/// probes. On an error the caller stops the sandbox.
fn start_stack(
    rt: &tokio::runtime::Runtime,
    sandbox: &SandboxHandle,
    work: &Path,
    api_port: u16,
    token_file: &Path,
) -> anyhow::Result<(Option<Stack>, String)> {
    let tools = (
        demo::stack::find_on_path("prometheus"),
        demo::stack::find_on_path("prometheus-alertmanager"),
    );
    match tools {
        (Some(prom), Some(am)) => {
            let rules = work.join("rules");
            std::fs::create_dir_all(&rules)?;
            for (name, text) in demo::RULES {
                std::fs::write(rules.join(name), text)?;
            }
            let webhook = format!(
                "http://127.0.0.1:{api_port}{}",
                crate::respond::server::WEBHOOK_PATH
            );
            let stack = rt.block_on(Stack::start(
                &prom,
                &am,
                &rules,
                &sandbox.metrics_url(),
                &sandbox.scrape_auth(),
                &webhook,
                token_file,
            ));
            match stack {
                Ok(s) => {
                    crate::errln!(
                        "demo: Prometheus {} and Alertmanager {} scraping the sandbox (up == 1)",
                        s.prometheus_url,
                        s.alertmanager_url
                    );
                    Ok((Some(s), demo::SCENARIO_PROMETHEUS.to_string()))
                }
                Err(e) => Err(e).context("starting Prometheus and Alertmanager for the demo"),
            }
        }
        _ => {
            crate::errln!(
                "demo: Prometheus/Alertmanager not found; running with kubernetes and http probes. \
                 For real SLO queries and alerts: apt-get install prometheus prometheus-alertmanager"
            );
            let text = demo::SCENARIO_KUBERNETES
                .replace("@SANDBOX_HEALTHZ@", &sandbox.kubelet_healthz_url());
            Ok((None, text))
        }
    }
}

/// The `gameday run` the demo performs: its scenario, on the sandbox's
/// context, with the stack's endpoints.
#[allow(clippy::too_many_arguments)]
fn run_request(
    args: &Args,
    global: &GlobalArgs,
    scenario_path: PathBuf,
    out: &Path,
    stack: Option<&Stack>,
    api_port: u16,
    token_file: PathBuf,
    kubeconfig: &Path,
) -> (run::Args, GlobalArgs) {
    let run_args = run::Args {
        scenario: scenario_path,
        name: None,
        out: Some(out.to_path_buf()),
        out_parent: None,
        yes: true,
        ci: args.ci,
        concurrency: 32,
        endpoints: EndpointArgs {
            prometheus_url: stack.map(|s| s.prometheus_url.clone()),
            alertmanager_url: stack.map(|s| s.alertmanager_url.clone()),
        },
        api_listen: SocketAddr::from(([127, 0, 0, 1], api_port)),
        api_token_file: Some(token_file),
        api_allow_remote: false,
        scheduled: Default::default(),
    };
    let run_global = GlobalArgs {
        context: Some(demo::CONTEXT.to_string()),
        kubeconfig: Some(kubeconfig.to_path_buf()),
        config: global.config.clone(),
        verbose: global.verbose,
        quiet: global.quiet,
        log_format: global.log_format,
    };
    (run_args, run_global)
}

/// Lists the reports the run wrote, and how to open and re-render them.
fn show_reports(out: &Path) -> Vec<PathBuf> {
    let mut written = Vec::new();
    for name in [
        files::RESULT_JSON,
        files::REPORT_MD,
        files::REPORT_HTML,
        files::JUNIT_XML,
        "journal.jsonl",
    ] {
        let p = out.join(name);
        if p.is_file() {
            written.push(p);
        }
    }
    if !written.is_empty() {
        crate::errln!("demo: reports in {}:", out.display());
        for p in &written {
            crate::errln!("  {}", p.display());
        }
        crate::errln!(
            "demo: open {} in a browser; re-render any time with `gameday report {}`",
            out.join(files::REPORT_HTML).display(),
            out.display()
        );
    }
    written
}

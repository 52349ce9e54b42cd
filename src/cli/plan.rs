//! `gameday plan SCENARIO`: what a run would touch, changing nothing. For
//! each fault: the resolved targets, the counts against each limit, the
//! time window and the RBAC it needs. Also the shared preflight (load,
//! context guard, connect) that `run` and `rbac` use.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{GlobalArgs, OutputFormat, exit};
use crate::app::plan_error_code;
use crate::config::Config;
use crate::diag;
use crate::engine::plan::{FaultPlan, plan_all};
use crate::faults::kind_of;
use crate::k8s::guard::check_context;
use crate::k8s::retry::RetryPolicy;
use crate::k8s::{Kube, KubeTarget};
use crate::scenario::Scenario;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario file.
    #[arg(value_name = "SCENARIO")]
    pub scenario: PathBuf,
    /// Which scenario, when the file holds several.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// Loads the config and the one scenario to act on; on failure prints the
/// diagnostics and returns the exit code (2: nothing touched).
pub(crate) fn load(
    global: &GlobalArgs,
    path: &Path,
    name: Option<&str>,
) -> Result<(Config, Scenario), i32> {
    let color = super::use_color();
    let config = Config::load(global.config.as_deref()).map_err(|d| {
        crate::errln!("{}", diag::render_all(&d, color));
        exit::USAGE
    })?;
    let scenarios =
        crate::scenario::load_file(path, &config, &crate::faults::Registry).map_err(|d| {
            crate::errln!("{}", diag::render_all(&d, color));
            exit::USAGE
        })?;
    let picked = match name {
        Some(n) => scenarios.into_iter().find(|s| s.metadata.name == n),
        None if scenarios.len() == 1 => scenarios.into_iter().next(),
        None => {
            crate::errln!(
                "error: {} holds {} scenarios; pick one with --name",
                path.display(),
                scenarios.len()
            );
            return Err(exit::USAGE);
        }
    };
    let scenario = picked.ok_or_else(|| {
        crate::errln!(
            "error: no scenario named {:?} in {}",
            name.unwrap_or_default(),
            path.display()
        );
        exit::USAGE
    })?;
    Ok((config, scenario))
}

/// Resolves the kube context and applies the context guard (S5) before any
/// connection exists: a refused context never sees a request.
pub(crate) fn guarded_target(
    global: &GlobalArgs,
    scenario: &Scenario,
    config: &Config,
) -> Result<KubeTarget, i32> {
    let target = KubeTarget::resolve(global.kubeconfig.as_deref(), global.context.as_deref())
        .map_err(|e| {
            crate::errln!("error: {e}");
            exit::USAGE
        })?;
    check_context(
        &target.context,
        &scenario.spec.target.contexts,
        &config.allowed_contexts,
    )
    .map_err(|e| {
        crate::errln!("error: {e}");
        exit::USAGE
    })?;
    Ok(target)
}

pub(crate) async fn connect(target: &KubeTarget) -> Result<Kube, i32> {
    target.connect(RetryPolicy::default()).await.map_err(|e| {
        crate::errln!(
            "error: cannot reach the cluster of context `{}`: {e}",
            target.context
        );
        exit::UNREACHABLE
    })
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// The plan as data: `plan -o json`, and the `plan` event of `run
/// --log-format json`.
pub(crate) fn plan_json(scenario: &Scenario, context: &str, plans: &[FaultPlan]) -> Value {
    json!({
        "scenario": scenario.metadata.name,
        "context": context,
        "blastRadius": scenario.spec.blast_radius,
        "faults": plans,
    })
}

/// The human-readable plan.
pub(crate) fn render(scenario: &Scenario, context: &str, plans: &[FaultPlan]) -> String {
    let mut out = format!(
        "scenario {} on context {} (maxTargets {}, maxPercent {}%, allowFullOutage {}, maxDuration {})\n",
        scenario.metadata.name,
        context,
        scenario.spec.blast_radius.max_targets,
        scenario.spec.blast_radius.max_percent(),
        scenario.spec.blast_radius.allow_full_outage,
        scenario.spec.blast_radius.max_duration,
    );
    for p in plans {
        out.push_str(&format!(
            "\nfault {} ({}) from +{} until +{}\n  targets: {} of {} matched (limit {}), seed {}\n",
            p.fault,
            p.fault_type,
            p.at,
            p.until,
            p.blast.targets,
            p.selection.matched,
            p.blast.max_targets,
            p.selection.seed,
        ));
        for g in &p.blast.groups {
            out.push_str(&format!(
                "  impact: {} of {} in {} = {}% (limit {}%)\n",
                g.chosen, g.total, g.group, g.percent, p.blast.max_percent
            ));
        }
        for t in p.targets() {
            out.push_str(&format!("    - {}\n", t.obj));
        }
        for w in &p.warnings {
            out.push_str(&format!("  warning: {w}\n"));
        }
        out.push_str("  rbac:\n");
        let kind = kind_of(p.fault_type);
        let fault = scenario.spec.faults.iter().find(|f| f.name == p.fault);
        let rules = fault.map_or_else(|| kind.rbac(), |f| kind.rbac_for(f));
        for r in rules {
            let group = if r.api_group.is_empty() {
                "core"
            } else {
                r.api_group
            };
            out.push_str(&format!(
                "    - {} {} [{}]{}\n",
                group,
                r.resource,
                r.verbs.join(", "),
                if r.cluster { " (cluster-wide)" } else { "" }
            ));
        }
    }
    out
}

/// The paging integrations' read-only checks: a failure is reported, not
/// fatal (a run goes on without a paging tool, with a warning).
fn render_paging(checks: &[crate::paging::Check]) -> String {
    let mut out = String::from("\npaging:\n");
    for c in checks {
        let verdict = if c.ok { "ok" } else { "FAILED" };
        out.push_str(&format!("  {}: {verdict}: {}\n", c.source, c.detail));
    }
    out
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<i32> {
    let (config, scenario) = match load(global, &args.scenario, args.name.as_deref()) {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let target = match guarded_target(global, &scenario, &config) {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    let rt = runtime()?;
    rt.block_on(async {
        let kube = match connect(&target).await {
            Ok(k) => k,
            Err(code) => return Ok(code),
        };
        let plans = match plan_all(&kube, &scenario, &config, 32).await {
            Ok(p) => p,
            Err(e) => {
                crate::errln!("error: {e}");
                return Ok(plan_error_code(&e));
            }
        };
        let paging = match config.paging.as_ref().filter(|p| p.any()) {
            Some(p) => Some(crate::paging::check_all(p).await),
            None => None,
        };
        match args.output {
            OutputFormat::Text => {
                crate::out!("{}", render(&scenario, &target.context, &plans));
                if let Some(checks) = &paging {
                    crate::out!("{}", render_paging(checks));
                }
            }
            OutputFormat::Json => {
                let mut v = plan_json(&scenario, &target.context, &plans);
                if let Some(checks) = &paging {
                    v["paging"] = json!(checks);
                }
                crate::outln!("{}", serde_json::to_string_pretty(&v)?)
            }
        }
        Ok(exit::OK)
    })
}

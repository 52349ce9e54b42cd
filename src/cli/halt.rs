//! `gameday halt [--lift]`: the kill switch (S6). Sets the halt ConfigMap
//! (new runs refuse to start, running ones revert and exit 3), then reverts
//! every gameday fault in the cluster. `--lift` removes the switch.
//!
//! Under least privilege it still does what it can: when the switch cannot
//! be written (403) it says so and reverts anyway; `--namespace` limits the
//! sweep to namespaced lists a Role allows; kinds it is forbidden to list
//! are reported. Exit 0: switch set and nothing left; 1: everything visible
//! reverted but the switch is not set; 5: marks left or kinds not searched.

use super::{GlobalArgs, exit};
use crate::engine::halt;
use crate::engine::recover::{Filter, sweep_reporting};
use crate::k8s::KubeTarget;
use crate::k8s::retry::RetryPolicy;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Remove the kill switch so runs may start again.
    #[arg(long)]
    pub lift: bool,
    /// Why, recorded in the ConfigMap.
    #[arg(long, default_value = "gameday halt")]
    pub reason: String,
    /// Only these namespaces (repeatable): no cluster-wide lists, no nodes.
    #[arg(long, value_name = "NS")]
    pub namespace: Vec<String>,
    /// Most API calls in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<i32> {
    let config = match crate::config::Config::load(global.config.as_deref()) {
        Ok(c) => c,
        Err(d) => {
            crate::errln!("{}", crate::diag::render_all(&d, super::use_color()));
            return Ok(exit::USAGE);
        }
    };
    let target = match KubeTarget::resolve(global.kubeconfig.as_deref(), global.context.as_deref())
    {
        Ok(t) => t,
        Err(e) => {
            crate::errln!("error: {e}");
            return Ok(exit::USAGE);
        }
    };
    let rt = super::plan::runtime()?;
    rt.block_on(async {
        let kube = match target.connect(RetryPolicy::default()).await {
            Ok(k) => k,
            Err(e) => {
                crate::errln!("error: {e}");
                return Ok(exit::UNREACHABLE);
            }
        };
        let ns = &config.halt_namespace;
        if args.lift {
            if let Err(e) = halt::lift(&kube, ns).await {
                crate::errln!("error: {e}");
                return Ok(exit::UNREACHABLE);
            }
            crate::errln!(
                "kill switch lifted ({ns}/{}): runs may start",
                halt::HALT_CONFIGMAP
            );
            return Ok(exit::OK);
        }
        // Nothing may stop a revert: a switch that cannot be written is
        // reported, and the sweep runs all the same.
        let switch_set = match halt::set(&kube, ns, &args.reason).await {
            Ok(()) => {
                crate::errln!(
                    "kill switch set ({ns}/{}): running games revert and stop, new ones refuse",
                    halt::HALT_CONFIGMAP
                );
                true
            }
            Err(e) => {
                crate::errln!(
                    "warning: kill switch NOT set ({ns}/{}): {e}; new runs are not blocked; reverting what this identity can see",
                    halt::HALT_CONFIGMAP
                );
                false
            }
        };
        let filter = Filter {
            namespaces: (!args.namespace.is_empty()).then(|| args.namespace.clone()),
            nodes: args.namespace.is_empty(),
            ..Filter::default()
        };
        match sweep_reporting(&kube, &filter, args.concurrency).await {
            Ok(s) => {
                crate::errln!(
                    "reverted {} objects; {} remain",
                    s.reports.len(),
                    s.left.len()
                );
                for m in &s.left {
                    crate::errln!("  still marked: {}", m.obj);
                }
                for r in &s.refused {
                    crate::errln!(
                        "  forbidden to list {} in {}: not searched",
                        r.kind,
                        r.namespace.as_deref().unwrap_or("all namespaces")
                    );
                }
                Ok(if !s.left.is_empty() || !s.refused.is_empty() {
                    exit::REVERT_FAILED
                } else if switch_set {
                    exit::OK
                } else {
                    exit::FAILED
                })
            }
            Err(e) => {
                crate::errln!("error: reverting: {e}; run `gameday recover --all`");
                Ok(exit::REVERT_FAILED)
            }
        }
    })
}

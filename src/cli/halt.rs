//! `gameday halt [--lift]`: the kill switch (S6). Sets the halt ConfigMap
//! (new runs refuse to start, running ones revert and exit 3), then reverts
//! every gameday fault in the cluster. `--lift` removes the switch.

use super::{GlobalArgs, exit};
use crate::engine::halt;
use crate::engine::recover::{Filter, sweep};
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
        if let Err(e) = halt::set(&kube, ns, &args.reason).await {
            crate::errln!("error: cannot set the kill switch: {e}");
            return Ok(exit::UNREACHABLE);
        }
        crate::errln!(
            "kill switch set ({ns}/{}): running games revert and stop, new ones refuse",
            halt::HALT_CONFIGMAP
        );
        let filter = Filter {
            nodes: true,
            ..Filter::default()
        };
        match sweep(&kube, &filter, args.concurrency).await {
            Ok((reports, left)) => {
                crate::errln!("reverted {} objects; {} remain", reports.len(), left.len());
                for m in &left {
                    crate::errln!("  still marked: {}", m.obj);
                }
                Ok(if left.is_empty() {
                    exit::OK
                } else {
                    exit::REVERT_FAILED
                })
            }
            Err(e) => {
                crate::errln!("error: reverting: {e}; run `gameday recover --all`");
                Ok(exit::REVERT_FAILED)
            }
        }
    })
}

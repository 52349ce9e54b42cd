//! `gameday recover`: find everything gameday marked in the cluster (by the
//! `gameday/run-id` label) and revert it from the undo data on each object.
//! Needs nothing but the cluster, so it works after a SIGKILL, a lost
//! laptop or a deleted run directory. Idempotent; exit 0 when nothing is left.

use std::path::Path;

use serde_json::json;

use super::{GlobalArgs, OutputFormat, exit};
use crate::engine::journal::Journal;
use crate::engine::recover::{Filter, find, sweep_reporting};
use crate::k8s::KubeTarget;
use crate::k8s::retry::RetryPolicy;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("which").required(true).multiple(true).args(["run", "expired", "all", "namespace"])))]
pub struct Args {
    /// Only this run: its id, or its run directory.
    #[arg(long, value_name = "ID|DIR")]
    pub run: Option<String>,
    /// Only marks whose gameday/expires-at has passed.
    #[arg(long)]
    pub expired: bool,
    /// Every gameday mark in the cluster.
    #[arg(long)]
    pub all: bool,
    /// Only these namespaces (repeatable): namespaced lists only, no nodes,
    /// so a Role per namespace is enough (`gameday rbac` prints it).
    #[arg(long, value_name = "NS")]
    pub namespace: Vec<String>,
    /// With --namespace, also look at nodes (for nodeTaint, nodeCordon,
    /// nodeDrain). Needs `list` on nodes, which the ClusterRole `gameday
    /// rbac` prints for node faults grants.
    #[arg(long, requires = "namespace")]
    pub nodes: bool,
    /// Show what would be reverted; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Most API calls in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// A run id, or the id recorded in a run directory's journal.
fn run_id_of(arg: &str) -> String {
    let journal = Path::new(arg).join("journal.jsonl");
    if let Ok(entries) = Journal::read(&journal) {
        for e in entries {
            if let Some(id) = e.data.get("runId").and_then(|v| v.as_str()) {
                return id.to_string();
            }
        }
    }
    arg.to_string()
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<i32> {
    let target = match KubeTarget::resolve(global.kubeconfig.as_deref(), global.context.as_deref())
    {
        Ok(t) => t,
        Err(e) => {
            crate::errln!("error: {e}");
            return Ok(exit::USAGE);
        }
    };
    let filter = Filter {
        run_id: args.run.as_deref().map(run_id_of),
        expired_only: args.expired,
        namespaces: (!args.namespace.is_empty()).then(|| args.namespace.clone()),
        nodes: args.namespace.is_empty() || args.nodes,
        kinds: None,
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
        if args.dry_run {
            let found = match find(&kube, &filter).await {
                Ok(f) => f,
                Err(e) => {
                    crate::errln!("error: {e}");
                    return Ok(exit::UNREACHABLE);
                }
            };
            match args.output {
                OutputFormat::Json => crate::outln!(
                    "{}",
                    serde_json::to_string_pretty(&json!({"wouldRevert": found}))?
                ),
                OutputFormat::Text => {
                    crate::outln!("{} marked objects would be reverted", found.len());
                    for m in &found {
                        crate::outln!(
                            "  {} run {} fault {} ({}) undo {}",
                            m.obj,
                            m.run_id,
                            m.fault.as_deref().unwrap_or("?"),
                            m.fault_type
                                .map(|t| t.to_string())
                                .unwrap_or_else(|| "?".into()),
                            m.undo
                        );
                    }
                }
            }
            return Ok(exit::OK);
        }
        match sweep_reporting(&kube, &filter, args.concurrency).await {
            Ok(s) => {
                let (reports, left, refused) = (s.reports, s.left, s.refused);
                match args.output {
                    OutputFormat::Json => crate::outln!(
                        "{}",
                        serde_json::to_string_pretty(
                            &json!({"reverted": reports, "remaining": left, "forbidden": refused})
                        )?
                    ),
                    OutputFormat::Text => {
                        for r in &reports {
                            match (&r.result, &r.error) {
                                (Some(res), _) => crate::outln!("  {} ({:?})", r.obj, res),
                                (None, Some(e)) => crate::outln!("  {} FAILED: {e}", r.obj),
                                _ => {}
                            }
                        }
                        for r in &refused {
                            crate::outln!(
                                "  forbidden to list {} in {}: not searched ({})",
                                r.kind,
                                r.namespace.as_deref().unwrap_or("all namespaces"),
                                r.error
                            );
                        }
                        crate::outln!("reverted {} objects; {} remain", reports.len(), left.len());
                    }
                }
                // A kind it could not list may still hold marks: not clean.
                Ok(if left.is_empty() && refused.is_empty() {
                    exit::OK
                } else {
                    exit::REVERT_FAILED
                })
            }
            Err(e) => {
                crate::errln!("error: {e}");
                Ok(exit::UNREACHABLE)
            }
        }
    })
}

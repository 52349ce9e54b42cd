//! `gameday rbac SCENARIO`: a least-privilege Role per target namespace (and
//! a ClusterRole only when node faults need it) plus bindings, for exactly
//! the faults and probes the scenario uses. Pipe it to `kubectl apply -f -`.
//! In a pod the same rules apply to the pod's ServiceAccount; the guard's
//! context is then `in-cluster/<cluster name>` (docs/safety.md).

use std::path::PathBuf;

use super::{GlobalArgs, exit};
use crate::faults::rbac::{manifests, rules_for, to_yaml};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario file.
    #[arg(value_name = "SCENARIO")]
    pub scenario: PathBuf,
    /// Which scenario, when the file holds several.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The ServiceAccount that runs gameday.
    #[arg(long, default_value = "gameday")]
    pub service_account: String,
    /// Its namespace (default: the config's halt namespace).
    #[arg(long)]
    pub service_account_namespace: Option<String>,
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<i32> {
    let (config, scenario) = match super::plan::load(global, &args.scenario, args.name.as_deref()) {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let sa_ns = args
        .service_account_namespace
        .clone()
        .unwrap_or_else(|| config.halt_namespace.clone());
    let set = rules_for(&scenario, &config);
    let name = format!("gameday-{}", scenario.metadata.name);
    crate::out!(
        "{}",
        to_yaml(&manifests(&name, &set, &args.service_account, &sa_ns))?
    );
    Ok(exit::OK)
}

//! cpuStress: an ephemeral container running `stress-ng --cpu N` bounded by
//! its own `--timeout` and `timeout` for the fault's duration. Revert: a
//! second container, from an image that has `pkill`, kills stress-ng in the
//! same pid namespace.

use schemars::JsonSchema;
use serde::Deserialize;

use super::ephemeral::{self, Effect};
use super::ephemeral_fault::{self, EphemeralFault};
use super::{Entry, FaultCx, FaultError};
use crate::scenario::{FaultSpec, ParamCheck};
use crate::yaml::Target;

pub struct CpuStress;

pub const FAULT: Entry = Entry::new(&CpuStress, ephemeral_fault::about(STARTER));

const STARTER: &str = r#"
hypothesis: CPU stress on one checkout pod for 30s costs latency, not success, and checkout keeps 99%.
duration: 30s
successDuring: 0.99
      params:
        workers: 2              # busy CPU workers in the ephemeral container
        # stressImage: ...      # image with stress-ng, if the default is not reachable
"#;

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Busy CPU workers (default 1).
    pub workers: Option<u32>,
    /// An image with stress-ng (default: the config's `helperImages.stress`).
    pub stress_image: Option<String>,
}

impl FaultSpec for CpuStress {
    fn name(&self) -> &'static str {
        "cpuStress"
    }

    fn check_params(&self, check: &mut ParamCheck<'_, '_>) {
        let Some(p) = check.typed::<Params>() else {
            return;
        };
        if p.workers == Some(0) {
            check.error(
                &["workers"],
                Target::Value,
                "`workers` must be at least 1".into(),
                None,
            );
        }
        check.non_empty(p.stress_image.as_deref(), "stressImage");
    }
}

impl EphemeralFault for CpuStress {
    const NETWORK: bool = false;

    fn effect(&self, cx: &FaultCx<'_>, secs: u64) -> Result<Effect, FaultError> {
        let p: Params = cx.params()?;
        let workers = p.workers.unwrap_or(1).max(1);
        Ok(Effect {
            image: p
                .stress_image
                .unwrap_or_else(|| cx.config.helper_images.stress.reference()),
            command: ephemeral::stress_command(secs, &["--cpu", &workers.to_string()]),
            env: vec![("GAMEDAY_CPU_WORKERS", workers.to_string())],
            net_admin: false,
            revert_image: cx.config.helper_images.revert.reference(),
            revert_command: ephemeral::stress_revert_command(),
        })
    }
}

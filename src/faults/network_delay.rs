//! networkDelay: an ephemeral container with NET_ADMIN adds a `tc netem
//! delay` qdisc on gameday's reserved handle, bounded by `timeout`. Revert:
//! a second container removes the qdisc, after checking the handle is ours.

use schemars::JsonSchema;
use serde::Deserialize;

use super::ephemeral::{self, Effect};
use super::ephemeral_fault::{self, EphemeralFault};
use super::{Entry, FaultCx, FaultError};
use crate::scenario::{FaultSpec, ParamCheck};
use crate::values::Duration;

pub struct NetworkDelay;

pub const FAULT: Entry = Entry::new(&NetworkDelay, ephemeral_fault::about(STARTER));

const STARTER: &str = r#"
hypothesis: 200ms of extra latency on one checkout pod for 30s keeps checkout at 99% success; the latency alert pages within 1m.
duration: 30s
successDuring: 0.99
alert: HighLatency
      params:
        latency: 200ms          # added to every packet
        jitter: 20ms
        # stressImage: ...
"#;

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Added latency (default 200ms).
    pub latency: Option<Duration>,
    /// Jitter around the latency (default none).
    pub jitter: Option<Duration>,
    /// An image with `tc` (default: the config's `helperImages.network`).
    pub stress_image: Option<String>,
}

impl FaultSpec for NetworkDelay {
    fn name(&self) -> &'static str {
        "networkDelay"
    }

    fn check_params(&self, check: &mut ParamCheck<'_, '_>) {
        let Some(p) = check.typed::<Params>() else {
            return;
        };
        check.positive(p.latency, "latency");
        check.non_empty(p.stress_image.as_deref(), "stressImage");
    }
}

impl EphemeralFault for NetworkDelay {
    const NETWORK: bool = true;

    fn effect(&self, cx: &FaultCx<'_>, secs: u64) -> Result<Effect, FaultError> {
        let p: Params = cx.params()?;
        let latency = p.latency.map(|d| d.as_std().as_millis()).unwrap_or(200);
        let jitter = p.jitter.map(|d| d.as_std().as_millis()).unwrap_or(0);
        let image = p
            .stress_image
            .unwrap_or_else(|| cx.config.helper_images.network.reference());
        Ok(Effect {
            image: image.clone(),
            command: ephemeral::netem_command(secs, &format!("delay {latency}ms {jitter}ms")),
            env: vec![
                ("GAMEDAY_LATENCY_MS", latency.to_string()),
                ("GAMEDAY_JITTER_MS", jitter.to_string()),
            ],
            net_admin: true,
            revert_image: image,
            revert_command: ephemeral::netem_revert_command(secs),
        })
    }
}

//! packetLoss: like networkDelay, with `tc netem loss P%` on the reserved
//! handle; removed by a second container that checks the handle first.

use schemars::JsonSchema;
use serde::Deserialize;

use super::ephemeral::{self, Effect};
use super::ephemeral_fault::{self, EphemeralFault};
use super::{Entry, FaultCx, FaultError};
use crate::scenario::{FaultSpec, ParamCheck};
use crate::yaml::Target;

pub struct PacketLoss;

pub const FAULT: Entry = Entry::new(&PacketLoss, ephemeral_fault::about(STARTER));

const STARTER: &str = r#"
hypothesis: 10% packet loss on one checkout pod for 30s costs retransmissions and a few requests, and checkout keeps 97% success.
duration: 30s
successDuring: 0.97
      params:
        loss: 10                # percent of packets dropped
        # stressImage: ...
"#;

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Percent of packets dropped (default 10).
    pub loss: Option<f64>,
    /// An image with `tc` (default: the config's `helperImages.network`).
    pub stress_image: Option<String>,
}

impl FaultSpec for PacketLoss {
    fn name(&self) -> &'static str {
        "packetLoss"
    }

    fn check_params(&self, check: &mut ParamCheck<'_, '_>) {
        let Some(p) = check.typed::<Params>() else {
            return;
        };
        if let Some(l) = p.loss.filter(|l| !(*l > 0.0 && *l <= 100.0)) {
            check.error(
                &["loss"],
                Target::Value,
                format!("`loss` is a percentage between 0 and 100, found {l}"),
                Some("e.g. `loss: 10` drops one packet in ten".into()),
            );
        }
        check.non_empty(p.stress_image.as_deref(), "stressImage");
    }
}

impl EphemeralFault for PacketLoss {
    const NETWORK: bool = true;

    fn effect(&self, cx: &FaultCx<'_>, secs: u64) -> Result<Effect, FaultError> {
        let p: Params = cx.params()?;
        let loss = p.loss.unwrap_or(10.0).clamp(0.0, 100.0);
        let image = p
            .stress_image
            .unwrap_or_else(|| cx.config.helper_images.network.reference());
        Ok(Effect {
            image: image.clone(),
            command: ephemeral::netem_command(secs, &format!("loss {loss}%")),
            env: vec![("GAMEDAY_LOSS_PERCENT", loss.to_string())],
            net_admin: true,
            revert_image: image,
            revert_command: ephemeral::netem_revert_command(secs),
        })
    }
}

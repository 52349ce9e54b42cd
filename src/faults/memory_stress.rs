//! memoryStress: an ephemeral container running `stress-ng --vm 1
//! --vm-bytes M --vm-keep`, bounded by `--timeout` and `timeout`. Revert: a
//! second container, from an image that has `pkill`, kills stress-ng.

use schemars::JsonSchema;
use serde::Deserialize;

use super::ephemeral::{self, Effect};
use super::ephemeral_fault::{self, EphemeralFault};
use super::{Entry, FaultCx, FaultError};
use crate::scenario::{FaultSpec, ParamCheck};
use crate::yaml::Target;

pub struct MemoryStress;

pub const FAULT: Entry = Entry::new(&MemoryStress, ephemeral_fault::about(STARTER));

const STARTER: &str = r#"
hypothesis: Holding 256Mi of memory in one checkout pod for 30s keeps checkout at 99% success.
duration: 30s
successDuring: 0.99
      params:
        memory: 256Mi           # memory to allocate and hold
        # stressImage: ...
"#;

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// A Kubernetes quantity such as 256Mi (default 256Mi).
    pub memory: Option<String>,
    /// An image with stress-ng (default: the config's `helperImages.stress`).
    pub stress_image: Option<String>,
}

/// A Kubernetes quantity (`256Mi`, `1Gi`, `500M`) in stress-ng's notation.
pub fn stress_bytes(quantity: &str) -> Option<String> {
    let q = quantity.trim();
    let split = q.find(|c: char| !c.is_ascii_digit()).unwrap_or(q.len());
    let (num, unit) = q.split_at(split);
    let n: u64 = num.parse().ok()?;
    let suffix = match unit {
        "" => "b",
        "Ki" | "k" | "K" => "k",
        "Mi" | "M" => "m",
        "Gi" | "G" => "g",
        _ => return None,
    };
    Some(format!("{n}{suffix}"))
}

/// A Kubernetes resource quantity for memory: digits, optional fraction, and
/// an optional binary or decimal suffix.
fn is_quantity(s: &str) -> bool {
    let num_len = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(num_len);
    !num.is_empty()
        && num.parse::<f64>().is_ok()
        && matches!(
            suffix,
            "" | "Ki" | "Mi" | "Gi" | "Ti" | "k" | "K" | "M" | "G" | "T"
        )
}

impl FaultSpec for MemoryStress {
    fn name(&self) -> &'static str {
        "memoryStress"
    }

    fn check_params(&self, check: &mut ParamCheck<'_, '_>) {
        let Some(p) = check.typed::<Params>() else {
            return;
        };
        if let Some(m) = p.memory.as_deref().filter(|m| !is_quantity(m)) {
            check.error(
                &["memory"],
                Target::Value,
                format!("`{m}` is not a memory quantity"),
                Some("write a Kubernetes quantity such as `256Mi` or `1Gi`".into()),
            );
        }
        check.non_empty(p.stress_image.as_deref(), "stressImage");
    }
}

impl EphemeralFault for MemoryStress {
    const NETWORK: bool = false;

    fn effect(&self, cx: &FaultCx<'_>, secs: u64) -> Result<Effect, FaultError> {
        let p: Params = cx.params()?;
        let memory = p.memory.unwrap_or_else(|| "256Mi".into());
        let bytes = stress_bytes(&memory)
            .ok_or_else(|| cx.invalid(format!("memory `{memory}` is not a quantity like 256Mi")))?;
        Ok(Effect {
            image: p
                .stress_image
                .unwrap_or_else(|| cx.config.helper_images.stress.reference()),
            command: ephemeral::stress_command(
                secs,
                &["--vm", "1", "--vm-bytes", &bytes, "--vm-keep"],
            ),
            env: vec![("GAMEDAY_MEMORY", memory)],
            net_admin: false,
            revert_image: cx.config.helper_images.revert.reference(),
            revert_command: ephemeral::stress_revert_command(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_convert() {
        assert_eq!(stress_bytes("256Mi").as_deref(), Some("256m"));
        assert_eq!(stress_bytes("1Gi").as_deref(), Some("1g"));
        assert_eq!(stress_bytes("512").as_deref(), Some("512b"));
        assert_eq!(stress_bytes("12Xi"), None);
        assert_eq!(stress_bytes("Mi"), None);
    }
}

//! The images gameday's ephemeral faults run, by role, with the tools each
//! image contains. `plan` checks every command a fault would run against
//! the image that would run it, so a command naming a tool its image lacks
//! (the old stress revert's `pkill` in the stress-ng image) is refused
//! before anything changes, naming the tool. The defaults' contents are
//! taken from their published Dockerfiles (docs/safety.md, "Images").

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One helper image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HelperImage {
    /// Repository and tag.
    pub image: String,
    /// `sha256:...`: pins the image (`image@digest`), so what was checked is
    /// what runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Executables the image has on `$PATH`.
    pub tools: Vec<String>,
}

impl HelperImage {
    /// A default: pinned, so that the tools listed are the tools that run
    /// even after the tag moves.
    fn pinned(image: &str, digest: &str, tools: &[&str]) -> Self {
        HelperImage {
            image: image.into(),
            digest: Some(digest.into()),
            tools: tools.iter().map(|t| t.to_string()).collect(),
        }
    }

    /// The reference a container names: pinned when a digest is given.
    pub fn reference(&self) -> String {
        match &self.digest {
            Some(d) => format!("{}@{d}", self.image),
            None => self.image.clone(),
        }
    }

    /// The first of `tools` this image lacks.
    pub fn missing<'a>(&self, tools: &'a [String]) -> Option<&'a str> {
        tools
            .iter()
            .map(String::as_str)
            .find(|t| !self.tools.iter().any(|have| have == t))
    }
}

/// Images by role (`helperImages` in gameday.yaml).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HelperImages {
    /// Runs stress-ng (cpuStress, memoryStress).
    #[serde(default = "default_stress")]
    pub stress: HelperImage,
    /// Runs tc netem and its removal (networkDelay, packetLoss).
    #[serde(default = "default_network")]
    pub network: HelperImage,
    /// Stops a stress process: needs `pkill`, which the stress image lacks.
    #[serde(default = "default_revert")]
    pub revert: HelperImage,
    /// Enters the node's namespaces to stop its kubelet (nodeNotReady):
    /// needs `nsenter`.
    #[serde(default = "default_node")]
    pub node: HelperImage,
}

impl Default for HelperImages {
    fn default() -> Self {
        HelperImages {
            stress: default_stress(),
            network: default_network(),
            revert: default_revert(),
            node: default_node(),
        }
    }
}

// The digests are the multi-platform index digests recorded publicly for
// these tags (docs/safety.md, "Images", says where each comes from); this
// machine has no registry access to pull them again.

/// stress-ng's Dockerfile: FROM debian:12, stress-ng in /usr/bin; debian
/// has coreutils (timeout, sleep) and dash (sh), not procps (pkill).
fn default_stress() -> HelperImage {
    HelperImage::pinned(
        "ghcr.io/colinianking/stress-ng:latest",
        "sha256:040db041445627cef2d1d1109cbf47c5a2727f0f9c65157e365d419699c9d0c5",
        &["stress-ng", "timeout", "sleep", "sh"],
    )
}

/// netshoot's Dockerfile: FROM alpine (busybox applets: sh, sleep,
/// timeout, pkill, grep) plus iproute2 (tc).
fn default_network() -> HelperImage {
    HelperImage::pinned(
        "nicolaka/netshoot:v0.13",
        "sha256:a20c2531bf35436ed3766cd6cfe89d352b050ccc4d7005ce6400adf97503da1b",
        &["tc", "sh", "sleep", "timeout", "pkill", "grep"],
    )
}

/// busybox: sh, pkill, pgrep, timeout, sleep as applets.
fn default_revert() -> HelperImage {
    HelperImage::pinned(
        "busybox:1.36",
        "sha256:7b3ccabffc97de872a30dfd234fd972a66d247c8cfc69b0550f276481852627c",
        &["sh", "pkill", "pgrep", "timeout", "sleep", "grep"],
    )
}

/// debian:bookworm-slim: dash (sh) and util-linux (nsenter), both
/// Essential in Debian, so present in the slim image too.
fn default_node() -> HelperImage {
    HelperImage::pinned(
        "debian:bookworm-slim",
        "sha256:abd67ffcfa541b485a3dff59865ab629aa048a6c613e639d36e7456b0b229241",
        &["sh", "nsenter"],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_pin_references_and_missing_tools_are_named() {
        let mut i = default_revert();
        i.digest = None;
        assert_eq!(i.reference(), "busybox:1.36");
        i.digest = Some("sha256:ab".into());
        assert_eq!(i.reference(), "busybox:1.36@sha256:ab");
        let need = vec!["sh".to_string(), "pkill".into()];
        assert_eq!(i.missing(&need), None);
        assert_eq!(default_stress().missing(&need), Some("pkill"));
    }

    /// Every default is pinned by a well-formed sha256 digest, so a moved
    /// tag cannot change what `plan` checked.
    #[test]
    fn every_default_is_pinned() {
        let d = HelperImages::default();
        for (role, i) in [
            ("stress", &d.stress),
            ("network", &d.network),
            ("revert", &d.revert),
            ("node", &d.node),
        ] {
            let digest = i.digest.as_deref().unwrap_or_default();
            let hex = digest.strip_prefix("sha256:").unwrap_or_default();
            assert!(
                hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()),
                "{role}: {digest:?}"
            );
            assert_eq!(i.reference(), format!("{}@{digest}", i.image));
        }
    }
}

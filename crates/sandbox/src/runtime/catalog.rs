//! The image catalog: which executables each image contains and which user
//! it runs as. A node can only run what an image carries; the catalog is how
//! the sandbox knows, so a command naming a tool the image lacks fails the
//! way containerd fails it instead of "working".

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One image as the world file declares it (`spec.images`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageSpec {
    /// Repository and tag (`busybox:1.36`); a trailing `*` matches every
    /// reference starting with what precedes it (`registry.example.com/*`).
    pub name: String,
    /// `sha256:...`: when set, a reference pinned to another digest does
    /// not match (it does not pull).
    #[serde(default)]
    pub digest: Option<String>,
    /// Executables on the image's `$PATH`, by file name (`sh`, `tc`) or
    /// absolute path (`/pause`).
    #[serde(default)]
    pub executables: Vec<String>,
    /// The image's default user (Dockerfile `USER`), as a uid.
    #[serde(default)]
    pub user: u32,
    /// ENTRYPOINT plus CMD: what runs when a container gives no command.
    #[serde(default)]
    pub entrypoint: Vec<String>,
    /// A host executable that *is* this image's program: a container whose
    /// command names one of `executables` runs it for real, as a child
    /// process with the pod's env, volumes and ServiceAccount token
    /// ([`super::host`]), instead of the acted-out process model. For
    /// images whose program the sandbox cannot act out (a locally built
    /// CLI that talks to the API server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<std::path::PathBuf>,
}

impl ImageSpec {
    /// Whether `reference` (`name[:tag][@sha256:...]`) is this image.
    pub fn matches(&self, reference: &str) -> bool {
        let (name, digest) = match reference.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (reference, None),
        };
        if let (Some(want), Some(got)) = (&self.digest, digest)
            && want != got
        {
            return false;
        }
        match self.name.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == self.name || with_default_tag(name) == with_default_tag(&self.name),
        }
    }

    /// Whether the image carries `program` (a name looked up on `$PATH`, or
    /// an absolute path).
    pub fn has(&self, program: &str) -> bool {
        self.executables.iter().any(|e| {
            e == program
                || (!program.contains('/') && base(e) == program)
                || (program.starts_with('/') && !e.contains('/') && base(program) == e)
        })
    }
}

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `busybox` and `busybox:latest` are the same reference.
fn with_default_tag(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

/// Every image a node can pull. Lookups take the first match, so world
/// entries (listed first) override the built-in ones.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageCatalog {
    images: Vec<ImageSpec>,
}

impl Default for ImageCatalog {
    fn default() -> Self {
        ImageCatalog::builtin()
    }
}

/// Tools busybox provides as applets (busybox.net "BusyBox - The Swiss
/// Army Knife of Embedded Linux", default config), among those the model
/// knows.
const BUSYBOX: &[&str] = &[
    "sh", "ash", "sleep", "timeout", "pkill", "pgrep", "kill", "grep", "echo", "true", "false",
    "cat", "ls", "ps", "wget", "nc",
];
/// debian:12 (the stress-ng image's base, see docs/safety.md): coreutils,
/// dash, grep, util-linux (nsenter; Essential, so in every Debian image,
/// slim ones included) — no procps, so no pkill/pgrep.
const DEBIAN: &[&str] = &[
    "sh", "bash", "dash", "sleep", "timeout", "kill", "grep", "echo", "true", "false", "cat", "ls",
    "nsenter",
];

fn spec(name: &str, executables: &[&str], extra: &[&str], user: u32, entry: &[&str]) -> ImageSpec {
    ImageSpec {
        name: name.into(),
        digest: None,
        executables: executables
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect(),
        user,
        entrypoint: entry.iter().map(|s| s.to_string()).collect(),
        host: None,
    }
}

impl ImageCatalog {
    pub fn new(images: Vec<ImageSpec>) -> Self {
        ImageCatalog { images }
    }

    /// The built-in catalog: gameday's default helper images, the common
    /// base images, the pause image, and — last — every other reference as
    /// an application image whose entrypoint serves, except the references
    /// the sandbox keeps as "does not exist" (`registry.invalid/...`, any
    /// name containing `does-not-exist`).
    pub fn builtin() -> Self {
        let app = ImageSpec {
            name: "*".into(),
            digest: None,
            executables: vec!["/app/server".into()],
            user: 1000,
            entrypoint: vec!["/app/server".into()],
            host: None,
        };
        ImageCatalog::new(vec![
            spec(
                "registry.k8s.io/pause*",
                &["/pause"],
                &[],
                65535,
                &["/pause"],
            ),
            spec("busybox*", BUSYBOX, &[], 0, &["sh"]),
            spec("docker.io/library/busybox*", BUSYBOX, &[], 0, &["sh"]),
            spec("alpine*", BUSYBOX, &[], 0, &["/bin/sh"]),
            spec("debian*", DEBIAN, &[], 0, &["bash"]),
            // Dockerfile: FROM debian:12, ENTRYPOINT /usr/bin/stress-ng.
            spec(
                "ghcr.io/colinianking/stress-ng*",
                DEBIAN,
                &["/usr/bin/stress-ng"],
                0,
                &["/usr/bin/stress-ng", "--help"],
            ),
            // Dockerfile: FROM alpine (busybox applets) + iproute2 (tc).
            spec(
                "nicolaka/netshoot*",
                BUSYBOX,
                &["tc", "ip", "bash", "curl"],
                0,
                &["zsh"],
            ),
            app,
        ])
    }

    /// World entries first, then the built-in ones.
    pub fn with_overrides(images: &[ImageSpec]) -> Self {
        let mut all = images.to_vec();
        all.extend(ImageCatalog::builtin().images);
        ImageCatalog::new(all)
    }

    /// The image `reference` names, or None when it cannot be pulled.
    pub fn lookup(&self, reference: &str) -> Option<&ImageSpec> {
        let r = reference.trim();
        if r.is_empty() || r.starts_with("registry.invalid/") || r.contains("does-not-exist") {
            return None;
        }
        self.images.iter().find(|i| i.matches(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_follow_names_tags_and_digests() {
        let c = ImageCatalog::builtin();
        assert!(c.lookup("busybox:1.36").is_some_and(|i| i.has("pkill")));
        assert!(
            c.lookup("ghcr.io/colinianking/stress-ng:latest")
                .is_some_and(|i| i.has("stress-ng") && !i.has("pkill"))
        );
        assert!(c.lookup("registry.invalid/x:1").is_none());
        assert!(c.lookup("shop/does-not-exist:2").is_none());
        assert!(c.lookup("").is_none());
        let pinned = ImageSpec {
            digest: Some("sha256:aa".into()),
            ..spec("tools:1", &["sh"], &[], 0, &[])
        };
        assert!(pinned.matches("tools:1@sha256:aa"));
        assert!(!pinned.matches("tools:1@sha256:bb"));
        assert!(pinned.matches("tools:1"));
        assert!(spec("tools", &[], &[], 0, &[]).matches("tools:latest"));
    }

    #[test]
    fn executables_by_name_or_path() {
        let i = spec("x", &["/usr/bin/stress-ng", "sh"], &[], 0, &[]);
        assert!(i.has("stress-ng"));
        assert!(i.has("/usr/bin/stress-ng"));
        assert!(i.has("/bin/sh"));
        assert!(!i.has("pkill"));
    }

    #[test]
    fn world_entries_override_builtin_ones() {
        let c = ImageCatalog::with_overrides(&[spec("busybox:1.36", &["sh"], &[], 0, &[])]);
        assert!(c.lookup("busybox:1.36").is_some_and(|i| !i.has("pkill")));
        assert!(c.lookup("busybox:1.37").is_some_and(|i| i.has("pkill")));
    }
}

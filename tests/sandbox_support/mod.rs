//! Shared helpers for the sandbox integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gameday::sandbox::{Sandbox, SandboxHandle, SandboxOptions};
use serde_json::Value;

// A test binary may include both support modules: one source, two copies.
#[allow(clippy::duplicate_mod)]
#[path = "../common/identity.rs"]
mod identity;
#[allow(unused_imports)] // used by some of the test binaries that include this module
pub use identity::kubeconfig_with_token;

/// The test world (plain manifests): shop and payments namespaces, three
/// nodes, checkout (4 replicas, 1 s readiness delay, PDB maxUnavailable 1),
/// frontend, payments-api and the ledger-db StatefulSet.
pub fn world() -> Vec<Value> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(include_str!("world.yaml"))
        .map(|d| Value::deserialize(d).unwrap())
        .collect()
}

pub async fn start(minor: u32) -> SandboxHandle {
    Sandbox::start(SandboxOptions {
        kube_minor: minor,
        objects: world(),
        ..SandboxOptions::default()
    })
    .await
    .unwrap()
}

/// Polls `f` every 50 ms until it holds or `timeout` passes.
pub async fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Objects of a resource from the store, as JSON.
pub fn objects(sb: &SandboxHandle, res: usize, ns: Option<&str>) -> Vec<Value> {
    sb.store()
        .list(res, ns)
        .0
        .iter()
        .map(|o| o.parse())
        .collect()
}

pub fn ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

pub fn name(v: &Value) -> String {
    v["metadata"]["name"].as_str().unwrap_or("").to_string()
}

/// A kubeconfig for `sb` in `dir`.
pub fn kubeconfig(sb: &SandboxHandle, dir: &Path) -> PathBuf {
    let p = dir.join("kubeconfig");
    sb.write_kubeconfig(&p, "gameday-sandbox").unwrap();
    p
}

pub struct KubectlOutput {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the preinstalled kubectl against the kubeconfig, with its own
/// discovery cache so runs do not share state.
pub async fn kubectl(kubeconfig: &Path, args: &[&str]) -> KubectlOutput {
    let cache = kubeconfig.with_file_name("kube-cache");
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("/usr/bin/kubectl")
            .args(args)
            .arg("--cache-dir")
            .arg(&cache)
            .env("KUBECONFIG", kubeconfig)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("kubectl timed out")
    .expect("kubectl runs");
    KubectlOutput {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A sandbox with a kubeconfig for kubectl, in a directory the test owns.
pub struct Env {
    pub sb: SandboxHandle,
    pub kubeconfig: PathBuf,
    pub dir: tempfile::TempDir,
}

/// The test world at `minor`, with a kubeconfig.
pub async fn env(minor: u32) -> Env {
    let sb = start(minor).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig(&sb, dir.path());
    Env {
        sb,
        kubeconfig,
        dir,
    }
}

impl Env {
    /// Runs kubectl, which must succeed; its stdout.
    pub async fn kubectl(&self, args: &[&str]) -> String {
        let out = kubectl(&self.kubeconfig, args).await;
        assert!(out.ok, "kubectl {args:?} failed: {}", out.stderr);
        out.stdout
    }

    /// `kubectl apply -f` of a manifest written to `file` in the test's
    /// directory, which must succeed; kubectl's stdout.
    pub async fn apply(&self, file: &str, manifest: &str) -> String {
        let path = self.dir.path().join(file);
        std::fs::write(&path, manifest).unwrap();
        self.kubectl(&["apply", "-f", path.to_str().unwrap()]).await
    }
}

/// One scrape of the sandbox's `/metrics` as the admin, over its TLS (each
/// scrape advances the traffic model).
pub async fn metrics_text(sb: &SandboxHandle) -> String {
    sb.http_client()
        .unwrap()
        .get(sb.metrics_url())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

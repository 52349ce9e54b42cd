//! Shared by the steady-state acceptance tests: an in-process shop sandbox,
//! real Prometheus scraping it (tests/common/harness.rs), the scenario
//! fixtures of tests/fixtures/steady/, and the real `gameday` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use gameday::engine::{Entry, Journal};
use gameday::sandbox::world::World;
use gameday::sandbox::{Sandbox, SandboxHandle, SandboxOptions};
use serde_json::Value;

use crate::common::harness::{Stack, StackOptions};

pub const CONTEXT: &str = "gameday-sandbox";

/// `sum(rate(ok)) / sum(rate(all))` for checkout, as in the fixtures.
pub const CHECKOUT_SUCCESS: &str = r#"sum(rate(http_requests_total{namespace="shop",service="checkout",code!~"5.."}[5s])) / sum(rate(http_requests_total{namespace="shop",service="checkout"}[5s]))"#;

pub struct Env {
    pub stack: Stack,
    pub sandbox: SandboxHandle,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

impl Env {
    /// The shop world, with `tweak` applied (e.g. a longer readiness delay).
    pub async fn start_with(tweak: impl FnOnce(&mut World)) -> Env {
        let mut world = World::shop().unwrap();
        tweak(&mut world);
        let sandbox = Sandbox::start(SandboxOptions {
            objects: world.to_objects(),
            ..SandboxOptions::default()
        })
        .await
        .unwrap();
        let stack = Stack::start(StackOptions::sandbox(&sandbox)).await;
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        sandbox.write_kubeconfig(&kubeconfig, CONTEXT).unwrap();
        Env {
            stack,
            sandbox,
            dir,
            kubeconfig,
        }
    }

    pub async fn start() -> Env {
        Self::start_with(|_| {}).await
    }

    /// Waits until Prometheus sees checkout fully available and succeeding,
    /// so a run's "before" gate reads a settled shop.
    pub async fn wait_settled(&self) {
        self.stack
            .wait_for_query(
                r#"kube_deployment_status_replicas_available{namespace="shop",deployment="checkout"}"#,
                Duration::from_secs(40),
                |v| v >= 4.0,
            )
            .await;
        self.stack
            .wait_for_query(CHECKOUT_SUCCESS, Duration::from_secs(40), |v| v >= 0.99)
            .await;
    }

    /// Copies a fixture into the temp dir with `@KEY@` placeholders replaced.
    pub fn scenario(&self, fixture: &str, vars: &[(&str, &str)]) -> PathBuf {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/steady")
            .join(fixture);
        let mut text = std::fs::read_to_string(&src).unwrap();
        for (k, v) in vars {
            text = text.replace(&format!("@{k}@"), v);
        }
        assert!(!text.contains("@"), "unreplaced placeholder in {fixture}");
        let dst = self.dir.path().join(fixture);
        std::fs::write(&dst, text).unwrap();
        dst
    }

    pub fn run_dir(&self, name: &str) -> PathBuf {
        self.dir.path().join("runs").join(name)
    }

    /// `gameday run SCENARIO --out RUN_DIR --ci --kubeconfig K --context C
    /// --prometheus-url URL`.
    pub fn command(&self, scenario: &Path, run_dir: &Path) -> tokio::process::Command {
        self.command_with(scenario, run_dir, &self.stack.prometheus_url)
    }

    /// As [`command`](Self::command), with another Prometheus URL.
    pub fn command_with(
        &self,
        scenario: &Path,
        run_dir: &Path,
        prometheus_url: &str,
    ) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_gameday"));
        c.arg("run")
            .arg(scenario)
            .arg("--out")
            .arg(run_dir)
            .arg("--ci")
            .arg("--prometheus-url")
            .arg(prometheus_url)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--context")
            .arg(CONTEXT)
            .env_remove("CI")
            .env_remove("GAMEDAY_CONFIG")
            .env_remove("GAMEDAY_PROMETHEUS_URL")
            .env_remove("GAMEDAY_ALERTMANAGER_URL")
            .env("NO_COLOR", "1")
            .current_dir(self.dir.path())
            .kill_on_drop(true);
        c
    }

    /// Runs to completion; returns (exit code, stderr).
    pub async fn run(&self, scenario: &Path, run_dir: &Path) -> (i32, String) {
        let out = tokio::time::timeout(
            Duration::from_secs(120),
            self.command(scenario, run_dir).output(),
        )
        .await
        .expect("gameday run finishes within 120s")
        .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

pub fn journal(run_dir: &Path) -> Vec<Entry> {
    Journal::read(&run_dir.join("journal.jsonl")).unwrap_or_default()
}

/// The `probe.reading` entries, optionally of one phase.
pub fn readings<'a>(entries: &'a [Entry], phase: Option<&str>) -> Vec<&'a Entry> {
    entries
        .iter()
        .filter(|e| e.event == "probe.reading")
        .filter(|e| phase.is_none_or(|p| e.data["phase"] == p))
        .collect()
}

pub fn state(e: &Entry) -> &str {
    e.data["outcome"]["state"].as_str().unwrap_or("")
}

pub fn position(entries: &[Entry], event: &str) -> Option<usize> {
    entries.iter().position(|e| e.event == event)
}

pub fn first<'a>(entries: &'a [Entry], event: &str) -> Option<&'a Entry> {
    entries.iter().find(|e| e.event == event)
}

pub fn data<'a>(e: &'a Entry, key: &str) -> &'a Value {
    &e.data[key]
}

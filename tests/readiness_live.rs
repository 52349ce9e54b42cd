//! The live inputs of `gameday readiness`: examples/readiness's rules loaded
//! into a real Prometheus and its alertmanager.yml into a real Alertmanager.
//! `--prometheus URL --alertmanager URL` must find exactly what the file
//! mode finds. Prometheus names each group's file (here the absolute path it
//! was given), and the audit takes the lines from that file when it can
//! read it, so files are compared canonicalized and lines as they are.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::harness::{Process, require_binary, spawn, start_with_retries};
use serde_json::Value;

fn example_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/readiness")
}

fn audit(args: &[&str], xdg: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .arg("readiness")
        .args(args)
        .args([
            "--catalog",
            "catalog-info.yaml",
            "--scenarios",
            "scenarios",
            "-o",
            "json",
        ])
        .current_dir(example_dir())
        .env_remove("GAMEDAY_HISTORY_DB")
        .env_remove("GAMEDAY_CONFIG")
        .env("XDG_DATA_HOME", xdg)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// (check, subject, canonical file, line) of every finding.
fn findings(json: &Value) -> Vec<(String, String, PathBuf, u64)> {
    let mut v: Vec<_> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let file = example_dir().join(f["file"].as_str().unwrap());
            (
                f["check"].as_str().unwrap().to_string(),
                f["subject"].as_str().unwrap().to_string(),
                file.canonicalize().unwrap_or(file),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

async fn start_prometheus(dir: &Path, http: &reqwest::Client) -> (Process, String) {
    let rules = example_dir().join("rules").canonicalize().unwrap();
    let config = format!(
        "global:\n  evaluation_interval: 1s\nrule_files: ['{}/*.yml']\n",
        rules.display()
    );
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    let bin = require_binary("prometheus");
    let (process, port) = start_with_retries("prometheus", http, |port| {
        let args = vec![
            format!("--config.file={}", dir.join("prometheus.yml").display()),
            format!("--storage.tsdb.path={}", dir.join("prom-data").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ];
        spawn("prometheus", &bin, &args, dir)
    })
    .await;
    (process, format!("http://127.0.0.1:{port}"))
}

async fn start_alertmanager(dir: &Path, http: &reqwest::Client) -> (Process, String) {
    let bin = require_binary("prometheus-alertmanager");
    let config = example_dir().join("alertmanager.yml");
    let (process, port) = start_with_retries("alertmanager", http, |port| {
        let args = vec![
            format!("--config.file={}", config.display()),
            format!("--storage.path={}", dir.join("am-data").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--cluster.listen-address=".to_string(),
        ];
        spawn("alertmanager", &bin, &args, dir)
    })
    .await;
    (process, format!("http://127.0.0.1:{port}"))
}

/// Waits (bounded) until Prometheus serves all four example rule groups.
async fn wait_for_rules(http: &reqwest::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = Value::Null;
    while Instant::now() < deadline {
        if let Ok(r) = http.get(format!("{url}/api/v1/rules")).send().await {
            last = r.json().await.unwrap_or(Value::Null);
            if last["data"]["groups"]
                .as_array()
                .is_some_and(|g| g.len() == 4)
            {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("Prometheus did not load the example rules: {last}");
}

#[tokio::test]
async fn live_prometheus_and_alertmanager_give_the_file_mode_findings() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let (_prometheus, prom_url) = start_prometheus(dir.path(), &http).await;
    let (_alertmanager, am_url) = start_alertmanager(dir.path(), &http).await;
    wait_for_rules(&http, &prom_url).await;

    let xdg = dir.path().join("xdg");
    let files = audit(
        &[
            "--rules",
            "rules",
            "--alertmanager-config",
            "alertmanager.yml",
        ],
        &xdg,
    );
    let live = audit(
        &["--prometheus", &prom_url, "--alertmanager", &am_url],
        &xdg,
    );
    assert_eq!(findings(&live), findings(&files));
    assert!(
        findings(&live).iter().any(|f| f.0 == "route-no-pager"),
        "{live}"
    );
    assert_eq!(live["score"], files["score"]);
}

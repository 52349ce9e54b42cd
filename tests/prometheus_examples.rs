//! The example Prometheus configuration and alert rules are valid for the
//! Prometheus we ship against, they fire on the situations they describe,
//! and the sandbox's exposition passes Prometheus's own linter.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use gameday::sandbox::metrics;
use gameday::sandbox::snapshot::Snapshot;
use gameday::sandbox::traffic::TrafficModel;
use gameday::sandbox::world::World;
use serde_json::{Value, json};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/prometheus")
}

fn promtool(args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let bin = common::harness::require_binary("promtool");
    let mut child = Command::new(bin)
        .args(args)
        .current_dir(examples())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn rule_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(examples().join("rules"))
        .unwrap()
        .map(|e| format!("rules/{}", e.unwrap().file_name().to_string_lossy()))
        .filter(|f| f.ends_with(".yml"))
        .collect();
    files.sort();
    files
}

#[test]
fn promtool_accepts_the_example_rules_and_config() {
    let files = rule_files();
    assert!(files.len() >= 2, "{files:?}");
    let mut args = vec!["check", "rules"];
    args.extend(files.iter().map(String::as_str));
    let (ok, out) = promtool(&args, None);
    assert!(ok, "{out}");
    // The config reads the CA and scrape token that `gameday sandbox` writes
    // next to its kubeconfig in the directory it runs from (the repo root,
    // `../../` from the config), and promtool checks that those files exist.
    // Check it laid out as the README's tour has it, in a scratch copy.
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("examples/prometheus");
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::copy(
        examples().join("prometheus.yml"),
        dir.join("prometheus.yml"),
    )
    .unwrap();
    for f in &files {
        std::fs::copy(examples().join(f), dir.join(f)).unwrap();
    }
    std::fs::write(
        root.path().join("sandbox-ca.crt"),
        "written by gameday sandbox\n",
    )
    .unwrap();
    std::fs::write(root.path().join("sandbox-scrape-token"), "token\n").unwrap();
    let (ok, out) = promtool_in(&dir, &["check", "config", "prometheus.yml"]);
    assert!(ok, "{out}");
    // Without the sandbox's files the config is refused: the check above
    // really covers the credentials.
    std::fs::remove_file(root.path().join("sandbox-scrape-token")).unwrap();
    let (ok, out) = promtool_in(&dir, &["check", "config", "prometheus.yml"]);
    assert!(!ok && out.contains("sandbox-scrape-token"), "{out}");
}

fn promtool_in(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let bin = common::harness::require_binary("promtool");
    let out = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn every_alert_has_a_summary_and_a_runbook_url() {
    let mut alerts = Vec::new();
    for f in rule_files() {
        let text = std::fs::read_to_string(examples().join(&f)).unwrap();
        let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        for group in doc["groups"].as_sequence().unwrap() {
            for rule in group["rules"].as_sequence().unwrap() {
                let name = rule["alert"].as_str().unwrap().to_string();
                for key in ["summary", "runbook_url"] {
                    assert!(
                        rule["annotations"][key]
                            .as_str()
                            .is_some_and(|s| !s.is_empty()),
                        "{name} lacks {key}"
                    );
                }
                assert!(
                    rule["labels"]["severity"].as_str().is_some(),
                    "{name} lacks severity"
                );
                alerts.push(name);
            }
        }
    }
    for expected in [
        "CheckoutHighErrorRate",
        "HighErrorRate",
        "HighLatency",
        "DeploymentReplicasUnavailable",
        "StatefulSetNotReady",
    ] {
        assert!(
            alerts.iter().any(|a| a == expected),
            "{expected} missing from {alerts:?}"
        );
    }
}

#[test]
fn promtool_rule_unit_tests_pass() {
    let (ok, out) = promtool(&["test", "rules", "tests/rules_test.yml"], None);
    assert!(ok, "{out}");
    assert!(out.contains("SUCCESS"), "{out}");
}

/// The shop world with every pod ready, then checkout's pods gone, rendered
/// after some traffic: the exposition a real scrape sees.
fn rendered_exposition() -> String {
    let mut objs = World::shop().unwrap().to_objects();
    let workloads: Vec<Value> = objs
        .iter()
        .filter(|o| o["kind"] == "Deployment" || o["kind"] == "StatefulSet")
        .cloned()
        .collect();
    for w in &workloads {
        let tpl = &w["spec"]["template"];
        for i in 0..w["spec"]["replicas"].as_u64().unwrap() {
            objs.push(json!({
                "kind": "Pod",
                "metadata": {"name": format!("{}-{i}", w["metadata"]["name"].as_str().unwrap()), "namespace": w["metadata"]["namespace"],
                             "uid": format!("uid-{i}"), "labels": tpl["metadata"]["labels"], "annotations": tpl["metadata"]["annotations"]},
                "spec": {"nodeName": "node-blue-1", "containers": tpl["spec"]["containers"]},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if i == 0 { "False" } else { "True" }}],
                           "containerStatuses": [{"name": "app", "restartCount": i}]},
            }));
        }
    }
    let snap = Snapshot::from_objects(&objs);
    let mut traffic = TrafficModel::new(3);
    for _ in 0..5 {
        traffic.tick(&snap, Duration::from_secs(1));
    }
    metrics::render(&snap, &traffic)
}

#[test]
fn promtool_check_metrics_accepts_the_exposition() {
    let text = rendered_exposition();
    assert!(text.contains("http_request_duration_seconds_bucket"));
    let (ok, out) = promtool(&["check", "metrics"], Some(&text));
    assert!(ok, "promtool check metrics: {out}");
    assert!(out.trim().is_empty(), "lint findings: {out}");
}

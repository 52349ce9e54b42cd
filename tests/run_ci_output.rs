//! What a run says, for CI and for people (issue 10, items 8 and 9), on the
//! shop sandbox with real Prometheus and Alertmanager and the autopilot
//! answering the page:
//! - `--ci --log-format json`: every stderr line is one JSON object (no
//!   repeated key) with structured fields, the plan and the scorecard
//!   included; the responder API's token is in no output;
//! - the journal of a real run has no line with a repeated key;
//! - in text, responder actions show while the run goes, a probe prints its
//!   state changes rather than every reading, and `gameday respond` after
//!   the end says the run has ended.

mod common;
mod faults_support;
// Shared with the response tests; this binary uses only part of it.
#[allow(dead_code)]
mod response_support;

use std::path::Path;

use serde_json::Value;

use common::strict_json;
use faults_support::{Cluster, journal_events, scenario_text, shop_world};
use response_support::{Drill, fixture};

/// `gameday run` with the drill's wiring and `extra` flags; (code, stdout,
/// stderr, run dir).
async fn run(drill: &Drill, extra: &[&str]) -> (i32, String, String, std::path::PathBuf) {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_gameday"));
    c.arg("run")
        .arg(fixture("pod-loss-autopilot.yaml"))
        .args(["--ci", "--api-listen"])
        .arg(format!("127.0.0.1:{}", drill.api_port))
        .arg("--api-token-file")
        .arg(&drill.token_file)
        .args(extra);
    drill.wire(&mut c);
    // Its own history database: the per-user one may be another version's.
    c.env("GAMEDAY_HISTORY_DB", drill.dir.path().join("history.db"));
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = c.spawn().unwrap();
    let run_dir = drill.run_dir().await;
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        child.wait_with_output(),
    )
    .await
    .expect("the run ends within 2 minutes")
    .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        run_dir,
    )
}

/// Every file of the run directory but the token file itself, as text.
fn run_files_except_token(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "api-token"))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (
                p.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            )
        })
        .collect()
}

#[test]
fn the_strict_check_rejects_a_repeated_key_at_any_depth() {
    assert!(strict_json::parse(r#"{"a": 1, "b": [{"c": 2}]}"#).is_ok());
    let e = strict_json::parse(r#"{"event": "alert.pending", "event": "pending"}"#).unwrap_err();
    assert!(e.contains("duplicate key `event`"), "{e}");
    assert!(strict_json::parse(r#"[{"x": {"y": 1, "y": 2}}]"#).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ci_json_log_is_only_json_lines_and_never_shows_the_token() {
    let drill = Drill::start().await;
    let (code, stdout, stderr, run_dir) = run(&drill, &["--log-format", "json"]).await;
    assert_eq!(code, 0, "{stderr}");

    // Every stderr line: one object, no repeated key, an `event`.
    let mut events = Vec::new();
    for line in stderr.lines() {
        strict_json::parse(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let v: Value = serde_json::from_str(line).unwrap();
        let event = v["event"]
            .as_str()
            .unwrap_or_else(|| panic!("no event: {line}"));
        assert!(v["ts"].is_string(), "{line}");
        events.push((event.to_string(), v));
    }
    let find = |name: &str| {
        events
            .iter()
            .find(|(e, _)| e == name)
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no {name} event in\n{stderr}"))
    };
    // Structured, not prose: nothing in this run fell back to a bare
    // `message` event; the plan, the probes and the scorecard are data.
    let prose: Vec<&Value> = events
        .iter()
        .filter(|(e, _)| e == "message")
        .map(|(_, v)| v)
        .collect();
    assert!(prose.is_empty(), "free text: {prose:?}");
    assert_eq!(find("plan")["faults"][0]["fault"], "kill-one");
    assert_eq!(find("plan")["faults"][0]["blast"]["maxPercent"], 34);
    let probe = find("probe");
    assert_eq!(probe["probe"], "checkout-available");
    assert!(
        probe["phase"].is_string() && probe["state"].is_string(),
        "{probe}"
    );
    assert!(probe["expectation"].is_string(), "{probe}");
    assert_eq!(find("phase")["phase"], "preflight");
    assert!(find("scorecard")["composite"].is_number());
    assert_eq!(find("run.result")["status"], "passed");
    assert_eq!(find("fault.intent")["fault"], "kill-one");
    // Responder actions are in the live log too.
    let acted: Vec<&Value> = events
        .iter()
        .filter(|(e, _)| e == "responder.event")
        .map(|(_, v)| v)
        .collect();
    assert!(
        acted.iter().any(|v| v["responder"]["do"] == "declare"),
        "{stderr}"
    );
    let api = find("responder.api");
    let token_file = Path::new(api["tokenFile"].as_str().unwrap());
    assert!(run_dir.ends_with(token_file.parent().unwrap()), "{api}");

    // The token: in its 0600 file, nowhere else.
    let token = std::fs::read_to_string(run_dir.join("api-token")).unwrap();
    let token = token.trim();
    assert_eq!(token.len(), 64);
    assert!(!stdout.contains(token), "token on stdout");
    assert!(!stderr.contains(token), "token on stderr");
    for (path, text) in run_files_except_token(&run_dir) {
        assert!(!text.contains(token), "token in {path}");
    }

    // The journal of this real run: no line repeats a key.
    let journal = std::fs::read_to_string(run_dir.join("journal.jsonl")).unwrap();
    let mut alerts = 0;
    for line in journal.lines() {
        strict_json::parse(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if line.contains("\"alert.firing\"") {
            let v: Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["event"], "alert.firing");
            assert_eq!(v["kind"], "firing");
            alerts += 1;
        }
    }
    assert!(alerts >= 1, "the alert fired in this run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_output_shows_responders_live_and_respond_after_the_end_says_so() {
    let drill = Drill::start().await;
    let (code, _, stderr, _) = run(&drill, &[]).await;
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    let at = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in\n{stderr}"))
    };
    // Responder actions show as they happen, stamped with their time, while
    // the run still goes: not only in the scorecard at the end.
    let ts = |i: usize| lines[i].split(' ').next().unwrap().to_string();
    let (declared, ended) = (
        at("responder ic-oncall (Autopilot): declared SEV2"),
        at("run ended"),
    );
    assert!(declared < ended && ts(declared) < ts(ended), "{stderr}");
    assert!(at("(Autopilot): acknowledged") < ended, "{stderr}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("alert CheckoutHighErrorRate firing")),
        "{stderr}"
    );

    // After the end, `respond` says so rather than "connection refused".
    let (code, err) = drill.respond("alice", &["ack"]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("the run has ended (passed)"), "{err}");
}

/// frontend at 1 of 2 replicas for 6 s, read every 300 ms: dozens of
/// readings, a handful of changes.
const SHRINK: &str = "    - {name: shrink, type: scale, duration: 6s, selector: {namespace: shop, kind: Deployment, name: frontend}, params: {replicas: 1}}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_output_prints_probe_changes_not_every_reading() {
    let c = Cluster::start(shop_world()).await;
    let text = scenario_text("changes", SHRINK, "")
        .replace("interval: 1s", "interval: 300ms")
        .replace(
            "kubernetes: {kind: Deployment, namespace: shop, name: checkout, field: replicas}\n        expect: \">= 0\"",
            "kubernetes: {kind: Deployment, namespace: shop, name: frontend, field: availableReplicas}\n        expect: \">= 2\"\n        during: \">= 1\"",
        );
    let sc = c.path("s.yaml");
    std::fs::write(&sc, text).unwrap();
    let out = c.path("run");
    let (code, _, err) = c
        .run(&[
            "run",
            sc.to_str().unwrap(),
            "--ci",
            "--out",
            out.to_str().unwrap(),
        ])
        .await;
    let readings = journal_events(&out)
        .iter()
        .filter(|e| e.event == "probe.reading")
        .count();
    let printed: Vec<&str> = err.lines().filter(|l| l.contains(" probe")).collect();
    assert!(readings >= 15, "{readings} readings; exit {code}\n{err}");
    assert!(
        (2..=6).contains(&printed.len()),
        "{} probe lines for {readings} readings:\n{err}",
        printed.len()
    );
}

/// A usage error (the flags did not parse) under `--log-format json` is
/// still one JSON line, not clap's plain text.
#[test]
fn usage_errors_are_json_lines_when_asked_for() {
    for args in [
        &["--log-format", "json", "run"][..],
        &["run", "--log-format=json", "--no-such-flag", "x.yaml"][..],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {stderr}");
        strict_json::parse(lines[0]).expect("one JSON object, no repeated key");
        let v: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["event"], "error");
        assert_eq!(v["kind"], "usage");
        assert!(
            v["message"].as_str().is_some_and(|m| m.contains("error:")),
            "{v}"
        );
    }
}

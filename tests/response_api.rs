//! The responder API's gate: a missing or wrong bearer token is 401, a
//! malformed event is 400 with a message, and neither leaves a trace in the
//! journal or the live state. Also the token file's permissions.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use common::harness::{free_port, shop_sandbox};

fn responder_entries(run_dir: &Path) -> usize {
    gameday::engine::Journal::read(&run_dir.join("journal.jsonl"))
        .unwrap_or_default()
        .iter()
        .filter(|e| e.event == "responder.event")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_bad_tokens_and_malformed_events_and_records_nothing_from_them() {
    let sandbox = shop_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    sandbox
        .write_kubeconfig(&kubeconfig, "gameday-sandbox")
        .unwrap();
    let run_dir = dir.path().join("run");
    let port = free_port();
    let scenario =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/response/api-hold.yaml");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&run_dir)
        .args(["--ci", "--api-listen", &format!("127.0.0.1:{port}")])
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["--context", "gameday-sandbox"])
        .env_remove("CI")
        .env_remove("GAMEDAY_CONFIG")
        .env_remove("GAMEDAY_PROMETHEUS_URL")
        .env_remove("GAMEDAY_ALERTMANAGER_URL")
        .current_dir(dir.path())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let token_path = run_dir.join("api-token");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !token_path.is_file() {
        assert!(tokio::time::Instant::now() < deadline, "no api-token");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mode = std::fs::metadata(&token_path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let token = std::fs::read_to_string(&token_path).unwrap();
    let url = std::fs::read_to_string(run_dir.join("api-url")).unwrap();
    let url = url.trim();
    assert_eq!(url, format!("http://127.0.0.1:{port}"));

    let http = reqwest::Client::new();
    let events = format!("{url}/v1/events");
    let ack = json!({"as": "alice", "do": "ack"});
    // No token, a wrong token, a wrong scheme: 401 on every route.
    for path in ["/v1/events", "/v1/alertmanager"] {
        let r = http
            .post(format!("{url}{path}"))
            .json(&ack)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = http.get(format!("{url}/v1/state")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .post(&events)
        .bearer_auth("not-the-token")
        .json(&ack)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("token"));
    let r = http
        .post(&events)
        .header("authorization", format!("Basic {token}"))
        .json(&ack)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Malformed events: 400 with a message that says what is wrong.
    let bad: [(&str, &str); 6] = [
        ("{not json", "malformed"),
        (r#"{"as": "alice"}"#, "malformed"),
        (r#"{"as": "alice", "do": "dance"}"#, "dance"),
        (r#"{"do": "ack"}"#, "as"),
        (
            r#"{"as": "alice", "do": "declare", "severity": "SEV9"}"#,
            "SEV9",
        ),
        (
            r#"{"as": "alice", "do": "step", "step": "reboot"}"#,
            "reboot",
        ),
    ];
    for (body, needle) in bad {
        let r = http
            .post(&events)
            .bearer_auth(token.trim())
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let msg: Value = r.json().await.unwrap();
        let msg = msg["error"].as_str().unwrap().to_string();
        assert!(msg.contains(needle), "{body}: {msg}");
    }
    let r = http
        .post(format!("{url}/v1/alertmanager"))
        .bearer_auth(token.trim())
        .json(&json!({"version": "3", "alerts": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Nothing was recorded from any of them.
    assert_eq!(responder_entries(&run_dir), 0);
    // The API answers before the engine's first journal entry, so wait
    // (bounded) for the timeline to fill rather than racing the engine.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let state = loop {
        let state: Value = http
            .get(format!("{url}/v1/state"))
            .bearer_auth(token.trim())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if state["timeline"].as_array().is_some_and(|t| !t.is_empty()) {
            break state;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the live timeline stayed empty: {state:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(state["responders"], json!([]), "{state:#}");
    assert!(state["phase"].is_string());

    // A good event goes through, once.
    let r = http
        .post(&events)
        .bearer_auth(token.trim())
        .json(&ack)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(responder_entries(&run_dir), 1);

    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Where the token is was printed at the start; the token never is.
    assert!(!stderr.contains(token.trim()), "{stderr}");
    assert!(stderr.contains("api-token"), "{stderr}");
    // The exit code is the one result.json settled on.
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("result.json")).unwrap())
            .unwrap();
    assert_eq!(
        out.status.code(),
        result["exitCode"].as_i64().map(|c| c as i32),
        "{stderr}"
    );
    assert_eq!(result["responders"][0]["as"], "alice");
    sandbox.shutdown().await;
}

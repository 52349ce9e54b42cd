//! One naming convention in every machine-readable output: the keys of
//! every `-o json` document and of result.json are camelCase (issue 10,
//! item 8). Data keys (labels, undo data, workload names) are the user's
//! and are not checked.

mod faults_support;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use faults_support::{Cluster, journal_events, shop_world};

/// Maps whose keys are data, not field names.
const DATA_MAPS: &[&str] = &["labels", "annotations", "undo", "groupTotals", "params"];

/// Every key that is not camelCase, with its path.
fn not_camel(v: &Value, path: &str, bad: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let camel = k.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                    && k.chars().all(|c| c.is_ascii_alphanumeric());
                if !camel {
                    bad.push(format!("{path}.{k}"));
                }
                if !DATA_MAPS.contains(&k.as_str()) {
                    not_camel(v, &format!("{path}.{k}"), bad);
                }
            }
        }
        Value::Array(a) => a
            .iter()
            .for_each(|v| not_camel(v, &format!("{path}[]"), bad)),
        _ => {}
    }
}

fn assert_camel(what: &str, text: &str) {
    let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: {e}\n{text}"));
    let mut bad = Vec::new();
    not_camel(&v, what, &mut bad);
    assert!(bad.is_empty(), "not camelCase: {bad:?}");
}

const HELD: &str = "    - {name: freeze, type: podFailure, duration: 4s, selector: {namespace: shop, labels: {app: checkout}}, mode: {count: 1}}
    - {name: shrink, type: scale, duration: 4s, selector: {namespace: shop, kind: Deployment, name: frontend}, params: {replicas: 1}}";

async fn json_of(c: &Cluster, db: &Path, args: &[&str]) -> String {
    let out = c
        .gameday(args)
        .env("GAMEDAY_HISTORY_DB", db)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !stdout.trim().is_empty(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_json_output_and_result_json_use_camel_case_keys() {
    let c = Cluster::start(shop_world()).await;
    let sc = c.write_scenario("s.yaml", "names", HELD, "");
    let sc = sc.to_str().unwrap();
    let db = c.path("history.db");
    let out = c.path("run");

    assert_camel("plan", &json_of(&c, &db, &["plan", sc, "-o", "json"]).await);
    assert_camel(
        "validate",
        &json_of(&c, &db, &["validate", sc, "-o", "json"]).await,
    );
    let invalid = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/invalid");
    let diagnostics = json_of(&c, &db, &["validate", invalid, "-o", "json"]).await;
    assert!(diagnostics.contains("sourceLine"), "{diagnostics}");
    assert_camel("validate (invalid)", &diagnostics);

    let run = c
        .gameday(&["run", sc, "--ci", "--out", out.to_str().unwrap()])
        .env("GAMEDAY_HISTORY_DB", &db)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let held = c
        .eventually(Duration::from_secs(20), || async {
            journal_events(&out)
                .iter()
                .filter(|e| e.event == "fault.injected")
                .count()
                == 2
        })
        .await;
    assert!(held);
    // The marked objects as recover sees them, while the run holds.
    let dry = json_of(&c, &db, &["recover", "--all", "--dry-run", "-o", "json"]).await;
    assert!(dry.contains("runId"), "{dry}");
    assert_camel("recover --dry-run", &dry);
    let status = tokio::time::timeout(Duration::from_secs(60), run.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.status.code(), Some(0));

    let result = std::fs::read_to_string(out.join("result.json")).unwrap();
    assert_camel("result.json", &result);
    assert_camel(
        "recover",
        &json_of(&c, &db, &["recover", "--all", "-o", "json"]).await,
    );
    assert_camel(
        "history",
        &json_of(&c, &db, &["history", "-o", "json"]).await,
    );
    assert_camel(
        "metrics",
        &json_of(&c, &db, &["metrics", "-o", "json"]).await,
    );
    assert_camel(
        "actions",
        &json_of(&c, &db, &["actions", "list", "-o", "json"]).await,
    );
}

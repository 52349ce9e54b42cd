//! `gameday readiness` on examples/readiness: every deliberate gap is found
//! with its file and line (the exact set), the history checks find what a
//! seeded history says, `--fail-under` gates, the JUnit parses, and
//! malformed inputs exit 2 (or 4 for a server that is not there) with a
//! positioned message instead of a panic.

mod history_support;

use std::path::{Path, PathBuf};

use history_support::{gameday, item, run, stderr, stdout};
use serde_json::Value;

fn example_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/readiness")
}

const FULL: &[&str] = &[
    "readiness",
    "--rules",
    "rules",
    "--alertmanager-config",
    "alertmanager.yml",
    "--catalog",
    "catalog-info.yaml",
    "--scenarios",
    "scenarios",
];

fn audit(extra: &[&str], db: Option<&Path>) -> (i32, Value) {
    let args: Vec<&str> = FULL
        .iter()
        .chain(extra)
        .chain(&["-o", "json"])
        .copied()
        .collect();
    let out = gameday(&example_dir(), db, &args);
    let json = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&out), stderr(&out)));
    (out.status.code().unwrap(), json)
}

/// (check, subject, file, line) of every finding.
fn set(json: &Value) -> Vec<(String, String, String, u64)> {
    let mut v: Vec<_> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let keys: Vec<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                ["check", "severity", "subject", "file", "line", "hint"],
                "{f}"
            );
            (
                f["check"].as_str().unwrap().to_string(),
                f["subject"].as_str().unwrap().to_string(),
                f["file"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn row(check: &str, subject: &str, file: &str, line: u64) -> (String, String, String, u64) {
    (check.into(), subject.into(), file.into(), line)
}

/// The deliberate gaps of examples/readiness (its README lists them).
fn gaps() -> Vec<(String, String, String, u64)> {
    vec![
        row("alert-no-owner", "NodeClockSkew", "rules/platform.yml", 15),
        row(
            "alert-not-exercised",
            "CheckoutHighLatency",
            "rules/shop.yml",
            21,
        ),
        row(
            "alert-not-exercised",
            "LedgerDiskFilling",
            "rules/platform.yml",
            7,
        ),
        row(
            "alert-not-exercised",
            "NodeClockSkew",
            "rules/platform.yml",
            15,
        ),
        row("alert-not-exercised", "PaymentsDown", "rules/shop.yml", 39),
        row("alert-not-exercised", "SearchSlow", "rules/shop.yml", 57),
        row("owner-no-oncall", "inventory-team", "catalog-info.yaml", 74),
        row("owner-no-oncall", "user:jane", "catalog-info.yaml", 58),
        row("route-no-pager", "InventoryErrors", "rules/shop.yml", 49),
        row(
            "runbook-missing",
            "CheckoutHighLatency",
            "rules/shop.yml",
            21,
        ),
        row("runbook-unresolved", "PaymentsDown", "rules/shop.yml", 46),
        row(
            "scenario-no-guardrail",
            "inventory-scale-down",
            "scenarios/inventory-scale-down.yaml",
            16,
        ),
        row("service-no-owner", "search", "catalog-info.yaml", 45),
        row(
            "severity-unknown",
            "LedgerDiskFilling",
            "rules/platform.yml",
            7,
        ),
    ]
}

#[test]
fn every_deliberate_gap_is_found_with_its_file_and_line() {
    let (code, json) = audit(&[], None);
    assert_eq!(code, 0);
    let mut want = gaps();
    want.sort();
    assert_eq!(set(&json), want);
    let score = json["score"].as_f64().unwrap();
    assert!((0.0..1.0).contains(&score), "{score}");
}

#[test]
fn history_finds_stale_drills_and_overdue_actions() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("history.db");
    let now = jiff::Timestamp::now();
    let ago = |days: i64| (now - jiff::SignedDuration::from_hours(24 * days)).to_string();
    let mut fresh = run(
        "r1",
        "checkout-pod-loss",
        None,
        &ago(3),
        [None; 4],
        true,
        tmp.path(),
    );
    fresh.action_items = vec![
        item(
            "A1",
            "Page inventory through PagerDuty",
            Some("2020-01-31"),
            None,
        ),
        item(
            "A2",
            "Add a checkout latency runbook",
            Some("2020-02-01"),
            Some("2020-01-20T00:00:00Z"),
        ),
    ];
    let mut old = run(
        "r2",
        "payments-api-errors",
        None,
        &ago(60),
        [None; 4],
        true,
        tmp.path(),
    );
    old.kind = "drill".into();
    let mut store = gameday::history::Store::open(&db).unwrap();
    store.record(&fresh).unwrap();
    store.record(&old).unwrap();
    drop(store);

    let (_, json) = audit(&[], Some(&db));
    let got = set(&json);
    let extra: Vec<_> = got
        .iter()
        .filter(|f| !gaps().contains(f))
        .cloned()
        .collect();
    let db_name = db.display().to_string();
    let mut want = vec![
        row(
            "action-overdue",
            "#1 Page inventory through PagerDuty",
            &db_name,
            0,
        ),
        row("alert-not-drilled", "InventoryErrors", "rules/shop.yml", 49),
        row(
            "alert-not-drilled",
            "PaymentsAPIErrors",
            "rules/shop.yml",
            31,
        ),
        row("service-not-drilled", "inventory", "catalog-info.yaml", 35),
        row("service-not-drilled", "ledger", "catalog-info.yaml", 54),
        row("service-not-drilled", "payments", "catalog-info.yaml", 25),
        row("service-not-drilled", "search", "catalog-info.yaml", 45),
    ];
    want.sort();
    assert_eq!(extra, want);
}

#[test]
fn fail_under_exits_1_below_the_score_and_0_at_or_above_it() {
    let (_, json) = audit(&[], None);
    let score = json["score"].as_f64().unwrap();
    let below = format!("{:.3}", (score + 0.01).min(1.0));
    let above = format!("{:.3}", (score - 0.01).max(0.0));
    assert_eq!(audit(&["--fail-under", &below], None).0, 1);
    assert_eq!(audit(&["--fail-under", &above], None).0, 0);
    assert_eq!(
        audit(&["--fail-under", &score.to_string()], None).0,
        0,
        "at the printed score"
    );
    assert_eq!(audit(&["--fail-under", "0"], None).0, 0);
}

#[test]
fn junit_has_one_testcase_per_check_and_the_report_lists_every_finding() {
    let tmp = tempfile::tempdir().unwrap();
    let junit = tmp.path().join("readiness.xml");
    let report = tmp.path().join("readiness.md");
    let (j, r) = (junit.display().to_string(), report.display().to_string());
    audit(&["--junit", &j, "--report", &r], None);
    let xml = std::fs::read_to_string(&junit).unwrap();
    let suites = junit_parser::from_reader(std::io::Cursor::new(xml.as_bytes())).unwrap();
    let cases = &suites.suites[0].cases;
    assert_eq!(cases.len(), gameday::readiness::CHECKS.len());
    let failed: Vec<&str> = cases
        .iter()
        .filter(|c| c.status.is_failure())
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(failed.len(), 9, "{failed:?}");
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    let overdue = cases
        .iter()
        .find(|c| c.name.ends_with("action-overdue"))
        .unwrap_or_else(|| panic!("{names:?}"));
    assert!(overdue.status.is_skipped(), "{:?}", overdue.status);
    let md = std::fs::read_to_string(&report).unwrap();
    assert!(
        md.contains("| `rules/shop.yml:21` | `runbook-missing` |"),
        "{md}"
    );
    assert!(md.contains("## Manual checks"));
}

#[test]
fn text_output_ends_with_the_summary() {
    let args: Vec<&str> = FULL.to_vec();
    let out = gameday(&example_dir(), None, &args);
    let text = stdout(&out);
    let last = text.lines().last().unwrap();
    assert!(last.starts_with("readiness 0."), "{text}");
    assert!(text.contains("rules/shop.yml:21: error[runbook-missing] CheckoutHighLatency"));
    assert!(text.contains("  routing"));
}

fn bad_input(file: &str, text: &str, flag: &str) -> (i32, String) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join(file), text).unwrap();
    let out = gameday(tmp.path(), None, &["readiness", flag, file]);
    (out.status.code().unwrap(), stderr(&out))
}

#[test]
fn malformed_inputs_exit_2_with_a_position() {
    let (code, err) = bad_input(
        "r.yml",
        "groups:\n  - name: g\n    rules:\n      - alert: [x\n",
        "--rules",
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("r.yml:"), "{err}");
    let (code, err) = bad_input(
        "c.yaml",
        "kind: Compnent\nmetadata: {name: x}\n",
        "--catalog",
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("c.yaml:1:7: error: unknown catalog kind `Compnent`"),
        "{err}"
    );
    assert!(err.contains("did you mean `Component`?"), "{err}");
    let (code, err) = bad_input(
        "am.yml",
        "route:\n  receiver: nobody\n",
        "--alertmanager-config",
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("am.yml:2:13: error: undefined receiver `nobody`"),
        "{err}"
    );
    let (code, err) = bad_input("x.yml", "", "--rules");
    assert_eq!(code, 0, "an empty rules file has no alerts: {err}");
    let tmp = tempfile::tempdir().unwrap();
    let out = gameday(tmp.path(), None, &["readiness", "--rules", "missing.yml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing.yml:1:1"), "{}", stderr(&out));
}

#[test]
fn an_unreachable_server_exits_4() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let tmp = tempfile::tempdir().unwrap();
    for flag in ["--prometheus", "--alertmanager"] {
        let out = gameday(tmp.path(), None, &["readiness", flag, &url]);
        assert_eq!(out.status.code(), Some(4), "{flag}: {}", stderr(&out));
        assert!(stderr(&out).contains("cannot reach"), "{}", stderr(&out));
    }
}

/// A loopback HTTP server answering `HEAD /ok` with 200 and anything else
/// with 404, for `--check-urls`. Serves `requests` connections, then ends;
/// nobody waits for it, so a binary that never connects cannot hang the test.
fn head_server(requests: usize) -> (String, std::thread::JoinHandle<()>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let mut stream = stream.unwrap();
            let mut line = String::new();
            BufReader::new(&stream).read_line(&mut line).unwrap();
            let status = if line.starts_with("HEAD /ok ") {
                "200 OK"
            } else {
                "404 Not Found"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (url, handle)
}

#[test]
fn check_urls_heads_each_runbook_url_and_reports_the_ones_that_fail() {
    let (url, server) = head_server(2);
    let tmp = tempfile::tempdir().unwrap();
    let rules = format!(
        "groups:\n  - name: g\n    rules:\n      - alert: Good\n        expr: up == 0\n        labels: {{severity: info}}\n        annotations: {{runbook_url: '{url}/ok'}}\n      - alert: Gone\n        expr: up == 0\n        labels: {{severity: info}}\n        annotations: {{runbook_url: '{url}/gone'}}\n"
    );
    std::fs::write(tmp.path().join("r.yml"), rules).unwrap();
    let without = gameday(
        tmp.path(),
        None,
        &["readiness", "--rules", "r.yml", "-o", "json"],
    );
    let json: Value = serde_json::from_slice(&without.stdout).unwrap();
    assert_eq!(
        json["findings"],
        serde_json::json!([]),
        "no HEAD without --check-urls"
    );
    let with = gameday(
        tmp.path(),
        None,
        &[
            "readiness",
            "--rules",
            "r.yml",
            "--check-urls",
            "-o",
            "json",
        ],
    );
    drop(server);
    let json: Value = serde_json::from_slice(&with.stdout).unwrap();
    assert_eq!(
        set(&json),
        vec![row("runbook-unresolved", "Gone", "r.yml", 11)],
        "{json}"
    );
    assert!(
        json["findings"][0]["hint"]
            .as_str()
            .unwrap()
            .contains("404"),
        "{json}"
    );
}

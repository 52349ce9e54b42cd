//! `gameday validate` on directories: every error of every file is reported,
//! valid files do not hide invalid ones, the exit code is 2, and `-o json`
//! carries the same diagnostics for editors and CI.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn gameday(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("GAMEDAY_CONFIG")
        .output()
        .unwrap()
}

fn copy_fixture(kind: &str, stem: &str, to: &Path) {
    let from = root().join(format!("tests/fixtures/{kind}/{stem}.yaml"));
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to).unwrap();
}

/// A directory with two valid files, three invalid ones (one nested, one
/// `.yml`), and YAML that is not a scenario.
fn mixed_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("drills");
    copy_fixture("valid", "full", &d.join("a-valid.yaml"));
    copy_fixture("valid", "minimal-multi-doc", &d.join("nested/b-valid.yml"));
    copy_fixture("invalid", "unknown-field-misspelt", &d.join("c-typo.yaml"));
    copy_fixture(
        "invalid",
        "protected-namespace",
        &d.join("nested/d-protected.yml"),
    );
    copy_fixture(
        "invalid",
        "invalid-promql",
        &d.join("nested/deeper/e-promql.yaml"),
    );
    // Not scenarios: alert rules, a Kubernetes manifest, a text file, a hidden dir.
    std::fs::write(
        d.join("rules.yaml"),
        "groups:\n  - name: shop\n    rules: []\n",
    )
    .unwrap();
    std::fs::write(
        d.join("deploy.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n",
    )
    .unwrap();
    std::fs::write(d.join("notes.txt"), "kind: Scenario\n").unwrap();
    std::fs::create_dir_all(d.join(".git")).unwrap();
    std::fs::write(d.join(".git/broken.yaml"), "a: [").unwrap();
    dir
}

#[test]
fn a_directory_with_valid_and_invalid_files_reports_every_error() {
    let dir = mixed_dir();
    let out = gameday(&["validate", "drills"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    for expected in [
        "drills/c-typo.yaml:31:9: error: unknown field `tiemout` in probe",
        "drills/nested/d-protected.yml:57:20: error: namespace `kube-system` is protected",
        "drills/nested/deeper/e-promql.yaml:24:18: error: invalid PromQL",
        "note: skipped drills/rules.yaml",
        "note: skipped drills/deploy.yaml: apiVersion `apps/v1` is not a gameday format",
        "error: 3 errors in 3 of 5 files",
    ] {
        assert!(
            stderr.contains(expected),
            "missing `{expected}` in\n{stderr}"
        );
    }
    assert!(!stderr.contains("a-valid"), "{stderr}");
    assert!(!stderr.contains(".git"), "{stderr}");
    assert!(!stderr.contains("notes.txt"), "{stderr}");
}

#[test]
fn json_output_carries_every_diagnostic_and_file() {
    let dir = mixed_dir();
    let out = gameday(&["validate", "drills", "-o", "json"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["valid"], false);
    let diags = report["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 3);
    let first = &diags[0];
    assert_eq!(first["file"], "drills/c-typo.yaml");
    assert_eq!(first["line"], 31);
    assert_eq!(first["column"], 9);
    assert_eq!(first["severity"], "error");
    assert_eq!(first["hint"], "did you mean `timeout`?");
    assert_eq!(first["sourceLine"], "        tiemout: 3s");
    let files = report["files"].as_array().unwrap();
    assert_eq!(files.len(), 7);
    let valid: Vec<&str> = files
        .iter()
        .filter(|f| f["valid"] == true && f["kind"] == "scenario")
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(valid, ["drills/a-valid.yaml", "drills/nested/b-valid.yml"]);
    let b = files
        .iter()
        .find(|f| f["file"] == "drills/nested/b-valid.yml")
        .unwrap();
    assert_eq!(
        b["scenarios"],
        serde_json::json!(["payments-partition", "node-taint"])
    );
}

#[test]
fn valid_files_exit_0_and_files_named_explicitly_are_always_checked() {
    let dir = mixed_dir();
    let ok = gameday(
        &["validate", "drills/a-valid.yaml", "drills/nested"],
        dir.path(),
    );
    // drills/nested holds one invalid file.
    assert_eq!(ok.status.code(), Some(2));
    let ok = gameday(
        &[
            "validate",
            "drills/a-valid.yaml",
            "drills/nested/b-valid.yml",
        ],
        dir.path(),
    );
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("ok: 2 files valid (3 scenarios)"));
    // Named explicitly, alert rules are checked as a scenario (and fail).
    let rules = gameday(&["validate", "drills/rules.yaml"], dir.path());
    assert_eq!(rules.status.code(), Some(2));
    let missing = gameday(&["validate", "drills/nope.yaml"], dir.path());
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("drills/nope.yaml:1:1: error: no such file")
    );
}

#[test]
fn the_repository_scenarios_examples_and_valid_fixtures_validate() {
    let out = gameday(
        &["validate", "tests/fixtures/valid", "scenarios", "examples"],
        &root(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_config_changes_what_is_valid_and_is_checked_itself() {
    let dir = mixed_dir();
    // An extra protected namespace makes a valid scenario invalid.
    std::fs::write(
        dir.path().join("strict.yaml"),
        "protectedNamespaces: [payments]\n",
    )
    .unwrap();
    let out = gameday(
        &[
            "--config",
            "strict.yaml",
            "validate",
            "drills/nested/b-valid.yml",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("namespace `payments` is protected"),
        "{stderr}"
    );
    // A custom severity table: SEV2 no longer exists.
    std::fs::write(
        dir.path().join("sev.yaml"),
        "severities:\n  P1: {ackTarget: 5m, requiredRoles: [incidentCommander]}\n",
    )
    .unwrap();
    let out = gameday(
        &["validate", "drills/a-valid.yaml", "--config", "sev.yaml"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("unknown severity `SEV2`"), "{stderr}");
    assert!(
        stderr.contains("the config's severity levels are `P1`"),
        "{stderr}"
    );
    // A broken config is reported like a broken scenario.
    std::fs::write(
        dir.path().join("bad.yaml"),
        "passMark: 0.7\nprotectedNamespace: [x]\n",
    )
    .unwrap();
    let out = gameday(
        &["validate", "drills/a-valid.yaml", "--config", "bad.yaml"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("bad.yaml:2:1: error: unknown field `protectedNamespace` in config"),
        "{stderr}"
    );
    assert!(
        stderr.contains("did you mean `protectedNamespaces`?"),
        "{stderr}"
    );
}

#[test]
fn init_writes_a_starter_that_validates_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    for ty in ["podKill", "networkDelay", "nodeDrain", "scale"] {
        let file = format!("{ty}.yaml");
        let out = gameday(
            &["init", "my-drill", "--fault", ty, "-o", &file],
            dir.path(),
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let check = gameday(&["validate", &file], dir.path());
        assert_eq!(
            check.status.code(),
            Some(0),
            "{ty}: {}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
    let again = gameday(
        &["init", "my-drill", "--fault", "scale", "-o", "scale.yaml"],
        dir.path(),
    );
    assert_eq!(again.status.code(), Some(2));
    let bad_name = gameday(&["init", "My_Drill", "--fault", "scale"], dir.path());
    assert_eq!(bad_name.status.code(), Some(2));
    let bad_type = gameday(&["init", "x", "--fault", "podkill"], dir.path());
    assert_eq!(bad_type.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_type.stderr).contains("did you mean `podKill`?"));
    let stdout = gameday(&["init", "to-stdout", "--fault", "dnsBlock"], dir.path());
    assert_eq!(stdout.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&stdout.stdout).contains("type: dnsBlock"));
}

//! Golden tests for the drill format (shared/drill-v1.md): every file in
//! tests/fixtures/drills/invalid/ holds one mistake, and `gameday validate`
//! must report it at the given line and column, with a hint, and exit 2.
//! The valid drills validate, and `gameday schema drill` accepts them.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use gameday::config::Config;
use gameday::drill::load_file;

/// (file stem, line, column, message substring).
const GOLDEN: &[(&str, usize, usize, &str)] = &[
    (
        "after-cycle",
        35,
        21,
        "the `after` references form a cycle: exec-pressure -> rollback-hint -> exec-pressure",
    ),
    (
        "after-self",
        38,
        21,
        "inject `rollback-hint` waits for itself",
    ),
    (
        "after-unknown-inject",
        38,
        21,
        "`after: dashbaord` names no inject of this drill",
    ),
    (
        "alert-without-alertname",
        22,
        9,
        "alert inject `page` has no `alertname` label",
    ),
    (
        "at-and-when",
        33,
        7,
        "inject `escalate` has both `at` and `when`",
    ),
    (
        "autopilot-unknown-person",
        46,
        23,
        "`ops-on-call` is not named under `response.roles`",
    ),
    (
        "bad-inject-duration",
        26,
        11,
        "invalid duration `1 minute` for `at`: unknown unit ` minute` (use ms, s, m or h)",
    ),
    (
        "delay-with-no-event",
        32,
        36,
        "inject `escalate`: `delay` goes with `after`, not `noEvent`",
    ),
    (
        "detection-unknown-alert",
        40,
        31,
        "`PaymentsApiError` is not the alertname of any alert inject",
    ),
    (
        "duplicate-inject-id",
        37,
        11,
        "duplicate inject id `dashboard`",
    ),
    (
        "duplicate-objective-id",
        15,
        11,
        "duplicate objective id `declare-fast`",
    ),
    (
        "duplicate-runbook-step",
        44,
        95,
        "duplicate runbook step id `ack`",
    ),
    (
        "fault-longer-than-max-duration",
        13,
        150,
        "fault `ledger-partition` does not fit in `blastRadius.maxDuration` (2m): it ends at 3m and recovery may take 2m more, 5m in all",
    ),
    (
        "fault-protected-namespace",
        13,
        85,
        "namespace `kube-system` is protected",
    ),
    (
        "fault-without-target",
        13,
        7,
        "inject `db-partition` has a `fault`, so the drill needs `spec.target`",
    ),
    (
        "neither-at-nor-when",
        25,
        11,
        "inject `dashboard` has neither `at` nor `when`",
    ),
    ("no-action", 31, 11, "inject `escalate` does nothing"),
    (
        "no-event-without-by",
        32,
        14,
        "inject `escalate`: `noEvent` needs `by`",
    ),
    ("no-injects", 18, 3, "`injects` needs at least one entry"),
    (
        "time-scale-zero",
        10,
        14,
        "`timeScale` must be above 0, not 0",
    ),
    (
        "two-actions",
        33,
        7,
        "inject `escalate` has more than one action (`message`, `escalate`)",
    ),
    (
        "unknown-event-kind",
        14,
        22,
        "unknown value `declared` for `event`",
    ),
    (
        "unknown-inject-field",
        27,
        7,
        "unknown field `mesage` in inject",
    ),
    (
        "unknown-role-in-escalate",
        33,
        22,
        "unknown value `incidentcommander` for `to`",
    ),
    (
        "unknown-role-in-objective-by",
        17,
        47,
        "unknown value `comms` for `by`",
    ),
    (
        "unknown-role-in-to",
        28,
        14,
        "unknown value `operator` for `to[0]`",
    ),
    (
        "wrong-kind-near-miss",
        2,
        7,
        "unknown value `Dril` for `kind`",
    ),
];

/// "Did you mean" and other hints that must come with some mistakes.
const HINTS: &[(&str, &str)] = &[
    ("after-unknown-inject", "did you mean `dashboard`?"),
    ("unknown-role-in-to", "did you mean `operations`?"),
    (
        "unknown-role-in-escalate",
        "did you mean `incidentCommander`?",
    ),
    ("unknown-event-kind", "did you mean `declare`?"),
    (
        "detection-unknown-alert",
        "did you mean `PaymentsAPIErrors`?",
    ),
    ("duplicate-inject-id", "line 25"),
    ("fault-protected-namespace", "kube-system"),
    ("fault-without-target", "blastRadius"),
    ("wrong-kind-near-miss", "did you mean `Drill`?"),
];

fn dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/drills")
        .join(kind)
}

fn fixture(stem: &str) -> PathBuf {
    dir("invalid").join(format!("{stem}.yaml"))
}

fn gameday(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn the_corpus_has_fifteen_distinct_mistakes_each_golden() {
    common::golden::check_corpus(&dir("invalid"), GOLDEN, 15);
}

#[test]
fn the_loader_reports_each_mistake_at_its_node_with_a_hint() {
    let config = Config::default();
    for &(stem, line, column, message) in GOLDEN {
        let diags = load_file(&fixture(stem), &config, &gameday::faults::Registry).expect_err(stem);
        let hit = diags
            .iter()
            .find(|d| d.line == line && d.column == column && d.message.contains(message));
        let hit = hit.unwrap_or_else(|| {
            panic!(
                "{stem}: expected {line}:{column} `{message}`, got:\n{}",
                gameday::diag::render_all(&diags, false)
            )
        });
        if stem != "no-injects" {
            assert!(hit.hint.is_some(), "{stem}: no hint");
        }
    }
    for &(stem, hint) in HINTS {
        let diags = load_file(&fixture(stem), &config, &gameday::faults::Registry).expect_err(stem);
        common::golden::assert_hint(stem, &diags, hint);
    }
}

#[test]
fn gameday_validate_prints_file_line_col_and_exits_2() {
    for &(stem, line, column, message) in GOLDEN {
        let path = fixture(stem);
        let out = gameday(&["validate".as_ref(), path.as_os_str()]);
        assert_eq!(out.status.code(), Some(2), "{stem}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        let headline = format!("{}:{line}:{column}: error: {message}", path.display());
        assert!(
            stderr.contains(&headline),
            "{stem}: missing `{headline}` in\n{stderr}"
        );
        let gutter = format!("{line} | ");
        let at = stderr
            .find(&gutter)
            .unwrap_or_else(|| panic!("{stem}: no source line\n{stderr}"));
        let caret_col = stderr[at..].lines().nth(1).unwrap().find('^').unwrap();
        assert_eq!(
            caret_col,
            gutter.len() + column - 1,
            "{stem}: caret misplaced\n{stderr}"
        );
    }
}

#[test]
fn valid_drills_validate_and_fit_the_printed_schema() {
    let out = gameday(&["validate".as_ref(), dir("valid").as_os_str()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let schema = gameday(&["schema".as_ref(), "drill".as_ref()]);
    assert_eq!(schema.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&schema.stdout).unwrap();
    assert_eq!(schema["title"], "gameday drill v1");
    let validator = jsonschema::validator_for(&schema).unwrap();
    for entry in std::fs::read_dir(dir("valid")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let doc: serde_json::Value = serde_yaml::from_str(&text).unwrap();
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    }
}

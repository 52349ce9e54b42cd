//! Golden tests for the invalid corpus: every file in tests/fixtures/invalid/
//! holds one mistake, and `gameday validate` must report it at the given
//! line and column with the given message, and exit 2.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use gameday::config::Config;
use gameday::faults::Registry;
use gameday::scenario::load_file;

/// (file stem, line, column, message substring).
const GOLDEN: &[(&str, usize, usize, &str)] = &[
    (
        "autopilot-field-for-other-action",
        102,
        9,
        "`message` is not used by `do: ack`",
    ),
    (
        "autopilot-unknown-person",
        100,
        13,
        "`ops-on-call` is not named under `response.roles`",
    ),
    (
        "autopilot-unknown-severity",
        105,
        19,
        "unknown severity `SEV9`",
    ),
    (
        "autopilot-unknown-step",
        109,
        15,
        "`scale-out` is not a runbook step",
    ),
    (
        "bad-api-version",
        2,
        13,
        "unknown value `gameday/v2` for `apiVersion`",
    ),
    (
        "bad-duration-unit",
        77,
        17,
        "invalid duration `90d` for `within`: unknown unit `d` (use ms, s, m or",
    ),
    (
        "bad-enum-fault-type",
        54,
        13,
        "unknown value `podkill` for `type`",
    ),
    (
        "bad-expectation",
        28,
        17,
        "invalid expectation `0.99` for `expect`: expected a comparator (>=, >,",
    ),
    (
        "bad-fault-name",
        53,
        13,
        "`Kill_Third` is not a valid `name` (it must match `^[a-z0-9]([-a-z0-9]",
    ),
    (
        "bad-metadata-name",
        5,
        9,
        "`Checkout_Full` is not a valid `name` (it must match `^[a-z0-9]([-a-z0",
    ),
    (
        "bad-mode-key",
        59,
        13,
        "`mode` must be one of `all`, `{count: N}`, `{percent: N}`, `{randomMax",
    ),
    (
        "count-above-max-targets",
        59,
        21,
        "`count: 5` is above `blastRadius.maxTargets` (3)",
    ),
    ("count-zero", 59, 21, "`count` must be at least 1"),
    (
        "duplicate-fault-name",
        63,
        13,
        "duplicate fault name `kill-third`",
    ),
    ("duplicate-key", 16, 5, "duplicate key `maxTargets`"),
    (
        "duplicate-probe-name",
        39,
        15,
        "duplicate probe name `checkout-success`",
    ),
    (
        "duplicate-scenario-name",
        128,
        9,
        "duplicate scenario name `checkout-full`",
    ),
    (
        "duplicate-step-id",
        91,
        15,
        "duplicate runbook step id `ack`",
    ),
    (
        "duration-on-instant-fault",
        56,
        7,
        "podKill is instantaneous: `duration` has no effect on fault `kill-thir",
    ),
    (
        "duration-without-unit",
        19,
        15,
        "wrong type for `interval`: expected a duration such as `90s`, found an",
    ),
    ("empty-file", 1, 1, "no scenario in this file"),
    ("empty-hypothesis", 9, 3, "`hypothesis` must not be empty"),
    ("empty-probes", 21, 5, "`probes` needs at least one entry"),
    (
        "fault-longer-than-max-duration",
        66,
        17,
        "fault `scale-down` does not fit in `blastRadius.maxDuration` (10m): it",
    ),
    (
        "http-bad-url",
        48,
        16,
        "invalid URL `127.0.0.1:8080/healthz` in probe `storefront-http`: relat",
    ),
    (
        "invalid-promql",
        24,
        18,
        "invalid PromQL in probe `checkout-success`: invalid promql query",
    ),
    (
        "kubernetes-field-mismatch",
        37,
        18,
        "Deployment has no field `ready`",
    ),
    (
        "latency-on-prometheus-probe",
        29,
        17,
        "latency expectation `< 300ms` on probe `checkout-success`, which is no",
    ),
    (
        "max-percent-out-of-range",
        15,
        17,
        "`maxPercent` must be at most 100, found 150",
    ),
    (
        "missing-duration",
        64,
        13,
        "fault `scale-down` (scale) needs a `duration`",
    ),
    (
        "missing-hypothesis",
        7,
        1,
        "missing field `hypothesis` in spec",
    ),
    (
        "missing-selector",
        63,
        7,
        "missing field `selector` in fault",
    ),
    (
        "mode-all-without-override",
        59,
        13,
        "`mode: all` lets fault `kill-third` touch every target: a full outage",
    ),
    (
        "namespace-not-in-target",
        57,
        20,
        "namespace `frontend` is not listed in `target.namespaces`",
    ),
    (
        "percent-above-max-percent",
        59,
        23,
        "`percent: 40` is above `blastRadius.maxPercent` (34)",
    ),
    (
        "percent-out-of-range",
        59,
        23,
        "`percent` must be between 1 and 100, found 150",
    ),
    (
        "pod-fault-without-labels",
        56,
        7,
        "fault `kill-third` (podKill) selects pods but has no `labels`",
    ),
    (
        "probe-two-sources",
        49,
        9,
        "probe `storefront-http` has more than one source: `prometheus` and `ht",
    ),
    (
        "probe-without-source",
        39,
        9,
        "probe `checkout-pods` has no source",
    ),
    (
        "protected-namespace",
        57,
        20,
        "namespace `kube-system` is protected",
    ),
    (
        "protected-target-namespace",
        12,
        24,
        "namespace `kube-public` is protected",
    ),
    (
        "response-unknown-severity",
        80,
        15,
        "unknown severity `sev2`",
    ),
    (
        "scale-without-amount",
        64,
        13,
        "fault `scale-down` (scale) needs `params.replicas` or `params.by`",
    ),
    (
        "second-document-error",
        187,
        13,
        "unknown value `scael` for `type`",
    ),
    (
        "syntax-tab-indent",
        14,
        2,
        "YAML syntax error: tabs disallowed within this context (block indentat",
    ),
    (
        "syntax-unclosed-bracket",
        14,
        5,
        "YAML syntax error: invalid indentation in flow construct",
    ),
    (
        "unknown-field-misspelt",
        31,
        9,
        "unknown field `tiemout` in probe",
    ),
    (
        "unknown-field-toplevel",
        4,
        1,
        "unknown field `metdata` in scenario",
    ),
    (
        "force-with-grace-period",
        63,
        9,
        "fault `kill-third` sets `force: true` and a `gracePeriod`",
    ),
    (
        "unknown-param-for-type",
        63,
        9,
        "`replicas` is not a parameter of podKill",
    ),
    (
        "wrong-type-integer",
        14,
        17,
        "wrong type for `maxTargets`: expected an integer, found a string `thre",
    ),
    (
        "wrong-type-label-value",
        6,
        34,
        "wrong type for `tier`: expected a string, found an integer `1`",
    ),
    (
        "wrong-type-labels-list",
        6,
        11,
        "wrong type for `labels`: expected a mapping, found a list",
    ),
    ("zero-interval", 19, 15, "`interval` must be longer than 0s"),
];

/// Hints that must accompany some of the mistakes (the "did you mean" kind).
const HINTS: &[(&str, &str)] = &[
    ("unknown-field-misspelt", "did you mean `timeout`?"),
    ("unknown-field-toplevel", "did you mean `metadata`?"),
    ("bad-enum-fault-type", "did you mean `podKill`?"),
    ("bad-mode-key", "did you mean `percent`?"),
    ("autopilot-unknown-person", "did you mean `ops-oncall`?"),
    ("autopilot-unknown-step", "did you mean `scale-up`?"),
    ("response-unknown-severity", "did you mean `SEV2`?"),
    ("duration-without-unit", "`2s`"),
    (
        "unknown-param-for-type",
        "podKill takes `force` or `gracePeriod`",
    ),
    ("protected-namespace", "kube-system"),
    ("percent-above-max-percent", "allowFullOutage"),
    ("fault-longer-than-max-duration", "at least 11m30s"),
    ("wrong-type-label-value", "quote it"),
    ("duplicate-key", "line 14"),
];

fn invalid_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid")
}

fn fixture(stem: &str) -> PathBuf {
    invalid_dir().join(format!("{stem}.yaml"))
}

#[test]
fn corpus_has_thirty_distinct_mistakes_and_each_is_golden() {
    common::golden::check_corpus(&invalid_dir(), GOLDEN, 30);
}

#[test]
fn the_loader_reports_each_mistake_at_its_node() {
    let config = Config::default();
    for &(stem, line, column, message) in GOLDEN {
        let diags = load_file(&fixture(stem), &config, &Registry).expect_err(stem);
        assert!(!diags.is_empty(), "{stem}");
        for d in &diags {
            assert!(d.line >= 1 && d.column >= 1, "{stem}: {d:?}");
            assert!(
                d.file.ends_with(&format!("{stem}.yaml")),
                "{stem}: {}",
                d.file
            );
        }
        assert!(
            diags
                .iter()
                .any(|d| d.line == line && d.column == column && d.message.contains(message)),
            "{stem}: expected {line}:{column} `{message}`, got:\n{}",
            gameday::diag::render_all(&diags, false)
        );
    }
}

#[test]
fn hints_explain_the_fix() {
    let config = Config::default();
    for &(stem, hint) in HINTS {
        let diags = load_file(&fixture(stem), &config, &Registry).expect_err(stem);
        common::golden::assert_hint(stem, &diags, hint);
    }
}

#[test]
fn the_cli_prints_rustc_style_errors_and_exits_2() {
    for &(stem, line, column, message) in GOLDEN {
        let path = fixture(stem);
        let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
            .arg("validate")
            .arg(&path)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{stem}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        let headline = format!("{}:{line}:{column}: error: {message}", path.display());
        assert!(
            stderr.contains(&headline),
            "{stem}: missing `{headline}` in\n{stderr}"
        );
        assert!(!stderr.contains('\x1b'), "{stem}: colour despite NO_COLOR");
        if stem != "empty-file" {
            // The offending line with its number in the gutter, then the caret.
            let gutter = format!("{line} | ");
            let at = stderr
                .find(&gutter)
                .unwrap_or_else(|| panic!("{stem}: no source line\n{stderr}"));
            let caret_line = stderr[at..].lines().nth(1).unwrap();
            let caret_col = caret_line.find('^').unwrap();
            assert_eq!(
                caret_col,
                gutter.len() + column - 1,
                "{stem}: caret misplaced\n{stderr}"
            );
        }
    }
}

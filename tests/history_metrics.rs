//! Drill metrics over a seeded set of runs equal the hand-computed medians
//! and p90s, through the library and through `gameday metrics -o json`, and
//! `-o prometheus` passes the real `promtool check metrics`.
//!
//! Quantile method: linear interpolation between closest ranks,
//! h = q·(n−1), value = x[⌊h⌋] + (h−⌊h⌋)·(x[⌊h⌋+1]−x[⌊h⌋]).
//! The expected numbers below are worked out by hand from the seed in
//! `history_support/mod.rs`; each comment shows the sorted samples.

mod history_support;

use std::io::Write;
use std::process::{Command, Stdio};

use gameday::history::metrics::{self, Group, Metrics, Summary};
use gameday::history::{RunFilter, Store};
use history_support::*;

/// (median, p90) or None when the group has no sample of that time.
type Expected = Option<(f64, f64)>;

fn check(label: &str, got: &Summary, want: Expected, count: usize) {
    assert_eq!(got.count, count, "{label}: count");
    match want {
        None => assert_eq!((got.median, got.p90), (None, None), "{label}"),
        Some((median, p90)) => {
            let (m, p) = (got.median.unwrap(), got.p90.unwrap());
            assert!(approx(m, median), "{label}: median {m} != {median}");
            assert!(approx(p, p90), "{label}: p90 {p} != {p90}");
        }
    }
}

fn group<'a>(groups: &'a [Group], key: &str) -> &'a Group {
    groups.iter().find(|g| g.key == key).unwrap()
}

fn assert_seeded_metrics(m: &Metrics) {
    // pod-loss: TTD [20,30,40,50] -> median 35, p90 h=2.7 -> 40+0.7*10 = 47
    //           TTA [30,60,120]   -> median 60, p90 h=1.8 -> 60+0.8*60 = 108
    //           TTM [80,90,100,150] -> 95, 100+0.7*50 = 135
    //           TTR [120,160,200,300] -> 180, 200+0.7*100 = 270
    let pod = group(&m.by_scenario, "pod-loss");
    assert_eq!((pod.runs, pod.passed), (4, 3));
    assert!(approx(pod.pass_rate.unwrap(), 0.75));
    check("pod-loss ttd", &pod.mttd, Some((35.0, 47.0)), 4);
    check("pod-loss tta", &pod.mtta, Some((60.0, 108.0)), 3);
    check("pod-loss ttm", &pod.mttm, Some((95.0, 135.0)), 4);
    check("pod-loss ttr", &pod.mttr, Some((180.0, 270.0)), 4);

    // db-failover: TTD [60,100] -> 80, 60+0.9*40 = 96; TTA [45,90] -> 67.5,
    // 45+0.9*45 = 85.5; TTM [200]; TTR [400].
    let db = group(&m.by_scenario, "db-failover");
    assert_eq!((db.runs, db.passed), (3, 0));
    check("db ttd", &db.mttd, Some((80.0, 96.0)), 2);
    check("db tta", &db.mtta, Some((67.5, 85.5)), 2);
    check("db ttm", &db.mttm, Some((200.0, 200.0)), 1);
    check("db ttr", &db.mttr, Some((400.0, 400.0)), 1);

    // SEV2 = p1,p2,p4,d1: TTD [30,40,50,100] -> 45, 50+0.7*50 = 85
    //   TTA [30,45,60,120] -> 52.5, 60+0.7*60 = 102
    //   TTM [80,90,100,200] -> 95, 100+0.7*100 = 170
    //   TTR [120,160,200,400] -> 180, 200+0.7*200 = 340
    let sev2 = group(&m.by_severity, "SEV2");
    assert_eq!((sev2.runs, sev2.passed), (4, 3));
    check("SEV2 ttd", &sev2.mttd, Some((45.0, 85.0)), 4);
    check("SEV2 tta", &sev2.mtta, Some((52.5, 102.0)), 4);
    check("SEV2 ttm", &sev2.mttm, Some((95.0, 170.0)), 4);
    check("SEV2 ttr", &sev2.mttr, Some((180.0, 340.0)), 4);

    // SEV3 = p3,d2: TTD [20,60] -> 40, 20+0.9*40 = 56; TTA [90]; TTM [150]; TTR [300].
    let sev3 = group(&m.by_severity, "SEV3");
    assert_eq!((sev3.runs, sev3.passed), (2, 0));
    check("SEV3 ttd", &sev3.mttd, Some((40.0, 56.0)), 2);
    check("SEV3 tta", &sev3.mtta, Some((90.0, 90.0)), 1);
    check("SEV3 ttm", &sev3.mttm, Some((150.0, 150.0)), 1);
    check("SEV3 ttr", &sev3.mttr, Some((300.0, 300.0)), 1);

    // d3 declared no severity and never got past steady state.
    let none = group(&m.by_severity, metrics::NO_SEVERITY);
    assert_eq!(none.runs, 1);
    check("none ttd", &none.mttd, None, 0);

    // Runs by severity, in key order.
    let by_sev: Vec<_> = m
        .by_severity
        .iter()
        .map(|g| (g.key.as_str(), g.runs))
        .collect();
    assert_eq!(by_sev, [("SEV2", 4), ("SEV3", 2), ("none", 1)]);

    // Overall: TTD [20,30,40,50,60,100] -> h=2.5 -> 45; h=4.5 -> 60+0.5*40 = 80.
    assert_eq!((m.overall.runs, m.overall.passed), (7, 3));
    assert!(approx(m.overall.pass_rate.unwrap(), 3.0 / 7.0));
    check("all ttd", &m.overall.mttd, Some((45.0, 80.0)), 6);

    // Action items: p1 A1 done, p1 A2 open and overdue (due 2026-01-01),
    // d1 A1 open (due 2099), d1 A2 done.
    assert_eq!(
        (
            m.actions.total,
            m.actions.done,
            m.actions.open,
            m.actions.overdue
        ),
        (4, 2, 2, 1)
    );
    assert!(approx(m.actions.completion_rate.unwrap(), 0.5));
}

#[test]
fn metrics_over_the_seeded_runs_equal_the_hand_computed_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.db");
    seed(&db, tmp.path());
    let runs = Store::open(&db)
        .unwrap()
        .runs(&RunFilter::default())
        .unwrap();
    let m = metrics::compute(&runs, ts("2026-11-26T12:00:00Z"), None, None);
    assert_seeded_metrics(&m);
}

#[test]
fn metrics_json_from_the_cli_carries_the_same_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.db");
    seed(&db, tmp.path());
    let out = gameday(tmp.path(), Some(&db), &["metrics", "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let m: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let pod = m["byScenario"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "pod-loss")
        .unwrap();
    assert!(approx(pod["mttd"]["median"].as_f64().unwrap(), 35.0));
    assert!(approx(pod["mttd"]["p90"].as_f64().unwrap(), 47.0));
    assert!(approx(pod["mtta"]["p90"].as_f64().unwrap(), 108.0));
    assert!(approx(pod["mttr"]["p90"].as_f64().unwrap(), 270.0));
    let sev2 = m["bySeverity"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "SEV2")
        .unwrap();
    assert!(approx(sev2["mtta"]["median"].as_f64().unwrap(), 52.5));
    assert!(approx(sev2["mttr"]["p90"].as_f64().unwrap(), 340.0));
    assert!(approx(
        m["actions"]["completionRate"].as_f64().unwrap(),
        0.5
    ));
    assert!(approx(
        m["overall"]["passRate"].as_f64().unwrap(),
        3.0 / 7.0
    ));
}

#[test]
fn since_and_scenario_narrow_the_window() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.db");
    seed(&db, tmp.path());
    // From 2026-10-01: p4, d2, d3.
    let out = gameday(
        tmp.path(),
        Some(&db),
        &["metrics", "--since", "2026-10-01", "-o", "json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let m: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(m["overall"]["runs"], 3);
    assert_eq!(m["since"], "2026-10-01T00:00:00Z");
    // TTD [40 (p4), 60 (d2)] -> 50, 40+0.9*20 = 58.
    assert!(approx(
        m["overall"]["mttd"]["median"].as_f64().unwrap(),
        50.0
    ));
    assert!(approx(m["overall"]["mttd"]["p90"].as_f64().unwrap(), 58.0));

    let out = gameday(
        tmp.path(),
        Some(&db),
        &["metrics", "--scenario", "db-failover", "-o", "json"],
    );
    let m: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(m["overall"]["runs"], 3);
    assert_eq!(m["byScenario"].as_array().unwrap().len(), 1);
    // Only d1's items: one done of two.
    assert_eq!(m["actions"]["total"], 2);

    let out = gameday(tmp.path(), Some(&db), &["metrics", "--since", "3 days"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("invalid --since"), "{}", stderr(&out));
}

#[test]
fn text_output_shows_each_scenario_and_severity() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.db");
    seed(&db, tmp.path());
    let out = gameday(tmp.path(), Some(&db), &["metrics"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("7 runs (all recorded runs)"), "{text}");
    assert!(text.contains("pass rate 42.9% (3 of 7)"), "{text}");
    assert!(
        text.contains("action items 50.0% done (2 of 4), 2 open, 1 overdue"),
        "{text}"
    );
    let pod = text.lines().find(|l| l.starts_with("pod-loss")).unwrap();
    // MTTD 35s / 47s, MTTA 1m00s / 1m48s.
    assert!(pod.contains("35s / 47s"), "{pod}");
    assert!(pod.contains("1m00s / 1m48s"), "{pod}");
    assert!(text.lines().any(|l| l.starts_with("SEV2")), "{text}");
}

/// Runs the real `promtool check metrics` on `text`; Ok(()) or its complaint.
fn promtool_check(text: &str) -> Result<(), String> {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool not found: apt-get install -y prometheus");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The value of the sample whose name-and-labels part is exactly `series`.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
        .parse()
        .unwrap()
}

#[test]
fn prometheus_output_passes_promtool_and_carries_the_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.db");
    seed(&db, tmp.path());
    let out = gameday(tmp.path(), Some(&db), &["metrics", "-o", "prometheus"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    promtool_check(&text).unwrap_or_else(|e| panic!("promtool: {e}\n{text}"));

    let q = |name: &str, scenario: &str, severity: &str, quantile: &str| {
        sample(
            &text,
            &format!(
                "{name}{{scenario=\"{scenario}\",severity=\"{severity}\",quantile=\"{quantile}\"}}"
            ),
        )
    };
    assert!(approx(
        q("gameday_mttd_seconds", "pod-loss", "", "0.5"),
        35.0
    ));
    assert!(approx(
        q("gameday_mttd_seconds", "pod-loss", "", "0.9"),
        47.0
    ));
    assert!(approx(q("gameday_mtta_seconds", "", "SEV2", "0.9"), 102.0));
    assert!(approx(q("gameday_mttr_seconds", "", "SEV2", "0.9"), 340.0));
    assert!(approx(q("gameday_mttd_seconds", "", "", "0.9"), 80.0));
    // _count is the runs that had the time; _sum lets PromQL take a mean.
    assert_eq!(
        sample(
            &text,
            "gameday_mtta_seconds_count{scenario=\"pod-loss\",severity=\"\"}"
        ),
        3.0
    );
    assert_eq!(
        sample(
            &text,
            "gameday_mtta_seconds_sum{scenario=\"pod-loss\",severity=\"\"}"
        ),
        210.0
    );
    assert_eq!(
        sample(&text, "gameday_runs{scenario=\"\",severity=\"SEV3\"}"),
        2.0
    );
    assert_eq!(
        sample(&text, "gameday_runs{scenario=\"\",severity=\"none\"}"),
        1.0
    );
    assert!(approx(
        sample(
            &text,
            "gameday_pass_ratio{scenario=\"pod-loss\",severity=\"\"}"
        ),
        0.75
    ));
    assert_eq!(sample(&text, "gameday_action_items{state=\"open\"}"), 2.0);
    assert_eq!(sample(&text, "gameday_action_items_overdue"), 1.0);
    assert!(approx(
        sample(&text, "gameday_action_items_completion_ratio"),
        0.5
    ));
    // d3 started 2026-10-10T10:00:00Z.
    assert_eq!(
        sample(
            &text,
            "gameday_last_run_timestamp_seconds{scenario=\"db-failover\",severity=\"\"}"
        ),
        1_791_626_400.0
    );
}

#[test]
fn prometheus_output_escapes_labels_and_handles_an_empty_history() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.db");
    let out = gameday(tmp.path(), Some(&db), &["metrics", "-o", "prometheus"]);
    assert!(out.status.success(), "{}", stderr(&out));
    promtool_check(&stdout(&out)).unwrap_or_else(|e| panic!("empty history: {e}"));

    let mut odd = seeded_runs(tmp.path()).remove(1);
    odd.scenario = "say \"hi\"\\now\nplease".into();
    Store::open(&db).unwrap().record(&odd).unwrap();
    let out = gameday(tmp.path(), Some(&db), &["metrics", "-o", "prometheus"]);
    let text = stdout(&out);
    promtool_check(&text).unwrap_or_else(|e| panic!("odd labels: {e}\n{text}"));
    assert!(
        text.contains(r#"scenario="say \"hi\"\\now\nplease""#),
        "{text}"
    );
}

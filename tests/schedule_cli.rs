//! The calendar from the command line (issue 16, item 3; docs/schedule.md):
//! `gameday schedule list|next` in text and JSON; a `--schedule` run inside
//! a blackout exits 0 as `skipped` against the strict sandbox without one
//! request to it, and the history records the skip; an unknown schedule and
//! a bad calendar are usage errors at their `file:line:col`.
//!
//! `--from` and the hidden `--now` pin the clock, so every expectation is a
//! fixed instant (2026-11-30 is a Monday).

mod common;
mod faults_support;
mod history_support;

use std::path::Path;

use serde_json::Value;

use faults_support::{Cluster, shop_world};

fn gameday(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(args)
        .env_remove("CI")
        .env_remove("GAMEDAY_CONFIG")
        .env("NO_COLOR", "1")
        .env("GAMEDAY_HISTORY_DB", dir.join("history.db"))
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const CALENDAR: &str = r#"
calendar:
  timeZone: Europe/Berlin
  blackouts:
    - {name: weekend, days: [sat, sun]}
    - {name: nights, hours: "18:00-09:00"}
    - {name: year-end, dates: ["2026-12-24", "2026-12-31"]}
  freezes:
    - {name: black-friday, from: "2026-11-26T00:00:00Z", to: "2026-11-30T23:59:59Z", reason: "peak trading"}
  fatigue: {hours: 24}
"#;

fn config(dir: &Path, schedules: &str) -> std::path::PathBuf {
    let p = dir.join("gameday.yaml");
    std::fs::write(&p, format!("schedules:\n{schedules}{CALENDAR}")).unwrap();
    p
}

/// `--config CFG schedule SUB --from FROM ARGS...`: the calendar read at a
/// fixed instant.
fn schedule_args(cfg: &Path, sub: &str, from: &str, args: &[&str]) -> Vec<String> {
    let head = [
        "--config",
        cfg.to_str().unwrap(),
        "schedule",
        sub,
        "--from",
        from,
    ];
    head.iter().chain(args).map(|a| a.to_string()).collect()
}

/// `--config CFG COMMAND FILE --ci --schedule NAME [--now NOW] --out OUT`:
/// a run as the chart's CronJob starts it, the clock pinned at `now`.
fn scheduled_args(
    cfg: &Path,
    command: &str,
    file: &Path,
    schedule: &str,
    now: Option<&str>,
    out: &Path,
) -> Vec<String> {
    let mut args: Vec<String> = ["--config", cfg.to_str().unwrap(), command]
        .into_iter()
        .chain([file.to_str().unwrap(), "--ci", "--schedule", schedule])
        .map(String::from)
        .collect();
    if let Some(now) = now {
        args.extend(["--now".to_string(), now.to_string()]);
    }
    args.extend(["--out".to_string(), out.to_str().unwrap().to_string()]);
    args
}

/// Borrows an argument list for [`gameday`] and `Cluster::gameday`.
fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// A short fault on the shop; skipped runs never inject it.
const SCALE: &str = "    - {name: shrink, type: scale, duration: 5s, selector: {namespace: shop, kind: Deployment, name: frontend}, params: {replicas: 1}}";

const SCHEDULES: &str = r#"  - {name: checkout-latency, file: checkout.yaml, cron: "0 10 * * 2"}
  - {name: nightly, file: checkout.yaml, cron: "30 2 * * *"}
  - {name: morning, file: checkout.yaml, cron: "0 9 * * 1-5"}
"#;

#[test]
fn list_shows_each_schedule_with_its_next_run_and_why_it_would_skip() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), SCHEDULES);
    let from = "2026-11-30T05:00:00Z";
    let (code, out, err) = gameday(dir.path(), &strs(&schedule_args(&cfg, "list", from, &[])));
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("NAME"), "{out}");
    for col in ["FILE", "CRON", "TIME ZONE", "NEXT RUN", "STATUS"] {
        assert!(lines[0].contains(col), "{out}");
    }
    // Tuesday 10:00 Berlin is open; the 02:30 run is in the night window;
    // Monday 09:00 is still inside the Black Friday freeze (until 23:59:59Z).
    let row = |name: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(name))
            .copied()
            .unwrap_or_default()
    };
    assert!(
        row("checkout-latency").contains("2026-12-01T10:00:00+01:00"),
        "{out}"
    );
    assert!(row("checkout-latency").ends_with("open"), "{out}");
    assert!(
        row("nightly").contains("would skip: blackout nights (18:00-09:00 Europe/Berlin)"),
        "{out}"
    );
    assert!(
        row("morning").contains("2026-11-30T09:00:00+01:00"),
        "{out}"
    );
    assert!(
        row("morning").contains("would skip: change freeze black-friday"),
        "{out}"
    );
    assert!(row("morning").contains("peak trading"), "{out}");

    let (code, out, err) = gameday(
        dir.path(),
        &strs(&schedule_args(&cfg, "list", from, &["-o", "json"])),
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let first = &v[0];
    assert_eq!(first["schedule"], "checkout-latency");
    assert_eq!(first["cron"], "0 10 * * 2");
    assert_eq!(first["timeZone"], "Europe/Berlin");
    assert_eq!(first["nextRun"], "2026-12-01T10:00:00+01:00");
    assert_eq!(first["status"], "open");
    assert!(first["file"].as_str().unwrap().ends_with("checkout.yaml"));
    assert_eq!(v[1]["status"], "skipped");
    assert_eq!(v[1]["skip"]["rule"], "blackout");
    assert_eq!(v[1]["skip"]["window"], "nights");
    assert_eq!(v[2]["skip"]["rule"], "freeze");
}

#[test]
fn next_lists_the_coming_runs_across_schedules_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), SCHEDULES);
    let table = schedule_args(&cfg, "next", "2026-11-30T05:00:00Z", &["--count", "5"]);
    let json = [table.clone(), vec!["-o".into(), "json".into()]].concat();
    let (code, out, err) = gameday(dir.path(), &strs(&json));
    assert_eq!(code, 0, "{err}");
    let v: Vec<Value> = serde_json::from_str(&out).unwrap();
    let got: Vec<(String, String, String)> = v
        .iter()
        .map(|r| {
            (
                r["nextRun"].as_str().unwrap().to_string(),
                r["schedule"].as_str().unwrap().to_string(),
                r["skip"]["window"].as_str().unwrap_or("open").to_string(),
            )
        })
        .collect();
    let want = [
        ("2026-11-30T09:00:00+01:00", "morning", "black-friday"),
        ("2026-12-01T02:30:00+01:00", "nightly", "nights"),
        ("2026-12-01T09:00:00+01:00", "morning", "open"),
        ("2026-12-01T10:00:00+01:00", "checkout-latency", "open"),
        ("2026-12-02T02:30:00+01:00", "nightly", "nights"),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(got, want);
    // The table: time, schedule, status.
    let (code, out, _) = gameday(dir.path(), &strs(&table));
    assert_eq!(code, 0);
    assert!(out.starts_with("TIME"), "{out}");
    assert_eq!(out.lines().count(), 6, "{out}");
    assert!(out.lines().nth(3).unwrap().ends_with("open"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_run_in_a_blackout_exits_0_as_skipped_and_touches_nothing() {
    let c = Cluster::start(shop_world()).await;
    let sc = c.write_scenario("checkout.yaml", "checkout-latency", SCALE, "");
    let cfg = config(c.dir.path(), SCHEDULES);
    let history = c.path("history.db");
    let out = c.path("run");
    let requests = c.sandbox.requests().len();
    let writes = c.sandbox.write_count();
    // Saturday 5 December, 12:00 Berlin: the weekend blackout.
    let args = scheduled_args(
        &cfg,
        "run",
        &sc,
        "checkout-latency",
        Some("2026-12-05T11:00:00Z"),
        &out,
    );
    let run = c
        .gameday(&strs(&args))
        .env("GAMEDAY_HISTORY_DB", &history)
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
    );
    assert_eq!(run.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(
        stdout.trim(),
        "skipped: blackout weekend (sat,sun Europe/Berlin)"
    );
    // Not one request reached the cluster: no guard lookup, no preflight.
    assert_eq!(
        c.sandbox.requests().len(),
        requests,
        "{:?}",
        c.sandbox.requests().last()
    );
    assert_eq!(c.sandbox.write_count(), writes);
    assert!(c.marked().await.is_empty());

    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap();
    assert_eq!(result["status"], "skipped");
    assert_eq!(result["exitCode"], 0);
    assert_eq!(result["schedule"], "checkout-latency");
    assert_eq!(result["rule"], "blackout");
    assert_eq!(result["reason"], "blackout weekend (sat,sun Europe/Berlin)");
    let journal = faults_support::journal_events(&out);
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].event, "run.skipped");

    let listed = c
        .gameday(&["history", "-o", "json"])
        .env("GAMEDAY_HISTORY_DB", &history)
        .output()
        .await
        .unwrap();
    let rows: Vec<Value> = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["status"], "skipped");
    assert_eq!(rows[0]["scenario"], "checkout-latency");
    assert_eq!(
        rows[0]["reason"],
        "blackout weekend (sat,sun Europe/Berlin)"
    );
    assert_eq!(rows[0]["startedAt"], "2026-12-05T11:00:00Z");

    // A skip is no run for the trends.
    let metrics = c
        .gameday(&["metrics", "-o", "json"])
        .env("GAMEDAY_HISTORY_DB", &history)
        .output()
        .await
        .unwrap();
    let m: Value = serde_json::from_slice(&metrics.stdout).unwrap();
    assert_eq!(m["overall"]["runs"], 0, "{m}");
}

#[test]
fn fatigue_skips_only_the_schedules_that_would_page_after_a_recent_page() {
    let dir = tempfile::tempdir().unwrap();
    let quiet = faults_support::scenario_text("quiet", SCALE, "");
    let paging = format!(
        "{}  detection:\n    alerts:\n      - {{name: CheckoutDown, within: 2m}}\n",
        faults_support::scenario_text("paging", SCALE, "")
    );
    std::fs::write(dir.path().join("quiet.yaml"), quiet).unwrap();
    std::fs::write(dir.path().join("paging.yaml"), paging).unwrap();
    let cfg = config(
        dir.path(),
        "  - {name: pages, file: paging.yaml, cron: \"0 10 * * 2\"}\n  - {name: silent, file: quiet.yaml, cron: \"0 10 * * 2\"}\n",
    );
    // A run that paged (its alert fired after 40 s) on Monday 30 Nov,
    // 12:00 UTC: 22 hours before Tuesday 10:00 Berlin.
    let paged = history_support::run(
        "r-paged",
        "checkout",
        Some("SEV2"),
        "2026-11-30T11:00:00Z",
        [Some(40.0), Some(90.0), None, None],
        true,
        dir.path(),
    );
    gameday::history::record(&dir.path().join("history.db"), &paged, None).unwrap();
    let json = ["-o", "json"];
    let (code, out, err) = gameday(
        dir.path(),
        &strs(&schedule_args(&cfg, "list", "2026-12-01T00:00:00Z", &json)),
    );
    assert_eq!(code, 0, "{err}");
    let v: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["skip"]["rule"], "fatigue", "{out}");
    let reason = v[0]["skip"]["reason"].as_str().unwrap();
    assert!(reason.contains("run r-paged (checkout)"), "{reason}");
    assert!(reason.contains("within the last 24h"), "{reason}");
    assert_eq!(v[1]["status"], "open", "{out}");
    // A week on, the page is out of the window.
    let (_, out, _) = gameday(
        dir.path(),
        &strs(&schedule_args(&cfg, "list", "2026-12-02T00:00:00Z", &json)),
    );
    let v: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["status"], "open", "{out}");
}

#[test]
fn a_scheduled_drill_in_a_freeze_is_skipped_and_recorded_as_a_drill() {
    let dir = tempfile::tempdir().unwrap();
    let drill = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/drills/escalation-primary-never-acks.yaml");
    let schedules = format!(
        "  - {{name: tabletop, file: {}, cron: \"0 10 * * 2\"}}\n",
        drill.display()
    );
    let cfg = config(dir.path(), &schedules);
    let out = dir.path().join("run");
    // Monday 30 November, 11:00 Berlin: the Black Friday freeze.
    let args = scheduled_args(
        &cfg,
        "drill",
        &drill,
        "tabletop",
        Some("2026-11-30T10:00:00Z"),
        &out,
    );
    let (code, stdout, err) = gameday(dir.path(), &strs(&args));
    assert_eq!(code, 0, "{stdout}{err}");
    assert_eq!(
        stdout.trim(),
        "skipped: change freeze black-friday until 2026-11-30T23:59:59Z: peak trading"
    );
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap();
    assert_eq!(result["kind"], "drill");
    assert_eq!(result["rule"], "freeze");
    let (_, listed, _) = gameday(dir.path(), &["history", "-o", "json"]);
    let rows: Vec<Value> = serde_json::from_str(&listed).unwrap();
    assert_eq!(rows[0]["kind"], "drill");
    assert_eq!(rows[0]["status"], "skipped");
}

#[test]
fn an_unknown_schedule_is_a_usage_error_listing_the_names() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), SCHEDULES);
    let sc = dir.path().join("checkout.yaml");
    std::fs::write(&sc, faults_support::scenario_text("checkout", SCALE, "")).unwrap();
    let args = scheduled_args(&cfg, "run", &sc, "chekout", None, &dir.path().join("run"));
    let (code, out, err) = gameday(dir.path(), &strs(&args));
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("no schedule named `chekout`"), "{err}");
    assert!(
        err.contains("the schedules are: checkout-latency, nightly, morning"),
        "{err}"
    );
    assert!(!dir.path().join("history.db").exists());
}

/// Each bad calendar: the config text after `schedules:` and the first
/// line of the diagnostic `gameday schedule list` prints (exit 2).
const GOLDEN: &[(&str, &str)] = &[
    (
        "  - {name: a, file: x.yaml, cron: \"0 10 * *\"}\n",
        "gameday.yaml:2:35: error: invalid cron `0 10 * *`: a cron expression has 5 fields (minute hour day-of-month month day-of-week), found 4; kube-apiserver would answer: expected exactly 5 fields, found 4: [0 10 * *]",
    ),
    (
        "  - {name: a, file: x.yaml, cron: \"0 25 * * *\"}\n",
        "gameday.yaml:2:35: error: invalid cron `0 25 * * *`: `25` is not a valid hour (expected 0-23); kube-apiserver would answer: end of range (25) above maximum (23): 25",
    ),
    (
        "  - {name: a, file: x.yaml, cron: \"0 10 * * 7\"}\n",
        "gameday.yaml:2:35: error: invalid cron `0 10 * * 7`: `7` is not a valid day of week (expected 0-6 or a name like `sun`; Sunday is 0, Kubernetes does not take 7); kube-apiserver would answer: end of range (7) above maximum (6): 7",
    ),
    (
        "  - {name: Checkout, file: x.yaml, cron: \"0 10 * * 2\"}\n",
        "gameday.yaml:2:12: error: schedule name `Checkout` is not a DNS label of at most 44 characters",
    ),
    (
        "  - {name: a, file: x.yaml, cron: \"0 10 * * 2\"}\n  - {name: a, file: y.yaml, cron: \"0 11 * * 2\"}\n",
        "gameday.yaml:3:12: error: schedule `a` is defined twice",
    ),
    (
        "  - {name: a, file: x.yaml, cron: \"0 10 * * 2\"}\ncalendar:\n  timeZone: Europe/Berlinn\n",
        "gameday.yaml:4:13: error: `Europe/Berlinn` is not an IANA time zone",
    ),
    (
        "  - {name: a, file: x.yaml, cron: \"0 10 * * 2\"}\ncalendar:\n  blackouts:\n    - {name: n, hours: \"18:00-9:00\"}\n",
        "gameday.yaml:5:24: error: `18:00-9:00` is not a window of hours",
    ),
    (
        "  - {name: a, file: x.yaml, cron: \"0 10 * * 2\"}\ncalendar:\n  blackouts:\n    - {name: d, dates: [\"2026-12-31\", \"2026-12-24\"]}\n",
        "gameday.yaml:5:24: error: `dates` must be [from, to]: two YYYY-MM-DD dates, from not after to",
    ),
    (
        "  - {name: a, file: x.yaml, cron: \"0 10 * * 2\"}\ncalendar:\n  blackouts:\n    - {name: d, days: [saturday]}\n",
        "gameday.yaml:5:24: error: unknown value `saturday` for `days[0]`",
    ),
    (
        "  - {name: a, file: x.yaml, cron: \"0 10 * * 2\"}\ncalendar:\n  freezes:\n    - {name: f, from: \"2026-11-26\", to: \"2026-11-30T23:59:59Z\"}\n",
        "gameday.yaml:5:23: error: `2026-11-26` is not an RFC 3339 instant",
    ),
    (
        "  - {name: a, file: x.yaml, cron: \"0 10 * * 2\"}\ncalendar:\n  fatigue: {hours: 0}\n",
        "gameday.yaml:4:20: error: `fatigue.hours` must be at least 1",
    ),
];

#[test]
fn a_bad_calendar_is_reported_at_its_position_with_exit_2() {
    for (schedules, want) in GOLDEN {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("gameday.yaml"),
            format!("schedules:\n{schedules}"),
        )
        .unwrap();
        let (code, out, err) = gameday(
            dir.path(),
            &["--config", "gameday.yaml", "schedule", "list"],
        );
        assert_eq!(code, 2, "{schedules}\n{out}{err}");
        let first = err.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(want),
            "{schedules}\nwant {want}\ngot  {err}"
        );
        assert!(err.contains("help:"), "no hint for {schedules}:\n{err}");
    }
}

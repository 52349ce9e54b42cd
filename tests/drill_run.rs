//! `gameday drill` end to end, offline: a drill with autopilot runs to exit
//! 0 within seconds and writes every report; both branches of `noEvent`;
//! `after` at the right drill time; the same drill twice gives the same
//! events in drill time; a SIGKILLed drill is reported from its journal.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod drill_support;
use drill_support::{component, fixture, gameday, inject, result};

fn drill(dir: &Path, file: &Path, speed: &str) -> (Output, PathBuf) {
    let out = dir.join(format!(
        "run-{}",
        file.file_stem().unwrap().to_string_lossy()
    ));
    let o = gameday(dir)
        .args(["drill", "--ci", "--speed", speed, "--out"])
        .arg(&out)
        .arg(file)
        .output()
        .unwrap();
    (o, out)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_drill_with_autopilot_runs_offline_to_exit_0_and_writes_every_report() {
    let tmp = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let (o, run) = drill(tmp.path(), &fixture("valid/payments-tabletop.yaml"), "60");
    let took = t.elapsed();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(took < Duration::from_secs(10), "took {took:?}");
    for f in [
        "journal.jsonl",
        "result.json",
        "report.md",
        "report.html",
        "junit.xml",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    let r = result(&run);
    assert_eq!(r["kind"], "Drill");
    assert!(r["scorecard"]["composite"].as_f64().unwrap() >= 0.7);
    let page = inject(&r, "page");
    assert_eq!(page["fired"], true);
    assert_eq!(page["alert"]["suppressed"], Value::Null);
    assert_eq!(
        page["alert"]["delivery"], "direct",
        "no Alertmanager: delivered directly"
    );
    assert_eq!(inject(&r, "escalate")["fired"], false, "ops acked at 30s");
    assert_eq!(inject(&r, "escalate")["atSeconds"], Value::Null);
    let objectives = r["objectives"].as_array().unwrap();
    assert_eq!(objectives.len(), 2);
    assert!(
        objectives.iter().all(|o| o["met"] == true),
        "{objectives:?}"
    );
    let declared = objectives[0]["atSeconds"].as_f64().unwrap();
    assert!(
        (declared - 60.0).abs() < 3.0,
        "declare at 1m of drill time, got {declared}"
    );
    // Detection is left out without an Alertmanager; the weights renormalise.
    let detect = component(&r, "detect");
    assert_eq!(detect["score"], Value::Null);
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    for needle in [
        "## Exercise evaluation",
        "### Strengths",
        "### Areas for improvement",
        "### Inject timeline",
        "delivered directly",
    ] {
        assert!(md.contains(needle), "report.md lacks {needle}");
    }
    assert!(
        std::fs::read_to_string(run.join("report.html"))
            .unwrap()
            .contains("Exercise evaluation")
    );
    assert!(
        stderr(&o).contains("delivered to the participants directly"),
        "{}",
        stderr(&o)
    );
    // A history row of kind drill, and the filter by kind.
    let hist = |kind: &str| -> Vec<Value> {
        let o = gameday(tmp.path())
            .args(["history", "-o", "json", "--kind", kind])
            .output()
            .unwrap();
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let drills = hist("drill");
    assert_eq!(drills.len(), 1);
    assert_eq!(drills[0]["kind"], "drill");
    assert!(hist("scenario").is_empty());
    let m = gameday(tmp.path())
        .args(["metrics", "-o", "json", "--kind", "drill"])
        .output()
        .unwrap();
    assert_eq!(m.status.code(), Some(0), "{}", stderr(&m));
}

#[test]
fn no_event_ack_fires_when_nobody_acknowledges() {
    let tmp = tempfile::tempdir().unwrap();
    let (o, run) = drill(tmp.path(), &fixture("run/no-ack.yaml"), "60");
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    let r = result(&run);
    let esc = inject(&r, "escalate");
    assert_eq!(esc["fired"], true);
    let at = esc["atSeconds"].as_f64().unwrap();
    assert!(
        (60.0..61.5).contains(&at),
        "the escalation fires at by=1m, not {at}"
    );
    // `after` fires `delay` after the inject it names.
    let hint = inject(&r, "hint")["atSeconds"].as_f64().unwrap();
    assert!((90.0..91.5).contains(&hint), "hint at 1m30s, not {hint}");
    let journal = std::fs::read_to_string(run.join("journal.jsonl")).unwrap();
    assert!(
        journal.contains(r#""action":"escalate""#) && journal.contains(r#""person":"ic""#),
        "escalated to the IC's holder"
    );
}

#[test]
fn no_event_ack_does_not_fire_when_someone_acknowledges() {
    let tmp = tempfile::tempdir().unwrap();
    let (o, run) = drill(tmp.path(), &fixture("run/acked.yaml"), "60");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = result(&run);
    assert_eq!(inject(&r, "escalate")["fired"], false);
    assert_eq!(
        inject(&r, "hint")["fired"],
        false,
        "after a never-fired inject never fires"
    );
}

/// (event, drill seconds) of every inject and responder event, in order.
fn sequence(run: &Path) -> Vec<(String, f64)> {
    let r = result(run);
    let zero: jiff::Timestamp = r["started"].as_str().unwrap().parse().unwrap();
    let mut v: Vec<(String, f64)> = r["injects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["fired"] == true)
        .map(|i| {
            (
                format!("inject {}", i["id"]),
                i["atSeconds"].as_f64().unwrap(),
            )
        })
        .collect();
    for e in r["responders"].as_array().unwrap() {
        let at: jiff::Timestamp = e["at"].as_str().unwrap().parse().unwrap();
        v.push((
            format!("{} {}", e["as"], e["do"]),
            at.duration_since(zero).as_secs_f64(),
        ));
    }
    v.sort_by(|a, b| a.1.total_cmp(&b.1));
    v
}

#[test]
fn the_same_drill_twice_gives_the_same_events_in_drill_time() {
    let tmp = tempfile::tempdir().unwrap();
    let file = fixture("run/short.yaml");
    let runs: Vec<Vec<(String, f64)>> = ["a", "b"]
        .iter()
        .map(|n| {
            let dir = tmp.path().join(n);
            std::fs::create_dir_all(&dir).unwrap();
            let (o, run) = drill(&dir, &file, "1");
            assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
            sequence(&run)
        })
        .collect();
    let names = |s: &[(String, f64)]| s.iter().map(|e| e.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&runs[0]), names(&runs[1]));
    assert!(
        names(&runs[0]).contains(&"inject \"nudge\"".to_string()),
        "{:?}",
        runs[0]
    );
    for (a, b) in runs[0].iter().zip(&runs[1]) {
        assert!((a.1 - b.1).abs() <= 0.05, "{} at {} vs {}", a.0, a.1, b.1);
    }
}

#[test]
fn a_sigkilled_drill_is_reported_from_its_journal() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let mut child = gameday(tmp.path())
        .args(["drill", "--ci", "--speed", "1", "--out"])
        .arg(&run)
        .arg(fixture("run/long.yaml"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let journal = run.join("journal.jsonl");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&journal)
        .is_ok_and(|j| j.contains("\"event\":\"responder.event\""))
    {
        assert!(Instant::now() < deadline, "the drill never got going");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(!run.join("result.json").exists());
    let o = gameday(tmp.path())
        .arg("report")
        .arg(&run)
        .output()
        .unwrap();
    assert!(run.join("result.json").is_file(), "{}", stderr(&o));
    let r = result(&run);
    assert_eq!(r["kind"], "Drill");
    assert_eq!(r["status"], "incomplete");
    assert_eq!(inject(&r, "page")["fired"], true);
    assert_eq!(inject(&r, "later")["fired"], false);
    assert_eq!(
        r["responders"].as_array().unwrap().len(),
        1,
        "the ack survives: {}",
        r["responders"]
    );
    assert!(
        std::fs::read_to_string(run.join("report.md"))
            .unwrap()
            .contains("## Exercise evaluation")
    );
}

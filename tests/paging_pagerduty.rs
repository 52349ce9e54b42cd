//! PagerDuty as the source of pages, acks and escalations (issue 17),
//! against a local stub that validates every Events API v2 body against
//! PagerDuty's published schema: a drill triggers a `[DRILL]` page, the
//! stub's log puts the ack 42 s after the trigger and result.json says TTA
//! 42 s from `pagerduty` with the acknowledger; the page is resolved at the
//! end, after SIGINT too; an escalation to level 2 after 5 min is shown and
//! scored; 429 + Retry-After is waited out; an outage warns and keeps the
//! exit code; no token reaches the run directory or `-vv` output; the
//! poller reads at most once per interval.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod drill_support;
mod paging_support;
use drill_support::result;
use paging_support::*;

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ack_script() -> Script {
    ack_after(42, "Ada Lovelace")
}

/// The paging entry of `source` in result.json.
fn page(r: &Value, source: &str) -> Value {
    r["paging"]
        .as_array()
        .unwrap_or_else(|| panic!("no paging section: {r:#}"))
        .iter()
        .find(|p| p["source"] == source)
        .cloned()
        .unwrap()
}

#[test]
fn an_ack_42s_after_the_trigger_in_pagerduty_is_the_drills_tta() {
    let stub = pagerduty(ack_script());
    let tmp = tempfile::tempdir().unwrap();
    let oncall = "    oncall: {schedule: PSCHED1}\n";
    let (mut cmd, run) = drill_command(
        tmp.path(),
        &pagerduty_config(&stub, oncall),
        &drill_yaml("3s"),
    );
    let o = cmd.output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "SEV1 with no declare or updates fails the pass mark: {}",
        stderr(&o)
    );
    stub.assert_no_violations();
    let r = result(&run);
    let metrics = &r["scorecard"]["metrics"];
    assert_eq!(metrics["ttaSeconds"], json!(42.0), "{metrics:#}");
    assert_eq!(metrics["ttaSource"], "pagerduty");
    let p = page(&r, "pagerduty");
    assert_eq!(p["acknowledgedBy"], "Ada Lovelace");
    assert_eq!(p["ttaSeconds"], json!(42.0));
    assert_eq!(p["resolved"], true);
    assert_eq!(p["reached"], json!(["Ada Lovelace"]));
    // The page went out marked as a drill, keyed by the run id.
    let (key, body) = stub.recorded(|r| (r.triggers[0].0.clone(), r.triggers[0].2.clone()));
    let run_id = r["runId"].as_str().unwrap();
    assert_eq!(key, format!("gameday-{run_id}-page"));
    assert!(
        body["payload"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("[DRILL] ")
    );
    assert_eq!(body["payload"]["custom_details"]["gameday_drill"], "true");
    assert_eq!(stub.recorded(|r| r.resolved.clone()), vec![key]);
    // The ack is on the timeline from its source, and ops-oncall resolved
    // to the person on call at escalation level 1.
    let acks = journal(&run, "paging.acknowledged");
    assert_eq!(acks[0]["source"], "pagerduty");
    assert_eq!(journal(&run, "paging.oncall")[0]["person"], "Ada Lovelace");
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(md.contains("Acknowledged in pagerduty after 42s"), "{md}");
    assert!(
        md.contains("reached Ada Lovelace; acknowledged by Ada Lovelace after 42s"),
        "{md}"
    );
}

#[test]
fn an_escalation_to_level_2_after_5_minutes_is_shown_and_scored() {
    let stub = pagerduty(Script {
        escalate: Some((Duration::from_secs(300), "Grace Hopper".into())),
        ..Default::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let (mut cmd, run) = drill_command(tmp.path(), &pagerduty_config(&stub, ""), &drill_yaml("2s"));
    let o = cmd.output().unwrap();
    assert!(o.status.code().is_some(), "{}", stderr(&o));
    stub.assert_no_violations();
    let r = result(&run);
    let p = page(&r, "pagerduty");
    assert_eq!(p["escalations"][0]["level"], 2);
    assert_eq!(p["escalations"][0]["to"], "Grace Hopper");
    let flags = r["scorecard"]["flags"].as_array().unwrap();
    let esc = flags
        .iter()
        .find(|f| f["kind"] == "escalated")
        .expect("escalation flag");
    assert_eq!(esc["afterSeconds"], json!(300.0));
    assert_eq!(esc["ackTargetSeconds"], json!(300.0), "SEV1's ack target");
    assert_eq!(esc["needed"], true);
    assert!(flags.iter().any(|f| f["kind"] == "pageUnacknowledged"));
    let items = r["actionItems"].as_array().unwrap();
    let item = items
        .iter()
        .find(|i| i["rule"] == "review-paging")
        .expect("paging item");
    assert_eq!(item["priority"], "P1", "{item:#}");
    assert_eq!(r["scorecard"]["metrics"]["ttaSource"], "pagerduty");
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(
        md.contains("escalated to level 2 (Grace Hopper) after 5m00s"),
        "{md}"
    );
    assert!(
        md.contains("escalated the page to level 2 after 5m00s: needed"),
        "{md}"
    );
}

#[test]
fn sigint_still_resolves_the_page() {
    let stub = pagerduty(ack_script());
    let tmp = tempfile::tempdir().unwrap();
    let (mut cmd, run) =
        drill_command(tmp.path(), &pagerduty_config(&stub, ""), &drill_yaml("10m"));
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while stub.recorded(|r| r.triggers.is_empty()) {
        assert!(Instant::now() < deadline, "the page was never triggered");
        std::thread::sleep(Duration::from_millis(50));
    }
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "aborted: {}", stderr(&out));
    stub.assert_no_violations();
    assert_eq!(stub.recorded(|r| r.resolved.len()), 1);
    assert_eq!(page(&result(&run), "pagerduty")["resolved"], true);
}

#[test]
fn a_429_with_retry_after_is_waited_out_before_the_retry() {
    let mut script = ack_script();
    script.trigger_errors.push_back((429, Some(2)));
    let stub = pagerduty(script);
    let tmp = tempfile::tempdir().unwrap();
    let (mut cmd, run) = drill_command(tmp.path(), &pagerduty_config(&stub, ""), &drill_yaml("4s"));
    let o = cmd.output().unwrap();
    assert!(o.status.code().is_some(), "{}", stderr(&o));
    stub.assert_no_violations();
    let attempts = stub.recorded(|r| r.trigger_attempts.clone());
    assert_eq!(attempts.len(), 2, "one 429, one retry");
    let waited = attempts[1] - attempts[0];
    assert!(waited >= Duration::from_secs(2), "retried after {waited:?}");
    assert_eq!(page(&result(&run), "pagerduty")["ttaSeconds"], json!(42.0));
}

#[test]
fn a_paging_outage_warns_and_keeps_the_exit_code() {
    let tmp = tempfile::tempdir().unwrap();
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let config = format!(
        "paging:\n  pagerduty:\n    routingKey: ${{PD_ROUTING_KEY}}\n    apiToken: ${{PD_API_TOKEN}}\n    eventsUrl: http://{dead}\n    apiUrl: http://{dead}\n"
    );
    let with = tmp.path().join("with");
    let without = tmp.path().join("without");
    std::fs::create_dir_all(&with).unwrap();
    std::fs::create_dir_all(&without).unwrap();
    let (mut a, run) = drill_command(&with, &config, &drill_yaml("2s"));
    let (mut b, _) = drill_command(&without, "", &drill_yaml("2s"));
    let t = Instant::now();
    let (oa, ob) = (a.output().unwrap(), b.output().unwrap());
    assert!(
        t.elapsed() < Duration::from_secs(60),
        "an outage must not hang the drill"
    );
    assert_eq!(oa.status.code(), ob.status.code(), "{}", stderr(&oa));
    let err = stderr(&oa);
    assert!(err.contains("warning: pagerduty: paging failed"), "{err}");
    assert_eq!(journal(&run, "paging.warning")[0]["source"], "pagerduty");
    assert!(
        result(&run)["scorecard"]["metrics"]["ttaSource"].is_null(),
        "own sources"
    );
}

#[test]
fn no_token_reaches_the_run_directory_or_vv_output() {
    let stub = pagerduty(ack_script());
    let tmp = tempfile::tempdir().unwrap();
    let (mut cmd, run) = drill_command(tmp.path(), &pagerduty_config(&stub, ""), &drill_yaml("2s"));
    let o = cmd.arg("-vv").output().unwrap();
    assert!(o.status.code().is_some());
    let mut texts = vec![
        (
            "stdout".to_string(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        ),
        ("stderr".to_string(), stderr(&o)),
    ];
    for f in std::fs::read_dir(&run).unwrap() {
        let p = f.unwrap().path();
        if p.is_file() {
            texts.push((
                p.display().to_string(),
                String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned(),
            ));
        }
    }
    assert!(texts.len() > 4, "the run wrote its files");
    for (name, text) in &texts {
        for secret in SECRETS {
            assert!(!text.contains(secret), "{name} holds a secret");
        }
    }
    assert!(
        stderr(&o).contains("DEBUG") || stderr(&o).contains("debug"),
        "-vv logs debug lines"
    );
}

#[test]
fn the_poller_reads_at_most_once_per_integration_per_interval() {
    let stub = pagerduty(ack_script());
    let tmp = tempfile::tempdir().unwrap();
    let (mut cmd, run) = drill_command(tmp.path(), &pagerduty_config(&stub, ""), &drill_yaml("6s"));
    let t = Instant::now();
    let o = cmd.output().unwrap();
    let took = t.elapsed();
    assert!(o.status.code().is_some(), "{}", stderr(&o));
    let reads: Vec<Instant> = stub.recorded(|r| r.reads.iter().map(|r| r.1).collect());
    // One read per 1s interval while the drill ran, plus the final read.
    let allowed = took.as_secs_f64().ceil() as usize + 1;
    eprintln!(
        "{} reads in {took:?} at pollInterval 1s (bound {allowed})",
        reads.len()
    );
    assert!(reads.len() >= 3, "the poller read: {}", reads.len());
    assert!(reads.len() <= allowed, "{} reads in {took:?}", reads.len());
    for w in reads.windows(2).take(reads.len().saturating_sub(2)) {
        assert!(
            w[1] - w[0] >= Duration::from_millis(900),
            "two reads {:?} apart",
            w[1] - w[0]
        );
    }
    assert_eq!(
        result(&run)["scorecard"]["metrics"]["ttaSeconds"],
        json!(42.0)
    );
}

#[test]
fn the_stub_rejects_a_malformed_event() {
    let v = validator("pagerduty-events-v2.schema.json", None);
    let good = json!({"routing_key": "k", "event_action": "trigger", "dedup_key": "d",
        "payload": {"summary": "s", "source": "gameday", "severity": "critical"}});
    assert!(v.is_valid(&good));
    for bad in [
        json!({"routing_key": "k", "event_action": "fire"}),
        json!({"routing_key": "k", "event_action": "trigger", "payload": {"summary": "s", "source": "g", "severity": "urgent"}}),
        json!({"routing_key": "k", "event_action": "trigger", "payload": {"source": "g", "severity": "info"}}),
        json!({"event_action": "resolve", "dedup_key": "d"}),
    ] {
        assert!(!v.is_valid(&bad), "{bad}");
    }
}

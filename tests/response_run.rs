//! Detection and response, end to end: `gameday run` against the shop
//! sandbox with real Prometheus and Alertmanager; the webhook goes through a
//! recording relay to the run's API, so T_notify is checked against an
//! arrival time the run did not measure itself.

mod common;
mod response_support;

use std::time::Duration;

use serde_json::Value;

use response_support::{Drill, finish, fixture, result, ts};

fn responders<'a>(r: &'a Value, source: &str) -> Vec<&'a Value> {
    r["responders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] == source)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_loss_pages_through_alertmanager_and_the_autopilot_runbook_mitigates() {
    let drill = Drill::start().await;
    let child = drill.run(&fixture("pod-loss-autopilot.yaml"));
    let run_dir = drill.run_dir().await;
    let (code, stderr) = finish(child).await;
    let r = result(&run_dir);

    // Detection: fired through Alertmanager, the webhook reached the run.
    let d = &r["detection"][0];
    assert_eq!(d["name"], "CheckoutHighErrorRate");
    assert_eq!(d["fired"], true, "{r:#}\n{stderr}");
    let t_inject = ts(&r["moments"]["tInject"]);
    let (t_active, t_fire, t_notify) = (ts(&d["tActive"]), ts(&d["tFire"]), ts(&d["tNotify"]));
    assert!(
        t_inject <= t_active && t_active <= t_fire && t_fire <= t_notify,
        "{d:#}"
    );
    let ttd = d["ttdSeconds"].as_f64().unwrap();
    assert!((ttd - t_inject.duration_until(t_fire).as_secs_f64()).abs() < 0.01);
    assert!(ttd > 0.0 && ttd < 30.0, "TTD {ttd}");
    for part in ["ruleLatencySeconds", "forHoldSeconds", "pipelineSeconds"] {
        assert!(d["parts"][part].as_f64().is_some(), "{part} in {d:#}");
    }
    // The hold is at least the rule's `for: 2s`.
    assert!(
        d["parts"]["forHoldSeconds"].as_f64().unwrap() >= 1.9,
        "{d:#}"
    );
    assert_eq!(d["ruleForSeconds"], 2.0);
    // T_notify is when the webhook arrived (the relay saw it first).
    let arrived = drill
        .arrivals
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, p)| {
            p["alerts"].as_array().unwrap().iter().any(|a| {
                a["labels"]["alertname"] == "CheckoutHighErrorRate" && a["status"] == "firing"
            })
        })
        .map(|(t, _)| *t)
        .min()
        .expect("a firing webhook arrived");
    let lag = arrived.duration_until(t_notify).as_secs_f64();
    assert!(
        (0.0..0.1).contains(&lag),
        "T_notify {t_notify} vs arrival {arrived}"
    );

    // Autopilot acknowledged; TTA counts from the page.
    let auto = responders(&r, "autopilot");
    assert_eq!(auto.len(), 6, "{auto:#?}");
    let ack = auto.iter().find(|e| e["do"] == "ack").unwrap();
    assert_eq!(ack["as"], "ops-oncall");
    assert_eq!(r["scorecard"]["metrics"]["tAck"], ack["at"]);
    let offset = t_inject.duration_until(ts(&ack["at"])).as_secs_f64();
    assert!((5.9..8.0).contains(&offset), "ack at +{offset}s");
    assert!(r["scorecard"]["metrics"]["ttaSeconds"].as_f64().is_some());

    // The scale-up step really scaled checkout, and its verify held...
    let dep = drill
        .sandbox
        .kube_client()
        .map(|c| kube::Api::<k8s_openapi::api::apps::v1::Deployment>::namespaced(c, "shop"))
        .unwrap()
        .get("checkout")
        .await
        .unwrap();
    // ...and the engine scaled it back after the recovery measurement.
    assert_eq!(dep.spec.unwrap().replicas, Some(4), "{stderr}");
    let step = r["runbook"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "scale-up")
        .unwrap();
    let (claimed, verified) = (ts(&step["claimedAt"]), ts(&step["verifiedAt"]));
    assert!(claimed <= verified, "{step:#}");
    assert_eq!(step["claimedBy"], "ops-oncall");
    assert_eq!(
        r["scorecard"]["runbook"]["missedCritical"],
        serde_json::json!([])
    );
    // Mitigation followed: the SLI (available checkout replicas) held again,
    // and TTM is scored from it.
    let t_mitigate = ts(&r["moments"]["tMitigate"]);
    assert!(t_mitigate > t_inject, "{:#}", r["moments"]);
    assert!(r["scorecard"]["metrics"]["ttmSeconds"].as_f64().is_some());
    let files = ["result.json", "report.md", "junit.xml", "journal.jsonl"];
    for f in files {
        assert!(run_dir.join(f).is_file(), "{f}");
    }
    let md = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(md.contains("Action items"), "{md}");
    assert_eq!(r["exitCode"].as_i64().unwrap() as i32, code, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gameday_respond_ack_is_the_acknowledgement() {
    let drill = Drill::start().await;
    let child = drill.run(&fixture("pod-loss-manual.yaml"));
    let run_dir = drill.run_dir().await;
    drill.wait_firing(&run_dir).await;
    // No flags: `respond` finds the newest run directory.
    let (c, err) = drill.respond("alice", &["ack"]).await;
    assert_eq!(c, 0, "{err}");
    let (c, err) = drill.respond("alice", &["resolve"]).await;
    assert_eq!(c, 0, "{err}");
    let (_, stderr) = finish(child).await;
    let r = result(&run_dir);
    let cli = responders(&r, "cli");
    assert_eq!(cli.len(), 2, "{r:#}\n{stderr}");
    assert_eq!(cli[0]["do"], "ack");
    assert_eq!(cli[0]["as"], "alice");
    let m = &r["scorecard"]["metrics"];
    assert_eq!(m["tAck"], cli[0]["at"]);
    let page = ts(&m["tPage"]);
    let tta = m["ttaSeconds"].as_f64().unwrap();
    assert!((tta - page.duration_until(ts(&cli[0]["at"])).as_secs_f64()).abs() < 0.01);
    assert_eq!(
        m["tPage"], r["detection"][0]["tNotify"],
        "TTA counts from the webhook"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_amtool_silence_is_the_acknowledgement() {
    let drill = Drill::start().await;
    let child = drill.run(&fixture("pod-loss-manual.yaml"));
    let run_dir = drill.run_dir().await;
    drill.wait_firing(&run_dir).await;
    let before = jiff::Timestamp::now();
    let out = tokio::process::Command::new(common::harness::require_binary("amtool"))
        .args([
            "silence",
            "add",
            "alertname=CheckoutHighErrorRate",
            "--author=carol",
            "--comment=looking into checkout",
            "--duration=10m",
        ])
        .arg(format!(
            "--alertmanager.url={}",
            drill.stack.alertmanager_url
        ))
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after_silence = jiff::Timestamp::now();
    // The poller sees the silence, then the test resolves to end the run.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while drill.state(&run_dir).await["responders"]
        .as_array()
        .is_none_or(|a| a.is_empty())
    {
        assert!(tokio::time::Instant::now() < deadline, "silence not seen");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (c, err) = drill.respond("carol", &["resolve"]).await;
    assert_eq!(c, 0, "{err}");
    let (_, stderr) = finish(child).await;
    let r = result(&run_dir);
    let sil = responders(&r, "silence");
    assert_eq!(sil.len(), 1, "{r:#}\n{stderr}");
    assert_eq!(sil[0]["do"], "ack");
    assert_eq!(sil[0]["as"], "carol");
    let at = ts(&sil[0]["at"]);
    assert!(at >= before, "first seen after the silence was made");
    // Seen by a poll (every 500 ms) soon after amtool returned.
    assert!(after_silence.duration_until(at).as_secs_f64() < 2.0, "{at}");
    let m = &r["scorecard"]["metrics"];
    assert_eq!(m["tAck"], sil[0]["at"]);
    assert!(m["ttaSeconds"].as_f64().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expected_alert_that_never_fires_fails_the_run() {
    let drill = Drill::start().await;
    let child = drill.run(&fixture("never-fires.yaml"));
    let run_dir = drill.run_dir().await;
    let (code, stderr) = finish(child).await;
    assert_eq!(code, 1, "{stderr}");
    let r = result(&run_dir);
    assert_eq!(r["detection"][0]["fired"], false);
    assert_eq!(r["detection"][0]["ruleFound"], false);
    let flags = r["scorecard"]["flags"].as_array().unwrap();
    assert!(
        flags.iter().any(
            |f| f["kind"] == "detectionFailure" && f["alert"] == "CheckoutPageThatDoesNotExist"
        ),
        "{flags:#?}"
    );
    let composite = r["scorecard"]["composite"].as_f64().unwrap();
    assert!(composite < r["scorecard"]["passMark"].as_f64().unwrap());
    assert_eq!(r["scorecard"]["passed"], false);
    let first = &r["actionItems"][0];
    assert_eq!(first["priority"], "P1", "{:#}", r["actionItems"]);
    assert!(
        first["title"]
            .as_str()
            .unwrap()
            .contains("CheckoutPageThatDoesNotExist"),
        "{first:#}"
    );
    assert!(stderr.contains("FAIL"), "scorecard printed: {stderr}");
}

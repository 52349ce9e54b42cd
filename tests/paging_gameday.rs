//! A game day (`gameday run` on the shop sandbox with real Prometheus and
//! Alertmanager) pages PagerDuty when its expected alert fires: the stub
//! validates the Events API v2 body, its log puts the ack 42 s after the
//! trigger, and result.json takes TTA 42 s from `pagerduty` with the
//! acknowledger; the page is resolved at the end.

mod common;
mod drill_support;
mod paging_support;
// Shared with the response tests; this test uses part of it.
#[allow(dead_code)]
mod response_support;

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;

use paging_support::{PD_API_TOKEN, PD_ROUTING_KEY, ack_after, pagerduty, pagerduty_config};
use response_support::{Drill, finish, fixture, result};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_game_day_pages_pagerduty_when_the_alert_fires_and_takes_tta_from_it() {
    let stub = tokio::task::spawn_blocking(|| pagerduty(ack_after(42, "Ada Lovelace")))
        .await
        .unwrap();
    let drill = Drill::start().await;
    let config = drill.dir.path().join("gameday.yaml");
    std::fs::write(&config, pagerduty_config(&stub, "")).unwrap();
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_gameday"));
    c.arg("--config")
        .arg(&config)
        .arg("run")
        .arg(fixture("pod-loss-manual.yaml"))
        .args(["--ci", "--api-listen"])
        .arg(format!("127.0.0.1:{}", drill.api_port))
        .arg("--api-token-file")
        .arg(&drill.token_file);
    drill.wire(&mut c);
    c.env("PD_ROUTING_KEY", PD_ROUTING_KEY)
        .env("PD_API_TOKEN", PD_API_TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = c.spawn().unwrap();
    let run_dir = drill.run_dir().await;
    drill.wait_firing(&run_dir).await;
    response_support::wait_until(Duration::from_secs(10), || {
        stub.recorded(|r| (!r.triggers.is_empty()).then_some(()))
    })
    .await;
    let (code, err) = drill.respond("ic-oncall", &["resolve"]).await;
    assert_eq!(code, 0, "{err}");
    let (_, stderr) = finish(child).await;
    stub.assert_no_violations();
    let r = result(&run_dir);
    let m = &r["scorecard"]["metrics"];
    assert_eq!(m["ttaSource"], "pagerduty", "{m:#}\n{stderr}");
    assert_eq!(m["ttaSeconds"], json!(42.0));
    let p = &r["paging"][0];
    assert_eq!(p["acknowledgedBy"], "Ada Lovelace");
    assert_eq!(p["resolved"], true, "{p:#}");
    let (key, body) = stub.recorded(|r| (r.triggers[0].0.clone(), r.triggers[0].2.clone()));
    assert_eq!(
        key,
        format!(
            "gameday-{}-CheckoutHighErrorRate",
            r["runId"].as_str().unwrap()
        )
    );
    assert!(
        body["payload"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("[DRILL] CheckoutHighErrorRate firing")
    );
    assert_eq!(stub.recorded(|r| r.resolved.clone()), vec![key]);
    tokio::task::spawn_blocking(move || drop(stub))
        .await
        .unwrap();
}

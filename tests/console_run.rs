//! The console during a game day (`gameday run` of a scenario on the shop
//! sandbox with real Prometheus and Alertmanager): the page shows the fault,
//! the probe chart and the paged alert, a person acknowledges through it,
//! and result.json has the TTA of that acknowledgement.

mod common;
mod console_support;
#[allow(dead_code)]
mod response_support;

use std::time::Duration;

use console_support::browser::{Chromedriver, open, screenshot, submit, wait_text};
use response_support::{Drill, finish, fixture, result, ts};
use thirtyfour::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_through_the_console_is_the_runs_acknowledgement_with_its_tta() {
    let drill = Drill::start().await;
    let child = drill.run(&fixture("pod-loss-manual.yaml"));
    let run_dir = drill.run_dir().await;
    let token = std::fs::read_to_string(run_dir.join("api-token")).unwrap();
    let driver = Chromedriver::start().await;
    let browser = driver.browser(1280, 1000).await;
    open(&browser, &drill.api_url(), token.trim(), Some("alice")).await;
    wait_text(&browser, "#faults", "kill-one", Duration::from_secs(60)).await;
    wait_text(&browser, "#alerts", "paged", Duration::from_secs(60)).await;
    assert!(
        !browser
            .find_all(By::Css("#probes svg polyline"))
            .await
            .unwrap()
            .is_empty(),
        "a chart of the probe"
    );
    assert_eq!(submit(&browser, "ack-form").await, "recorded");
    screenshot(&browser, "console-run-1280.png").await;
    assert_eq!(submit(&browser, "resolve-form").await, "recorded");
    let (_, stderr) = finish(child).await;
    browser.quit().await.unwrap();

    let r = result(&run_dir);
    let ack = r["responders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["do"] == "ack")
        .unwrap_or_else(|| panic!("no ack: {r:#}\n{stderr}"));
    assert_eq!(ack["as"], "alice");
    let m = &r["scorecard"]["metrics"];
    assert_eq!(m["tAck"], ack["at"]);
    let tta = m["ttaSeconds"].as_f64().expect("TTA in result.json");
    let page = ts(&m["tPage"]);
    assert!((tta - page.duration_until(ts(&ack["at"])).as_secs_f64()).abs() < 0.01);
}

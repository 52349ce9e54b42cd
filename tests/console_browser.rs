//! The web console in the real Chromium (Debian's `chromium` and
//! `chromium-driver`, through WebDriver): two people act as incident
//! commander and communications lead during a drill without autopilot and
//! each sees the other's actions within a second; the facilitator pauses,
//! fires a conditional inject early and ends the drill while a
//! participant's page follows; markup in an update stays text; and
//! screenshots at 1280 and 375 px are saved under target/ and not blank.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use thirtyfour::components::SelectElement;
use thirtyfour::prelude::*;

mod console_support;
use console_support::browser::{
    Chromedriver, dialog_open, open, screenshot, submit, text, wait_text,
};
use console_support::start_drill;

const DRILL: &str = "console/two-roles.yaml";
const SECOND: Duration = Duration::from_secs(1);

fn responder_events(journal: &[Value]) -> Vec<(String, String, Value)> {
    journal
        .iter()
        .filter(|e| e["event"] == "responder.event")
        .map(|e| &e["responder"])
        .map(|r| {
            (
                r["as"].as_str().unwrap_or("").to_string(),
                r["do"].as_str().unwrap_or("").to_string(),
                r.clone(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ic_and_comms_run_a_drill_from_two_browsers_and_see_each_other_within_a_second() {
    let tmp = tempfile::tempdir().unwrap();
    let mut drill = start_drill(tmp.path(), DRILL, Stdio::null());
    let driver = Chromedriver::start().await;
    let ic = driver.browser(1280, 1000).await;
    let comms = driver.browser(375, 1400).await;
    open(&ic, &drill.url, &drill.token, Some("ic-oncall")).await;
    open(&comms, &drill.url, &drill.token, Some("comms-oncall")).await;
    for b in [&ic, &comms] {
        wait_text(b, "#alerts", "CheckoutErrors", SECOND * 5).await;
    }
    // The message to communications reaches comms, not the IC.
    wait_text(
        &comms,
        "#messages",
        "Customers ask what is going on",
        SECOND * 5,
    )
    .await;
    assert!(!text(&ic, "#messages").await.contains("Customers ask"));
    assert!(text(&ic, "#whoami").await.contains("incident commander"));

    assert_eq!(submit(&ic, "ack-form").await, "recorded");
    wait_text(&comms, "#timeline", "ic-oncall (Cli): acknowledged", SECOND).await;

    let severity = ic.find(By::Id("declare-severity")).await.unwrap();
    SelectElement::new(&severity)
        .await
        .unwrap()
        .select_by_value("SEV2")
        .await
        .unwrap();
    assert_eq!(submit(&ic, "declare-form").await, "recorded");
    wait_text(
        &comms,
        "#timeline",
        "ic-oncall (Cli): declared SEV2",
        SECOND,
    )
    .await;

    // The API's validation, shown as its text: an empty update is refused.
    assert_eq!(
        submit(&comms, "update-form").await,
        "`update` needs a message"
    );
    let update = "Checkout errors after the deploy; rolling back, next update in 15 min";
    comms
        .find(By::Id("update-message"))
        .await
        .unwrap()
        .send_keys(update)
        .await
        .unwrap();
    assert_eq!(submit(&comms, "update-form").await, "recorded");
    wait_text(&ic, "#timeline", update, SECOND).await;

    screenshot(&ic, "console-1280.png").await;
    screenshot(&comms, "console-375.png").await;
    let scroll_width: i64 = comms
        .execute("return document.documentElement.scrollWidth", vec![])
        .await
        .unwrap()
        .convert()
        .unwrap();
    assert!(
        scroll_width <= 375,
        "the page scrolls sideways at 375 px: {scroll_width}"
    );

    assert_eq!(submit(&ic, "resolve-form").await, "recorded");
    wait_text(&comms, "#status-line", "ended", SECOND * 5).await;
    drill.wait_exit(Duration::from_secs(20));
    ic.quit().await.unwrap();
    comms.quit().await.unwrap();

    let events = responder_events(&drill.journal());
    let did = |who: &str, what: &str| {
        events
            .iter()
            .find(|(a, d, _)| a == who && d == what)
            .map(|e| e.2.clone())
    };
    assert!(did("ic-oncall", "ack").is_some(), "{events:?}");
    assert_eq!(did("ic-oncall", "declare").unwrap()["severity"], "SEV2");
    assert_eq!(did("comms-oncall", "update").unwrap()["message"], update);
    assert!(did("ic-oncall", "resolve").is_some());

    let result = drill.result();
    let sc = &result["scorecard"];
    assert_eq!(sc["severity"], "SEV2", "{sc:#}");
    let component = |name: &str| {
        sc["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["component"] == name)
            .unwrap()
            .clone()
    };
    for name in ["ack", "comms", "roles"] {
        assert!(
            component(name)["score"].as_f64().is_some(),
            "{name} scored: {sc:#}"
        );
    }
    assert!(
        sc["metrics"]["ttaSeconds"].as_f64().is_some(),
        "{:#}",
        sc["metrics"]
    );
    assert!(sc["metrics"]["tDeclare"].is_string() && sc["metrics"]["tResolve"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_facilitator_pauses_fires_a_conditional_inject_and_ends_while_a_participant_watches() {
    let tmp = tempfile::tempdir().unwrap();
    let mut drill = start_drill(tmp.path(), DRILL, Stdio::null());
    let driver = Chromedriver::start().await;
    let facilitator = driver.browser(1280, 1000).await;
    let ic = driver.browser(375, 1000).await;
    open(&facilitator, &drill.url, &drill.facilitator, None).await;
    open(&ic, &drill.url, &drill.token, Some("ic-oncall")).await;
    wait_text(
        &facilitator,
        "tr[data-inject-row=exec-pressure]",
        "waiting",
        SECOND * 5,
    )
    .await;
    assert!(
        text(&facilitator, "tr[data-inject-row=exec-pressure]")
            .await
            .contains("conditional")
    );
    // Participants have no facilitator controls and no inject list.
    assert!(
        !ic.find(By::Id("facilitator"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap()
    );

    facilitator
        .find(By::Id("pause"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&ic, "#status-line", "paused", SECOND).await;

    facilitator
        .find(By::Css(
            "button[data-inject=exec-pressure][data-control=inject]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&ic, "#messages", "I need a status now", SECOND).await;
    wait_text(
        &facilitator,
        "tr[data-inject-row=exec-pressure]",
        "fired",
        SECOND,
    )
    .await;

    facilitator
        .find(By::Id("end"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&ic, "#status-line", "ended", SECOND * 2).await;
    screenshot(&facilitator, "console-facilitator-1280.png").await;
    drill.wait_exit(Duration::from_secs(20));
    facilitator.quit().await.unwrap();
    ic.quit().await.unwrap();

    let journal = drill.journal();
    for event in ["facilitator.pause", "facilitator.inject", "facilitator.end"] {
        assert!(
            journal.iter().any(|e| e["event"] == event),
            "{event} journalled"
        );
    }
    assert!(
        journal
            .iter()
            .any(|e| e["event"] == "inject.fired" && e["inject"] == "exec-pressure")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_an_update_shows_as_text_and_opens_no_dialog() {
    let tmp = tempfile::tempdir().unwrap();
    let drill = start_drill(tmp.path(), DRILL, Stdio::null());
    let driver = Chromedriver::start().await;
    let comms = driver.browser(1280, 900).await;
    let ic = driver.browser(1280, 900).await;
    open(&comms, &drill.url, &drill.token, Some("comms-oncall")).await;
    open(&ic, &drill.url, &drill.token, Some("ic-oncall")).await;
    let evil = "<img src=x onerror=alert(1)>";
    comms
        .find(By::Id("update-message"))
        .await
        .unwrap()
        .send_keys(evil)
        .await
        .unwrap();
    assert_eq!(submit(&comms, "update-form").await, "recorded");
    for b in [&ic, &comms] {
        wait_text(b, "#timeline", evil, SECOND).await;
        assert!(
            b.find_all(By::Css("#timeline img, #board img"))
                .await
                .unwrap()
                .is_empty()
        );
        assert!(!dialog_open(b).await, "an alert dialog opened");
    }
    ic.quit().await.unwrap();
    comms.quit().await.unwrap();
}

/// Every visible control of the page (name form, actions, facilitator
/// controls) that has no label, no aria-label and no text, or that Tab
/// skips.
const UNLABELLED: &str = r#"
const bad = [];
for (const c of document.querySelectorAll("input, select, textarea, button")) {
  if (c.closest("[hidden]")) continue;
  const named = (c.labels && c.labels.length) || c.getAttribute("aria-label")
    || (c.tagName === "BUTTON" && c.textContent.trim());
  if (!named) bad.push("unlabelled " + (c.id || c.outerHTML));
  if (c.tabIndex < 0) bad.push("not tabbable " + (c.id || c.outerHTML));
}
return bad;
"#;

/// Presses Tab from the top of the page until `id` has the focus.
async fn tab_reaches(browser: &WebDriver, id: &str) -> bool {
    browser
        .execute(
            "document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)",
            vec![],
        )
        .await
        .unwrap();
    let body = browser.find(By::Css("body")).await.unwrap();
    body.send_keys(Key::Tab).await.unwrap();
    for _ in 0..80 {
        let active = browser.active_element().await.unwrap();
        if active.attr("id").await.unwrap().as_deref() == Some(id) {
            return true;
        }
        active.send_keys(Key::Tab).await.unwrap();
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_control_has_a_label_and_the_keyboard_reaches_it() {
    let tmp = tempfile::tempdir().unwrap();
    let drill = start_drill(tmp.path(), DRILL, Stdio::null());
    let driver = Chromedriver::start().await;
    let participant = driver.browser(375, 900).await;
    let facilitator = driver.browser(1280, 900).await;
    open(&participant, &drill.url, &drill.token, Some("ic-oncall")).await;
    open(&facilitator, &drill.url, &drill.facilitator, None).await;
    wait_text(&facilitator, "#injects", "exec-pressure", SECOND * 5).await;
    for b in [&participant, &facilitator] {
        let bad: Vec<String> = b
            .execute(UNLABELLED, vec![])
            .await
            .unwrap()
            .convert()
            .unwrap();
        assert!(bad.is_empty(), "{bad:?}");
    }
    for id in ["declare-severity", "update-message", "step-id", "note-text"] {
        assert!(
            tab_reaches(&participant, id).await,
            "Tab never reaches #{id}"
        );
    }
    for id in ["pause", "end", "hint-text"] {
        assert!(
            tab_reaches(&facilitator, id).await,
            "Tab never reaches #{id}"
        );
    }
    participant.quit().await.unwrap();
    facilitator.quit().await.unwrap();
}

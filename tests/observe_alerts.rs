//! Detection inputs from a real Prometheus (rules, pending/firing) and a real
//! Alertmanager (startsAt, silences made with the real `amtool`).

#[path = "observe_common/mod.rs"]
mod observe_common;

use std::process::Command;
use std::time::{Duration, Instant};

use gameday::observe::alerts::{self, DetectionEvent, DetectionTracker};
use gameday::observe::{AlertmanagerConn, PrometheusConn};
use gameday::scenario::ExpectedAlert;
use jiff::Timestamp;
use observe_common::{Alertmanager, PromOptions, Prometheus, TestApp};

const RULES: &str = r#"
groups:
  - name: gd
    rules:
      - alert: GdHighErrors
        expr: gd_errors > 0
        for: 2s
        labels: {severity: page, service: checkout}
        annotations:
          runbook_url: https://runbooks.example/checkout
          summary: checkout errors
      - alert: GdUnrelated
        expr: gd_other > 0
        labels: {service: cart}
"#;

async fn poll_until(
    tracker: &mut DetectionTracker,
    prom: &PrometheusConn,
    am: &AlertmanagerConn,
    what: &str,
    mut done: impl FnMut(&DetectionTracker) -> bool,
) -> Vec<DetectionEvent> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut events = Vec::new();
    loop {
        let report = tracker.poll(Some(prom), Some(am), Timestamp::now()).await;
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        events.extend(report.events);
        if done(tracker) {
            return events;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {events:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detection_chain_from_pending_to_resolved() {
    let app = TestApp::start().await;
    app.set("gd_errors", 0.0);
    app.set("gd_other", 0.0);
    let am = Alertmanager::start().await;
    let prom = Prometheus::start_with(PromOptions {
        targets: vec![app.addr()],
        rules: Some(RULES.into()),
        alertmanager: Some(am.url()),
        ..PromOptions::default()
    })
    .await;
    prom.wait_value("gd_errors", 0.0).await;
    let prom_conn = prom.conn();
    let am_conn = AlertmanagerConn::from_url(&am.url()).unwrap();

    // The rules as Prometheus loaded them.
    let rules = alerts::alert_rules(&prom_conn).await.unwrap();
    let rule = rules.iter().find(|r| r.name == "GdHighErrors").unwrap();
    assert_eq!(rule.for_seconds, 2.0);
    assert_eq!(
        rule.runbook_url(),
        Some("https://runbooks.example/checkout")
    );
    assert_eq!(
        rules
            .iter()
            .find(|r| r.name == "GdUnrelated")
            .unwrap()
            .runbook_url(),
        None
    );

    let expected: ExpectedAlert =
        serde_yaml::from_str("name: GdHighErrors\nlabels: {service: checkout}\nwithin: 30s")
            .unwrap();
    let mut tracker = DetectionTracker::new(vec![expected], Timestamp::now());
    let injected = Timestamp::now();
    app.set("gd_errors", 1.0);
    app.set("gd_other", 1.0);

    let events = poll_until(
        &mut tracker,
        &prom_conn,
        &am_conn,
        "firing and noise",
        |t| t.times().all(|(_, times)| times.t_fire.is_some()) && t.noise().count() == 1,
    )
    .await;
    let (_, times) = tracker.times().next().unwrap();
    let t_active = times.t_active.expect("seen pending before firing");
    let t_fire = times.t_fire.unwrap();
    assert!(t_active >= injected, "{t_active} vs {injected}");
    // Firing waits out the `for: 2s` hold after pending (measured 1.9992 s:
    // activeAt and startsAt come from two evaluations with ms jitter).
    let hold = t_fire.duration_since(t_active).as_secs_f64();
    assert!((1.9..4.0).contains(&hold), "pending→firing took {hold}s");
    assert!(times.rule_found);
    assert_eq!(times.rule_for_seconds, Some(2.0));
    assert_eq!(
        times.runbook_url.as_deref(),
        Some("https://runbooks.example/checkout")
    );
    assert_eq!(
        times.labels.get("severity").map(String::as_str),
        Some("page")
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, DetectionEvent::Pending { alert, .. } if alert == "GdHighErrors"))
    );
    assert!(events.iter().any(
        |e| matches!(e, DetectionEvent::Noise { alertname, .. } if alertname == "GdUnrelated")
    ));

    // Acknowledgement by a silence made with the real amtool.
    let out = Command::new("amtool")
        .args([
            "silence",
            "add",
            &format!("--alertmanager.url={}", am.url()),
            "--author=ops-oncall",
            "--comment=looking into it",
            "--duration=10m",
            "alertname=GdHighErrors",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let silence_id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let before_ack = Timestamp::now();
    poll_until(&mut tracker, &prom_conn, &am_conn, "acknowledgement", |t| {
        t.times().all(|(_, times)| times.ack.is_some())
    })
    .await;
    let (_, times) = tracker.times().next().unwrap();
    let ack = times.ack.clone().unwrap();
    assert_eq!(ack.by, "ops-oncall");
    assert_eq!(ack.silence_id, silence_id);
    assert_eq!(ack.comment, "looking into it");
    assert!(ack.at >= before_ack);

    // Resolution.
    app.set("gd_errors", 0.0);
    poll_until(&mut tracker, &prom_conn, &am_conn, "resolution", |t| {
        t.times().all(|(_, times)| times.t_resolve.is_some())
    })
    .await;
    let (_, times) = tracker.times().next().unwrap();
    assert!(times.t_resolve.unwrap() > t_fire);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_that_never_fires_has_no_times_and_unreachable_sources_are_reported() {
    let app = TestApp::start().await;
    app.set("gd_errors", 0.0);
    let mut am = Alertmanager::start().await;
    let prom = Prometheus::start_with(PromOptions {
        targets: vec![app.addr()],
        rules: Some(RULES.into()),
        alertmanager: Some(am.url()),
        ..PromOptions::default()
    })
    .await;
    let prom_conn = prom.conn();
    let am_conn = AlertmanagerConn::from_url(&am.url()).unwrap();
    let expected: Vec<ExpectedAlert> = vec![
        serde_yaml::from_str("name: GdHighErrors\nwithin: 30s").unwrap(),
        serde_yaml::from_str("name: GdTypo\nwithin: 30s").unwrap(),
    ];
    let mut tracker = DetectionTracker::new(expected, Timestamp::now());
    let report = tracker
        .poll(Some(&prom_conn), Some(&am_conn), Timestamp::now())
        .await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.events.is_empty(), "{:?}", report.events);
    let times: Vec<_> = tracker
        .times()
        .map(|(e, t)| (e.name.clone(), t.clone()))
        .collect();
    assert!(times[0].1.rule_found && times[0].1.t_fire.is_none());
    assert!(!times[1].1.rule_found, "a misspelt alert has no rule");

    am.kill();
    let report = tracker
        .poll(Some(&prom_conn), Some(&am_conn), Timestamp::now())
        .await;
    assert_eq!(report.errors.len(), 2, "{:?}", report.errors);
    assert!(
        report
            .errors
            .iter()
            .all(|e| e.contains("Alertmanager /api/v2/")),
        "{:?}",
        report.errors
    );
}

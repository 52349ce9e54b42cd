//! Alert injects through the real paging path, against Debian's
//! Alertmanager on a loopback port: posted with the drill labels (visible
//! in `amtool alert query`), delivered to the run's webhook (T_notify in
//! result.json), suppressed by an inhibition rule (the report says
//! "inhibited"), and resolved in Alertmanager when the drill ends.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod drill_support;
use drill_support::{component, gameday, inject, result};

const ALERTMANAGER_BIN: &str = "/usr/bin/prometheus-alertmanager";
const AMTOOL_BIN: &str = "/usr/bin/amtool";

fn free_port() -> u16 {
    gameday::demo::port::free_loopback_port().expect("a free loopback port")
}

/// A real Alertmanager with clustering off, killed by PID on drop.
struct Alertmanager {
    child: Child,
    url: String,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Routes everything to the run's webhook at `api_port` (with the token
/// the drill writes to `token_file`), and inhibits the latency page while
/// the error page of the same run fires.
fn config(api_port: u16, token_file: &Path) -> String {
    format!(
        r#"route:
  receiver: drill
  group_by: [alertname, gameday_run]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: drill
    webhook_configs:
      - url: http://127.0.0.1:{api_port}/v1/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials_file: {}
inhibit_rules:
  - source_matchers: [alertname="PaymentsAPIErrors"]
    target_matchers: [alertname="PaymentsLatencyHigh"]
    equal: [gameday_run]
"#,
        token_file.display()
    )
}

async fn start_alertmanager(dir: &Path, api_port: u16, token_file: &Path) -> Alertmanager {
    std::fs::write(dir.join("alertmanager.yml"), config(api_port, token_file)).unwrap();
    let port = free_port();
    let log = std::fs::File::create(dir.join("alertmanager.log")).unwrap();
    let child = Command::new(ALERTMANAGER_BIN)
        .current_dir(dir)
        .arg("--config.file=alertmanager.yml")
        .arg(format!("--storage.path={}", dir.join("am-data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start prometheus-alertmanager");
    let am = Alertmanager {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !reqwest::get(format!("{}/-/ready", am.url))
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            Instant::now() < deadline,
            "alertmanager not ready:\n{}",
            std::fs::read_to_string(dir.join("alertmanager.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    am
}

fn amtool_query(am: &Alertmanager, extra: &[&str]) -> String {
    let o = Command::new(AMTOOL_BIN)
        .args([
            "alert",
            "query",
            "-o",
            "extended",
            &format!("--alertmanager.url={}", am.url),
        ])
        .args(extra)
        .arg("gameday_drill=true")
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_injects_page_through_alertmanager_with_inhibition_and_resolve() {
    let tmp = tempfile::tempdir().unwrap();
    let api_port = free_port();
    let token_file = tmp.path().join("api-token");
    std::fs::write(&token_file, "not-yet").unwrap();
    let am = start_alertmanager(tmp.path(), api_port, &token_file).await;
    let run = tmp.path().join("run");
    let drill = gameday(tmp.path())
        .env("GAMEDAY_ALERTMANAGER_URL", &am.url)
        .args([
            "drill",
            "--ci",
            "--speed",
            "1",
            "--api-listen",
            &format!("127.0.0.1:{api_port}"),
            "--api-token-file",
        ])
        .arg(&token_file)
        .arg("--out")
        .arg(&run)
        .arg(drill_support::fixture("alertmanager/paging.yaml"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // While the drill runs: amtool shows the page with the drill labels.
    let deadline = Instant::now() + Duration::from_secs(10);
    let shown = loop {
        let out = amtool_query(&am, &[]);
        if out.contains("PaymentsAPIErrors") {
            break out;
        }
        assert!(
            Instant::now() < deadline,
            "amtool never showed the page: {out}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(shown.contains("gameday_drill=\"true\""), "{shown}");
    assert!(shown.contains("gameday_run=\""), "{shown}");
    let out = tokio::task::spawn_blocking(move || drill.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let r = result(&run);
    let page = inject(&r, "page");
    assert_eq!(page["alert"]["delivery"], "alertmanager");
    assert!(page["alert"]["postedAt"].is_string(), "{page}");
    assert!(
        page["alert"]["notifiedAt"].is_string(),
        "T_notify from the run's webhook: {page}"
    );
    assert_eq!(page["alert"]["suppressed"], Value::Null);
    assert_eq!(
        inject(&r, "latency")["alert"]["suppressed"],
        "inhibited",
        "{}",
        inject(&r, "latency")
    );
    let detect = component(&r, "detect");
    assert!(
        detect["score"].is_number(),
        "detection is scored with an Alertmanager: {detect}"
    );
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(
        md.contains("not delivered: inhibited"),
        "report.md must say inhibited"
    );
    // At the end the drill's alerts are resolved in Alertmanager.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alerts: Vec<Value> = reqwest::get(format!(
            "{}/api/v2/alerts?filter=gameday_drill%3D%22true%22",
            am.url
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let now = jiff::Timestamp::now();
        let open: Vec<&Value> = alerts
            .iter()
            .filter(|a| {
                a["endsAt"]
                    .as_str()
                    .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                    .is_none_or(|t| t > now)
            })
            .collect();
        if open.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still firing in Alertmanager: {open:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        !amtool_query(&am, &[]).contains("PaymentsAPIErrors"),
        "amtool still lists the page"
    );
}

/// With a 500 ms resend, each post's `endsAt` is 2 s ahead: an alert still
/// active in Alertmanager at 3 s (and with `endsAt` in the future) was
/// re-posted while it fired. Driven through the library to set the resend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_firing_alert_inject_is_reposted_before_its_ends_at() {
    use gameday::tabletop::{DrillRequest, DrillSettings};
    let tmp = tempfile::tempdir().unwrap();
    let token_file = tmp.path().join("api-token");
    std::fs::write(&token_file, "unused").unwrap();
    let am = start_alertmanager(tmp.path(), free_port(), &token_file).await;
    let text = "apiVersion: gameday/v1\nkind: Drill\nmetadata: {name: resend}\nspec:\n  injects:\n    - {id: page, at: 0s, alert: {labels: {alertname: StillFiring}, for: 1h}}\n  response:\n    roles: {incidentCommander: ic}\n    autopilot:\n      - {at: 4s, as: ic, do: resolve}\n";
    let mut config = gameday::config::Config::default();
    config.history.path = Some(tmp.path().join("history.db"));
    let drill = gameday::drill::load_str("resend.yaml", text, &config, &gameday::faults::Registry)
        .unwrap()
        .remove(0);
    let req = DrillRequest {
        cluster: None,
        drill,
        config,
        placement: gameday::engine::rundir::Placement::Exact(tmp.path().join("run")),
        settings: DrillSettings {
            speed: None,
            live_view: false,
            api_listen: "127.0.0.1:0".parse().unwrap(),
            api_token_file: None,
            alertmanager: Some(gameday::observe::AlertmanagerConn::from_url(&am.url).unwrap()),
            facilitator_token_file: None,
            alert_resend: Duration::from_millis(500),
            console_tokens: false,
        },
    };
    let started = Instant::now();
    let running = tokio::spawn(gameday::tabletop::run(req));
    // Past the first post's endsAt (2 s), before the resolve (4 s).
    tokio::time::sleep_until((started + Duration::from_secs(3)).into()).await;
    let alerts: Vec<Value> = reqwest::get(format!(
        "{}/api/v2/alerts?filter=alertname%3D%22StillFiring%22",
        am.url
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let ends: jiff::Timestamp = alerts
        .first()
        .and_then(|a| a["endsAt"].as_str())
        .unwrap_or_else(|| panic!("the alert expired: {alerts:?}"))
        .parse()
        .unwrap();
    assert!(
        ends > jiff::Timestamp::now(),
        "endsAt {ends} is not ahead: not re-posted"
    );
    let end = running.await.unwrap().unwrap();
    assert_eq!(end.exit_code, 0, "{:?}", end.report.status_reason);
}

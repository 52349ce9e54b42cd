//! The web console over HTTP, without a browser: the page is served with a
//! strict Content-Security-Policy and no token; the live stream needs a
//! token in the Authorization header and gives participants and the
//! facilitator their own views; an event posted to the API reaches the
//! stream; a participant token on the facilitator's route is 403 and no
//! token 401; the start-up output prints the console links; and a
//! non-loopback `--api-listen` needs `--api-allow-remote`.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;

mod console_support;
use console_support::{Stream, fixture, gameday, post, start_drill, timeline_has, wait_for};

const DRILL: &str = "console/two-roles.yaml";

#[tokio::test]
async fn the_page_and_its_assets_need_no_token_and_forbid_inline_script() {
    let tmp = tempfile::tempdir().unwrap();
    let drill = start_drill(tmp.path(), DRILL, Stdio::null());
    let http = reqwest::Client::new();
    for (path, kind) in [
        ("/", "text/html"),
        ("/console.js", "text/javascript"),
        ("/console.css", "text/css"),
    ] {
        let r = http
            .get(format!("{}{path}", drill.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers();
        assert!(
            h["content-type"].to_str().unwrap().starts_with(kind),
            "{path}"
        );
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
    }
    let page = http
        .get(format!("{}/", drill.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for attr in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
        assert!(
            !page.contains(attr),
            "nothing is fetched from elsewhere: {attr}"
        );
    }
    assert!(!page.contains(&drill.token), "the page holds no secret");
}

#[tokio::test]
async fn the_stream_needs_a_token_and_each_token_gets_its_view() {
    let tmp = tempfile::tempdir().unwrap();
    let drill = start_drill(tmp.path(), DRILL, Stdio::null());
    assert_eq!(Stream::open(&drill.url, None).await.status(), 401);
    assert_eq!(
        Stream::open(&drill.url, Some("not-the-token"))
            .await
            .status(),
        401
    );

    let mut participant = Stream::connect(&drill.url, &drill.token).await;
    let p = participant
        .until(Duration::from_secs(5), |s| {
            s["messages"].as_array().is_some_and(|m| !m.is_empty())
        })
        .await;
    assert_eq!(p["viewer"], "participant");
    assert_eq!(p["kind"], "drill");
    assert!(
        p.get("injects").is_none(),
        "participants do not see the injects to come"
    );
    assert!(p.get("scorecard").is_none());
    assert_eq!(p["alerts"][0]["name"], "CheckoutErrors");
    assert_eq!(p["alerts"][0]["state"], "paged");
    assert_eq!(p["messages"][0]["to"], json!(["communications"]));
    assert_eq!(p["roles"][0]["person"], "ic-oncall");

    let mut facilitator = Stream::connect(&drill.url, &drill.facilitator).await;
    let f = facilitator.next().await.unwrap();
    assert_eq!(f["viewer"], "facilitator");
    let injects = f["injects"].as_array().unwrap();
    let pressure = injects.iter().find(|i| i["id"] == "exec-pressure").unwrap();
    assert_eq!(pressure["conditional"], true);
    assert_eq!(pressure["state"], "waiting");
    assert!(f["scorecard"]["components"].is_array());
}

#[tokio::test]
async fn an_event_posted_to_the_api_reaches_the_stream_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let drill = start_drill(tmp.path(), DRILL, Stdio::null());
    let mut stream = Stream::connect(&drill.url, &drill.token).await;
    stream.next().await.unwrap();
    let bad = post(
        &drill.url,
        "/v1/events",
        Some(&drill.token),
        json!({"as": "ic-oncall", "do": "declare", "severity": "SEV9"}),
    )
    .await;
    assert_eq!(bad.0, 400);
    assert!(
        bad.1["error"]
            .as_str()
            .unwrap()
            .contains("unknown severity"),
        "{}",
        bad.1
    );
    let sent = Instant::now();
    let ok = post(
        &drill.url,
        "/v1/events",
        Some(&drill.token),
        json!({"as": "ic-oncall", "do": "ack"}),
    )
    .await;
    assert_eq!(ok.0, 201);
    let s = stream
        .until(Duration::from_secs(1), |s| timeline_has(s, "ic-oncall"))
        .await;
    assert!(sent.elapsed() < Duration::from_secs(1));
    assert!(
        s["runbook"][0]["claimedAt"].is_string(),
        "the ack ticks the `ack` step"
    );
}

#[tokio::test]
async fn the_facilitator_route_refuses_a_participant_token_and_no_token() {
    let tmp = tempfile::tempdir().unwrap();
    let drill = start_drill(tmp.path(), DRILL, Stdio::null());
    let pause = json!({"do": "pause"});
    assert_eq!(
        post(
            &drill.url,
            "/v1/facilitator",
            Some(&drill.token),
            pause.clone()
        )
        .await
        .0,
        403
    );
    assert_eq!(
        post(&drill.url, "/v1/facilitator", None, pause.clone())
            .await
            .0,
        401
    );
    // The facilitator's token is not a participant's either.
    assert_eq!(
        post(
            &drill.url,
            "/v1/events",
            Some(&drill.facilitator),
            json!({"as": "f", "do": "ack"})
        )
        .await
        .0,
        401
    );
    assert_eq!(
        post(
            &drill.url,
            "/v1/facilitator",
            Some(&drill.facilitator),
            pause
        )
        .await
        .0,
        200
    );
}

#[test]
fn the_start_up_output_prints_both_console_links_with_the_token_in_the_fragment() {
    let tmp = tempfile::tempdir().unwrap();
    let drill = start_drill(tmp.path(), DRILL, Stdio::piped());
    let mut drill = drill;
    let stderr = drill.child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = Vec::new();
    let (console, facilitator) = wait_for(Duration::from_secs(10), "the console lines", || {
        let line = lines.next()?.ok()?;
        seen.push(line);
        let find = |prefix: &str| {
            seen.iter()
                .find_map(|l| l.trim().strip_prefix(prefix).map(str::to_string))
        };
        Some((find("console ")?, find("facilitator console ")?))
    });
    assert_eq!(console, format!("{}/#token={}", drill.url, drill.token));
    assert_eq!(
        facilitator,
        format!("{}/#token={}", drill.url, drill.facilitator)
    );
}

#[test]
fn a_non_loopback_listen_address_needs_allow_remote() {
    let tmp = tempfile::tempdir().unwrap();
    let o = gameday(tmp.path())
        .args(["drill", "--api-listen", "0.0.0.0:0", "--out"])
        .arg(tmp.path().join("run"))
        .arg(fixture(DRILL))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("--api-allow-remote"), "{stderr}");
    assert!(!tmp.path().join("run").exists(), "nothing was started");

    let o = gameday(tmp.path())
        .args(["run", "--api-listen", "0.0.0.0:0"])
        .arg(fixture(DRILL))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("--api-allow-remote"));

    // With the flag it starts, and says who can reach it.
    let mut child = gameday(tmp.path())
        .args([
            "drill",
            "--speed",
            "1",
            "--api-listen",
            "0.0.0.0:0",
            "--api-allow-remote",
            "--out",
        ])
        .arg(tmp.path().join("remote"))
        .arg(fixture(DRILL))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let warning = wait_for(Duration::from_secs(10), "the warning", || {
        lines.next()?.ok().filter(|l| l.starts_with("warning:"))
    });
    assert!(
        warning.contains("0.0.0.0") && warning.contains("other machines"),
        "{warning}"
    );
    let _ = child.kill();
    let _ = child.wait();
}

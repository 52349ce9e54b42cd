//! Connections as real monitoring stacks need them: auth and tenant headers
//! really sent, TLS with a private CA, and preflight messages that say exactly
//! what failed.

#[path = "observe_common/mod.rs"]
mod observe_common;

use std::time::Duration;

use gameday::config::{BasicAuth, Endpoint};
use gameday::observe::preflight::{self, Needs, Services};
use gameday::observe::{AlertmanagerConn, Phase, ProbeOutcome, ProbeReader, PrometheusConn};
use gameday::scenario::Probe;
use observe_common::{
    Alertmanager, BCRYPT_S3CRET, PromOptions, Prometheus, RecordingProxy, TestApp, make_tls,
};

fn probe(yaml: &str) -> Probe {
    serde_yaml::from_str(yaml).unwrap()
}

fn needs_prometheus() -> Needs {
    Needs {
        prometheus: true,
        alertmanager: false,
        kubernetes: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_basic_and_extra_headers_are_sent() {
    let app = TestApp::start().await;
    app.set("gd_ok", 1.0);
    let prom = Prometheus::start(&[app.addr()]).await;
    prom.wait_value("gd_ok", 1.0).await;
    let proxy = RecordingProxy::start(&prom.url()).await;
    let p = probe("name: ok\nprometheus: {query: gd_ok}\nexpect: \"== 1\"");

    let mut bearer = Endpoint {
        url: proxy.url(),
        bearer_token: Some("tok-123".into()),
        ..Endpoint::default()
    };
    bearer
        .headers
        .insert("X-Scope-OrgID".into(), "tenant-a".into());
    let obs = ProbeReader::new()
        .unwrap()
        .with_prometheus(PrometheusConn::new(&bearer).unwrap());
    let r = obs.read(&p, Phase::Before).await;
    assert_eq!(r.outcome, ProbeOutcome::Holds, "{r}");
    let reqs = proxy.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, "/api/v1/query");
    assert_eq!(reqs[0].headers["authorization"], "Bearer tok-123");
    assert_eq!(reqs[0].headers["x-scope-orgid"], "tenant-a");

    proxy.clear();
    let basic = Endpoint {
        url: proxy.url(),
        basic_auth: Some(BasicAuth {
            username: "alice".into(),
            password: "s3cret".into(),
        }),
        ..Endpoint::default()
    };
    let am = AlertmanagerConn::new(&basic).unwrap();
    // Alertmanager connections carry the same settings: one status request.
    let _ = am.http().get(am.url("api/v2/status").unwrap()).send().await;
    let reqs = proxy.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].headers["authorization"], "Basic YWxpY2U6czNjcmV0");
}

/// Prometheus itself enforcing TLS (private CA) and basic auth, via its
/// `--web.config.file`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_private_ca_and_basic_auth_against_real_prometheus() {
    let app = TestApp::start().await;
    app.set("gd_ok", 1.0);
    let certs = tempfile::tempdir().unwrap();
    let (ca, crt, key) = make_tls(certs.path());
    let ca_file = certs.path().join("ca.pem");
    let good = Endpoint {
        ca_file: Some(ca_file.clone()),
        basic_auth: Some(BasicAuth {
            username: "alice".into(),
            password: "s3cret".into(),
        }),
        ..Endpoint::default()
    };
    let prom = Prometheus::start_with(PromOptions {
        targets: vec![app.addr()],
        web_config: Some(format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n\
             basic_auth_users:\n  alice: '{BCRYPT_S3CRET}'\n"
        )),
        files: vec![
            ("server.crt".into(), crt),
            ("server.key".into(), key),
            ("ca.pem".into(), ca),
        ],
        endpoint: good.clone(),
        https: true,
        ..PromOptions::default()
    })
    .await;
    let p = probe("name: ok\nprometheus: {query: gd_ok}\nexpect: \"== 1\"");
    let read = |ep: Endpoint| {
        let p = p.clone();
        async move {
            let obs = ProbeReader::new()
                .unwrap()
                .with_prometheus(PrometheusConn::new(&ep).unwrap());
            obs.read(&p, Phase::Before).await
        }
    };

    // CA file + basic auth: works.
    prom.wait_value("gd_ok", 1.0).await;
    let r = read(prom.endpoint()).await;
    assert_eq!(r.outcome, ProbeOutcome::Holds, "{r}");

    // No CA: the certificate is not trusted, and the reason says so.
    let no_ca = Endpoint {
        ca_file: None,
        ..prom.endpoint()
    };
    let r = read(no_ca.clone()).await;
    match &r.outcome {
        ProbeOutcome::Unknown(why) => assert!(why.to_lowercase().contains("certificate"), "{why}"),
        other => panic!("expected a TLS failure, got {other:?}"),
    }
    let check = preflight::check_prometheus(
        &PrometheusConn::new(&no_ca).unwrap(),
        Duration::from_secs(5),
    )
    .await;
    eprintln!("{check}");
    assert!(
        check
            .result
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("certificate"),
        "{check}"
    );

    // Skip-verify instead of the CA: works.
    let r = read(Endpoint {
        insecure_skip_verify: true,
        ..no_ca
    })
    .await;
    assert_eq!(r.outcome, ProbeOutcome::Holds, "{r}");

    // Wrong password: Prometheus answers 401; the probe is unknown, not retried,
    // and preflight says 401 with a hint.
    let wrong = Endpoint {
        basic_auth: Some(BasicAuth {
            username: "alice".into(),
            password: "nope".into(),
        }),
        ..prom.endpoint()
    };
    let r = read(wrong.clone()).await;
    match &r.outcome {
        ProbeOutcome::Unknown(why) => assert!(why.contains("401"), "{why}"),
        other => panic!("expected 401, got {other:?}"),
    }
    assert_eq!(r.attempts, 1, "401 is not retried");
    let check = preflight::check_prometheus(
        &PrometheusConn::new(&wrong).unwrap(),
        Duration::from_secs(5),
    )
    .await;
    eprintln!("{check}");
    let msg = check.result.unwrap_err().to_string();
    assert!(msg.contains("401") && msg.contains("basicAuth"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_says_exactly_what_failed() {
    let prom = Prometheus::start(&[]).await;
    let am = Alertmanager::start().await;
    let prom_conn = prom.conn();
    let am_conn = AlertmanagerConn::from_url(&am.url()).unwrap();
    let all = Needs {
        prometheus: true,
        alertmanager: true,
        kubernetes: false,
    };

    let ok = preflight::run(
        all,
        Services {
            prometheus: Some(&prom_conn),
            alertmanager: Some(&am_conn),
            kube: None,
        },
        Duration::from_secs(5),
    )
    .await;
    assert!(ok.ok(), "{ok}");
    assert_eq!(ok.checks.len(), 2);
    assert!(ok.to_string().contains("Alertmanager 0."), "{ok}");

    // Not configured: names the flag, the env var and the config key.
    let missing = preflight::run(all, Services::default(), Duration::from_secs(5)).await;
    assert!(!missing.ok());
    let text = missing.to_string();
    eprintln!("{text}");
    for want in [
        "--prometheus-url",
        "GAMEDAY_PROMETHEUS_URL",
        "--alertmanager-url",
        "GAMEDAY_ALERTMANAGER_URL",
    ] {
        assert!(text.contains(want), "{want} missing from:\n{text}");
    }

    // Pointed at the wrong service: Alertmanager's URL given as Prometheus.
    let wrong = PrometheusConn::from_url(&am.url()).unwrap();
    let check = preflight::check_prometheus(&wrong, Duration::from_secs(5)).await;
    eprintln!("{check}");
    assert!(check.result.is_err(), "{check}");
    assert!(check.to_string().contains(&am.url()), "{check}");

    // Down: connection refused, with the URL.
    let url = prom.url();
    drop(prom);
    let down = preflight::run(
        needs_prometheus(),
        Services {
            prometheus: Some(&prom_conn),
            ..Services::default()
        },
        Duration::from_secs(5),
    )
    .await;
    eprintln!("{down}");
    let failure = down.failures().next().expect("a failure");
    assert_eq!(failure.target, "Prometheus");
    let text = failure.to_string();
    assert!(
        text.contains(&url) && text.to_lowercase().contains("connection refused"),
        "{text}"
    );
}

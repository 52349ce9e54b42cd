//! Issue 5 acceptance: `gameday run` (the real binary) with its steady state
//! read from real Prometheus scraping the in-process shop sandbox, and from
//! kubernetes and http probes. Each test asserts the exit code and what the
//! journal (and the sandbox) saw.

mod common;
mod observe_common;
mod steady_support;

use std::time::Duration;

use gameday::engine::Entry;
use k8s_openapi::api::apps::v1::Deployment;
use steady_support::{Env, data, first, journal, position, readings, state};

fn events(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.event.as_str()).collect()
}

async fn replicas(env: &Env, name: &str) -> i32 {
    let api: kube::Api<Deployment> =
        kube::Api::namespaced(env.sandbox.kube_client().unwrap(), "shop");
    api.get(name).await.unwrap().spec.unwrap().replicas.unwrap()
}

fn status(entries: &[Entry]) -> String {
    first(entries, "run.end")
        .map(|e| data(e, "status").as_str().unwrap_or("").to_string())
        .unwrap_or_default()
}

fn assert_confirmed_clean(entries: &[Entry]) {
    let confirmed = first(entries, "revert.confirmed").expect("revert.confirmed");
    assert_eq!(data(confirmed, "clean"), true, "{confirmed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_kill_of_one_of_four_holds_and_journals_before_during_after() {
    let env = Env::start().await;
    env.wait_settled().await;
    let scenario = env.scenario("pod-kill-holds.yaml", &[]);
    let dir = env.run_dir("holds");
    let (code, stderr) = env.run(&scenario, &dir).await;
    let j = journal(&dir);
    assert_eq!(code, 0, "{stderr}\n{:#?}", events(&j));
    assert_eq!(status(&j), "passed");

    let before = readings(&j, Some("before"));
    let during = readings(&j, Some("during"));
    let after = readings(&j, Some("after"));
    assert_eq!(before.len(), 2, "one reading per probe before");
    assert!(before.iter().all(|r| state(r) == "holds"), "{before:?}");
    assert!(!during.is_empty(), "no during readings: {:#?}", events(&j));
    assert!(!after.is_empty());
    assert!(after.iter().rev().take(2).all(|r| state(r) == "holds"));
    for r in before.iter().chain(&during).chain(&after) {
        assert!(data(r, "value").is_number(), "{r:?}");
    }
    // Order: before readings, then the injection, during readings while the
    // fault is active, the revert, then the recovery readings.
    let intent = position(&j, "fault.intent").unwrap();
    let reverted = position(&j, "fault.reverted").unwrap();
    let idx = |e: &Entry| j.iter().position(|x| std::ptr::eq(x, e)).unwrap();
    assert!(before.iter().all(|r| idx(r) < intent));
    assert!(during.iter().all(|r| idx(r) > intent && idx(r) < reverted));
    assert!(after.iter().all(|r| idx(r) > reverted));

    let recovery = first(&j, "steady.recovery").unwrap();
    assert_eq!(data(recovery, "recovered"), true);
    assert!(data(recovery, "tMitigate").is_string());
    assert_confirmed_clean(&j);
    assert!(stderr.contains("probe during checkout-success"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_steady_state_before_injection_is_not_run_and_writes_nothing() {
    let env = Env::start().await;
    env.wait_settled().await;
    let scenario = env.scenario("broken-before.yaml", &[]);
    let dir = env.run_dir("broken");
    let writes = env.sandbox.write_count();
    let (code, stderr) = env.run(&scenario, &dir).await;
    let j = journal(&dir);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(env.sandbox.write_count(), writes, "the sandbox saw a write");
    assert_eq!(status(&j), "not-run");
    let ev = events(&j);
    assert!(!ev.contains(&"fault.intent"), "{ev:?}");
    assert!(!ev.contains(&"fault.injected"), "{ev:?}");
    let before = readings(&j, Some("before"));
    assert_eq!(before.len(), 1);
    assert_eq!(state(before[0]), "breach");
    assert_eq!(data(before[0], "value"), 4.0);
    let end = first(&j, "run.end").unwrap();
    assert!(
        data(end, "reason")
            .as_str()
            .unwrap()
            .contains("checkout-replicas"),
        "{end:?}"
    );
    // It waited its `settle: 3s` (one reading per 1s interval) before giving
    // up; those readings are journalled as settling, never as breaches.
    let settling: Vec<&Entry> = j.iter().filter(|e| e.event == "steady.settling").collect();
    assert!((2..=4).contains(&settling.len()), "{:#?}", events(&j));
    for e in &settling {
        assert_eq!(data(e, "settled"), false);
        assert_eq!(e.data["probes"][0]["probe"], "checkout-replicas");
        assert_eq!(e.data["probes"][0]["value"], 4.0);
        assert!(
            !serde_json::to_string(&e.data).unwrap().contains("breach"),
            "{e:?}"
        );
    }
    let unsettled = first(&j, "steady.unsettled").expect("steady.unsettled");
    let reason = data(end, "reason").as_str().unwrap();
    assert!(reason.contains("did not settle within 3s"), "{reason}");
    assert!(
        reason.contains("checkout-replicas read 4.0000, expected >= 10"),
        "{reason}"
    );
    assert_eq!(
        data(unsettled, "waitingFor").as_str(),
        reason.split(": ").nth(1)
    );
    let waited = first(&j, "run.start").unwrap().ts.duration_until(end.ts);
    // The last reading is the last one that could start within the 3 s.
    assert!(waited.as_secs_f64() >= 1.9, "gave up after {waited}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guardrail_breach_aborts_and_reverts_before_the_next_tick() {
    let env = Env::start().await;
    env.wait_settled().await;
    let scenario = env.scenario("scale-to-zero-guardrail.yaml", &[]);
    let dir = env.run_dir("breach");
    let (code, stderr) = env.run(&scenario, &dir).await;
    let j = journal(&dir);
    assert_eq!(code, 3, "{stderr}\n{:#?}", events(&j));
    assert_eq!(status(&j), "aborted");

    let during = readings(&j, Some("during"));
    let breach = during
        .iter()
        .find(|r| state(r) == "breach")
        .expect("a breached during reading");
    let breach_at = j.iter().position(|e| std::ptr::eq(e, *breach)).unwrap();
    let reverted = position(&j, "fault.reverted").unwrap();
    assert!(reverted > breach_at);
    // Within one interval: no further guardrail tick between the breach and
    // the revert.
    assert!(
        j[breach_at + 1..reverted]
            .iter()
            .all(|e| !(e.event == "probe.reading" && e.data["phase"] == "during")),
        "{:#?}",
        events(&j)
    );
    let g = first(&j, "guardrail.breach").unwrap();
    assert!(
        data(g, "reason")
            .as_str()
            .unwrap()
            .contains("checkout-success"),
        "{g:?}"
    );
    assert_confirmed_clean(&j);
    assert_eq!(replicas(&env, "checkout").await, 4);
    // Aborted long before the 60 s hold.
    let injected = first(&j, "fault.injected").unwrap().ts;
    let reverted_ts = j[reverted].ts;
    assert!(reverted_ts.duration_since(injected) < jiff::SignedDuration::from_secs(30));
}

/// Starts the run, waits for its first guardrail reading, kills Prometheus.
async fn run_and_kill_prometheus(on_unknown: &str) -> (i32, String, Vec<Entry>, Env) {
    let mut env = Env::start().await;
    env.wait_settled().await;
    let scenario = env.scenario("prometheus-lost.yaml", &[("ON_UNKNOWN", on_unknown)]);
    let dir = env.run_dir(on_unknown);
    let child = env
        .command(&scenario, &dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    observe_common::wait_for("a during reading", Duration::from_secs(60), || {
        let dir = dir.clone();
        async move { (!readings(&journal(&dir), Some("during")).is_empty()).then_some(()) }
    })
    .await;
    env.stack.prometheus.kill();
    let out = tokio::time::timeout(Duration::from_secs(90), child.wait_with_output())
        .await
        .expect("gameday run finishes")
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (code, stderr, journal(&dir), env)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_killed_mid_run_aborts_fail_safe_and_reverts() {
    let (code, stderr, j, env) = run_and_kill_prometheus("abort").await;
    assert_eq!(code, 3, "{stderr}\n{:#?}", events(&j));
    assert_eq!(status(&j), "aborted");
    let unknown = readings(&j, Some("during"))
        .into_iter()
        .find(|r| state(r) == "unknown")
        .expect("an unknown during reading");
    assert!(data(unknown, "value").is_null());
    let g = first(&j, "guardrail.breach").unwrap();
    assert!(
        data(g, "reason")
            .as_str()
            .unwrap()
            .contains("cannot be read"),
        "{g:?}"
    );
    assert!(position(&j, "fault.reverted").unwrap() > position(&j, "guardrail.breach").unwrap());
    assert_confirmed_clean(&j);
    assert_eq!(replicas(&env, "checkout").await, 4);
}

/// An error is printed once (issue 10): the reason, with its URL-encoded
/// query, is not repeated by every line after the reading that failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_killed_mid_run_prints_its_error_once() {
    let (code, stderr, _, _env) = run_and_kill_prometheus("abort").await;
    assert_eq!(code, 3, "{stderr}");
    let times = stderr.matches("kube_deployment_spec_replicas%7B").count()
        + stderr.matches("kube_deployment_spec_replicas{").count();
    assert_eq!(times, 1, "the query is printed {times} times:\n{stderr}");
    assert!(
        stderr.contains("guardrail breached: checkout-replicas"),
        "{stderr}"
    );
    assert!(stderr.contains("run ended: aborted (as above)"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_killed_mid_run_with_on_unknown_ignore_goes_on() {
    let (code, stderr, j, env) = run_and_kill_prometheus("ignore").await;
    let ev = events(&j);
    assert!(!ev.contains(&"guardrail.breach"), "{ev:?}");
    assert!(
        readings(&j, Some("during"))
            .iter()
            .any(|r| state(r) == "unknown"),
        "{ev:?}"
    );
    // The fault held its whole 8 s, then was reverted as planned.
    let injected = first(&j, "fault.injected").unwrap().ts;
    let reverted = first(&j, "fault.reverted").unwrap().ts;
    assert!(reverted.duration_since(injected) >= jiff::SignedDuration::from_secs(7));
    assert_confirmed_clean(&j);
    assert_eq!(replicas(&env, "checkout").await, 4);
    // Prometheus stays down, so the recovery cannot be confirmed: exit 1.
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(status(&j), "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_slower_than_recover_within_fails_with_t_mitigate_missing() {
    let env = Env::start_with(|w| {
        for d in &mut w.spec.deployments {
            if d.name == "checkout" {
                d.readiness_delay = gameday::scenario::Duration::from_secs(12);
            }
        }
    })
    .await;
    env.wait_settled().await;
    let scenario = env.scenario("slow-recovery.yaml", &[]);
    let dir = env.run_dir("slow");
    let (code, stderr) = env.run(&scenario, &dir).await;
    let j = journal(&dir);
    assert_eq!(code, 1, "{stderr}\n{:#?}", events(&j));
    assert_eq!(status(&j), "failed");
    assert_confirmed_clean(&j);
    let recovery = first(&j, "steady.recovery").unwrap();
    assert_eq!(data(recovery, "recovered"), false);
    assert!(data(recovery, "tMitigate").is_null());
    assert!(data(recovery, "tImpact").is_string(), "{recovery:?}");
    let msg = data(recovery, "message").as_str().unwrap();
    assert!(msg.contains("T_mitigate missing"), "{msg}");
    assert!(msg.contains("checkout-available"), "{msg}");
    assert!(stderr.contains("T_mitigate missing"), "{stderr}");
    assert!(
        readings(&j, Some("after"))
            .iter()
            .all(|r| state(r) == "breach")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_and_http_probes_against_the_sandbox_and_a_test_server() {
    let env = Env::start().await;
    let app = observe_common::TestApp::start().await;
    env.wait_settled().await;
    let health = app.url("/healthz");
    // The kubelet healthz, not /metrics: the API serves TLS with its own CA
    // and /metrics needs authorization, as on a real cluster; an http probe
    // carries neither.
    let healthz = env.sandbox.kubelet_healthz_url();
    let vars = [
        ("SANDBOX_HEALTHZ", healthz.as_str()),
        ("TESTAPP_HEALTH", health.as_str()),
    ];
    let scenario = env.scenario("probe-types.yaml", &vars);
    let dir = env.run_dir("types-ok");
    let (code, stderr) = env.run(&scenario, &dir).await;
    let j = journal(&dir);
    assert_eq!(code, 0, "{stderr}\n{:#?}", events(&j));
    for phase in ["before", "during", "after"] {
        let rs = readings(&j, Some(phase));
        for probe in [
            "checkout-ready-pods",
            "kubelet-healthz",
            "test-server-health",
        ] {
            assert!(
                rs.iter().any(|r| r.data["probe"] == probe),
                "{probe} not read {phase}"
            );
        }
    }
    let pods = readings(&j, Some("before"))
        .into_iter()
        .find(|r| r.data["probe"] == "checkout-ready-pods")
        .unwrap();
    assert_eq!(data(pods, "value"), 4.0);

    // The same run with the test server failing: the http probe sees the
    // status and the run does not start.
    app.set_health(503, Duration::ZERO);
    let dir = env.run_dir("types-503");
    let writes = env.sandbox.write_count();
    let (code, stderr) = env.run(&scenario, &dir).await;
    let j = journal(&dir);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(status(&j), "not-run");
    assert_eq!(env.sandbox.write_count(), writes);
    let r = readings(&j, Some("before"))
        .into_iter()
        .find(|r| r.data["probe"] == "test-server-health")
        .unwrap();
    assert_eq!(state(r), "breach");
    assert!(data(r, "detail").as_str().unwrap().contains("503"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_prometheus_is_exit_4_before_anything_is_written() {
    let env = Env::start().await;
    env.wait_settled().await;
    let scenario = env.scenario("pod-kill-holds.yaml", &[]);
    let dir = env.run_dir("unreachable");
    // A port nothing listens on.
    let url = format!("http://127.0.0.1:{}", common::harness::free_port());
    let writes = env.sandbox.write_count();
    let out = env
        .command_with(&scenario, &dir, &url)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert_eq!(env.sandbox.write_count(), writes);
    assert!(
        stderr.contains("FAILED Prometheus at") && stderr.contains("onnection refused"),
        "{stderr}"
    );
    // Refused before the run directory or journal exist.
    assert!(!dir.join("journal.jsonl").exists());
}

//! `gameday run` (the real binary) against the in-process sandbox: the
//! lifecycle and journal of a normal run, SIGINT/SIGTERM during the hold,
//! the kill switch, and refusals that happen before any write.

mod faults_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use faults_support::{Cluster, journal_events, shop_world};

const THREE_FAULTS: &str = "    - {name: freeze, type: podFailure, duration: DUR, selector: {namespace: shop, labels: {app: checkout}}, mode: {count: 1}}
    - {name: shrink, type: scale, duration: DUR, selector: {namespace: shop, kind: Deployment, name: frontend}, params: {replicas: 1}}
    - {name: taint, type: nodeTaint, duration: DUR, selector: {nodeLabels: {pool: green}}}";

fn faults(dur: &str) -> String {
    THREE_FAULTS.replace("DUR", dur)
}

fn events(dir: &Path) -> Vec<String> {
    journal_events(dir).into_iter().map(|e| e.event).collect()
}

async fn assert_clean(c: &Cluster) {
    assert!(
        c.marked().await.is_empty(),
        "marks left: {:?}",
        c.marked().await
    );
    assert!(
        c.eventually(Duration::from_secs(15), || async {
            c.workload_restored("shop", "checkout", 4, "shop/checkout:1.4")
                .await
                && c.workload_restored("shop", "frontend", 2, "shop/frontend:2.0")
                    .await
        })
        .await
    );
    let taints = c
        .node("node-3")
        .await
        .spec
        .unwrap()
        .taints
        .unwrap_or_default();
    assert!(taints.is_empty(), "{taints:?}");
}

/// Waits until every fault of the run is injected (the journal says so).
async fn wait_injected(c: &Cluster, dir: &Path, n: usize) {
    assert!(
        c.eventually(Duration::from_secs(20), || async {
            events(dir)
                .iter()
                .filter(|e| *e == "fault.injected")
                .count()
                >= n
        })
        .await,
        "faults were not injected: {:?}",
        events(dir)
    );
}

fn out_dir(c: &Cluster, name: &str) -> PathBuf {
    c.path(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_normal_run_injects_holds_reverts_and_confirms() {
    let c = Cluster::start(shop_world()).await;
    let sc = c.write_scenario("s.yaml", "normal", &faults("2s"), "");
    let out = out_dir(&c, "run");
    let (code, _, err) = c
        .run(&[
            "run",
            sc.to_str().unwrap(),
            "--ci",
            "--out",
            out.to_str().unwrap(),
        ])
        .await;
    assert_eq!(code, 0, "{err}");
    let ev = events(&out);
    let pos = |name: &str| {
        ev.iter()
            .position(|e| e == name)
            .unwrap_or_else(|| panic!("{name} missing in {ev:?}"))
    };
    assert!(pos("run.start") < pos("fault.intent"));
    assert!(pos("fault.intent") < pos("fault.injected"));
    assert!(pos("fault.injected") < pos("fault.reverted"));
    assert!(pos("fault.reverted") < pos("revert.confirmed"));
    assert_eq!(ev.last().map(String::as_str), Some("run.end"));
    assert_eq!(ev.iter().filter(|e| *e == "fault.reverted").count(), 3);
    // Plain log lines with timestamps in CI mode.
    assert!(
        err.lines()
            .any(|l| l.starts_with("20") && l.contains("inject freeze")),
        "{err}"
    );
    assert_clean(&c).await;
}

async fn signal_during_hold(signal: i32, name: &str) {
    let c = Cluster::start(shop_world()).await;
    let sc = c.write_scenario("s.yaml", "sig", &faults("60s"), "");
    let out = out_dir(&c, "run");
    let mut child = c.spawn_run(&sc, &out);
    wait_injected(&c, &out, 3).await;
    assert!(!c.marked().await.is_empty());
    let pid = child.id().unwrap() as i32;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc_kill(pid, signal) }, 0);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("exits after the signal")
        .unwrap();
    assert_eq!(status.code(), Some(3), "aborted, faults reverted");
    let entries = journal_events(&out);
    let stopping = entries
        .iter()
        .find(|e| e.event == "run.stopping")
        .expect("journal says it stopped");
    assert!(stopping.data["cause"].as_str().unwrap().contains(name));
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.event == "fault.reverted")
            .count(),
        3
    );
    let confirmed = entries
        .iter()
        .find(|e| e.event == "revert.confirmed")
        .unwrap();
    assert_eq!(confirmed.data["clean"], true);
    assert_clean(&c).await;
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_during_hold_reverts_before_exit() {
    signal_during_hold(2, "SIGINT").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_hold_reverts_before_exit() {
    signal_during_hold(15, "SIGTERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn halt_blocks_runs_and_halting_a_run_reverts_it() {
    let c = Cluster::start(shop_world()).await;
    let sc = c.write_scenario("s.yaml", "halted", &faults("60s"), "");
    let (code, _, err) = c.run(&["halt"]).await;
    assert_eq!(code, 0, "{err}");
    let writes = c.sandbox.write_count();
    let out = out_dir(&c, "blocked");
    let history = c.path("history.db");
    let blocked = c
        .gameday(&[
            "run",
            sc.to_str().unwrap(),
            "--ci",
            "--out",
            out.to_str().unwrap(),
        ])
        .env("GAMEDAY_HISTORY_DB", &history)
        .output()
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&blocked.stderr);
    assert_eq!(blocked.status.code(), Some(3), "{err}");
    // The refusal and nothing else: no plan, no responder API, no
    // scorecard, no run directory, no history row.
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("halted") && err.contains("halt --lift"),
        "{err}"
    );
    assert!(blocked.stdout.is_empty());
    assert!(!out.exists(), "a refused run has no run directory");
    assert!(!history.exists(), "a refused run is not in the history");
    assert_eq!(
        c.sandbox.write_count(),
        writes,
        "a halted cluster sees no write"
    );
    let (code, _, _) = c.run(&["halt", "--lift"]).await;
    assert_eq!(code, 0);

    // Now a run that is halted while it holds.
    let out = out_dir(&c, "running");
    let mut child = c.spawn_run(&sc, &out);
    wait_injected(&c, &out, 3).await;
    let (code, _, err) = c.run(&["halt", "--reason", "test"]).await;
    assert_eq!(code, 0, "{err}");
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(3));
    assert!(events(&out).iter().any(|e| e == "halt.seen"));
    assert_clean(&c).await;
    c.run(&["halt", "--lift"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn violations_are_refused_before_any_write() {
    let c = Cluster::start(shop_world()).await;
    let base = c.sandbox.write_count();

    // A context the scenario does not allow: not a single request.
    let text = faults_support::scenario_text("prod-only", &faults("5s"), "")
        .replace("gameday-sandbox*", "prod-*");
    std::fs::write(c.path("prod.yaml"), text).unwrap();
    let before = c.sandbox.requests().len();
    let (code, _, err) = c
        .run(&["run", c.path("prod.yaml").to_str().unwrap(), "--ci"])
        .await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("gameday-sandbox"), "names the context: {err}");
    assert_eq!(
        c.sandbox.requests().len(),
        before,
        "refused before connecting"
    );

    // Blast radius: 3 of 4 checkout pods is over maxPercent 50.
    let sc = c.write_scenario(
        "wide.yaml",
        "wide",
        "    - {name: kill, type: podKill, selector: {namespace: shop, labels: {app: checkout}}, mode: {count: 3}}",
        "",
    );
    let (code, _, err) = c.run(&["run", sc.to_str().unwrap(), "--ci"]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("maxPercent"), "{err}");

    // Zero targets.
    let sc = c.write_scenario(
        "none.yaml",
        "none",
        "    - {name: kill, type: podKill, selector: {namespace: shop, labels: {app: nothing}}}",
        "",
    );
    let (code, _, err) = c.run(&["run", sc.to_str().unwrap(), "--ci"]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no targets"), "{err}");

    // Scaling to zero is a full outage without the override.
    let sc = c.write_scenario(
        "zero.yaml",
        "zero",
        "    - {name: s, type: scale, duration: 5s, selector: {namespace: shop, kind: Deployment, name: checkout}, params: {replicas: 0}}",
        "{maxTargets: 10, maxPercent: 100, maxDuration: 10m}",
    );
    let (code, _, err) = c.run(&["run", sc.to_str().unwrap(), "--ci"]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("allowFullOutage"), "{err}");

    assert_eq!(
        c.sandbox.write_count(),
        base,
        "no write reached the cluster"
    );
    assert!(!c.path("gameday-runs").exists(), "no run directory either");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_changes_nothing_and_shows_limits() {
    let c = Cluster::start(shop_world()).await;
    let sc = c.write_scenario("s.yaml", "planned", &faults("5s"), "");
    let rv_before = c
        .deployment("shop", "checkout")
        .await
        .metadata
        .resource_version;
    let writes = c.sandbox.write_count();
    let (code, out, err) = c.run(&["plan", sc.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("fault freeze (podFailure)"), "{out}");
    assert!(out.contains("targets: 1 of 4 matched (limit 10)"), "{out}");
    assert!(out.contains("impact: 1 of 4"), "{out}");
    assert!(
        out.contains("core nodes [get, list, patch] (cluster-wide)"),
        "{out}"
    );
    let (code, json, _) = c.run(&["plan", sc.to_str().unwrap(), "-o", "json"]).await;
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["faults"].as_array().unwrap().len(), 3);
    assert_eq!(c.sandbox.write_count(), writes);
    assert_eq!(
        c.deployment("shop", "checkout")
            .await
            .metadata
            .resource_version,
        rv_before
    );
}

/// A minimal HTTP CONNECT proxy on 127.0.0.1 (what corporate proxies
/// speak for HTTPS): records each CONNECT target, then splices bytes.
async fn connect_proxy() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    tokio::task::JoinHandle<()>,
) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let task = tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(sock);
                let mut line = String::new();
                if reader.read_line(&mut line).await.is_err() {
                    return;
                }
                let target = line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_string();
                // The rest of the request head, up to the blank line.
                loop {
                    let mut h = String::new();
                    match reader.read_line(&mut h).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) if h == "\r\n" => break,
                        Ok(_) => {}
                    }
                }
                log.lock().unwrap().push(target.clone());
                let Ok(mut upstream) = tokio::net::TcpStream::connect(&target).await else {
                    return;
                };
                let mut client = reader.into_inner();
                if client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .is_ok()
                {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    (addr, seen, task)
}

/// Users behind a proxy set HTTPS_PROXY, as for kubectl: gameday's API
/// calls go through it (CONNECT to the API server), and NO_PROXY naming
/// the server sends them direct again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_proxy_and_no_proxy_are_respected() {
    let c = Cluster::start(shop_world()).await;
    let sc = c.write_scenario("s.yaml", "proxied", &faults("5s"), "");
    let (proxy, seen, task) = connect_proxy().await;
    // `gameday plan` behind the proxy, with NO_PROXY as given.
    let plan = |no_proxy: &'static str| {
        let mut cmd = c.gameday(&["plan", sc.to_str().unwrap()]);
        cmd.env("HTTPS_PROXY", format!("http://{proxy}"))
            .env("NO_PROXY", no_proxy)
            .env_remove("no_proxy");
        async move {
            let out = cmd.output().await.unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    plan("").await;
    let through: Vec<String> = seen.lock().unwrap().clone();
    assert!(
        through.iter().any(|t| t.starts_with("127.0.0.1:")),
        "the API calls went through the proxy: {through:?}"
    );
    seen.lock().unwrap().clear();
    plan("127.0.0.1").await;
    assert!(seen.lock().unwrap().is_empty(), "NO_PROXY bypasses it");
    task.abort();
}

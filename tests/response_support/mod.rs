//! A drill environment for the response tests: the shop sandbox, real
//! Prometheus and Alertmanager, and a recording relay between Alertmanager
//! and the run's webhook, so a test knows when each notification arrived
//! independently of the run. Alertmanager reads the run's bearer token from
//! the file `gameday run --api-token-file` writes.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::common::harness::{Stack, StackOptions, free_port, shop_sandbox};

pub const CONTEXT: &str = "gameday-sandbox";

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/response")
        .join(name)
}

/// Arrival time and body of every webhook the relay received.
pub type Arrivals = Arc<Mutex<Vec<(jiff::Timestamp, Value)>>>;

pub struct Drill {
    pub sandbox: gameday::sandbox::SandboxHandle,
    pub stack: Stack,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    pub token_file: PathBuf,
    pub api_port: u16,
    pub arrivals: Arrivals,
    relay: tokio::task::JoinHandle<()>,
}

impl Drop for Drill {
    fn drop(&mut self) {
        self.relay.abort();
    }
}

async fn start_relay(target: String, arrivals: Arrivals) -> (String, tokio::task::JoinHandle<()>) {
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    type S = (String, Arrivals, reqwest::Client);
    let app = axum::Router::new()
        .route(
            "/relay",
            axum::routing::post(
                |State((target, arrivals, http)): State<S>, headers: HeaderMap, body: Bytes| async move {
                    let at = jiff::Timestamp::now();
                    if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                        arrivals.lock().unwrap().push((at, v));
                    }
                    let mut req = http.post(&target).body(body.to_vec());
                    if let Some(a) = headers.get("authorization") {
                        req = req.header("authorization", a.clone());
                    }
                    req = req.header("content-type", "application/json");
                    match req.send().await {
                        Ok(r) => StatusCode::from_u16(r.status().as_u16()).unwrap(),
                        Err(_) => StatusCode::BAD_GATEWAY,
                    }
                },
            ),
        )
        .with_state((target, arrivals, reqwest::Client::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/relay", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

impl Drill {
    /// Sandbox + stack + relay; returns once checkout traffic is scraped.
    pub async fn start() -> Drill {
        let sandbox = shop_sandbox().await;
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        sandbox.write_kubeconfig(&kubeconfig, CONTEXT).unwrap();
        let token_file = dir.path().join("am-token");
        // Alertmanager only reads it when it notifies; the run overwrites it.
        std::fs::write(&token_file, "not-yet").unwrap();
        let api_port = free_port();
        let arrivals: Arrivals = Arc::default();
        let (relay_url, relay) = start_relay(
            format!("http://127.0.0.1:{api_port}/v1/alertmanager"),
            arrivals.clone(),
        )
        .await;
        let stack = Stack::start(
            StackOptions::sandbox(&sandbox)
                .webhook(relay_url)
                .webhook_credentials_file(&token_file),
        )
        .await;
        stack
            .wait_for_query(
                r#"sum(http_requests_total{namespace="shop",service="checkout",code="200"})"#,
                Duration::from_secs(15),
                |v| v > 0.0,
            )
            .await;
        Drill {
            sandbox,
            stack,
            dir,
            kubeconfig,
            token_file,
            api_port,
            arrivals,
            relay,
        }
    }

    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }

    /// `gameday run SCENARIO` in the test directory (run dirs go to its
    /// `gameday-runs/`), wired to this drill's Prometheus and Alertmanager.
    pub fn run(&self, scenario: &Path) -> tokio::process::Child {
        let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_gameday"));
        c.arg("run")
            .arg(scenario)
            .args(["--ci", "--api-listen"])
            .arg(format!("127.0.0.1:{}", self.api_port))
            .arg("--api-token-file")
            .arg(&self.token_file);
        self.wire(&mut c);
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        c.spawn().unwrap()
    }

    pub fn wire(&self, c: &mut tokio::process::Command) {
        c.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--context")
            .arg(CONTEXT)
            .env_remove("CI")
            .env_remove("GAMEDAY_CONFIG")
            .env_remove("GAMEDAY_RUN_URL")
            .env_remove("GAMEDAY_TOKEN")
            .env("NO_COLOR", "1")
            .env("GAMEDAY_PROMETHEUS_URL", &self.stack.prometheus_url)
            .env("GAMEDAY_ALERTMANAGER_URL", &self.stack.alertmanager_url)
            .current_dir(self.dir.path())
            .kill_on_drop(true);
    }

    /// `gameday respond WORDS --as PERSON`, finding the run by its directory.
    pub async fn respond(&self, person: &str, words: &[&str]) -> (i32, String) {
        let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_gameday"));
        c.arg("respond").args(words).args(["--as", person]);
        self.wire(&mut c);
        let out = c.output().await.unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The one run directory under `gameday-runs/`, once it has its API files.
    pub async fn run_dir(&self) -> PathBuf {
        let root = self.dir.path().join("gameday-runs");
        wait_until(Duration::from_secs(30), || {
            std::fs::read_dir(&root)
                .ok()?
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .find(|p| p.join("api-token").is_file())
        })
        .await
    }

    /// The live state through the API, with the run's own token.
    pub async fn state(&self, run_dir: &Path) -> Value {
        let token = std::fs::read_to_string(run_dir.join("api-token")).unwrap();
        reqwest::Client::new()
            .get(format!("{}/v1/state", self.api_url()))
            .bearer_auth(token.trim())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits until the run reports the expected alert firing.
    pub async fn wait_firing(&self, run_dir: &Path) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
        loop {
            let s = self.state(run_dir).await;
            if !s["alerts"][0]["tFire"].is_null() {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the alert never fired: {s:#}\n{}",
                self.stack.logs()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

pub async fn wait_until<T>(within: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for the run to end; returns (exit code, stderr).
pub async fn finish(child: tokio::process::Child) -> (i32, String) {
    finish_within(child, Duration::from_secs(120)).await
}

/// As [`finish`], for runs that may take longer (settling first).
pub async fn finish_within(child: tokio::process::Child, within: Duration) -> (i32, String) {
    let out = tokio::time::timeout(within, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("the run did not end within {within:?}"))
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn result(run_dir: &Path) -> Value {
    let text = std::fs::read_to_string(run_dir.join("result.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub fn ts(v: &Value) -> jiff::Timestamp {
    v.as_str()
        .unwrap_or_else(|| panic!("not a timestamp: {v}"))
        .parse()
        .unwrap()
}

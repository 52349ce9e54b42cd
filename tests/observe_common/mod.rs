//! Test harness for the observe tests: a metrics app whose values the test
//! sets, real Prometheus and Alertmanager processes (Debian packages) on free
//! loopback ports with temporary directories, and a recording proxy that
//! counts and inspects the requests gameday sends.
//!
//! Every process is stopped by PID when its guard drops; every wait is a
//! bounded poll that panics with the process log when it runs out.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gameday::config::Endpoint;
use gameday::observe::PrometheusConn;
use tokio::task::JoinHandle;

pub const PROMETHEUS_BIN: &str = "/usr/bin/prometheus";
pub const ALERTMANAGER_BIN: &str = "/usr/bin/prometheus-alertmanager";

/// Password `s3cret`, bcrypt cost 4 (cheap to check; it is a test).
pub const BCRYPT_S3CRET: &str = "$2b$04$H0vj2qKR4nZI4j1Nl.8j5urTKOxu2EnJHRsLCmStC0QR2imZT6.YC";

pub fn free_port() -> u16 {
    gameday::demo::port::free_loopback_port().expect("a free loopback port")
}

/// Polls `f` every 100 ms until it returns `Some`, for at most `limit`.
pub async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

// ---------------------------------------------------------------- test app

#[derive(Debug)]
struct AppState {
    /// `name{labels}` → value, served on /metrics.
    series: BTreeMap<String, f64>,
    health_status: u16,
    health_delay: Duration,
}

/// A small service: `/metrics` for Prometheus to scrape, `/healthz` for http
/// probes. The test changes both while it runs.
pub struct TestApp {
    addr: SocketAddr,
    state: Arc<Mutex<AppState>>,
    task: JoinHandle<()>,
}

async fn metrics(State(s): State<Arc<Mutex<AppState>>>) -> Response {
    let body: String = s
        .lock()
        .unwrap()
        .series
        .iter()
        .map(|(k, v)| format!("{k} {v}\n"))
        .collect();
    ([("content-type", "text/plain; version=0.0.4")], body).into_response()
}

async fn healthz(State(s): State<Arc<Mutex<AppState>>>) -> Response {
    let (status, delay) = {
        let g = s.lock().unwrap();
        (g.health_status, g.health_delay)
    };
    tokio::time::sleep(delay).await;
    (StatusCode::from_u16(status).unwrap(), "ok\n").into_response()
}

impl TestApp {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(AppState {
            series: BTreeMap::new(),
            health_status: 200,
            health_delay: Duration::ZERO,
        }));
        let app = Router::new()
            .route("/metrics", get(metrics))
            .route("/healthz", get(healthz))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        TestApp { addr, state, task }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn set(&self, series: &str, value: f64) {
        self.state
            .lock()
            .unwrap()
            .series
            .insert(series.to_string(), value);
    }

    pub fn remove(&self, series: &str) {
        self.state.lock().unwrap().series.remove(series);
    }

    pub fn set_health(&self, status: u16, delay: Duration) {
        let mut g = self.state.lock().unwrap();
        g.health_status = status;
        g.health_delay = delay;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ---------------------------------------------------------------- Prometheus

/// How to start Prometheus.
#[derive(Debug, Clone, Default)]
pub struct PromOptions {
    /// Scraped every second as job `app`.
    pub targets: Vec<SocketAddr>,
    /// Contents of `--web.config.file` (TLS, basic auth); relative paths in it
    /// resolve against the temp dir.
    pub web_config: Option<String>,
    /// Files written into the temp dir before start (certificates).
    pub files: Vec<(String, Vec<u8>)>,
    /// How the harness reaches it (scheme, CA, auth); the URL is filled in.
    pub endpoint: Endpoint,
    pub https: bool,
    /// Contents of a rule file (evaluated every second).
    pub rules: Option<String>,
    /// Alertmanager base URL to send alerts to.
    pub alertmanager: Option<String>,
}

/// Kills a process that never made it into its owner (startup failed).
struct ChildGuard(Option<Child>);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Polls `path` until it answers 2xx. False when the process exited first
/// (typically: the port was taken).
async fn wait_ready(child: &mut ChildGuard, conn: &PrometheusConn, path: &str, log: &Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(Ok(Some(_))) = child.0.as_mut().map(Child::try_wait) {
            return false;
        }
        if let Ok(url) = conn.url(path)
            && let Ok(r) = conn.http().get(url).send().await
            && r.status().is_success()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not ready after 20s:\n{}", log_tail(log));
}

/// A real Prometheus, killed by PID on drop.
pub struct Prometheus {
    child: Option<Child>,
    dir: tempfile::TempDir,
    port: u16,
    opts: PromOptions,
}

impl Prometheus {
    /// Scrapes `targets` every second; returns once every target is `up == 1`.
    pub async fn start(targets: &[SocketAddr]) -> Self {
        Self::start_with(PromOptions {
            targets: targets.to_vec(),
            ..PromOptions::default()
        })
        .await
    }

    pub async fn start_with(opts: PromOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in &opts.files {
            std::fs::write(dir.path().join(name), content).unwrap();
        }
        let targets: Vec<String> = opts.targets.iter().map(|a| format!("'{a}'")).collect();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n  scrape_timeout: 900ms\n\
             scrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: [{}]\n",
            targets.join(", ")
        );
        let mut config = config;
        if let Some(rules) = &opts.rules {
            std::fs::write(dir.path().join("rules.yml"), rules).unwrap();
            config.push_str("rule_files: [rules.yml]\n");
        }
        if let Some(am) = &opts.alertmanager {
            let host = am.trim_start_matches("http://").trim_end_matches('/');
            config.push_str(&format!(
                "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{host}']\n"
            ));
        }
        std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
        if let Some(web) = &opts.web_config {
            std::fs::write(dir.path().join("web.yml"), web).unwrap();
        }
        // The free port can be taken between probing and binding; retry then.
        let log_path = dir.path().join("prometheus.log");
        for _ in 0..3 {
            let port = free_port();
            let log = std::fs::File::create(&log_path).unwrap();
            let mut cmd = Command::new(PROMETHEUS_BIN);
            cmd.current_dir(dir.path())
                .arg("--config.file=prometheus.yml")
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--log.level=info")
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log);
            if opts.web_config.is_some() {
                cmd.arg("--web.config.file=web.yml");
            }
            let mut child = ChildGuard(Some(cmd.spawn().expect("start /usr/bin/prometheus")));
            let scheme = if opts.https { "https" } else { "http" };
            let conn = PrometheusConn::new(&Endpoint {
                url: format!("{scheme}://127.0.0.1:{port}"),
                ..opts.endpoint.clone()
            })
            .unwrap();
            if wait_ready(&mut child, &conn, "-/ready", &log_path).await {
                let p = Prometheus {
                    child: child.0.take(),
                    dir,
                    port,
                    opts,
                };
                p.wait_targets_up().await;
                return p;
            }
            let text = log_tail(&log_path);
            assert!(
                text.contains("address already in use"),
                "prometheus did not start:\n{text}"
            );
        }
        panic!("prometheus: no free port after 3 tries");
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("prometheus.log")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        let scheme = if self.opts.https { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The endpoint the harness itself uses (with the options' auth and TLS).
    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            url: self.url(),
            ..self.opts.endpoint.clone()
        }
    }

    pub fn conn(&self) -> PrometheusConn {
        PrometheusConn::new(&self.endpoint()).unwrap()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Prometheus discovers static targets ~5.5 s after start; nothing is
    /// measurable before `up == 1` for every target.
    async fn wait_targets_up(&self) {
        let n = self.opts.targets.len();
        if n == 0 {
            return;
        }
        let conn = self.conn();
        let log = self.log_path();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let q = format!("count(up{{job=\"app\"}} == 1) == {n}");
            if let Ok(r) = conn.client().query(q).get().await
                && r.data().as_vector().is_some_and(|v| !v.is_empty())
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "targets not up after 30s:\n{}",
                log_tail(&log)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until an instant query returns exactly `value` (a scrape has
    /// picked up a change the test made).
    pub async fn wait_value(&self, query: &str, value: f64) {
        let conn = self.conn();
        wait_for(
            &format!("{query} == {value}"),
            Duration::from_secs(15),
            || async {
                let r = conn.client().query(query).get().await.ok()?;
                let v = r.data().as_vector()?.first()?.sample().value();
                (v == value).then_some(())
            },
        )
        .await;
    }

    /// SIGKILL and reap: Prometheus is gone, the port refuses connections.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGSTOP: the process keeps its socket but answers nothing (a hung server).
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT after [`pause`](Self::pause).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        let pid = self.pid().expect("prometheus is running");
        let ok = Command::new("kill")
            .arg(sig)
            .arg(pid.to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} {pid}");
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------- Alertmanager

/// A real Alertmanager with clustering off, killed by PID on drop.
pub struct Alertmanager {
    child: Option<Child>,
    dir: tempfile::TempDir,
    port: u16,
}

impl Alertmanager {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("alertmanager.yml"),
            "route:\n  receiver: none\n  group_wait: 0s\n  group_interval: 1s\nreceivers:\n  - name: none\n",
        )
        .unwrap();
        let log_path = dir.path().join("alertmanager.log");
        for _ in 0..3 {
            let port = free_port();
            let log = std::fs::File::create(&log_path).unwrap();
            let child = Command::new(ALERTMANAGER_BIN)
                .current_dir(dir.path())
                .arg("--config.file=alertmanager.yml")
                .arg(format!(
                    "--storage.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--cluster.listen-address=")
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start /usr/bin/prometheus-alertmanager");
            let mut child = ChildGuard(Some(child));
            // Same readiness path shape as Prometheus; reuse the client type.
            let conn = PrometheusConn::from_url(&format!("http://127.0.0.1:{port}")).unwrap();
            if wait_ready(&mut child, &conn, "-/ready", &log_path).await {
                return Alertmanager {
                    child: child.0.take(),
                    dir,
                    port,
                };
            }
            let text = log_tail(&log_path);
            assert!(
                text.contains("address already in use"),
                "alertmanager did not start:\n{text}"
            );
        }
        panic!("alertmanager: no free port after 3 tries");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------- recording proxy

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
}

struct ProxyState {
    upstream: String,
    client: reqwest::Client,
    log: Mutex<Vec<Recorded>>,
}

/// Forwards every request to `upstream` and records it: what gameday really
/// sends (headers, auth) and how often (queries per interval).
pub struct RecordingProxy {
    addr: SocketAddr,
    state: Arc<ProxyState>,
    task: JoinHandle<()>,
}

async fn forward(State(s): State<Arc<ProxyState>>, req: axum::extract::Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    s.log.lock().unwrap().push(Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts.headers.clone(),
    });
    let path_q = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let mut headers = parts.headers;
    headers.remove("host");
    let upstream = s
        .client
        .request(parts.method, format!("{}{path_q}", s.upstream))
        .headers(headers)
        .body(body)
        .send()
        .await;
    match upstream {
        Ok(r) => {
            let status = r.status();
            let headers = r.headers().clone();
            let bytes = r.bytes().await.unwrap_or_default();
            (status, headers, bytes).into_response()
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

impl RecordingProxy {
    pub async fn start(upstream: &str) -> Self {
        let state = Arc::new(ProxyState {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            log: Mutex::new(Vec::new()),
        });
        let app = Router::new().fallback(forward).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        RecordingProxy { addr, state, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.log.lock().unwrap().clone()
    }

    /// Requests whose path ends with `suffix` (e.g. `/api/v1/query`).
    pub fn count(&self, suffix: &str) -> usize {
        self.state
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path.ends_with(suffix))
            .count()
    }

    pub fn clear(&self) {
        self.state.log.lock().unwrap().clear();
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ---------------------------------------------------------------- TLS material

/// A CA and a server certificate for 127.0.0.1, made with the real `openssl`
/// CLI. Returns (ca.pem, server.crt, server.key).
pub fn make_tls(dir: &Path) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=gameday test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    (read("ca.pem"), read("server.crt"), read("server.key"))
}

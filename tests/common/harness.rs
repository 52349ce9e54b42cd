//! Real Prometheus and Alertmanager for integration tests.
//!
//! [`Stack::start`] runs the Debian `prometheus` and `prometheus-alertmanager`
//! binaries on free loopback ports with temporary directories: Prometheus
//! scrapes one target every second, evaluates `examples/prometheus/rules`
//! (plus any extra rules) every second and sends alerts to Alertmanager,
//! which delivers them to a webhook with `group_wait: 0s`. Both processes are
//! killed by PID when the [`Stack`] is dropped, so a failing test leaves
//! nothing behind.
//!
//! Every wait is a bounded poll; a timeout panics with the process logs,
//! because a test that fails here needs to show why Prometheus did not do
//! what it was asked.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::mpsc;

/// The directory of the example alert rules every stack loads.
pub fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/prometheus/rules")
}

/// Finds `name` in `/usr/bin` or on PATH, or fails the test with the fix.
pub fn require_binary(name: &str) -> PathBuf {
    let usr = Path::new("/usr/bin").join(name);
    if usr.is_file() {
        return usr;
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "`{name}` is not installed (looked in /usr/bin and PATH). These tests run the real Prometheus and \
         Alertmanager: run scripts/test.sh, which installs them with \
         `apt-get install -y prometheus prometheus-alertmanager`, or install them yourself."
    );
}

/// `promtool check metrics` must accept `body` (an exposition) with no
/// finding at all, lint warnings included.
pub fn promtool_check_metrics(body: &str) {
    use std::io::Write;
    let mut promtool = Command::new(require_binary("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    let findings = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && findings.trim().is_empty(),
        "promtool check metrics: {findings}"
    );
}

/// A port the kernel just gave out on 127.0.0.1. Another process could take
/// it before ours binds, so starts retry with a fresh port when that happens.
/// A free loopback port below the kernel's ephemeral range, so no outgoing
/// connection takes it before its server binds (see `gameday::demo::port`).
pub fn free_port() -> u16 {
    gameday::demo::port::free_loopback_port().expect("a free loopback port")
}

/// A child process killed by PID on drop.
pub struct Process {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Process {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process's combined output so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Kills the process now (e.g. to test what happens when Prometheus dies).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn spawn(name: &'static str, bin: &Path, args: &[String], dir: &Path) -> Process {
    let log = dir.join(format!("{name}.log"));
    let out = std::fs::File::create(&log).unwrap();
    let err = out.try_clone().unwrap();
    let child = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    Process { name, child, log }
}

/// What to run Prometheus and Alertmanager against.
pub struct StackOptions {
    /// The URL Prometheus scrapes, e.g. `http://127.0.0.1:8001/metrics`.
    pub target: String,
    /// Where Alertmanager posts notifications (webhook, payload version 4).
    pub webhook: Option<String>,
    /// Sent as `Authorization: Bearer <token>` with every webhook.
    pub webhook_bearer_token: Option<String>,
    /// Bearer credential read from this file at each notification (what
    /// `gameday run --api-token-file` writes).
    pub webhook_credentials_file: Option<PathBuf>,
    /// More rule groups (a whole rules file, YAML) next to the examples.
    pub extra_rules: Option<String>,
    /// Bearer credential (and CA) for the scrape: the sandbox's `/metrics`
    /// needs authorization, as a real API server's does.
    pub scrape_auth: Option<gameday::sandbox::scrape::ScrapeAuth>,
    /// The scrape job's name, [`JOB`] unless set: the kube-prometheus rules
    /// select `job="kube-state-metrics"`.
    pub job: String,
}

impl StackOptions {
    pub fn new(target: impl Into<String>) -> StackOptions {
        StackOptions {
            target: target.into(),
            webhook: None,
            webhook_bearer_token: None,
            webhook_credentials_file: None,
            extra_rules: None,
            scrape_auth: None,
            job: JOB.to_string(),
        }
    }

    /// Names the scrape job `job` (the `job` label of every series).
    pub fn job(mut self, job: impl Into<String>) -> StackOptions {
        self.job = job.into();
        self
    }

    /// Scrapes the sandbox's `/metrics` with a `system:monitoring` token.
    pub fn sandbox(sb: &gameday::sandbox::SandboxHandle) -> StackOptions {
        let mut o = StackOptions::new(sb.metrics_url());
        o.scrape_auth = Some(sb.scrape_auth());
        o
    }

    pub fn webhook(mut self, url: impl Into<String>) -> StackOptions {
        self.webhook = Some(url.into());
        self
    }

    pub fn webhook_bearer_token(mut self, token: impl Into<String>) -> StackOptions {
        self.webhook_bearer_token = Some(token.into());
        self
    }

    pub fn webhook_credentials_file(mut self, path: impl Into<PathBuf>) -> StackOptions {
        self.webhook_credentials_file = Some(path.into());
        self
    }

    pub fn extra_rules(mut self, yaml: impl Into<String>) -> StackOptions {
        self.extra_rules = Some(yaml.into());
        self
    }
}

/// Running Prometheus + Alertmanager. Fields drop in declaration order: the
/// processes die before their directory is removed.
pub struct Stack {
    pub prometheus: Process,
    pub alertmanager: Process,
    pub prometheus_url: String,
    pub alertmanager_url: String,
    job: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// The scrape job name; `up{job="gameday-target"}` is what `wait_up` polls.
pub const JOB: &str = "gameday-target";

const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Prometheus needs about 5.5 s before its first scrape (discovery throttle).
const UP_TIMEOUT: Duration = Duration::from_secs(30);

impl Stack {
    /// Starts both processes and waits until they are ready and Prometheus
    /// has scraped the target successfully (`up == 1`).
    pub async fn start(opts: StackOptions) -> Stack {
        let prom_bin = require_binary("prometheus");
        let am_bin = require_binary("prometheus-alertmanager");
        let dir = tempfile::tempdir().unwrap();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();

        let mut am_config = String::from(
            "route:\n  receiver: webhook\n  group_by: ['alertname', 'namespace', 'service']\n  group_wait: 0s\n  \
             group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: webhook\n",
        );
        if let Some(url) = &opts.webhook {
            am_config.push_str(&format!(
                "    webhook_configs:\n      - url: {url:?}\n        send_resolved: true\n"
            ));
            if let Some(token) = &opts.webhook_bearer_token {
                am_config.push_str(&format!(
                    "        http_config:\n          authorization:\n            type: Bearer\n            credentials: {token:?}\n"
                ));
            } else if let Some(file) = &opts.webhook_credentials_file {
                am_config.push_str(&format!(
                    "        http_config:\n          authorization:\n            type: Bearer\n            credentials_file: {:?}\n",
                    file.display().to_string()
                ));
            }
        }
        std::fs::write(dir.path().join("alertmanager.yml"), am_config).unwrap();

        let (alertmanager, am_port) = start_with_retries("alertmanager", &http, |port| {
            let args = vec![
                format!(
                    "--config.file={}",
                    dir.path().join("alertmanager.yml").display()
                ),
                format!("--storage.path={}", dir.path().join("am-data").display()),
                format!("--web.listen-address=127.0.0.1:{port}"),
                // Empty: no clustering, so nothing binds 0.0.0.0:9094.
                "--cluster.listen-address=".to_string(),
            ];
            spawn("alertmanager", &am_bin, &args, dir.path())
        })
        .await;
        let alertmanager_url = format!("http://127.0.0.1:{am_port}");

        let target = reqwest::Url::parse(&opts.target)
            .unwrap_or_else(|e| panic!("bad target {}: {e}", opts.target));
        let host = target.host_str().unwrap();
        let port = target.port_or_known_default().unwrap();
        let mut rule_files = vec![format!("{}/*.yml", rules_dir().display())];
        if let Some(extra) = &opts.extra_rules {
            let path = dir.path().join("extra-rules.yml");
            std::fs::write(&path, extra).unwrap();
            rule_files.push(path.display().to_string());
        }
        let auth_lines = match &opts.scrape_auth {
            Some(a) => a.prometheus_job_lines(dir.path()).unwrap(),
            None => String::new(),
        };
        let prom_config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files: {rule_files:?}\n\
             alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{am_port}']\n\
             scrape_configs:\n  - job_name: {job}\n    scheme: {scheme}\n    metrics_path: {path:?}\n{auth_lines}    \
             static_configs:\n      - targets: ['{host}:{port}']\n",
            scheme = target.scheme(),
            path = target.path(),
            job = opts.job,
        );
        std::fs::write(dir.path().join("prometheus.yml"), prom_config).unwrap();

        let (prometheus, prom_port) = start_with_retries("prometheus", &http, |port| {
            let args = vec![
                format!(
                    "--config.file={}",
                    dir.path().join("prometheus.yml").display()
                ),
                format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("prom-data").display()
                ),
                format!("--web.listen-address=127.0.0.1:{port}"),
            ];
            spawn("prometheus", &prom_bin, &args, dir.path())
        })
        .await;
        let stack = Stack {
            prometheus,
            alertmanager,
            prometheus_url: format!("http://127.0.0.1:{prom_port}"),
            alertmanager_url,
            job: opts.job.clone(),
            http,
            _dir: dir,
        };
        stack.wait_up().await;
        stack
    }

    /// An instant query; each result as (labels, value).
    pub async fn query(&self, promql: &str) -> Vec<(serde_json::Map<String, Value>, f64)> {
        let url = format!("{}/api/v1/query", self.prometheus_url);
        let body: Value = self
            .http
            .get(&url)
            .query(&[("query", promql)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["status"], "success", "query {promql}: {body}");
        body["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let value = r["value"][1].as_str().unwrap().parse::<f64>().unwrap();
                (r["metric"].as_object().cloned().unwrap_or_default(), value)
            })
            .collect()
    }

    /// Polls `promql` every 100 ms until some result satisfies `pred`.
    pub async fn wait_for_query(
        &self,
        promql: &str,
        timeout: Duration,
        pred: impl Fn(f64) -> bool,
    ) -> f64 {
        let deadline = Instant::now() + timeout;
        let mut last = Vec::new();
        while Instant::now() < deadline {
            last = self.query(promql).await;
            if let Some((_, v)) = last.iter().find(|(_, v)| pred(*v)) {
                return *v;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{promql} did not reach the expected value within {timeout:?}; last result {last:?}\n{}",
            self.logs()
        );
    }

    /// Waits until Prometheus has scraped the target successfully.
    pub async fn wait_up(&self) {
        self.wait_for_query(&format!("up{{job={:?}}}", self.job), UP_TIMEOUT, |v| {
            v == 1.0
        })
        .await;
    }

    /// Prometheus's `/api/v1/alerts`.
    pub async fn alerts(&self) -> Vec<Value> {
        let body: Value = self
            .http
            .get(format!("{}/api/v1/alerts", self.prometheus_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["data"]["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until Prometheus reports `alertname` in `state` (`pending` or
    /// `firing`) and returns that alert (labels, annotations, activeAt, ...).
    pub async fn wait_for_alert(&self, alertname: &str, state: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        let mut last = Vec::new();
        while Instant::now() < deadline {
            last = self.alerts().await;
            if let Some(a) = last
                .iter()
                .find(|a| a["labels"]["alertname"] == alertname && a["state"] == state)
            {
                return a.clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "alert {alertname} not {state} within {timeout:?}; alerts: {last:?}\n{}",
            self.logs()
        );
    }

    /// Alertmanager's `/api/v2/alerts`.
    pub async fn alertmanager_alerts(&self) -> Vec<Value> {
        self.http
            .get(format!("{}/api/v2/alerts", self.alertmanager_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Both processes' logs, for failure messages.
    pub fn logs(&self) -> String {
        format!(
            "--- prometheus (pid {}) ---\n{}\n--- alertmanager (pid {}) ---\n{}",
            self.prometheus.pid(),
            self.prometheus.log(),
            self.alertmanager.pid(),
            self.alertmanager.log()
        )
    }
}

/// Starts a server on a free port and waits for `/-/ready`; if the process
/// dies first (typically: the port was taken meanwhile), tries another port.
pub async fn start_with_retries(
    name: &str,
    http: &reqwest::Client,
    start: impl Fn(u16) -> Process,
) -> (Process, u16) {
    let mut logs = String::new();
    for _ in 0..3 {
        let port = free_port();
        let mut process = start(port);
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline && !process.exited() {
            let ready = http
                .get(format!("http://127.0.0.1:{port}/-/ready"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return (process, port);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        logs.push_str(&format!(
            "--- {} on port {port} ---\n{}\n",
            process.name,
            process.log()
        ));
    }
    panic!("{name} did not become ready:\n{logs}");
}

/// A local Alertmanager webhook receiver that hands every payload (with its
/// arrival time) to the test.
pub struct WebhookSink {
    pub url: String,
    pub payloads: mpsc::UnboundedReceiver<(Instant, Value)>,
    /// `Authorization` headers seen, in arrival order.
    pub authorization: Arc<Mutex<Vec<Option<String>>>>,
    server: tokio::task::JoinHandle<()>,
}

impl WebhookSink {
    pub async fn start() -> WebhookSink {
        use axum::extract::State;
        use axum::http::HeaderMap;

        type Shared = (
            mpsc::UnboundedSender<(Instant, Value)>,
            Arc<Mutex<Vec<Option<String>>>>,
        );
        let (tx, rx) = mpsc::unbounded_channel();
        let auth = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new()
            .route(
                "/webhook",
                axum::routing::post(
                    |State((tx, auth)): State<Shared>,
                     headers: HeaderMap,
                     axum::Json(body): axum::Json<Value>| async move {
                        let header = headers
                            .get("authorization")
                            .and_then(|h| h.to_str().ok())
                            .map(String::from);
                        auth.lock().unwrap().push(header);
                        let _ = tx.send((Instant::now(), body));
                        "ok"
                    },
                ),
            )
            .with_state((tx, auth.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/webhook", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        WebhookSink {
            url,
            payloads: rx,
            authorization: auth,
            server,
        }
    }

    /// The next payload in which `alertname` is firing, within `timeout`.
    pub async fn wait_for_firing(
        &mut self,
        alertname: &str,
        timeout: Duration,
    ) -> (Instant, Value) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.payloads.recv()).await {
                Ok(Some((at, payload))) => {
                    let firing = payload["alerts"].as_array().is_some_and(|a| {
                        a.iter().any(|x| {
                            x["labels"]["alertname"] == alertname && x["status"] == "firing"
                        })
                    });
                    if firing {
                        return (at, payload);
                    }
                }
                Ok(None) => panic!("webhook receiver stopped"),
                Err(_) => panic!("no webhook with {alertname} firing within {timeout:?}"),
            }
        }
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The shop world (`examples/worlds/shop.yaml`) in an in-process sandbox,
/// already running (pods ready).
pub async fn shop_sandbox() -> gameday::sandbox::SandboxHandle {
    use gameday::sandbox::world::World;
    use gameday::sandbox::{Sandbox, SandboxOptions};
    Sandbox::start(SandboxOptions {
        objects: World::shop().unwrap().to_objects(),
        ..SandboxOptions::default()
    })
    .await
    .unwrap()
}

/// A shop sandbox, plus Prometheus scraping its `/metrics` and Alertmanager
/// posting to `webhook` (if any); returns once `up == 1`.
pub async fn sandbox_stack(webhook: Option<&str>) -> (gameday::sandbox::SandboxHandle, Stack) {
    let sandbox = shop_sandbox().await;
    let mut opts = StackOptions::sandbox(&sandbox);
    if let Some(url) = webhook {
        opts = opts.webhook(url);
    }
    let stack = Stack::start(opts).await;
    (sandbox, stack)
}

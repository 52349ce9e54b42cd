//! Real Prometheus and Alertmanager for `gameday demo`, on loopback: free
//! ports, a temporary directory, the example alert rules, 1 s scrape and
//! evaluation, and Alertmanager delivering to the run's responder API. Both
//! processes are killed by PID when the `Stack` is dropped, so the demo never
//! leaves them behind.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{name} did not become ready within {secs}s; its log:\n{log}")]
    NotReady {
        name: &'static str,
        secs: u64,
        log: String,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> StackError {
    let what = what.into();
    move |source| StackError::Io { what, source }
}

/// `name` on PATH, if there.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A child process killed by PID on drop.
pub struct Process {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Process {
    fn spawn(
        name: &'static str,
        bin: &Path,
        args: &[String],
        dir: &Path,
    ) -> Result<Process, StackError> {
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).map_err(io(format!("creating {}", log.display())))?;
        let err = out.try_clone().map_err(io("duplicating a log handle"))?;
        let child = Command::new(bin)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(io(format!("starting {}", bin.display())))?;
        Ok(Process { name, child, log })
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Stack {
    pub prometheus_url: String,
    pub alertmanager_url: String,
    // Dropped before the directory they write into.
    _prometheus: Process,
    _alertmanager: Process,
    _dir: tempfile::TempDir,
}

fn free_port() -> Result<u16, StackError> {
    super::port::free_loopback_port().map_err(io("finding a free port"))
}

const READY_TIMEOUT: Duration = Duration::from_secs(30);

async fn wait_until<F, Fut>(p: &mut Process, mut ready: F) -> Result<(), StackError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + READY_TIMEOUT;
    while Instant::now() < deadline {
        if ready().await {
            return Ok(());
        }
        if matches!(p.child.try_wait(), Ok(Some(_))) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(StackError::NotReady {
        name: p.name,
        secs: READY_TIMEOUT.as_secs(),
        log: p.log(),
    })
}

impl Stack {
    /// Starts both, scraping `metrics_url`, with alerts delivered to
    /// `webhook` (bearer token read from `token_file`); returns once
    /// Prometheus reports the target `up == 1`.
    pub async fn start(
        prometheus: &Path,
        alertmanager: &Path,
        rules_dir: &Path,
        metrics_url: &str,
        scrape_auth: &crate::sandbox::scrape::ScrapeAuth,
        webhook: &str,
        token_file: &Path,
    ) -> Result<Stack, StackError> {
        let dir = tempfile::tempdir().map_err(io("creating a temporary directory"))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| io("building an HTTP client")(std::io::Error::other(e)))?;
        let am_config = format!(
            "route:\n  receiver: responder\n  group_by: ['alertname', 'namespace', 'service']\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\n\
             receivers:\n  - name: responder\n    webhook_configs:\n      - url: {webhook:?}\n        send_resolved: true\n        http_config:\n          authorization:\n            type: Bearer\n            credentials_file: {:?}\n",
            token_file.display().to_string()
        );
        let am_path = dir.path().join("alertmanager.yml");
        std::fs::write(&am_path, am_config).map_err(io("writing alertmanager.yml"))?;
        let am_port = free_port()?;
        let mut am = Process::spawn(
            "alertmanager",
            alertmanager,
            &[
                format!("--config.file={}", am_path.display()),
                format!("--storage.path={}", dir.path().join("am-data").display()),
                format!("--web.listen-address=127.0.0.1:{am_port}"),
                "--cluster.listen-address=".into(),
            ],
            dir.path(),
        )?;
        let alertmanager_url = format!("http://127.0.0.1:{am_port}");
        let ready = format!("{alertmanager_url}/-/ready");
        wait_until(&mut am, || {
            let (h, u) = (http.clone(), ready.clone());
            async move {
                h.get(&u)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        })
        .await?;

        let target = reqwest::Url::parse(metrics_url)
            .map_err(|e| io("parsing the sandbox metrics URL")(std::io::Error::other(e)))?;
        let host = target.host_str().unwrap_or("127.0.0.1").to_string();
        let port = target.port_or_known_default().unwrap_or(80);
        let auth_lines = scrape_auth
            .prometheus_job_lines(dir.path())
            .map_err(io("writing the sandbox CA"))?;
        let prom_config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files: [{:?}]\n\
             alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{am_port}']\n\
             scrape_configs:\n  - job_name: sandbox\n    scheme: {}\n    metrics_path: {:?}\n{auth_lines}    static_configs:\n      - targets: ['{host}:{port}']\n",
            format!("{}/*.yml", rules_dir.display()),
            target.scheme(),
            target.path(),
        );
        let prom_path = dir.path().join("prometheus.yml");
        std::fs::write(&prom_path, prom_config).map_err(io("writing prometheus.yml"))?;
        let prom_port = free_port()?;
        let mut prom = Process::spawn(
            "prometheus",
            prometheus,
            &[
                format!("--config.file={}", prom_path.display()),
                format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("prom-data").display()
                ),
                format!("--web.listen-address=127.0.0.1:{prom_port}"),
            ],
            dir.path(),
        )?;
        let prometheus_url = format!("http://127.0.0.1:{prom_port}");
        // Targets are discovered a few seconds after start: wait for up == 1,
        // then for a rate over the scraped requests (two samples), which is
        // what the demo's SLO query needs to return a series at all.
        let query = format!("{prometheus_url}/api/v1/query");
        for q in [
            "up{job=\"sandbox\"} == 1",
            "sum(rate(http_requests_total{job=\"sandbox\"}[30s])) > 0",
        ] {
            wait_until(&mut prom, || {
                let (h, u) = (http.clone(), query.clone());
                async move {
                    let Ok(r) = h.get(&u).query(&[("query", q)]).send().await else {
                        return false;
                    };
                    let Ok(v) = r.json::<serde_json::Value>().await else {
                        return false;
                    };
                    v["data"]["result"]
                        .as_array()
                        .is_some_and(|a| !a.is_empty())
                }
            })
            .await?;
        }
        Ok(Stack {
            prometheus_url,
            alertmanager_url,
            _prometheus: prom,
            _alertmanager: am,
            _dir: dir,
        })
    }
}

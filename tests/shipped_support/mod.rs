//! One scenario run on a stack of its own, for `shipped_scenarios.rs`: the
//! shop sandbox in-process, the demo's Prometheus and Alertmanager
//! (`gameday::demo::stack::Stack`) paging the run's responder API, the
//! `gameday run` binary, and a responder that uses `gameday respond` when
//! the scenario has no autopilot.
//!
//! A case never panics: whatever goes wrong becomes its `Outcome`, so one
//! broken scenario does not hide the results of the others.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use gameday::config::Config;
use gameday::demo::stack::Stack;
use gameday::sandbox::world::World;
use gameday::sandbox::{Sandbox, SandboxHandle, SandboxOptions};
use gameday::scenario::Scenario;
use serde_json::Value;

use crate::common::harness::{free_port, require_binary, rules_dir};

pub const CONTEXT: &str = "gameday-sandbox";
/// Longest any one run may take (stack start, run, recovery, reports).
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

pub struct Case {
    pub name: String,
    pub file: PathBuf,
}

pub struct Outcome {
    pub name: String,
    /// The run's exit code; -1 when it did not run or did not end.
    pub code: i32,
    pub elapsed: Duration,
    /// What to show when the run did not exit 0.
    pub details: String,
}

/// Everything one run needs; dropped (processes killed by PID) at the end.
struct Env {
    dir: PathBuf,
    sandbox: SandboxHandle,
    stack: Stack,
    kubeconfig: PathBuf,
    token_file: PathBuf,
    api_port: u16,
}

async fn start_env(dir: &Path) -> Result<Env, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let sandbox = Sandbox::start(SandboxOptions {
        objects: World::shop().map_err(|e| e.to_string())?.to_objects(),
        ..SandboxOptions::default()
    })
    .await
    .map_err(|e| format!("starting the sandbox: {e}"))?;
    let kubeconfig = dir.join("kubeconfig");
    sandbox
        .write_kubeconfig(&kubeconfig, CONTEXT)
        .map_err(|e| format!("writing the kubeconfig: {e}"))?;
    // Alertmanager reads the bearer token at each notification; the run
    // overwrites this placeholder with its own token when it starts.
    let token_file = dir.join("api-token");
    std::fs::write(&token_file, "not-yet").map_err(|e| e.to_string())?;
    let api_port = free_port();
    let webhook = format!(
        "http://127.0.0.1:{api_port}{}",
        gameday::respond::server::WEBHOOK_PATH
    );
    let stack = Stack::start(
        &require_binary("prometheus"),
        &require_binary("prometheus-alertmanager"),
        &rules_dir(),
        &sandbox.metrics_url(),
        &sandbox.scrape_auth(),
        &webhook,
        &token_file,
    )
    .await
    .map_err(|e| format!("starting Prometheus and Alertmanager: {e}"))?;
    Ok(Env {
        dir: dir.to_path_buf(),
        sandbox,
        stack,
        kubeconfig,
        token_file,
        api_port,
    })
}

impl Env {
    /// `gameday` with this stack's kubeconfig, context and endpoints, run
    /// from the case directory (run directories go to its `gameday-runs/`)
    /// with a history database of its own.
    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_gameday"));
        c.args(args)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--context")
            .arg(CONTEXT)
            .env_remove("CI")
            .env_remove("GAMEDAY_CONFIG")
            .env_remove("GAMEDAY_RUN_URL")
            .env_remove("GAMEDAY_TOKEN")
            .env("NO_COLOR", "1")
            .env("GAMEDAY_HISTORY_DB", self.dir.join("history.db"))
            .env("GAMEDAY_PROMETHEUS_URL", &self.stack.prometheus_url)
            .env("GAMEDAY_ALERTMANAGER_URL", &self.stack.alertmanager_url)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        c
    }

    fn spawn_run(&self, scenario: &Path) -> Result<tokio::process::Child, String> {
        let file = scenario.display().to_string();
        let listen = format!("127.0.0.1:{}", self.api_port);
        let token = self.token_file.display().to_string();
        let log = |name: &str| {
            std::fs::File::create(self.dir.join(name))
                .map(Stdio::from)
                .map_err(|e| e.to_string())
        };
        self.command(&[
            "run",
            &file,
            "--ci",
            "--api-listen",
            &listen,
            "--api-token-file",
            &token,
        ])
        .stdout(log("run.stdout")?)
        .stderr(log("run.stderr")?)
        .spawn()
        .map_err(|e| format!("starting gameday run: {e}"))
    }

    /// The run directory, once the run has written its API files.
    fn run_dir(&self) -> Option<PathBuf> {
        std::fs::read_dir(self.dir.join("gameday-runs"))
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.join("api-token").is_file() && p.join("api-url").is_file())
    }
}

/// Runs one case start to end; never panics.
pub async fn run_case(case: Case, dir: PathBuf) -> Outcome {
    let started = Instant::now();
    let (code, details) = match run_case_inner(&case, &dir).await {
        Ok(0) => (0, String::new()),
        Ok(code) => (code, describe_failure(&case, &dir, code)),
        Err(e) => (-1, format!("--- {} ---\n{e}", case.name)),
    };
    Outcome {
        name: case.name,
        code,
        elapsed: started.elapsed(),
        details,
    }
}

async fn run_case_inner(case: &Case, dir: &Path) -> Result<i32, String> {
    let scenario = load(&case.file)?;
    let env = start_env(dir).await?;
    let mut child = env.spawn_run(&case.file)?;
    let needs_person = scenario
        .spec
        .response
        .as_ref()
        .is_some_and(|r| r.autopilot.is_empty());
    let (responded, code) = {
        let person = async {
            if needs_person {
                respond_as_a_person(&env, &scenario).await
            } else {
                Ok(())
            }
        };
        let run = async { exit_code(tokio::time::timeout(RUN_TIMEOUT, child.wait()).await) };
        tokio::pin!(person, run);
        // When the run ends first there is nobody left to answer: the person
        // stops too.
        tokio::select! {
            code = &mut run => (Ok(()), code),
            responded = &mut person => (responded, run.await),
        }
    };
    let Env { sandbox, stack, .. } = env;
    drop(stack);
    sandbox.shutdown().await;
    // A run that failed says why itself; a responder error matters only
    // when the run would otherwise have passed.
    match (code?, responded) {
        (0, Err(e)) => Err(format!("responding: {e}")),
        (code, _) => Ok(code),
    }
}

fn exit_code(
    status: Result<std::io::Result<std::process::ExitStatus>, tokio::time::error::Elapsed>,
) -> Result<i32, String> {
    match status {
        Ok(Ok(s)) => Ok(s.code().unwrap_or(-1)),
        Ok(Err(e)) => Err(format!("waiting for gameday run: {e}")),
        Err(_) => Err(format!("gameday run did not end within {RUN_TIMEOUT:?}")),
    }
}

fn load(file: &Path) -> Result<Scenario, String> {
    let mut v = gameday::scenario::load_file(file, &Config::default(), &gameday::faults::Registry)
        .map_err(|d| {
            format!(
                "{} does not validate:\n{}",
                file.display(),
                gameday::diag::render_all(&d, false)
            )
        })?;
    Ok(v.remove(0))
}

/// What a person on call does with the page: wait until the fault is in
/// and the expected alert fired (or its time ran out), then acknowledge, do
/// every runbook step that is not itself a responder action, and resolve.
async fn respond_as_a_person(env: &Env, scenario: &Scenario) -> Result<(), String> {
    let run_dir = poll(Duration::from_secs(60), || async { env.run_dir() })
        .await
        .ok_or("the run never wrote api-url and api-token")?;
    let rd = &run_dir;
    poll(Duration::from_secs(120), || async move {
        state(rd).await.filter(|s| !s["tInject"].is_null())
    })
    .await
    .ok_or("the run never injected its fault")?;
    let detect = scenario
        .spec
        .detection
        .as_ref()
        .and_then(|d| d.alerts.iter().map(|a| a.within.as_std()).max());
    if let Some(within) = detect {
        // The page: go on without it when it never comes (the run's own
        // score then says so).
        poll(within, || async move {
            state(rd).await.filter(|s| {
                s["alerts"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|a| !a["tFire"].is_null()))
            })
        })
        .await;
    }
    let response = scenario.spec.response.as_ref();
    let person = response
        .and_then(|r| r.roles.as_ref())
        .and_then(|r| r.operations.clone())
        .unwrap_or_else(|| "oncall".to_string());
    let mut actions: Vec<Vec<String>> = vec![vec!["ack".into()]];
    for step in response
        .and_then(|r| r.runbook.as_ref())
        .map(|r| r.steps.as_slice())
        .unwrap_or_default()
    {
        if !["ack", "declare", "assign", "update", "resolve"].contains(&step.id.as_str()) {
            actions.push(vec!["step".into(), step.id.clone()]);
        }
    }
    actions.push(vec!["resolve".into()]);
    for words in actions {
        let mut args: Vec<&str> = vec!["respond"];
        args.extend(words.iter().map(String::as_str));
        args.extend(["--as", person.as_str()]);
        let out = env
            .command(&args)
            .output()
            .await
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "gameday {}: exit {:?}: {}",
                args.join(" "),
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    Ok(())
}

/// `GET /v1/state` of the run in `run_dir`, or None when it does not answer.
async fn state(run_dir: &Path) -> Option<Value> {
    let url = std::fs::read_to_string(run_dir.join("api-url")).ok()?;
    let token = std::fs::read_to_string(run_dir.join("api-token")).ok()?;
    reqwest::Client::new()
        .get(format!("{}/v1/state", url.trim().trim_end_matches('/')))
        .bearer_auth(token.trim())
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()
}

/// Polls `f` every 250 ms until it gives a value or `within` passes.
async fn poll<T, F, Fut>(within: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The run's status line, its reason and the tail of its stderr.
fn describe_failure(case: &Case, dir: &Path, code: i32) -> String {
    let stderr = std::fs::read_to_string(dir.join("run.stderr")).unwrap_or_default();
    let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
    let result = std::fs::read_dir(dir.join("gameday-runs"))
        .ok()
        .and_then(|mut d| d.next())
        .and_then(|e| e.ok())
        .and_then(|e| std::fs::read_to_string(e.path().join("result.json")).ok())
        .and_then(|t| serde_json::from_str::<Value>(&t).ok());
    let (status, reason) = result
        .map(|r| (r["status"].to_string(), r["statusReason"].to_string()))
        .unwrap_or_default();
    format!(
        "--- {} (exit {code}, status {status}: {reason}) ---\n{}",
        case.name,
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    )
}

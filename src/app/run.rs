//! One game day, from a loaded scenario to its outcome. Every exit path
//! reverts (S2): the engine's own revert tail for normal ends, guardrails,
//! errors, SIGINT and SIGTERM; a drop guard plus a panic hook for panics; and
//! `gameday recover` by label for SIGKILL.

use std::fmt::Display;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::start;
use crate::config::Config;
use crate::engine::plan::FaultPlan;
use crate::engine::{Outcome, rundir};
use crate::exit;
use crate::k8s::marks::RunId;
use crate::k8s::{Kube, KubeTarget};
use crate::observe::Endpoints;
use crate::observe::preflight::Preflight;
use crate::scenario::Scenario;

/// Everything one run needs, decided by the caller (flags, the demo, a drill).
pub struct RunRequest {
    pub scenario: Scenario,
    pub config: Config,
    /// Already through the context guard (S5): a refused context never gets here.
    pub target: KubeTarget,
    pub endpoints: Endpoints,
    pub placement: rundir::Placement,
    pub settings: RunSettings,
}

/// How the run behaves, as opposed to what it runs.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Most API calls in flight at once.
    pub concurrency: usize,
    /// Whether a non-sandbox context may be used without asking (`--yes`, CI).
    pub confirmed: bool,
    /// Whether progress is drawn in place (a terminal) or as log lines.
    pub live_view: bool,
    /// Where the responder API (and the Alertmanager webhook) listens.
    pub api_listen: SocketAddr,
    /// Also write the API token here (0600).
    pub api_token_file: Option<PathBuf>,
}

/// The answer to "inject faults into this context?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    Yes,
    No,
    /// Nobody can answer (stdin is not a terminal).
    CannotAsk,
}

/// What a run shows while it goes. The app decides what happened; the view
/// (the CLI's stderr, a test's recorder, a web console) decides how it looks.
pub trait RunView: Sync {
    /// An error that stops the run before anything was changed.
    fn error(&self, message: &dyn Display);
    /// A plain line for people.
    fn say(&self, line: &dyn Display);
    fn halted(&self, namespace: &str);
    fn preflight_failed(&self, pre: &Preflight);
    fn plan(&self, scenario: &Scenario, context: &str, plans: &[FaultPlan]);
    fn confirm(&self, context: &str) -> Confirmation;
    fn started(&self, run_id: &RunId, run_dir: &Path);
    fn responder_api(&self, url: &str, token_file: &Path);
    fn ended(&self, outcome: &Outcome, journal: &Path, crashed: bool);
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEnd {
    /// Refused before anything was changed; the exit code says why (2 or 4,
    /// 3 for a halted cluster).
    Refused(i32),
    /// The engine ran. The exit code is the engine's, or the scorecard's
    /// verdict for a scored run that the engine passed.
    Ran { outcome: Outcome, exit_code: i32 },
}

impl RunEnd {
    pub fn exit_code(&self) -> i32 {
        match self {
            RunEnd::Refused(code) => *code,
            RunEnd::Ran { exit_code, .. } => *exit_code,
        }
    }
}

/// What can go wrong that is not a refusal: the local files and signals a
/// run cannot do without. The messages are the underlying errors' own.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Probe(#[from] crate::observe::ProbeError),
    #[error(transparent)]
    RunDir(#[from] rundir::RunDirError),
    #[error(transparent)]
    Journal(#[from] crate::engine::journal::JournalError),
    #[error("listening for signals: {0}")]
    Signals(#[source] std::io::Error),
}

/// Runs the game day of `req`: connect, refuse on the kill switch, preflight,
/// plan, confirm, then the engine with every safety net armed.
pub async fn execute(req: RunRequest, view: &dyn RunView) -> Result<RunEnd, AppError> {
    let Prepared { kube, plans } = match prepare(&req, view).await {
        Ok(p) => p,
        Err(code) => return Ok(RunEnd::Refused(code)),
    };
    let reader = start::steady_reader(&kube, &req)?;
    let opened = match start::open(&req, &plans, view)? {
        Ok(o) => o,
        Err(code) => return Ok(RunEnd::Refused(code)),
    };
    start::drive(kube, reader, req, plans, opened, view).await
}

/// A cluster that passed every check before the first write, and the plan
/// for it.
pub struct Prepared {
    pub kube: Kube,
    pub plans: Vec<FaultPlan>,
}

/// Everything before the first write, as `gameday run` does it: connect,
/// the kill switch, preflight, permissions, plan, the server's dry run, and
/// the confirmation of a non-sandbox context. A hybrid drill calls this for
/// its fault injects before its clock starts. The error is the exit code of
/// the refusal (2 or 4, 3 for a halted cluster), already shown on `view`.
pub async fn prepare(req: &RunRequest, view: &dyn RunView) -> Result<Prepared, i32> {
    let kube = connect(&req.target, view).await?;
    let plans = start::prepare(&kube, req, view).await?;
    if let Some(code) = confirm(req, view) {
        return Err(code);
    }
    Ok(Prepared { kube, plans })
}

async fn connect(target: &KubeTarget, view: &dyn RunView) -> Result<Kube, i32> {
    target
        .connect(crate::k8s::retry::RetryPolicy::default())
        .await
        .map_err(|e| {
            view.say(&format_args!(
                "error: cannot reach the cluster of context `{}`: {e}",
                target.context
            ));
            exit::UNREACHABLE
        })
}

/// A non-sandbox context needs a yes: from the settings or from a person.
fn confirm(req: &RunRequest, view: &dyn RunView) -> Option<i32> {
    if req.target.is_sandbox() || req.settings.confirmed {
        return None;
    }
    match view.confirm(&req.target.context) {
        Confirmation::Yes => None,
        Confirmation::CannotAsk => {
            view.error(&format_args!(
                "context `{}` is not the sandbox; pass --yes to run without a prompt",
                req.target.context
            ));
            Some(exit::USAGE)
        }
        Confirmation::No => {
            view.say(&"not confirmed; nothing was changed");
            Some(exit::USAGE)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::demo;
    use crate::observe::EndpointArgs;
    use crate::sandbox::world::World;
    use crate::sandbox::{Sandbox, SandboxHandle, SandboxOptions};

    /// Records which view calls the app made, in order, and answers the
    /// confirmation as told.
    struct Recorder {
        seen: Mutex<Vec<&'static str>>,
        answer: Confirmation,
    }

    impl Recorder {
        fn new(answer: Confirmation) -> Self {
            Recorder {
                seen: Mutex::new(Vec::new()),
                answer,
            }
        }
        fn note(&self, what: &'static str) {
            self.seen.lock().expect("recorder lock").push(what);
        }
        fn seen(&self) -> Vec<&'static str> {
            self.seen.lock().expect("recorder lock").clone()
        }
    }

    impl RunView for Recorder {
        fn error(&self, _: &dyn Display) {
            self.note("error");
        }
        fn say(&self, _: &dyn Display) {
            self.note("say");
        }
        fn halted(&self, _: &str) {
            self.note("halted");
        }
        fn preflight_failed(&self, _: &Preflight) {
            self.note("preflight_failed");
        }
        fn plan(&self, _: &Scenario, _: &str, _: &[FaultPlan]) {
            self.note("plan");
        }
        fn confirm(&self, _: &str) -> Confirmation {
            self.note("confirm");
            self.answer
        }
        fn started(&self, _: &RunId, _: &Path) {
            self.note("started");
        }
        fn responder_api(&self, _: &str, _: &Path) {
            self.note("responder_api");
        }
        fn ended(&self, _: &Outcome, _: &Path, _: bool) {
            self.note("ended");
        }
    }

    /// The shop world in a sandbox, and a request for the demo's game day on
    /// it under `context`, writing to `dir/run`.
    async fn shop(
        dir: &Path,
        context: &str,
        prometheus: Option<String>,
    ) -> (SandboxHandle, RunRequest) {
        let world = World::shop().expect("the shop world");
        let sandbox = Sandbox::start(SandboxOptions {
            objects: world.to_objects(),
            ..SandboxOptions::default()
        })
        .await
        .expect("sandbox starts");
        let kubeconfig = dir.join("kubeconfig");
        sandbox
            .write_kubeconfig(&kubeconfig, context)
            .expect("kubeconfig written");
        let config = Config::default();
        let text = match &prometheus {
            Some(_) => demo::SCENARIO_PROMETHEUS.to_string(),
            None => demo::SCENARIO_KUBERNETES
                .replace("@SANDBOX_HEALTHZ@", &sandbox.kubelet_healthz_url()),
        };
        let mut scenarios =
            crate::scenario::load_str("demo.yaml", &text, &config, &crate::faults::Registry)
                .expect("the demo scenario loads");
        let endpoints = Endpoints::resolve(
            &EndpointArgs {
                prometheus_url: prometheus.clone(),
                alertmanager_url: prometheus,
            },
            &config,
        )
        .expect("endpoints");
        let req = RunRequest {
            scenario: scenarios.remove(0),
            config,
            target: KubeTarget::resolve(Some(&kubeconfig), Some(context)).expect("target"),
            endpoints,
            placement: rundir::Placement::Exact(dir.join("run")),
            settings: RunSettings {
                concurrency: 4,
                confirmed: false,
                live_view: false,
                api_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                api_token_file: None,
            },
        };
        (sandbox, req)
    }

    /// A loopback port with nothing listening on it.
    fn closed_port() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("local addr").port()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unreachable_prometheus_refuses_before_anything_is_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("http://127.0.0.1:{}", closed_port());
        let (sandbox, req) = shop(dir.path(), demo::CONTEXT, Some(url)).await;
        let view = Recorder::new(Confirmation::Yes);
        let end = execute(req, &view).await.expect("no local error");
        sandbox.shutdown().await;
        assert_eq!(end, RunEnd::Refused(exit::UNREACHABLE));
        assert_eq!(view.seen(), ["preflight_failed"]);
        assert!(
            !dir.path().join("run").exists(),
            "no run directory before preflight passes"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn another_context_without_a_yes_is_planned_then_refused_unwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (sandbox, req) = shop(dir.path(), "staging", None).await;
        let view = Recorder::new(Confirmation::CannotAsk);
        let end = execute(req, &view).await.expect("no local error");
        sandbox.shutdown().await;
        assert_eq!(end, RunEnd::Refused(exit::USAGE));
        assert_eq!(view.seen(), ["plan", "confirm", "error"]);
        assert!(
            !dir.path().join("run").exists(),
            "no run directory without a yes"
        );
    }
}

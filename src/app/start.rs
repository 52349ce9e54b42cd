//! The phases of [`super::execute`], each a step a person could name:
//! prepare (kill switch, preflight, plan), open (run id, directory, journal),
//! drive (arm the safety nets, run the engine, end). Split so that each
//! refusal is visibly before the first write, and the first write before
//! the first fault.

use std::path::PathBuf;
use std::sync::Arc;

use rand::RngExt;
use serde_json::json;

use super::run::{AppError, RunEnd, RunRequest, RunView};
use crate::engine::gates::{ProbeDisplay, SteadyGates};
use crate::engine::guard::{RevertGuard, install_panic_hook};
use crate::engine::halt;
use crate::engine::plan::{FaultPlan, dry_run_all, plan_all};
use crate::engine::progress::Progress;
use crate::engine::recover::Filter;
use crate::engine::{Journal, Observer, Outcome, RunOptions, Runner, Status, StopHandle, rundir};
use crate::exit;
use crate::faults::FaultError;
use crate::k8s::Kube;
use crate::k8s::marks::RunId;
use crate::observe::preflight::{self, Needs, Services};
use crate::respond::{ResponseOptions, ResponseSession};

/// How long each preflight reachability check may take.
const PREFLIGHT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Exit code for a planning error: limits and input → 2, the API → 4.
pub fn plan_error_code(e: &FaultError) -> i32 {
    match e {
        FaultError::K8s(_) => exit::UNREACHABLE,
        _ => exit::USAGE,
    }
}

/// Refusals that need the cluster, before anything is written: the kill
/// switch, the preflight reachability checks (exit 4), then the plan.
pub(super) async fn prepare(
    kube: &Kube,
    req: &RunRequest,
    view: &dyn RunView,
) -> Result<Vec<FaultPlan>, i32> {
    // A halted cluster refuses before anything else is said or written:
    // no plan, no responder API, no run directory, no history row.
    match halt::is_halted(kube, &req.config.halt_namespace).await {
        Ok(false) => {}
        Ok(true) => {
            view.halted(&req.config.halt_namespace);
            return Err(exit::ABORTED);
        }
        Err(e) => {
            view.error(&format_args!(
                "cannot read the kill switch: {e}; nothing was changed"
            ));
            return Err(exit::UNREACHABLE);
        }
    }
    // Everything the run reads must answer before anything is changed (exit 4).
    let pre = preflight::run(
        Needs::of(&req.scenario),
        Services {
            prometheus: req.endpoints.prometheus.as_ref(),
            alertmanager: req.endpoints.alertmanager.as_ref(),
            kube: Some(&kube.client),
        },
        PREFLIGHT_TIMEOUT,
    )
    .await;
    if !pre.ok() {
        view.preflight_failed(&pre);
        return Err(exit::UNREACHABLE);
    }
    // Every permission the run needs, asked before any change (exit 4): a
    // namespaced identity finds out here, not mid-run with a fault in place.
    let needs = crate::faults::rbac::rules_for_run(&req.scenario, &req.config);
    match crate::engine::access::missing(kube, &needs, req.settings.concurrency).await {
        Ok(m) if m.is_empty() => {}
        Ok(m) => {
            let list: Vec<String> = m.iter().map(|p| p.to_string()).collect();
            view.error(&format_args!(
                "this identity lacks {} permission(s) the run needs: {}; nothing was changed \
                 (`gameday rbac` prints the Roles to bind)",
                m.len(),
                list.join(", ")
            ));
            return Err(exit::UNREACHABLE);
        }
        Err(e) => {
            view.error(&format_args!(
                "cannot check permissions: {e}; nothing was changed"
            ));
            return Err(exit::UNREACHABLE);
        }
    }
    let concurrency = req.settings.concurrency;
    let plans = match plan_all(kube, &req.scenario, &req.config, concurrency).await {
        Ok(p) => p,
        Err(e) => {
            view.error(&format_args!("{e}; nothing was changed"));
            return Err(plan_error_code(&e));
        }
    };
    view.plan(&req.scenario, &req.target.context, &plans);
    // The server's own admission (Pod Security, webhooks) on every inject
    // write, as a dry run: a refusal here changes nothing (exit 4).
    if let Err(e) = dry_run_all(kube, &req.scenario, &req.config, &plans, concurrency).await {
        view.error(&format_args!("{e}; nothing was changed"));
        return Err(exit::UNREACHABLE);
    }
    Ok(plans)
}

/// A run that has its id, its directory and a journal that says it started.
pub(super) struct Opened {
    run_id: RunId,
    run_dir: PathBuf,
    journal_path: PathBuf,
    journal: Arc<Journal>,
}

/// Claims the run directory and writes `run.start` (S1: intent first). A
/// directory that already holds a run is a refusal; other I/O is an error.
pub(super) fn open(
    req: &RunRequest,
    plans: &[FaultPlan],
    view: &dyn RunView,
) -> Result<Result<Opened, i32>, AppError> {
    let now = jiff::Timestamp::now();
    let run_id = RunId::generate(now, rand::rng().random());
    let run_dir = match rundir::create(&req.placement, now, &req.scenario.metadata.name, &run_id) {
        Ok(d) => d,
        Err(e @ rundir::RunDirError::HoldsRun(_)) => {
            view.say(&format_args!("error: {e}; nothing was changed"));
            return Ok(Err(exit::USAGE));
        }
        Err(e) => return Err(e.into()),
    };
    let journal_path = run_dir.join("journal.jsonl");
    let journal = Arc::new(Journal::open(&journal_path)?);
    journal.append(
        "engine",
        "run.start",
        json!({
            "runId": run_id.0,
            "scenario": req.scenario.metadata.name,
            "context": req.target.context,
            "runDir": run_dir.display().to_string(),
            "faults": plans,
            // So `gameday report` can rebuild every output from the journal alone.
            "scenarioSpec": req.scenario,
            "config": req.config,
        }),
    )?;
    view.started(&run_id, &run_dir);
    Ok(Ok(Opened {
        run_id,
        run_dir,
        journal_path,
        journal,
    }))
}

/// The revert-by-label net for this run's objects (panics, a crashed engine).
fn arm_guard(req: &RunRequest, opened: &Opened) -> RevertGuard {
    install_panic_hook(opened.journal_path.clone());
    RevertGuard::arm(
        req.target.clone(),
        Filter::of_run(&opened.run_id.0, &req.scenario),
        opened.journal_path.clone(),
    )
}

/// From here on something may be injected: arm every safety net, start the
/// responder side, run the engine, and end the run whatever happens to it.
pub(super) async fn drive(
    kube: Kube,
    reader: crate::observe::ProbeReader,
    req: RunRequest,
    plans: Vec<FaultPlan>,
    opened: Opened,
    view: &dyn RunView,
) -> Result<RunEnd, AppError> {
    let guard = arm_guard(&req, &opened);
    let stop = StopHandle::new();
    stop.listen_for_signals().map_err(AppError::Signals)?;

    let progress = Progress::new(req.settings.live_view);
    let feed = progress.feed();
    opened.journal.set_tap(Box::new(move |e| feed.show(e)));
    let steady = SteadyGates::from_spec(
        reader,
        &req.scenario.spec.steady_state,
        ProbeDisplay::new(progress.multi()),
    );
    let RunRequest {
        scenario,
        config,
        endpoints,
        settings,
        ..
    } = req;
    let scenario = Arc::new(scenario);
    let config = Arc::new(config);
    let opts = ResponseOptions {
        listen: settings.api_listen,
        token_file: settings.api_token_file.clone(),
        endpoints,
        ..ResponseOptions::default()
    };
    let started = ResponseSession::start(
        &kube,
        scenario.clone(),
        config.clone(),
        &opened.run_id.0,
        &opened.run_dir,
        opened.journal.clone(),
        opts,
    )
    .await;
    let response = match started {
        Ok(r) => {
            let token = opened.run_dir.join(crate::respond::files::TOKEN_FILE);
            view.responder_api(&r.url, &token);
            r
        }
        Err(e) => {
            view.error(&format_args!("{e}; nothing was changed"));
            let _ = opened.journal.append(
                "engine",
                "run.end",
                json!({"status": "not-run", "reason": e.to_string()}),
            );
            guard.disarm();
            return Ok(RunEnd::Refused(exit::UNREACHABLE));
        }
    };
    let report_slot = response.report_slot();
    let mut observers: Vec<Box<dyn Observer>> = vec![Box::new(progress), Box::new(steady)];
    // Before the responder session: its `finish` builds the report, which
    // must see the pages resolved.
    let paging = super::paging::start(
        &config,
        response.shared(),
        opened.journal.clone(),
        &opened.run_id.0,
    )
    .await;
    if let Some(p) = paging {
        observers.push(Box::new(p));
    }
    observers.push(Box::new(response));
    let runner = Runner {
        kube,
        scenario: scenario.clone(),
        config,
        run_id: opened.run_id.clone(),
        run_dir: opened.run_dir.clone(),
        journal: opened.journal.clone(),
        observers,
        options: RunOptions {
            concurrency: settings.concurrency,
            ..RunOptions::default()
        },
        stop,
    };
    let (outcome, crashed) = match tokio::spawn(runner.run(plans)).await {
        Ok(o) => (o, false),
        Err(e) => (crashed(&e, &guard, &opened), true),
    };
    guard.disarm();
    view.ended(&outcome, &opened.journal_path, crashed);
    let exit_code = crate::respond::exit_code(&report_slot, &scenario, &outcome);
    Ok(RunEnd::Ran { outcome, exit_code })
}

/// The probe reader of the steady state: the cluster, and Prometheus if set.
pub(super) fn steady_reader(
    kube: &Kube,
    req: &RunRequest,
) -> Result<crate::observe::ProbeReader, AppError> {
    let mut reader = crate::observe::ProbeReader::new()?.with_kube(kube.client.clone());
    if let Some(p) = req.endpoints.prometheus.clone() {
        reader = reader.with_prometheus(p);
    }
    Ok(reader)
}

/// The engine panicked: revert by label now, off the runtime, and end the
/// journal if the engine could not.
fn crashed(e: &tokio::task::JoinError, guard: &RevertGuard, opened: &Opened) -> Outcome {
    let journal = &opened.journal;
    let _ = journal.append("engine", "run.crashed", json!({"error": e.to_string()}));
    let left = tokio::task::block_in_place(|| guard.revert_now());
    let status = if matches!(left, Ok(0)) {
        Status::Aborted
    } else {
        Status::RevertFailed
    };
    let o = Outcome {
        status,
        reason: Some(format!("the engine crashed: {e}")),
        run_id: opened.run_id.0.clone(),
    };
    if !journal.ended() {
        let _ = journal.append(
            "engine",
            "run.end",
            json!({"status": o.status, "reason": o.reason, "exitCode": o.exit_code()}),
        );
    }
    o
}

//! One tabletop drill, from a loaded drill to its reports: the run
//! directory and journal, the responder API (the same server as a game
//! day's), the inject timeline and autopilot in drill time, and at the end
//! the reports, rebuilt from the journal by the same replay `gameday report`
//! uses, so a drill's own report and one from its journal cannot differ.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rand::RngExt;
use serde_json::json;

use super::deliver::Deliverer;
use super::hybrid::{Cluster, FaultEngine};
use super::progress;
use super::schedule::{Schedule, State};
use crate::config::Config;
use crate::drill::{Drill, DrillClock, TABLETOP_CONTEXT};
use crate::engine::{Journal, Outcome, Status, rundir};
use crate::incident::{Action, EventSource, ResponderEvent};
use crate::k8s::marks::RunId;
use crate::observe::AlertmanagerConn;
use crate::report::live::{DRILL_START, Live, Shared, lock};
use crate::report::model::RunReport;
use crate::respond::server::{ApiServer, ApiState, Facilitator};
use crate::respond::session::StartError;
use crate::scenario::AutopilotEntry;

/// How often the loop looks at the responder events and the facilitator's
/// commands while nothing is due: the bound on how late a `noEvent`
/// decision or a pause can be noticed.
const TICK: Duration = Duration::from_millis(20);

pub struct DrillRequest {
    pub drill: Drill,
    pub config: Config,
    pub placement: rundir::Placement,
    pub settings: DrillSettings,
    /// The prepared cluster of a hybrid drill (`app::prepare`); None for a
    /// tabletop drill, which touches no cluster.
    pub cluster: Option<super::hybrid::Cluster>,
}

#[derive(Debug, Clone)]
pub struct DrillSettings {
    /// `--speed`: overrides the drill's `timeScale`.
    pub speed: Option<f64>,
    /// Draw progress for a terminal (else plain lines, `--ci`).
    pub live_view: bool,
    pub api_listen: SocketAddr,
    pub api_token_file: Option<PathBuf>,
    /// Where alert injects are posted; None delivers them directly.
    pub alertmanager: Option<AlertmanagerConn>,
    /// Also write the facilitator's token here (0600).
    pub facilitator_token_file: Option<PathBuf>,
    /// How often a firing alert inject is re-posted to Alertmanager
    /// (`tabletop::alerts::RESEND`).
    pub alert_resend: Duration,
    /// Print the console links with their tokens (not under --ci or JSON
    /// logs, which are kept and shared: then the links name the files).
    pub console_tokens: bool,
}

/// The facilitator's controls as they arrive, each with its reply.
type Controls = tokio::sync::mpsc::UnboundedReceiver<(
    crate::drill::control::Control,
    crate::respond::server::ControlReply,
)>;

#[derive(Debug, thiserror::Error)]
pub enum TabletopError {
    #[error(transparent)]
    RunDir(#[from] rundir::RunDirError),
    #[error(transparent)]
    Journal(#[from] crate::engine::journal::JournalError),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Replay(#[from] crate::report::replay::ReplayError),
    #[error("listening for signals: {0}")]
    Signals(std::io::Error),
    #[error(
        "inject `{0}` has a `fault`: a hybrid drill needs its cluster prepared (context guard, preflight, plan) before it starts"
    )]
    Hybrid(String),
}

/// Why a drill ended when SIGINT or SIGTERM stopped it: it still resolves
/// its pages and alerts and writes its reports, as aborted.
pub const INTERRUPTED: &str = "interrupted by SIGINT or SIGTERM";

/// SIGINT and SIGTERM, listened for from the start so none is missed
/// between two turns of the loop.
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn listen() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
    }
}

/// How a drill ended.
pub struct DrillEnd {
    pub run_dir: PathBuf,
    pub report: RunReport,
    pub exit_code: i32,
}

/// What the drill loop shares with the API and the facilitator.
pub struct Running {
    pub drill: Arc<Drill>,
    pub clock: DrillClock,
    pub shared: Shared,
    pub journal: Arc<Journal>,
    pub run_id: RunId,
    pub run_dir: PathBuf,
    live_view: bool,
}

/// Runs the drill of `req` to its end and writes its reports.
pub async fn run(mut req: DrillRequest) -> Result<DrillEnd, TabletopError> {
    let cluster = req.cluster.take();
    if cluster.is_none()
        && let Some(i) = req.drill.spec.injects.iter().find(|i| i.fault.is_some())
    {
        return Err(TabletopError::Hybrid(i.id.clone()));
    }
    let running = open(&req, cluster.as_ref())?;
    let (server, mut controls) = serve(&running, &req.settings).await?;
    let mut deliverer = Deliverer::new(
        &running,
        req.settings.alertmanager.clone(),
        req.settings.alert_resend,
    );
    let mut signals = Signals::listen().map_err(TabletopError::Signals)?;
    deliverer.paging = super::paging::start(&running, &req.config).await;
    start_clock(&running)?;
    let engine = cluster.map(|c| FaultEngine::start(c, &running, &req.config));
    deliverer.faults = engine.as_ref().and_then(FaultEngine::trigger);
    let reason = tokio::select! {
        reason = drive(&running, &deliverer, &mut controls) => reason,
        () = signals.recv() => INTERRUPTED.to_string(),
        reason = super::hybrid::stopped(engine.as_ref()) => reason,
    };
    deliverer.resolve_all(&running).await;
    // The deliverer holds the engine's triggers: dropping it closes them.
    drop(deliverer);
    let faults = match engine {
        Some(e) => Some(e.finish(&running).await),
        None => None,
    };
    server.stop();
    finish(&running, &req.config, &reason, faults)
}

/// Claims the run directory and writes `run.start`, with the drill and its
/// scenario view, so `gameday report` needs nothing else. The clock is
/// made here and started by [`start_clock`] once the API is up, so the
/// first inject is not late by the server's start.
fn open(req: &DrillRequest, cluster: Option<&Cluster>) -> Result<Running, TabletopError> {
    let drill = Arc::new(req.drill.clone());
    let scenario = Arc::new(drill.to_scenario(req.settings.alertmanager.is_some()));
    let now = jiff::Timestamp::now();
    let run_id = RunId::generate(now, rand::rng().random());
    let run_dir = rundir::create(&req.placement, now, &drill.metadata.name, &run_id)?;
    let journal = Arc::new(Journal::open(&run_dir.join(rundir::JOURNAL))?);
    let scale = req
        .settings
        .speed
        .unwrap_or_else(|| drill.spec.time_scale());
    let clock = DrillClock::start(scale);
    // Held at zero until `start_clock`: what is written before the drill
    // starts (run.start, the API's address) is at drill time 0.
    clock.pause();
    journal.set_clock_fields(clock_fields(clock.clone()));
    let context = cluster.map_or(TABLETOP_CONTEXT, |c| c.target.context.as_str());
    journal.append(
        "engine",
        "run.start",
        json!({
            "runId": run_id.0, "scenario": drill.metadata.name, "kind": "Drill",
            "context": context, "runDir": run_dir.display().to_string(),
            "faults": cluster.map(|c| &c.plans),
            "scenarioSpec": *scenario, "config": req.config, "drill": *drill,
            "timeScale": scale,
            "alertmanager": req.settings.alertmanager.as_ref().map(|a| a.base_url()),
        }),
    )?;
    let live = Live::new(
        scenario,
        Arc::new(req.config.clone()),
        run_id.0.clone(),
        context.into(),
        clock.started(),
    );
    let live_view = req.settings.live_view;
    Ok(Running {
        drill,
        clock,
        shared: live.shared(),
        journal,
        run_id,
        run_dir,
        live_view,
    })
}

/// What every journal entry of a drill carries besides its wall time
/// (drill-v1.md, "Time"): the drill time and the wall time since the start,
/// both in seconds, so a report or a determinism check can compare either.
fn clock_fields(clock: DrillClock) -> crate::engine::journal::ClockFields {
    Box::new(move || {
        let mut m = serde_json::Map::new();
        m.insert("drillSeconds".into(), json!(clock.elapsed().as_secs_f64()));
        m.insert(
            "wallSeconds".into(),
            json!(clock.wall_elapsed().as_secs_f64()),
        );
        m
    })
}

/// Drill time zero: restarts the clock and journals `drill.start`.
fn start_clock(running: &Running) -> Result<(), TabletopError> {
    running.clock.restart();
    let zero = running.clock.started();
    running
        .journal
        .set_tap(progress::tap(zero, running.live_view));
    let entry = running.journal.append(
        "drill",
        DRILL_START,
        json!({"at": zero, "drillSeconds": 0.0, "timeScale": running.clock.scale(), "briefing": running.drill.spec.briefing}),
    )?;
    let mut live = lock(&running.shared);
    live.started = zero;
    live.clock = Some(running.clock.clone());
    live.on_entry(&entry);
    Ok(())
}

/// Serves the responder API with the facilitator's route; returns the
/// server and where the facilitator's controls arrive.
async fn serve(
    running: &Running,
    settings: &DrillSettings,
) -> Result<(ApiServer, Controls), TabletopError> {
    let token = crate::respond::files::new_token();
    let facilitator_token = crate::respond::files::new_token();
    let (tx, controls) = tokio::sync::mpsc::unbounded_channel();
    let state = ApiState {
        shared: running.shared.clone(),
        journal: running.journal.clone(),
        token: Arc::from(token.as_str()),
        facilitator: Some(Facilitator {
            token: Arc::from(facilitator_token.as_str()),
            controls: tx,
        }),
    };
    let server = ApiServer::bind(settings.api_listen, state)
        .await
        .map_err(|source| StartError::Bind {
            addr: settings.api_listen,
            source,
        })?;
    let url = server.url();
    let write = || -> Result<(), crate::respond::files::FilesError> {
        use crate::respond::files::{write_run_files, write_secret};
        write_run_files(&running.run_dir, &url, &token)?;
        write_secret(
            &running.run_dir.join(super::control::TOKEN_FILE),
            &facilitator_token,
        )?;
        for (file, secret) in [
            (&settings.api_token_file, &token),
            (&settings.facilitator_token_file, &facilitator_token),
        ] {
            if let Some(f) = file {
                write_secret(f, secret)?;
            }
        }
        Ok(())
    };
    write().map_err(StartError::from)?;
    let _ = running
        .journal
        .append("responder", "api.listening", json!({"url": url}));
    if settings.console_tokens {
        announce(&url, &token, &facilitator_token);
    } else {
        let file = |name: &str| format!("$(cat {})", running.run_dir.join(name).display());
        announce(
            &url,
            &file(crate::respond::files::TOKEN_FILE),
            &file(super::control::TOKEN_FILE),
        );
    }
    Ok((server, controls))
}

/// Where the participants and the facilitator open the console: one link
/// each, the token in the fragment (`respond::console::link`).
fn announce(url: &str, token: &str, facilitator_token: &str) {
    use crate::respond::console::link;
    let (participants, facilitator) = (link(url, token), link(url, facilitator_token));
    crate::term::event(
        "responder.api",
        json!({"url": url, "console": participants, "facilitatorConsole": facilitator}),
        format_args!(
            "responder API {url}\n  console {participants}\n  facilitator console {facilitator}"
        ),
    );
}

/// The drill loop: injects and autopilot in drill time until the incident
/// is resolved with autopilot done, or the timeline has run out. Injects
/// due at a drill time are judged before autopilot entries of the same
/// time, so an acknowledgement exactly at a `noEvent`'s `by` is too late,
/// as "before then" says. Returns why the drill ended.
async fn drive(running: &Running, deliverer: &Deliverer, controls: &mut Controls) -> String {
    let drill = &running.drill;
    let mut schedule = Schedule::new(drill);
    let mut autopilot: Vec<AutopilotEntry> = drill
        .spec
        .response
        .as_ref()
        .map(|r| r.autopilot.clone())
        .unwrap_or_default();
    autopilot.sort_by_key(|e| e.at.0);
    let mut next_ap = 0;
    let length = drill.length().as_std();
    let zero = running.clock.started();
    loop {
        let now = running.clock.elapsed();
        let due = schedule.due(now, &lock(&running.shared).incident, zero);
        for i in due.settle {
            schedule.states[i] = State::Settled;
        }
        for (i, at) in due.fire {
            deliverer.fire(running, schedule.inject(i)).await;
            schedule.states[i] = State::Fired(at);
        }
        while autopilot.get(next_ap).is_some_and(|e| e.at.as_std() <= now) {
            act(running, &autopilot[next_ap]);
            next_ap += 1;
        }
        let autopilot_done = next_ap == autopilot.len();
        let resolved = lock(&running.shared).incident.t_resolve().is_some();
        if resolved && autopilot_done {
            return "the incident was resolved".into();
        }
        if autopilot_done && schedule.done() && now >= length {
            return "the inject timeline ran out".into();
        }
        let next = [
            due.next,
            autopilot.get(next_ap).map(|e| e.at.as_std()),
            (now < length).then_some(length),
        ]
        .into_iter()
        .flatten()
        .min();
        let wait = next
            .and_then(|n| running.clock.wall_until(n))
            .map_or(TICK, |w| w.min(TICK));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            Some((control, reply)) = controls.recv() => {
                if let Some(reason) = super::control::apply(running, deliverer, &mut schedule, control, reply).await {
                    return reason;
                }
            }
        }
    }
}

/// One autopilot entry, as its person, stamped in drill time. Cluster
/// actions (`action: {scale: …}`) need a hybrid drill and are skipped.
fn act(running: &Running, entry: &AutopilotEntry) {
    let journal = &running.journal;
    let skipped = |error: String| {
        let _ = journal.append(
            "autopilot",
            "autopilot.skipped",
            json!({"as": entry.person, "error": error}),
        );
    };
    if entry.action.is_some() {
        skipped("a tabletop drill changes no cluster: the step's `action` is skipped".into());
    }
    let action = match Action::from_autopilot(entry) {
        Ok(a) => a,
        Err(e) => return skipped(e.to_string()),
    };
    let mut live = lock(&running.shared);
    let event = ResponderEvent {
        at: running.clock.now(),
        person: entry.person.clone(),
        source: EventSource::Autopilot,
        action,
    };
    let _ = live.record_event(journal, event);
    live.autopilot_left = live.autopilot_left.saturating_sub(1);
}

/// Writes `run.end`, then the reports from the journal, then the history
/// row (a warning if that fails, never a lost drill).
fn finish(
    running: &Running,
    config: &Config,
    reason: &str,
    faults: Option<Outcome>,
) -> Result<DrillEnd, TabletopError> {
    // The fault engine's verdict wins when it is worse: a revert that
    // failed is exit 5 whatever the team scored.
    let (status, reason) = match faults {
        Some(o) if o.status != Status::Passed => {
            (o.status, o.reason.unwrap_or_else(|| reason.to_string()))
        }
        _ if reason == INTERRUPTED => (Status::Aborted, reason.to_string()),
        _ => (Status::Passed, reason.to_string()),
    };
    let _ = running.journal.append(
        "engine",
        "run.end",
        json!({"status": status, "reason": reason, "drillSeconds": running.clock.elapsed().as_secs_f64()}),
    );
    let report = crate::report::replay::from_run_dir(&running.run_dir)?;
    if let Err(e) = crate::report::files::write_all(&running.run_dir, &report) {
        crate::term::event(
            "error",
            json!({"level": "error", "kind": "reports", "message": e.to_string()}),
            format_args!("error: writing the reports: {e}"),
        );
    }
    if let Err(warning) = crate::report::record::record(&report, &running.run_dir, config) {
        crate::term::event(
            "warning",
            json!({"level": "warn", "kind": "history", "message": warning.to_string()}),
            format_args!("warning: {warning}"),
        );
    }
    let exit_code = report.exit_code;
    Ok(DrillEnd {
        run_dir: running.run_dir.clone(),
        report,
        exit_code,
    })
}

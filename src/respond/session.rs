//! Detection and response for one `gameday run`, as an engine observer: it
//! starts the responder API and the pollers before the faults, waits after
//! the revert until what the scenario expects has had its chance to happen,
//! and at the end scores the run and writes its reports.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use jiff::Timestamp;
use serde_json::json;

use super::server::{ApiServer, ApiState};
use super::{autopilot, detection, files};
use crate::config::Config;
use crate::engine::{Entry, Gate, Journal, ObserveCx, Observer, Outcome, Status};
use crate::k8s::Kube;
use crate::observe::Endpoints;
use crate::report::live::{Live, Shared, lock};
use crate::report::model::{RunReport, RunStatus};
use crate::report::{RunFacts, assemble};
use crate::scenario::Scenario;

/// How long a fired alert may take to reach our webhook before the run
/// stops waiting for it (Alertmanager's `group_wait` is usually below this).
const NOTIFY_GRACE: Duration = Duration::from_secs(10);
const SETTLE_POLL: Duration = Duration::from_millis(200);
const VERIFY_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct ResponseOptions {
    /// `--api-listen` (default 127.0.0.1:0).
    pub listen: SocketAddr,
    /// `--api-token-file`: also write the token here (e.g. the file an
    /// Alertmanager receiver's `credentials_file` points at).
    pub token_file: Option<PathBuf>,
    pub endpoints: Endpoints,
    pub poll: Duration,
}

impl Default for ResponseOptions {
    fn default() -> Self {
        ResponseOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            token_file: None,
            endpoints: Endpoints::default(),
            poll: detection::POLL_INTERVAL,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot bind the responder API on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Files(#[from] files::FilesError),
    #[error("cannot set up runbook verification: {0}")]
    Probe(#[from] crate::observe::ProbeError),
}

/// The report the run ended with, for the CLI's exit code.
pub type ReportSlot = Arc<Mutex<Option<RunReport>>>;

pub struct ResponseSession {
    shared: Shared,
    journal: Arc<Journal>,
    run_dir: PathBuf,
    server: ApiServer,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    slot: ReportSlot,
    /// Closed by `stop_actions` before the engine reverts autopilot actions.
    actions: autopilot::ActionGate,
    pub url: String,
    pub token: String,
}

/// Whether the scenario asks to be scored (detection or response): only
/// then does the score decide the exit code.
pub fn is_scored(scenario: &Scenario) -> bool {
    scenario.spec.detection.is_some() || scenario.spec.response.is_some()
}

impl ResponseSession {
    /// Binds the API, writes `api-url` and `api-token` (0600) into the run
    /// directory, and starts detection, autopilot and runbook verification.
    #[allow(clippy::too_many_arguments)]
    pub async fn start(
        kube: &Kube,
        scenario: Arc<Scenario>,
        config: Arc<Config>,
        run_id: &str,
        run_dir: &Path,
        journal: Arc<Journal>,
        opts: ResponseOptions,
    ) -> Result<ResponseSession, StartError> {
        let started = Timestamp::now();
        let shared = Live::new(
            scenario.clone(),
            config,
            run_id.to_string(),
            kube.context.clone(),
            started,
        )
        .shared();
        let token = files::new_token();
        let server = ApiServer::bind(
            opts.listen,
            ApiState {
                shared: shared.clone(),
                journal: journal.clone(),
                token: Arc::from(token.as_str()),
                facilitator: None,
            },
        )
        .await
        .map_err(|source| StartError::Bind {
            addr: opts.listen,
            source,
        })?;
        let url = server.url();
        files::write_run_files(run_dir, &url, &token)?;
        if let Some(f) = &opts.token_file {
            files::write_secret(f, &token)?;
        }
        let _ = journal.append("responder", "api.listening", json!({"url": url}));

        let mut tasks = Vec::new();
        if scenario.spec.detection.is_some() {
            tasks.push(tokio::spawn(detection::poll_loop(
                shared.clone(),
                journal.clone(),
                opts.endpoints.clone(),
                opts.poll,
            )));
        }
        let actions = autopilot::ActionGate::default();
        tasks.push(tokio::spawn(autopilot::autopilot_loop(
            shared.clone(),
            journal.clone(),
            kube.clone(),
            actions.clone(),
        )));
        let mut observer = crate::observe::ProbeReader::new()?.with_kube(kube.client.clone());
        if let Some(p) = opts.endpoints.prometheus.clone() {
            observer = observer.with_prometheus(p);
        }
        tasks.push(tokio::spawn(autopilot::verify_loop(
            shared.clone(),
            journal.clone(),
            observer,
            VERIFY_INTERVAL,
        )));
        Ok(ResponseSession {
            shared,
            journal,
            run_dir: run_dir.to_path_buf(),
            server,
            tasks,
            slot: Arc::new(Mutex::new(None)),
            actions,
            url,
            token,
        })
    }

    pub fn report_slot(&self) -> ReportSlot {
        self.slot.clone()
    }

    pub fn shared(&self) -> Shared {
        self.shared.clone()
    }
}

/// Whether everything the scenario waits for has happened (or had its time).
fn settled(live: &Live, now: Timestamp) -> bool {
    let Some(t_inject) = live.t_inject else {
        return true;
    };
    if live.autopilot_left > 0 || live.incident.runbook.awaiting_verify().next().is_some() {
        return false;
    }
    let since = |t: Timestamp| now.duration_since(t).as_secs_f64();
    live.alerts
        .iter()
        .all(|a| match (a.t_fire, a.t_notify, a.t_resolve) {
            (None, ..) => a
                .within
                .is_some_and(|w| since(t_inject) >= w.as_std().as_secs_f64()),
            (Some(f), None, _) if since(f) < NOTIFY_GRACE.as_secs_f64() => false,
            (Some(_), _, None) => live.incident.t_resolve().is_some(),
            _ => true,
        })
}

fn run_status(s: Status) -> RunStatus {
    match s {
        Status::Passed => RunStatus::Passed,
        Status::Failed => RunStatus::Failed,
        Status::NotRun => RunStatus::NotRun,
        Status::Aborted | Status::Halted => RunStatus::Aborted,
        Status::Unreachable => RunStatus::Unreachable,
        Status::RevertFailed => RunStatus::RevertFailed,
    }
}

impl Observer for ResponseSession {
    fn on_entry(&mut self, entry: &Entry) {
        if entry.event == "run.end" {
            // Nothing may follow `run.end` in the journal.
            for t in &self.tasks {
                t.abort();
            }
        }
        lock(&self.shared).on_entry(entry);
    }

    /// Holds the run open (bounded by `recoverWithin`) until expected alerts
    /// fired, notified and resolved, autopilot acted and claimed steps were
    /// verified: a run that ended sooner would score what it did not wait for.
    fn after_revert<'a>(&'a mut self, cx: &'a ObserveCx<'a>) -> BoxFuture<'a, Gate> {
        Box::pin(async move {
            let limit = cx.scenario.spec.steady_state.recover_within().as_std();
            let deadline = Instant::now() + limit;
            let _ = self.journal.append(
                "responder",
                "settle.start",
                json!({"limitSeconds": limit.as_secs_f64()}),
            );
            loop {
                if settled(&lock(&self.shared), Timestamp::now()) {
                    break;
                }
                if Instant::now() >= deadline {
                    let _ = self
                        .journal
                        .append("responder", "settle.timeout", json!({}));
                    break;
                }
                tokio::time::sleep(SETTLE_POLL).await;
            }
            // The tracker's full view (rule found, `for:`, runbook URL), for
            // `gameday report` to rebuild detection from the journal alone.
            {
                let live = lock(&self.shared);
                let _ = self.journal.append(
                    "detection",
                    crate::report::replay::DETECTION_SUMMARY,
                    json!({"alerts": live.alerts, "noise": live.noise}),
                );
            }
            Gate::Proceed
        })
    }

    fn stop_actions<'a>(&'a mut self) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            *self.actions.lock().await = true;
        })
    }

    fn finish(&mut self, outcome: &Outcome, cx: &ObserveCx<'_>) {
        for t in &self.tasks {
            t.abort();
        }
        self.server.stop();
        let report = final_report(&self.journal, &self.shared, outcome, cx.scenario);
        // Not journalled: `run.end` stays the journal's last entry.
        if let Err(e) = crate::report::files::write_all(&self.run_dir, &report) {
            crate::term::event(
                "error",
                json!({"level": "error", "kind": "reports", "message": e.to_string()}),
                format_args!("error: writing the reports: {e}"),
            );
        }
        // After the run directory: a history error is a warning, never a lost run.
        // Not journalled either (run.end stays last).
        if let Err(warning) = crate::report::record::record(&report, &self.run_dir, cx.config) {
            crate::term::event(
                "warning",
                json!({"level": "warn", "kind": "history", "message": warning.to_string()}),
                format_args!("warning: {warning}"),
            );
        }
        if is_scored(cx.scenario) {
            crate::report::terminal::print(&report.scorecard);
        }
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Some(report);
        }
    }
}

/// The run's report, from the live state and what the journal says: its
/// start and end stamps and the probe readings. Only those are parsed: the
/// whole journal of a hundred-podKill run is 3.4 MB once parsed, and held
/// through the reports and the history write it was the run's peak heap
/// (docs/performance.md, issue 13).
fn final_report(
    journal: &Journal,
    shared: &Shared,
    outcome: &Outcome,
    scenario: &Scenario,
) -> RunReport {
    // The journal's own stamps, so that a report rebuilt from the
    // journal (`gameday report`, or from the history's copy once the
    // run's pod is gone) says the same start and end to the millisecond.
    let (mut started, mut ended, mut probe) = (None, None, Vec::new());
    // An unreadable journal leaves the live state as it is.
    let _ = Journal::scan(
        journal.path(),
        |head| head.source == "probe",
        |head, entry| {
            match head.event.as_str() {
                "run.start" => started = started.or(Some(head.ts)),
                "run.end" => ended = ended.or(Some(head.ts)),
                _ => {}
            }
            probe.extend(entry);
        },
    );
    let now = ended.unwrap_or_else(Timestamp::now);
    let mut live = lock(shared);
    live.rebuild_steady(&probe);
    if let Some(started) = started {
        live.started = started;
    }
    live.ended = Some(now);
    assemble(RunFacts {
        run_id: live.run_id.clone(),
        scenario,
        status: run_status(outcome.status),
        status_reason: outcome.reason.clone(),
        started: live.started,
        ended: Some(now),
        context: Some(live.context.clone()),
        faults: live.faults.clone(),
        probes: live.probes.values().cloned().collect(),
        observed: live.observed(now),
        incident: live.incident.clone(),
        targets: live.targets(),
    })
}

/// The exit code: the scorecard's when the scenario is scored, else the
/// engine's.
pub fn exit_code(slot: &ReportSlot, scenario: &Scenario, outcome: &Outcome) -> i32 {
    let engine = outcome.exit_code();
    if !is_scored(scenario) || engine != crate::exit::OK {
        return engine;
    }
    slot.lock()
        .ok()
        .and_then(|r| r.as_ref().map(|r| r.exit_code))
        .unwrap_or(engine)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(extra: &str) -> Arc<Scenario> {
        let text = format!(
            r#"apiVersion: gameday/v1
kind: Scenario
metadata: {{name: settle}}
spec:
  hypothesis: h
  target: {{contexts: ["gameday-sandbox"], namespaces: [shop]}}
  blastRadius: {{maxTargets: 1, maxDuration: 5m}}
  steadyState:
    probes:
      - name: p
        kubernetes: {{kind: Deployment, namespace: shop, name: checkout, field: replicas}}
        expect: ">= 1"
  faults:
    - name: k
      type: podKill
      selector: {{namespace: shop, labels: {{app: checkout}}}}
{extra}"#
        );
        let mut v = crate::scenario::load_str(
            "s.yaml",
            &text,
            &Config::default(),
            &crate::faults::Registry,
        )
        .unwrap_or_else(|d| panic!("{d:?}"));
        Arc::new(v.remove(0))
    }

    fn live(extra: &str) -> Live {
        let t0 = Timestamp::from_second(1_700_000_000).unwrap();
        Live::new(
            scenario(extra),
            Arc::new(Config::default()),
            "r".into(),
            "ctx".into(),
            t0,
        )
    }

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    const ALERT: &str = "  detection:\n    alerts:\n      - {name: A, within: 30s}\n";

    #[test]
    fn nothing_injected_is_settled_at_once() {
        assert!(settled(&live(ALERT), at(0)));
    }

    #[test]
    fn an_alert_gets_its_within_window_then_its_notification_and_resolution() {
        let mut l = live(ALERT);
        l.t_inject = Some(at(0));
        assert!(!settled(&l, at(29)), "still inside `within`");
        assert!(settled(&l, at(30)), "never fired: the window is over");
        l.alerts[0].t_fire = Some(at(5));
        assert!(!settled(&l, at(6)), "waiting for the webhook");
        l.alerts[0].t_notify = Some(at(6));
        assert!(!settled(&l, at(7)), "waiting for resolution");
        l.alerts[0].t_resolve = Some(at(20));
        assert!(settled(&l, at(21)));
    }

    #[test]
    fn a_fired_alert_without_a_webhook_stops_waiting_after_the_grace() {
        let mut l = live(ALERT);
        l.t_inject = Some(at(0));
        l.alerts[0].t_fire = Some(at(5));
        l.alerts[0].t_resolve = Some(at(8));
        assert!(!settled(&l, at(14)));
        assert!(settled(&l, at(15)));
    }

    #[test]
    fn responders_resolving_ends_the_wait_for_the_alert_to_clear() {
        let mut l = live(ALERT);
        l.t_inject = Some(at(0));
        l.alerts[0].t_fire = Some(at(5));
        l.alerts[0].t_notify = Some(at(5));
        assert!(!settled(&l, at(9)));
        l.incident.record(crate::incident::ResponderEvent {
            at: at(9),
            person: "ic".into(),
            source: crate::incident::EventSource::Cli,
            action: crate::incident::Action::Resolve,
        });
        assert!(settled(&l, at(9)));
    }

    #[test]
    fn pending_autopilot_and_unverified_steps_hold_the_run() {
        let mut l = live(
            "  response:\n    runbook:\n      steps:\n        - id: up\n          verify:\n            kubernetes: {kind: Deployment, namespace: shop, name: checkout, field: replicas}\n            expect: \">= 6\"\n",
        );
        l.t_inject = Some(at(0));
        assert!(settled(&l, at(1)));
        l.autopilot_left = 1;
        assert!(!settled(&l, at(1)));
        l.autopilot_left = 0;
        l.incident.runbook.claim("up", "ops", at(2));
        assert!(!settled(&l, at(3)), "claimed, not verified");
        l.incident.runbook.verified("up", at(4));
        assert!(settled(&l, at(5)));
    }

    #[test]
    fn the_journal_gives_t_inject_fault_windows_and_steady_moments() {
        let mut l = live(ALERT);
        let entry = |event: &str, data: serde_json::Value, s: i64| crate::engine::Entry {
            ts: at(s),
            source: if event.starts_with("steady") || event == "probe.reading" {
                "probe".into()
            } else {
                "fault".into()
            },
            event: event.into(),
            data: data.as_object().cloned().unwrap_or_default(),
        };
        l.on_entry(&entry(
            "fault.intent",
            json!({"fault": "k", "type": "podKill", "targets": ["Pod/shop/a"]}),
            0,
        ));
        l.on_entry(&entry(
            "fault.injected",
            json!({"fault": "k", "injected": 1}),
            1,
        ));
        assert_eq!(l.t_inject, Some(at(1)));
        assert!(l.inject_instant.is_some());
        assert_eq!(l.faults[0].targets, vec!["Pod/shop/a".to_string()]);
        let entries = vec![
            entry("steady.impact", json!({"tImpact": at(2).to_string()}), 2),
            entry(
                "steady.recovery",
                json!({"tImpact": at(2).to_string(), "tMitigate": at(7).to_string()}),
                8,
            ),
        ];
        l.rebuild_steady(&entries);
        assert_eq!((l.t_impact, l.t_mitigate), (Some(at(2)), Some(at(7))));
    }
}

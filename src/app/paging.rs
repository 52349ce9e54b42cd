//! A game day's pages through the paging tools of `paging:`
//! (docs/paging.md), as an engine observer: when an expected alert fires, a
//! `[DRILL]` page keyed by the run id and alert goes out through every
//! integration (`via: direct`; with `via: alertmanager` Alertmanager's own
//! receivers page and gameday only looks up who is on call); the tools are
//! polled; and every page is read once more and resolved at the end.
//!
//! Nothing here sits on a revert path: the pages are sent from their own
//! task, the end starts in `stop_actions` (after the faults are reverted)
//! as a task of its own, and `finish` waits for it, bounded, before the
//! report is assembled. What lands after `run.end` reaches the report
//! but not the journal (nothing may follow `run.end`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use jiff::Timestamp;

use crate::config::{Config, PagingVia};
use crate::engine::{Entry, Journal, ObserveCx, Observer, Outcome};
use crate::paging::{CALL_BUDGET, DRILL_PREFIX, Page, PagingSession, page_key};
use crate::report::live::{Shared, lock};

/// How often fired alerts are looked for.
const WATCH: Duration = Duration::from_secs(1);

pub struct GameDayPaging {
    session: Arc<PagingSession>,
    /// Set when the run ends: the watcher sends no new page.
    stopping: Arc<AtomicBool>,
    /// `run.end` is in the journal.
    closed: Arc<AtomicBool>,
    watcher: Option<tokio::task::JoinHandle<()>>,
    ending: Option<tokio::task::JoinHandle<()>>,
}

/// Connects the configured integrations, resolves `ops-oncall`, and starts
/// the poller and (`via: direct`) the watcher that pages fired alerts.
pub async fn start(
    config: &Config,
    shared: Shared,
    journal: Arc<Journal>,
    run_id: &str,
) -> Option<GameDayPaging> {
    let paging = config.paging.as_ref().filter(|p| p.any())?;
    let closed = Arc::new(AtomicBool::new(false));
    let session = crate::report::paging::open_session(
        paging,
        (journal, shared.clone()),
        closed.clone(),
        1.0,
        Timestamp::now,
    )
    .await?;
    let stopping = Arc::new(AtomicBool::new(false));
    let watcher = (paging.via == PagingVia::Direct).then(|| {
        tokio::spawn(watch(
            session.clone(),
            shared,
            run_id.to_string(),
            stopping.clone(),
        ))
    });
    Some(GameDayPaging {
        session,
        stopping,
        closed,
        watcher,
        ending: None,
    })
}

/// Pages each expected alert once, when it first fires.
async fn watch(
    session: Arc<PagingSession>,
    shared: Shared,
    run_id: String,
    stopping: Arc<AtomicBool>,
) {
    let mut paged: Vec<String> = Vec::new();
    while !stopping.load(Ordering::SeqCst) {
        let (scenario, fired) = {
            let live = lock(&shared);
            let fired: Vec<_> = live
                .alerts
                .iter()
                .filter(|a| a.t_fire.is_some() && !paged.contains(&a.name))
                .map(|a| (a.name.clone(), a.labels.clone()))
                .collect();
            (live.scenario.metadata.name.clone(), fired)
        };
        for (alert, labels) in fired {
            let page = game_day_page(&run_id, &scenario, &alert, labels);
            session.trigger(page, Timestamp::now()).await;
            paged.push(alert);
        }
        tokio::time::sleep(WATCH).await;
    }
}

/// The page of a fired alert: an exercise, so `[DRILL]`-prefixed, with the
/// run and scenario in its custom details.
pub fn game_day_page(
    run_id: &str,
    scenario: &str,
    alert: &str,
    labels: BTreeMap<String, String>,
) -> Page {
    let mut details = labels;
    details.insert("gameday_drill".into(), "true".into());
    details.insert("gameday_run".into(), run_id.into());
    details.insert("gameday_scenario".into(), scenario.into());
    Page {
        key: page_key(run_id, alert),
        summary: format!("{DRILL_PREFIX}{alert} firing (game day {scenario})"),
        drill: true,
        severity: "critical".into(),
        details,
    }
}

impl GameDayPaging {
    /// Starts the end once: stop paging, let a page in flight land, then
    /// read and resolve every page, in a task of its own.
    fn end(&mut self) {
        if self.ending.is_some() {
            return;
        }
        self.stopping.store(true, Ordering::SeqCst);
        let watcher = self.watcher.take();
        let session = self.session.clone();
        self.ending = Some(tokio::spawn(async move {
            if let Some(w) = watcher {
                let _ = tokio::time::timeout(CALL_BUDGET + WATCH, w).await;
            }
            session.finish().await;
        }));
    }
}

impl Observer for GameDayPaging {
    fn on_entry(&mut self, entry: &Entry) {
        if entry.event == "run.end" {
            self.closed.store(true, Ordering::SeqCst);
        }
    }

    /// Called after the faults are reverted, on every way out that
    /// injected anything: the pages' end starts here, off the revert path.
    fn stop_actions<'a>(&'a mut self) -> BoxFuture<'a, ()> {
        self.end();
        Box::pin(std::future::ready(()))
    }

    /// Waits (bounded) for the pages to be resolved, so the report has it.
    fn finish(&mut self, _outcome: &Outcome, _cx: &ObserveCx<'_>) {
        self.end();
        let Some(ending) = self.ending.take() else {
            return;
        };
        let handle = tokio::runtime::Handle::current();
        if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            let budget = CALL_BUDGET * 3 + WATCH;
            tokio::task::block_in_place(|| {
                let _ = handle.block_on(tokio::time::timeout(budget, ending));
            });
        }
    }
}

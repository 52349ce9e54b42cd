//! A drill's pages through the paging tools of gameday.yaml's `paging:`
//! (docs/paging.md): every alert inject also triggers a page (unless
//! `via: alertmanager`, where Alertmanager's own receivers page), marked as
//! a drill (`[DRILL] ` summary, `gameday_drill` detail) with a dedup key
//! from the run id; who is on call is looked up at the start (and
//! `ops-oncall` resolved to that person); the tools are polled while the
//! drill runs; and at the end, on every way out of the loop, every page is
//! read once more and resolved. What the tools report is journalled with
//! the tool as the entry's source and shown on the live timeline.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::run::Running;
use crate::config::{Config, PagingVia};
use crate::drill::{AlertInject, Inject};
use crate::paging::{DRILL_PREFIX, Page, PagingSession, page_key};

pub struct DrillPaging {
    session: Arc<PagingSession>,
    /// gameday sends the pages itself (`via: direct`).
    direct: bool,
    /// Triggers in flight: sent off the drill loop (a slow tool must not
    /// hold up the next inject), awaited before the end resolves.
    sending: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// Connects the configured integrations and starts polling them; None when
/// `paging:` configures none.
pub async fn start(running: &Running, config: &Config) -> Option<DrillPaging> {
    let paging = config.paging.as_ref().filter(|p| p.any())?;
    let clock = running.clock.clone();
    let session = crate::report::paging::open_session(
        paging,
        (running.journal.clone(), running.shared.clone()),
        Arc::default(),
        running.clock.scale(),
        move || clock.now(),
    )
    .await?;
    Some(DrillPaging {
        session,
        direct: paging.via == PagingVia::Direct,
        sending: std::sync::Mutex::default(),
    })
}

impl DrillPaging {
    /// Pages `alert` (inject `inject`) through every integration, in the
    /// background.
    pub fn page(&self, running: &Running, inject: &Inject, alert: &AlertInject) {
        if !self.direct {
            return;
        }
        let page = drill_page(&running.run_id.0, inject, alert);
        let (session, at) = (self.session.clone(), running.clock.now());
        let task = tokio::spawn(async move { session.trigger(page, at).await });
        self.sending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(task);
    }

    /// Waits for the triggers in flight, then reads every page once more
    /// and resolves it: the drill's end, on every exit path of its loop.
    pub async fn finish(&self) {
        let sending: Vec<_> = std::mem::take(
            &mut *self
                .sending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let _ = tokio::time::timeout(
            crate::paging::CALL_BUDGET,
            futures::future::join_all(sending),
        )
        .await;
        self.session.finish().await;
    }
}

/// The page of an alert inject: `[DRILL]`-prefixed, with the run and
/// inject in its custom details so a responder can tell it from a real one.
pub fn drill_page(run_id: &str, inject: &Inject, alert: &AlertInject) -> Page {
    let title = alert
        .annotations
        .get("summary")
        .cloned()
        .unwrap_or_else(|| alert.alertname().to_string());
    let mut details: BTreeMap<String, String> = alert.labels.clone().into_iter().collect();
    details.insert("gameday_drill".into(), "true".into());
    details.insert("gameday_run".into(), run_id.into());
    details.insert("gameday_inject".into(), inject.id.clone());
    let severity = match alert.labels.get("severity").map(String::as_str) {
        Some("critical" | "page") => "critical",
        Some("error") => "error",
        Some("warning") => "warning",
        _ => "critical",
    };
    Page {
        key: page_key(run_id, &inject.id),
        summary: format!("{DRILL_PREFIX}{} ({})", title, alert.alertname()),
        drill: true,
        severity: severity.into(),
        details,
    }
}

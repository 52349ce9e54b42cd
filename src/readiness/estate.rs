//! Everything the audit reads, loaded once: the alert rules with the status
//! of their runbooks, the routing, the catalog, the exercises and the
//! history. Loading is the only I/O of an audit; the checks read this.

use std::path::PathBuf;

use jiff::Timestamp;

use super::catalog::Catalog;
use super::exercises::{self, Exercise};
use super::routing::Routing;
use super::rules::{self, AlertRule};
use super::runbooks::{self, RunbookStatus};
use super::{ReadinessError, live, nodes};
use crate::config::Config;
use crate::diag::Diagnostic;
use crate::history::{MergedAction, RunFilter, Store};

/// Where each input comes from (the command line, issue 18 "The command line").
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub rules: Vec<PathBuf>,
    pub prometheus: Option<String>,
    pub alertmanager_config: Option<PathBuf>,
    pub alertmanager: Option<String>,
    pub catalogs: Vec<PathBuf>,
    pub runbooks: Vec<PathBuf>,
    pub check_urls: bool,
    pub scenarios: Vec<PathBuf>,
    /// The history database, when there is one to read.
    pub history: Option<PathBuf>,
    /// The label that names an alert's service.
    pub service_label: String,
}

/// What the history says: when each scenario or drill last ran, and the
/// action items.
#[derive(Debug, Clone, Default)]
pub struct HistoryView {
    pub path: String,
    /// (scenario or drill name, start time) of every run.
    pub runs: Vec<(String, Timestamp)>,
    pub actions: Vec<MergedAction>,
}

#[derive(Debug, Clone, Default)]
pub struct Estate {
    pub alerts: Vec<AlertRule>,
    /// `runbooks[i]` is the status of `alerts[i]`'s runbook.
    pub runbooks: Vec<RunbookStatus>,
    pub routing: Option<Routing>,
    pub catalog: Option<Catalog>,
    pub exercises: Option<Vec<Exercise>>,
    pub history: Option<HistoryView>,
}

impl Estate {
    /// Loads every input `sources` names. Invalid files are diagnostics
    /// (all of them, from every input); an unreachable server stops at once.
    pub async fn load(sources: &Sources, config: &Config) -> Result<Estate, ReadinessError> {
        let mut diags = Vec::new();
        let mut alerts = match &sources.prometheus {
            Some(url) => live::prometheus_rules(url).await?,
            None => keep(rules::load_paths(&sources.rules), &mut diags).unwrap_or_default(),
        };
        alerts.sort_by(|a, b| (&a.file, a.line, &a.name).cmp(&(&b.file, b.line, &b.name)));
        let routing = match (&sources.alertmanager, &sources.alertmanager_config) {
            (Some(url), _) => Some(live::alertmanager_routing(url).await?),
            (None, Some(path)) => match nodes::read(path) {
                Ok(text) => keep(
                    Routing::parse(&path.display().to_string(), &text),
                    &mut diags,
                ),
                Err(d) => keep(Err(d), &mut diags),
            },
            (None, None) => None,
        };
        let catalog = if sources.catalogs.is_empty() {
            None
        } else {
            keep(Catalog::load(&sources.catalogs), &mut diags)
        };
        let exercises = if sources.scenarios.is_empty() {
            None
        } else {
            keep(
                exercises::load(&sources.scenarios, &sources.service_label, config),
                &mut diags,
            )
        };
        if !diags.is_empty() {
            crate::diag::sort(&mut diags);
            return Err(ReadinessError::Invalid(diags));
        }
        let runbooks = runbook_statuses(&alerts, sources).await;
        let history = match &sources.history {
            Some(path) => Some(read_history(path)?),
            None => None,
        };
        Ok(Estate {
            alerts,
            runbooks,
            routing,
            catalog,
            exercises,
            history,
        })
    }
}

/// The loaded value, or None with its diagnostics kept for the one report.
fn keep<T>(r: Result<T, Vec<Diagnostic>>, diags: &mut Vec<Diagnostic>) -> Option<T> {
    r.map_err(|mut d| diags.append(&mut d)).ok()
}

async fn runbook_statuses(alerts: &[AlertRule], sources: &Sources) -> Vec<RunbookStatus> {
    let mut statuses: Vec<RunbookStatus> = alerts
        .iter()
        .map(|a| runbooks::resolve_local(a, &sources.runbooks))
        .collect();
    if !sources.check_urls {
        return statuses;
    }
    let mut urls: Vec<String> = alerts
        .iter()
        .zip(&statuses)
        .filter(|(_, s)| **s == RunbookStatus::Unchecked)
        .filter_map(|(a, _)| a.runbook_url.clone())
        .collect();
    urls.sort();
    urls.dedup();
    let verdicts = live::head_all(&urls).await;
    for (alert, status) in alerts.iter().zip(statuses.iter_mut()) {
        if *status != RunbookStatus::Unchecked {
            continue;
        }
        if let Some(v) = alert.runbook_url.as_ref().and_then(|u| verdicts.get(u)) {
            *status = match v {
                Ok(()) => RunbookStatus::Found,
                Err(why) => RunbookStatus::Unresolved(why.to_string()),
            };
        }
    }
    statuses
}

fn read_history(path: &std::path::Path) -> Result<HistoryView, ReadinessError> {
    let store = Store::open(path)?;
    let runs = store
        .runs(&RunFilter::default())?
        .into_iter()
        .map(|r| (r.scenario, r.started_at))
        .collect();
    let actions = store.merged_actions(false, None)?;
    Ok(HistoryView {
        // The store's own name for it: a PostgreSQL URL without its password.
        path: store.path().display().to_string(),
        runs,
        actions,
    })
}

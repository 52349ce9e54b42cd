//! The paging side of one run: triggers each page through every
//! integration, polls what the tools logged (one read request per
//! integration per interval, round-robin over the run's pages), and at the
//! end reads once more and resolves every page. Everything it learns goes
//! to the caller's sink as [`PagingEvent`]s, stamped in the run's time: a
//! tool's own timestamps are taken as offsets from its record of the page's
//! creation (so a skewed vendor clock does not matter), scaled by the drill
//! clock's time scale, from the instant gameday triggered.
//!
//! The poller runs as its own task; nothing here is awaited on a revert
//! path, and every call ends within its budget.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::{CALL_BUDGET, EntryKind, LogEntry, Page, Pager, PagingError};

/// Default wall time between two reads of one integration.
pub const POLL_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq)]
pub enum PagingEvent {
    /// gameday sent the page; `at` is the caller's time of the trigger.
    Triggered {
        source: &'static str,
        key: String,
        summary: String,
        at: Timestamp,
    },
    /// A new entry in the tool's log, `at` mapped into the run's time.
    Entry {
        source: &'static str,
        key: String,
        entry: LogEntry,
        at: Timestamp,
    },
    Resolved {
        source: &'static str,
        key: String,
    },
    /// The tool is failing; said once until it answers again.
    Warning {
        source: &'static str,
        message: String,
    },
    OnCall {
        source: &'static str,
        person: String,
    },
}

pub type Sink = Arc<dyn Fn(PagingEvent) + Send + Sync>;

type PageId = (&'static str, String);

struct Sent {
    page: Page,
    /// Run time of the trigger, per source that accepted it.
    at: HashMap<&'static str, Timestamp>,
}

pub struct PagingSession {
    pagers: Vec<Arc<dyn Pager>>,
    sink: Sink,
    interval: Duration,
    scale: f64,
    sent: Mutex<Vec<Sent>>,
    seen: Mutex<HashMap<PageId, Vec<LogEntry>>>,
    failing: Mutex<HashSet<&'static str>>,
    poller: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl PagingSession {
    /// `scale`: run seconds per wall second (a drill's time scale; 1 for a
    /// game day).
    pub fn new(
        pagers: Vec<Arc<dyn Pager>>,
        sink: Sink,
        interval: Duration,
        scale: f64,
    ) -> Arc<Self> {
        Arc::new(PagingSession {
            pagers,
            sink,
            interval,
            scale: if scale.is_finite() && scale > 0.0 {
                scale
            } else {
                1.0
            },
            sent: Mutex::default(),
            seen: Mutex::default(),
            failing: Mutex::default(),
            poller: Mutex::default(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.pagers.is_empty()
    }

    fn failed(&self, source: &'static str, what: &str, e: &PagingError) {
        if lock(&self.failing).insert(source) {
            (self.sink)(PagingEvent::Warning {
                source,
                message: format!("{what}: {e}; the run goes on with gameday's own sources"),
            });
        }
    }

    fn answered(&self, source: &'static str) {
        lock(&self.failing).remove(source);
    }

    /// Sends `page` through every integration at once; `at` is now in the
    /// run's time.
    pub async fn trigger(&self, page: Page, at: Timestamp) {
        let results = futures::future::join_all(self.pagers.iter().map(|p| {
            let page = &page;
            async move { (p.source(), p.trigger(page).await) }
        }))
        .await;
        let mut sent = Sent {
            page: page.clone(),
            at: HashMap::new(),
        };
        for (source, r) in results {
            match r {
                Ok(()) => {
                    self.answered(source);
                    sent.at.insert(source, at);
                    (self.sink)(PagingEvent::Triggered {
                        source,
                        key: page.key.clone(),
                        summary: page.summary.clone(),
                        at,
                    });
                }
                Err(e) => self.failed(source, "paging failed", &e),
            }
        }
        lock(&self.sent).push(sent);
    }

    /// Who is on call per integration; the first person found.
    pub async fn on_call(&self) -> Option<String> {
        let results = futures::future::join_all(
            self.pagers
                .iter()
                .map(|p| async move { (p.source(), p.on_call().await) }),
        )
        .await;
        let mut first = None;
        for (source, r) in results {
            match r {
                Ok(Some(person)) => {
                    first.get_or_insert_with(|| person.clone());
                    (self.sink)(PagingEvent::OnCall { source, person });
                }
                Ok(None) => {}
                Err(e) => self.failed(source, "on-call lookup failed", &e),
            }
        }
        first
    }

    /// [`Self::on_call`], bounded: a slow tool must not hold up a start.
    pub async fn on_call_within(&self, wait: Duration) -> Option<String> {
        tokio::time::timeout(wait, self.on_call())
            .await
            .ok()
            .flatten()
    }

    /// Starts the poller: every interval, each integration reads one page.
    pub fn start_polling(self: &Arc<Self>) {
        let me = self.clone();
        let task = tokio::spawn(async move {
            let mut round = 0usize;
            loop {
                tokio::time::sleep(me.interval).await;
                futures::future::join_all(me.pagers.iter().map(|p| me.read_next(p.clone(), round)))
                    .await;
                round += 1;
            }
        });
        *lock(&self.poller) = Some(task);
    }

    /// One read of the `round`-th page (round-robin) this integration took.
    async fn read_next(&self, pager: Arc<dyn Pager>, round: usize) {
        let keys: Vec<String> = lock(&self.sent)
            .iter()
            .filter(|s| s.at.contains_key(pager.source()))
            .map(|s| s.page.key.clone())
            .collect();
        if keys.is_empty() {
            return;
        }
        let key = &keys[round % keys.len()];
        self.read(&pager, key).await;
    }

    async fn read(&self, pager: &Arc<dyn Pager>, key: &str) {
        let source = pager.source();
        match pager.read_back(key).await {
            Ok(entries) => {
                tracing::debug!(source, key, entries = entries.len(), "paging read-back");
                self.answered(source);
                self.report(source, key, entries);
            }
            Err(e) => self.failed(source, "reading back failed", &e),
        }
    }

    /// Reports the entries not seen before, mapped into the run's time.
    fn report(&self, source: &'static str, key: &str, entries: Vec<LogEntry>) {
        let Some(trigger_at) = lock(&self.sent)
            .iter()
            .find(|s| s.page.key == key)
            .and_then(|s| s.at.get(source).copied())
        else {
            return;
        };
        let mut seen = lock(&self.seen);
        let known = seen.entry((source, key.to_string())).or_default();
        let mut fresh: Vec<LogEntry> = Vec::new();
        for e in entries {
            if !known.contains(&e) && !fresh.contains(&e) {
                fresh.push(e);
            }
        }
        fresh.sort_by_key(|e| (e.at, e.kind));
        let anchor = known
            .iter()
            .chain(&fresh)
            .filter(|e| e.kind == EntryKind::Trigger)
            .map(|e| e.at)
            .min()
            .or_else(|| known.iter().chain(&fresh).map(|e| e.at).min());
        known.extend(fresh.iter().cloned());
        drop(seen);
        let Some(anchor) = anchor else { return };
        for entry in fresh {
            let offset = entry.at.duration_since(anchor).as_secs_f64() * self.scale;
            let at = trigger_at
                .checked_add(SignedDuration::from_secs_f64(offset))
                .unwrap_or(trigger_at);
            (self.sink)(PagingEvent::Entry {
                source,
                key: key.to_string(),
                entry,
                at,
            });
        }
    }

    /// The end of the run: stops the poller, reads every page once more,
    /// then resolves every page everywhere. Bounded: at most two call
    /// budgets whatever the tools do.
    pub async fn finish(&self) {
        if let Some(task) = lock(&self.poller).take() {
            task.abort();
        }
        let pairs: Vec<(Arc<dyn Pager>, Page)> = {
            let sent = lock(&self.sent);
            self.pagers
                .iter()
                .flat_map(|p| {
                    sent.iter()
                        .filter(|s| s.at.contains_key(p.source()))
                        .map(|s| (p.clone(), s.page.clone()))
                })
                .collect()
        };
        let reads =
            futures::future::join_all(pairs.iter().map(|(p, page)| self.read(p, &page.key)));
        let _ = tokio::time::timeout(CALL_BUDGET, reads).await;
        let resolves = futures::future::join_all(pairs.iter().map(|(p, page)| async move {
            match p.resolve(page).await {
                Ok(()) => (self.sink)(PagingEvent::Resolved {
                    source: p.source(),
                    key: page.key.clone(),
                }),
                Err(e) => self.failed(p.source(), "resolving the page failed", &e),
            }
        }));
        if tokio::time::timeout(CALL_BUDGET, resolves).await.is_err() {
            for (p, _) in &pairs {
                self.failed(
                    p.source(),
                    "resolving the page",
                    &PagingError::Unreachable("timed out".into()),
                );
            }
        }
    }
}

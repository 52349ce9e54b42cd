//! One producer per run for every console client: it wakes when the
//! journal grows (or once a second, for the clocks and scores that move
//! with time), reads the new entries, builds one snapshot per kind of
//! viewer, and publishes them on a watch channel. Fifty clients then cost
//! fifty clones of an `Arc<str>`, not fifty scorings of the run.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::watch;

use super::feed::{Feed, Tail};
use super::view::{Viewer, facilitator, snapshot};
use crate::engine::Journal;
use crate::report::live::{Shared, lock};

/// A writer journals an entry and then updates the live picture; waiting
/// this long after the wake-up lets that update land first, and gathers a
/// burst of entries into one snapshot.
const SETTLE: Duration = Duration::from_millis(5);
/// Rebuilt this often even when nothing was journalled: drill time,
/// countdowns and the scorecard move with the clock.
const REFRESH: Duration = Duration::from_secs(1);

/// The snapshots of one moment, as JSON text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshots {
    pub participant: Arc<str>,
    pub facilitator: Arc<str>,
    /// The run has ended: this is the last snapshot, and streams close.
    pub last: bool,
}

impl Snapshots {
    pub fn for_viewer(&self, viewer: Viewer) -> Arc<str> {
        match viewer {
            Viewer::Participant => self.participant.clone(),
            Viewer::Facilitator => self.facilitator.clone(),
        }
    }
}

/// Started by the first client, so a run nobody watches pays nothing.
#[derive(Clone, Default)]
pub struct Hub {
    snapshots: Arc<OnceLock<watch::Receiver<Snapshots>>>,
    /// Facilitator streams open now: their view (with its scoring) is
    /// built only while there is one.
    facilitators: Arc<AtomicUsize>,
    /// Asks the producer for a snapshot now (a facilitator just arrived).
    kick: Arc<tokio::sync::Notify>,
}

/// One open facilitator stream; counted while it lives.
pub struct FacilitatorSeat(Arc<AtomicUsize>);

impl Drop for FacilitatorSeat {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Hub {
    /// A facilitator's stream takes a seat for as long as it is open; the
    /// producer builds their view from the next snapshot on.
    pub fn seat(&self) -> FacilitatorSeat {
        self.facilitators.fetch_add(1, Ordering::SeqCst);
        self.kick.notify_one();
        FacilitatorSeat(self.facilitators.clone())
    }

    pub fn subscribe(&self, shared: &Shared, journal: &Arc<Journal>) -> watch::Receiver<Snapshots> {
        self.snapshots
            .get_or_init(|| {
                let mut producer = Producer {
                    facilitators: self.facilitators.clone(),
                    kick: self.kick.clone(),
                    shared: shared.clone(),
                    journal: journal.clone(),
                    tail: Tail::new(journal.path()),
                    feed: Feed::default(),
                };
                let (tx, rx) = watch::channel(producer.build());
                tokio::spawn(producer.run(tx));
                rx
            })
            .clone()
    }
}

struct Producer {
    facilitators: Arc<AtomicUsize>,
    kick: Arc<tokio::sync::Notify>,
    shared: Shared,
    journal: Arc<Journal>,
    tail: Tail,
    feed: Feed,
}

impl Producer {
    fn build(&mut self) -> Snapshots {
        for e in self.tail.read_new() {
            self.feed.on_entry(&e);
        }
        let live = lock(&self.shared);
        let participant = snapshot(&live, &self.feed);
        let text = participant.to_string();
        let facilitator = if self.facilitators.load(Ordering::SeqCst) > 0 {
            Arc::from(facilitator(participant, &live, &self.feed).to_string())
        } else {
            Arc::from("")
        };
        Snapshots {
            participant: Arc::from(text),
            facilitator,
            last: self.feed.ended.is_some(),
        }
    }

    async fn run(mut self, tx: watch::Sender<Snapshots>) {
        let mut appended = self.journal.appended();
        loop {
            if tx.borrow().last {
                return;
            }
            tokio::select! {
                changed = appended.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    tokio::time::sleep(SETTLE).await;
                }
                _ = tokio::time::sleep(REFRESH) => {}
                _ = self.kick.notified() => {}
            }
            let next = self.build();
            tx.send_if_modified(|cur| {
                let changed = *cur != next;
                if changed {
                    *cur = next;
                }
                changed
            });
        }
    }
}

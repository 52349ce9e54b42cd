//! Why and when a run must stop early. Signal handlers, the kill switch and
//! guardrails all trigger the same handle; the first cause wins and the
//! engine reverts on its next await point.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopCause {
    /// SIGINT, SIGTERM or SIGHUP.
    Signal(&'static str),
    /// The kill switch was set.
    Halted,
    /// A guardrail (observer) breached.
    Guardrail(String),
    /// An error the run cannot continue past.
    Error(String),
}

impl std::fmt::Display for StopCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopCause::Signal(s) => write!(f, "interrupted by {s}"),
            StopCause::Halted => write!(f, "halted by the kill switch"),
            StopCause::Guardrail(r) => write!(f, "guardrail: {r}"),
            StopCause::Error(e) => write!(f, "error: {e}"),
        }
    }
}

#[derive(Clone, Default)]
pub struct StopHandle {
    flag: Arc<AtomicBool>,
    cause: Arc<Mutex<Option<StopCause>>>,
    notify: Arc<Notify>,
}

impl StopHandle {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the cause (the first one wins) and wakes the engine.
    pub fn trigger(&self, cause: StopCause) {
        {
            let mut c = self.cause.lock().unwrap_or_else(|p| p.into_inner());
            if c.is_none() {
                *c = Some(cause);
            }
        }
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
        self.notify.notify_one();
    }

    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    pub fn flag(&self) -> &AtomicBool {
        &self.flag
    }

    pub fn cause(&self) -> Option<StopCause> {
        self.cause.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Resolves when a stop is triggered (immediately if it already was).
    pub async fn wait(&self) {
        loop {
            let n = self.notify.notified();
            if self.is_set() {
                return;
            }
            n.await;
        }
    }

    /// Installs SIGINT, SIGTERM and SIGHUP handlers that trigger this
    /// handle. From then on the process no longer dies on those signals: it
    /// reverts. SIGHUP is what a closed terminal (a closed window, a dropped
    /// ssh session) sends; by default it would kill the run with its faults
    /// still in place.
    pub fn listen_for_signals(&self) -> std::io::Result<()> {
        use tokio::signal::unix::{SignalKind, signal};
        let h = self.clone();
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let mut hup = signal(SignalKind::hangup())?;
        tokio::spawn(async move {
            loop {
                let name = tokio::select! {
                    _ = int.recv() => "SIGINT",
                    _ = term.recv() => "SIGTERM",
                    _ = hup.recv() => "SIGHUP",
                };
                // Trigger before saying anything: the stop must never
                // depend on the terminal (a closed pipe, a hung-up pty).
                let again = h.is_set();
                h.trigger(StopCause::Signal(name));
                if again {
                    crate::errln!("gameday: {name} again; still reverting, please wait");
                } else {
                    crate::errln!("gameday: {name} received; reverting every fault before exit");
                }
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn first_cause_wins_and_wait_returns() {
        let h = StopHandle::new();
        let w = {
            let h = h.clone();
            tokio::spawn(async move { h.wait().await })
        };
        h.trigger(StopCause::Halted);
        h.trigger(StopCause::Signal("SIGINT"));
        tokio::time::timeout(std::time::Duration::from_secs(1), w)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(h.cause(), Some(StopCause::Halted));
        assert!(h.is_set());
        // Waiting after the fact returns at once.
        tokio::time::timeout(std::time::Duration::from_millis(100), h.wait())
            .await
            .unwrap();
    }
}

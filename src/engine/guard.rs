//! Last lines of defence for S2 when the normal revert path does not run:
//! a drop guard that reverts by label if the run is torn down while faults
//! may be active (panic unwinding, an early return), and a panic hook that
//! records the panic in the journal before anything else happens.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use super::journal::Journal;
use super::recover::{self, Filter};
use crate::k8s::KubeTarget;
use crate::k8s::retry::RetryPolicy;

pub struct RevertGuard {
    target: KubeTarget,
    filter: Filter,
    journal: PathBuf,
    armed: AtomicBool,
}

impl RevertGuard {
    pub fn arm(target: KubeTarget, filter: Filter, journal: PathBuf) -> Self {
        RevertGuard {
            target,
            filter,
            journal,
            armed: AtomicBool::new(true),
        }
    }

    /// The normal path confirmed everything reverted.
    pub fn disarm(&self) {
        self.armed.store(false, Ordering::SeqCst);
    }

    /// Reverts by label on a fresh thread with its own runtime, so it works
    /// even while the caller's runtime is unwinding. Returns how many marks remain.
    pub fn revert_now(&self) -> Result<usize, GuardError> {
        let target = self.target.clone();
        let filter = self.filter.clone();
        let journal = self.journal.clone();
        let handle = std::thread::spawn(move || -> Result<usize, GuardError> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(GuardError::Runtime)?;
            rt.block_on(async {
                let kube = target.connect(RetryPolicy::default()).await?;
                let (reports, left) = recover::sweep(&kube, &filter, 16).await?;
                if let Ok(j) = Journal::open(&journal) {
                    let _ = j.append(
                        "engine",
                        "revert.guard",
                        json!({"reverted": reports, "remaining": left.len()}),
                    );
                }
                Ok(left.len())
            })
        });
        handle.join().map_err(|_| GuardError::Panicked)?
    }
}

/// Why the emergency revert could not run; `gameday recover` is the way on.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("{0}")]
    Runtime(#[source] std::io::Error),
    #[error(transparent)]
    Kube(#[from] crate::k8s::K8sError),
    #[error("revert thread panicked")]
    Panicked,
}

impl Drop for RevertGuard {
    fn drop(&mut self) {
        if self.armed.swap(false, Ordering::SeqCst) {
            match self.revert_now() {
                Ok(0) => crate::errln!("gameday: reverted leftover faults by label"),
                Ok(n) => crate::errln!("gameday: {n} faults remain; run `gameday recover`"),
                Err(e) => {
                    crate::errln!("gameday: emergency revert failed ({e}); run `gameday recover`")
                }
            }
        }
    }
}

/// Records any panic in the journal (then runs the previous hook), so a
/// crashed run's journal says why it ended.
pub fn install_panic_hook(journal: PathBuf) {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Ok(j) = Journal::open(&journal) {
            let _ = j.append("engine", "run.panic", json!({"message": info.to_string()}));
        }
        prev(info);
    }));
}

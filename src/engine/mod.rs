//! The run engine: the ledger, the lifecycle, the kill switch, recovery by
//! label, and the observer interface that probes, detection, responders and
//! reports plug into.

pub mod access;
pub mod actions;
pub mod gates;
pub mod guard;
pub mod halt;
pub mod journal;
pub mod lifecycle;
mod no_effect;
pub mod observer;
pub mod outcome;
pub mod plan;
pub mod progress;
pub mod recover;
pub mod rundir;
pub mod stop;

pub use journal::{Entry, Journal};
pub use lifecycle::{RunOptions, Runner, Trigger, Triggers};
pub use observer::{Gate, ObserveCx, Observer};
pub use outcome::{Outcome, Status};
pub use stop::{StopCause, StopHandle};

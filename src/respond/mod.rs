//! Detection and response during `gameday run`: the responder API (with the
//! Alertmanager webhook), the detection poller, autopilot and runbook
//! verification, and the scoring and reports at the end of the run. It plugs
//! into the engine as one observer (`session::ResponseSession`); `gameday respond`
//! is its client.

pub mod autopilot;
pub mod client;
pub mod console;
pub mod detection;
pub mod files;
/// The live picture moved to `report::live` (the report replays it from the
/// journal, and report sits below respond); this path keeps working.
pub use crate::report::live;
pub mod server;
pub mod session;

pub use session::{ResponseOptions, ResponseSession, exit_code, is_scored};

//! The application layer: what gameday does, independent of how it was asked.
//!
//! Why it exists: `gameday run` used to orchestrate a run inside its flag
//! handler (config, guard, connect, preflight, plan, confirm, respond,
//! engine), so `demo` had to reach into the CLI and a drill command would
//! have copied it. Here a [`RunRequest`] (a loaded scenario, a guarded
//! target, options) goes in and a [`RunEnd`] comes out; what is shown on the
//! way goes through a [`RunView`] the caller provides.

mod paging;
pub mod run;
mod start;

pub use run::{
    AppError, Confirmation, Prepared, RunEnd, RunRequest, RunSettings, RunView, execute, prepare,
};
pub use start::plan_error_code;

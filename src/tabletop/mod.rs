//! Running a tabletop drill (`gameday drill FILE`): the inject timeline in
//! drill time (`schedule`, pure), firing injects to roles and pages to
//! Alertmanager (`deliver`, `alerts`), the live progress (`progress`), and
//! the run itself (`run`). It reuses the responder API, the incident state,
//! scoring and the reports of a game day; only the timeline is its own.
//! Beside `app` in the layer order: a drill needs no engine unless it is
//! hybrid.

pub mod alerts;
pub mod control;
mod deliver;
pub mod hybrid;
pub mod paging;
pub mod progress;
pub mod run;
pub mod schedule;

pub use run::{DrillEnd, DrillRequest, DrillSettings, TabletopError, run};

//! Tabletop drills (`kind: Drill`, shared/drill-v1.md): the format (typed
//! model, loader, validator), its view as a scenario for the shared
//! machinery, and the drill clock. Separate from `scenario` because a drill
//! is a timeline of injects for people, not a fault hypothesis; it sits a
//! layer above it because it reuses the scenario's sections and rules.
//! Running a drill is `tabletop`'s job, higher up.

mod bridge;
pub mod clock;
pub mod control;
mod load;
pub mod model;
pub mod validate;

pub use bridge::TABLETOP_CONTEXT;
pub use clock::DrillClock;
pub use load::{load_file, load_parsed, load_str};
pub use model::*;

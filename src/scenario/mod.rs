//! Scenario format v1: the typed model, its value types, and (in `load` and
//! `validate`) the loader that explains every mistake with a position.

pub mod duration;
pub mod expectation;
pub mod model;

pub use duration::Duration;
pub use expectation::Expectation;
pub use model::*;

//! Scenario format v1: the typed model, its value types, and (in `load` and
//! `validate`) the loader that explains every mistake with a position.

pub mod duration;
pub mod expectation;
mod load;
pub mod model;
mod promql;
pub mod validate;

pub use duration::Duration;
pub use expectation::Expectation;
pub use load::{load_file, load_parsed, load_str};
pub use model::*;

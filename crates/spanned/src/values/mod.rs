//! The scalar values the YAML checker parses itself: a `Duration` or an
//! `Expectation` that does not parse gets the parser's message and a hint,
//! not a bare "does not match the pattern".
//!
//! gameday re-exports them from its own `values` module (with the value
//! types only it uses), so `gameday::values::Duration` and
//! `gameday::scenario::Duration` keep working.

pub mod cron;
pub mod duration;
pub mod expectation;

pub use duration::Duration;
pub use expectation::Expectation;

//! The reports a team reads after a game day: result.json (`model`, built by
//! `assemble`), report.md with the blameless postmortem draft (`markdown`),
//! the rules that derive action items (`actions`), the communication
//! templates (`templates`), and the name scrubbing that keeps the draft
//! blameless (`blameless`).

pub mod actions;
pub mod assemble;
pub mod blameless;
pub mod model;

pub use assemble::{RunFacts, assemble};
pub use model::RunReport;
pub mod markdown;
pub mod templates;
pub mod timeline;

pub mod files;
#[cfg(test)]
pub(crate) mod fixture;
pub mod junit;

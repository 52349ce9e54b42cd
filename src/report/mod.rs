//! The reports a team reads after a game day: result.json (`model`, built by
//! `assemble`), report.md with the blameless postmortem draft (`markdown`,
//! `timeline`, `templates`), junit.xml for CI (`junit`), the rules that
//! derive action items (`actions`), the name scrubbing that keeps the draft
//! blameless (`blameless`), and writing them all into the run directory
//! (`files`), and what a tabletop drill adds: injects, objectives and the
//! exercise evaluation (`exercise`).

pub mod actions;
pub mod assemble;
pub mod blameless;
pub mod chart;
pub mod exercise;
pub mod files;
pub mod html;
pub mod junit;
pub mod live;
pub mod markdown;
pub mod model;
pub mod paging;
pub mod record;
pub mod replay;
pub mod templates;
pub mod terminal;
pub mod timeline;

#[cfg(test)]
pub(crate) mod fixture;
#[cfg(test)]
mod postmortem_matrix;

pub use assemble::{RunFacts, assemble};
pub use model::RunReport;

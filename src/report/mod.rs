//! The reports a team reads after a game day: result.json (`model`) and
//! report.md with the blameless postmortem draft (`markdown`).

pub mod model;

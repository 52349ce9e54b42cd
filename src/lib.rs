//! gameday: chaos game days and incident-response drills.
//!
//! The binary in `main.rs` is a thin shell over this library so that the
//! demo, the tests and the benchmarks drive exactly the code users run.

pub mod cli;
pub mod config;
pub mod diag;
pub mod history;
pub mod scenario;
pub mod yaml;

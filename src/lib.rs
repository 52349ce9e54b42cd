//! gameday: chaos game days and incident-response drills.
//!
//! The binary in `main.rs` is a thin shell over this library so that the
//! demo, the tests and the benchmarks drive exactly the code users run.

pub mod app;
pub mod cli;
pub mod config;
pub mod demo;
pub mod diag;
pub mod drill;
pub mod engine;
pub mod exit;
pub mod faults;
pub mod history;
pub mod incident;
pub mod k8s;
pub mod observe;
pub mod report;
pub mod respond;
pub mod sandbox;
pub mod scenario;
pub mod score;
pub mod tabletop;
pub mod term;
pub mod values;
pub mod yaml;

//! gameday: chaos game days and incident-response drills.
//!
//! The binary in `main.rs` is a thin shell over this library so that the
//! demo, the tests and the benchmarks drive exactly the code users run.

pub mod app;
pub mod calendar;
pub mod cli;
pub mod config;
pub mod demo;
pub mod drill;
pub mod engine;
pub mod exit;
pub mod faults;
pub mod history;
pub mod incident;
pub mod k8s;
pub mod observe;
pub mod paging;
pub mod readiness;
pub mod report;
pub mod respond;
pub mod scenario;
pub mod score;
pub mod tabletop;
pub mod term;
pub mod values;

// The spanned YAML and its diagnostics live in `crates/spanned` (the sandbox
// needs them, not the runner); re-exported so `crate::diag` and
// `crate::yaml` read as before.
pub use gameday_spanned::{diag, yaml};

// The Kubernetes-API simulator is `crates/sandbox`; re-exported so
// `crate::sandbox::…` (and `gameday::sandbox::…` in tests) read as before.
pub use gameday_sandbox as sandbox;

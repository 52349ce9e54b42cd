//! The sandbox: a simulated cluster that real clients cannot tell from one.

pub mod metrics;
pub mod snapshot;
pub mod traffic;
pub mod world;

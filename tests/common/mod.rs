//! Shared integration-test support. Each test binary uses a different part
//! of it, so unused items are expected.
#![allow(dead_code)]

pub mod cli;
pub mod golden;
pub mod harness;
pub mod postgres;
pub mod strict_json;

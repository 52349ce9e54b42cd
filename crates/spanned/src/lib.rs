//! YAML with positions, for every file gameday and its sandbox read
//! (scenarios, the config, sandbox worlds).
//!
//! Why a crate of its own: it is the one part of gameday that the sandbox
//! (`gameday-sandbox`) needs, so with it split out the sandbox builds without
//! the runner, and the runner's changes do not rebuild the sandbox. It knows
//! nothing of either: no scenario, no fault, no Kubernetes.
//!
//! - [`diag`]: one mistake in one file, with its position, rendered like rustc;
//! - [`yaml`]: the spanned parser and the JSON-Schema checker that reports
//!   every mistake of a file, not just the first;
//! - [`values`]: the scalar types whose own parsers the checker calls for
//!   better messages than "does not match" (durations, expectations).

pub mod diag;
pub mod values;
pub mod yaml;

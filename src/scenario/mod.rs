//! Scenario format v1: the typed model, its value types, and (in `load` and
//! `validate`) the loader that explains every mistake with a position.

pub mod fault_spec;
mod fault_type;
mod load;
pub mod model;
mod promql;
pub mod validate;

/// The value types moved to `values` (config needs them too); these paths
/// keep `scenario::Duration` and `scenario::duration::Duration` working.
pub use crate::values::{duration, expectation};
pub use fault_spec::{FaultRules, FaultSpec, NoParams, ParamCheck};
pub use load::{documents, load_file, load_parsed, load_str, read_then, verdict};
pub use model::*;

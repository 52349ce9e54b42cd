//! Exit codes, as documented in DESIGN.md and the README.
//!
//! Why a module of its own at the bottom of the layer order: the engine's run
//! outcome and the report's run status both map to these codes, and neither
//! may depend on the CLI that finally calls `std::process::exit`.

pub const OK: i32 = 0;
pub const FAILED: i32 = 1;
pub const USAGE: i32 = 2;
pub const ABORTED: i32 = 3;
pub const UNREACHABLE: i32 = 4;
pub const REVERT_FAILED: i32 = 5;

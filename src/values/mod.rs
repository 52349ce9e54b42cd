//! The value types of gameday's file formats, shared by scenarios and the
//! config file: durations, expectations, the incident roles, `apiVersion`
//! and DNS labels.
//!
//! Why a module of its own: `config` and `scenario` both use them, and the
//! YAML checker parses durations and expectations to give better messages.
//! Kept here, below all three, none of them has to import another sideways.
//!
//! `Duration` and `Expectation` live in `crates/spanned`, because its YAML
//! checker parses them (and the sandbox parses durations); they are
//! re-exported here under their old paths.

pub mod api_version;
pub mod cron;
pub mod dns;
pub mod roles;

pub use api_version::ApiVersion;
pub use dns::is_dns_label;
pub use gameday_spanned::values::{Duration, Expectation, duration, expectation};
pub use roles::RoleName;

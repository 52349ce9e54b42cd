//! The value types of gameday's file formats, shared by scenarios and the
//! config file: durations, expectations, the incident roles, `apiVersion`
//! and DNS labels.
//!
//! Why a module of its own: `config` and `scenario` both use them, and the
//! YAML checker parses durations and expectations to give better messages.
//! Kept here, below all three, none of them has to import another sideways.

pub mod api_version;
pub mod dns;
pub mod duration;
pub mod expectation;
pub mod roles;

pub use api_version::ApiVersion;
pub use dns::is_dns_label;
pub use duration::Duration;
pub use expectation::Expectation;
pub use roles::RoleName;

//! The human side of a incident: what responders did (events), who held which
//! role and when (roles), and how far the runbook got (runbook). Pure state,
//! fed by the engine from the responder API, autopilot and Alertmanager
//! silences, so that scoring and reports never depend on where an event came from.

pub mod event;
pub mod log;
pub mod roles;
pub mod runbook;

pub use event::{
    Action, EventSource, JOURNAL_EVENT, ParseActionError, ResponderEvent, describe, parse_role,
    role_label,
};
pub use log::Incident;
pub use roles::{AssignedBy, RoleAssignment, RoleBook};
pub use runbook::{RunbookProgress, StepProgress};

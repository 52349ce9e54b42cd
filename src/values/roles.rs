//! The incident roles, named by both scenarios (`response.roles`) and the
//! config (`requiredRoles`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The incident roles a responder can be assigned to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum RoleName {
    IncidentCommander,
    Communications,
    Operations,
    Sme,
}

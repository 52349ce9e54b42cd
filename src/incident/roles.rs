//! Who held which incident role, and since when. Roles named in the scenario
//! count as assigned at T0 (the team walked in with them); `assign` events add
//! or hand over roles during the drill.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::scenario::{RoleName, Roles};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AssignedBy {
    /// Named under `response.roles` in the scenario.
    Scenario,
    /// An `assign` responder event.
    Event,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    pub role: RoleName,
    pub person: String,
    pub at: Timestamp,
    pub assigned_by: AssignedBy,
}

/// Every assignment in time order; a later one for the same role is a handover.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RoleBook {
    assignments: Vec<RoleAssignment>,
}

impl RoleBook {
    /// Pre-assigns the scenario's roles at `t0` (the first injection).
    pub fn from_scenario(roles: Option<&Roles>, t0: Timestamp) -> RoleBook {
        let mut book = RoleBook::default();
        let Some(r) = roles else { return book };
        let singles = [
            (RoleName::IncidentCommander, &r.incident_commander),
            (RoleName::Communications, &r.communications),
            (RoleName::Operations, &r.operations),
        ];
        for (role, person) in singles {
            if let Some(p) = person.as_deref().filter(|p| !p.trim().is_empty()) {
                book.push(role, p, t0, AssignedBy::Scenario);
            }
        }
        for p in r.sme.iter().filter(|p| !p.trim().is_empty()) {
            book.push(RoleName::Sme, p, t0, AssignedBy::Scenario);
        }
        book
    }

    /// Rebuilds a book from saved assignments (result.json, the journal).
    pub fn from_assignments(assignments: impl IntoIterator<Item = RoleAssignment>) -> RoleBook {
        let mut book = RoleBook::default();
        for a in assignments {
            book.push(a.role, &a.person, a.at, a.assigned_by);
        }
        book
    }

    pub fn assign(&mut self, role: RoleName, person: &str, at: Timestamp) {
        self.push(role, person, at, AssignedBy::Event);
    }

    fn push(&mut self, role: RoleName, person: &str, at: Timestamp, by: AssignedBy) {
        let a = RoleAssignment {
            role,
            person: person.to_string(),
            at,
            assigned_by: by,
        };
        // Keep time order even if events arrive late (stable for equal times).
        let idx = self.assignments.partition_point(|x| x.at <= at);
        self.assignments.insert(idx, a);
    }

    pub fn assignments(&self) -> &[RoleAssignment] {
        &self.assignments
    }

    /// When the role was first *taken* (issue 14, "scoring truths"): an
    /// `assign` to it, or the first action of a person the file named for
    /// it. A name in the file is the planned roster; a role nobody took
    /// during the incident was not filled.
    pub fn first_taken(
        &self,
        role: RoleName,
        events: &[super::ResponderEvent],
    ) -> Option<Timestamp> {
        self.assignments
            .iter()
            .filter(|a| a.role == role)
            .filter_map(|a| match a.assigned_by {
                AssignedBy::Event => Some(a.at),
                AssignedBy::Scenario => events
                    .iter()
                    .filter(|e| e.person == a.person && e.at >= a.at)
                    .map(|e| e.at)
                    .min(),
            })
            .min()
    }

    /// When the role was first held by anyone.
    pub fn first_filled(&self, role: RoleName) -> Option<Timestamp> {
        self.assignments
            .iter()
            .find(|a| a.role == role)
            .map(|a| a.at)
    }

    /// The roles `person` held at `at` (SMEs may be several people).
    pub fn roles_of(&self, person: &str, at: Timestamp) -> Vec<RoleName> {
        let mut out = Vec::new();
        for role in [
            RoleName::IncidentCommander,
            RoleName::Communications,
            RoleName::Operations,
        ] {
            if self.holder_at(role, at) == Some(person) {
                out.push(role);
            }
        }
        if self
            .assignments
            .iter()
            .any(|a| a.role == RoleName::Sme && a.person == person && a.at <= at)
        {
            out.push(RoleName::Sme);
        }
        out
    }

    /// The current holder of a single-holder role at `at`.
    pub fn holder_at(&self, role: RoleName, at: Timestamp) -> Option<&str> {
        self.assignments
            .iter()
            .rfind(|a| a.role == role && a.at <= at)
            .map(|a| a.person.as_str())
    }

    /// Everyone who held any role at any time.
    pub fn people(&self) -> BTreeSet<&str> {
        self.assignments.iter().map(|a| a.person.as_str()).collect()
    }

    /// Roles that were held at some point.
    pub fn filled_roles(&self) -> BTreeSet<RoleName> {
        self.assignments.iter().map(|a| a.role).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    #[test]
    fn scenario_roles_hold_from_t0_and_handovers_take_over() {
        let roles = Roles {
            incident_commander: Some("ic-oncall".into()),
            communications: None,
            operations: Some("ops-oncall".into()),
            sme: vec!["payments-sme".into()],
        };
        let mut book = RoleBook::from_scenario(Some(&roles), t(0));
        assert_eq!(book.first_filled(RoleName::IncidentCommander), Some(t(0)));
        assert_eq!(book.first_filled(RoleName::Communications), None);
        book.assign(RoleName::Communications, "comms-oncall", t(30));
        book.assign(RoleName::IncidentCommander, "ops-oncall", t(60));
        assert_eq!(book.first_filled(RoleName::Communications), Some(t(30)));
        assert_eq!(
            book.holder_at(RoleName::IncidentCommander, t(59)),
            Some("ic-oncall")
        );
        assert_eq!(
            book.holder_at(RoleName::IncidentCommander, t(60)),
            Some("ops-oncall")
        );
        assert_eq!(
            book.roles_of("ops-oncall", t(61)),
            vec![RoleName::IncidentCommander, RoleName::Operations]
        );
        assert_eq!(book.roles_of("payments-sme", t(1)), vec![RoleName::Sme]);
        assert_eq!(book.people().len(), 4);
    }

    #[test]
    fn late_arriving_assignments_stay_in_time_order() {
        let mut book = RoleBook::default();
        book.assign(RoleName::Operations, "b", t(20));
        book.assign(RoleName::Operations, "a", t(10));
        assert_eq!(book.first_filled(RoleName::Operations), Some(t(10)));
        assert_eq!(book.holder_at(RoleName::Operations, t(25)), Some("b"));
    }
}

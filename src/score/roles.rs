//! Role coverage: each required role filled before its deadline, SEV1/SEV2
//! with an explicit IC and comms lead, and the "hero-dependent response"
//! anti-pattern (one person holding every role).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::incident::{ResponderEvent, RoleBook};
use crate::scenario::RoleName;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleCheck {
    pub role: RoleName,
    pub required: bool,
    pub filled_at: Option<Timestamp>,
    /// None: no deadline (no ack target), so any time in the run counts.
    pub deadline: Option<Timestamp>,
    pub filled_in_time: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleCoverage {
    pub checks: Vec<RoleCheck>,
    /// One person held every role that was filled (and at least two were).
    pub hero_dependent: bool,
    /// None: no role is required at this severity.
    pub score: Option<f64>,
}

/// `deadline` is the page time plus the ack target: roles are due by the time
/// the page should have been acknowledged. A role counts from when it was
/// taken (`RoleBook::first_taken`: an `assign`, or the first action of the
/// person the file named), not from the roster written in the file.
pub fn coverage(
    book: &RoleBook,
    events: &[ResponderEvent],
    required: &[RoleName],
    deadline: Option<Timestamp>,
) -> RoleCoverage {
    let all = [
        RoleName::IncidentCommander,
        RoleName::Communications,
        RoleName::Operations,
        RoleName::Sme,
    ];
    let checks: Vec<RoleCheck> = all
        .iter()
        .filter(|r| required.contains(r) || book.first_filled(**r).is_some())
        .map(|&role| {
            let filled_at = book.first_taken(role, events);
            RoleCheck {
                role,
                required: required.contains(&role),
                filled_at,
                deadline,
                filled_in_time: match (filled_at, deadline) {
                    (Some(f), Some(d)) => f <= d,
                    (Some(_), None) => true,
                    (None, _) => false,
                },
            }
        })
        .collect();
    let req: Vec<&RoleCheck> = checks.iter().filter(|c| c.required).collect();
    let score = (!req.is_empty())
        .then(|| req.iter().filter(|c| c.filled_in_time).count() as f64 / req.len() as f64);
    let hero_dependent = book.filled_roles().len() >= 2 && book.people().len() == 1;
    RoleCoverage {
        checks,
        hero_dependent,
        score,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    const MAJOR: [RoleName; 2] = [RoleName::IncidentCommander, RoleName::Communications];

    #[test]
    fn sev1_without_ic_loses_half() {
        let mut book = RoleBook::default();
        book.assign(RoleName::Communications, "comms", t(10));
        book.assign(RoleName::Operations, "ops", t(10));
        let c = coverage(&book, &[], &MAJOR, Some(t(300)));
        assert_eq!(c.score, Some(0.5));
        let ic = c
            .checks
            .iter()
            .find(|c| c.role == RoleName::IncidentCommander)
            .unwrap();
        assert!(ic.required && !ic.filled_in_time && ic.filled_at.is_none());
        assert!(!c.hero_dependent);
        // Operations was filled but not required: shown, not scored.
        assert!(
            c.checks
                .iter()
                .any(|c| c.role == RoleName::Operations && !c.required)
        );
    }

    #[test]
    fn filled_exactly_at_deadline_counts_after_does_not() {
        let mut book = RoleBook::default();
        book.assign(RoleName::IncidentCommander, "a", t(300));
        book.assign(RoleName::Communications, "b", t(301));
        let c = coverage(&book, &[], &MAJOR, Some(t(300)));
        assert_eq!(c.score, Some(0.5));
    }

    #[test]
    fn one_person_in_every_role_is_hero_dependent() {
        let mut book = RoleBook::default();
        for r in [
            RoleName::IncidentCommander,
            RoleName::Communications,
            RoleName::Operations,
        ] {
            book.assign(r, "alice", t(5));
        }
        let c = coverage(&book, &[], &MAJOR, Some(t(300)));
        assert!(c.hero_dependent);
        assert_eq!(c.score, Some(1.0));
        let mut single = RoleBook::default();
        single.assign(RoleName::Operations, "alice", t(5));
        assert!(!coverage(&single, &[], &[RoleName::Operations], None).hero_dependent);
    }

    #[test]
    fn a_role_named_in_the_file_counts_only_once_its_holder_acts() {
        use crate::incident::{Action, EventSource};
        let roles = crate::scenario::Roles {
            incident_commander: Some("ic".into()),
            communications: Some("comms".into()),
            ..Default::default()
        };
        let book = RoleBook::from_scenario(Some(&roles), t(0));
        let ev = |s: i64, who: &str| ResponderEvent {
            at: t(s),
            person: who.into(),
            source: EventSource::Cli,
            action: Action::Ack,
        };
        let c = coverage(&book, &[ev(40, "ic")], &MAJOR, Some(t(300)));
        assert_eq!(c.score, Some(0.5), "comms never acted: planned, not taken");
        let ic = c
            .checks
            .iter()
            .find(|c| c.role == RoleName::IncidentCommander)
            .unwrap();
        assert_eq!(ic.filled_at, Some(t(40)), "taken at the IC's first action");
        let late = coverage(
            &book,
            &[ev(40, "ic"), ev(400, "comms")],
            &MAJOR,
            Some(t(300)),
        );
        assert_eq!(
            late.score,
            Some(0.5),
            "comms took the role after the deadline"
        );
    }

    #[test]
    fn nothing_required_is_not_scored_and_nobody_scores_zero() {
        assert_eq!(coverage(&RoleBook::default(), &[], &[], None).score, None);
        assert_eq!(
            coverage(&RoleBook::default(), &[], &MAJOR, None).score,
            Some(0.0)
        );
    }
}

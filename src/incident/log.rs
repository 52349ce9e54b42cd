//! The incident as responders worked it: every responder event in arrival order, with the
//! role book and runbook progress they imply.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::event::{Action, ResponderEvent};
use super::roles::RoleBook;
use super::runbook::RunbookProgress;
use crate::scenario::Response;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    pub events: Vec<ResponderEvent>,
    pub roles: RoleBook,
    pub runbook: RunbookProgress,
}

impl Incident {
    /// Starts a drill at `t0` (the first injection) from the scenario's
    /// `response` section.
    pub fn new(response: Option<&Response>, t0: Timestamp) -> Incident {
        Incident {
            events: Vec::new(),
            roles: RoleBook::from_scenario(response.and_then(|r| r.roles.as_ref()), t0),
            runbook: RunbookProgress::new(response.and_then(|r| r.runbook.as_ref())),
        }
    }

    /// Records an event. Besides `step ID`, the responder actions tick the
    /// runbook step named after them (`ack`, `declare`, `assign`, `update`,
    /// `resolve`; docs/response.md): a runbook that lists "Acknowledge the
    /// page" as step `ack` is followed when someone acknowledges, by
    /// `respond ack`, autopilot or an Alertmanager silence, without a second
    /// command that only restates it.
    pub fn record(&mut self, event: ResponderEvent) {
        match &event.action {
            Action::Assign { role, person } => self.roles.assign(*role, person, event.at),
            Action::Step { step } => self.runbook.claim(step, &event.person, event.at),
            _ => {}
        }
        if let Some(id) = event.action.step_id() {
            self.runbook.claim_if_listed(id, &event.person, event.at);
        }
        self.events.push(event);
    }

    fn first(&self, pred: impl Fn(&Action) -> bool) -> Option<&ResponderEvent> {
        self.events
            .iter()
            .filter(|e| pred(&e.action))
            .min_by_key(|e| e.at)
    }

    /// T_ack: the first acknowledgement from any source.
    pub fn t_ack(&self) -> Option<Timestamp> {
        self.first(|a| matches!(a, Action::Ack)).map(|e| e.at)
    }

    /// T_declare and the severity first declared.
    pub fn declared(&self) -> Option<(Timestamp, &str)> {
        self.first(|a| matches!(a, Action::Declare { .. }))
            .and_then(|e| match &e.action {
                Action::Declare { severity } => Some((e.at, severity.as_str())),
                _ => None,
            })
    }

    /// T_comm[i]: every status update, in time order.
    pub fn updates(&self) -> Vec<Timestamp> {
        let mut v: Vec<Timestamp> = self
            .events
            .iter()
            .filter(|e| matches!(e.action, Action::Update { .. }))
            .map(|e| e.at)
            .collect();
        v.sort();
        v
    }

    /// The responders' own `resolve`.
    pub fn t_resolve(&self) -> Option<Timestamp> {
        self.first(|a| matches!(a, Action::Resolve)).map(|e| e.at)
    }

    /// Every name the drill knows: role holders and everyone who acted.
    /// The blameless report scrubs these from free text.
    pub fn people(&self) -> Vec<String> {
        let mut v: Vec<String> = self.roles.people().into_iter().map(String::from).collect();
        for e in &self.events {
            v.push(e.person.clone());
            if let Action::Assign { person, .. } = &e.action {
                v.push(person.clone());
            }
        }
        v.retain(|p| !p.trim().is_empty());
        v.sort();
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::EventSource;
    use crate::scenario::RoleName;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    fn ev(s: i64, who: &str, action: Action) -> ResponderEvent {
        ResponderEvent {
            at: t(s),
            person: who.into(),
            source: EventSource::Cli,
            action,
        }
    }

    #[test]
    fn events_feed_roles_runbook_and_first_times() {
        let mut d = Incident::new(None, t(0));
        d.record(ev(30, "b", Action::Ack));
        d.record(ev(20, "silence-bot", Action::Ack));
        d.record(ev(
            40,
            "a",
            Action::Assign {
                role: RoleName::IncidentCommander,
                person: "a".into(),
            },
        ));
        d.record(ev(
            50,
            "a",
            Action::Declare {
                severity: "SEV2".into(),
            },
        ));
        d.record(ev(
            70,
            "c",
            Action::Update {
                message: "x".into(),
            },
        ));
        d.record(ev(
            60,
            "c",
            Action::Update {
                message: "y".into(),
            },
        ));
        d.record(ev(80, "a", Action::Resolve));
        assert_eq!(d.t_ack(), Some(t(20)));
        assert_eq!(d.declared(), Some((t(50), "SEV2")));
        assert_eq!(d.updates(), vec![t(60), t(70)]);
        assert_eq!(d.t_resolve(), Some(t(80)));
        assert_eq!(
            d.roles.first_filled(RoleName::IncidentCommander),
            Some(t(40))
        );
        assert_eq!(d.people(), vec!["a", "b", "c", "silence-bot"]);
    }

    #[test]
    fn responder_actions_tick_the_runbook_step_named_after_them() {
        let response: Response = serde_yaml::from_str(
            "runbook: {steps: [{id: ack}, {id: mitigate}, {id: update}, {id: resolve}]}",
        )
        .unwrap();
        let mut d = Incident::new(Some(&response), t(0));
        d.record(ev(5, "silence-bot", Action::Ack));
        d.record(ev(6, "alice", Action::Ack));
        d.record(ev(
            7,
            "alice",
            Action::Step {
                step: "mitigate".into(),
            },
        ));
        d.record(ev(
            8,
            "alice",
            Action::Declare {
                severity: "SEV3".into(),
            },
        ));
        d.record(ev(9, "bob", Action::Note { text: "x".into() }));
        d.record(ev(10, "alice", Action::Resolve));
        assert_eq!(d.runbook.done_order(), vec!["ack", "mitigate", "resolve"]);
        // The first acknowledgement counts, whoever made it.
        assert_eq!(
            d.runbook.steps[0].claimed_by.as_deref(),
            Some("silence-bot")
        );
        assert_eq!(d.runbook.steps[0].claimed_at, Some(t(5)));
        // Acting is never a claim of an unlisted step.
        assert!(d.runbook.unknown_claims.is_empty());
    }
}

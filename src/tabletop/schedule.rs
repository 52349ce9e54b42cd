//! Which injects are due, in drill time (drill-v1.md, "Conditional
//! injects"). Pure: the runner asks with the drill time and the responder
//! events so far, and gets back what to fire, what can never fire, and when
//! to look again. Keeping it free of clocks and I/O is what makes a drill
//! replay the same way twice.

use std::time::Duration;

use jiff::Timestamp;

use crate::drill::{Drill, Inject};
use crate::incident::{Incident, ResponderEvent};

/// Where one inject stands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum State {
    Waiting,
    /// Fired at this drill time.
    Fired(Duration),
    /// Judged not to fire: its `noEvent` happened, the inject it follows
    /// never fired, the facilitator skipped it, or the drill ended.
    Settled,
}

/// What the runner should do now.
#[derive(Debug, Default, PartialEq)]
pub struct Due {
    /// Inject indexes to fire now with the drill time each was due at, in
    /// drill-time order (ties: file order). An `after` counts its `delay`
    /// from the due time, so loop latency never accumulates down a chain.
    pub fire: Vec<(usize, Duration)>,
    /// Inject indexes that can no longer fire.
    pub settle: Vec<usize>,
    /// The next drill time at which something may become due.
    pub next: Option<Duration>,
}

pub struct Schedule<'d> {
    injects: &'d [Inject],
    pub states: Vec<State>,
}

impl<'d> Schedule<'d> {
    pub fn new(drill: &'d Drill) -> Self {
        Schedule {
            injects: &drill.spec.injects,
            states: vec![State::Waiting; drill.spec.injects.len()],
        }
    }

    pub fn index(&self, id: &str) -> Option<usize> {
        self.injects.iter().position(|i| i.id == id)
    }

    pub fn inject(&self, i: usize) -> &'d Inject {
        &self.injects[i]
    }

    /// Every inject has fired or settled.
    pub fn done(&self) -> bool {
        self.states.iter().all(|s| *s != State::Waiting)
    }

    /// When inject `i` is due, if that is known yet.
    fn due_at(&self, i: usize) -> Option<Duration> {
        let inject = &self.injects[i];
        if let Some(at) = inject.at {
            return Some(at.as_std());
        }
        let w = inject.when.as_ref()?;
        if let Some(by) = w.by.filter(|_| w.no_event.is_some()) {
            return Some(by.as_std());
        }
        let parent = self.index(w.after.as_deref()?)?;
        match self.states[parent] {
            State::Fired(t) => Some(t + w.delay.map_or(Duration::ZERO, |d| d.as_std())),
            _ => None,
        }
    }

    /// Whether an `after` inject's parent can no longer fire.
    fn orphaned(&self, i: usize) -> bool {
        let parent = self.injects[i]
            .when
            .as_ref()
            .and_then(|w| w.after.as_deref())
            .and_then(|a| self.index(a));
        parent.is_some_and(|p| self.states[p] == State::Settled)
    }

    /// The injects due at drill time `now`. `zero` is drill time zero, for
    /// comparing event timestamps (drill timestamps) with `by`.
    pub fn due(&self, now: Duration, incident: &Incident, zero: Timestamp) -> Due {
        let mut due = Due::default();
        let mut ready: Vec<(Duration, usize)> = Vec::new();
        for (i, state) in self.states.iter().enumerate() {
            if *state != State::Waiting {
                continue;
            }
            if self.orphaned(i) {
                due.settle.push(i);
                continue;
            }
            let Some(at) = self.due_at(i) else { continue };
            if at > now {
                due.next = Some(due.next.map_or(at, |n: Duration| n.min(at)));
                continue;
            }
            match &self.injects[i].when {
                Some(w) if w.no_event.is_some() && happened(w, incident, zero, at) => {
                    due.settle.push(i)
                }
                _ => ready.push((at, i)),
            }
        }
        ready.sort();
        due.fire = ready.into_iter().map(|(at, i)| (i, at)).collect();
        due
    }
}

/// Whether the event a `noEvent` condition waits for was recorded before
/// its `by` (by a holder of its role, when it names one).
fn happened(
    w: &crate::drill::Condition,
    incident: &Incident,
    zero: Timestamp,
    by: Duration,
) -> bool {
    let Some(kind) = w.no_event else { return false };
    let deadline = zero
        .checked_add(jiff::SignedDuration::try_from(by).unwrap_or(jiff::SignedDuration::MAX))
        .unwrap_or(Timestamp::MAX);
    incident.events.iter().any(|e: &ResponderEvent| {
        e.action.kind() == kind
            && e.at < deadline
            && w.role
                .is_none_or(|r| incident.roles.roles_of(&e.person, e.at).contains(&r))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::incident::{Action, EventSource};

    const DRILL: &str = r#"apiVersion: gameday/v1
kind: Drill
metadata: {name: t}
spec:
  injects:
    - {id: page, at: 0s, message: {to: [all], text: p}}
    - {id: esc, when: {noEvent: ack, by: 5m}, escalate: {to: incidentCommander}}
    - {id: comms, when: {noEvent: update, by: 8m, role: communications}, message: {to: [incidentCommander], text: x}}
    - {id: hint, when: {after: esc, delay: 2m}, message: {to: [all], text: h}}
  response:
    roles: {incidentCommander: ic, communications: comms}
"#;

    fn drill() -> Drill {
        crate::drill::load_str(
            "d.yaml",
            DRILL,
            &Config::default(),
            &crate::faults::Registry,
        )
        .unwrap()
        .remove(0)
    }

    fn zero() -> Timestamp {
        Timestamp::from_second(1_700_000_000).unwrap()
    }

    fn event(secs: i64, person: &str, action: Action) -> ResponderEvent {
        ResponderEvent {
            at: Timestamp::from_second(1_700_000_000 + secs).unwrap(),
            person: person.into(),
            source: EventSource::Cli,
            action,
        }
    }

    fn m(min: u64) -> Duration {
        Duration::from_secs(min * 60)
    }

    #[test]
    fn no_event_fires_when_nobody_acted_and_after_follows_it() {
        let d = drill();
        let incident = Incident::new(d.spec.response.as_ref(), zero());
        let mut s = Schedule::new(&d);
        let due = s.due(Duration::ZERO, &incident, zero());
        assert_eq!(due.fire, [(0, Duration::ZERO)]);
        assert_eq!(due.next, Some(m(5)));
        s.states[0] = State::Fired(Duration::ZERO);
        assert_eq!(s.due(m(5), &incident, zero()).fire, [(1, m(5))]);
        s.states[1] = State::Fired(m(5));
        let due = s.due(m(5), &incident, zero());
        assert_eq!(due.next, Some(m(7)), "after esc + 2m");
        assert_eq!(s.due(m(7), &incident, zero()).fire, [(3, m(7))]);
    }

    #[test]
    fn no_event_settles_when_the_event_came_first_and_its_followers_with_it() {
        let d = drill();
        let mut incident = Incident::new(d.spec.response.as_ref(), zero());
        incident.record(event(30, "ops", Action::Ack));
        let mut s = Schedule::new(&d);
        s.states[0] = State::Fired(Duration::ZERO);
        let due = s.due(m(5), &incident, zero());
        assert_eq!(
            (due.fire.as_slice(), due.settle.as_slice()),
            (&[][..], &[1][..])
        );
        s.states[1] = State::Settled;
        assert_eq!(
            s.due(m(5), &incident, zero()).settle,
            [3],
            "after a settled inject never fires"
        );
    }

    #[test]
    fn a_no_event_with_a_role_counts_only_that_roles_events() {
        let d = drill();
        let mut incident = Incident::new(d.spec.response.as_ref(), zero());
        incident.record(event(
            60,
            "ic",
            Action::Update {
                message: "u".into(),
            },
        ));
        let s = Schedule::new(&d);
        assert!(
            s.due(m(8), &incident, zero()).fire.contains(&(2, m(8))),
            "the IC's update is not comms'"
        );
        incident.record(event(
            120,
            "comms",
            Action::Update {
                message: "u".into(),
            },
        ));
        assert!(s.due(m(8), &incident, zero()).settle.contains(&2));
    }
}

//! A realistic pod-loss run for report tests, built from the shipped
//! scenario with people given human names so leaks are easy to spot.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::assemble::{RunFacts, assemble};
use super::model::{FaultRecord, Phase, ProbePoint, ProbeSeries, RunReport, RunStatus};
use crate::config::Config;
use crate::drill::{Action, Drill, EventSource, ResponderEvent};
use crate::scenario::{FaultType, RoleName, Roles, Scenario};
use crate::score::{AlertObservation, NoiseAlert, Observed, Targets};

pub const PEOPLE: [&str; 5] = ["alice.ic", "bob-comms", "carol", "dave", "erin"];

pub fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_780_000_000 + s).unwrap()
}

pub fn scenario() -> Scenario {
    let mut s: Scenario =
        serde_yaml::from_str(include_str!("../../scenarios/checkout-pod-loss.yaml")).unwrap();
    if let Some(r) = s.spec.response.as_mut() {
        r.roles = Some(Roles {
            incident_commander: Some("alice.ic".into()),
            communications: Some("bob-comms".into()),
            operations: None,
            sme: vec!["dave".into()],
        });
    }
    s
}

fn ev(s: i64, who: &str, source: EventSource, action: Action) -> ResponderEvent {
    ResponderEvent {
        at: t(s),
        person: who.into(),
        source,
        action,
    }
}

/// `good`: the alert fires and every step is done. Otherwise the alert
/// never fires, the critical step is never verified and no IC is named.
pub fn report(good: bool) -> RunReport {
    let mut scenario = scenario();
    if !good && let Some(r) = scenario.spec.response.as_mut() {
        r.roles = Some(Roles {
            communications: Some("bob-comms".into()),
            ..Roles::default()
        });
    }
    let mut alert = AlertObservation::expected(
        "CheckoutHighErrorRate",
        BTreeMap::from([("service".into(), "checkout".into())]),
        crate::scenario::Duration::from_secs(90),
    );
    alert.rule_found = true;
    if good {
        alert.t_active = Some(t(4));
        alert.t_fire = Some(t(6));
        alert.t_notify = Some(t(7));
        alert.t_resolve = Some(t(50));
        alert.rule_for_seconds = Some(2.0);
        alert.runbook_url = Some("https://runbooks.example/checkout".into());
    }
    let observed = Observed {
        t_inject: Some(t(0)),
        t_impact: Some(t(2)),
        t_mitigate: Some(t(30)),
        t_end: t(60),
        alerts: vec![alert],
        noise: vec![NoiseAlert {
            name: "KubePodNotReady".into(),
            labels: BTreeMap::new(),
            t_fire: Some(t(9)),
        }],
    };
    let mut drill = Drill::new(scenario.spec.response.as_ref(), t(0));
    drill.record(ev(8, "erin", EventSource::Silence, Action::Ack));
    drill.record(ev(
        9,
        "carol",
        EventSource::Cli,
        Action::Assign {
            role: RoleName::Operations,
            person: "carol".into(),
        },
    ));
    drill.record(ev(
        10,
        "alice.ic",
        EventSource::Autopilot,
        Action::Declare {
            severity: "SEV2".into(),
        },
    ));
    for (s, step) in [(11, "ack"), (12, "check-pods"), (13, "scale-up")] {
        drill.record(ev(
            s,
            "carol",
            EventSource::Cli,
            Action::Step { step: step.into() },
        ));
    }
    if good {
        drill.runbook.verified("scale-up", t(20));
    }
    drill.record(ev(
        15,
        "bob-comms",
        EventSource::Cli,
        Action::Update {
            message: "Checkout degraded; carol scaled it up, alice.ic is IC.".into(),
        },
    ));
    drill.record(ev(
        16,
        "dave",
        EventSource::Webhook,
        Action::Note {
            text: "dave thinks the | pipe breaks tables".into(),
        },
    ));
    drill.record(ev(45, "alice.ic", EventSource::Cli, Action::Resolve));
    let targets = Targets::resolve(&Config::default(), &scenario, None);
    let probe = |name: &str, expect: &str, dip: f64| ProbeSeries {
        name: name.into(),
        expect: expect.into(),
        during: Some(">= 0.95".into()),
        points: (0..30)
            .map(|i| {
                let phase = match i {
                    0..=4 => Phase::Before,
                    5..=19 => Phase::During,
                    _ => Phase::Recover,
                };
                let v = if phase == Phase::During { dip } else { 0.999 };
                ProbePoint {
                    at: t(2 * i - 10),
                    phase,
                    value: Some(v),
                    ok: v >= 0.95,
                }
            })
            .collect(),
    };
    assemble(RunFacts {
        run_id: "20260601T120000Z-checkout-pod-loss-ab12".into(),
        scenario: &scenario,
        status: RunStatus::Passed,
        status_reason: None,
        started: t(-10),
        ended: Some(t(60)),
        context: Some("gameday-sandbox".into()),
        faults: vec![FaultRecord {
            name: "kill-one-checkout-pod".into(),
            kind: FaultType::PodKill,
            targets: vec!["shop/Pod/checkout-7d4b9c-x2x9q".into()],
            injected_at: Some(t(0)),
            reverted_at: Some(t(0)),
            revert_error: None,
        }],
        probes: vec![probe(
            "checkout-success",
            ">= 0.99",
            if good { 0.97 } else { 0.9 },
        )],
        observed,
        drill,
        targets,
    })
}

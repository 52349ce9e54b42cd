//! A realistic pod-loss run for report tests, built from the shipped
//! scenario with people given human names so leaks are easy to spot.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::assemble::{RunFacts, assemble};
use super::model::{FaultRecord, Phase, ProbePoint, ProbeSeries, RunReport, RunStatus};
use crate::config::Config;
use crate::incident::{Action, EventSource, Incident, ResponderEvent};
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

/// One run outcome for report tests: what happened, from which the
/// observations, probe readings and responder events are built.
#[derive(Debug, Clone)]
pub struct Case {
    pub status: RunStatus,
    /// Whether the fault went in (false: not-run, refused, unreachable).
    pub injected: bool,
    pub alert_fires: bool,
    /// The critical step's verify probe held, and an IC was named.
    pub good_response: bool,
    /// The SLI's value while the fault is active.
    pub dip: f64,
    /// Recovery readings: how many still fail, then how many hold (the
    /// first holding one is T_mitigate; none holding: never recovered).
    pub recover: (usize, usize),
    /// Prometheus down after the injection: every later reading unknown.
    pub unreadable: bool,
    /// Seconds after the injection the run ended.
    pub end: i64,
    /// Overrides the scenario's `response.severity` (SEV2).
    pub severity: Option<&'static str>,
}

impl Case {
    pub fn good() -> Case {
        Case {
            status: RunStatus::Passed,
            injected: true,
            alert_fires: true,
            good_response: true,
            dip: 0.97,
            recover: (0, 10),
            unreadable: false,
            end: 60,
            severity: None,
        }
    }

    pub fn bad() -> Case {
        Case {
            alert_fires: false,
            good_response: false,
            dip: 0.9,
            ..Case::good()
        }
    }
}

/// `good`: the alert fires and every step is done. Otherwise the alert
/// never fires, the critical step is never verified and no IC is named.
pub fn report(good: bool) -> RunReport {
    build(&if good { Case::good() } else { Case::bad() })
}

/// The outcomes the postmortem must describe without contradicting its
/// scorecard: passed (with a recovery that took a few readings), failed
/// (never recovered, alert silent), aborted early by a guardrail, not-run,
/// and Prometheus down.
pub fn matrix() -> Vec<(&'static str, RunReport)> {
    vec![
        (
            "passed",
            build(&Case {
                recover: (3, 1),
                ..Case::good()
            }),
        ),
        (
            "failed",
            build(&Case {
                status: RunStatus::Failed,
                recover: (10, 0),
                end: 120,
                ..Case::bad()
            }),
        ),
        (
            "aborted",
            build(&Case {
                status: RunStatus::Aborted,
                alert_fires: false,
                dip: 0.5,
                recover: (1, 1),
                end: 12,
                ..Case::good()
            }),
        ),
        (
            "not-run",
            build(&Case {
                status: RunStatus::NotRun,
                injected: false,
                alert_fires: false,
                recover: (0, 0),
                end: 0,
                ..Case::good()
            }),
        ),
        (
            "prometheus-down",
            build(&Case {
                status: RunStatus::Aborted,
                alert_fires: false,
                unreadable: true,
                recover: (10, 0),
                end: 120,
                // SEV3 updates "on material change": no cadence to quote.
                severity: Some("SEV3"),
                ..Case::good()
            }),
        ),
    ]
}

fn alert(case: &Case) -> AlertObservation {
    let mut alert = AlertObservation::expected(
        "CheckoutHighErrorRate",
        BTreeMap::from([("service".into(), "checkout".into())]),
        crate::scenario::Duration::from_secs(90),
    );
    alert.rule_found = true;
    if case.alert_fires {
        alert.t_active = Some(t(4));
        alert.t_fire = Some(t(6));
        alert.t_notify = Some(t(7));
        alert.t_resolve = Some(t(50));
        alert.rule_for_seconds = Some(2.0);
        alert.runbook_url = Some("https://runbooks.example/checkout".into());
    }
    alert
}

/// Readings every 2 s from T-10s: 5 before, 15 during the fault (fewer when
/// the run ended sooner), then the recovery readings of `case.recover`.
fn probe(case: &Case) -> ProbeSeries {
    let point = |i: i64, phase: Phase, v: Option<f64>| ProbePoint {
        at: t(2 * i - 10),
        phase,
        value: v,
        ok: v.is_some_and(|v| v >= 0.95),
    };
    let mut points: Vec<ProbePoint> = (0..5)
        .map(|i| {
            point(
                i,
                Phase::Before,
                Some(if case.injected { 0.999 } else { 0.9 }),
            )
        })
        .collect();
    if case.injected {
        let during_end = 5 + (case.end / 2).clamp(1, 15);
        let v = |ok: bool| match (case.unreadable, ok) {
            (true, _) => None,
            (false, true) => Some(0.999),
            (false, false) => Some(case.dip),
        };
        points.extend((5..during_end).map(|i| point(i, Phase::During, v(false))));
        let (failing, holding) = case.recover;
        let recover = during_end..during_end + (failing + holding) as i64;
        points.extend(recover.map(|i| {
            let ok = i - during_end >= failing as i64;
            point(i, Phase::Recover, v(ok))
        }));
    }
    ProbeSeries {
        name: "checkout-success".into(),
        expect: ">= 0.99".into(),
        during: Some(">= 0.95".into()),
        points,
    }
}

fn observed(case: &Case, probe: &ProbeSeries) -> Observed {
    let t_mitigate = probe
        .points
        .iter()
        .find(|p| p.phase == Phase::Recover && p.ok)
        .map(|p| p.at);
    Observed {
        t_inject: case.injected.then(|| t(0)),
        t_impact: (case.injected && !case.unreadable).then(|| t(2)),
        t_mitigate,
        t_end: t(case.end),
        alerts: vec![alert(case)],
        noise: if case.injected {
            // One alert, two series: listed once with both label sets.
            ["checkout-a", "checkout-b"]
                .into_iter()
                .enumerate()
                .map(|(i, pod)| NoiseAlert {
                    name: "KubePodNotReady".into(),
                    labels: BTreeMap::from([
                        ("alertname".to_string(), "KubePodNotReady".to_string()),
                        ("pod".to_string(), pod.to_string()),
                    ]),
                    t_fire: Some(t(9 + i as i64)),
                })
                .collect()
        } else {
            vec![]
        },
        unreadable: crate::report::model::unreadable_probes([probe], case.injected.then(|| t(0))),
        paging: vec![],
    }
}

/// Responders as a real drill has them; nobody acts in a run that injected
/// nothing.
fn drill(case: &Case, scenario: &Scenario) -> Incident {
    let mut drill = Incident::new(scenario.spec.response.as_ref(), t(0));
    if !case.injected {
        return drill;
    }
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
    if case.good_response {
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
    drill
}

pub fn build(case: &Case) -> RunReport {
    let mut scenario = scenario();
    if !case.good_response
        && let Some(r) = scenario.spec.response.as_mut()
    {
        r.roles = Some(Roles {
            communications: Some("bob-comms".into()),
            ..Roles::default()
        });
    }
    if let (Some(sev), Some(r)) = (case.severity, scenario.spec.response.as_mut()) {
        r.severity = Some(sev.into());
    }
    let probe = probe(case);
    let observed = observed(case, &probe);
    let drill = drill(case, &scenario);
    let targets = Targets::resolve(&Config::default(), &scenario, None);
    assemble(RunFacts {
        run_id: "20260601T120000Z-checkout-pod-loss-ab12".into(),
        scenario: &scenario,
        status: case.status,
        status_reason: None,
        started: t(-10),
        ended: Some(t(case.end)),
        context: Some("gameday-sandbox".into()),
        faults: vec![FaultRecord {
            name: "kill-one-checkout-pod".into(),
            kind: FaultType::named("podKill"),
            targets: vec!["shop/Pod/checkout-7d4b9c-x2x9q".into()],
            injected_at: case.injected.then(|| t(0)),
            reverted_at: case.injected.then(|| t(0)),
            revert_error: None,
        }]
        .into_iter()
        .filter(|_| case.injected)
        .collect(),
        probes: vec![probe],
        observed,
        incident: drill,
        targets,
    })
}

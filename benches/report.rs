//! How long scoring and rendering take for a large drill, so the end of a
//! run (and `gameday report` on an old journal) stays instant. Prints the
//! median of 31 runs per stage; figures go in docs/performance.md.
//!
//! cargo bench --bench report

use std::collections::BTreeMap;
use std::time::{Duration as StdDuration, Instant};

use gameday::config::Config;
use gameday::incident::{Action, EventSource, Incident, ResponderEvent};
use gameday::report::model::{FaultRecord, Phase, ProbePoint, ProbeSeries, RunReport, RunStatus};
use gameday::report::{RunFacts, assemble, junit, markdown};
use gameday::scenario::{FaultType, RoleName, Scenario};
use gameday::score::{AlertObservation, Observed, Targets};
use jiff::Timestamp;

const PROBE_POINTS: i64 = 5_000;
const EVENTS: i64 = 1_000;
const ALERTS: usize = 20;
const PEOPLE: usize = 50;

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_780_000_000 + s).unwrap()
}

fn build(scenario: &Scenario) -> RunReport {
    let people: Vec<String> = (0..PEOPLE).map(|i| format!("person-{i}")).collect();
    let mut drill = Incident::new(scenario.spec.response.as_ref(), t(0));
    for i in 0..EVENTS {
        let who = &people[i as usize % PEOPLE];
        let action = match i % 4 {
            0 => Action::Assign {
                role: RoleName::Sme,
                person: who.clone(),
            },
            1 => Action::Update {
                message: format!(
                    "update {i} from {who}, handing over to {}",
                    people[(i as usize + 1) % PEOPLE]
                ),
            },
            2 => Action::Note {
                text: format!("note {i}: {who} checked the dashboards"),
            },
            _ => Action::Step {
                step: "scale-up".into(),
            },
        };
        drill.record(ResponderEvent {
            at: t(i),
            person: who.clone(),
            source: EventSource::Cli,
            action,
        });
    }
    let alerts = (0..ALERTS)
        .map(|i| {
            let mut a = AlertObservation::expected(
                &format!("Alert{i}"),
                BTreeMap::new(),
                gameday::scenario::Duration::from_secs(90),
            );
            a.t_active = Some(t(i as i64));
            a.t_fire = Some(t(i as i64 * 10));
            a.t_notify = Some(t(i as i64 * 10 + 1));
            a.rule_found = true;
            a
        })
        .collect();
    let probes = (0..3)
        .map(|p| ProbeSeries {
            name: format!("probe-{p}"),
            expect: ">= 0.99".into(),
            during: Some(">= 0.95".into()),
            points: (0..PROBE_POINTS)
                .map(|i| ProbePoint {
                    at: t(i),
                    phase: if i < 100 {
                        Phase::Before
                    } else {
                        Phase::During
                    },
                    value: Some(0.99),
                    ok: true,
                })
                .collect(),
        })
        .collect();
    assemble(RunFacts {
        run_id: "bench".into(),
        scenario,
        status: RunStatus::Passed,
        status_reason: None,
        started: t(-10),
        ended: Some(t(EVENTS)),
        context: None,
        faults: vec![FaultRecord {
            name: "f".into(),
            kind: FaultType::named("podKill"),
            targets: vec!["shop/Pod/x".into()],
            injected_at: Some(t(0)),
            reverted_at: Some(t(0)),
            revert_error: None,
        }],
        probes,
        observed: Observed {
            t_inject: Some(t(0)),
            t_impact: Some(t(1)),
            t_mitigate: Some(t(100)),
            t_end: t(EVENTS),
            alerts,
            noise: vec![],
            unreadable: vec![],
            paging: vec![],
        },
        incident: drill,
        targets: Targets::resolve(&Config::default(), scenario, None),
    })
}

fn median(mut f: impl FnMut()) -> StdDuration {
    let mut v: Vec<StdDuration> = (0..31)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed()
        })
        .collect();
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let scenario: Scenario =
        serde_yaml::from_str(include_str!("../scenarios/checkout-pod-loss.yaml")).unwrap();
    let report = build(&scenario);
    println!(
        "input: {} responder events, {} people, {} alerts, 3 probes x {} points",
        EVENTS, PEOPLE, ALERTS, PROBE_POINTS
    );
    let score = median(|| {
        std::hint::black_box(build(&scenario));
    });
    let md = median(|| {
        std::hint::black_box(markdown::render(&report));
    });
    let xml = median(|| {
        std::hint::black_box(junit::render(&report).unwrap());
    });
    let json = median(|| {
        std::hint::black_box(serde_json::to_vec(&report).unwrap());
    });
    println!(
        "median of 31: build+score+assemble {score:?}, report.md {md:?}, junit.xml {xml:?}, result.json {json:?}"
    );
}

//! junit.xml, for CI: one testsuite per run, one testcase per probe phase,
//! per expected alert, per critical runbook step, and one for the pass mark.
//! Every failure carries what was measured and the target it missed, so the
//! CI page alone says why the game day failed.

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::model::{Phase, ProbePoint, ProbeSeries, RunReport};
use crate::score::human_secs;

#[derive(Debug, thiserror::Error)]
#[error("writing junit.xml: {0}")]
pub struct JunitError(#[from] quick_junit::SerializeError);

fn failure(message: String, description: String) -> TestCaseStatus {
    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
    s.set_message(message).set_description(description);
    s
}

fn case(classname: &str, name: String, status: TestCaseStatus) -> TestCase {
    let mut c = TestCase::new(name, status);
    c.set_classname(classname.to_string());
    c
}

fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::Before => "before",
        Phase::During => "during",
        Phase::Recover => "recover",
    }
}

fn probe_cases(class: &str, p: &ProbeSeries) -> Vec<TestCase> {
    let mut out = Vec::new();
    for phase in [Phase::Before, Phase::During, Phase::Recover] {
        // Recovery readings fail until the SLI is back; the phase passes
        // when its last reading held, as report.md says "recovered".
        let held = match phase {
            Phase::Recover => p.recovered(),
            _ => p.phase_held(phase),
        };
        let Some(held) = held else {
            continue;
        };
        let target = match phase {
            Phase::During => p.during.as_deref().unwrap_or(&p.expect),
            _ => &p.expect,
        };
        let name = format!("steady-state {} {}", p.name, phase_name(phase));
        let status = if held {
            TestCaseStatus::success()
        } else {
            let failing = |x: &&ProbePoint| x.phase == phase && !x.ok;
            let bad = match phase {
                Phase::Recover => p.points.iter().rfind(failing),
                _ => p.points.iter().find(failing),
            };
            let measured = match bad.and_then(|b| b.value) {
                Some(v) => format!("{v}"),
                None => "unreadable".into(),
            };
            failure(
                format!("measured {measured}, expected {target}"),
                format!(
                    "probe {} did not hold `{target}` {} the faults ({} failing reading at {})",
                    p.name,
                    match phase {
                        Phase::Before => "before",
                        Phase::During => "during",
                        Phase::Recover => "after",
                    },
                    if phase == Phase::Recover {
                        "last"
                    } else {
                        "first"
                    },
                    bad.map(|b| b.at.to_string()).unwrap_or_default()
                ),
            )
        };
        out.push(case(class, name, status));
    }
    out
}

pub fn build(r: &RunReport) -> Report {
    let class = format!("gameday.{}", r.scenario.name);
    let mut suite = TestSuite::new(r.scenario.name.clone());
    suite.add_properties([
        Property::new("run-id", r.run_id.clone()),
        Property::new("status", r.status.as_str()),
        Property::new("started", r.started.to_string()),
        Property::new("hypothesis", r.scenario.hypothesis.clone()),
    ]);
    for p in &r.probes {
        suite.add_test_cases(probe_cases(&class, p));
    }
    for a in &r.detection {
        let target = a
            .target_seconds
            .map(human_secs)
            .unwrap_or_else(|| "-".into());
        let status = match a.ttd_seconds {
            None => failure(
                format!("never fired, target TTD {target}"),
                "detection failure: the expected alert did not fire during the run".into(),
            ),
            Some(m) if a.over_target() => failure(
                format!("TTD {}, target {target}", human_secs(m)),
                format!(
                    "rule latency {}, for: hold {}, pipeline {}",
                    a.parts
                        .rule_latency_seconds
                        .map(human_secs)
                        .unwrap_or_default(),
                    a.parts.for_hold_seconds.map(human_secs).unwrap_or_default(),
                    a.parts.pipeline_seconds.map(human_secs).unwrap_or_default()
                ),
            ),
            Some(_) => TestCaseStatus::success(),
        };
        suite.add_test_case(case(&class, format!("alert {}", a.name), status));
    }
    let t0 = r.moments.t_inject;
    for s in r.runbook.steps.iter().filter(|s| s.critical) {
        let target = s
            .within
            .map(|w| format!("done within {w}"))
            .unwrap_or_else(|| "done".into());
        let taken = match (t0, s.done_at()) {
            (Some(i), Some(d)) => Some(d.duration_since(i).as_secs_f64()),
            _ => None,
        };
        let status = match (taken, s.within) {
            (None, _) => failure(
                format!(
                    "{}, target {target}",
                    if s.unverified() {
                        "claimed but its verify probe never held"
                    } else {
                        "not done"
                    }
                ),
                format!(
                    "critical runbook step {}",
                    s.title.as_deref().unwrap_or(&s.id)
                ),
            ),
            (Some(m), Some(w)) if m > w.as_secs_f64() => failure(
                format!("done after {}, target {target}", human_secs(m)),
                format!("critical runbook step {} was late", s.id),
            ),
            _ => TestCaseStatus::success(),
        };
        suite.add_test_case(case(&class, format!("runbook step {}", s.id), status));
    }
    let card = &r.scorecard;
    let composite = card
        .composite
        .map(|c| format!("{c:.2}"))
        .unwrap_or_else(|| "n/a".into());
    let status = if card.passed {
        TestCaseStatus::success()
    } else {
        let vector: Vec<String> = card
            .components
            .iter()
            .map(|c| {
                format!(
                    "{}={}",
                    c.component.name(),
                    c.score
                        .map(|s| format!("{s:.2}"))
                        .unwrap_or_else(|| "n/a".into())
                )
            })
            .collect();
        failure(
            format!("composite {composite}, pass mark {:.2}", card.pass_mark),
            format!("{}\nvector: {}", card.reason, vector.join(" ")),
        )
    };
    suite.add_test_case(case(&class, "pass mark".into(), status));
    let mut report = Report::new("gameday");
    report.add_test_suite(suite);
    report
}

pub fn render(r: &RunReport) -> Result<String, JunitError> {
    Ok(build(r).to_string()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::report;

    fn parse(xml: &str) -> junit_parser::TestSuites {
        junit_parser::from_reader(std::io::Cursor::new(xml.as_bytes())).unwrap()
    }

    #[test]
    fn a_good_run_is_all_green_for_a_real_parser() {
        let xml = render(&report(true)).unwrap();
        let suites = parse(&xml);
        assert_eq!(suites.suites.len(), 1);
        let s = &suites.suites[0];
        assert_eq!(s.name, "checkout-pod-loss");
        let names: Vec<&str> = s.cases.iter().map(|c| c.original_name.as_str()).collect();
        assert!(
            s.cases
                .iter()
                .all(|c| c.classname.as_deref() == Some("gameday.checkout-pod-loss"))
        );
        assert_eq!(
            names,
            [
                "steady-state checkout-success before",
                "steady-state checkout-success during",
                "steady-state checkout-success recover",
                "alert CheckoutHighErrorRate",
                "runbook step scale-up",
                "pass mark",
            ]
        );
        assert_eq!(s.tests, 6);
        assert_eq!(s.failures, 0);
        assert!(s.cases.iter().all(|c| c.status.is_success()));
        assert_eq!(
            s.properties.hashmap.get("run-id").map(String::as_str),
            Some("20260601T120000Z-checkout-pod-loss-ab12")
        );
    }

    /// A run whose SLI took a few readings to come back recovered: the
    /// recover case passes, as report.md and result.json say.
    #[test]
    fn a_slow_recovery_is_a_passing_recover_case() {
        for (name, r) in crate::report::fixture::matrix() {
            let s = &parse(&render(&r).unwrap()).suites[0];
            let recover = s
                .cases
                .iter()
                .find(|c| c.original_name == "steady-state checkout-success recover");
            let recovered = r.probes[0].recovered();
            assert_eq!(recover.map(|c| c.status.is_success()), recovered, "{name}");
        }
    }

    #[test]
    fn a_failed_run_carries_measured_values_and_targets() {
        let xml = render(&report(false)).unwrap();
        let s = &parse(&xml).suites[0];
        assert_eq!(s.failures, 4, "{xml}");
        let msg = |name: &str| {
            let c = s.cases.iter().find(|c| c.original_name == name).unwrap();
            assert!(c.status.is_failure(), "{name} should fail");
            let f = c.status.failure_as_ref();
            (f.message.clone(), f.text.clone())
        };
        assert_eq!(
            msg("steady-state checkout-success during").0,
            "measured 0.9, expected >= 0.95"
        );
        assert_eq!(
            msg("alert CheckoutHighErrorRate").0,
            "never fired, target TTD 1m30s"
        );
        assert_eq!(
            msg("runbook step scale-up").0,
            "claimed but its verify probe never held, target done within 5m"
        );
        let (m, text) = msg("pass mark");
        assert_eq!(m, "composite 0.47, pass mark 0.70");
        assert!(text.contains("detect=0.00"), "{text}");
        assert!(
            s.cases
                .iter()
                .find(|c| c.original_name == "steady-state checkout-success before")
                .unwrap()
                .status
                .is_success()
        );
    }
}

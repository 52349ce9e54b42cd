//! `fault.no-visible-effect`: a warning, never a verdict. When a scenario
//! holds a fault whose write something besides the API server must apply
//! ([`crate::faults::FaultKind::enforced_by`]: a NetworkPolicy needs a CNI
//! that enforces it), and every guardrail probe (a probe with `during`)
//! kept its pre-fault value while faults were in force, the journal says
//! so and names that possibility: on a cluster whose CNI ignores
//! NetworkPolicy the fault is stored, counts as injected, and changes
//! nothing. It may also be that the system absorbed the fault: the
//! warning names both.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::observe::probe::Reading;
use crate::scenario::Scenario;

/// How far (relative to the pre-fault value) a guardrail reading may move
/// and still count as unchanged: the noise of a steady rate or ratio.
const UNCHANGED: f64 = 0.10;
/// ...and absolutely, for a value that was 0 (an error ratio).
const UNCHANGED_ABS: f64 = 1e-9;

#[derive(Debug, Default)]
pub(super) struct EffectWatch {
    /// Each guardrail probe's value when the steady state was confirmed.
    before: HashMap<String, f64>,
    /// Guardrail readings taken while faults were in force.
    readings: usize,
    /// Whether any of them moved (or could not be read).
    changed: bool,
}

impl EffectWatch {
    /// Remembers the guardrail probes' values just before injection.
    pub fn baseline(&mut self, scenario: &Scenario, readings: &[Reading]) {
        let guardrails = &scenario.spec.steady_state.probes;
        for r in readings {
            let guard = guardrails
                .iter()
                .any(|p| p.name == r.probe && p.during.is_some());
            if let (true, Some(v)) = (guard, r.value) {
                self.before.insert(r.probe.clone(), v);
            }
        }
    }

    /// Takes one tick's readings while faults are in force.
    pub fn observe(&mut self, readings: &[Reading]) {
        for r in readings {
            let Some(before) = self.before.get(&r.probe) else {
                continue;
            };
            self.readings += 1;
            let same = r
                .value
                .is_some_and(|v| (v - before).abs() <= UNCHANGED * before.abs() + UNCHANGED_ABS);
            self.changed |= !same;
        }
    }

    /// The warning's journal data, when it applies.
    pub fn warning(&self, scenario: &Scenario) -> Option<Value> {
        if self.readings == 0 || self.changed {
            return None;
        }
        let faults: Vec<(&str, &str)> = scenario
            .spec
            .faults
            .iter()
            .filter_map(|f| {
                crate::faults::kind_of(f.kind)
                    .enforced_by()
                    .map(|by| (f.name.as_str(), by))
            })
            .collect();
        let (_, by) = faults.first()?;
        let names: Vec<&str> = faults.iter().map(|(n, _)| *n).collect();
        let mut probes: Vec<&str> = self.before.keys().map(String::as_str).collect();
        probes.sort_unstable();
        Some(json!({
            "level": "warn",
            "faults": names,
            "probes": probes,
            "readings": self.readings,
            "message": format!(
                "no guardrail probe ({}) moved while {} was in force: its objects were \
                 stored, but only {by} applies them; on a cluster whose CNI ignores \
                 NetworkPolicy (flannel) the fault has no effect. If the CNI enforces \
                 it, the system absorbed the fault",
                probes.join(", "),
                names.join(", "),
            ),
        }))
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::config::Config;
    use crate::observe::probe::{Phase, ProbeOutcome};

    fn scenario(fault_type: &str) -> Scenario {
        let text = format!(
            r#"apiVersion: gameday/v1
kind: Scenario
metadata: {{name: s}}
spec:
  hypothesis: The shop survives.
  target: {{contexts: ["gameday-sandbox*"], namespaces: [shop]}}
  blastRadius: {{maxTargets: 10, maxPercent: 50, maxDuration: 10m}}
  steadyState:
    interval: 1s
    probes:
      - name: guard
        kubernetes: {{kind: Deployment, namespace: shop, name: checkout, field: replicas}}
        expect: ">= 0"
        during: ">= 0"
      - name: plain
        kubernetes: {{kind: Deployment, namespace: shop, name: checkout, field: replicas}}
        expect: ">= 0"
  faults:
    - {{name: f, type: {fault_type}, duration: 30s, selector: {{namespace: shop, labels: {{app: checkout}}}}, mode: {{count: 1}}}}
"#
        );
        crate::scenario::load_str(
            "s.yaml",
            &text,
            &Config::default(),
            &crate::faults::Registry,
        )
        .unwrap()
        .remove(0)
    }

    fn reading(probe: &str, value: Option<f64>) -> Reading {
        Reading {
            probe: probe.into(),
            phase: Phase::During,
            value,
            at: Timestamp::from_second(1_700_000_000).unwrap(),
            outcome: ProbeOutcome::Holds,
            expectation: None,
            within_slo: None,
            detail: None,
            attempts: 1,
            elapsed_ms: 3,
        }
    }

    fn watch(sc: &Scenario, during: &[Option<f64>]) -> EffectWatch {
        let mut w = EffectWatch::default();
        w.baseline(
            sc,
            &[reading("guard", Some(4.0)), reading("plain", Some(1.0))],
        );
        for v in during {
            // `plain` has no `during`: its moves do not count.
            w.observe(&[reading("guard", *v), reading("plain", Some(50.0))]);
        }
        w
    }

    #[test]
    fn a_policy_fault_with_unmoved_guardrails_is_warned_about() {
        let sc = scenario("networkPartition");
        let w = watch(&sc, &[Some(4.0), Some(4.2)]);
        let data = w.warning(&sc).expect("warned");
        assert_eq!(data["faults"], json!(["f"]));
        assert_eq!(data["probes"], json!(["guard"]));
        assert!(data["message"].as_str().unwrap().contains("NetworkPolicy"));
        // dnsBlock is a policy too.
        let sc = scenario("dnsBlock");
        assert!(watch(&sc, &[Some(4.0)]).warning(&sc).is_some());
    }

    #[test]
    fn no_warning_when_a_guardrail_moved_was_unknown_or_never_read() {
        let sc = scenario("networkPartition");
        assert!(watch(&sc, &[Some(4.0), Some(2.0)]).warning(&sc).is_none());
        assert!(watch(&sc, &[None]).warning(&sc).is_none());
        assert!(watch(&sc, &[]).warning(&sc).is_none());
    }

    #[test]
    fn no_warning_for_faults_the_api_server_applies() {
        let sc = scenario("podFailure");
        assert!(watch(&sc, &[Some(4.0)]).warning(&sc).is_none());
    }
}

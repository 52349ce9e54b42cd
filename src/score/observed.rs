//! What the engine observed, as plain timestamps: the input to scoring and
//! the part of result.json that the drill (`crate::incident`) does not cover.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::scenario::{Duration, Scenario};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Observed {
    /// T_inject: the first fault injected. None: nothing was injected.
    pub t_inject: Option<Timestamp>,
    /// T_impact: the first SLI breach (a probe's `expect` stopped holding).
    pub t_impact: Option<Timestamp>,
    /// T_mitigate: every SLI back within its SLO after the impact.
    pub t_mitigate: Option<Timestamp>,
    /// When observation stopped (end of the recover phase or the abort).
    pub t_end: Timestamp,
    /// One entry per `detection.alerts` item, fired or not.
    pub alerts: Vec<AlertObservation>,
    /// Other alerts that fired during the run.
    pub noise: Vec<NoiseAlert>,
    /// SLO probes that could not be read at some point after the injection
    /// (Prometheus down, a query error). Recovery that was never seen through
    /// them is unknown, not a success.
    #[serde(default)]
    pub unreadable: Vec<String>,
    /// The run's pages as the paging tools recorded them (issue 17).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paging: Vec<super::PageObservation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertObservation {
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The scenario's `within` (overrides the config's detect target).
    pub within: Option<Duration>,
    /// Prometheus `activeAt` (pending).
    pub t_active: Option<Timestamp>,
    /// Alertmanager `startsAt` (firing).
    pub t_fire: Option<Timestamp>,
    /// Our webhook receiver got it firing.
    pub t_notify: Option<Timestamp>,
    pub t_resolve: Option<Timestamp>,
    /// The rule's `for:` in seconds, when the rule was found.
    pub rule_for_seconds: Option<f64>,
    /// The rule's `runbook_url` annotation.
    pub runbook_url: Option<String>,
    /// A rule with this alertname was found in Prometheus.
    pub rule_found: bool,
}

impl AlertObservation {
    /// An expected alert that has not been seen at all yet.
    pub fn expected(name: &str, labels: BTreeMap<String, String>, within: Duration) -> Self {
        AlertObservation {
            name: name.to_string(),
            labels,
            within: Some(within),
            t_active: None,
            t_fire: None,
            t_notify: None,
            t_resolve: None,
            rule_for_seconds: None,
            runbook_url: None,
            rule_found: false,
        }
    }
}

/// One unseen observation per `detection.alerts` item, in scenario order:
/// the engine fills in the times as it sees them.
pub fn expected_alerts(scenario: &Scenario) -> Vec<AlertObservation> {
    scenario
        .spec
        .detection
        .iter()
        .flat_map(|d| &d.alerts)
        .map(|a| AlertObservation::expected(&a.name, a.labels.clone(), a.within))
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NoiseAlert {
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    pub t_fire: Option<Timestamp>,
}

/// One unexpected alert as a report lists it: once per alert name, with
/// every distinct label set it fired with (one per series, e.g. per
/// service), and when it first fired. Two rows for one alert that fired
/// for two services read like a bug; one row with both label sets says
/// what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NoiseGroup {
    pub name: String,
    /// Without `alertname`, which is the name; empty sets are left out.
    #[serde(default)]
    pub label_sets: Vec<BTreeMap<String, String>>,
    /// The first time any of its series fired.
    pub t_fire: Option<Timestamp>,
}

impl NoiseGroup {
    /// `Name`, `Name {a="1"}` or `Name (2 label sets: {a="1"}; {a="2"})`.
    pub fn describe(&self) -> String {
        let set = |l: &BTreeMap<String, String>| {
            let pairs: Vec<String> = l.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            format!("{{{}}}", pairs.join(", "))
        };
        match self.label_sets.as_slice() {
            [] => self.name.clone(),
            [one] => format!("{} {}", self.name, set(one)),
            many => format!(
                "{} ({} label sets: {})",
                self.name,
                many.len(),
                many.iter().map(set).collect::<Vec<_>>().join("; ")
            ),
        }
    }
}

/// The unexpected alerts grouped by name, in the order each first fired.
pub fn group_noise(noise: &[NoiseAlert]) -> Vec<NoiseGroup> {
    let mut groups: Vec<NoiseGroup> = Vec::new();
    for n in noise {
        let mut labels = n.labels.clone();
        labels.remove("alertname");
        let i = match groups.iter().position(|g| g.name == n.name) {
            Some(i) => i,
            None => {
                groups.push(NoiseGroup {
                    name: n.name.clone(),
                    label_sets: Vec::new(),
                    t_fire: None,
                });
                groups.len() - 1
            }
        };
        let g = &mut groups[i];
        if !labels.is_empty() && !g.label_sets.contains(&labels) {
            g.label_sets.push(labels);
        }
        g.t_fire = match (g.t_fire, n.t_fire) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_alerts_come_from_the_scenario() {
        let s: Scenario =
            serde_yaml::from_str(include_str!("../../scenarios/checkout-pod-loss.yaml")).unwrap();
        let a = expected_alerts(&s);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].name, "CheckoutHighErrorRate");
        assert_eq!(
            a[0].labels.get("service").map(String::as_str),
            Some("checkout")
        );
        assert_eq!(a[0].within, Some(Duration::from_secs(90)));
        assert!(a[0].t_fire.is_none() && !a[0].rule_found);
    }

    #[test]
    fn an_alert_that_fired_with_two_label_sets_is_one_group_with_both() {
        let at = |s: i64| Timestamp::from_second(1_700_000_000 + s).unwrap();
        let alert = |name: &str, service: &str, t: i64| NoiseAlert {
            name: name.into(),
            labels: BTreeMap::from([
                ("alertname".to_string(), name.to_string()),
                ("service".to_string(), service.to_string()),
            ]),
            t_fire: Some(at(t)),
        };
        let groups = group_noise(&[
            alert("HighErrorRate", "cart", 20),
            alert("DiskFull", "db", 15),
            alert("HighErrorRate", "checkout", 10),
            alert("HighErrorRate", "cart", 30),
        ]);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].name, "HighErrorRate");
        assert_eq!(
            groups[0].label_sets.len(),
            2,
            "the repeat of cart is one set"
        );
        assert_eq!(groups[0].t_fire, Some(at(10)), "the first series to fire");
        assert_eq!(
            groups[0].describe(),
            "HighErrorRate (2 label sets: {service=\"cart\"}; {service=\"checkout\"})"
        );
        assert_eq!(groups[1].describe(), "DiskFull {service=\"db\"}");
    }
}

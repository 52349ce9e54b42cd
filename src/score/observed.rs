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
}

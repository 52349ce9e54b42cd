//! Detection: for each expected alert, TTD = T_fire − T_inject and where the
//! time went (rule latency, the `for:` hold, the notification pipeline), so a
//! slow detection points at the part to tune.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::curve::time_score;
use super::observed::{AlertObservation, Observed};
use super::secs;
use super::targets::Targets;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TtdParts {
    /// T_active − T_impact (or T_inject when no impact was seen before the
    /// alert went pending): how long the rule's expression took to turn true.
    pub rule_latency_seconds: Option<f64>,
    /// T_fire − T_active: the rule's `for:` hold plus evaluation lag.
    pub for_hold_seconds: Option<f64>,
    /// T_notify − T_fire: Alertmanager grouping and delivery to the webhook.
    pub pipeline_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertDetection {
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    pub fired: bool,
    pub t_active: Option<Timestamp>,
    pub t_fire: Option<Timestamp>,
    pub t_notify: Option<Timestamp>,
    pub t_resolve: Option<Timestamp>,
    pub ttd_seconds: Option<f64>,
    pub target_seconds: Option<f64>,
    pub parts: TtdParts,
    /// The rule's configured `for:`, to compare with the measured hold.
    pub rule_for_seconds: Option<f64>,
    pub runbook_url: Option<String>,
    pub rule_found: bool,
    /// None: no target to score against.
    pub score: Option<f64>,
}

impl AlertDetection {
    pub fn over_target(&self) -> bool {
        matches!((self.ttd_seconds, self.target_seconds), (Some(m), Some(t)) if m > t)
    }
}

pub fn detect_alert(a: &AlertObservation, obs: &Observed, targets: &Targets) -> AlertDetection {
    let target = a.within.or(targets.detect_default).map(|d| d.as_secs_f64());
    let since = |from: Option<Timestamp>, to: Option<Timestamp>| match (from, to) {
        (Some(f), Some(t)) => Some(secs(f, t).max(0.0)),
        _ => None,
    };
    let ttd = since(obs.t_inject, a.t_fire);
    let base = match (obs.t_impact, a.t_active) {
        (Some(i), Some(act)) if i <= act => Some(i),
        _ => obs.t_inject,
    };
    let parts = TtdParts {
        rule_latency_seconds: since(base, a.t_active),
        for_hold_seconds: since(a.t_active, a.t_fire),
        pipeline_seconds: since(a.t_fire, a.t_notify),
    };
    AlertDetection {
        name: a.name.clone(),
        labels: a.labels.clone(),
        fired: a.t_fire.is_some(),
        t_active: a.t_active,
        t_fire: a.t_fire,
        t_notify: a.t_notify,
        t_resolve: a.t_resolve,
        ttd_seconds: ttd,
        target_seconds: target,
        parts,
        rule_for_seconds: a.rule_for_seconds,
        runbook_url: a.runbook_url.clone(),
        rule_found: a.rule_found,
        score: target.map(|t| time_score(ttd, t)),
    }
}

/// The detect component: the mean of the per-alert scores. None when no
/// expected alert has a target (the component does not apply).
pub fn detect_score(alerts: &[AlertDetection]) -> Option<f64> {
    let scores: Vec<f64> = alerts.iter().filter_map(|a| a.score).collect();
    (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Duration;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    fn observed(alert: AlertObservation, impact: Option<i64>) -> (Observed, AlertObservation) {
        (
            Observed {
                t_inject: Some(t(0)),
                t_impact: impact.map(t),
                t_mitigate: None,
                t_end: t(600),
                alerts: vec![alert.clone()],
                noise: vec![],
                unreadable: vec![],
                paging: vec![],
            },
            alert,
        )
    }

    fn alert(active: Option<i64>, fire: Option<i64>, notify: Option<i64>) -> AlertObservation {
        let mut a =
            AlertObservation::expected("HighErrors", BTreeMap::new(), Duration::from_secs(90));
        a.t_active = active.map(t);
        a.t_fire = fire.map(t);
        a.t_notify = notify.map(t);
        a
    }

    #[test]
    fn ttd_and_its_parts() {
        let (obs, a) = observed(alert(Some(20), Some(50), Some(53)), Some(5));
        let d = detect_alert(&a, &obs, &Targets::none(0.7));
        assert!(d.fired);
        assert_eq!(d.ttd_seconds, Some(50.0));
        assert_eq!(d.parts.rule_latency_seconds, Some(15.0));
        assert_eq!(d.parts.for_hold_seconds, Some(30.0));
        assert_eq!(d.parts.pipeline_seconds, Some(3.0));
        assert_eq!(d.score, Some(1.0));
        assert!(!d.over_target());
    }

    #[test]
    fn rule_latency_from_inject_without_earlier_impact() {
        let (obs, a) = observed(alert(Some(20), Some(50), None), Some(30));
        let d = detect_alert(&a, &obs, &Targets::none(0.7));
        assert_eq!(d.parts.rule_latency_seconds, Some(20.0));
        assert_eq!(d.parts.pipeline_seconds, None);
    }

    #[test]
    fn exactly_on_target_and_three_times_target() {
        let (obs, a) = observed(alert(Some(10), Some(90), None), None);
        assert_eq!(detect_alert(&a, &obs, &Targets::none(0.7)).score, Some(1.0));
        let (obs, a) = observed(alert(Some(10), Some(270), None), None);
        let d = detect_alert(&a, &obs, &Targets::none(0.7));
        assert_eq!(d.score, Some(0.0));
        assert!(d.over_target());
    }

    #[test]
    fn never_fired_scores_zero() {
        let (obs, a) = observed(alert(None, None, None), None);
        let d = detect_alert(&a, &obs, &Targets::none(0.7));
        assert!(!d.fired);
        assert_eq!(d.ttd_seconds, None);
        assert_eq!(d.score, Some(0.0));
        assert_eq!(detect_score(&[d]), Some(0.0));
    }

    #[test]
    fn no_target_means_not_scored() {
        let mut a = alert(Some(1), Some(2), None);
        a.within = None;
        let (obs, a) = observed(a, None);
        let d = detect_alert(&a, &obs, &Targets::none(0.7));
        assert_eq!(d.score, None);
        assert_eq!(detect_score(&[d]), None);
        assert_eq!(detect_score(&[]), None);
    }
}

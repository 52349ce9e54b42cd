//! The response times: TTA, TTM and TTR, and the "page" instant they and the
//! role and comms deadlines count from.

use jiff::Timestamp;

use super::detect::AlertDetection;
use super::observed::Observed;
use super::secs;

/// When responders were paged: the first webhook notification of an expected
/// alert, else its first firing (no webhook configured). A drill that expects
/// no alerts (a tabletop) is paged by the inject itself. When alerts were
/// expected and none fired, nobody was paged: TTA is undefined and scores 0,
/// as DESIGN.md's formula says.
pub fn page_time(alerts: &[AlertDetection], obs: &Observed) -> Option<Timestamp> {
    if alerts.is_empty() {
        return obs.t_inject;
    }
    alerts
        .iter()
        .filter_map(|a| a.t_notify)
        .min()
        .or_else(|| alerts.iter().filter_map(|a| a.t_fire).min())
}

/// TTA = T_ack − page time, never negative (an ack before the page counts as
/// instant).
pub fn tta(page: Option<Timestamp>, t_ack: Option<Timestamp>) -> Option<f64> {
    Some(secs(page?, t_ack?).max(0.0))
}

/// TTM = T_mitigate − T_inject.
pub fn ttm(obs: &Observed) -> Option<f64> {
    Some(secs(obs.t_inject?, obs.t_mitigate?).max(0.0))
}

/// The run's T_resolve: the last expected alert to resolve when every fired
/// one did, else the responders' own `resolve`.
pub fn t_resolve(alerts: &[AlertDetection], responder: Option<Timestamp>) -> Option<Timestamp> {
    let fired: Vec<&AlertDetection> = alerts.iter().filter(|a| a.fired).collect();
    if !fired.is_empty() && fired.iter().all(|a| a.t_resolve.is_some()) {
        return fired.iter().filter_map(|a| a.t_resolve).max();
    }
    responder
}

/// First detection: the earliest firing expected alert, as TTD of the run.
pub fn first_ttd(alerts: &[AlertDetection]) -> Option<f64> {
    alerts
        .iter()
        .filter_map(|a| a.ttd_seconds)
        .min_by(|a, b| a.total_cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::{AlertObservation, Targets, detect::detect_alert};
    use std::collections::BTreeMap;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    fn obs() -> Observed {
        Observed {
            t_inject: Some(t(0)),
            t_impact: None,
            t_mitigate: Some(t(100)),
            t_end: t(300),
            alerts: vec![],
            noise: vec![],
            unreadable: vec![],
            paging: vec![],
        }
    }

    fn det(fire: Option<i64>, notify: Option<i64>, resolve: Option<i64>) -> AlertDetection {
        let mut a = AlertObservation::expected(
            "A",
            BTreeMap::new(),
            crate::scenario::Duration::from_secs(60),
        );
        a.t_fire = fire.map(t);
        a.t_notify = notify.map(t);
        a.t_resolve = resolve.map(t);
        detect_alert(&a, &obs(), &Targets::none(0.7))
    }

    #[test]
    fn page_prefers_webhook_then_fire_then_inject() {
        let o = obs();
        assert_eq!(page_time(&[det(Some(30), Some(33), None)], &o), Some(t(33)));
        assert_eq!(page_time(&[det(Some(30), None, None)], &o), Some(t(30)));
        assert_eq!(page_time(&[det(None, None, None)], &o), None);
        assert_eq!(page_time(&[], &o), Some(t(0)));
    }

    #[test]
    fn tta_ttm_and_resolution() {
        assert_eq!(tta(Some(t(33)), Some(t(63))), Some(30.0));
        assert_eq!(tta(Some(t(33)), Some(t(20))), Some(0.0));
        assert_eq!(tta(Some(t(33)), None), None);
        assert_eq!(ttm(&obs()), Some(100.0));
        let both = [det(Some(1), None, Some(200)), det(Some(2), None, Some(150))];
        assert_eq!(t_resolve(&both, Some(t(90))), Some(t(200)));
        let open = [det(Some(1), None, Some(200)), det(Some(2), None, None)];
        assert_eq!(t_resolve(&open, Some(t(90))), Some(t(90)));
        assert_eq!(first_ttd(&both), Some(1.0));
    }
}

//! What a paging tool (PagerDuty, Opsgenie, Grafana OnCall) recorded about
//! one of the run's pages, as scoring reads it: when people were notified,
//! who acknowledged and when, and each escalation. When a tool was read,
//! TTA comes from it rather than from gameday's own responder events
//! (issue 17: people acknowledge in their paging tool, not in gameday).
//! The escalation path is judged against the severity's ack target: an
//! escalation after the target was needed (the first level did not answer
//! in time); one before it escalated too early.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::secs;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageObservation {
    /// `pagerduty`, `opsgenie`, `grafana-oncall`.
    pub source: String,
    /// The page's dedup key.
    pub key: String,
    /// gameday sent it.
    pub t_trigger: Option<Timestamp>,
    /// The tool's first notification of a person (T_notify).
    pub t_notify: Option<Timestamp>,
    pub t_ack: Option<Timestamp>,
    pub acknowledged_by: Option<String>,
    /// T_ack − the instant the page reached someone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tta_seconds: Option<f64>,
    /// Everyone the tool notified or assigned, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reached: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalations: Vec<Escalation>,
    /// gameday resolved it at the end of the run.
    pub resolved: bool,
    /// The tool answered a read-back: its silence about an ack is then a
    /// finding, not an outage.
    pub read: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Escalation {
    pub at: Timestamp,
    pub level: Option<u32>,
    pub to: Option<String>,
}

impl PageObservation {
    /// When the page reached someone: the tool's first notification, else
    /// gameday's trigger.
    pub fn paged_at(&self) -> Option<Timestamp> {
        self.t_notify.or(self.t_trigger)
    }
}

/// The acknowledgement TTA is measured from: the earliest acknowledged page
/// with the instant it was paged at and its source.
pub fn first_ack(pages: &[PageObservation]) -> Option<(&PageObservation, Timestamp, Timestamp)> {
    pages
        .iter()
        .filter(|p| p.read)
        .filter_map(|p| Some((p, p.paged_at()?, p.t_ack?)))
        .min_by_key(|(_, _, ack)| *ack)
}

/// When the first page was sent through any tool.
pub fn first_page(pages: &[PageObservation]) -> Option<Timestamp> {
    pages.iter().filter_map(PageObservation::paged_at).min()
}

/// One escalation, judged: how long after the page it came and whether
/// the ack target had passed (then it was needed).
#[derive(Debug, Clone, PartialEq)]
pub struct JudgedEscalation {
    pub source: String,
    pub level: Option<u32>,
    pub after_seconds: f64,
    pub needed: Option<bool>,
}

pub fn judge_escalations(
    pages: &[PageObservation],
    ack_target: Option<f64>,
) -> Vec<JudgedEscalation> {
    pages
        .iter()
        .filter_map(|p| Some((p, p.paged_at()?)))
        .flat_map(|(p, paged)| {
            p.escalations.iter().map(move |e| {
                let after = secs(paged, e.at).max(0.0);
                JudgedEscalation {
                    source: p.source.clone(),
                    level: e.level,
                    after_seconds: after,
                    needed: ack_target.map(|t| after >= t && p.t_ack.is_none_or(|a| a >= e.at)),
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    #[test]
    fn the_earliest_ack_wins_and_counts_from_the_notification() {
        let pages = [
            PageObservation {
                source: "opsgenie".into(),
                read: true,
                t_trigger: Some(t(0)),
                t_ack: Some(t(90)),
                ..Default::default()
            },
            PageObservation {
                source: "pagerduty".into(),
                read: true,
                t_trigger: Some(t(0)),
                t_notify: Some(t(1)),
                t_ack: Some(t(43)),
                ..Default::default()
            },
        ];
        let (p, paged, ack) = first_ack(&pages).unwrap();
        assert_eq!((p.source.as_str(), paged, ack), ("pagerduty", t(1), t(43)));
    }

    #[test]
    fn an_escalation_after_the_ack_target_was_needed() {
        let pages = [PageObservation {
            source: "pagerduty".into(),
            t_trigger: Some(t(0)),
            escalations: vec![Escalation {
                at: t(300),
                level: Some(2),
                to: Some("Cy".into()),
            }],
            ..Default::default()
        }];
        let j = judge_escalations(&pages, Some(300.0));
        assert_eq!(j[0].after_seconds, 300.0);
        assert_eq!(j[0].needed, Some(true));
        assert_eq!(
            judge_escalations(&pages, Some(900.0))[0].needed,
            Some(false)
        );
    }
}

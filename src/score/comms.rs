//! Comms cadence: the first status update within the initial-notification
//! target of the declaration, and no gap between updates (or from the last
//! update to resolution) longer than the severity's cadence.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::curve::time_score;
use super::secs;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CadenceGap {
    pub from: Timestamp,
    pub to: Timestamp,
    pub gap_seconds: f64,
    pub cadence_seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommsCadence {
    /// T_declare, or the page time when nobody declared.
    pub since: Option<Timestamp>,
    pub updates: usize,
    /// From `since` to the first update; None if there was none.
    pub first_update_seconds: Option<f64>,
    pub initial_target_seconds: Option<f64>,
    pub cadence_seconds: Option<f64>,
    /// Gaps longer than the cadence.
    pub gaps: Vec<CadenceGap>,
    /// None: the severity sets neither cadence nor initial target.
    pub score: Option<f64>,
}

/// `updates` sorted; `end` is the resolution (or the end of the run).
pub fn cadence(
    since: Option<Timestamp>,
    updates: &[Timestamp],
    end: Timestamp,
    initial_target: Option<f64>,
    cadence: Option<f64>,
) -> CommsCadence {
    let first = updates.first().copied();
    let first_update_seconds = match (since, first) {
        (Some(s), Some(f)) => Some(secs(s, f).max(0.0)),
        _ => None,
    };
    let mut parts = Vec::new();
    if let Some(target) = initial_target {
        parts.push(time_score(first_update_seconds, target));
    }
    let mut gaps = Vec::new();
    if let Some(c) = cadence {
        if updates.is_empty() {
            parts.push(0.0);
        } else {
            let mut points: Vec<Timestamp> = updates.to_vec();
            if let Some(&last) = updates.last()
                && end > last
            {
                points.push(end);
            }
            let intervals: Vec<(Timestamp, Timestamp)> =
                points.windows(2).map(|w| (w[0], w[1])).collect();
            for &(from, to) in &intervals {
                let g = secs(from, to);
                if g > c {
                    gaps.push(CadenceGap {
                        from,
                        to,
                        gap_seconds: g,
                        cadence_seconds: c,
                    });
                }
            }
            let ok = intervals.len() - gaps.len();
            parts.push(if intervals.is_empty() {
                1.0
            } else {
                ok as f64 / intervals.len() as f64
            });
        }
    }
    let score = (!parts.is_empty()).then(|| parts.iter().sum::<f64>() / parts.len() as f64);
    CommsCadence {
        since,
        updates: updates.len(),
        first_update_seconds,
        initial_target_seconds: initial_target,
        cadence_seconds: cadence,
        gaps,
        score,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    #[test]
    fn on_time_and_on_cadence_scores_one() {
        let c = cadence(
            Some(t(0)),
            &[t(300), t(1200)],
            t(1500),
            Some(300.0),
            Some(900.0),
        );
        assert_eq!(c.first_update_seconds, Some(300.0));
        assert!(c.gaps.is_empty());
        assert_eq!(c.score, Some(1.0));
    }

    #[test]
    fn a_gap_over_the_cadence_is_listed_and_costs() {
        let c = cadence(
            Some(t(0)),
            &[t(60), t(1060)],
            t(1100),
            Some(300.0),
            Some(900.0),
        );
        assert_eq!(c.gaps.len(), 1);
        assert_eq!(c.gaps[0].gap_seconds, 1000.0);
        // initial 1.0, cadence 1 of 2 intervals ok = 0.5 -> mean 0.75
        assert_eq!(c.score, Some(0.75));
    }

    #[test]
    fn first_update_at_three_times_target_and_never() {
        let c = cadence(Some(t(0)), &[t(900)], t(901), Some(300.0), None);
        assert_eq!(c.score, Some(0.0));
        let none = cadence(Some(t(0)), &[], t(100), Some(300.0), Some(900.0));
        assert_eq!(none.score, Some(0.0));
        assert_eq!(none.first_update_seconds, None);
    }

    #[test]
    fn no_targets_means_not_scored() {
        assert_eq!(cadence(Some(t(0)), &[t(5)], t(10), None, None).score, None);
    }
}

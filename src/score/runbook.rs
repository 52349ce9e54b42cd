//! Runbook adherence: recall of the expected steps, their order (longest
//! common subsequence of expected and done), every critical step done, and
//! which claimed steps their `verify` probe never confirmed.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::incident::RunbookProgress;

/// Weights inside the runbook component: doing the steps (recall) and the
/// critical ones matter most; order is a refinement.
pub const RECALL_WEIGHT: f64 = 0.4;
pub const ORDER_WEIGHT: f64 = 0.2;
pub const CRITICAL_WEIGHT: f64 = 0.4;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunbookAdherence {
    pub expected: Vec<String>,
    pub done: Vec<String>,
    pub recall: f64,
    /// LCS(expected, done) / done; 0 when nothing was done.
    pub order: f64,
    pub critical_done: usize,
    pub critical_total: usize,
    pub missed_critical: Vec<String>,
    /// Claimed, but the verify probe never held.
    pub unverified: Vec<String>,
    /// Done after their `within` target from injection.
    pub late: Vec<String>,
    /// None: the runbook lists no steps.
    pub score: Option<f64>,
}

pub fn lcs_len<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    for x in a {
        let mut cur = vec![0usize; b.len() + 1];
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = if x == y {
                prev[j] + 1
            } else {
                cur[j].max(prev[j + 1])
            };
        }
        prev = cur;
    }
    prev[b.len()]
}

pub fn adherence(progress: &RunbookProgress, t_inject: Option<Timestamp>) -> RunbookAdherence {
    let expected: Vec<String> = progress.steps.iter().map(|s| s.id.clone()).collect();
    let done: Vec<String> = progress
        .done_order()
        .into_iter()
        .map(String::from)
        .collect();
    let recall = if expected.is_empty() {
        0.0
    } else {
        done.len() as f64 / expected.len() as f64
    };
    let order = if done.is_empty() {
        0.0
    } else {
        lcs_len(&expected, &done) as f64 / done.len() as f64
    };
    let critical: Vec<_> = progress.steps.iter().filter(|s| s.critical).collect();
    let missed_critical: Vec<String> = critical
        .iter()
        .filter(|s| s.done_at().is_none())
        .map(|s| s.id.clone())
        .collect();
    let critical_done = critical.len() - missed_critical.len();
    // Without critical steps the critical part follows recall, so a runbook
    // nobody touched scores 0 rather than a free 0.4.
    let critical_frac = if critical.is_empty() {
        recall
    } else {
        critical_done as f64 / critical.len() as f64
    };
    let late = progress
        .steps
        .iter()
        .filter(|s| match (s.within, s.done_at(), t_inject) {
            (Some(w), Some(d), Some(i)) => super::secs(i, d) > w.as_secs_f64(),
            _ => false,
        })
        .map(|s| s.id.clone())
        .collect();
    RunbookAdherence {
        score: (!expected.is_empty()).then_some(
            RECALL_WEIGHT * recall + ORDER_WEIGHT * order + CRITICAL_WEIGHT * critical_frac,
        ),
        unverified: progress
            .steps
            .iter()
            .filter(|s| s.unverified())
            .map(|s| s.id.clone())
            .collect(),
        expected,
        done,
        recall,
        order,
        critical_done,
        critical_total: critical.len(),
        missed_critical,
        late,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::StepProgress;
    use crate::scenario::Duration;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    fn step(id: &str, critical: bool, claimed: Option<i64>) -> StepProgress {
        StepProgress {
            id: id.into(),
            title: None,
            critical,
            within: None,
            has_verify: false,
            claimed_at: claimed.map(t),
            claimed_by: None,
            verified_at: None,
        }
    }

    fn progress(steps: Vec<StepProgress>) -> RunbookProgress {
        RunbookProgress {
            url: None,
            steps,
            unknown_claims: vec![],
        }
    }

    #[test]
    fn lcs() {
        assert_eq!(lcs_len(&[1, 2, 3, 4], &[1, 3, 2, 4]), 3);
        assert_eq!(lcs_len::<u8>(&[], &[1]), 0);
    }

    #[test]
    fn all_steps_in_order_scores_one() {
        let p = progress(vec![step("a", false, Some(1)), step("b", true, Some(2))]);
        let r = adherence(&p, Some(t(0)));
        assert_eq!((r.recall, r.order), (1.0, 1.0));
        assert_eq!(r.score, Some(1.0));
    }

    #[test]
    fn steps_out_of_order_cost_order_only() {
        let p = progress(vec![
            step("a", false, Some(3)),
            step("b", false, Some(2)),
            step("c", false, Some(1)),
        ]);
        let r = adherence(&p, Some(t(0)));
        assert_eq!(r.done, vec!["c", "b", "a"]);
        assert_eq!(r.recall, 1.0);
        assert!((r.order - 1.0 / 3.0).abs() < 1e-12);
        let s = r.score.unwrap();
        assert!((s - (0.4 + 0.2 / 3.0 + 0.4)).abs() < 1e-12, "{s}");
    }

    #[test]
    fn a_missed_critical_step_is_named() {
        let p = progress(vec![step("a", false, Some(1)), step("fix", true, None)]);
        let r = adherence(&p, Some(t(0)));
        assert_eq!(r.missed_critical, vec!["fix"]);
        assert_eq!((r.critical_done, r.critical_total), (0, 1));
        assert!((r.score.unwrap() - (0.4 * 0.5 + 0.2)).abs() < 1e-12);
    }

    #[test]
    fn unverified_and_late_steps() {
        let mut s = step("scale-up", true, Some(10));
        s.has_verify = true;
        let mut late = step("ack", false, Some(400));
        late.within = Some(Duration::from_secs(300));
        let r = adherence(&progress(vec![late, s]), Some(t(0)));
        assert_eq!(r.unverified, vec!["scale-up"]);
        assert_eq!(r.missed_critical, vec!["scale-up"]);
        assert_eq!(r.late, vec!["ack"]);
    }

    #[test]
    fn nothing_done_and_no_steps() {
        let r = adherence(&progress(vec![step("a", false, None)]), None);
        assert_eq!(r.score, Some(0.0));
        assert_eq!(adherence(&progress(vec![]), None).score, None);
    }
}

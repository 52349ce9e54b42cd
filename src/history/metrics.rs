//! Drill metrics over the recorded runs: the trends the seed asks a team to
//! watch (MTTD, MTTA, MTTR, runs by severity, pass rate, postmortem action
//! completion). Pure: it takes the runs, so it is tested on hand-computed
//! numbers without a database.
//!
//! "Mean time to …" is reported as the median and the 90th percentile
//! (see [`super::quantile`] for the method): drill samples are few and
//! skewed, and one run where nobody acknowledged would drag a mean far from
//! what a typical drill looks like.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

use super::RunRecord;
use super::quantile::quantile;

/// The severity key for runs where none was declared.
pub const NO_SEVERITY: &str = "none";

/// Median and 90th percentile of one time over the runs that have it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// Runs that had this time (a run never acknowledged has no TTA).
    pub count: usize,
    /// Sum of the times, so a Prometheus summary can carry `_sum`.
    pub sum: f64,
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

impl Summary {
    fn of(values: &[f64]) -> Summary {
        Summary {
            count: values.len(),
            sum: values.iter().sum(),
            median: quantile(values, 0.5),
            p90: quantile(values, 0.9),
        }
    }
}

/// The metrics of one group of runs (one scenario, one severity, or all).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub key: String,
    pub runs: usize,
    pub passed: usize,
    pub pass_rate: Option<f64>,
    pub mttd: Summary,
    pub mtta: Summary,
    pub mttm: Summary,
    pub mttr: Summary,
    pub last_run_at: Option<Timestamp>,
}

impl Group {
    fn of(key: &str, runs: &[&RunRecord]) -> Group {
        let times = |f: fn(&RunRecord) -> Option<f64>| -> Vec<f64> {
            runs.iter()
                .filter_map(|r| f(r))
                .filter(|v| v.is_finite())
                .collect()
        };
        let passed = runs.iter().filter(|r| r.passed).count();
        Group {
            key: key.to_string(),
            runs: runs.len(),
            passed,
            pass_rate: ratio(passed, runs.len()),
            mttd: Summary::of(&times(|r| r.ttd_seconds)),
            mtta: Summary::of(&times(|r| r.tta_seconds)),
            mttm: Summary::of(&times(|r| r.ttm_seconds)),
            mttr: Summary::of(&times(|r| r.ttr_seconds)),
            last_run_at: runs.iter().map(|r| r.started_at).max(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionStats {
    pub total: usize,
    pub done: usize,
    pub open: usize,
    /// Open items whose due date (UTC) has passed.
    pub overdue: usize,
    pub completion_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    pub generated_at: Timestamp,
    pub since: Option<Timestamp>,
    pub scenario: Option<String>,
    pub overall: Group,
    pub by_scenario: Vec<Group>,
    pub by_severity: Vec<Group>,
    /// Action items of the runs in the window.
    pub actions: ActionStats,
}

fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Computes the metrics of `runs` (already filtered to the window and
/// scenario). `now` decides which open action items are overdue.
pub fn compute(
    runs: &[RunRecord],
    now: Timestamp,
    since: Option<Timestamp>,
    scenario: Option<&str>,
) -> Metrics {
    // A run the calendar skipped never ran: it is no pass, no failure and
    // no detection time.
    let all: Vec<&RunRecord> = runs
        .iter()
        .filter(|r| r.status != super::STATUS_SKIPPED)
        .collect();
    let group_by = |key: fn(&RunRecord) -> &str| -> Vec<Group> {
        let mut groups: BTreeMap<&str, Vec<&RunRecord>> = BTreeMap::new();
        for &r in &all {
            groups.entry(key(r)).or_default().push(r);
        }
        groups.iter().map(|(k, rs)| Group::of(k, rs)).collect()
    };
    let today = now.to_zoned(TimeZone::UTC).date();
    let items = all.iter().flat_map(|r| &r.action_items);
    let (mut total, mut done, mut overdue) = (0, 0, 0);
    for item in items {
        total += 1;
        if item.done_at.is_some() {
            done += 1;
        } else if item.due.is_some_and(|d| d < today) {
            overdue += 1;
        }
    }
    Metrics {
        generated_at: now,
        since,
        scenario: scenario.map(str::to_string),
        overall: Group::of("all", &all),
        by_scenario: group_by(|r| &r.scenario),
        by_severity: group_by(|r| r.severity.as_deref().unwrap_or(NO_SEVERITY)),
        actions: ActionStats {
            total,
            done,
            open: total - done,
            overdue,
            completion_rate: ratio(done, total),
        },
    }
}

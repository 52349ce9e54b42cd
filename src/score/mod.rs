//! Scoring a run, exactly as DESIGN.md "Scoring" lays out: timestamps in,
//! a vector of six component scores and a weighted composite out. Pure logic:
//! the engine gathers the timestamps (`Observed`, `Incident`), the config and
//! scenario give the targets (`Targets`), and `score` does the rest.

pub mod comms;
pub mod curve;
pub mod detect;
pub mod observed;
pub mod paging;
pub mod roles;
pub mod runbook;
pub mod scorecard;
pub mod targets;
pub mod times;

pub use curve::time_score;
pub use detect::{AlertDetection, TtdParts};
pub use observed::{
    AlertObservation, NoiseAlert, NoiseGroup, Observed, expected_alerts, group_noise,
};
pub use paging::{Escalation, PageObservation};
pub use scorecard::{Component, ComponentScore, Flag, Metrics, Scorecard, Scored, score};
pub use targets::Targets;

use jiff::Timestamp;

/// Seconds from `from` to `to`; negative when `to` is earlier.
pub(crate) fn secs(from: Timestamp, to: Timestamp) -> f64 {
    to.duration_since(from).as_secs_f64()
}

/// `2m05s`-style text for reports; rounds to the second above a minute.
pub fn human_secs(s: f64) -> String {
    if !s.is_finite() {
        return "-".into();
    }
    let neg = if s < 0.0 { "-" } else { "" };
    let s = s.abs();
    if s < 10.0 {
        return format!("{neg}{s:.1}s");
    }
    let total = s.round() as u64;
    let (h, m, sec) = (total / 3600, (total % 3600) / 60, total % 60);
    match (h, m) {
        (0, 0) => format!("{neg}{sec}s"),
        (0, _) => format!("{neg}{m}m{sec:02}s"),
        _ => format!("{neg}{h}h{m:02}m{sec:02}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::human_secs;

    #[test]
    fn human_durations() {
        assert_eq!(human_secs(3.25), "3.2s");
        assert_eq!(human_secs(45.4), "45s");
        assert_eq!(human_secs(125.0), "2m05s");
        assert_eq!(human_secs(3725.0), "1h02m05s");
        assert_eq!(human_secs(-2.0), "-2.0s");
    }
}

//! The one scoring curve every time metric uses: full marks at or under the
//! target, falling linearly to zero at three times the target, zero if the
//! thing never happened. Linear so a team can see how far off it was.

/// Score for a measured time (seconds) against a target (seconds).
/// `None` measured means "never happened" and scores 0.
pub fn time_score(measured: Option<f64>, target: f64) -> f64 {
    let Some(m) = measured else { return 0.0 };
    if !m.is_finite() {
        return 0.0;
    }
    if m <= target {
        return 1.0;
    }
    if target <= 0.0 {
        return 0.0;
    }
    ((3.0 * target - m) / (2.0 * target)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::time_score;

    #[test]
    fn exactly_on_target_scores_one() {
        assert_eq!(time_score(Some(90.0), 90.0), 1.0);
        assert_eq!(time_score(Some(0.0), 90.0), 1.0);
    }

    #[test]
    fn three_times_target_scores_zero() {
        assert_eq!(time_score(Some(270.0), 90.0), 0.0);
        assert_eq!(time_score(Some(1000.0), 90.0), 0.0);
    }

    #[test]
    fn linear_in_between() {
        assert!((time_score(Some(180.0), 90.0) - 0.5).abs() < 1e-12);
        assert!((time_score(Some(135.0), 90.0) - 0.75).abs() < 1e-12);
    }

    #[test]
    fn never_happened_scores_zero() {
        assert_eq!(time_score(None, 90.0), 0.0);
        assert_eq!(time_score(Some(f64::NAN), 90.0), 0.0);
    }

    #[test]
    fn zero_target_is_all_or_nothing() {
        assert_eq!(time_score(Some(0.0), 0.0), 1.0);
        assert_eq!(time_score(Some(0.1), 0.0), 0.0);
    }
}

//! Quantiles of drill times.
//!
//! Method: linear interpolation between the closest ranks, the one
//! Prometheus' `quantile` and `quantile_over_time` use (Hyndman & Fan type 7,
//! also numpy's default). For sorted values `x[0..n)` and quantile `q`,
//! `h = q·(n−1)` and the result is `x[⌊h⌋] + (h−⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋])`.
//! So the median of an even count is the mean of the two middle values, and
//! the numbers match what a team would get from the same samples in PromQL.

/// The `q`-quantile (0 ≤ q ≤ 1) of `values`; `None` when there are none.
/// NaNs are ignored; `q` outside 0..1 is clamped.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let q = if q.is_nan() { 0.5 } else { q.clamp(0.0, 1.0) };
    let h = q * (sorted.len() - 1) as f64;
    let lower = h.floor() as usize;
    let upper = (lower + 1).min(sorted.len() - 1);
    let frac = h - h.floor();
    Some(sorted[lower] + frac * (sorted[upper] - sorted[lower]))
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn worked_examples() {
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[7.0], 0.9), Some(7.0));
        // Even count: the mean of the middle two.
        assert_eq!(quantile(&[40.0, 10.0, 30.0, 20.0], 0.5), Some(25.0));
        // h = 0.9 * 3 = 2.7 -> 30 + 0.7 * 10.
        let p90 = quantile(&[10.0, 20.0, 30.0, 40.0], 0.9).unwrap();
        assert!((p90 - 37.0).abs() < 1e-9, "{p90}");
        assert_eq!(quantile(&[1.0, 2.0, 3.0], 0.0), Some(1.0));
        assert_eq!(quantile(&[1.0, 2.0, 3.0], 1.0), Some(3.0));
        assert_eq!(quantile(&[f64::NAN, 5.0], 0.5), Some(5.0));
    }

    proptest::proptest! {
        #[test]
        fn stays_within_the_sample_and_grows_with_q(
            values in proptest::collection::vec(-1e6f64..1e6, 1..50),
            a in 0.0f64..1.0,
            b in 0.0f64..1.0,
        ) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let ql = quantile(&values, lo).unwrap();
            let qh = quantile(&values, hi).unwrap();
            proptest::prop_assert!(ql >= min && qh <= max);
            proptest::prop_assert!(ql <= qh + 1e-9);
        }
    }
}

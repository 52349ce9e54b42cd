//! Prometheus probes: one instant query, reduced to one number.
//!
//! `reduce: single` (the default) insists on exactly one series because a
//! selector that silently matches two services would make a guardrail judge
//! whichever series happened to come first; the error names how many came back
//! so the author can fix the query or pick a reduction.

use std::time::Duration;

use prometheus_http_query::response::Data;

use super::connection::PrometheusConn;
use super::probe::ProbeError;
use crate::scenario::{PrometheusProbe, Reduce};

/// Runs the probe's query and reduces the result.
pub async fn read(
    conn: &PrometheusConn,
    probe: &PrometheusProbe,
    timeout: Duration,
) -> Result<f64, ProbeError> {
    let data = query(conn, &probe.query, timeout).await?;
    reduce(&data, probe.reduce.unwrap_or_default())
}

/// One instant query. `timeout` is also sent to Prometheus so that it stops
/// evaluating a query nobody waits for any more.
pub async fn query(
    conn: &PrometheusConn,
    promql: &str,
    timeout: Duration,
) -> Result<Data, ProbeError> {
    let ms = i64::try_from(timeout.as_millis())
        .unwrap_or(i64::MAX)
        .max(1);
    let result = conn.client().query(promql).timeout(ms).get().await;
    match result {
        Ok(r) => Ok(r.into_inner().0),
        Err(e) => Err(classify(&e)),
    }
}

fn classify(e: &prometheus_http_query::Error) -> ProbeError {
    use prometheus_http_query::Error;
    match e {
        Error::Prometheus(p) => {
            if p.is_bad_data() || p.is_execution() || p.is_not_found() {
                ProbeError::Query(p.to_string())
            } else {
                // timeout, canceled, internal, unavailable: may pass on retry.
                ProbeError::PrometheusUnavailable(p.to_string())
            }
        }
        Error::Client(c) => {
            // A 4xx from an auth proxy is not going to change on retry.
            let status = c.inner().and_then(reqwest::Error::status);
            match status {
                Some(s) if s.is_client_error() => {
                    ProbeError::Query(format!("HTTP {s} ({})", super::error_chain(c)))
                }
                _ => ProbeError::PrometheusTransport(super::error_chain(c)),
            }
        }
        other => ProbeError::PrometheusTransport(super::error_chain(other)),
    }
}

/// Reduces a query result to one number as `mode` says.
pub fn reduce(data: &Data, mode: Reduce) -> Result<f64, ProbeError> {
    let values: Vec<f64> = match data {
        Data::Scalar(s) => vec![s.value()],
        Data::Vector(v) => v.iter().map(|s| s.sample().value()).collect(),
        Data::Matrix(_) => return Err(ProbeError::RangeVector),
    };
    reduce_values(&values, mode)
}

/// The reduction on plain numbers, shared with the alert reader.
pub fn reduce_values(values: &[f64], mode: Reduce) -> Result<f64, ProbeError> {
    let n = values.len();
    let name = match mode {
        Reduce::Single => "single",
        Reduce::Min => "min",
        Reduce::Max => "max",
        Reduce::Avg => "avg",
        Reduce::Sum => "sum",
        Reduce::Count => "count",
    };
    if n == 0 && !matches!(mode, Reduce::Count | Reduce::Single) {
        return Err(ProbeError::NoSeries(name));
    }
    Ok(match mode {
        Reduce::Single => {
            if n != 1 {
                return Err(ProbeError::SeriesCount(n));
            }
            values[0]
        }
        // A NaN series (0/0) must not hide behind a healthy one: propagate it.
        Reduce::Min => fold_nan(values, f64::min),
        Reduce::Max => fold_nan(values, f64::max),
        Reduce::Sum => values.iter().sum(),
        Reduce::Avg => values.iter().sum::<f64>() / n as f64,
        Reduce::Count => n as f64,
    })
}

fn fold_nan(values: &[f64], f: fn(f64, f64) -> f64) -> f64 {
    if values.iter().any(|v| v.is_nan()) {
        return f64::NAN;
    }
    values.iter().copied().reduce(f).unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(values: &[&str]) -> Data {
        let result: Vec<_> = values
            .iter()
            .enumerate()
            .map(|(i, v)| serde_json::json!({"metric": {"i": i.to_string()}, "value": [1.0, v]}))
            .collect();
        serde_json::from_value(serde_json::json!({"resultType": "vector", "result": result}))
            .unwrap()
    }

    #[test]
    fn reduces_every_mode() {
        let d = vector(&["1", "4", "2.5"]);
        assert_eq!(reduce(&d, Reduce::Min).unwrap(), 1.0);
        assert_eq!(reduce(&d, Reduce::Max).unwrap(), 4.0);
        assert_eq!(reduce(&d, Reduce::Sum).unwrap(), 7.5);
        assert_eq!(reduce(&d, Reduce::Avg).unwrap(), 2.5);
        assert_eq!(reduce(&d, Reduce::Count).unwrap(), 3.0);
    }

    #[test]
    fn single_names_the_series_count() {
        let err = reduce(&vector(&["1", "2"]), Reduce::Single).unwrap_err();
        assert_eq!(err, ProbeError::SeriesCount(2));
        assert!(err.to_string().contains("got 2"));
        assert_eq!(
            reduce(&vector(&[]), Reduce::Single).unwrap_err(),
            ProbeError::SeriesCount(0)
        );
        assert_eq!(reduce(&vector(&["0.5"]), Reduce::Single).unwrap(), 0.5);
    }

    #[test]
    fn empty_vector_counts_zero_but_has_no_min() {
        assert_eq!(reduce(&vector(&[]), Reduce::Count).unwrap(), 0.0);
        assert_eq!(
            reduce(&vector(&[]), Reduce::Min).unwrap_err(),
            ProbeError::NoSeries("min")
        );
    }

    #[test]
    fn scalars_and_matrices() {
        let s: Data = serde_json::from_value(
            serde_json::json!({"resultType": "scalar", "result": [1.0, "42"]}),
        )
        .unwrap();
        assert_eq!(reduce(&s, Reduce::Single).unwrap(), 42.0);
        assert_eq!(reduce(&s, Reduce::Count).unwrap(), 1.0);
        let m: Data =
            serde_json::from_value(serde_json::json!({"resultType": "matrix", "result": []}))
                .unwrap();
        assert_eq!(
            reduce(&m, Reduce::Max).unwrap_err(),
            ProbeError::RangeVector
        );
    }

    #[test]
    fn nan_series_is_not_hidden_by_min() {
        assert!(
            reduce(&vector(&["NaN", "1"]), Reduce::Min)
                .unwrap()
                .is_nan()
        );
        assert!(
            reduce(&vector(&["1", "NaN"]), Reduce::Max)
                .unwrap()
                .is_nan()
        );
    }

    proptest::proptest! {
        #[test]
        fn reductions_agree_with_each_other(values in proptest::collection::vec(-1e6f64..1e6, 1..20)) {
            let min = reduce_values(&values, Reduce::Min).unwrap();
            let max = reduce_values(&values, Reduce::Max).unwrap();
            let avg = reduce_values(&values, Reduce::Avg).unwrap();
            let sum = reduce_values(&values, Reduce::Sum).unwrap();
            let count = reduce_values(&values, Reduce::Count).unwrap();
            proptest::prop_assert!(min <= avg + 1e-6 && avg <= max + 1e-6);
            proptest::prop_assert_eq!(count, values.len() as f64);
            proptest::prop_assert!((sum - avg * count).abs() <= 1e-6 * sum.abs().max(1.0));
            let single = reduce_values(&values, Reduce::Single);
            proptest::prop_assert_eq!(single.is_ok(), values.len() == 1);
        }
    }
}

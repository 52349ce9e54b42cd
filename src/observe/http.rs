//! HTTP probes: status code and latency.
//!
//! The value of an http probe is its latency in seconds (body included: a
//! server that sends headers fast and stalls on the body is slow), so that
//! `expect: "< 300ms"` compares like with like. A status other than the
//! expected one is a breach that still carries the latency: the service
//! answered, it answered wrong.

use std::time::{Duration, Instant};

use super::probe::{Measurement, ProbeError};
use crate::scenario::{HttpMethod, HttpProbe};

pub async fn read(
    client: &reqwest::Client,
    probe: &HttpProbe,
    timeout: Duration,
) -> Result<Measurement, ProbeError> {
    let url = reqwest::Url::parse(&probe.url)
        .map_err(|e| ProbeError::Connection(format!("`{}` is not a valid URL: {e}", probe.url)))?;
    let method = match probe.method() {
        HttpMethod::Get => reqwest::Method::GET,
        HttpMethod::Head => reqwest::Method::HEAD,
        HttpMethod::Post => reqwest::Method::POST,
    };
    let started = Instant::now();
    let response = client
        .request(method, url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| ProbeError::Http(super::error_chain(&e)))?;
    let status = response.status();
    response
        .bytes()
        .await
        .map_err(|e| ProbeError::Http(super::error_chain(&e)))?;
    let latency = started.elapsed().as_secs_f64();
    let want = probe.status();
    let failure = (status.as_u16() != want).then(|| format!("status {status}, expected {want}"));
    Ok(Measurement {
        value: latency,
        failure,
    })
}

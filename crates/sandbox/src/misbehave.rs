//! Deliberate unreliability and request accounting. Reliability tests set
//! knobs (error rate and status, added latency, outage windows) through
//! `/sandbox/misbehaviour` or the handle, and read the request log and write
//! counter to assert what a client did, e.g. "the sandbox saw no write".

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// A window during which every API request fails with 503, relative to the
/// moment the knobs were set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Outage {
    #[serde(default)]
    pub start_after_seconds: f64,
    pub duration_seconds: f64,
}

/// The knobs. The default misbehaves in no way.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Misbehaviour {
    /// Fraction of API requests (0.0–1.0) that fail with `error_status`.
    /// Deterministic: with 0.5 exactly every second request fails.
    pub error_rate: f64,
    /// 500, 503 or 429 (500 when unset).
    pub error_status: Option<u16>,
    /// Added to every API request before it is served.
    pub latency_ms: u64,
    pub outages: Vec<Outage>,
    /// Only requests with these methods misbehave (all when empty).
    pub methods: Vec<String>,
    /// Failures from `error_rate` are API Priority and Fairness throttling
    /// instead: 429 "Too many requests, please try again later." with a
    /// `Retry-After` header of this many seconds (client-go waits and
    /// retries on it), unlike a PDB refusal, which carries none.
    pub throttle_retry_after_seconds: Option<u64>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum KnobError {
    #[error("errorRate must be between 0 and 1, got {0}")]
    Rate(f64),
    #[error("errorStatus must be 429, 500, 502, 503 or 504, got {0}")]
    Status(u16),
    #[error("outage durations must be positive and finite")]
    Outage,
    #[error("invalid outage {0:?}: expected START+DURATION such as 10s+5s")]
    OutageSyntax(String),
}

impl Misbehaviour {
    pub fn validate(&self) -> Result<(), KnobError> {
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err(KnobError::Rate(self.error_rate));
        }
        if let Some(s) = self.error_status
            && ![429, 500, 502, 503, 504].contains(&s)
        {
            return Err(KnobError::Status(s));
        }
        for o in &self.outages {
            if !(o.duration_seconds.is_finite()
                && o.duration_seconds > 0.0
                && o.start_after_seconds.is_finite()
                && o.start_after_seconds >= 0.0)
            {
                return Err(KnobError::Outage);
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for Outage {
    type Err = KnobError;

    /// `START+DURATION` with scenario durations, e.g. `10s+5s`, or just
    /// `DURATION` for an outage starting now.
    fn from_str(s: &str) -> Result<Self, KnobError> {
        let parse = |x: &str| {
            x.trim()
                .parse::<gameday_spanned::values::Duration>()
                .map(|d| d.as_secs_f64())
                .map_err(|_| KnobError::OutageSyntax(s.to_string()))
        };
        let (start, dur) = match s.split_once('+') {
            Some((a, b)) => (parse(a)?, parse(b)?),
            None => (0.0, parse(s)?),
        };
        let o = Outage {
            start_after_seconds: start,
            duration_seconds: dur,
        };
        if dur <= 0.0 {
            return Err(KnobError::Outage);
        }
        Ok(o)
    }
}

/// One served request, for tests to inspect.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    pub at: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub user_agent: String,
}

impl RequestRecord {
    /// A request that may change stored state. Self access and rules
    /// reviews are POSTs that persist nothing (a preflight asks dozens), so
    /// "the sandbox saw no write" still holds after them.
    pub fn is_write(&self) -> bool {
        is_write_method(&self.method)
            && !self
                .path
                .starts_with("/apis/authorization.k8s.io/v1/selfsubject")
    }
}

pub fn is_write_method(m: &str) -> bool {
    matches!(m, "POST" | "PUT" | "PATCH" | "DELETE")
}

const LOG_CAP: usize = 10_000;

struct Knobs {
    spec: Misbehaviour,
    set_at: Instant,
}

/// Shared admin state: the knobs and the request accounting.
pub struct Admin {
    knobs: Mutex<Knobs>,
    counter: AtomicU64,
    log: Mutex<VecDeque<RequestRecord>>,
    writes: AtomicU64,
    requests: AtomicU64,
}

/// What the middleware should do with one request.
pub enum Verdict {
    Serve { delay: Duration },
    Fail { delay: Duration, error: ApiError },
}

impl Admin {
    pub fn new(spec: Misbehaviour) -> Self {
        Admin {
            knobs: Mutex::new(Knobs {
                spec,
                set_at: Instant::now(),
            }),
            counter: AtomicU64::new(0),
            log: Mutex::new(VecDeque::new()),
            writes: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        }
    }

    pub fn set(&self, spec: Misbehaviour) -> Result<(), KnobError> {
        spec.validate()?;
        let mut k = self.knobs.lock().unwrap_or_else(|e| e.into_inner());
        k.spec = spec;
        k.set_at = Instant::now();
        self.counter.store(0, Ordering::Relaxed);
        Ok(())
    }

    pub fn get(&self) -> Misbehaviour {
        self.knobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .spec
            .clone()
    }

    pub fn clear(&self) {
        // Always valid.
        let _ = self.set(Misbehaviour::default());
    }

    pub fn verdict(&self, method: &str) -> Verdict {
        let k = self.knobs.lock().unwrap_or_else(|e| e.into_inner());
        let spec = &k.spec;
        if !spec.methods.is_empty() && !spec.methods.iter().any(|m| m.eq_ignore_ascii_case(method))
        {
            return Verdict::Serve {
                delay: Duration::ZERO,
            };
        }
        let delay = Duration::from_millis(spec.latency_ms);
        let elapsed = k.set_at.elapsed().as_secs_f64();
        if spec.outages.iter().any(|o| {
            elapsed >= o.start_after_seconds && elapsed < o.start_after_seconds + o.duration_seconds
        }) {
            return Verdict::Fail {
                delay,
                error: ApiError::Injected {
                    code: 503,
                    message: "the sandbox API is in an outage window (sandbox misbehaviour)".into(),
                },
            };
        }
        if spec.error_rate > 0.0 {
            let n = self.counter.fetch_add(1, Ordering::Relaxed) as f64;
            if ((n + 1.0) * spec.error_rate).floor() > (n * spec.error_rate).floor() {
                if let Some(retry_after) = spec.throttle_retry_after_seconds {
                    return Verdict::Fail {
                        delay,
                        error: ApiError::Throttled { retry_after },
                    };
                }
                let code = spec.error_status.unwrap_or(500);
                return Verdict::Fail {
                    delay,
                    error: ApiError::Injected {
                        code,
                        message: format!("injected API error {code} (sandbox misbehaviour)"),
                    },
                };
            }
        }
        Verdict::Serve { delay }
    }

    pub fn record(&self, rec: RequestRecord) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if rec.is_write() {
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        if log.len() >= LOG_CAP {
            log.pop_front();
        }
        log.push_back(rec);
    }

    /// The most recent requests (up to 10,000), oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Client writes (POST, PUT, PATCH, DELETE) served or refused since the
    /// last reset. Controller writes are not requests and are not counted.
    pub fn write_count(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn reset_log(&self) {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.writes.store(0, Ordering::Relaxed);
        self.requests.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fails(a: &Admin, m: &str) -> bool {
        matches!(a.verdict(m), Verdict::Fail { .. })
    }

    #[test]
    fn error_rate_is_exact() {
        let a = Admin::new(Misbehaviour::default());
        a.set(Misbehaviour {
            error_rate: 0.25,
            error_status: Some(503),
            ..Default::default()
        })
        .unwrap();
        let failed = (0..100).filter(|_| fails(&a, "GET")).count();
        assert_eq!(failed, 25);
    }

    #[test]
    fn method_filter_and_outage() {
        let a = Admin::new(Misbehaviour::default());
        a.set(Misbehaviour {
            error_rate: 1.0,
            methods: vec!["PATCH".into()],
            ..Default::default()
        })
        .unwrap();
        assert!(!fails(&a, "GET"));
        assert!(fails(&a, "PATCH"));
        a.set(Misbehaviour {
            outages: vec!["0s+1h".parse().unwrap()],
            ..Default::default()
        })
        .unwrap();
        assert!(fails(&a, "GET"));
        a.set(Misbehaviour {
            outages: vec!["1h+1h".parse().unwrap()],
            ..Default::default()
        })
        .unwrap();
        assert!(!fails(&a, "GET"));
    }

    #[test]
    fn bad_knobs_are_rejected() {
        let a = Admin::new(Misbehaviour::default());
        assert_eq!(
            a.set(Misbehaviour {
                error_rate: 2.0,
                ..Default::default()
            }),
            Err(KnobError::Rate(2.0))
        );
        assert_eq!(
            a.set(Misbehaviour {
                error_status: Some(404),
                ..Default::default()
            }),
            Err(KnobError::Status(404))
        );
        assert!("soon".parse::<Outage>().is_err());
    }

    #[test]
    fn counts_writes() {
        let a = Admin::new(Misbehaviour::default());
        for m in ["GET", "PATCH", "DELETE", "GET"] {
            a.record(RequestRecord {
                at: String::new(),
                method: m.into(),
                path: "/".into(),
                status: 200,
                user_agent: String::new(),
            });
        }
        assert_eq!(a.write_count(), 2);
        assert_eq!(a.request_count(), 4);
        a.reset_log();
        assert_eq!(a.write_count(), 0);
    }
}

//! Bounded retries with full-jitter exponential backoff for the failures a
//! busy API server produces (429, 5xx, timeouts, dropped connections). Every
//! call is bounded both in attempts and per attempt, so a revert can never
//! hang: it either succeeds or reports failure (exit 5).

use std::future::Future;
use std::time::Duration;

use rand::RngExt;

use super::error::K8sError;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Total attempts, the first included.
    pub attempts: u32,
    pub base: Duration,
    pub cap: Duration,
    /// Upper bound on a single request.
    pub call_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 8,
            base: Duration::from_millis(50),
            cap: Duration::from_secs(2),
            call_timeout: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Reverts get more attempts than injections: giving up on a revert
    /// leaves a fault behind, giving up on an injection does not.
    pub fn for_revert(self) -> Self {
        RetryPolicy {
            attempts: self.attempts.max(12),
            ..self
        }
    }
}

/// Full jitter: a uniform delay in `[0, min(cap, base * 2^attempt)]`, so many
/// clients retrying at once spread out instead of hammering in step.
/// `unit` is the random draw in `[0, 1)`.
pub fn backoff_delay(policy: &RetryPolicy, attempt: u32, unit: f64) -> Duration {
    let exp = policy
        .base
        .saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX));
    let ceiling = exp.min(policy.cap);
    ceiling.mul_f64(unit.clamp(0.0, 1.0))
}

/// Whether an error is worth another attempt.
pub fn is_transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(s) => s.code == 429 || (500..=599).contains(&s.code),
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => true,
        _ => false,
    }
}

pub async fn with_retry<T, F, Fut>(policy: &RetryPolicy, op: &str, mut f: F) -> Result<T, K8sError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let last = attempt >= policy.attempts.max(1);
        match tokio::time::timeout(policy.call_timeout, f()).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) if !last && is_transient(&e) => {}
            Ok(Err(source)) => {
                return Err(K8sError::Api {
                    op: op.to_string(),
                    source,
                });
            }
            Err(_) if !last => {}
            Err(_) => {
                return Err(K8sError::Timeout {
                    op: op.to_string(),
                    timeout: policy.call_timeout,
                });
            }
        }
        let unit: f64 = rand::rng().random();
        tokio::time::sleep(backoff_delay(policy, attempt - 1, unit)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(backoff_delay(&p, 0, 1.0), Duration::from_millis(50));
        assert_eq!(backoff_delay(&p, 3, 1.0), Duration::from_millis(400));
        assert_eq!(backoff_delay(&p, 30, 1.0), Duration::from_secs(2));
        assert_eq!(backoff_delay(&p, 3, 0.0), Duration::ZERO);
        assert_eq!(backoff_delay(&p, 3, 0.5), Duration::from_millis(200));
    }

    #[test]
    fn only_transient_api_codes_retry() {
        let status = |code| {
            kube::Error::Api(Box::new(kube::core::Status {
                code,
                ..Default::default()
            }))
        };
        assert!(is_transient(&status(429)));
        assert!(is_transient(&status(500)));
        assert!(is_transient(&status(503)));
        assert!(!is_transient(&status(404)));
        assert!(!is_transient(&status(409)));
        assert!(!is_transient(&status(403)));
    }

    #[tokio::test]
    async fn gives_up_after_the_bound() {
        let p = RetryPolicy {
            attempts: 4,
            base: Duration::from_millis(1),
            ..Default::default()
        };
        let mut calls = 0;
        let r: Result<(), _> = with_retry(&p, "op", || {
            calls += 1;
            async {
                Err(kube::Error::Api(Box::new(kube::core::Status {
                    code: 503,
                    ..Default::default()
                })))
            }
        })
        .await;
        assert_eq!(calls, 4);
        assert_eq!(r.unwrap_err().status_code(), Some(503));
    }

    #[tokio::test]
    async fn succeeds_after_transient_failures() {
        let p = RetryPolicy {
            base: Duration::from_millis(1),
            ..Default::default()
        };
        let mut calls = 0;
        let r = with_retry(&p, "op", || {
            calls += 1;
            let fail = calls < 3;
            async move {
                if fail {
                    Err(kube::Error::Api(Box::new(kube::core::Status {
                        code: 429,
                        ..Default::default()
                    })))
                } else {
                    Ok(7)
                }
            }
        })
        .await;
        assert_eq!(r.unwrap(), 7);
        assert_eq!(calls, 3);
    }
}

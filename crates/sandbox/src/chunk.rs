//! List chunking: `limit` and `continue`, as kube-apiserver serves them.
//!
//! kubectl itself pages with `limit=500`, and client libraries follow
//! `metadata.continue` until it is empty. The token is opaque to clients; we
//! use the real server's shape (k8s.io/apiserver/pkg/storage/continue.go):
//! base64url of `{"v":"meta.k8s.io/v1","rv":N,"start":"<key>\u0000"}`, where
//! the key is the last item served and the NUL byte makes the next page start
//! strictly after it. A token whose resourceVersion has been compacted away
//! is refused with 410 Expired, as etcd compaction makes the real server do.
//!
//! One difference from the real server, documented in docs/sandbox.md: later
//! pages are cut from the current state, not from a snapshot at the first
//! page's resourceVersion (the sandbox keeps no MVCC history of objects).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

use crate::error::ApiError;
use crate::store::Obj;

/// The token's wire form.
#[derive(Debug, Serialize, Deserialize)]
struct Wire {
    v: String,
    rv: u64,
    start: String,
}

const TOKEN_VERSION: &str = "meta.k8s.io/v1";

/// Where a continued list resumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The first page's resourceVersion.
    pub rv: u64,
    /// `namespace/name` of the last item already served.
    pub last: (String, String),
}

impl Token {
    pub fn encode(&self) -> String {
        let (ns, name) = &self.last;
        let wire = Wire {
            v: TOKEN_VERSION.to_string(),
            rv: self.rv,
            start: format!("{ns}/{name}\u{0}"),
        };
        // Serialising a struct of strings and a number cannot fail.
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).unwrap_or_default())
    }

    /// Decodes a token; a malformed one is a 400, as on the real server.
    pub fn decode(s: &str) -> Result<Token, ApiError> {
        let bad = || ApiError::BadRequest(format!("continue key is not valid: {s}"));
        let bytes = URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .map_err(|_| bad())?;
        let wire: Wire = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if wire.v != TOKEN_VERSION {
            return Err(bad());
        }
        let key = wire.start.strip_suffix('\u{0}').ok_or_else(bad)?;
        let (ns, name) = key.split_once('/').ok_or_else(bad)?;
        Ok(Token {
            rv: wire.rv,
            last: (ns.to_string(), name.to_string()),
        })
    }

    /// Whether `o` comes after the last item served (store order is
    /// namespace, then name).
    pub fn is_before(&self, o: &Obj) -> bool {
        let key = (o.summary.namespace.as_str(), o.summary.name.as_str());
        key > (self.last.0.as_str(), self.last.1.as_str())
    }
}

/// The next page, when the list was cut.
#[derive(Debug, Clone)]
pub struct Next {
    pub token: String,
    /// Items left after this page (`remainingItemCount`).
    pub remaining: usize,
}

/// The paging part of a list request.
#[derive(Debug, Default)]
pub struct Request {
    pub limit: Option<usize>,
    pub after: Option<Token>,
}

impl Request {
    pub fn from_query(q: &HashMap<String, String>) -> Result<Request, ApiError> {
        // limit=0 (or absent) means "no limit", as on the real server.
        let limit = match q.get("limit").map(String::as_str) {
            None | Some("") => None,
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n > 0 => Some(n as usize),
                Ok(_) => None,
                Err(_) => {
                    return Err(ApiError::BadRequest(format!(
                        "invalid value for limit: {v}"
                    )));
                }
            },
        };
        let after = match q.get("continue").map(String::as_str) {
            None | Some("") => None,
            Some(t) => Some(Token::decode(t)?),
        };
        Ok(Request { limit, after })
    }

    /// Cuts `items` (already in store order, already after the token) to
    /// the limit, with the token for the rest.
    pub fn cut(&self, mut items: Vec<Arc<Obj>>, rv: u64) -> (Vec<Arc<Obj>>, Option<Next>) {
        let Some(limit) = self.limit else {
            return (items, None);
        };
        if items.len() <= limit {
            return (items, None);
        }
        let remaining = items.len() - limit;
        items.truncate(limit);
        let next = items.last().map(|o| Next {
            token: Token {
                rv,
                last: (o.summary.namespace.clone(), o.summary.name.clone()),
            }
            .encode(),
            remaining,
        });
        (items, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let t = Token {
            rv: 42,
            last: ("shop".into(), "checkout-0".into()),
        };
        assert_eq!(Token::decode(&t.encode()).unwrap(), t);
        assert!(matches!(
            Token::decode("not-a-token"),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn limit_zero_means_everything() {
        let q = HashMap::from([("limit".to_string(), "0".to_string())]);
        assert_eq!(Request::from_query(&q).unwrap().limit, None);
        let q = HashMap::from([("limit".to_string(), "x".to_string())]);
        assert!(Request::from_query(&q).is_err());
    }
}

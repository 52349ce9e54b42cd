//! One error type for API calls so that callers can ask the questions that
//! matter for safety (is it gone already? was it transient?) without matching
//! on kube-rs internals everywhere.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum K8sError {
    #[error("cannot read kubeconfig: {0}")]
    Kubeconfig(String),
    #[error("kube context `{0}` is not defined in the kubeconfig")]
    UnknownContext(String),
    #[error("the kubeconfig has no current context; pass --context")]
    NoContext,
    #[error("{op}: {source}")]
    Api {
        op: String,
        #[source]
        source: kube::Error,
    },
    #[error("{op}: no answer within {timeout:?}")]
    Timeout { op: String, timeout: Duration },
    #[error("{op}: unexpected object: {detail}")]
    Unexpected { op: String, detail: String },
}

impl K8sError {
    /// The HTTP status the API server answered with, if it answered.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            K8sError::Api {
                source: kube::Error::Api(s),
                ..
            } => Some(s.code),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status_code() == Some(404)
    }

    pub fn is_conflict(&self) -> bool {
        self.status_code() == Some(409)
    }

    /// 403: RBAC (or admission) refused the identity.
    pub fn is_forbidden(&self) -> bool {
        self.status_code() == Some(403)
    }

    /// 429 on an eviction means a PodDisruptionBudget refused it.
    pub fn is_too_many_requests(&self) -> bool {
        self.status_code() == Some(429)
    }
}

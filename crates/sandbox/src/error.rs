//! API errors, rendered as the `Status` objects real clients parse: kube-rs
//! turns them into `Error::Api` with the code and reason, kubectl prints the
//! message. Codes and reasons follow kube-apiserver.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{plural}{group_suffix} \"{name}\" not found")]
    NotFound {
        plural: String,
        group_suffix: String,
        name: String,
    },
    #[error("{plural}{group_suffix} \"{name}\" already exists")]
    AlreadyExists {
        plural: String,
        group_suffix: String,
        name: String,
    },
    #[error("Operation cannot be fulfilled on {plural}{group_suffix} \"{name}\": {detail}")]
    Conflict {
        plural: String,
        group_suffix: String,
        name: String,
        detail: String,
    },
    #[error("{kind} \"{name}\" is invalid: {detail}")]
    Invalid {
        kind: String,
        name: String,
        detail: String,
    },
    #[error("{0}")]
    BadRequest(String),
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    #[error("the server could not find the requested resource")]
    NoRoute,
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Accept lists only media types the sandbox cannot encode (protobuf).
    #[error(
        "only the following media types are accepted: application/json, application/yaml, application/json;stream=watch"
    )]
    NotAcceptable,
    /// API Priority and Fairness throttling: 429 with `Retry-After`
    /// (apiserver/pkg/server/filters/priority-and-fairness.go).
    #[error("Too many requests, please try again later.")]
    Throttled { retry_after: u64 },
    /// 403 from admission (Pod Security) or authorization.
    #[error("{plural} \"{name}\" is forbidden: {reason}")]
    Forbidden {
        plural: String,
        name: String,
        reason: String,
    },
    /// An eviction a PodDisruptionBudget forbids; `cause` carries the
    /// budget's figures, as in the real server's `details.causes`.
    #[error("Cannot evict pod as it would violate the pod's disruption budget.")]
    DisruptionBudget { cause: String },
    /// A `continue` token older than the compacted history
    /// (storage.ErrCodeResourceVersion → apierrors.NewResourceExpired).
    #[error(
        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue value from the response's metadata."
    )]
    ContinueExpired,
    /// apierrors.NewInternalError: 500 with "Internal error occurred: …".
    #[error("Internal error occurred: {0}")]
    Internal(String),
    #[error("too old resource version: {requested} ({oldest})")]
    Gone { requested: u64, oldest: u64 },
    /// A failure the misbehaviour knobs asked for.
    #[error("{message}")]
    Injected { code: u16, message: String },
}

impl ApiError {
    pub fn code(&self) -> u16 {
        match self {
            ApiError::NotFound { .. } | ApiError::NoRoute => 404,
            ApiError::AlreadyExists { .. } | ApiError::Conflict { .. } => 409,
            ApiError::Invalid { .. } => 422,
            ApiError::BadRequest(_) => 400,
            ApiError::MethodNotAllowed => 405,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::NotAcceptable => 406,
            ApiError::DisruptionBudget { .. } => 429,
            ApiError::Internal(_) => 500,
            ApiError::Forbidden { .. } => 403,
            ApiError::Throttled { .. } => 429,
            ApiError::ContinueExpired => 410,
            ApiError::Gone { .. } => 410,
            ApiError::Injected { code, .. } => *code,
        }
    }

    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::NotFound { .. } | ApiError::NoRoute => "NotFound",
            ApiError::AlreadyExists { .. } => "AlreadyExists",
            ApiError::Conflict { .. } => "Conflict",
            ApiError::Invalid { .. } => "Invalid",
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::MethodNotAllowed => "MethodNotAllowed",
            ApiError::UnsupportedMediaType(_) => "UnsupportedMediaType",
            ApiError::NotAcceptable => "NotAcceptable",
            ApiError::DisruptionBudget { .. } => "TooManyRequests",
            ApiError::Internal(_) => "InternalError",
            ApiError::Forbidden { .. } => "Forbidden",
            ApiError::Throttled { .. } => "TooManyRequests",
            ApiError::ContinueExpired => "Expired",
            ApiError::Gone { .. } => "Expired",
            ApiError::Injected { code, .. } => match code {
                429 => "TooManyRequests",
                503 => "ServiceUnavailable",
                504 => "Timeout",
                _ => "InternalError",
            },
        }
    }

    pub fn not_found(res: &crate::resources::ResourceDef, name: &str) -> Self {
        ApiError::NotFound {
            plural: res.plural.to_string(),
            group_suffix: group_suffix(res.group),
            name: name.to_string(),
        }
    }

    pub fn already_exists(res: &crate::resources::ResourceDef, name: &str) -> Self {
        ApiError::AlreadyExists {
            plural: res.plural.to_string(),
            group_suffix: group_suffix(res.group),
            name: name.to_string(),
        }
    }

    pub fn conflict(res: &crate::resources::ResourceDef, name: &str) -> Self {
        ApiError::Conflict {
            plural: res.plural.to_string(),
            group_suffix: group_suffix(res.group),
            name: name.to_string(),
            detail: "the object has been modified; please apply your changes to the latest version and try again".to_string(),
        }
    }

    pub fn invalid(
        res: &crate::resources::ResourceDef,
        name: &str,
        detail: impl Into<String>,
    ) -> Self {
        ApiError::Invalid {
            kind: res.kind.to_string(),
            name: name.to_string(),
            detail: detail.into(),
        }
    }

    /// The `Status` object body.
    pub fn status(&self) -> serde_json::Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "code": self.code(),
        });
        let details = match self {
            ApiError::NotFound { plural, name, .. }
            | ApiError::AlreadyExists { plural, name, .. }
            | ApiError::Conflict { plural, name, .. } => {
                Some(json!({"name": name, "kind": plural}))
            }
            ApiError::Invalid { kind, name, detail } => Some(json!({
                "name": name, "kind": kind,
                "causes": [{"reason": "FieldValueInvalid", "message": detail}],
            })),
            ApiError::DisruptionBudget { cause } => Some(json!({
                "causes": [{"reason": "DisruptionBudget", "message": cause}],
            })),
            ApiError::Internal(msg) => Some(json!({"causes": [{"message": msg}]})),
            ApiError::Forbidden { plural, name, .. } => Some(json!({"name": name, "kind": plural})),
            ApiError::Throttled { retry_after } => Some(json!({"retryAfterSeconds": retry_after})),
            _ => None,
        };
        if let Some(d) = details {
            status["details"] = d;
        }
        status
    }
}

fn group_suffix(group: &str) -> String {
    if group.is_empty() {
        String::new()
    } else {
        format!(".{group}")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // Retry-After only for throttling, as the real server: client-go
        // retries on it, which would hide a PDB refusal or an injected
        // failure from the caller.
        if let ApiError::Throttled { retry_after } = &self {
            let secs = retry_after.to_string();
            return (
                code,
                [(axum::http::header::RETRY_AFTER, secs)],
                axum::Json(self.status()),
            )
                .into_response();
        }
        (code, axum::Json(self.status())).into_response()
    }
}

/// Malformed protobuf is a decode error (400, as the real server's); a kind
/// or field outside the sandbox's schema is 415, so no data is dropped.
impl From<crate::wire::WireError> for ApiError {
    fn from(e: crate::wire::WireError) -> Self {
        match e {
            crate::wire::WireError::Malformed(_) => ApiError::BadRequest(e.to_string()),
            crate::wire::WireError::Unsupported(m) => ApiError::UnsupportedMediaType(m),
        }
    }
}

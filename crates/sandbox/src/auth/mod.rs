//! Authentication and authorization in front of the sandbox's API, in the
//! order kube-apiserver applies them (WithAuthentication, then
//! WithAuthorization): a bearer token names the user; RBAC decides.
//!
//! Anonymous requests (no credentials) may read only the public-info URLs
//! (`/healthz`, `/livez`, `/readyz`, `/version`), as a server whose
//! AuthenticationConfiguration limits `anonymous.conditions` to those paths
//! (KEP-4633); everything else without credentials is 401, and a token that
//! does not authenticate is 401 everywhere.

pub mod attributes;
pub mod bootstrap;
pub mod denial;
pub mod identity;
pub mod rbac;
pub mod review;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

pub use identity::{Tokens, UserInfo};

use crate::api::AppState;

/// The sandbox's authenticator and whether authorization is enforced.
pub struct Auth {
    pub tokens: Tokens,
    /// Off only for debugging and the benchmark baseline: every request is
    /// then the admin.
    pub enforce: bool,
}

impl Auth {
    pub fn new(enforce: bool) -> Self {
        Auth {
            tokens: Tokens::new(),
            enforce,
        }
    }

    fn admin(&self) -> UserInfo {
        UserInfo::user(identity::ADMIN_USER, &[rbac::SYSTEM_MASTERS])
    }
}

/// The middleware: authenticates, authorizes, and hands the identity to the
/// handlers (the self reviews need it) as a request extension.
pub async fn layer(State(st): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let auth = &st.auth;
    let user = if auth.enforce {
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or("invalid"));
        match auth.tokens.authenticate(&st.store, presented) {
            Ok(Some(u)) => u,
            Ok(None) => UserInfo::anonymous(),
            Err(_) => return denial::unauthorized(),
        }
    } else {
        auth.admin()
    };
    let attrs = attributes::derive(
        req.method(),
        req.uri().path(),
        req.uri().query().unwrap_or(""),
    );
    if auth.enforce {
        if user.is_anonymous()
            && (attrs.resource_request
                || !bootstrap::PUBLIC_INFO_URLS.contains(&attrs.path.as_str()))
        {
            return denial::unauthorized();
        }
        if !rbac::authorize(&st.store, &user, &attrs).allowed {
            return denial::forbidden(&user, &attrs);
        }
    }
    req.extensions_mut().insert(user);
    next.run(req).await
}

/// A store holding one namespace, for the unit tests.
#[cfg(test)]
pub(crate) fn test_store(ns: &str) -> crate::store::Store {
    let store = crate::store::Store::new(10);
    store
        .create(
            crate::resources::NAMESPACES,
            "",
            serde_json::json!({"metadata": {"name": ns}}),
        )
        .expect("a fresh store takes a namespace");
    store
}

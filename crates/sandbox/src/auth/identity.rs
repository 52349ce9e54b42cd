//! Who a request is: user name, uid and groups (k8s.io/apiserver
//! `user.Info`), and the bearer tokens that prove it. The sandbox issues two
//! kinds of token: the admin token made at start (in `system:masters`, as a
//! kubeadm admin.conf), and ServiceAccount tokens from the TokenRequest API,
//! which stop working when their ServiceAccount is deleted or they expire, as
//! bound service-account tokens do.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use rand::RngExt;

use crate::resources;
use crate::store::Store;

pub const SYSTEM_AUTHENTICATED: &str = "system:authenticated";
pub const SYSTEM_UNAUTHENTICATED: &str = "system:unauthenticated";
pub const ANONYMOUS: &str = "system:anonymous";
/// The admin token's user (kubeadm's admin.conf user name).
pub const ADMIN_USER: &str = "kubernetes-admin";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
}

impl UserInfo {
    pub fn anonymous() -> Self {
        UserInfo {
            name: ANONYMOUS.into(),
            uid: String::new(),
            groups: vec![SYSTEM_UNAUTHENTICATED.into()],
        }
    }

    pub fn is_anonymous(&self) -> bool {
        self.name == ANONYMOUS
    }

    /// The identity of a ServiceAccount token
    /// (pkg/serviceaccount/util.go `UserInfo`).
    pub fn service_account(ns: &str, name: &str, uid: &str) -> Self {
        UserInfo {
            name: crate::auth::rbac::service_account_username(ns, name),
            uid: uid.into(),
            groups: vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{ns}"),
                SYSTEM_AUTHENTICATED.into(),
            ],
        }
    }

    /// A user with the given groups, plus `system:authenticated` as every
    /// authenticator adds it.
    pub fn user(name: &str, groups: &[&str]) -> Self {
        let mut g: Vec<String> = groups.iter().map(|s| s.to_string()).collect();
        if !g.iter().any(|s| s == SYSTEM_AUTHENTICATED) {
            g.push(SYSTEM_AUTHENTICATED.into());
        }
        UserInfo {
            name: name.into(),
            uid: String::new(),
            groups: g,
        }
    }
}

#[derive(Debug, Clone)]
enum Issued {
    /// A static identity (the admin, or a test's user).
    Static(UserInfo),
    /// A ServiceAccount token: valid while the ServiceAccount with this uid
    /// exists and until it expires.
    ServiceAccount {
        namespace: String,
        name: String,
        uid: String,
        expires: SystemTime,
    },
}

/// Why a presented credential was rejected (the client gets a 401 either way).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthnError {
    #[error("invalid bearer token")]
    UnknownToken,
    #[error("token has expired")]
    Expired,
    #[error("service account {0} has been deleted")]
    ServiceAccountGone(String),
    #[error("unsupported Authorization scheme")]
    Scheme,
}

/// The token authenticator.
pub struct Tokens {
    admin: String,
    issued: Mutex<HashMap<String, Issued>>,
}

/// 32 random bytes as hex: as unguessable as a kubeadm bootstrap secret.
fn random_token() -> String {
    let mut rng = rand::rng();
    (0..4)
        .map(|_| format!("{:016x}", rng.random::<u64>()))
        .collect()
}

impl Default for Tokens {
    fn default() -> Self {
        Self::new()
    }
}

impl Tokens {
    pub fn new() -> Self {
        let admin = random_token();
        let mut issued = HashMap::new();
        issued.insert(
            admin.clone(),
            Issued::Static(UserInfo::user(
                ADMIN_USER,
                &[crate::auth::rbac::SYSTEM_MASTERS],
            )),
        );
        Tokens {
            admin,
            issued: Mutex::new(issued),
        }
    }

    pub fn admin_token(&self) -> &str {
        &self.admin
    }

    fn insert(&self, token: String, what: Issued) {
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token, what);
    }

    /// A token for a fixed identity (tests: a user in some groups).
    pub fn issue_static(&self, user: UserInfo) -> String {
        let t = random_token();
        self.insert(t.clone(), Issued::Static(user));
        t
    }

    /// A token for a ServiceAccount, valid for `ttl`.
    pub fn issue_service_account(
        &self,
        ns: &str,
        name: &str,
        uid: &str,
        ttl: Duration,
    ) -> (String, SystemTime) {
        let t = random_token();
        let expires = SystemTime::now() + ttl;
        self.insert(
            t.clone(),
            Issued::ServiceAccount {
                namespace: ns.into(),
                name: name.into(),
                uid: uid.into(),
                expires,
            },
        );
        (t, expires)
    }

    /// The identity behind an `Authorization` header: Ok(None) when there is
    /// none (anonymous), Err when one is presented and invalid.
    pub fn authenticate(
        &self,
        store: &Store,
        authorization: Option<&str>,
    ) -> Result<Option<UserInfo>, AuthnError> {
        let Some(h) = authorization else {
            return Ok(None);
        };
        let token = h
            .strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
            .ok_or(AuthnError::Scheme)?
            .trim();
        let issued = self
            .issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            .cloned()
            .ok_or(AuthnError::UnknownToken)?;
        match issued {
            Issued::Static(u) => Ok(Some(u)),
            Issued::ServiceAccount {
                namespace,
                name,
                uid,
                expires,
            } => {
                if SystemTime::now() >= expires {
                    return Err(AuthnError::Expired);
                }
                let alive = store
                    .try_get(resources::SERVICEACCOUNTS, &namespace, &name)
                    .is_some_and(|o| {
                        crate::meta::str_at(o.value(), &["metadata", "uid"]) == Some(uid.as_str())
                    });
                if !alive {
                    return Err(AuthnError::ServiceAccountGone(format!(
                        "{namespace}/{name}"
                    )));
                }
                Ok(Some(UserInfo::service_account(&namespace, &name, &uid)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tokens_identify_and_die_with_their_service_account() {
        let store = Store::new(10);
        let tokens = Tokens::new();
        store
            .create(
                resources::NAMESPACES,
                "",
                json!({"metadata": {"name": "shop"}}),
            )
            .unwrap();
        assert_eq!(tokens.authenticate(&store, None), Ok(None));
        let admin = tokens
            .authenticate(&store, Some(&format!("Bearer {}", tokens.admin_token())))
            .unwrap()
            .unwrap();
        assert!(admin.groups.iter().any(|g| g == "system:masters"));
        assert_eq!(
            tokens.authenticate(&store, Some("Bearer nope")),
            Err(AuthnError::UnknownToken)
        );
        let sa = store
            .create(
                resources::SERVICEACCOUNTS,
                "shop",
                json!({"metadata": {"name": "chaos"}}),
            )
            .unwrap();
        let uid = crate::meta::str_at(sa.value(), &["metadata", "uid"])
            .unwrap()
            .to_string();
        let (t, _) = tokens.issue_service_account("shop", "chaos", &uid, Duration::from_secs(600));
        let who = tokens
            .authenticate(&store, Some(&format!("Bearer {t}")))
            .unwrap()
            .unwrap();
        assert_eq!(who.name, "system:serviceaccount:shop:chaos");
        assert!(
            who.groups
                .contains(&"system:serviceaccounts:shop".to_string())
        );
        store
            .delete(resources::SERVICEACCOUNTS, "shop", "chaos", None)
            .unwrap();
        assert!(matches!(
            tokens.authenticate(&store, Some(&format!("Bearer {t}"))),
            Err(AuthnError::ServiceAccountGone(_))
        ));
    }
}

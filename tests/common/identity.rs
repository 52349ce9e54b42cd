//! Another identity for the real binaries: the admin kubeconfig with its
//! user's credentials swapped for a ServiceAccount token. Included by path
//! from the support modules that need it, so there is one copy.

use std::path::{Path, PathBuf};

/// The admin kubeconfig with its user's token replaced by `token`.
pub fn kubeconfig_with_token(admin: &Path, token: &str, out: PathBuf) -> PathBuf {
    let mut v: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(admin).unwrap()).unwrap();
    v["users"][0]["user"]["token"] = serde_yaml::Value::String(token.to_string());
    std::fs::write(&out, serde_yaml::to_string(&v).unwrap()).unwrap();
    out
}

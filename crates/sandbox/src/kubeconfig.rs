//! The kubeconfig a sandbox hands to clients: one cluster, user and context,
//! all named by the context name; the user carries the admin bearer token,
//! since the sandbox refuses anonymous requests as a real server does.

use std::path::Path;

use std::io::Write;

use base64::Engine;
use serde_json::json;

/// Where the API is and, over TLS, the CA that signed its certificate.
pub struct Cluster<'a> {
    pub server: &'a str,
    pub ca_pem: Option<&'a str>,
}

pub fn render(cluster: &Cluster<'_>, context_name: &str, token: &str) -> String {
    let mut c = json!({"server": cluster.server});
    if let Some(pem) = cluster.ca_pem {
        c["certificate-authority-data"] =
            json!(base64::engine::general_purpose::STANDARD.encode(pem));
    }
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context_name, "cluster": c}],
        "users": [{"name": context_name, "user": {"token": token}}],
        "contexts": [{"name": context_name, "context": {"cluster": context_name, "user": context_name, "namespace": "default"}}],
        "current-context": context_name,
        "preferences": {},
    });
    // serde_yaml cannot fail on a tree of maps and strings; fall back to
    // JSON (valid YAML) all the same rather than unwrap.
    serde_yaml::to_string(&doc).unwrap_or_else(|_| doc.to_string())
}

/// Writes the kubeconfig readable by its owner only: it holds the admin token.
pub fn write(
    path: &Path,
    cluster: &Cluster<'_>,
    context_name: &str,
    token: &str,
) -> std::io::Result<()> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new();
    f.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut f, 0o600);
    f.open(path)?
        .write_all(render(cluster, context_name, token).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_loadable_kubeconfig() {
        let y = render(
            &Cluster {
                server: "https://127.0.0.1:1234",
                ca_pem: Some("PEM"),
            },
            "gameday-sandbox",
            "t0k",
        );
        let v: serde_yaml::Value = serde_yaml::from_str(&y).unwrap();
        assert_eq!(v["current-context"].as_str(), Some("gameday-sandbox"));
        assert_eq!(
            v["clusters"][0]["cluster"]["server"].as_str(),
            Some("https://127.0.0.1:1234")
        );
        assert_eq!(
            v["clusters"][0]["cluster"]["certificate-authority-data"].as_str(),
            Some("UEVN")
        );
        assert_eq!(v["users"][0]["user"]["token"].as_str(), Some("t0k"));
    }
}

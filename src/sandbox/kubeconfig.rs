//! The kubeconfig a sandbox hands to clients: plain http to loopback, one
//! cluster, user and context, all named by the context name.

use std::path::Path;

use serde_json::json;

pub fn render(server: &str, context_name: &str) -> String {
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context_name, "cluster": {"server": server}}],
        "users": [{"name": context_name, "user": {}}],
        "contexts": [{"name": context_name, "context": {"cluster": context_name, "user": context_name, "namespace": "default"}}],
        "current-context": context_name,
        "preferences": {},
    });
    // serde_yaml cannot fail on a tree of maps and strings; fall back to
    // JSON (valid YAML) all the same rather than unwrap.
    serde_yaml::to_string(&doc).unwrap_or_else(|_| doc.to_string())
}

pub fn write(path: &Path, server: &str, context_name: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, render(server, context_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_loadable_kubeconfig() {
        let y = render("http://127.0.0.1:1234", "gameday-sandbox");
        let v: serde_yaml::Value = serde_yaml::from_str(&y).unwrap();
        assert_eq!(v["current-context"].as_str(), Some("gameday-sandbox"));
        assert_eq!(
            v["clusters"][0]["cluster"]["server"].as_str(),
            Some("http://127.0.0.1:1234")
        );
    }
}

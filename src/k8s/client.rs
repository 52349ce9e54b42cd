//! The kube client, built from the kubeconfig and `--context` exactly as
//! kubectl would pick them, so that the context the guard checks is the
//! context the client talks to.

use std::path::Path;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

use super::error::K8sError;
use super::retry::RetryPolicy;

/// The resolved kubeconfig and context, before any connection is made: the
/// context guard runs on this, so a refused context never sees a request.
#[derive(Debug, Clone)]
pub struct KubeTarget {
    pub kubeconfig: Kubeconfig,
    pub context: String,
    /// The API server URL of the context's cluster, for messages.
    pub server: Option<String>,
}

impl KubeTarget {
    /// Reads the kubeconfig (`--kubeconfig`, `KUBECONFIG` with `:`-separated
    /// files, or `~/.kube/config`) and picks `--context` or the current
    /// context. With none of those and `KUBERNETES_SERVICE_HOST` set, gameday
    /// runs in a pod: the in-cluster config ([`in_cluster`]).
    pub fn resolve(path: Option<&Path>, context: Option<&str>) -> Result<Self, K8sError> {
        let home_config = std::env::home_dir().map(|h| h.join(".kube").join("config"));
        let env = |k: &str| std::env::var(k).ok();
        let kubeconfig = match in_cluster_wanted(path, home_config.as_deref(), &env) {
            Some(host) => in_cluster(&host, &env, Path::new(SERVICE_ACCOUNT_DIR))?,
            None => read_kubeconfig(path)?,
        };
        let context = match context {
            Some(c) => c.to_string(),
            None => kubeconfig
                .current_context
                .clone()
                .ok_or(K8sError::NoContext)?,
        };
        let named = kubeconfig
            .contexts
            .iter()
            .find(|c| c.name == context)
            .ok_or_else(|| K8sError::UnknownContext(context.clone()))?;
        let cluster_name = named.context.as_ref().map(|c| c.cluster.clone());
        let server = kubeconfig
            .clusters
            .iter()
            .find(|c| Some(&c.name) == cluster_name.as_ref())
            .and_then(|c| c.cluster.as_ref())
            .and_then(|c| c.server.clone());
        Ok(KubeTarget {
            kubeconfig,
            context,
            server,
        })
    }

    /// The embedded sandbox: runs against it never ask for confirmation.
    pub fn is_sandbox(&self) -> bool {
        self.context == "gameday-sandbox" || self.context.starts_with("gameday-sandbox-")
    }

    pub async fn connect(&self, retry: RetryPolicy) -> Result<Kube, K8sError> {
        let opts = KubeConfigOptions {
            context: Some(self.context.clone()),
            cluster: None,
            user: None,
        };
        let mut cfg = kube::Config::from_custom_kubeconfig(self.kubeconfig.clone(), &opts)
            .await
            .map_err(|e| K8sError::Kubeconfig(e.to_string()))?;
        cfg.connect_timeout = Some(Duration::from_secs(5));
        cfg.read_timeout = Some(retry.call_timeout);
        cfg.write_timeout = Some(retry.call_timeout);
        let client = kube::Client::try_from(cfg).map_err(|e| K8sError::Api {
            op: "build client".into(),
            source: e,
        })?;
        Ok(Kube {
            client,
            context: self.context.clone(),
            retry,
        })
    }
}

/// Where the kubelet mounts a pod's ServiceAccount token, CA and namespace
/// (client-go rest.InClusterConfig's `tokenFile`/`rootCAFile`).
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The guard's context name in a pod: `in-cluster/<GAMEDAY_CLUSTER_NAME>`,
/// `in-cluster/cluster` without it. A scenario's `target.contexts` must
/// allow it like any kubeconfig context.
pub fn in_cluster_context(cluster_name: Option<&str>) -> String {
    let name = cluster_name.map(str::trim).filter(|n| !n.is_empty());
    format!("in-cluster/{}", name.unwrap_or("cluster"))
}

/// The API host when gameday should use the in-cluster config: no
/// `--kubeconfig`/`KUBECONFIG` (`path`), no `~/.kube/config`, and
/// `KUBERNETES_SERVICE_HOST` set, as kubectl and kube-rs fall back
/// (kube-rs `Config::infer`: kubeconfig first, then in-cluster).
fn in_cluster_wanted(
    path: Option<&Path>,
    home_config: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    if path.is_some_and(|p| !p.as_os_str().is_empty()) || home_config.is_some_and(Path::exists) {
        return None;
    }
    env("KUBERNETES_SERVICE_HOST").filter(|h| !h.is_empty())
}

/// A kubeconfig standing for the in-cluster config, so that the guard,
/// the client and messages treat it like any context. Modelled on
/// client-go rest.InClusterConfig (staging/src/k8s.io/client-go/rest/config.go):
/// `https://` + JoinHostPort(KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT),
/// the token *file* (re-read as the kubelet rotates it, like kube-rs
/// `Config::incluster`'s token file), `ca.crt` as the only trusted CA, and
/// the pod's namespace as the context's default.
fn in_cluster(
    host: &str,
    env: &dyn Fn(&str) -> Option<String>,
    dir: &Path,
) -> Result<Kubeconfig, K8sError> {
    let port = env("KUBERNETES_SERVICE_PORT")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            K8sError::Kubeconfig(
                "in-cluster: KUBERNETES_SERVICE_HOST is set but KUBERNETES_SERVICE_PORT is not"
                    .into(),
            )
        })?;
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let (token, ca) = (dir.join("token"), dir.join("ca.crt"));
    for f in [&token, &ca] {
        if !f.is_file() {
            return Err(K8sError::Kubeconfig(format!(
                "in-cluster: {} is missing (is a ServiceAccount token mounted?)",
                f.display()
            )));
        }
    }
    let namespace = std::fs::read_to_string(dir.join("namespace"))
        .map(|n| n.trim().to_string())
        .unwrap_or_default();
    let context = in_cluster_context(env("GAMEDAY_CLUSTER_NAME").as_deref());
    let mut ctx = serde_json::json!({"cluster": "in-cluster", "user": "in-cluster"});
    if !namespace.is_empty() {
        ctx["namespace"] = serde_json::json!(namespace);
    }
    let doc = serde_json::json!({
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": "in-cluster", "cluster": {
            "server": format!("https://{host}:{port}"),
            "certificate-authority": ca.to_string_lossy()}}],
        "users": [{"name": "in-cluster", "user": {"tokenFile": token.to_string_lossy()}}],
        "contexts": [{"name": context, "context": ctx}],
    });
    serde_json::from_value(doc).map_err(|e| K8sError::Kubeconfig(format!("in-cluster: {e}")))
}

fn read_kubeconfig(path: Option<&Path>) -> Result<Kubeconfig, K8sError> {
    let err = |e: kube::config::KubeconfigError| K8sError::Kubeconfig(e.to_string());
    match path {
        None => Kubeconfig::read().map_err(err),
        Some(p) => {
            let text = p.to_string_lossy();
            let mut merged: Option<Kubeconfig> = None;
            for part in text.split(':').filter(|s| !s.is_empty()) {
                let next = Kubeconfig::read_from(part)
                    .map_err(|e| K8sError::Kubeconfig(format!("{part}: {e}")))?;
                merged = Some(match merged {
                    None => next,
                    Some(m) => m.merge(next).map_err(err)?,
                });
            }
            merged.ok_or_else(|| K8sError::Kubeconfig("empty kubeconfig path".into()))
        }
    }
}

/// A connected client plus the retry policy every call goes through.
#[derive(Clone)]
pub struct Kube {
    pub client: kube::Client,
    pub context: String,
    pub retry: RetryPolicy,
}

impl Kube {
    pub fn namespaced<K>(&self, namespace: &str) -> kube::Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        kube::Api::namespaced(self.client.clone(), namespace)
    }

    pub fn all<K>(&self) -> kube::Api<K>
    where
        K: kube::Resource,
        <K as kube::Resource>::DynamicType: Default,
    {
        kube::Api::all(self.client.clone())
    }

    /// Runs one API call with the bounded, jittered retry policy.
    pub async fn call<T, F, Fut>(&self, op: &str, f: F) -> Result<T, K8sError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, kube::Error>>,
    {
        super::retry::with_retry(&self.retry, op, f).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn in_cluster_only_without_any_kubeconfig() {
        let env = env_of(&[("KUBERNETES_SERVICE_HOST", "10.96.0.1")]);
        let dir = tempfile::tempdir().expect("tmp");
        let home = dir.path().join("config");
        assert_eq!(
            in_cluster_wanted(None, Some(&home), &env).as_deref(),
            Some("10.96.0.1")
        );
        assert_eq!(in_cluster_wanted(Some(Path::new("/k")), None, &env), None);
        std::fs::write(&home, "").expect("write");
        assert_eq!(in_cluster_wanted(None, Some(&home), &env), None);
        assert_eq!(in_cluster_wanted(None, None, &env_of(&[])), None);
    }

    #[test]
    fn the_in_cluster_config_uses_the_mounted_token_ca_and_namespace() {
        let dir = tempfile::tempdir().expect("tmp");
        for (f, text) in [
            ("token", "t"),
            ("ca.crt", "pem"),
            ("namespace", "gameday\n"),
        ] {
            std::fs::write(dir.path().join(f), text).expect("write");
        }
        let env = env_of(&[
            ("KUBERNETES_SERVICE_PORT", "6443"),
            ("GAMEDAY_CLUSTER_NAME", "prod-eu"),
        ]);
        let kc = in_cluster("fd00::1", &env, dir.path()).expect("config");
        assert_eq!(kc.current_context.as_deref(), Some("in-cluster/prod-eu"));
        let cluster = kc.clusters[0].cluster.as_ref().expect("cluster");
        assert_eq!(cluster.server.as_deref(), Some("https://[fd00::1]:6443"));
        let user = kc.auth_infos[0].auth_info.as_ref().expect("user");
        assert!(
            user.token_file
                .as_deref()
                .is_some_and(|t| t.ends_with("/token"))
        );
        let ctx = kc.contexts[0].context.as_ref().expect("context");
        assert_eq!(ctx.namespace.as_deref(), Some("gameday"));
        assert_eq!(in_cluster_context(None), "in-cluster/cluster");
        let missing = tempfile::tempdir().expect("tmp");
        let err = in_cluster("h", &env, missing.path()).expect_err("no token");
        assert!(err.to_string().contains("token is missing"), "{err}");
    }
}

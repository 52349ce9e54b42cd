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
    /// files, or `~/.kube/config`) and picks `--context` or the current context.
    pub fn resolve(path: Option<&Path>, context: Option<&str>) -> Result<Self, K8sError> {
        let kubeconfig = read_kubeconfig(path)?;
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

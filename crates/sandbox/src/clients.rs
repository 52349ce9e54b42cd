//! Ready-made clients for a running sandbox (feature `clients`): a kube-rs
//! client and a plain HTTP client that trust its CA and send its admin token.
//!
//! Why behind a feature: only callers need them (gameday, its tests and
//! benchmarks), and they bring kube, k8s-openapi and reqwest, the largest
//! builds of the tree; the simulator itself serves HTTP and needs neither,
//! so `cargo build -p gameday-sandbox` stays without them.

use crate::{SandboxError, SandboxHandle};

impl SandboxHandle {
    /// A kube-rs client configuration for this sandbox, as a kubeconfig
    /// would give. Note kube-rs's default retry: 429, 503 and 504 answers are
    /// retried up to 15 times with backoff, which hides injected 503/429
    /// errors and PDB refusals from callers; set `default_retry = false` to
    /// see every answer.
    pub fn kube_config(&self) -> Result<kube::Config, SandboxError> {
        let url = self
            .api_url()
            .parse()
            .map_err(|e: axum::http::uri::InvalidUri| SandboxError::Client(e.to_string()))?;
        let mut config = kube::Config::new(url);
        config.default_namespace = "default".into();
        config.auth_info.token = Some(self.admin_token().to_string().into());
        if let Some((_, der)) = &self.ca {
            config.root_cert = Some(vec![der.clone()]);
        }
        Ok(config)
    }

    /// A kube-rs client for this sandbox (default settings, retries on).
    pub fn kube_client(&self) -> Result<kube::Client, SandboxError> {
        kube::Client::try_from(self.kube_config()?).map_err(|e| SandboxError::Client(e.to_string()))
    }

    /// A kube-rs client that returns every error answer as it comes.
    pub fn kube_client_without_retries(&self) -> Result<kube::Client, SandboxError> {
        let mut config = self.kube_config()?;
        config.default_retry = false;
        kube::Client::try_from(config).map_err(|e| SandboxError::Client(e.to_string()))
    }

    /// A plain HTTP client that authenticates as the admin (tests and
    /// tools reading the API or `/metrics` directly).
    pub fn http_client(&self) -> Result<reqwest::Client, SandboxError> {
        let mut headers = reqwest::header::HeaderMap::new();
        let bearer =
            reqwest::header::HeaderValue::from_str(&format!("Bearer {}", self.admin_token()))
                .map_err(|e| SandboxError::Client(e.to_string()))?;
        headers.insert(reqwest::header::AUTHORIZATION, bearer);
        let mut b = reqwest::Client::builder().default_headers(headers);
        if let Some((_, der)) = &self.ca {
            let ca = reqwest::Certificate::from_der(der)
                .map_err(|e| SandboxError::Client(e.to_string()))?;
            b = b.add_root_certificate(ca);
        }
        b.build().map_err(|e| SandboxError::Client(e.to_string()))
    }
}

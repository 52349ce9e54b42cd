//! Connections to Prometheus and Alertmanager.
//!
//! Real monitoring stacks sit behind auth proxies, private CAs and multi-tenant
//! gateways (Mimir, Thanos, Cortex want `X-Scope-OrgID`). Everything such a
//! stack needs is expressed once, in [`Endpoint`], and baked into a
//! `reqwest::Client` as default headers and TLS settings, so every request
//! (probe, alert read, preflight) carries it without each caller remembering.
//!
//! Where the URL comes from, highest priority first: the command-line flag,
//! the environment (`GAMEDAY_PROMETHEUS_URL`, `GAMEDAY_ALERTMANAGER_URL`), the
//! config file. A URL given by flag or environment keeps the config file's
//! auth, TLS and header settings, the way `kubectl --server` keeps the user's
//! credentials: the override is for pointing at a port-forward or a
//! different replica, not for dropping auth.

use std::fmt;
use std::path::PathBuf;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};

use crate::config::{Config, Endpoint};

pub const PROMETHEUS_URL_ENV: &str = "GAMEDAY_PROMETHEUS_URL";
pub const ALERTMANAGER_URL_ENV: &str = "GAMEDAY_ALERTMANAGER_URL";

/// Which monitoring service a connection is for; named in every error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Prometheus,
    Alertmanager,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Prometheus => "Prometheus",
            Service::Alertmanager => "Alertmanager",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("{service}: `{url}` is not a valid URL: {reason}")]
    BadUrl {
        service: Service,
        url: String,
        reason: String,
    },
    #[error("{service}: {field} refers to environment variable {var}, which is not set")]
    MissingEnv {
        service: Service,
        field: &'static str,
        var: String,
    },
    #[error("{service}: {field} cannot be sent as an HTTP header value: {reason}")]
    BadCredential {
        service: Service,
        field: &'static str,
        reason: String,
    },
    #[error("{service}: header `{name}` is invalid: {reason}")]
    BadHeader {
        service: Service,
        name: String,
        reason: String,
    },
    #[error("{service}: cannot read CA file {}: {source}", path.display())]
    CaFile {
        service: Service,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{service}: CA file {} holds no usable PEM certificate: {reason}", path.display())]
    BadCa {
        service: Service,
        path: PathBuf,
        reason: String,
    },
    #[error("{service}: cannot build the HTTP client: {reason}")]
    Client { service: Service, reason: String },
}

/// The flags that select the monitoring endpoints. Flatten into a
/// subcommand's `Args`; clap reads the environment variables itself.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct EndpointArgs {
    /// Prometheus base URL (overrides `prometheus.url` in the config file).
    #[arg(long, env = PROMETHEUS_URL_ENV, value_name = "URL")]
    pub prometheus_url: Option<String>,
    /// Alertmanager base URL (overrides `alertmanager.url` in the config file).
    #[arg(long, env = ALERTMANAGER_URL_ENV, value_name = "URL")]
    pub alertmanager_url: Option<String>,
}

impl EndpointArgs {
    /// For library callers that have no clap parse: the environment only.
    pub fn from_env() -> Self {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        EndpointArgs {
            prometheus_url: var(PROMETHEUS_URL_ENV),
            alertmanager_url: var(ALERTMANAGER_URL_ENV),
        }
    }

    /// The Prometheus endpoint after applying flag/env over the config file.
    pub fn prometheus(&self, config: &Config) -> Option<Endpoint> {
        resolve_endpoint(self.prometheus_url.as_deref(), config.prometheus.as_ref())
    }

    /// The Alertmanager endpoint after applying flag/env over the config file.
    pub fn alertmanager(&self, config: &Config) -> Option<Endpoint> {
        resolve_endpoint(
            self.alertmanager_url.as_deref(),
            config.alertmanager.as_ref(),
        )
    }
}

/// Both monitoring connections of a run, built from flags/env over the config.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    pub prometheus: Option<PrometheusConn>,
    pub alertmanager: Option<AlertmanagerConn>,
}

impl Endpoints {
    /// Builds whatever is configured; an endpoint that is not configured stays
    /// `None` (preflight reports it if the scenario needs it), one that is
    /// configured wrongly (bad URL, missing `env:` secret, unreadable CA) is an
    /// error here, before anything else happens.
    pub fn resolve(args: &EndpointArgs, config: &Config) -> Result<Self, ConnectionError> {
        Ok(Endpoints {
            prometheus: args
                .prometheus(config)
                .map(|ep| PrometheusConn::new(&ep))
                .transpose()?,
            alertmanager: args
                .alertmanager(config)
                .map(|ep| AlertmanagerConn::new(&ep))
                .transpose()?,
        })
    }
}

/// An override URL replaces only the configured URL; see the module docs for why
/// auth settings are kept.
pub fn resolve_endpoint(
    override_url: Option<&str>,
    configured: Option<&Endpoint>,
) -> Option<Endpoint> {
    match (override_url.filter(|u| !u.trim().is_empty()), configured) {
        (Some(url), Some(ep)) => Some(Endpoint {
            url: url.trim().to_string(),
            ..ep.clone()
        }),
        (Some(url), None) => Some(Endpoint {
            url: url.trim().to_string(),
            ..Endpoint::default()
        }),
        (None, Some(ep)) => Some(ep.clone()),
        (None, None) => None,
    }
}

/// `env:NAME` reads the secret from the environment so that tokens need not
/// sit in a config file that is committed next to the scenarios.
fn secret(service: Service, field: &'static str, value: &str) -> Result<String, ConnectionError> {
    match value.strip_prefix("env:") {
        Some(var) => std::env::var(var).map_err(|_| ConnectionError::MissingEnv {
            service,
            field,
            var: var.to_string(),
        }),
        None => Ok(value.to_string()),
    }
}

fn sensitive_value(
    service: Service,
    field: &'static str,
    value: String,
) -> Result<HeaderValue, ConnectionError> {
    let mut v = HeaderValue::try_from(value).map_err(|e| ConnectionError::BadCredential {
        service,
        field,
        reason: e.to_string(),
    })?;
    // Keeps the credential out of Debug output and lets HTTP/2 avoid indexing it.
    v.set_sensitive(true);
    Ok(v)
}

/// The headers every request to this endpoint carries: auth and the extra ones.
pub fn default_headers(service: Service, ep: &Endpoint) -> Result<HeaderMap, ConnectionError> {
    let mut headers = HeaderMap::new();
    for (name, value) in &ep.headers {
        let n = HeaderName::try_from(name.as_str()).map_err(|e| ConnectionError::BadHeader {
            service,
            name: name.clone(),
            reason: e.to_string(),
        })?;
        let v = HeaderValue::try_from(value.as_str()).map_err(|e| ConnectionError::BadHeader {
            service,
            name: name.clone(),
            reason: e.to_string(),
        })?;
        headers.append(n, v);
    }
    if let Some(token) = &ep.bearer_token {
        let token = secret(service, "bearerToken", token)?;
        headers.insert(
            AUTHORIZATION,
            sensitive_value(service, "bearerToken", format!("Bearer {token}"))?,
        );
    } else if let Some(basic) = &ep.basic_auth {
        let password = secret(service, "basicAuth.password", &basic.password)?;
        let encoded = base64_encode(format!("{}:{}", basic.username, password).as_bytes());
        headers.insert(
            AUTHORIZATION,
            sensitive_value(service, "basicAuth", format!("Basic {encoded}"))?,
        );
    }
    Ok(headers)
}

/// Standard base64 (RFC 4648, with padding) for the Basic credential; a crate
/// for twelve lines is not worth a dependency.
fn base64_encode(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A `reqwest::Client` that carries the endpoint's auth, headers and TLS settings.
pub fn http_client(service: Service, ep: &Endpoint) -> Result<reqwest::Client, ConnectionError> {
    let mut builder = reqwest::Client::builder()
        .default_headers(default_headers(service, ep)?)
        // A probe must never wait on a half-open connection longer than its own
        // timeout allows; the per-request timeout is applied by the caller.
        .connect_timeout(std::time::Duration::from_secs(5))
        // Proxies from the environment would silently reroute loopback
        // Prometheus traffic in CI containers.
        .no_proxy();
    if let Some(path) = &ep.ca_file {
        let pem = std::fs::read(path).map_err(|source| ConnectionError::CaFile {
            service,
            path: path.clone(),
            source,
        })?;
        let certs =
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ConnectionError::BadCa {
                service,
                path: path.clone(),
                reason: super::error_chain(&e),
            })?;
        if certs.is_empty() {
            return Err(ConnectionError::BadCa {
                service,
                path: path.clone(),
                reason: "no CERTIFICATE block found".to_string(),
            });
        }
        builder = builder.tls_certs_merge(certs);
    }
    if ep.insecure_skip_verify {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    builder.build().map_err(|e| ConnectionError::Client {
        service,
        reason: super::error_chain(&e),
    })
}

fn parse_base(service: Service, url: &str) -> Result<reqwest::Url, ConnectionError> {
    let bad = |reason: String| ConnectionError::BadUrl {
        service,
        url: url.to_string(),
        reason,
    };
    let mut parsed = reqwest::Url::parse(url).map_err(|e| bad(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad(format!(
            "scheme `{}` is not http or https",
            parsed.scheme()
        )));
    }
    // Path prefixes (`/prometheus`, `/api/prom` behind Mimir) must survive
    // joining `api/v1/...`, which needs a trailing slash.
    if !parsed.path().ends_with('/') {
        let p = format!("{}/", parsed.path());
        parsed.set_path(&p);
    }
    Ok(parsed)
}

/// A Prometheus (or Prometheus-compatible: Mimir, Thanos) query endpoint.
#[derive(Clone)]
pub struct PrometheusConn {
    client: prometheus_http_query::Client,
    http: reqwest::Client,
    base: reqwest::Url,
}

impl fmt::Debug for PrometheusConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrometheusConn")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl PrometheusConn {
    pub fn new(ep: &Endpoint) -> Result<Self, ConnectionError> {
        let service = Service::Prometheus;
        let base = parse_base(service, &ep.url)?;
        let http = http_client(service, ep)?;
        // prometheus-http-query appends `/api/v1/...` itself, so it wants the
        // prefix without the trailing slash that `join` needs.
        let lib_base = if base.path() == "/" {
            base.as_str().to_string()
        } else {
            base.as_str().trim_end_matches('/').to_string()
        };
        let client = prometheus_http_query::Client::from(http.clone(), &lib_base).map_err(|e| {
            ConnectionError::BadUrl {
                service,
                url: ep.url.clone(),
                reason: e.to_string(),
            }
        })?;
        Ok(PrometheusConn { client, http, base })
    }

    /// Plain `http://host:port` with no auth; what tests and the sandbox use.
    pub fn from_url(url: &str) -> Result<Self, ConnectionError> {
        Self::new(&Endpoint {
            url: url.to_string(),
            ..Endpoint::default()
        })
    }

    pub fn client(&self) -> &prometheus_http_query::Client {
        &self.client
    }

    /// The configured client, for API paths prometheus-http-query does not cover.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn base_url(&self) -> &reqwest::Url {
        &self.base
    }

    /// `base` joined with a relative API path such as `api/v1/alerts`.
    pub fn url(&self, path: &str) -> Result<reqwest::Url, ConnectionError> {
        join(Service::Prometheus, &self.base, path)
    }
}

fn join(
    service: Service,
    base: &reqwest::Url,
    path: &str,
) -> Result<reqwest::Url, ConnectionError> {
    base.join(path.trim_start_matches('/'))
        .map_err(|e| ConnectionError::BadUrl {
            service,
            url: format!("{base}{path}"),
            reason: e.to_string(),
        })
}

/// An Alertmanager v2 API endpoint.
#[derive(Clone)]
pub struct AlertmanagerConn {
    http: reqwest::Client,
    base: reqwest::Url,
}

impl fmt::Debug for AlertmanagerConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlertmanagerConn")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl AlertmanagerConn {
    pub fn new(ep: &Endpoint) -> Result<Self, ConnectionError> {
        let service = Service::Alertmanager;
        Ok(AlertmanagerConn {
            base: parse_base(service, &ep.url)?,
            http: http_client(service, ep)?,
        })
    }

    pub fn from_url(url: &str) -> Result<Self, ConnectionError> {
        Self::new(&Endpoint {
            url: url.to_string(),
            ..Endpoint::default()
        })
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn base_url(&self) -> &reqwest::Url {
        &self.base
    }

    pub fn url(&self, path: &str) -> Result<reqwest::Url, ConnectionError> {
        join(Service::Alertmanager, &self.base, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BasicAuth;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_encode(input.as_bytes()), want, "{input}");
        }
    }

    #[test]
    fn override_url_keeps_configured_auth() {
        let configured = Endpoint {
            url: "https://prom.example".into(),
            bearer_token: Some("t".into()),
            ..Endpoint::default()
        };
        let r = resolve_endpoint(Some("http://127.0.0.1:9090"), Some(&configured)).unwrap();
        assert_eq!(r.url, "http://127.0.0.1:9090");
        assert_eq!(r.bearer_token.as_deref(), Some("t"));
        assert_eq!(resolve_endpoint(None, Some(&configured)), Some(configured));
        assert_eq!(resolve_endpoint(Some("  "), None), None);
    }

    #[test]
    fn missing_env_secret_names_the_variable() {
        let ep = Endpoint {
            url: "http://x".into(),
            bearer_token: Some("env:GAMEDAY_TEST_SURELY_UNSET_TOKEN".into()),
            ..Endpoint::default()
        };
        let err = default_headers(Service::Prometheus, &ep).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("GAMEDAY_TEST_SURELY_UNSET_TOKEN"), "{msg}");
        assert!(msg.starts_with("Prometheus:"), "{msg}");
    }

    #[test]
    fn env_secret_is_read_from_the_environment() {
        // cargo sets CARGO_MANIFEST_DIR for every test process it runs.
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
        let ep = Endpoint {
            url: "http://x".into(),
            bearer_token: Some("env:CARGO_MANIFEST_DIR".into()),
            ..Endpoint::default()
        };
        let h = default_headers(Service::Prometheus, &ep).unwrap();
        assert_eq!(h[AUTHORIZATION].to_str().unwrap(), format!("Bearer {dir}"));
    }

    #[test]
    fn endpoints_resolve_flags_over_config() {
        let config = Config {
            prometheus: Some(Endpoint {
                url: "http://config:9090".into(),
                ..Endpoint::default()
            }),
            ..Config::default()
        };
        let args = EndpointArgs {
            prometheus_url: None,
            alertmanager_url: Some("http://flag:9093".into()),
        };
        let e = Endpoints::resolve(&args, &config).unwrap();
        assert_eq!(
            e.prometheus.unwrap().base_url().as_str(),
            "http://config:9090/"
        );
        assert_eq!(
            e.alertmanager.unwrap().base_url().as_str(),
            "http://flag:9093/"
        );
        let none = Endpoints::resolve(&EndpointArgs::default(), &Config::default()).unwrap();
        assert!(none.prometheus.is_none() && none.alertmanager.is_none());
    }

    #[test]
    fn basic_auth_header_is_encoded_and_sensitive() {
        let ep = Endpoint {
            url: "http://x".into(),
            basic_auth: Some(BasicAuth {
                username: "alice".into(),
                password: "s3cret".into(),
            }),
            ..Endpoint::default()
        };
        let h = default_headers(Service::Alertmanager, &ep).unwrap();
        let v = h.get(AUTHORIZATION).unwrap();
        assert_eq!(v.to_str().unwrap(), "Basic YWxpY2U6czNjcmV0");
        assert!(v.is_sensitive());
    }

    #[test]
    fn invalid_header_name_is_reported() {
        let mut ep = Endpoint {
            url: "http://x".into(),
            ..Endpoint::default()
        };
        ep.headers.insert("bad header".into(), "v".into());
        let err = default_headers(Service::Prometheus, &ep).unwrap_err();
        assert!(matches!(err, ConnectionError::BadHeader { ref name, .. } if name == "bad header"));
    }

    #[test]
    fn base_url_keeps_path_prefix() {
        let c = PrometheusConn::from_url("http://127.0.0.1:1/prometheus").unwrap();
        assert_eq!(
            c.url("api/v1/alerts").unwrap().as_str(),
            "http://127.0.0.1:1/prometheus/api/v1/alerts"
        );
        assert!(matches!(
            PrometheusConn::from_url("ftp://x").unwrap_err(),
            ConnectionError::BadUrl { .. }
        ));
        assert!(matches!(
            AlertmanagerConn::from_url("not a url").unwrap_err(),
            ConnectionError::BadUrl { .. }
        ));
    }

    #[test]
    fn unreadable_ca_file_names_the_path() {
        let ep = Endpoint {
            url: "https://x".into(),
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..Endpoint::default()
        };
        let err = PrometheusConn::new(&ep).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }
}

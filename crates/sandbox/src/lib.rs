//! The sandbox: a Kubernetes-API-compatible simulated cluster served on
//! loopback. Real kubectl and kube-rs talk to it unchanged; controllers make
//! it behave like a cluster (rollouts, scheduling, readiness, eviction with
//! PDBs, ephemeral containers); knobs make it misbehave on purpose.
//!
//! Start it in-process with [`Sandbox::start`]; `gameday sandbox` is a thin
//! command around the same call.

pub mod admission;
pub mod api;
pub mod auth;
pub mod chunk;
#[cfg(feature = "clients")]
mod clients;
pub mod controllers;
pub mod defaults;
pub mod deletion;
pub mod discovery;
pub mod error;
pub mod events_v1;
pub mod exec;
pub mod kube_state;
pub mod kubeconfig;
pub mod list_item;
pub mod logs;
pub mod meta;
pub mod metrics;
pub mod misbehave;
pub mod netpol;
pub mod patch;
pub mod qos;
pub mod resources;
pub mod runtime;
pub mod scrape;
pub mod selector;
pub mod snapshot;
pub mod store;
pub mod table;
pub mod tls;
pub mod traffic;
pub mod validation;
pub mod view_cache;
pub mod wire;
pub mod world;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use misbehave::{Misbehaviour, Outage, RequestRecord};

use crate::api::{AppState, MetricsFn};
use crate::controllers::Controllers;
use crate::misbehave::Admin;
use crate::store::Store;

pub const DEFAULT_CONTEXT: &str = "gameday-sandbox";

#[derive(Clone)]
pub struct SandboxOptions {
    /// Where to listen; loopback with a free port by default.
    pub listen: SocketAddr,
    /// The minor version `/version` reports (kubectl's dispatcher picks its
    /// bundled kubectl from it): 27 to 33.
    pub kube_minor: u32,
    /// Objects to create at start (namespaces and nodes first), as a world
    /// file expands to.
    pub objects: Vec<Value>,
    pub misbehaviour: Misbehaviour,
    /// Controller tick.
    pub tick: Duration,
    /// Bring the world up already running (pods ready, no events) before
    /// serving, instead of starting everything at once when serving begins.
    pub warm_start: bool,
    /// Watch history kept per resource type.
    pub history: usize,
    /// Renders `/metrics`; None serves the traffic model over the store
    /// ([`metrics::store_source`]).
    pub metrics: Option<MetricsFn>,
    /// Seed of the traffic model's randomness (same seed, same counters).
    pub traffic_seed: u64,
    /// Enforce authentication and RBAC (default). Off treats every request
    /// as the admin: for debugging and the benchmark baseline only.
    pub authorization: bool,
    /// Serve HTTPS with a CA made at start (default). Off serves plain HTTP
    /// for debugging; note kubectl sends no bearer token over plain HTTP.
    pub tls: bool,
    /// The images nodes can pull and what they contain
    /// ([`world::World::catalog`] for a world file's).
    pub images: runtime::ImageCatalog,
    /// How many times faster than a real cluster the cluster's own timers
    /// run: the kubelet's crash back-off, the node lifecycle controller's
    /// grace period and NoExecute `tolerationSeconds` are divided by it.
    /// 1 (the default) is a real cluster's timing; tests and short drills
    /// raise it so that a 300 s toleration does not take five minutes.
    pub time_scale: f64,
    /// What the CNI does with NetworkPolicies (the world file's
    /// `spec.network`): the API stores them either way.
    pub network: world::NetworkSpec,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            kube_minor: 33,
            objects: Vec::new(),
            misbehaviour: Misbehaviour::default(),
            tick: Duration::from_millis(100),
            warm_start: true,
            history: 1000,
            metrics: None,
            traffic_seed: 1,
            authorization: true,
            tls: true,
            images: runtime::ImageCatalog::builtin(),
            time_scale: 1.0,
            network: world::NetworkSpec::default(),
        }
    }
}

impl std::fmt::Debug for SandboxOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxOptions")
            .field("listen", &self.listen)
            .field("kube_minor", &self.kube_minor)
            .field("objects", &self.objects.len())
            .field("misbehaviour", &self.misbehaviour)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("world object #{index} ({what}): {message}")]
    Seed {
        index: usize,
        what: String,
        message: String,
    },
    #[error("invalid misbehaviour: {0}")]
    Knobs(#[from] misbehave::KnobError),
    #[error("kube minor version {0} is outside 27..=33 (the kubectl versions installed)")]
    KubeMinor(u32),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("cannot build a kube client for the sandbox: {0}")]
    Client(String),
}

/// Namespaces first, then nodes, then everything else, so that each object
/// finds what it lives in.
fn seed_order(v: &Value) -> u8 {
    match v.get("kind").and_then(Value::as_str) {
        Some("Namespace") => 0,
        Some("Node") => 1,
        _ => 2,
    }
}

fn seed(store: &Store, objects: &[Value]) -> Result<(), SandboxError> {
    let mut order: Vec<(usize, &Value)> = objects.iter().enumerate().collect();
    order.sort_by_key(|(_, v)| seed_order(v));
    for (index, v) in order {
        let api_version = v.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
        let what = format!("{kind} {}", meta::name(v));
        let res = resources::find_kind(api_version, kind).ok_or_else(|| SandboxError::Seed {
            index,
            what: what.clone(),
            message: format!("the sandbox does not serve {api_version} {kind}"),
        })?;
        let ns = match meta::namespace(v) {
            "" => "default",
            ns => ns,
        };
        if res == resources::NAMESPACES && store.try_get(res, "", meta::name(v)).is_some() {
            continue;
        }
        store
            .create(res, ns, v.clone())
            .map_err(|e| SandboxError::Seed {
                index,
                what,
                message: e.to_string(),
            })?;
    }
    Ok(())
}

pub struct Sandbox;

/// How host images' pods reach this API: its address as
/// `KUBERNETES_SERVICE_HOST`/`PORT`, its CA, and bound tokens for their
/// ServiceAccount (valid for the projected volume's default 3607 s, and
/// only while that ServiceAccount exists).
fn host_access(
    addr: SocketAddr,
    certs: Option<&tls::Certificates>,
    auth: &Arc<auth::Auth>,
    store: &Arc<Store>,
) -> runtime::host::ClusterAccess {
    let (auth, store) = (auth.clone(), store.clone());
    runtime::host::ClusterAccess {
        host: addr.ip().to_string(),
        port: addr.port(),
        ca_pem: certs.map(|c| c.ca_pem.clone()).unwrap_or_default(),
        token: Box::new(move |ns, name| {
            let sa = store.try_get(resources::SERVICEACCOUNTS, ns, name)?;
            let uid = meta::uid(sa.value()).to_string();
            let ttl = Duration::from_secs(3607);
            Some(auth.tokens.issue_service_account(ns, name, &uid, ttl).0)
        }),
    }
}

/// Serves `app` on `listener` until `shutdown` turns true.
fn serve<L>(listener: L, app: axum::Router, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|v| *v).await;
            })
            .await;
    })
}

impl Sandbox {
    /// Seeds the store, settles the controllers, binds and starts serving.
    /// Returns once the API answers.
    pub async fn start(opts: SandboxOptions) -> Result<SandboxHandle, SandboxError> {
        if !(27..=33).contains(&opts.kube_minor) {
            return Err(SandboxError::KubeMinor(opts.kube_minor));
        }
        opts.misbehaviour.validate()?;
        let store = Arc::new(Store::new(opts.history));
        controllers::ensure_system_namespaces(&store);
        seed(&store, &opts.objects)?;
        auth::bootstrap::ensure_default_policy(&store);
        let node = Arc::new(runtime::Runtime::new(opts.images.clone()));
        let mut ctrl = Controllers::with_runtime(store.clone(), opts.kube_minor, node.clone());
        ctrl.set_time_scale(opts.time_scale);
        let warm = opts.warm_start;
        let ctrl = tokio::task::spawn_blocking(move || {
            ctrl.settle(warm);
            ctrl
        })
        .await
        .map_err(|e| SandboxError::Seed {
            index: 0,
            what: "world".into(),
            message: format!("controllers failed while settling: {e}"),
        })?;
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .map_err(|source| SandboxError::Bind {
                addr: opts.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
            addr: opts.listen,
            source,
        })?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let admin = Arc::new(Admin::new(opts.misbehaviour.clone()));
        let auth = Arc::new(auth::Auth::new(opts.authorization));
        let state = Arc::new(AppState {
            store: store.clone(),
            admin: admin.clone(),
            kube_minor: opts.kube_minor,
            shutdown: shutdown_rx.clone(),
            metrics: Some(opts.metrics.clone().unwrap_or_else(|| {
                metrics::runtime_source(
                    store.clone(),
                    opts.traffic_seed,
                    node.clone(),
                    opts.network,
                )
            })),
            eviction_lock: tokio::sync::Mutex::new(()),
            auth: auth.clone(),
            runtime: node.clone(),
        });
        let app = api::router(state);
        let certs = if opts.tls {
            Some(tls::generate(addr)?)
        } else {
            None
        };
        let _ = node
            .access
            .set(host_access(addr, certs.as_ref(), &auth, &store));
        let server = match &certs {
            Some(c) => serve(
                tls::TlsListener::new(listener, c)?,
                app,
                shutdown_rx.clone(),
            ),
            None => serve(listener, app, shutdown_rx.clone()),
        };
        // The kubelet's healthz endpoint: plain HTTP on loopback, as kubelet
        // serves it (--healthz-bind-address 127.0.0.1, --healthz-port 10248),
        // for http probes, which carry no CA and no credentials.
        let healthz_bind = SocketAddr::new(opts.listen.ip(), 0);
        let healthz_listener =
            tokio::net::TcpListener::bind(healthz_bind)
                .await
                .map_err(|source| SandboxError::Bind {
                    addr: healthz_bind,
                    source,
                })?;
        let healthz_addr = healthz_listener
            .local_addr()
            .map_err(|source| SandboxError::Bind {
                addr: healthz_bind,
                source,
            })?;
        let healthz = serve(
            healthz_listener,
            axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok" })),
            shutdown_rx.clone(),
        );
        let controller = tokio::spawn(controllers::run(ctrl, opts.tick, shutdown_rx));
        Ok(SandboxHandle {
            addr,
            runtime: node,
            store,
            admin,
            auth,
            ca: certs.map(|c| (c.ca_pem, c.ca_der)),
            shutdown_tx,
            healthz_addr,
            tasks: vec![server, healthz, controller],
        })
    }
}

/// A running sandbox. Dropping it stops serving; [`SandboxHandle::shutdown`]
/// also waits for the tasks to end.
pub struct SandboxHandle {
    addr: SocketAddr,
    runtime: Arc<runtime::Runtime>,
    store: Arc<Store>,
    admin: Arc<Admin>,
    auth: Arc<auth::Auth>,
    /// The CA (PEM, DER) that signed the serving certificate; None over
    /// plain HTTP.
    ca: Option<(String, Vec<u8>)>,
    healthz_addr: SocketAddr,
    shutdown_tx: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl SandboxHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn api_url(&self) -> String {
        let scheme = if self.ca.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Readable without credentials (system:public-info-viewer), over the
    /// API's TLS.
    pub fn readyz_url(&self) -> String {
        format!("{}/readyz", self.api_url())
    }

    /// The kubelet-style healthz endpoint: plain HTTP, no credentials, so an
    /// http probe (which trusts only the system CAs) can read it.
    pub fn kubelet_healthz_url(&self) -> String {
        format!("http://{}/healthz", self.healthz_addr)
    }

    pub fn metrics_url(&self) -> String {
        format!("{}/metrics", self.api_url())
    }

    /// The CA certificate (PEM) clients must trust; None over plain HTTP.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca.as_ref().map(|(pem, _)| pem.as_str())
    }

    /// The admin's bearer token (user `kubernetes-admin`, group
    /// `system:masters`), as the kubeconfig carries it.
    pub fn admin_token(&self) -> &str {
        self.auth.tokens.admin_token()
    }

    /// A bearer token for any identity (tests: a user in some groups, e.g.
    /// `system:monitoring` for a Prometheus scrape).
    pub fn issue_token(&self, user: &str, groups: &[&str]) -> String {
        self.auth
            .tokens
            .issue_static(auth::UserInfo::user(user, groups))
    }

    /// Credentials for a Prometheus scrape of `/metrics`: a token of user
    /// `prometheus` in `system:monitoring` (and the CA under TLS).
    pub fn scrape_auth(&self) -> scrape::ScrapeAuth {
        scrape::ScrapeAuth {
            token: self.issue_token("prometheus", &["system:monitoring"]),
            ca_pem: self.ca_pem().map(str::to_string),
        }
    }

    pub fn write_kubeconfig(&self, path: &Path, context_name: &str) -> std::io::Result<()> {
        kubeconfig::write(
            path,
            &kubeconfig::Cluster {
                server: &self.api_url(),
                ca_pem: self.ca_pem(),
            },
            context_name,
            self.admin_token(),
        )
    }

    /// Peak RSS (KiB) of a host image's container that exited (pod uid,
    /// container name): what the node saw the real process use.
    pub fn host_peak_rss(&self, pod_uid: &str, container: &str) -> Option<i64> {
        self.runtime.host_peak_rss(pod_uid, container)
    }

    /// The object store, for tests and the traffic model.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Misbehaviour knobs and the request log.
    pub fn admin(&self) -> &Admin {
        &self.admin
    }

    pub fn set_misbehaviour(&self, m: Misbehaviour) -> Result<(), SandboxError> {
        Ok(self.admin.set(m)?)
    }

    /// Client writes seen since start (or the last log reset).
    pub fn write_count(&self) -> u64 {
        self.admin.write_count()
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        self.admin.requests()
    }

    /// Stops serving (open watches end) and waits for the tasks.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown_tx.send(true);
        for t in self.tasks.drain(..) {
            // A graceful shutdown that hangs on a stuck connection must not
            // hang the caller.
            let abort = t.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), t)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        let _ = self.shutdown_tx.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}

//! `gameday sandbox`: serve the simulated cluster until SIGINT or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;

use crate::sandbox::runtime::ImageCatalog;
use crate::sandbox::world::{LoadError as WorldLoadError, NetworkSpec, World};
use crate::sandbox::{DEFAULT_CONTEXT, Misbehaviour, Outage, Sandbox, SandboxOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to serve the API and /metrics on (loopback, free port by default).
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// World file (`kind: World`, see docs/sandbox.md) or Kubernetes
    /// manifests (multi-document YAML) to start with [default: the shop world,
    /// examples/worlds/shop.yaml].
    #[arg(long, value_name = "FILE")]
    pub world: Option<PathBuf>,
    /// Seed of the traffic model (the same seed gives the same counters).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub traffic_seed: u64,
    /// Where to write the kubeconfig (default: a file in the temp directory).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig_out: Option<PathBuf>,
    /// Name of the kubeconfig context, cluster and user.
    #[arg(long, default_value = DEFAULT_CONTEXT, value_name = "NAME")]
    pub context_name: String,
    /// Minor version reported by /version (kubectl picks its version from it).
    #[arg(long, default_value_t = 33, value_parser = clap::value_parser!(u32).range(27..=33))]
    pub kube_minor: u32,
    /// Fraction of API requests (0-1) that fail on purpose.
    #[arg(long, default_value_t = 0.0, value_name = "RATE")]
    pub error_rate: f64,
    /// HTTP status of the injected failures (429, 500, 502, 503, 504).
    #[arg(long, value_name = "CODE")]
    pub error_status: Option<u16>,
    /// Latency added to every API request, in milliseconds.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub latency_ms: u64,
    /// An outage window START+DURATION from start-up, e.g. 30s+10s (repeatable).
    #[arg(long, value_name = "START+DURATION")]
    pub outage: Vec<Outage>,
    /// Debugging only: serve plain HTTP without authentication or RBAC
    /// (kubectl sends no bearer token over plain HTTP).
    #[arg(long)]
    pub insecure_plain_http: bool,
}

/// Reads Kubernetes manifests: several YAML documents, `kind: List` expanded.
fn load_objects(path: &std::path::Path) -> anyhow::Result<Vec<serde_json::Value>> {
    use serde::Deserialize;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let v = serde_json::Value::deserialize(doc)
            .with_context(|| format!("parsing {}", path.display()))?;
        match v.get("kind").and_then(|k| k.as_str()) {
            Some("List") => out.extend(
                v.get("items")
                    .and_then(|i| i.as_array())
                    .cloned()
                    .unwrap_or_default(),
            ),
            _ if v.is_null() => {}
            _ => out.push(v),
        }
    }
    Ok(out)
}

/// A `kind: World` file, or else manifests. An invalid world yields its
/// diagnostics (file:line:col) rather than objects.
/// A world file's objects, image catalog and CNI behaviour (plain
/// manifests get the built-in catalog and an enforcing CNI), or its
/// rendered diagnostics.
type Loaded = (Vec<serde_json::Value>, ImageCatalog, NetworkSpec);

/// Why a world could not be loaded: the user's file is invalid (exit 2,
/// with its rendered diagnostics), or anything else (reported at the edge).
#[derive(Debug, thiserror::Error)]
enum LoadError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

fn load_world(path: &std::path::Path) -> Result<Loaded, LoadError> {
    use serde::Deserialize;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let first = serde_yaml::Deserializer::from_str(&text)
        .next()
        .map(serde_yaml::Value::deserialize);
    let is_world = match first {
        Some(Ok(v)) => v.get("kind").and_then(serde_yaml::Value::as_str) == Some("World"),
        // Broken YAML: the world loader explains where.
        Some(Err(_)) => true,
        None => false,
    };
    if !is_world {
        return Ok((
            load_objects(path)?,
            ImageCatalog::builtin(),
            NetworkSpec::default(),
        ));
    }
    match World::from_str(&path.display().to_string(), &text) {
        Ok(world) => Ok((world.to_objects(), world.catalog(), world.spec.network)),
        Err(WorldLoadError::Invalid(diags)) => Err(LoadError::Invalid(crate::diag::render_all(
            &diags,
            super::use_color(),
        ))),
        Err(e) => Err(anyhow::Error::from(e).into()),
    }
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let (objects, images, network) = match &args.world {
        Some(p) => match load_world(p) {
            Ok(loaded) => loaded,
            Err(LoadError::Invalid(diagnostics)) => {
                crate::errln!("{diagnostics}");
                return Ok(crate::cli::exit::USAGE);
            }
            Err(LoadError::Other(e)) => return Err(e),
        },
        None => {
            let shop = World::shop()?;
            (shop.to_objects(), shop.catalog(), shop.spec.network)
        }
    };
    let opts = SandboxOptions {
        listen: args.listen,
        kube_minor: args.kube_minor,
        objects,
        images,
        network,
        traffic_seed: args.traffic_seed,
        misbehaviour: Misbehaviour {
            error_rate: args.error_rate,
            error_status: args.error_status,
            latency_ms: args.latency_ms,
            outages: args.outage.clone(),
            ..Misbehaviour::default()
        },
        tls: !args.insecure_plain_http,
        authorization: !args.insecure_plain_http,
        ..SandboxOptions::default()
    };
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async move {
        let sb = Sandbox::start(opts).await?;
        let kubeconfig = args.kubeconfig_out.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("gameday-sandbox-{}.kubeconfig", sb.addr().port()))
        });
        sb.write_kubeconfig(&kubeconfig, &args.context_name)
            .with_context(|| format!("writing {}", kubeconfig.display()))?;
        // The CA and a system:monitoring token next to the kubeconfig, for
        // Prometheus (examples/prometheus/prometheus.yml reads them).
        let dir = match kubeconfig.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        sb.scrape_auth()
            .write_files(&dir)
            .with_context(|| format!("writing the scrape credentials in {}", dir.display()))?;
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "sandbox ready: api={} metrics={} kubeconfig={}",
            sb.api_url(),
            sb.metrics_url(),
            kubeconfig.display()
        )?;
        out.flush()?;
        drop(out);
        wait_for_signal().await?;
        tracing::info!("stopping the sandbox");
        sb.shutdown().await;
        Ok::<i32, anyhow::Error>(crate::cli::exit::OK)
    })
}

/// Until SIGINT or SIGTERM (what Kubernetes sends a pod it stops).
pub(super) async fn wait_for_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for SIGINT")?,
        _ = term.recv() => {}
    }
    Ok(())
}

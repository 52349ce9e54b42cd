//! Shared by the faults integration tests: an in-process sandbox with a
//! small shop, its kubeconfig on disk for the real binary and kubectl, and
//! helpers to write scenarios and look for leftover gameday marks.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gameday::engine::recover::{Filter, find};
use gameday::k8s::Kube;
use gameday::k8s::retry::RetryPolicy;
use gameday::sandbox::{Misbehaviour, Sandbox, SandboxHandle, SandboxOptions};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

// A test binary may include both support modules: one source, two copies.
#[allow(clippy::duplicate_mod)]
#[path = "../common/identity.rs"]
mod identity;

pub const CONTEXT: &str = "gameday-sandbox";

pub struct Cluster {
    pub sandbox: SandboxHandle,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    pub kube: Kube,
}

pub fn deployment(ns: &str, name: &str, replicas: i32, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]}
            }
        }
    })
}

/// Namespace `shop` with checkout (4 replicas) and frontend (2), a PDB on
/// checkout, and three nodes (node-3 alone in pool green).
pub fn shop_world() -> Vec<Value> {
    let mut v =
        vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})];
    for (name, pool) in [("node-1", "blue"), ("node-2", "blue"), ("node-3", "green")] {
        v.push(json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"pool": pool}},
            "status": {"capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"}}
        }));
    }
    v.push(deployment("shop", "checkout", 4, "shop/checkout:1.4"));
    v.push(deployment("shop", "frontend", 2, "shop/frontend:2.0"));
    v.push(json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "checkout", "namespace": "shop"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "checkout"}}}
    }));
    v
}

/// `namespaces` namespaces `ns-000..` with one deployment of `per_ns` pods each.
pub fn big_world(namespaces: usize, per_ns: i32) -> Vec<Value> {
    let mut v = vec![];
    for i in 0..3 {
        v.push(json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": format!("node-{i}"), "labels": {"pool": format!("p{i}")}},
            "status": {"capacity": {"cpu": "64", "memory": "256Gi", "pods": "2000"}}
        }));
    }
    for n in 0..namespaces {
        let ns = format!("ns-{n:03}");
        v.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
        v.push(deployment(&ns, "web", per_ns, "shop/web:1"));
    }
    v
}

/// Where [`Cluster::spawn_run`] puts the stderr of the run into `out`.
pub fn run_stderr(out: &Path) -> PathBuf {
    out.with_extension("err")
}

impl Cluster {
    pub async fn start(objects: Vec<Value>) -> Cluster {
        Self::start_with(objects, Misbehaviour::default()).await
    }

    pub async fn start_with(objects: Vec<Value>, misbehaviour: Misbehaviour) -> Cluster {
        Self::start_opts(SandboxOptions {
            objects,
            misbehaviour,
            ..Default::default()
        })
        .await
    }

    /// A cluster from any sandbox options (an image catalog with host
    /// images, a time scale).
    pub async fn start_opts(opts: SandboxOptions) -> Cluster {
        let sandbox = Sandbox::start(opts).await.expect("sandbox starts");
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        sandbox.write_kubeconfig(&kubeconfig, CONTEXT).unwrap();
        let kube = Kube {
            client: sandbox.kube_client().unwrap(),
            context: CONTEXT.into(),
            retry: RetryPolicy::default(),
        };
        Cluster {
            sandbox,
            dir,
            kubeconfig,
            kube,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `gameday ARGS --kubeconfig K --context gameday-sandbox`.
    pub fn gameday(&self, args: &[&str]) -> tokio::process::Command {
        self.gameday_with(&self.kubeconfig, args)
    }

    /// As [`Cluster::gameday`] with another kubeconfig (another identity).
    pub fn gameday_with(&self, kubeconfig: &Path, args: &[&str]) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_gameday"));
        c.args(args)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .arg("--context")
            .arg(CONTEXT)
            .env_remove("CI")
            .env_remove("GAMEDAY_CONFIG")
            .env("NO_COLOR", "1")
            .current_dir(self.dir.path())
            .kill_on_drop(true);
        c
    }

    /// `gameday run SCENARIO --ci --out OUT` in the background, for tests
    /// that act while it runs (a signal, a look at the cluster mid-run).
    /// Its stderr goes to [`run_stderr`]`(OUT)`, to show when it fails.
    pub fn spawn_run(&self, scenario: &Path, out: &Path) -> tokio::process::Child {
        let err = std::fs::File::create(run_stderr(out)).expect("stderr file");
        let (scenario, out) = (scenario.to_string_lossy(), out.to_string_lossy());
        self.gameday(&["run", &scenario, "--ci", "--out", &out])
            .stdout(std::process::Stdio::null())
            .stderr(err)
            .spawn()
            .expect("gameday run starts")
    }

    /// Runs gameday to completion; returns (exit code, stdout, stderr).
    pub async fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.run_as(&self.kubeconfig, args).await
    }

    /// As [`Cluster::run`] under another identity's kubeconfig.
    pub async fn run_as(&self, kubeconfig: &Path, args: &[&str]) -> (i32, String, String) {
        let out = self.gameday_with(kubeconfig, args).output().await.unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Applies what `gameday rbac SCENARIO` prints (after `edit`), and
    /// returns a kubeconfig that authenticates as its ServiceAccount
    /// `gameday`: least privilege exactly as a user would set it up.
    pub async fn bound_to_printed_rbac(
        &self,
        scenario: &Path,
        edit: impl Fn(&mut Vec<Value>),
    ) -> PathBuf {
        let (code, yaml, err) = self.run(&["rbac", scenario.to_str().unwrap()]).await;
        assert_eq!(code, 0, "{err}");
        let mut docs: Vec<Value> = serde_yaml::Deserializer::from_str(&yaml)
            .map(|d| serde::Deserialize::deserialize(d).unwrap())
            .collect();
        edit(&mut docs);
        let file = self.path("rbac.yaml");
        std::fs::write(&file, gameday::faults::rbac::to_yaml(&docs).unwrap()).unwrap();
        self.kubectl(&["apply", "-f", file.to_str().unwrap()]).await;
        let token = self
            .kubectl(&["create", "token", "gameday", "-n", "gameday-system"])
            .await;
        let dir = self.path("sa");
        std::fs::create_dir_all(&dir).unwrap();
        identity::kubeconfig_with_token(&self.kubeconfig, token.trim(), dir.join("kubeconfig"))
    }

    /// Real kubectl against the sandbox.
    pub async fn kubectl(&self, args: &[&str]) -> String {
        let out = tokio::process::Command::new("/usr/bin/kubectl")
            .args(args)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--context")
            .arg(CONTEXT)
            .env("HOME", self.dir.path())
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Every object still carrying a gameday mark, anywhere.
    pub async fn marked(&self) -> Vec<String> {
        let filter = Filter {
            nodes: true,
            ..Filter::default()
        };
        find(&self.kube, &filter)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.obj.to_string())
            .collect()
    }

    pub async fn deployment(&self, ns: &str, name: &str) -> Deployment {
        self.kube
            .namespaced::<Deployment>(ns)
            .get(name)
            .await
            .unwrap()
    }

    pub async fn pods(&self, ns: &str, app: &str) -> Vec<Pod> {
        let lp = kube::api::ListParams::default().labels(&format!("app={app}"));
        self.kube
            .namespaced::<Pod>(ns)
            .list(&lp)
            .await
            .unwrap()
            .items
    }

    /// Pods labelled `app` that are not terminating.
    pub async fn live_pods(&self, ns: &str, app: &str) -> usize {
        self.pods(ns, app)
            .await
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .count()
    }

    pub async fn node(&self, name: &str) -> Node {
        self.kube.all::<Node>().get(name).await.unwrap()
    }

    /// Polls until `f` holds or the deadline passes; returns whether it held.
    pub async fn eventually<F, Fut>(&self, within: Duration, mut f: F) -> bool
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + within;
        loop {
            if f().await {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Declared replicas and images are back, and every replica is ready.
    pub async fn workload_restored(
        &self,
        ns: &str,
        name: &str,
        replicas: i32,
        image: &str,
    ) -> bool {
        let d = self.deployment(ns, name).await;
        let spec = d.spec.clone().unwrap();
        let img = spec.template.spec.as_ref().unwrap().containers[0]
            .image
            .clone();
        let ready = d.status.and_then(|s| s.ready_replicas).unwrap_or(0);
        spec.replicas == Some(replicas) && img.as_deref() == Some(image) && ready == replicas
    }

    /// The end state of a reverted fault: no gameday mark anywhere, and
    /// the Deployment `ns/name` declared at `replicas` again.
    pub async fn assert_restored(&self, ns: &str, name: &str, replicas: i32) {
        let left = self.marked().await;
        assert!(
            left.is_empty(),
            "faults reverted, yet marks are left: {left:?}"
        );
        assert_eq!(
            self.deployment(ns, name)
                .await
                .spec
                .and_then(|s| s.replicas),
            Some(replicas),
            "{ns}/{name} is not back to {replicas} replicas"
        );
    }

    /// checkout and frontend back at their declared replicas and images,
    /// every replica ready, within `within`.
    pub async fn shop_restored(&self, within: Duration) -> bool {
        self.eventually(within, || async {
            self.workload_restored("shop", "checkout", 4, "shop/checkout:1.4")
                .await
                && self
                    .workload_restored("shop", "frontend", 2, "shop/frontend:2.0")
                    .await
        })
        .await
    }

    pub fn write_scenario(
        &self,
        file: &str,
        name: &str,
        faults: &str,
        extra_spec: &str,
    ) -> PathBuf {
        let text = scenario_text(name, faults, extra_spec);
        let p = self.path(file);
        std::fs::write(&p, text).unwrap();
        p
    }
}

/// A scenario on the shop with a trivially true kubernetes probe.
pub fn scenario_text(name: &str, faults: &str, blast: &str) -> String {
    let blast = if blast.is_empty() {
        "{maxTargets: 10, maxPercent: 50, maxDuration: 10m}"
    } else {
        blast
    };
    format!(
        r#"apiVersion: gameday/v1
kind: Scenario
metadata: {{name: {name}}}
spec:
  hypothesis: The shop survives.
  target: {{contexts: ["gameday-sandbox*"], namespaces: [shop]}}
  blastRadius: {blast}
  steadyState:
    interval: 1s
    recoverWithin: 30s
    probes:
      - name: checkout-declared
        kubernetes: {{kind: Deployment, namespace: shop, name: checkout, field: replicas}}
        expect: ">= 0"
  faults:
{faults}
"#
    )
}

pub fn journal_events(run_dir: &Path) -> Vec<gameday::engine::Entry> {
    gameday::engine::Journal::read(&run_dir.join("journal.jsonl")).unwrap_or_default()
}

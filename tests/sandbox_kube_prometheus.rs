//! Issue 19 acceptance: the upstream kubernetes-mixin alerts, as
//! kube-prometheus ships them (examples/prometheus/kube-prometheus/), run in
//! a real Prometheus against the sandbox and behave as on a real cluster.
//!
//! The rules are loaded unchanged except for their time windows, shortened
//! by [`shortened`] (minutes become seconds), which README.md there lists
//! rule by rule. One shop sandbox carries every case at once, so the whole
//! test runs about two minutes and the healthy rest of the world is watched
//! for all of it:
//! - catalog rolls out an image that cannot be pulled with
//!   `progressDeadlineSeconds: 10`, then `kubectl rollout undo`;
//! - ledger-db (a StatefulSet) rolls out a bad image, then the forced
//!   rollback (`kubectl rollout undo sts` and deleting the stuck pod);
//! - crasher runs a container whose executable is missing;
//! - checkout, which has a PDB, rolls out a good image.

mod common;
mod sandbox_support;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::harness::{Stack, StackOptions, promtool_check_metrics, require_binary};
use serde_json::Value;

fn rules_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/prometheus/kube-prometheus")
}

/// The test's time scale: every `for:` and range window of the upstream
/// rules read in seconds where upstream says minutes (and minutes where it
/// says hours), so that 15 minutes become 15 seconds. Nothing else changes.
fn shortened(rules: &str) -> String {
    let mut out = String::with_capacity(rules.len());
    for line in rules.lines() {
        out.push_str(&shorten_line(line));
        out.push('\n');
    }
    out
}

fn shorten_line(line: &str) -> String {
    let trimmed = line.trim_start();
    if let Some(d) = trimmed.strip_prefix("for: ") {
        let indent = &line[..line.len() - trimmed.len()];
        return format!("{indent}for: {}", shorten_duration(d));
    }
    // Range selectors: `[<n>m]` and `[<n>h]`.
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find('[') {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        if let Some(j) = rest.find(']') {
            let inner = &rest[..j];
            if inner.len() > 1 && inner[..inner.len() - 1].bytes().all(|b| b.is_ascii_digit()) {
                out.push_str(&shorten_duration(inner));
                rest = &rest[j..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn shorten_duration(d: &str) -> String {
    let (n, unit) = d.split_at(d.len() - 1);
    match (n.parse::<u64>(), unit) {
        (Ok(n), "m") => format!("{n}s"),
        (Ok(n), "h") => format!("{}s", n * 60),
        _ => d.to_string(),
    }
}

/// The kubernetes-apps and kubernetes-system-kubelet groups, shortened, as
/// one rules file.
fn kube_prometheus_rules() -> String {
    let mut out = String::from("groups:\n");
    for file in ["kubernetes-apps.yml", "kubernetes-system-kubelet.yml"] {
        let text = std::fs::read_to_string(rules_dir().join(file)).unwrap();
        let groups = text.split_once("\ngroups:\n").unwrap().1;
        out.push_str(&shortened(groups));
    }
    out
}

/// The alert names of one vendored rules file (the examples' own rules in
/// examples/prometheus/rules load too, and are not what this test checks).
fn alert_names(file: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(rules_dir().join(file)).unwrap();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .map(String::from)
        .collect()
}

struct Kubectl {
    kubeconfig: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Kubectl {
    fn run(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(require_binary("kubectl"))
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    fn ok(&self, args: &[&str]) -> String {
        let (ok, text) = self.run(args);
        assert!(ok, "kubectl {args:?}: {text}");
        text
    }

    fn apply(&self, manifest: &str) {
        let mut child = Command::new(require_binary("kubectl"))
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["apply", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(manifest.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "kubectl apply: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Every alert Prometheus reported while the test waited, so that the
/// healthy part of the world can be checked over the whole run.
struct Watch<'a> {
    stack: &'a Stack,
    seen: Vec<Value>,
    started: Instant,
}

impl<'a> Watch<'a> {
    fn new(stack: &'a Stack) -> Watch<'a> {
        Watch {
            stack,
            seen: Vec::new(),
            started: Instant::now(),
        }
    }

    async fn poll(&mut self) -> Vec<Value> {
        let alerts = self.stack.alerts().await;
        self.seen.extend(alerts.iter().cloned());
        alerts
    }

    /// Polls until `alertname` is firing with `label` = `value`.
    async fn firing(&mut self, alertname: &str, label: &str, value: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let alerts = self.poll().await;
            if alerts.iter().any(|a| {
                a["labels"]["alertname"] == alertname
                    && a["labels"][label] == value
                    && a["state"] == "firing"
            }) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{alertname}{{{label}={value:?}}} not firing within {timeout:?}; alerts: {alerts:#?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Polls until no alert (pending or firing) matches `about`.
    async fn resolved(&mut self, what: &str, about: impl Fn(&Value) -> bool, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let alerts = self.poll().await;
            let left: Vec<&Value> = alerts.iter().filter(|a| about(a)).collect();
            if left.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: alerts still active after {timeout:?}: {left:#?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// Whether an alert is about one of the objects the test breaks.
fn about_broken(a: &Value) -> bool {
    let l = &a["labels"];
    let s = |k: &str| l[k].as_str().unwrap_or("");
    ["catalog", "crasher"].contains(&s("deployment"))
        || s("statefulset") == "ledger-db"
        || ["catalog-", "crasher-", "ledger-db-"]
            .iter()
            .any(|p| s("pod").starts_with(p))
}

const CRASHER: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: crasher, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: crasher}}
  template:
    metadata: {labels: {app: crasher}}
    spec:
      containers:
        - name: app
          image: registry.example.com/shop/crasher:1.0
          command: [/app/missing]
";

/// The shop world at `time_scale`, real Prometheus scraping it as the
/// `kube-state-metrics` job with the shortened kube-prometheus rules, and
/// kubectl for it.
async fn start(time_scale: f64) -> (gameday::sandbox::SandboxHandle, Stack, Kubectl) {
    use gameday::sandbox::world::World;
    use gameday::sandbox::{Sandbox, SandboxOptions};
    let sandbox = Sandbox::start(SandboxOptions {
        objects: World::shop().unwrap().to_objects(),
        time_scale,
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let stack = Stack::start(
        StackOptions::sandbox(&sandbox)
            .job("kube-state-metrics")
            .extra_rules(kube_prometheus_rules()),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = sandbox_support::kubeconfig(&sandbox, dir.path());
    let k = Kubectl {
        kubeconfig,
        _dir: dir,
    };
    (sandbox, stack, k)
}

/// RESTARTS of the crasher pod as `kubectl get pods` prints it, with its STATUS.
fn crasher_restarts(k: &Kubectl) -> (String, u64) {
    let out = k.ok(&[
        "-n",
        "shop",
        "get",
        "pods",
        "-l",
        "app=crasher",
        "--no-headers",
    ]);
    let cols: Vec<&str> = out.split_whitespace().collect();
    // NAME READY STATUS RESTARTS [(<age> ago)] AGE
    (cols[2].to_string(), cols[3].parse().unwrap_or(0))
}

#[test]
fn the_shortened_rules_are_the_upstream_ones_with_seconds_for_minutes() {
    assert_eq!(shorten_line("    for: 15m"), "    for: 15s");
    assert_eq!(shorten_line("    for: 1h"), "    for: 60s");
    assert_eq!(
        shorten_line("changes(x{a=\"b\"}[10m]) == 0 and y[5m:1m]"),
        "changes(x{a=\"b\"}[10s]) == 0 and y[5m:1m]"
    );
    // README.md lists every line the shortening changes.
    let readme = std::fs::read_to_string(rules_dir().join("README.md")).unwrap();
    for file in ["kubernetes-apps.yml", "kubernetes-system-kubelet.yml"] {
        let text = std::fs::read_to_string(rules_dir().join(file)).unwrap();
        for line in text.lines() {
            let short = shorten_line(line);
            if short != line {
                assert!(
                    readme.contains(line.trim()) && readme.contains(short.trim()),
                    "README.md does not list the change `{}` -> `{}`",
                    line.trim(),
                    short.trim()
                );
            }
        }
    }
    let (ok, out) = {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rules.yml");
        std::fs::write(&path, kube_prometheus_rules()).unwrap();
        let out = Command::new(require_binary("promtool"))
            .args(["check", "rules"])
            .arg(&path)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert!(ok, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_mixin_alerts_fire_and_resolve_on_the_sandbox_as_on_a_real_cluster() {
    let (sandbox, stack, k) = start(1.0).await;
    let mut watch = Watch::new(&stack);

    // Break three workloads and roll a healthy one, all at once. catalog may
    // lose a pod during its rollout (maxUnavailable 1; with the default 25%
    // of 2 replicas none could go, and a real cluster would then show no
    // replica mismatch either).
    k.ok(&[
        "-n",
        "shop",
        "patch",
        "deployment",
        "catalog",
        "-p",
        r#"{"spec":{"progressDeadlineSeconds":10,"strategy":{"rollingUpdate":{"maxUnavailable":1}}}}"#,
    ]);
    k.ok(&[
        "-n",
        "shop",
        "set",
        "image",
        "deployment/catalog",
        "app=registry.invalid/shop/catalog:does-not-exist",
    ]);
    k.ok(&[
        "-n",
        "payments",
        "set",
        "image",
        "statefulset/ledger-db",
        "app=registry.invalid/payments/ledger-db:does-not-exist",
    ]);
    k.apply(CRASHER);
    let rollout_start = Instant::now();
    k.ok(&[
        "-n",
        "shop",
        "set",
        "image",
        "deployment/checkout",
        "app=registry.example.com/shop/checkout:1.5",
    ]);

    // The healthy rollout with a PDB: the budget's expected pods are the
    // Deployment's 4 throughout, and it never lacks healthy pods.
    k.ok(&[
        "-n",
        "shop",
        "rollout",
        "status",
        "deployment/checkout",
        "--timeout=60s",
    ]);
    let window = rollout_start.elapsed().as_secs() + 3;
    let pdb = r#"poddisruptionbudget="checkout",namespace="shop""#;
    stack
        .wait_for_query(
            &format!(
                "max_over_time(kube_poddisruptionbudget_status_expected_pods{{{pdb}}}[{window}s])"
            ),
            Duration::from_secs(5),
            |v| v == 4.0,
        )
        .await;
    stack
        .wait_for_query(
            &format!(
                "max_over_time((kube_poddisruptionbudget_status_desired_healthy{{{pdb}}} - kube_poddisruptionbudget_status_current_healthy{{{pdb}}})[{window}s:1s])"
            ),
            Duration::from_secs(5),
            |v| v <= 0.0,
        )
        .await;

    // The bad Deployment: every alert of the issue, and rollout status fails.
    let long = Duration::from_secs(120);
    watch
        .firing("KubeDeploymentRolloutStuck", "deployment", "catalog", long)
        .await;
    let (ok, text) = k.run(&[
        "-n",
        "shop",
        "rollout",
        "status",
        "deployment/catalog",
        "--timeout=10s",
    ]);
    assert!(
        !ok && text.contains("exceeded its progress deadline"),
        "{text}"
    );
    watch
        .firing(
            "KubeDeploymentReplicasMismatch",
            "deployment",
            "catalog",
            long,
        )
        .await;
    watch
        .firing(
            "KubeStatefulSetReplicasMismatch",
            "statefulset",
            "ledger-db",
            long,
        )
        .await;
    watch
        .firing(
            "KubeStatefulSetUpdateNotRolledOut",
            "statefulset",
            "ledger-db",
            long,
        )
        .await;
    let crasher_pod = k.ok(&[
        "-n",
        "shop",
        "get",
        "pods",
        "-l",
        "app=crasher",
        "-o",
        "jsonpath={.items[0].metadata.name}",
    ]);
    watch
        .firing("KubePodCrashLooping", "pod", &crasher_pod, long)
        .await;
    let (status, first) = crasher_restarts(&k);
    assert!(
        status == "CrashLoopBackOff" || status == "RunContainerError",
        "{status}"
    );
    let bad_pod = k.ok(&[
        "-n",
        "shop",
        "get",
        "pods",
        "-l",
        "app=catalog",
        "--field-selector=status.phase=Pending",
        "-o",
        "jsonpath={.items[0].metadata.name}",
    ]);
    watch.firing("KubePodNotReady", "pod", &bad_pod, long).await;
    watch
        .firing("KubeContainerWaiting", "pod", &bad_pod, long)
        .await;
    // RESTARTS rises while the container keeps failing to start.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, now) = crasher_restarts(&k);
        if now > first {
            assert!(
                status == "CrashLoopBackOff" || status == "RunContainerError",
                "{status}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "RESTARTS stayed at {first}");
        watch.poll().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The kubelet keeps the failed start as the container's last state, as
    // containerd reports a missing executable.
    let last = k.ok(&["-n", "shop", "get", "pod", &crasher_pod, "-o",
        "jsonpath={.status.containerStatuses[0].lastState.terminated.reason}/{.status.containerStatuses[0].lastState.terminated.exitCode}"]);
    assert_eq!(last, "StartError/128");
    // The scrape with all of that in it is still valid exposition.
    let body = sandbox_support::metrics_text(&sandbox).await;
    assert!(body.contains("kube_pod_container_status_waiting_reason{"));
    promtool_check_metrics(&body);

    // Roll back. The Deployment recovers by itself; the StatefulSet needs the
    // documented forced rollback: undo, then delete the pod stuck on the bad
    // revision.
    k.ok(&["-n", "shop", "rollout", "undo", "deployment/catalog"]);
    k.ok(&[
        "-n",
        "shop",
        "rollout",
        "status",
        "deployment/catalog",
        "--timeout=60s",
    ]);
    let undo = k.ok(&["-n", "payments", "rollout", "undo", "statefulset/ledger-db"]);
    assert!(undo.contains("rolled back"), "{undo}");
    k.ok(&["-n", "payments", "delete", "pod", "ledger-db-2"]);
    k.ok(&[
        "-n",
        "payments",
        "rollout",
        "status",
        "statefulset/ledger-db",
        "--timeout=60s",
    ]);
    let image = k.ok(&[
        "-n",
        "payments",
        "get",
        "statefulset",
        "ledger-db",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ]);
    assert_eq!(image, "registry.example.com/payments/ledger-db:14.9");
    k.ok(&["-n", "shop", "delete", "deployment", "crasher"]);
    let apps = alert_names("kubernetes-apps.yml");
    let is_apps = |a: &Value| apps.contains(a["labels"]["alertname"].as_str().unwrap_or(""));
    watch
        .resolved(
            "after the rollbacks",
            |a| is_apps(a) && about_broken(a),
            Duration::from_secs(60),
        )
        .await;

    // The healthy rest of the world fired no kubernetes-apps alert, over at
    // least a minute.
    while watch.started.elapsed() < Duration::from_secs(60) {
        watch.poll().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let unexpected: Vec<&Value> = watch
        .seen
        .iter()
        .filter(|a| a["state"] == "firing" && is_apps(a) && !about_broken(a))
        .collect();
    assert!(
        unexpected.is_empty(),
        "healthy objects alerted: {unexpected:#?}"
    );

    drop(stack);
    sandbox.shutdown().await;
}

/// The node lifecycle: a node whose kubelet stops posting status goes
/// Unknown after the grace period, is tainted unreachable, its pods turn
/// NotReady and are evicted after their 300 s toleration, the scheduler
/// skips it; KubeNodeNotReady and KubeNodeUnreachable fire, and resolve when
/// the kubelet is back. The sandbox runs ten times faster than a cluster
/// here (grace period 5 s, toleration 30 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_kubelet_makes_its_node_unreachable_and_the_node_alerts_fire() {
    let (sandbox, stack, k) = start(10.0).await;
    let mut watch = Watch::new(&stack);
    let node = "node-green-1";
    let on_node = |k: &Kubectl| -> Vec<String> {
        let out = k.ok(&[
            "get", "pods", "-A", "--field-selector", &format!("spec.nodeName={node}"),
            "-o", "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {.metadata.deletionTimestamp} {.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}",
        ]);
        out.lines().map(String::from).collect()
    };
    let before = on_node(&k);
    assert!(!before.is_empty(), "no pods on {node}");

    k.ok(&["annotate", "node", node, "sandbox.gameday/kubelet=stopped"]);
    let long = Duration::from_secs(90);
    watch.firing("KubeNodeNotReady", "node", node, long).await;
    watch
        .firing("KubeNodeUnreachable", "node", node, long)
        .await;
    let taints = k.ok(&[
        "get",
        "node",
        node,
        "-o",
        "jsonpath={range .spec.taints[*]}{.key}:{.effect} {end}",
    ]);
    assert!(
        taints.contains("node.kubernetes.io/unreachable:NoSchedule")
            && taints.contains("node.kubernetes.io/unreachable:NoExecute"),
        "{taints}"
    );
    let ready = k.ok(&[
        "get",
        "node",
        node,
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
    ]);
    assert_eq!(ready, "Unknown");
    // Its pods are NotReady, then evicted after the (scaled) 300 s
    // toleration: marked for deletion, and Terminating while the kubelet
    // cannot confirm. Their replacements run elsewhere.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pods = on_node(&k);
        let workload_pods: Vec<&String> = pods
            .iter()
            .filter(|p| !p.starts_with("ops/log-agent"))
            .collect();
        if !workload_pods.is_empty()
            && workload_pods
                .iter()
                .all(|p| p.split(' ').nth(1).is_some_and(|t| !t.is_empty()))
        {
            assert!(
                workload_pods.iter().all(|p| p.ends_with("False")),
                "{pods:?}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "pods not evicted from {node}: {pods:?}"
        );
        watch.poll().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (_, placed) = k.run(&["get", "pods", "-A", "-o", "wide", "--no-headers"]);
    let new_on_node = on_node(&k).len();
    assert!(
        new_on_node <= before.len(),
        "the scheduler placed pods on {node}: {placed}"
    );

    // The kubelet comes back: Ready, untainted, the evicted pods go, the
    // alerts resolve.
    k.ok(&["annotate", "node", node, "sandbox.gameday/kubelet-"]);
    watch
        .resolved(
            "after the kubelet came back",
            |a| a["labels"]["node"] == node,
            Duration::from_secs(60),
        )
        .await;
    let ready = k.ok(&[
        "get",
        "node",
        node,
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
    ]);
    assert_eq!(ready, "True");
    let taints = k.ok(&["get", "node", node, "-o", "jsonpath={.spec.taints}"]);
    assert!(!taints.contains("node.kubernetes.io/"), "{taints}");

    drop(stack);
    sandbox.shutdown().await;
}

/// The `nodeNotReady` fault (issue 19): `gameday run` stops node-green-1's
/// kubelet from its helper pod; KubeNodeNotReady and then
/// KubeNodeUnreachable fire, the node's pods are evicted after their
/// (scaled) 300 s toleration, the host timer brings the kubelet back, the
/// revert confirms the node Ready, and the alerts resolve. Time scale 10:
/// grace period 5 s, toleration 30 s; the fault holds 50 s of wall clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_not_ready_fault_fires_the_node_alerts_evicts_and_reverts_on_evidence() {
    let (sandbox, stack, k) = start(10.0).await;
    let mut watch = Watch::new(&stack);
    let node = "node-green-1";
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("down.yaml");
    std::fs::write(
        &scenario,
        r#"apiVersion: gameday/v1
kind: Scenario
metadata: {name: green-down}
spec:
  hypothesis: The shop carries on while the green node is down.
  target: {contexts: ["gameday-sandbox*"], namespaces: [shop]}
  blastRadius: {maxTargets: 1, maxDuration: 5m}
  steadyState:
    interval: 1s
    recoverWithin: 30s
    probes:
      - name: checkout-declared
        kubernetes: {kind: Deployment, namespace: shop, name: checkout, field: replicas}
        expect: ">= 0"
  faults:
    - {name: down, type: nodeNotReady, duration: 50s, selector: {nodeLabels: {pool: green}}, mode: {count: 1}}
"#,
    )
    .unwrap();
    let out = dir.path().join("run");
    let mut run = tokio::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["run", scenario.to_str().unwrap(), "--ci", "--out"])
        .arg(&out)
        .arg("--kubeconfig")
        .arg(&k.kubeconfig)
        .args(["--context", "gameday-sandbox"])
        .env_remove("GAMEDAY_CONFIG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let long = Duration::from_secs(60);
    watch.firing("KubeNodeNotReady", "node", node, long).await;
    watch
        .firing("KubeNodeUnreachable", "node", node, long)
        .await;
    // The shop's pods on the node are evicted after their toleration
    // (marked for deletion, Terminating while the kubelet is down); the
    // helper pod tolerates everything and stays.
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let pods = k.ok(&[
            "get", "pods", "-n", "shop", "--field-selector", &format!("spec.nodeName={node}"),
            "-o", "jsonpath={range .items[*]}{.metadata.name} {.metadata.deletionTimestamp}{\"\\n\"}{end}",
        ]);
        let shop: Vec<&str> = pods
            .lines()
            .filter(|l| !l.starts_with("gameday-"))
            .collect();
        if !shop.is_empty()
            && shop
                .iter()
                .all(|l| l.split(' ').nth(1).is_some_and(|t| !t.is_empty()))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "pods not evicted from {node}: {pods}"
        );
        watch.poll().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let status = tokio::time::timeout(Duration::from_secs(120), run.wait())
        .await
        .expect("the run ends")
        .unwrap();
    let journal = gameday::engine::Journal::read(&out.join("journal.jsonl")).unwrap();
    let event = |name: &str| {
        journal
            .iter()
            .find(|e| e.event == name)
            .map(|e| Value::Object(e.data.clone()))
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        status.code(),
        Some(0),
        "{}\n{journal:#?}",
        std::fs::read_to_string(dir.path().join("stderr")).unwrap_or_default()
    );
    assert_eq!(event("fault.injected")["injected"], 1, "{journal:#?}");
    assert_eq!(event("revert.confirmed")["clean"], true, "{journal:#?}");
    let ready = k.ok(&[
        "get",
        "node",
        node,
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
    ]);
    assert_eq!(ready, "True");
    let left = k.ok(&["get", "pods", "-n", "shop", "-o", "name"]);
    assert!(!left.contains("gameday-"), "helper pod left: {left}");
    watch
        .resolved(
            "after the kubelet came back",
            |a| a["labels"]["node"] == node,
            Duration::from_secs(60),
        )
        .await;
    drop(stack);
    sandbox.shutdown().await;
}

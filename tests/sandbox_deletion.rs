//! Graceful deletion, finalizers and DaemonSets, driven by the preinstalled
//! kubectl at minors 27 and 33 (the dispatcher runs the matching bundled
//! kubectl) and by direct API calls where the timing matters.

mod sandbox_support;

use std::time::Duration;

use gameday::sandbox::SandboxHandle;
use gameday::sandbox::resources::{CONFIGMAPS, DAEMONSETS, NODES, PODS};
use gameday::sandbox::store::EventType;
use sandbox_support::*;
use serde_json::json;

const MINORS: [u32; 2] = [27, 33];

impl Env {
    fn pod(&self, ns: &str, name: &str) -> Option<serde_json::Value> {
        self.sb.store().try_get(PODS, ns, name).map(|o| o.parse())
    }
}

/// The pods in `shop` labelled `app: APP`.
fn app_pods(sb: &SandboxHandle, app: &str) -> Vec<serde_json::Value> {
    objects(sb, PODS, Some("shop"))
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["app"] == app)
        .collect()
}

/// A bare pod that ignores SIGTERM (the world says so), with the default
/// 30 s grace period: it stays Terminating for the whole grace period.
const SLOW_POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: slow
  namespace: shop
  annotations: {sandbox.gameday/shutdown-delay: grace}
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - {name: app, image: shop/slow:1.0}
";

#[tokio::test]
async fn graceful_delete_shows_terminating_and_force_delete_removes_at_once() {
    for minor in MINORS {
        let e = env(minor).await;
        e.apply("slow.yaml", SLOW_POD).await;
        assert!(
            wait_until(Duration::from_secs(5), || e
                .pod("shop", "slow")
                .is_some_and(|p| ready(&p)))
            .await
        );
        let from = e.sb.store().current_rv();
        let out = e
            .kubectl(&["delete", "pod", "slow", "-n", "shop", "--wait=false"])
            .await;
        assert!(out.contains("pod \"slow\" deleted"), "{out}");
        let p = e
            .pod("shop", "slow")
            .expect("a graceful delete keeps the pod");
        assert_eq!(p["metadata"]["deletionGracePeriodSeconds"], 30);
        assert!(p["metadata"]["deletionTimestamp"].is_string());
        let out = e.kubectl(&["get", "pod", "slow", "-n", "shop"]).await;
        let row: Vec<&str> = out.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(row.first(), Some(&"slow"), "{out}");
        assert_eq!(row.get(2), Some(&"Terminating"), "{out}");
        // Still there a moment later: the grace period is 30 s.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(e.pod("shop", "slow").is_some());

        let out = kubectl(
            &e.kubeconfig,
            &[
                "delete",
                "pod",
                "slow",
                "-n",
                "shop",
                "--grace-period=0",
                "--force",
            ],
        )
        .await;
        assert!(out.ok, "{}", out.stderr);
        assert!(
            e.pod("shop", "slow").is_none(),
            "a force delete removes at once"
        );
        // Watchers saw the deletion mark, then the removal.
        let sub = e.sb.store().subscribe(PODS, Some(from)).unwrap();
        let kinds: Vec<EventType> = sub
            .backlog
            .iter()
            .filter(|ev| ev.obj.summary.name == "slow")
            .map(|ev| ev.kind)
            .collect();
        assert_eq!(
            kinds,
            [EventType::Modified, EventType::Deleted],
            "{kinds:?}"
        );
        e.sb.shutdown().await;
    }
}

#[tokio::test]
async fn a_finalizer_keeps_an_object_until_it_is_removed() {
    for minor in MINORS {
        let e = env(minor).await;
        e.apply(
            "cm.yaml",
            "apiVersion: v1
kind: ConfigMap
metadata: {name: kept, namespace: shop, finalizers: [example.com/keep]}
data: {k: v}
",
        )
        .await;
        e.kubectl(&["delete", "configmap", "kept", "-n", "shop", "--wait=false"])
            .await;
        let cm = e.sb.store().try_get(CONFIGMAPS, "shop", "kept");
        let cm = cm.expect("the finalizer keeps the ConfigMap").parse();
        assert!(cm["metadata"]["deletionTimestamp"].is_string());
        // A deleting object takes no new finalizer.
        let patch = |finalizers: &str| {
            let body = format!(r#"{{"metadata":{{"finalizers":{finalizers}}}}}"#);
            let args = [
                "patch",
                "configmap",
                "kept",
                "-n",
                "shop",
                "--type=merge",
                "-p",
            ];
            let args: Vec<String> = args.iter().map(|a| a.to_string()).chain([body]).collect();
            let kc = e.kubeconfig.clone();
            async move {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                kubectl(&kc, &args).await
            }
        };
        let refused = patch(r#"["example.com/keep","example.com/more"]"#).await;
        assert!(!refused.ok);
        assert!(
            refused.stderr.contains("no new finalizers"),
            "{}",
            refused.stderr
        );
        let released = patch("null").await;
        assert!(released.ok, "{}", released.stderr);
        assert!(e.sb.store().try_get(CONFIGMAPS, "shop", "kept").is_none());
        e.sb.shutdown().await;
    }
}

#[tokio::test]
async fn a_daemonset_runs_one_pod_per_node_cordoned_ones_included() {
    for minor in MINORS {
        let e = env(minor).await;
        e.kubectl(&["cordon", "node-3"]).await;
        e.apply(
            "ds.yaml",
            "apiVersion: apps/v1
kind: DaemonSet
metadata: {name: log-agent, namespace: shop}
spec:
  selector: {matchLabels: {app: log-agent}}
  template:
    metadata: {labels: {app: log-agent}}
    spec:
      containers:
      - {name: agent, image: shop/log-agent:1.0}
",
        )
        .await;
        let agents = || app_pods(&e.sb, "log-agent");
        assert!(
            wait_until(Duration::from_secs(5), || {
                let a = agents();
                a.len() == 3 && a.iter().all(ready)
            })
            .await
        );
        let mut nodes: Vec<String> = agents()
            .iter()
            .map(|p| p["spec"]["nodeName"].as_str().unwrap().to_string())
            .collect();
        nodes.sort();
        assert_eq!(nodes, ["node-1", "node-2", "node-3"]);
        for p in agents() {
            assert_eq!(p["metadata"]["ownerReferences"][0]["kind"], "DaemonSet");
        }
        let out = e.kubectl(&["get", "ds", "-n", "shop"]).await;
        let row: Vec<&str> = out.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(&row[..6], ["log-agent", "3", "3", "3", "3", "3"], "{out}");
        // A drain skips daemon pods (they would come straight back).
        e.kubectl(&["drain", "node-2", "--ignore-daemonsets", "--timeout=60s"])
            .await;
        assert!(agents().iter().any(|p| p["spec"]["nodeName"] == "node-2"));
        assert!(e.sb.store().try_get(NODES, "", "node-2").is_some());
        let ds =
            e.sb.store()
                .try_get(DAEMONSETS, "shop", "log-agent")
                .unwrap();
        assert_eq!(ds.value()["status"]["desiredNumberScheduled"], 3);
        e.sb.shutdown().await;
    }
}

/// A ReplicaSet replaces a terminating pod at once (it is not active any
/// more); the Deployment counts only the live ones.
#[tokio::test]
async fn a_terminating_pod_is_replaced_at_once() {
    let sb = start(33).await;
    let store = sb.store();
    let checkout = || app_pods(&sb, "checkout");
    let victim = name(&checkout()[0]);
    store
        .modify(
            PODS,
            "shop",
            &victim,
            gameday::sandbox::store::UpdateMode::Spec,
            |_, p| {
                p["metadata"]["annotations"]["sandbox.gameday/shutdown-delay"] = json!("grace");
                Ok(())
            },
        )
        .unwrap();
    store.delete(PODS, "shop", &victim, None).unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || {
            let pods = checkout();
            let live: Vec<_> = pods
                .iter()
                .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
                .collect();
            pods.len() == 5 && live.len() == 4 && live.iter().all(|p| ready(p))
        })
        .await,
        "the replacement runs beside the terminating pod"
    );
    assert!(store.try_get(PODS, "shop", &victim).is_some());
    sb.shutdown().await;
}

/// A StatefulSet identity is never run twice: the replacement of a
/// terminating pod is created only once the old one is gone.
#[tokio::test]
async fn a_statefulset_waits_for_its_terminating_pod() {
    let sb = start(33).await;
    let store = sb.store();
    let old = store.try_get(PODS, "payments", "ledger-db-1").unwrap();
    let old_uid = old.summary.uid.clone();
    store
        .delete_with(
            PODS,
            "payments",
            "ledger-db-1",
            gameday::sandbox::store::DeleteRequest {
                uid: None,
                grace: Some(2),
            },
        )
        .unwrap();
    let from = store.current_rv();
    assert!(
        wait_until(Duration::from_secs(10), || {
            store
                .try_get(PODS, "payments", "ledger-db-1")
                .is_some_and(|p| p.summary.uid != old_uid && p.summary.ready)
        })
        .await
    );
    // Between the mark and the new pod, the old one was removed first.
    let sub = store.subscribe(PODS, Some(from)).unwrap();
    let events: Vec<(EventType, String)> = sub
        .backlog
        .iter()
        .filter(|ev| ev.obj.summary.name == "ledger-db-1")
        .map(|ev| (ev.kind, ev.obj.summary.uid.clone()))
        .collect();
    let removed = events
        .iter()
        .position(|(k, u)| *k == EventType::Deleted && *u == old_uid)
        .expect("old pod removed");
    let created = events
        .iter()
        .position(|(k, u)| *k == EventType::Added && *u != old_uid)
        .expect("new pod created");
    assert!(removed < created, "{events:?}");
    sb.shutdown().await;
}

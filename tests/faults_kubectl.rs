//! The same faults seen through the real kubectl (/usr/bin/kubectl): what
//! an operator checking by hand would see during the hold and after the
//! revert. Covers scale, podFailure, nodeTaint and networkPartition, and
//! `gameday rbac` output applied with kubectl.

mod faults_support;

use std::time::Duration;

use faults_support::{Cluster, journal_events, run_stderr, shop_world};

const FAULTS: &str = "    - {name: freeze, type: podFailure, duration: 60s, selector: {namespace: shop, labels: {app: checkout}}, mode: {count: 1}}
    - {name: shrink, type: scale, duration: 60s, selector: {namespace: shop, kind: Deployment, name: frontend}, params: {replicas: 1}}
    - {name: taint, type: nodeTaint, duration: 60s, selector: {nodeLabels: {pool: green}}}
    - {name: split, type: networkPartition, duration: 60s, selector: {namespace: shop, labels: {app: checkout}}, mode: {count: 1}}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_sees_the_faults_and_their_revert() {
    let c = Cluster::start(shop_world()).await;
    let sc = c.write_scenario("k.yaml", "kubectl", FAULTS, "");
    let out = c.path("run");
    let mut child = c.spawn_run(&sc, &out);
    assert!(
        c.eventually(Duration::from_secs(20), || async {
            journal_events(&out)
                .iter()
                .filter(|e| e.event == "fault.injected")
                .count()
                == 4
        })
        .await,
        "{}",
        std::fs::read_to_string(run_stderr(&out)).unwrap_or_default()
    );

    let replicas = c
        .kubectl(&[
            "get",
            "deploy",
            "frontend",
            "-n",
            "shop",
            "-o",
            "jsonpath={.spec.replicas}",
        ])
        .await;
    assert_eq!(replicas, "1");
    let undo = c
        .kubectl(&[
            "get",
            "deploy",
            "frontend",
            "-n",
            "shop",
            "-o",
            r"jsonpath={.metadata.annotations.gameday/undo}",
        ])
        .await;
    assert_eq!(undo, r#"{"replicas":2}"#);
    let frozen = c
        .kubectl(&[
            "get",
            "pods",
            "-n",
            "shop",
            "-l",
            "gameday/fault-type!=x,app=checkout",
            "-o",
            "jsonpath={range .items[*]}{.spec.containers[0].image}{\"\\n\"}{end}",
        ])
        .await;
    assert_eq!(
        frozen
            .lines()
            .filter(|l| *l == "registry.k8s.io/pause:3.9")
            .count(),
        1,
        "{frozen}"
    );
    let taints = c
        .kubectl(&[
            "get",
            "node",
            "node-3",
            "-o",
            "jsonpath={.spec.taints[*].key}",
        ])
        .await;
    assert_eq!(taints, "gameday");
    let policies = c
        .kubectl(&["get", "networkpolicies", "-n", "shop", "-o", "name"])
        .await;
    assert_eq!(policies.lines().count(), 1, "{policies}");
    let labelled = c
        .kubectl(&[
            "get",
            "pods",
            "-n",
            "shop",
            "-l",
            "gameday/run-id",
            "-o",
            "name",
        ])
        .await;
    assert_eq!(
        labelled.lines().count(),
        2,
        "podFailure and networkPartition pods: {labelled}"
    );

    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let (code, _, err) = c.run(&["recover", "--run", out.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{err}");

    let replicas = c
        .kubectl(&[
            "get",
            "deploy",
            "frontend",
            "-n",
            "shop",
            "-o",
            "jsonpath={.spec.replicas}",
        ])
        .await;
    assert_eq!(replicas, "2");
    let images = c
        .kubectl(&[
            "get",
            "pods",
            "-n",
            "shop",
            "-l",
            "app=checkout",
            "-o",
            "jsonpath={range .items[*]}{.spec.containers[0].image}{\"\\n\"}{end}",
        ])
        .await;
    assert!(images.lines().all(|l| l == "shop/checkout:1.4"), "{images}");
    let taints = c
        .kubectl(&["get", "node", "node-3", "-o", "jsonpath={.spec.taints}"])
        .await;
    assert!(taints.is_empty() || taints == "[]", "{taints}");
    assert!(
        c.kubectl(&["get", "networkpolicies", "-n", "shop", "-o", "name"])
            .await
            .trim()
            .is_empty()
    );
    for kind in ["pods", "deployments", "networkpolicies"] {
        let left = c
            .kubectl(&["get", kind, "-A", "-l", "gameday/run-id", "-o", "name"])
            .await;
        assert!(left.trim().is_empty(), "{kind}: {left}");
    }
    let left = c
        .kubectl(&["get", "nodes", "-l", "gameday/run-id", "-o", "name"])
        .await;
    assert!(left.trim().is_empty(), "{left}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_output_is_valid_rbac_for_the_faults_used() {
    let c = Cluster::start(shop_world()).await;
    let sc = c.write_scenario("k.yaml", "kubectl", FAULTS, "");
    let (code, yaml, err) = c.run(&["rbac", sc.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{err}");
    let mut kinds = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&yaml) {
        let v = <serde_json::Value as serde::Deserialize>::deserialize(doc).unwrap();
        match v["kind"].as_str().unwrap() {
            "Role" => {
                let r: k8s_openapi::api::rbac::v1::Role =
                    serde_json::from_value(v.clone()).unwrap();
                let rules = r.rules.unwrap();
                if r.metadata.namespace.as_deref() == Some("shop") {
                    let has = |res: &str, verb: &str| {
                        rules.iter().any(|x| {
                            x.resources.as_ref().unwrap().iter().any(|r| r == res)
                                && x.verbs.iter().any(|v| v == verb)
                        })
                    };
                    assert!(
                        has("pods", "patch")
                            && has("networkpolicies", "create")
                            && has("deployments", "patch")
                    );
                    assert!(!has("pods", "delete"), "podKill is not used: no delete");
                    assert!(!has("pods/eviction", "create"));
                }
            }
            "ClusterRole" => {
                let r: k8s_openapi::api::rbac::v1::ClusterRole =
                    serde_json::from_value(v.clone()).unwrap();
                let rules = r.rules.unwrap();
                assert!(
                    rules
                        .iter()
                        .all(|x| x.resources.as_ref().unwrap() == &["nodes"])
                );
            }
            "RoleBinding" | "ClusterRoleBinding" | "Namespace" | "ServiceAccount" => {}
            other => panic!("unexpected {other}"),
        }
        kinds.push(v["kind"].as_str().unwrap().to_string());
    }
    assert!(
        kinds.contains(&"ClusterRole".to_string()),
        "nodeTaint needs nodes"
    );

    // What an operator does with it: apply it with the real kubectl, then read
    // it back: the manifests are accepted by kubectl's client-side and
    // server-side paths (tests/sandbox_auth.rs runs gameday under them).
    let file = c.path("rbac.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let applied = c.kubectl(&["apply", "-f", file.to_str().unwrap()]).await;
    assert!(applied.contains("created"), "{applied}");
    let roles = c
        .kubectl(&["get", "roles", "-n", "shop", "-o", "name"])
        .await;
    assert!(roles.contains("role.rbac.authorization.k8s.io/"), "{roles}");
    let bindings = c
        .kubectl(&["get", "rolebindings", "-n", "shop", "-o", "name"])
        .await;
    assert!(
        bindings.contains("rolebinding.rbac.authorization.k8s.io/"),
        "{bindings}"
    );
    let cluster = c.kubectl(&["get", "clusterroles", "-o", "name"]).await;
    assert!(
        cluster.contains("clusterrole.rbac.authorization.k8s.io/"),
        "{cluster}"
    );
    // Applying the same output again is a no-op, as on a real cluster.
    let again = c.kubectl(&["apply", "-f", file.to_str().unwrap()]).await;
    assert!(!again.contains("created"), "{again}");
}

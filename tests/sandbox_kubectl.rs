//! The preinstalled kubectl against the sandbox. Every test runs twice: with
//! `/version` reporting minor 27 and minor 33, so the kubectl dispatcher
//! runs two different bundled kubectl versions.

mod sandbox_support;

use std::time::Duration;

use gameday::sandbox::resources::{DEPLOYMENTS, EVENTS, NETWORKPOLICIES, NODES, PODS};
use sandbox_support::*;

const MINORS: [u32; 2] = [27, 33];

impl Env {
    /// The dispatcher ran the kubectl matching the reported minor.
    fn assert_kubectl_minor(&self, minor: u32) {
        let want = format!("kubectl/v1.{minor}.");
        assert!(
            self.sb
                .requests()
                .iter()
                .any(|r| r.user_agent.starts_with(&want)),
            "no request from {want}"
        );
    }

    fn checkout_pods(&self) -> Vec<serde_json::Value> {
        objects(&self.sb, PODS, Some("shop"))
            .into_iter()
            .filter(|p| p["metadata"]["labels"]["app"] == "checkout")
            .collect()
    }
}

#[tokio::test]
async fn kubectl_get_pods_all_namespaces() {
    for minor in MINORS {
        let e = env(minor).await;
        let out = e.kubectl(&["get", "pods", "-A"]).await;
        let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(
            header,
            ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        );
        let rows: Vec<&str> = out.lines().skip(1).collect();
        assert_eq!(rows.len(), objects(&e.sb, PODS, None).len());
        assert_eq!(rows.len(), 12);
        for pod in objects(&e.sb, PODS, None) {
            let row = rows
                .iter()
                .find(|r| r.split_whitespace().nth(1) == Some(name(&pod).as_str()))
                .unwrap();
            let cells: Vec<&str> = row.split_whitespace().collect();
            assert_eq!(cells[0], pod["metadata"]["namespace"].as_str().unwrap());
            assert_eq!(&cells[2..4], ["1/1", "Running"]);
        }
        // Pages of 5: kubectl follows the Table's `continue` token to the
        // end (a table without it shows the first page alone, as the
        // sandbox once did past 500 pods).
        let paged = e.kubectl(&["get", "pods", "-A", "--chunk-size=5"]).await;
        assert_eq!(paged.lines().skip(1).count(), 12, "{paged}");
        e.assert_kubectl_minor(minor);
        e.sb.shutdown().await;
    }
}

#[tokio::test]
async fn kubectl_get_deploy_json() {
    for minor in MINORS {
        let e = env(minor).await;
        let out = e
            .kubectl(&["get", "deploy", "-n", "shop", "-o", "json"])
            .await;
        let list: serde_json::Value = serde_json::from_str(&out).unwrap();
        let items = list["items"].as_array().unwrap();
        let mut names: Vec<String> = items.iter().map(name).collect();
        names.sort();
        assert_eq!(names, ["checkout", "frontend"]);
        let checkout = items.iter().find(|d| name(d) == "checkout").unwrap();
        assert_eq!(checkout["spec"]["replicas"], 4);
        assert_eq!(checkout["status"]["readyReplicas"], 4);
        assert_eq!(checkout["status"]["availableReplicas"], 4);
        assert_eq!(checkout["status"]["updatedReplicas"], 4);
        // kubectl writes kind and apiVersion on each item itself: on the
        // wire, a list's items have neither (kubernetes#3030), a GET has both.
        assert_eq!(checkout["kind"], "Deployment");
        let raw: serde_json::Value = serde_json::from_str(
            &e.kubectl(&["get", "--raw", "/apis/apps/v1/namespaces/shop/deployments"])
                .await,
        )
        .unwrap();
        assert_eq!(raw["kind"], "DeploymentList");
        for item in raw["items"].as_array().unwrap() {
            assert!(
                item.get("kind").is_none() && item.get("apiVersion").is_none(),
                "{item}"
            );
            assert!(item["spec"]["replicas"].is_number());
        }
        let one: serde_json::Value = serde_json::from_str(
            &e.kubectl(&[
                "get",
                "--raw",
                "/apis/apps/v1/namespaces/shop/deployments/checkout",
            ])
            .await,
        )
        .unwrap();
        assert_eq!(
            (&one["kind"], &one["apiVersion"]),
            (&"Deployment".into(), &"apps/v1".into())
        );
        e.assert_kubectl_minor(minor);
        e.sb.shutdown().await;
    }
}

#[tokio::test]
async fn kubectl_delete_pod_is_replaced() {
    for minor in MINORS {
        let e = env(minor).await;
        let victim = name(&e.checkout_pods()[0]);
        let out = e.kubectl(&["delete", "pod", &victim, "-n", "shop"]).await;
        assert!(out.contains(&format!("pod \"{victim}\" deleted")), "{out}");
        assert!(e.sb.store().try_get(PODS, "shop", &victim).is_none());
        assert!(
            wait_until(Duration::from_secs(5), || {
                let pods = e.checkout_pods();
                pods.len() == 4 && pods.iter().all(ready) && pods.iter().all(|p| name(p) != victim)
            })
            .await
        );
        e.sb.shutdown().await;
    }
}

#[tokio::test]
async fn kubectl_scale_deploy() {
    for minor in MINORS {
        let e = env(minor).await;
        let out = e
            .kubectl(&["scale", "deploy", "checkout", "-n", "shop", "--replicas=6"])
            .await;
        assert!(out.contains("scaled"), "{out}");
        assert!(
            wait_until(Duration::from_secs(5), || {
                let d =
                    e.sb.store()
                        .try_get(DEPLOYMENTS, "shop", "checkout")
                        .unwrap();
                d.value()["spec"]["replicas"] == 6 && d.value()["status"]["readyReplicas"] == 6
            })
            .await
        );
        assert_eq!(e.checkout_pods().len(), 6);
        e.kubectl(&["scale", "deploy", "checkout", "-n", "shop", "--replicas=1"])
            .await;
        assert!(wait_until(Duration::from_secs(5), || e.checkout_pods().len() == 1).await);
        e.sb.shutdown().await;
    }
}

#[tokio::test]
async fn kubectl_cordon_and_uncordon() {
    for minor in MINORS {
        let e = env(minor).await;
        let out = e.kubectl(&["cordon", "node-1"]).await;
        assert!(out.contains("node/node-1 cordoned"), "{out}");
        let node = e.sb.store().try_get(NODES, "", "node-1").unwrap();
        assert_eq!(node.value()["spec"]["unschedulable"], true);
        let table = e.kubectl(&["get", "nodes"]).await;
        assert!(
            table
                .lines()
                .any(|l| l.starts_with("node-1") && l.contains("Ready,SchedulingDisabled")),
            "{table}"
        );
        // A cordoned node takes no new pods.
        let before: Vec<String> = e.checkout_pods().iter().map(name).collect();
        e.kubectl(&["scale", "deploy", "checkout", "-n", "shop", "--replicas=10"])
            .await;
        assert!(
            wait_until(Duration::from_secs(5), || {
                let pods = e.checkout_pods();
                pods.len() == 10 && pods.iter().all(|p| p["spec"]["nodeName"].is_string())
            })
            .await
        );
        let new_pods: Vec<_> = e
            .checkout_pods()
            .into_iter()
            .filter(|p| !before.contains(&name(p)))
            .collect();
        assert_eq!(new_pods.len(), 6);
        assert!(new_pods.iter().all(|p| p["spec"]["nodeName"] != "node-1"));
        let out = e.kubectl(&["uncordon", "node-1"]).await;
        assert!(out.contains("node/node-1 uncordoned"), "{out}");
        let node = e.sb.store().try_get(NODES, "", "node-1").unwrap();
        assert!(
            node.value()["spec"]
                .get("unschedulable")
                .is_none_or(|u| u == false)
        );
        e.sb.shutdown().await;
    }
}

#[tokio::test]
async fn kubectl_drain_ignore_daemonsets() {
    for minor in MINORS {
        let e = env(minor).await;
        let before_on_node: Vec<String> = objects(&e.sb, PODS, None)
            .iter()
            .filter(|p| p["spec"]["nodeName"] == "node-2")
            .map(name)
            .collect();
        assert!(!before_on_node.is_empty());
        let out = e
            .kubectl(&["drain", "node-2", "--ignore-daemonsets", "--timeout=90s"])
            .await;
        assert!(out.contains("node/node-2 drained"), "{out}");
        let node = e.sb.store().try_get(NODES, "", "node-2").unwrap();
        assert_eq!(node.value()["spec"]["unschedulable"], true);
        assert!(
            objects(&e.sb, PODS, None)
                .iter()
                .all(|p| p["spec"]["nodeName"] != "node-2")
        );
        // Everything came back on the other nodes.
        assert!(
            wait_until(Duration::from_secs(10), || {
                let pods = objects(&e.sb, PODS, None);
                pods.len() == 12 && pods.iter().all(ready)
            })
            .await
        );
        // Drain evicts (policy/v1), it does not delete.
        assert!(
            e.sb.requests()
                .iter()
                .any(|r| r.method == "POST" && r.path.contains("/eviction"))
        );
        e.sb.shutdown().await;
    }
}

#[tokio::test]
async fn kubectl_apply_network_policy() {
    for minor in MINORS {
        let e = env(minor).await;
        let file = e.kubeconfig.with_file_name("netpol.yaml");
        std::fs::write(
            &file,
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny-checkout\n  namespace: shop\n\
             spec:\n  podSelector:\n    matchLabels: {app: checkout}\n  policyTypes: [Ingress, Egress]\n",
        )
        .unwrap();
        let f = file.to_str().unwrap();
        let out = e.kubectl(&["apply", "-f", f]).await;
        assert!(
            out.contains("networkpolicy.networking.k8s.io/deny-checkout created"),
            "{out}"
        );
        let np =
            e.sb.store()
                .try_get(NETWORKPOLICIES, "shop", "deny-checkout")
                .unwrap();
        assert_eq!(
            np.value()["spec"]["policyTypes"],
            serde_json::json!(["Ingress", "Egress"])
        );
        assert_eq!(
            np.value()["spec"]["podSelector"]["matchLabels"]["app"],
            "checkout"
        );
        // Re-applying a change patches the object.
        std::fs::write(
            &file,
            std::fs::read_to_string(&file)
                .unwrap()
                .replace("[Ingress, Egress]", "[Ingress]"),
        )
        .unwrap();
        let out = e.kubectl(&["apply", "-f", f]).await;
        assert!(out.contains("configured"), "{out}");
        let np =
            e.sb.store()
                .try_get(NETWORKPOLICIES, "shop", "deny-checkout")
                .unwrap();
        assert_eq!(
            np.value()["spec"]["policyTypes"],
            serde_json::json!(["Ingress"])
        );
        e.sb.shutdown().await;
    }
}

#[tokio::test]
async fn kubectl_get_events() {
    for minor in MINORS {
        let e = env(minor).await;
        let victim = name(&e.checkout_pods()[0]);
        e.kubectl(&["delete", "pod", &victim, "-n", "shop"]).await;
        assert!(
            wait_until(Duration::from_secs(5), || e
                .checkout_pods()
                .iter()
                .filter(|p| ready(p))
                .count()
                == 4)
            .await
        );
        let out = e.kubectl(&["get", "events", "-n", "shop"]).await;
        let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(
            header,
            ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
        );
        assert!(
            out.contains(&format!("pod/{victim}")) && out.contains("Killing"),
            "{out}"
        );
        for reason in ["SuccessfulCreate", "Scheduled", "Started"] {
            assert!(out.contains(reason), "no {reason} event:\n{out}");
        }
        let json: serde_json::Value = serde_json::from_str(
            &e.kubectl(&["get", "events", "-n", "shop", "-o", "json"])
                .await,
        )
        .unwrap();
        assert_eq!(
            json["items"].as_array().unwrap().len(),
            objects(&e.sb, EVENTS, Some("shop")).len()
        );
        e.sb.shutdown().await;
    }
}

/// The refusals a real API server gives for invalid objects and updates
/// (pkg/apis/core/validation): kubectl must see them here too.
#[tokio::test]
async fn kubectl_sees_the_real_servers_validation() {
    for minor in MINORS {
        let e = env(minor).await;
        // A name with `_` is not a DNS-1123 subdomain. kubectl posts the
        // ConfigMap as protobuf; validation runs on the decoded object.
        let out = kubectl(
            &e.kubeconfig,
            &["create", "configmap", "bad_name", "-n", "shop"],
        )
        .await;
        assert!(!out.ok, "bad_name was accepted");
        assert!(
            out.stderr.contains("is invalid") && out.stderr.contains("metadata.name"),
            "{}",
            out.stderr
        );
        // A second taint with the same key and effect.
        e.kubectl(&["taint", "nodes", "node-2", "gameday=a:NoSchedule"])
            .await;
        let dup = r#"{"spec":{"taints":[{"key":"gameday","value":"a","effect":"NoSchedule"},{"key":"gameday","value":"b","effect":"NoSchedule"}]}}"#;
        let out = kubectl(
            &e.kubeconfig,
            &["patch", "node", "node-2", "--type=merge", "-p", dup],
        )
        .await;
        assert!(!out.ok, "duplicate taint accepted");
        assert!(
            out.stderr
                .contains("taints must be unique by key and effect pair"),
            "{}",
            out.stderr
        );
        // A Deployment's template must keep matching its selector, and the
        // selector cannot change (apps/v1). Each patch is refused whole.
        for (patch, words) in [
            (
                r#"{"spec":{"template":{"metadata":{"labels":{"app":"elsewhere"}}}}}"#,
                "`selector` does not match template `labels`",
            ),
            (
                r#"{"spec":{"selector":{"matchLabels":{"app":"elsewhere"}},"template":{"metadata":{"labels":{"app":"elsewhere"}}}}}"#,
                "field is immutable",
            ),
        ] {
            let args = [
                "patch",
                "deploy",
                "checkout",
                "-n",
                "shop",
                "--type=merge",
                "-p",
                patch,
            ];
            let out = kubectl(&e.kubeconfig, &args).await;
            assert!(
                !out.ok && out.stderr.contains(words),
                "{patch}: {}",
                out.stderr
            );
        }
        // A pod's command cannot change; its image can.
        let pod = name(&e.checkout_pods()[0]);
        let cmd = r#"[{"op":"add","path":"/spec/containers/0/command","value":["sleep","1"]}]"#;
        let out = kubectl(
            &e.kubeconfig,
            &["patch", "pod", &pod, "-n", "shop", "--type=json", "-p", cmd],
        )
        .await;
        assert!(!out.ok, "command change accepted");
        assert!(
            out.stderr
                .contains("spec: Forbidden: pod updates may not change fields"),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains("spec.containers[0].command"),
            "{}",
            out.stderr
        );
        let img =
            r#"[{"op":"replace","path":"/spec/containers/0/image","value":"shop/checkout:v2"}]"#;
        e.kubectl(&["patch", "pod", &pod, "-n", "shop", "--type=json", "-p", img])
            .await;
        e.sb.shutdown().await;
    }
}

/// Pod Security admission on the ephemeralcontainers subresource: a
/// NET_ADMIN debug container is refused in a `baseline` namespace and
/// allowed in a `privileged` one, as on a real cluster.
#[tokio::test]
async fn kubectl_debug_netadmin_meets_pod_security() {
    for minor in MINORS {
        let e = env(minor).await;
        let pod = name(&e.checkout_pods()[0]);
        let debug = [
            "debug",
            "-n",
            "shop",
            &pod,
            "--image=busybox:1.36",
            "--profile=netadmin",
            "--container=dbg",
            "--",
            "sleep",
            "60",
        ];
        e.kubectl(&[
            "label",
            "ns",
            "shop",
            "pod-security.kubernetes.io/enforce=baseline",
        ])
        .await;
        let out = kubectl(&e.kubeconfig, &debug).await;
        assert!(!out.ok, "minor {minor}: NET_ADMIN accepted under baseline");
        assert!(
            out.stderr
                .contains("violates PodSecurity \"baseline:latest\"")
                && out.stderr.contains("NET_ADMIN"),
            "minor {minor}: {}",
            out.stderr
        );
        let stored = e.sb.store().try_get(PODS, "shop", &pod).unwrap();
        assert!(
            stored.value()["spec"]
                .get("ephemeralContainers")
                .is_none_or(|c| c.as_array().is_some_and(Vec::is_empty))
        );
        e.kubectl(&[
            "label",
            "--overwrite",
            "ns",
            "shop",
            "pod-security.kubernetes.io/enforce=privileged",
        ])
        .await;
        e.kubectl(&debug).await;
        let stored = e.sb.store().try_get(PODS, "shop", &pod).unwrap();
        assert_eq!(
            stored.value()["spec"]["ephemeralContainers"][0]["name"],
            "dbg"
        );
        e.sb.shutdown().await;
    }
}

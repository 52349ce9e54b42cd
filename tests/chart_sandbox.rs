//! The rendered chart against the strict sandbox: `kubectl apply
//! --dry-run=server`, then for real, into a namespace that enforces Pod
//! Security `restricted`; and the runner's pod spec through that check.

mod chart_support;
mod sandbox_support;

use chart_support::{ci_values, named, pod_spec, render};
use sandbox_support::{Env, kubectl};
use serde_json::{Value, json};

const NS: &str = "gameday-system";

async fn restricted_env() -> Env {
    let env = sandbox_support::env(33).await;
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS,
        "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}});
    let path = env.dir.path().join("ns.json");
    std::fs::write(&path, ns.to_string()).unwrap();
    env.kubectl(&["apply", "-f", path.to_str().unwrap()]).await;
    env
}

async fn apply_rendered(env: &Env, overrides: &[Value]) {
    let (text, _) = render(overrides);
    let path = env.dir.path().join("chart.yaml");
    std::fs::write(&path, text).unwrap();
    let file = path.to_str().unwrap();
    let dry = env
        .kubectl(&["apply", "--dry-run=server", "-f", file])
        .await;
    assert!(dry.contains("(server dry run)"), "{dry}");
    // A server dry run stores nothing.
    let none = env
        .kubectl(&["get", "cronjobs", "-n", NS, "-o", "name"])
        .await;
    assert_eq!(none.trim(), "");
    env.kubectl(&["apply", "-f", file]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ci_chart_applies_dry_run_then_for_real() {
    let env = restricted_env().await;
    apply_rendered(&env, &[ci_values()]).await;
    let got = env
        .kubectl(&[
            "get",
            "cronjobs,serviceaccounts,configmaps,roles,rolebindings",
            "-n",
            NS,
            "-o",
            "name",
        ])
        .await;
    for want in [
        "cronjob.batch/gameday-checkout-pod-loss",
        "cronjob.batch/gameday-watchdog",
        "serviceaccount/gameday",
        "configmap/gameday-config",
        "role.rbac.authorization.k8s.io/gameday",
        "rolebinding.rbac.authorization.k8s.io/gameday",
    ] {
        assert!(
            got.lines().any(|l| l == want),
            "{want} missing from:\n{got}"
        );
    }
    let shop = env
        .kubectl(&["get", "roles,rolebindings", "-n", "shop", "-o", "name"])
        .await;
    assert!(
        shop.contains("role.rbac.authorization.k8s.io/gameday"),
        "{shop}"
    );
    // Stored with the server's defaults, and the chart's settings kept.
    let cj: Value = serde_json::from_str(
        &env.kubectl(&[
            "get",
            "cronjob",
            "gameday-checkout-pod-loss",
            "-n",
            NS,
            "-o",
            "json",
        ])
        .await,
    )
    .unwrap();
    assert_eq!(cj["spec"]["concurrencyPolicy"], "Forbid");
    assert_eq!(cj["spec"]["suspend"], false);
    assert_eq!(cj["spec"]["jobTemplate"]["spec"]["backoffLimit"], 0);
    assert_eq!(cj["spec"]["timeZone"], "Europe/Berlin");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_exporter_values_apply_too() {
    let env = restricted_env().await;
    let exporter = chart_support::chart_dir().join("ci/exporter-values.yaml");
    let over = gameday_chart_render::read_values(&exporter).unwrap();
    apply_rendered(&env, &[ci_values(), over]).await;
    let got = env
        .kubectl(&["get", "deployments,services", "-n", NS, "-o", "name"])
        .await;
    assert!(got.contains("deployment.apps/gameday-metrics"), "{got}");
    assert!(got.contains("service/gameday-metrics"), "{got}");
}

/// Pod Security admission enforces on Pods, not on CronJob templates: the
/// runner's pod spec goes through it as a Pod, and the same pod without
/// the chart's securityContext is refused (so the check really ran).
#[tokio::test(flavor = "multi_thread")]
async fn the_runner_pod_passes_pod_security_restricted() {
    let env = restricted_env().await;
    let (_, docs) = render(&[ci_values()]);
    for name in ["gameday-checkout-pod-loss", "gameday-watchdog"] {
        let spec = pod_spec(named(&docs, "CronJob", name)).clone();
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("{name}-check"), "namespace": NS}, "spec": spec});
        let path = env.dir.path().join("pod.json");
        std::fs::write(&path, pod.to_string()).unwrap();
        let out = kubectl(
            &env.kubeconfig,
            &["create", "--dry-run=server", "-f", path.to_str().unwrap()],
        )
        .await;
        assert!(out.ok, "{name}: {}", out.stderr);
        let mut bare = pod.clone();
        bare["spec"]
            .as_object_mut()
            .unwrap()
            .remove("securityContext");
        bare["spec"]["containers"][0]
            .as_object_mut()
            .unwrap()
            .remove("securityContext");
        std::fs::write(&path, bare.to_string()).unwrap();
        let out = kubectl(
            &env.kubeconfig,
            &["create", "--dry-run=server", "-f", path.to_str().unwrap()],
        )
        .await;
        assert!(!out.ok, "{name} without its securityContext was admitted");
        assert!(
            out.stderr.contains("violates PodSecurity \"restricted:"),
            "{}",
            out.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sandbox_refuses_a_cronjob_the_real_server_refuses() {
    let env = restricted_env().await;
    let (_, docs) = render(&[ci_values()]);
    let mut cj = named(&docs, "CronJob", "gameday-checkout-pod-loss").clone();
    cj["spec"]["timeZone"] = json!("Mars/Olympus_Mons");
    // Vixie cron's Sunday-as-7, which robfig/cron (the server's parser) refuses.
    cj["spec"]["schedule"] = json!("0 10 * * 7");
    cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
    let path = env.dir.path().join("cj.json");
    std::fs::write(&path, cj.to_string()).unwrap();
    let out = kubectl(&env.kubeconfig, &["apply", "-f", path.to_str().unwrap()]).await;
    assert!(!out.ok);
    assert!(
        out.stderr
            .contains("spec.timeZone: Invalid value: \"Mars/Olympus_Mons\": unknown time zone"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "spec.schedule: Invalid value: \"0 10 * * 7\": end of range (7) above maximum (6): 7"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: \"Always\""
        ),
        "{}",
        out.stderr
    );
}

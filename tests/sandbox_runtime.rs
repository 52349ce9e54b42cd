//! The sandbox's container runtime model through the API: gameday's four
//! ephemeral faults, with their exact commands and images, run in a pod
//! and show their effect in `/metrics` and in the container statuses until
//! their revert ends them; then the failures a real node reports.

mod sandbox_support;

use std::time::Duration;

use gameday::faults::ephemeral;
use gameday::sandbox::SandboxHandle;
use gameday::sandbox::resources::PODS;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use sandbox_support::*;
use serde_json::{Value, json};

fn checkout_pods(sb: &SandboxHandle) -> Vec<String> {
    objects(sb, PODS, Some("shop"))
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["app"] == "checkout")
        .map(|p| name(&p))
        .collect()
}

/// The kubelet's report for one container (ephemeral or regular).
fn status(sb: &SandboxHandle, pod: &str, list: &str, c: &str) -> Value {
    sb.store()
        .try_get(PODS, "shop", pod)
        .and_then(|p| {
            p.value()["status"][list]
                .as_array()
                .and_then(|a| a.iter().find(|s| s["name"] == c).cloned())
        })
        .unwrap_or(Value::Null)
}

fn eph(sb: &SandboxHandle, pod: &str, c: &str) -> Value {
    status(sb, pod, "ephemeralContainerStatuses", c)
}

async fn add(pods: &Api<Pod>, pod: &str, c: Value) {
    let body = json!({"spec": {"ephemeralContainers": [c]}});
    pods.patch_ephemeral_containers(pod, &PatchParams::default(), &Patch::Strategic(body))
        .await
        .unwrap();
}

fn container(name: &str, image: &str, command: &[String], net_admin: bool) -> Value {
    let mut c =
        json!({"name": name, "image": image, "command": command, "targetContainerName": "app"});
    if net_admin {
        c["securityContext"] = json!({"capabilities": {"add": ["NET_ADMIN"]}});
    }
    c
}

async fn effect_line(sb: &SandboxHandle, pod: &str, effect: &str) -> Option<f64> {
    let text = metrics_text(sb).await;
    text.lines()
        .find(|l| {
            l.starts_with("sandbox_pod_runtime_effect{")
                && l.contains(&format!("pod=\"{pod}\""))
                && l.contains(&format!("effect=\"{effect}\""))
        })
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

async fn wait_effect(sb: &SandboxHandle, pod: &str, effect: &str, want: Option<f64>) -> bool {
    for _ in 0..60 {
        if effect_line(sb, pod, effect).await == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

struct Case {
    image: &'static str,
    inject: Vec<String>,
    revert_image: &'static str,
    revert: Vec<String>,
    net_admin: bool,
    effect: &'static str,
    value: f64,
}

#[tokio::test]
async fn the_four_ephemeral_faults_act_until_their_revert() {
    let sb = start(33).await;
    let pods: Api<Pod> = Api::namespaced(sb.kube_client().unwrap(), "shop");
    let victims = checkout_pods(&sb);
    let cases = [
        Case {
            image: ephemeral::STRESS_IMAGE,
            inject: ephemeral::stress_command(60, &["--cpu", "2"]),
            revert_image: ephemeral::REVERT_IMAGE,
            revert: ephemeral::stress_revert_command(),
            net_admin: false,
            effect: "cpu_workers",
            value: 2.0,
        },
        Case {
            image: ephemeral::STRESS_IMAGE,
            inject: ephemeral::stress_command(
                60,
                &["--vm", "1", "--vm-bytes", "128m", "--vm-keep"],
            ),
            revert_image: ephemeral::REVERT_IMAGE,
            revert: ephemeral::stress_revert_command(),
            net_admin: false,
            effect: "memory_bytes",
            value: (128u64 << 20) as f64,
        },
        Case {
            image: ephemeral::NET_IMAGE,
            inject: ephemeral::netem_command(60, "delay 200ms 20ms"),
            revert_image: ephemeral::NET_IMAGE,
            revert: ephemeral::netem_revert_command(60),
            net_admin: true,
            effect: "delay_seconds",
            value: 0.2,
        },
        Case {
            image: ephemeral::NET_IMAGE,
            inject: ephemeral::netem_command(60, "loss 10%"),
            revert_image: ephemeral::NET_IMAGE,
            revert: ephemeral::netem_revert_command(60),
            net_admin: true,
            effect: "loss_ratio",
            value: 0.1,
        },
    ];
    for (case, pod) in cases.iter().zip(&victims) {
        assert_eq!(effect_line(&sb, pod, case.effect).await, None);
        add(
            &pods,
            pod,
            container("inj", case.image, &case.inject, case.net_admin),
        )
        .await;
        assert!(
            wait_until(Duration::from_secs(3), || {
                eph(&sb, pod, "inj")["state"]["running"].is_object()
            })
            .await,
            "{}: {}",
            case.effect,
            eph(&sb, pod, "inj")
        );
        assert!(
            wait_effect(&sb, pod, case.effect, Some(case.value)).await,
            "{}",
            case.effect
        );
        add(
            &pods,
            pod,
            container("inj-r", case.revert_image, &case.revert, case.net_admin),
        )
        .await;
        assert!(
            wait_until(Duration::from_secs(3), || {
                eph(&sb, pod, "inj")["state"]["terminated"].is_object()
                    && eph(&sb, pod, "inj-r")["state"]["terminated"]["exitCode"] == 0
            })
            .await,
            "{}: {} {}",
            case.effect,
            eph(&sb, pod, "inj"),
            eph(&sb, pod, "inj-r")
        );
        let t = &eph(&sb, pod, "inj")["state"]["terminated"];
        assert!(
            t["startedAt"].is_string() && t["finishedAt"].is_string(),
            "{t}"
        );
        assert!(
            wait_effect(&sb, pod, case.effect, None).await,
            "{} still in force after the revert",
            case.effect
        );
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn a_node_refuses_what_a_node_refuses() {
    let sb = start(33).await;
    let pods: Api<Pod> = Api::namespaced(sb.kube_client().unwrap(), "shop");
    let pod = &checkout_pods(&sb)[0];
    // The stress image has no pkill: containerd cannot start the container.
    let pkill: Vec<String> = ["pkill", "-x", "stress-ng"].map(String::from).to_vec();
    add(
        &pods,
        pod,
        container("nopkill", ephemeral::STRESS_IMAGE, &pkill, false),
    )
    .await;
    // tc without NET_ADMIN: the kernel says EPERM, tc exits 2.
    let tc = ephemeral::netem_command(30, "delay 100ms 0ms");
    add(
        &pods,
        pod,
        container("eperm", ephemeral::NET_IMAGE, &tc, false),
    )
    .await;
    // runAsNonRoot with an image whose user is root, no runAsUser.
    let mut nonroot = container(
        "nonroot",
        "busybox:1.36",
        &["sleep".into(), "30".into()],
        false,
    );
    nonroot["securityContext"] = json!({"runAsNonRoot": true});
    add(&pods, pod, nonroot).await;
    // An image no registry has.
    add(
        &pods,
        pod,
        container("nopull", "registry.invalid/tools:1", &["sh".into()], false),
    )
    .await;
    assert!(
        wait_until(Duration::from_secs(3), || {
            eph(&sb, pod, "nopkill")["state"]["terminated"].is_object()
                && eph(&sb, pod, "eperm")["state"]["terminated"].is_object()
                && eph(&sb, pod, "nonroot")["state"]["waiting"].is_object()
                && eph(&sb, pod, "nopull")["state"]["waiting"]["reason"] == "ImagePullBackOff"
        })
        .await,
        "{} {} {} {}",
        eph(&sb, pod, "nopkill"),
        eph(&sb, pod, "eperm"),
        eph(&sb, pod, "nonroot"),
        eph(&sb, pod, "nopull")
    );
    let t = &eph(&sb, pod, "nopkill")["state"]["terminated"];
    assert_eq!(t["reason"], "StartError");
    assert_eq!(t["exitCode"], 128);
    assert!(
        t["message"]
            .as_str()
            .unwrap()
            .contains("exec: \"pkill\": executable file not found in $PATH"),
        "{t}"
    );
    let t = &eph(&sb, pod, "eperm")["state"]["terminated"];
    assert_eq!(
        (t["exitCode"].as_i64(), t["reason"].as_str()),
        (Some(2), Some("Error"))
    );
    let w = &eph(&sb, pod, "nonroot")["state"]["waiting"];
    assert_eq!(w["reason"], "CreateContainerConfigError");
    assert!(
        w["message"]
            .as_str()
            .unwrap()
            .starts_with("container has runAsNonRoot and image will run as root"),
        "{w}"
    );
    // None of them had any effect.
    for effect in ["cpu_workers", "delay_seconds"] {
        assert_eq!(effect_line(&sb, pod, effect).await, None);
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn an_unpullable_image_is_err_image_pull_then_back_off() {
    let sb = start(33).await;
    let pods: Api<Pod> = Api::namespaced(sb.kube_client().unwrap(), "shop");
    let pod = &checkout_pods(&sb)[0];
    add(
        &pods,
        pod,
        container("nopull", "registry.invalid/tools:1", &["sh".into()], false),
    )
    .await;
    let reason = || {
        eph(&sb, pod, "nopull")["state"]["waiting"]["reason"]
            .as_str()
            .map(String::from)
    };
    // The first failed pull, then the back-off the kubelet keeps retrying in.
    for want in ["ErrImagePull", "ImagePullBackOff"] {
        let seen = wait_until(Duration::from_secs(3), || reason().as_deref() == Some(want)).await;
        assert!(seen, "{want}: {:?}", reason());
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn pause_with_the_original_command_crash_loops() {
    let sb = start(33).await;
    let pods: Api<Pod> = Api::namespaced(sb.kube_client().unwrap(), "shop");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "paused"},
        "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.9",
                                 "command": ["/app/server", "--port", "8080"]}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let st = || status(&sb, "paused", "containerStatuses", "app");
    assert!(
        wait_until(
            Duration::from_secs(3),
            || st()["state"]["waiting"]["reason"] == "RunContainerError"
        )
        .await,
        "{}",
        st()
    );
    assert_eq!(st()["lastState"]["terminated"]["reason"], "StartError");
    assert!(
        wait_until(
            Duration::from_secs(3),
            || st()["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        )
        .await,
        "{}",
        st()
    );
    assert_eq!(st()["ready"], false);
    sb.shutdown().await;
}

/// `kubectl logs` reads what a container printed, at the oldest and newest
/// kubectl the sandbox serves.
#[tokio::test]
async fn kubectl_logs_reads_what_the_container_printed() {
    for minor in [27, 33] {
        let sb = start(minor).await;
        let dir = tempfile::tempdir().unwrap();
        let kc = kubeconfig(&sb, dir.path());
        let pods: Api<Pod> = Api::namespaced(sb.kube_client().unwrap(), "shop");
        let pod = &checkout_pods(&sb)[0];
        let script = ["sh", "-c", "echo one; echo two; echo three"].map(String::from);
        add(
            &pods,
            pod,
            container("talk", "busybox:1.36", &script, false),
        )
        .await;
        assert!(
            wait_until(Duration::from_secs(3), || {
                eph(&sb, pod, "talk")["state"]["terminated"].is_object()
            })
            .await
        );
        let out = kubectl(&kc, &["logs", "-n", "shop", pod, "-c", "talk"]).await;
        assert!(out.ok, "1.{minor}: {}", out.stderr);
        assert_eq!(out.stdout, "one\ntwo\nthree\n", "1.{minor}");
        let out = kubectl(&kc, &["logs", "-n", "shop", pod, "-c", "talk", "--tail=2"]).await;
        assert_eq!(out.stdout, "two\nthree\n", "1.{minor}: {}", out.stderr);
        // A container that never started has no log yet.
        let never = ["sh".to_string()];
        add(
            &pods,
            pod,
            container("nopull", "registry.invalid/x:1", &never, false),
        )
        .await;
        let out = kubectl(&kc, &["logs", "-n", "shop", pod, "-c", "nopull"]).await;
        assert!(
            !out.ok && out.stderr.contains("is waiting to start"),
            "{}",
            out.stderr
        );
        sb.shutdown().await;
    }
}

/// `kubectl logs --previous`: refused until the container restarts, then
/// the log of the instance before the restart (here: a changed image, which
/// the kubelet answers by killing the container and starting the new one).
#[tokio::test]
async fn kubectl_logs_previous_reads_the_instance_before_the_restart() {
    let sb = start(33).await;
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig(&sb, dir.path());
    let pods: Api<Pod> = Api::namespaced(sb.kube_client().unwrap(), "shop");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "talker"},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36",
            "command": ["sh", "-c", "echo started; sleep 3600"]}]}}))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let running = |sb: &SandboxHandle| {
        status(sb, "talker", "containerStatuses", "c")["state"]["running"].is_object()
    };
    assert!(wait_until(Duration::from_secs(5), || running(&sb)).await);
    let out = kubectl(&kc, &["logs", "-n", "shop", "talker", "--previous"]).await;
    assert!(
        !out.ok
            && out
                .stderr
                .contains("previous terminated container \"c\" in pod \"talker\" not found"),
        "{}",
        out.stderr
    );
    let out = kubectl(
        &kc,
        &["set", "image", "-n", "shop", "pod/talker", "c=busybox:1.37"],
    )
    .await;
    assert!(out.ok, "{}", out.stderr);
    let restarted = |sb: &SandboxHandle| {
        let s = status(sb, "talker", "containerStatuses", "c");
        s["restartCount"] == 1 && s["state"]["running"].is_object()
    };
    assert!(wait_until(Duration::from_secs(5), || restarted(&sb)).await);
    let out = kubectl(&kc, &["logs", "-n", "shop", "talker", "-p"]).await;
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(out.stdout, "started\n");
    sb.shutdown().await;
}

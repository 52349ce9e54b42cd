//! Issue 12 item 9: `pods/exec` over WebSocket, acted out by the container
//! runtime model. The real kubectl (minor 33, protocol v5) and the Python
//! client's `stream` (v4) run commands in a busybox pod; exit codes,
//! missing executables and RBAC behave as on a real cluster.

mod sandbox_support;

use std::path::PathBuf;
use std::time::Duration;

use sandbox_support::*;

/// A busybox pod that sleeps, and a ServiceAccount that may read pods but
/// not exec into them.
const MANIFEST: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: shell, namespace: shop}
spec:
  containers:
  - {name: box, image: "busybox:1.36", command: [sleep, "3600"]}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: reader, namespace: shop}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: shop}
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader-reads-pods, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
subjects: [{kind: ServiceAccount, name: reader, namespace: shop}]
"#;

/// The test world plus [`MANIFEST`], with the shell pod's container running.
async fn shell_env() -> Env {
    let e = env(33).await;
    e.apply("shell.yaml", MANIFEST).await;
    let running = || {
        objects(&e.sb, gameday::sandbox::resources::PODS, Some("shop"))
            .iter()
            .any(|p| {
                name(p) == "shell"
                    && p["status"]["containerStatuses"][0]["state"]["running"].is_object()
            })
    };
    assert!(
        wait_until(Duration::from_secs(10), running).await,
        "the shell pod never ran"
    );
    e
}

#[tokio::test]
async fn kubectl_exec_prints_the_output() {
    let e = shell_env().await;
    let out = e
        .kubectl(&["exec", "-n", "shop", "shell", "--", "sh", "-c", "echo hi"])
        .await;
    assert_eq!(out, "hi\n");
    // A command that waits: its output comes when its sleep ends.
    let out = e
        .kubectl(&[
            "exec",
            "-n",
            "shop",
            "shell",
            "--",
            "sh",
            "-c",
            "sleep 1; echo done",
        ])
        .await;
    assert_eq!(out, "done\n");
    // What exec'd processes print is not the container's log.
    let logs = e.kubectl(&["logs", "-n", "shop", "shell"]).await;
    assert_eq!(logs, "");
    e.sb.shutdown().await;
}

#[tokio::test]
async fn a_non_zero_exit_is_kubectls_exit_code() {
    let e = shell_env().await;
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new("/usr/bin/kubectl")
            .args(["exec", "-n", "shop", "shell", "--", "sh", "-c", "exit 3"])
            .arg("--cache-dir")
            .arg(e.dir.path().join("kube-cache"))
            .env("KUBECONFIG", &e.kubeconfig)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("kubectl finished")
    .expect("kubectl runs");
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    e.sb.shutdown().await;
}

#[tokio::test]
async fn a_missing_executable_fails_with_the_runtimes_message() {
    let e = shell_env().await;
    let out = kubectl(
        &e.kubeconfig,
        &["exec", "-n", "shop", "shell", "--", "nosuch"],
    )
    .await;
    assert!(!out.ok);
    assert!(
        out.stderr
            .contains(r#"exec: "nosuch": executable file not found in $PATH"#),
        "{}",
        out.stderr
    );
    e.sb.shutdown().await;
}

#[tokio::test]
async fn exec_needs_create_on_pods_exec() {
    let e = shell_env().await;
    let token = e
        .kubectl(&["create", "token", "reader", "-n", "shop"])
        .await
        .trim()
        .to_string();
    let sa = kubeconfig_with_token(
        &e.kubeconfig,
        &token,
        e.dir.path().join("reader-kubeconfig"),
    );
    let out = kubectl(
        &sa,
        &["exec", "-n", "shop", "shell", "--", "sh", "-c", "echo hi"],
    )
    .await;
    assert!(!out.ok);
    assert!(
        out.stderr.contains("Forbidden")
            && out.stderr.contains(r#"cannot create resource "pods/exec""#),
        "{}",
        out.stderr
    );
    e.sb.shutdown().await;
}

/// Before any upgrade: an unknown pod is 404 and a plain request is the
/// real server's 400, with a Status body.
#[tokio::test]
async fn a_plain_request_is_refused_as_the_real_server_does() {
    let e = shell_env().await;
    let client = e.sb.http_client().unwrap();
    let base = format!("{}/api/v1/namespaces/shop/pods", e.sb.api_url());
    let query = "command=sh&stdout=true";
    let resp = client
        .get(format!("{base}/nosuch/exec?{query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let resp = client
        .get(format!("{base}/shell/exec?{query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["message"], "Upgrade request required");
    e.sb.shutdown().await;
}

#[tokio::test]
async fn python_client_stream_returns_the_output() {
    let py = std::env::var_os("GAMEDAY_CLIENT_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-clients/bin/python"),
        PathBuf::from,
    );
    assert!(
        py.is_file(),
        "{} is missing: see tests/clients_python.rs",
        py.display()
    );
    let e = shell_env().await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/python_exec.py");
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(py)
            .arg(&script)
            .arg(&e.kubeconfig)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the Python client finished within 120 s")
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.lines().any(|l| l == "ok stream exec"), "{stdout}");
    e.sb.shutdown().await;
}

/// `kubectl logs -f --timestamps`: the first line arrives while the
/// container still runs, the next when it is printed, and kubectl returns
/// once the container exits, as on a real node. Each line carries the
/// kubelet's RFC 3339 timestamp.
#[tokio::test]
async fn kubectl_logs_follow_streams_until_the_container_exits() {
    use tokio::io::{AsyncBufReadExt, BufReader};

    let e = env(33).await;
    e.apply(
        "talker.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: talker, namespace: shop}
spec:
  restartPolicy: Never
  containers:
  - {name: box, image: "busybox:1.36", command: [sh, -c, "echo one; sleep 3; echo two"]}
"#,
    )
    .await;
    let state = |key: &str| {
        objects(&e.sb, gameday::sandbox::resources::PODS, Some("shop"))
            .iter()
            .any(|p| {
                name(p) == "talker" && p["status"]["containerStatuses"][0]["state"][key].is_object()
            })
    };
    assert!(
        wait_until(Duration::from_secs(10), || state("running")).await,
        "the talker never ran"
    );
    let mut child = tokio::process::Command::new("/usr/bin/kubectl")
        .args(["logs", "-f", "--timestamps", "-n", "shop", "talker"])
        .arg("--cache-dir")
        .arg(e.dir.path().join("kube-cache"))
        .env("KUBECONFIG", &e.kubeconfig)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("no first line within 20 s")
        .unwrap()
        .expect("kubectl ended before the first line");
    assert!(first.ends_with(" one"), "{first}");
    assert!(
        !state("terminated"),
        "the first line came only after the container exited: not a stream"
    );
    let stamp = first.split(' ').next().unwrap();
    assert!(
        stamp.parse::<jiff::Timestamp>().is_ok(),
        "not an RFC 3339 timestamp: {first}"
    );
    let second = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("no second line within 20 s")
        .unwrap()
        .expect("kubectl ended before the second line");
    assert!(second.ends_with(" two"), "{second}");
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("kubectl logs -f still following 20 s after the container's last line")
        .unwrap();
    assert!(status.success(), "{status}");
    assert!(state("terminated"));
    e.sb.shutdown().await;
}

/// The server sets `status.qosClass` at create as kube-apiserver does
/// (GetPodQOS): requests without limits are Burstable, limits alone are
/// Guaranteed (requests default to them), nothing is BestEffort. The
/// sandbox used to call every pod BestEffort.
#[tokio::test]
async fn the_server_sets_each_pods_qos_class() {
    let e = env(33).await;
    e.apply("qos.yaml", r#"
apiVersion: v1
kind: Pod
metadata: {name: burstable, namespace: shop}
spec:
  containers:
  - {name: app, image: "busybox:1.36", command: [sleep, "3600"], resources: {requests: {cpu: 100m, memory: 64Mi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: guaranteed, namespace: shop}
spec:
  containers:
  - {name: app, image: "busybox:1.36", command: [sleep, "3600"], resources: {limits: {cpu: 500m, memory: 64Mi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: besteffort, namespace: shop}
spec:
  containers:
  - {name: app, image: "busybox:1.36", command: [sleep, "3600"]}
"#)
        .await;
    for (pod, class) in [
        ("burstable", "Burstable"),
        ("guaranteed", "Guaranteed"),
        ("besteffort", "BestEffort"),
    ] {
        let got = e
            .kubectl(&[
                "get",
                "pod",
                "-n",
                "shop",
                pod,
                "-o",
                "jsonpath={.status.qosClass}",
            ])
            .await;
        assert_eq!(got, class, "{pod}");
    }
    let requests = e
        .kubectl(&[
            "get",
            "pod",
            "-n",
            "shop",
            "guaranteed",
            "-o",
            "jsonpath={.spec.containers[0].resources.requests.cpu}",
        ])
        .await;
    assert_eq!(requests, "500m", "requests default to limits");
    e.sb.shutdown().await;
}

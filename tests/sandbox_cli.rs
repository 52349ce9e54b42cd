//! `gameday sandbox` as a process: the ready line, a usable kubeconfig, the
//! misbehaviour flags, and a clean stop on SIGTERM and SIGINT.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> (Guard, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .arg("sandbox")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    (Guard(child), line)
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_exit(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[test]
fn prints_ready_line_serves_kubectl_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kc.yaml");
    let world = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/sandbox_support/world.yaml"
    );
    let (mut guard, line) = spawn(&[
        "--world",
        world,
        "--kubeconfig-out",
        kc.to_str().unwrap(),
        "--context-name",
        "drill",
        "--kube-minor",
        "30",
    ]);
    let re = regex::Regex::new(r"^sandbox ready: api=(https://127\.0\.0\.1:\d+) metrics=(https://127\.0\.0\.1:\d+/metrics) kubeconfig=(.+)\n$").unwrap();
    let caps = re
        .captures(&line)
        .unwrap_or_else(|| panic!("unexpected ready line {line:?}"));
    assert_eq!(&caps[3], kc.to_str().unwrap());
    let kubeconfig = std::fs::read_to_string(&kc).unwrap();
    assert!(kubeconfig.contains(&caps[1]));
    let out = Command::new("/usr/bin/kubectl")
        .args(["--context", "drill", "--cache-dir"])
        .arg(dir.path().join("cache"))
        .args([
            "get",
            "deploy",
            "checkout",
            "-n",
            "shop",
            "-o",
            "jsonpath={.status.readyReplicas}",
        ])
        .env("KUBECONFIG", &kc)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "4");
    signal(&guard.0, "TERM");
    let status =
        wait_exit(&mut guard.0, Duration::from_secs(10)).expect("sandbox did not stop on SIGTERM");
    assert!(status.success(), "{status:?}");
}

#[test]
fn misbehaviour_flags_and_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kc.yaml");
    let (mut guard, line) = spawn(&[
        "--kubeconfig-out",
        kc.to_str().unwrap(),
        "--error-rate",
        "1",
        "--error-status",
        "429",
    ]);
    let api = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("api="))
        .unwrap()
        .to_string();
    // HTTPS with the CA written next to the kubeconfig, as the admin.
    let kubeconfig: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&kc).unwrap()).unwrap();
    let token = kubeconfig["users"][0]["user"]["token"].as_str().unwrap();
    let auth = [
        "--cacert".to_string(),
        dir.path().join("sandbox-ca.crt").display().to_string(),
        "-H".to_string(),
        format!("Authorization: Bearer {token}"),
    ];
    let out = Command::new("curl")
        .args(&auth)
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("{api}/api/v1/namespaces"),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "429");
    // The admin endpoint is never affected by the knobs.
    let out = Command::new("curl")
        .args(&auth)
        .args(["-s", "-X", "DELETE", &format!("{api}/sandbox/misbehaviour")])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = Command::new("curl")
        .args(&auth)
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("{api}/api/v1/namespaces"),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
    signal(&guard.0, "INT");
    let status =
        wait_exit(&mut guard.0, Duration::from_secs(10)).expect("sandbox did not stop on SIGINT");
    assert!(status.success(), "{status:?}");
}

#[test]
fn rejects_bad_flags() {
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["sandbox", "--kube-minor", "19"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["sandbox", "--error-rate", "3"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("errorRate"));
}

//! The official Kubernetes Python client (from PyPI, in the venv that
//! scripts/test.sh makes) against the sandbox: a client nobody here wrote,
//! used as its own docs show. See tests/clients/python_client.py.

mod sandbox_support;

use std::path::PathBuf;
use std::time::Duration;

use sandbox_support::*;

/// The venv's interpreter, or the test fails with how to make it.
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("GAMEDAY_CLIENT_PYTHON") {
        return PathBuf::from(p);
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-clients/bin/python");
    assert!(
        p.is_file(),
        "{} is missing: run scripts/test.sh, which makes it with \
         `python3 -m venv .venv-clients && .venv-clients/bin/pip install -r tests/clients/requirements.txt`",
        p.display()
    );
    p
}

#[tokio::test]
async fn python_kubernetes_client_works_against_the_sandbox() {
    let py = python();
    let sb = start(33).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig(&sb, dir.path());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/python_client.py");
    let out = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new(py)
            .arg(&script)
            .arg(&kubeconfig)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the Python client finished within 180 s")
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python client failed:\n{stdout}\n{stderr}"
    );
    // How hard the drain had to retry (429s while the PDB held).
    if let Some(l) = stdout.lines().find(|l| l.starts_with("drained ")) {
        eprintln!("{l}");
    }
    for check in [
        "ok version",
        "ok api groups",
        "ok list with limit and continue",
        "ok server-side pod defaults",
        "ok events.k8s.io/v1",
        "ok eviction under a PDB is 429",
        "ok daemonset pod on the node",
        "ok drain skips the daemonset pod",
        "ok drain node-3",
        "ok daemonset pod stays on node-3",
    ] {
        assert!(
            stdout.lines().any(|l| l == check),
            "missing `{check}`:\n{stdout}"
        );
    }
    sb.shutdown().await;
}

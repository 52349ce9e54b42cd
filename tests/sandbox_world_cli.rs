//! `gameday sandbox --world` rejects an invalid world file with every
//! mistake at its file:line:col and exit 2, before serving anything.

use std::process::Command;

#[test]
fn invalid_world_file_exits_2_with_positions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "apiVersion: gameday/v1\nkind: World\nmetadata: {name: x}\nspec:\n  nodes: [{name: n, capacity: 0, labls: {}}]\n  namespaces: [shop]\n  services:\n    - {name: a, namespace: shop, selector: {app: a}, port: 80, traffic: {calls: [nope]}}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["sandbox", "--world"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let file = path.display().to_string();
    assert!(
        stderr.contains(&format!(
            "{file}:5:31: error: `capacity` must be at least 1"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{file}:5:34: error: unknown field `labls`")),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `labels`?"), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "nothing served: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

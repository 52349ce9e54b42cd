//! Shell completions offer what a flag takes: `gameday init --fault <TAB>`
//! lists the fault types, not file names. Checked by running the generated
//! bash script's completion function, and by reading the zsh script.

use std::process::Command;

fn completions(shell: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["completions", shell])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn bash_completes_fault_types_after_init_fault() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("gameday.bash");
    std::fs::write(&script, completions("bash")).unwrap();
    // What bash does on `gameday init drill --fault pod<TAB>`.
    let probe = format!(
        r#"source {}
COMP_WORDS=(gameday init drill --fault pod); COMP_CWORD=4
COMP_LINE="gameday init drill --fault pod"; COMP_POINT=${{#COMP_LINE}}
_gameday gameday pod --fault
printf '%s\n' "${{COMPREPLY[@]}}""#,
        script.display()
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &probe])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let offered = String::from_utf8_lossy(&out.stdout);
    let mut got: Vec<&str> = offered.lines().collect();
    got.sort();
    assert_eq!(
        got,
        ["podEvict", "podFailure", "podKill"],
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn zsh_lists_every_fault_type_for_init_fault() {
    let script = completions("zsh");
    let line = script
        .lines()
        .find(|l| l.contains("--fault=") && l.contains("TYPE"))
        .unwrap_or_else(|| panic!("no --fault spec in\n{script}"));
    for ty in [
        "podKill",
        "scale",
        "networkDelay",
        "nodeDrain",
        "memoryStress",
    ] {
        assert!(line.contains(ty), "{ty} missing: {line}");
    }
}

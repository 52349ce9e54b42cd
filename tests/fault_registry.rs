//! The fault registry is the one list of fault types (src/faults/mod.rs).
//! A fault added there must come with everything a user meets: a starter
//! that validates, its RBAC, its rows in the docs and a shipped scenario.
//! (Its params schema for editors is the type its validation reads, by
//! construction: `scenario::fault_spec::params_schema`.) docs/adding-a-fault.md walks through it; this test
//! names whatever a new fault still lacks.

use std::path::{Path, PathBuf};
use std::process::Command;

use gameday::config::Config;
use gameday::faults::{FAULTS, Registry};
use gameday::scenario::load_str;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn starter(ty: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["init", "registry-check", "--fault", ty])
        .output()
        .expect("gameday init runs");
    assert!(
        out.status.success(),
        "gameday init --fault {ty}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn every_fault_has_a_starter_that_validates_as_that_type() {
    for kind in FAULTS {
        let text = starter(kind.name());
        let parsed =
            load_str("starter.yaml", &text, &Config::default(), &Registry).unwrap_or_else(|d| {
                panic!("{}: {}", kind.name(), gameday::diag::render_all(&d, false))
            });
        assert_eq!(parsed[0].spec.faults[0].kind.as_str(), kind.name());
    }
}

#[test]
fn every_fault_states_its_rbac_and_what_it_marks() {
    for kind in FAULTS {
        assert!(
            !kind.rbac().is_empty(),
            "{}: rbac() is empty, so `gameday rbac` would grant it nothing",
            kind.name()
        );
        assert!(
            !kind.marks().is_empty(),
            "{}: marks() is empty, so `recover` would not look for it",
            kind.name()
        );
    }
}

#[test]
fn every_fault_has_its_docs_rows() {
    let scenario_md = read(&repo().join("docs/scenario.md"));
    let safety_md = read(&repo().join("docs/safety.md"));
    for kind in FAULTS {
        let name = kind.name();
        assert!(
            scenario_md.contains(&format!("| `{name}` |")),
            "docs/scenario.md has no row `| `{name}` |` in \"Fault types and their params\""
        );
        let in_undo_table = safety_md.lines().filter(|l| l.starts_with("| ")).any(|l| {
            let first = l.split('|').nth(1).unwrap_or_default();
            first.split(',').any(|n| n.trim() == name)
        });
        assert!(
            in_undo_table,
            "docs/safety.md's undo table has no row for {name}"
        );
    }
}

#[test]
fn every_fault_has_a_shipped_scenario() {
    let mut shipped = String::new();
    for entry in std::fs::read_dir(repo().join("scenarios")).expect("scenarios/") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            shipped.push_str(&read(&path));
        }
    }
    for kind in FAULTS {
        let name = kind.name();
        assert!(
            shipped.contains(&format!("type: {name}\n")),
            "no scenario in scenarios/ uses `type: {name}`"
        );
    }
}

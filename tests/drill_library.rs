//! The shipped drill library: every file in `scenarios/drills/` validates
//! and runs offline with its autopilot to exit 0, meeting its objectives
//! (the hybrid one, which needs the sandbox, in `drill_hybrid.rs`);
//! `gameday init --drill` writes a starter that validates and runs too.

use std::path::{Path, PathBuf};

mod drill_support;
use drill_support::{gameday, result};

fn library() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/drills");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    v
}

fn run_to_exit_0(tmp: &Path, file: &Path) -> serde_json::Value {
    let name = file.file_stem().unwrap().to_string_lossy().into_owned();
    let v = gameday(tmp).arg("validate").arg(file).output().unwrap();
    assert_eq!(
        v.status.code(),
        Some(0),
        "{name}: {}",
        String::from_utf8_lossy(&v.stderr)
    );
    let out = tmp.join(&name);
    let o = gameday(tmp)
        .args(["drill", "--ci", "--speed", "300", "--out"])
        .arg(&out)
        .arg(file)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    result(&out)
}

/// Whether the drill has a `fault` inject: it needs a cluster, and runs
/// against the sandbox in `drill_hybrid.rs`.
fn is_hybrid(file: &Path) -> bool {
    let config = gameday::config::Config::default();
    let drills = gameday::drill::load_file(file, &config, &gameday::faults::Registry)
        .unwrap_or_else(|d| panic!("{}: {d:?}", file.display()));
    drills.iter().any(|d| d.spec.is_hybrid())
}

#[test]
fn every_library_drill_validates_and_runs_to_exit_0_meeting_its_objectives() {
    let drills = library();
    assert!(drills.len() >= 5, "only {} drills", drills.len());
    let hybrid: Vec<&PathBuf> = drills.iter().filter(|f| is_hybrid(f)).collect();
    assert_eq!(hybrid.len(), 1, "one hybrid drill: {hybrid:?}");
    let tmp = tempfile::tempdir().unwrap();
    for file in drills.iter().filter(|f| !is_hybrid(f)) {
        let r = run_to_exit_0(tmp.path(), file);
        assert_eq!(r["kind"], "Drill");
        let objectives = r["objectives"].as_array().unwrap();
        assert!(!objectives.is_empty(), "{}: no objectives", file.display());
        for o in objectives {
            assert_eq!(o["met"], true, "{}: {o}", file.display());
        }
    }
}

#[test]
fn init_drill_writes_a_commented_starter_that_validates_and_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("starter.yaml");
    let o = gameday(tmp.path())
        .args(["init", "--drill", "-o"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("kind: Drill"));
    assert!(
        text.lines()
            .filter(|l| l.trim_start().starts_with('#'))
            .count()
            >= 10,
        "commented"
    );
    run_to_exit_0(tmp.path(), &file);
}

//! The golden-corpus rule shared by the scenario and drill validators'
//! tests: every invalid fixture has exactly one golden entry, and no two
//! entries are the same mistake.

use std::path::Path;

/// Checks the fixtures in `dir` against the golden table's stems and
/// messages: at least `min` fixtures, one entry each, all messages distinct.
pub fn check_corpus(dir: &Path, golden: &[(&str, usize, usize, &str)], min: usize) {
    let mut stems: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    stems.sort();
    assert!(stems.len() >= min, "only {} invalid fixtures", stems.len());
    let mut names: Vec<&str> = golden.iter().map(|g| g.0).collect();
    names.sort();
    assert_eq!(stems, names, "every fixture needs exactly one golden entry");
    let mut messages: Vec<&str> = golden.iter().map(|g| g.3).collect();
    messages.sort();
    messages.dedup();
    assert_eq!(
        messages.len(),
        golden.len(),
        "each fixture must be a different mistake"
    );
}

/// The fixture `stem` was reported with a hint containing `hint`.
pub fn assert_hint(stem: &str, diags: &[gameday::diag::Diagnostic], hint: &str) {
    assert!(
        diags
            .iter()
            .any(|d| d.hint.as_deref().is_some_and(|h| h.contains(hint))),
        "{stem}: no hint containing `{hint}` in\n{}",
        gameday::diag::render_all(diags, false)
    );
}

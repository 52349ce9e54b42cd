//! The workspace's structure, enforced: top-level modules import only from
//! lower layers (docs/architecture.md), no two of them import each other,
//! nothing outside `src/cli` imports the CLI, the crates under `crates/` sit
//! below gameday and never depend on it or name its env and labels, and no
//! function in `src/` or `crates/*/src` runs past 120 lines.
//!
//! Why a test and not a convention: the import cycle this replaced grew one
//! `use crate::cli::exit` at a time, each harmless on its own. A layer table
//! checked on every `cargo test` catches the first upward edge, naming the
//! file and line, while it is still one line to move.
//!
//! The check reads the source text: comments, strings and char literals are
//! blanked out, then every `crate::x` path (and each name of a
//! `crate::{a, b::c}` group) is an edge from the file's top-level module to
//! `x`. `super::` stays inside a top-level module, so it is no edge. A path
//! through a workspace crate (`gameday_sandbox::…`) is an edge to the name
//! gameday re-exports it under (`sandbox`), so going around the re-export
//! does not go around the table.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layer order, lowest first. A module may import only from modules in
/// lower layers; modules in the same layer are independent of each other.
/// The bottom layers are the workspace's crates ([`CRATES`]), as gameday
/// re-exports them in `src/lib.rs`. Keep this table and the one in
/// docs/architecture.md in step.
const LAYERS: &[&[&str]] = &[
    &["diag", "yaml"],
    &["sandbox"],
    &["term", "exit", "values"],
    &["config"],
    &["scenario", "calendar"],
    &["drill", "incident", "history", "k8s"],
    &["observe", "faults", "demo", "paging"],
    &["score", "readiness"],
    &["engine"],
    &["report"],
    &["respond"],
    &["app", "tabletop"],
    &["cli"],
];

/// The crates under `crates/`, lowest first: directory, package, and the
/// modules gameday re-exports from it (its row of [`LAYERS`], in the same
/// order). A crate may depend only on crates before it, never on gameday.
/// A tool crate that gameday does not link (no modules) has no layer: an
/// import of it from `src/` is reported as outside the layer table.
const CRATES: &[(&str, &str, &[&str])] = &[
    ("crates/spanned", "gameday-spanned", &["diag", "yaml"]),
    ("crates/sandbox", "gameday-sandbox", &["sandbox"]),
    ("crates/chart-render", "gameday-chart-render", &[]),
];

/// The longest a function in `src/` or `crates/*/src` may be, in lines from `fn` to its `}`.
const MAX_FN_LINES: usize = 120;

/// Functions allowed over [`MAX_FN_LINES`], each with a comment saying why.
/// Empty: every function fits. An entry that no longer exceeds the limit is
/// reported, so the list only shrinks.
const LONG_FN_PENDING: &[(&str, &str)] = &[];

fn root_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn src_dir() -> PathBuf {
    root_dir().join("src")
}

/// Every `.rs` file under `dir`, sorted so messages come in a stable order.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// `src/engine/gates.rs` -> `engine`, `src/exit.rs` -> `exit`; the crate
/// roots (`lib.rs`, `main.rs`) are not modules of the layer table.
fn top_module(rel: &Path) -> Option<String> {
    let mut parts = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    let first = parts.next()?;
    let more = parts.next().is_some();
    if more {
        return Some(first);
    }
    let stem = first.strip_suffix(".rs")?;
    (stem != "lib" && stem != "main").then(|| stem.to_string())
}

/// The source with comments, string literals and char literals replaced by
/// spaces (newlines kept), so that positions and line numbers still match and
/// a `crate::` inside a doc comment or a message is not an import.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to.min(b.len())] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let mut i = 0;
    while i < b.len() {
        let word_before = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        if b[i..].starts_with(b"//") {
            let end = b[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |p| i + p);
            blank(&mut out, i, end);
            i = end;
        } else if b[i..].starts_with(b"/*") {
            let (mut depth, mut j) = (0usize, i);
            while j < b.len() {
                if b[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if b[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if !word_before && raw_string_start(&b[i..]).is_some() {
            let (open, hashes) = raw_string_start(&b[i..]).unwrap_or_default();
            let mut close = vec![b'"'];
            close.extend(std::iter::repeat_n(b'#', hashes));
            let body = i + open;
            let end = b[body..]
                .windows(close.len())
                .position(|w| w == close.as_slice())
                .map_or(b.len(), |p| body + p + close.len());
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            blank(&mut out, i, j + 1);
            i = j + 1;
        } else if b[i] == b'\'' && b.get(i + 1) == Some(&b'\\') {
            let end = b[i + 2..]
                .iter()
                .position(|&c| c == b'\'')
                .map_or(b.len(), |p| i + 3 + p);
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            blank(&mut out, i, i + 3);
            i += 3;
        } else {
            // A lifetime ('a) or a multi-byte char literal; neither holds `crate::`.
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `r"`, `r#"`, `br##"` …: the length of the opening and the number of `#`.
fn raw_string_start(b: &[u8]) -> Option<(usize, usize)> {
    let rest = b.strip_prefix(b"b").unwrap_or(b);
    let skipped = b.len() - rest.len();
    let rest = rest.strip_prefix(b"r")?;
    let hashes = rest.iter().take_while(|&&c| c == b'#').count();
    (rest.get(hashes) == Some(&b'"')).then_some((skipped + 1 + hashes + 1, hashes))
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The top-level names a `crate::` path at `at` (just past `crate::`) reaches:
/// one for `crate::engine::Journal`, each first name for
/// `crate::{config::Config, engine::{Entry, Journal}}`.
fn named_after(code: &[u8], at: usize) -> Vec<String> {
    let ident = |from: usize| {
        let end = code[from..]
            .iter()
            .position(|&c| !is_ident(c))
            .map_or(code.len(), |p| from + p);
        String::from_utf8_lossy(&code[from..end]).into_owned()
    };
    if code.get(at) != Some(&b'{') {
        return vec![ident(at)];
    }
    let (mut names, mut depth, mut expect_name) = (Vec::new(), 0usize, true);
    for (j, &c) in code.iter().enumerate().skip(at) {
        match c {
            b'{' => {
                depth += 1;
                expect_name = depth == 1;
            }
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            b',' if depth == 1 => expect_name = true,
            c if expect_name && depth == 1 && is_ident(c) => {
                names.push(ident(j));
                expect_name = false;
            }
            _ => {}
        }
    }
    names
}

/// One import between top-level modules, where it is written.
#[derive(Debug, Clone)]
struct Edge {
    from: String,
    to: String,
    file: String,
    line: usize,
}

/// `#[macro_export]` macros live at the crate root (`crate::errln!`); each
/// is an edge to the module that defines it.
fn macro_homes() -> BTreeMap<String, String> {
    let src = src_dir();
    let mut homes = BTreeMap::new();
    for path in rust_files(&src) {
        let Some(home) = top_module(path.strip_prefix(&src).expect("under src")) else {
            continue;
        };
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let code = code_only(&text);
        for (at, _) in code.match_indices("macro_rules!") {
            let rest = code[at + "macro_rules!".len()..].trim_start();
            let name: String = rest
                .chars()
                .take_while(|&c| c.is_ascii_alphanumeric() || c == '_')
                .collect();
            homes.insert(name, home.clone());
        }
    }
    homes
}

/// Every edge between two different top-level modules under `src/`.
fn edges() -> Vec<Edge> {
    let src = src_dir();
    let macros = macro_homes();
    let mut out = Vec::new();
    for path in rust_files(&src) {
        let rel = path.strip_prefix(&src).expect("under src").to_path_buf();
        let Some(from) = top_module(&rel) else {
            continue;
        };
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let code = code_only(&text);
        let file = format!("src/{}", rel.display());
        let mut reached: Vec<(usize, String)> = paths_after(&code, "crate::")
            .into_iter()
            .map(|(at, name)| (at, macros.get(&name).cloned().unwrap_or(name)))
            .collect();
        for (_, package, modules) in CRATES {
            let prefix = format!("{}::", package.replace('-', "_"));
            reached.extend(paths_after(&code, &prefix).into_iter().map(|(at, name)| {
                let to = if modules.contains(&name.as_str()) {
                    name
                } else {
                    modules
                        .first()
                        .map_or(package.to_string(), |m| m.to_string())
                };
                (at, to)
            }));
        }
        for (at, to) in reached {
            if to != from && to != "self" {
                out.push(Edge {
                    from: from.clone(),
                    to,
                    file: file.clone(),
                    line: code[..at].matches('\n').count() + 1,
                });
            }
        }
    }
    out
}

/// Each `prefix` path in `code` (`crate::`, `gameday_sandbox::`) as its
/// position and the top-level names it reaches. `gameday_crate::` is not a
/// `crate::` path, but `$crate::` is.
fn paths_after(code: &str, prefix: &str) -> Vec<(usize, String)> {
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(p) = code[pos..].find(prefix) {
        let at = pos + p;
        pos = at + prefix.len();
        if at > 0 && is_ident(bytes[at - 1]) {
            continue;
        }
        out.extend(named_after(bytes, pos).into_iter().map(|name| (at, name)));
    }
    out
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The violations of the layer order among `edges`, one message each.
fn against_the_order(edges: &[Edge]) -> Vec<String> {
    let mut bad = Vec::new();
    for e in edges {
        let (Some(from), Some(to)) = (layer_of(&e.from), layer_of(&e.to)) else {
            let unknown = if layer_of(&e.from).is_none() {
                &e.from
            } else {
                &e.to
            };
            bad.push(format!(
                "{}:{}: module `{unknown}` is not in the layer table; add it to LAYERS in \
                 tests/architecture.rs and to docs/architecture.md",
                e.file, e.line
            ));
            continue;
        };
        if to >= from {
            let how = if to == from {
                "a module of the same layer"
            } else {
                "a higher layer"
            };
            bad.push(format!(
                "{}:{}: `{}` (layer {from}) imports `crate::{}` (layer {to}), {how}; \
                 move the shared item down or invert the dependency (docs/architecture.md)",
                e.file, e.line, e.from, e.to
            ));
        }
    }
    bad
}

/// Cycles between top-level modules, each as `a -> b -> … -> a` with the
/// place of every edge in it.
fn cycles(edges: &[Edge]) -> Vec<String> {
    let mut graph: BTreeMap<&str, BTreeMap<&str, &Edge>> = BTreeMap::new();
    for e in edges {
        graph.entry(&e.from).or_default().entry(&e.to).or_insert(e);
    }
    let mut found = BTreeSet::new();
    let nodes: Vec<&str> = graph.keys().copied().collect();
    for &start in &nodes {
        // Depth-first from `start`, looking for a way back to it through
        // modules that sort after it (so each cycle is found once).
        let mut stack: Vec<(&str, Vec<&Edge>)> = vec![(start, Vec::new())];
        let mut seen = BTreeSet::new();
        while let Some((node, path)) = stack.pop() {
            for (&next, &edge) in graph.get(node).into_iter().flatten() {
                let mut p = path.clone();
                p.push(edge);
                if next == start {
                    let names: Vec<&str> =
                        p.iter().map(|e| e.from.as_str()).chain([start]).collect();
                    let places: Vec<String> =
                        p.iter().map(|e| format!("{}:{}", e.file, e.line)).collect();
                    found.insert(format!(
                        "cycle {} ({})",
                        names.join(" -> "),
                        places.join(", ")
                    ));
                } else if next > start && seen.insert(next) {
                    stack.push((next, p));
                }
            }
        }
    }
    found.into_iter().collect()
}

#[test]
fn imports_point_only_down_the_layer_order() {
    let bad = against_the_order(&edges());
    assert!(
        bad.is_empty(),
        "imports against the layer order:\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_cycle_between_top_level_modules() {
    let found = cycles(&edges());
    assert!(
        found.is_empty(),
        "import cycles between top-level modules:\n{}",
        found.join("\n")
    );
}

#[test]
fn only_the_cli_imports_the_cli() {
    let bad: Vec<String> = edges()
        .into_iter()
        .filter(|e| e.to == "cli")
        .map(|e| format!("{}:{}: `{}` imports `crate::cli`", e.file, e.line, e.from))
        .collect();
    assert!(
        bad.is_empty(),
        "outside src/cli, nothing may import the CLI:\n{}",
        bad.join("\n")
    );
}

#[test]
fn every_top_level_module_has_a_layer() {
    let src = src_dir();
    let missing: Vec<String> = rust_files(&src)
        .iter()
        .filter_map(|p| top_module(p.strip_prefix(&src).expect("under src")))
        .filter(|m| layer_of(m).is_none())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(
        missing.is_empty(),
        "modules missing from LAYERS (and docs/architecture.md): {missing:?}"
    );
}

#[test]
fn the_docs_show_the_same_layers() {
    let path = root_dir().join("docs/architecture.md");
    let doc = std::fs::read_to_string(&path).expect("docs/architecture.md");
    let missing: Vec<String> = LAYERS
        .iter()
        .enumerate()
        .filter_map(|(i, layer)| {
            let cells: Vec<String> = layer.iter().map(|m| format!("`{m}`")).collect();
            let row = format!("| {i} | {} |", cells.join(", "));
            (!doc.contains(&row)).then_some(row)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/architecture.md lacks the rows:\n{}",
        missing.join("\n")
    );
}

/// The package names a Cargo.toml depends on, in every `[…dependencies]`
/// table: each key (`kube.workspace = true` is `kube`), each
/// `[dependencies.name]` header, each `package = "…"` rename, and
/// `gameday` for a `path` that leads to the workspace root. `dir` is the
/// manifest's directory, for the paths.
fn dependencies(manifest: &str, dir: &Path) -> Vec<String> {
    let root = root_dir().canonicalize().expect("workspace root");
    let quoted_after = |line: &str, key: &str| {
        let rest = line.split_once(key)?.1.trim_start().strip_prefix('=')?;
        let rest = rest.trim_start().strip_prefix('"')?;
        rest.split_once('"').map(|(v, _)| v.to_string())
    };
    let (mut out, mut in_deps) = (Vec::new(), false);
    for line in manifest.lines().map(str::trim) {
        if let Some(header) = line.strip_prefix('[') {
            let header = header.trim_end_matches(']');
            let (table, name) = header.rsplit_once('.').unwrap_or((header, ""));
            in_deps = header.ends_with("dependencies") || table.ends_with("dependencies");
            if table.ends_with("dependencies") && !name.is_empty() {
                out.push(name.trim_matches('"').to_string());
            }
            continue;
        }
        if !in_deps || line.starts_with('#') || !line.contains('=') {
            continue;
        }
        let key = line.split(['=', '.']).next().unwrap_or_default().trim();
        if !key.is_empty() && !["package", "path", "version", "workspace"].contains(&key) {
            out.push(key.trim_matches('"').to_string());
        }
        out.extend(quoted_after(line, "package "));
        if let Some(path) = quoted_after(line, "path ")
            && dir.join(&path).canonicalize().is_ok_and(|p| p == root)
        {
            out.push("gameday".to_string());
        }
    }
    out
}

/// Why a crate's dependency is not allowed, if it is not: gameday itself, or
/// a workspace crate that is not below it in [`CRATES`].
fn forbidden_dependency(crate_index: usize, dependency: &str) -> Option<String> {
    if dependency == "gameday" {
        return Some("depends on the gameday package; the crates sit below it".into());
    }
    let below = CRATES[..crate_index]
        .iter()
        .any(|(_, p, _)| *p == dependency);
    (dependency.starts_with("gameday-") && !below)
        .then(|| format!("depends on `{dependency}`, which is not a crate below it in CRATES"))
}

#[test]
fn the_crates_are_the_bottom_layers() {
    let src = src_dir();
    let linked = CRATES.iter().filter(|(.., modules)| !modules.is_empty());
    for (i, (dir, package, modules)) in linked.enumerate() {
        assert_eq!(LAYERS[i], *modules, "layer {i} is the crate {dir}");
        let manifest = std::fs::read_to_string(root_dir().join(dir).join("Cargo.toml"))
            .unwrap_or_else(|e| panic!("read {dir}/Cargo.toml: {e}"));
        assert!(
            manifest.contains(&format!("name = \"{package}\"")),
            "{dir}/Cargo.toml is not the package {package}"
        );
        for m in *modules {
            assert!(
                !src.join(m).exists() && !src.join(format!("{m}.rs")).exists(),
                "src/{m} exists, but `{m}` is the crate {dir}, re-exported in src/lib.rs"
            );
        }
    }
    let listed: BTreeSet<&str> = CRATES.iter().map(|(dir, ..)| *dir).collect();
    let entries = std::fs::read_dir(root_dir().join("crates")).expect("crates/");
    for entry in entries {
        let name = entry.expect("directory entry").file_name();
        let dir = format!("crates/{}", name.to_string_lossy());
        assert!(
            listed.contains(dir.as_str()),
            "{dir} is missing from CRATES in tests/architecture.rs (and docs/architecture.md)"
        );
    }
}

#[test]
fn crates_never_depend_on_gameday() {
    let mut bad = Vec::new();
    for (i, (dir, ..)) in CRATES.iter().enumerate() {
        let path = root_dir().join(dir);
        let manifest = std::fs::read_to_string(path.join("Cargo.toml"))
            .unwrap_or_else(|e| panic!("read {dir}/Cargo.toml: {e}"));
        let deps: BTreeSet<String> = dependencies(&manifest, &path).into_iter().collect();
        assert!(!deps.is_empty(), "{dir}/Cargo.toml: no dependencies read");
        bad.extend(
            deps.iter()
                .filter_map(|d| forbidden_dependency(i, d))
                .map(|why| format!("{dir}/Cargo.toml: {why}")),
        );
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The values of gameday's marks (`gameday/run-id` and the annotations),
/// read from `src/k8s/marks.rs` so the list cannot drift from them.
fn gameday_marks() -> Vec<String> {
    let path = src_dir().join("k8s/marks.rs");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .filter(|l| l.starts_with("pub const ") && l.contains(": &str = \"gameday/"))
        .filter_map(|l| l.split('"').nth(1).map(str::to_string))
        .collect()
}

/// Where `text` names gameday's env (`GAMEDAY_…`) or one of `marks`, as
/// `line: what`, comments included: the sandbox acts out containers from
/// their image and command, so gameday's conventions must not even be
/// mentioned as something to special-case.
fn names_of_gameday(text: &str, marks: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.contains("GAMEDAY_") {
            out.push(format!("{}: names gameday's env (`GAMEDAY_…`)", n + 1));
        }
        for m in marks.iter().filter(|m| line.contains(m.as_str())) {
            out.push(format!("{}: names gameday's mark `{m}`", n + 1));
        }
    }
    out
}

#[test]
fn crate_sources_never_name_gamedays_env_or_marks() {
    let marks = gameday_marks();
    assert!(
        marks.iter().any(|m| m == "gameday/run-id"),
        "src/k8s/marks.rs: marks not found ({marks:?})"
    );
    let mut bad = Vec::new();
    for (dir, ..) in CRATES {
        let base = root_dir().join(dir);
        for path in rust_files(&base) {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            let rel = path.strip_prefix(root_dir()).expect("in the workspace");
            bad.extend(
                names_of_gameday(&text, &marks)
                    .into_iter()
                    .map(|at| format!("{}:{at}", rel.display())),
            );
        }
    }
    assert!(
        bad.is_empty(),
        "the crates must not know gameday's env or marks (docs/architecture.md, \"Crates\"):\n{}",
        bad.join("\n")
    );
}

/// The directories the length limit covers: `src/` and each crate's `src/`.
fn source_roots() -> Vec<PathBuf> {
    let crates = CRATES
        .iter()
        .map(|(dir, ..)| root_dir().join(dir).join("src"));
    std::iter::once(src_dir()).chain(crates).collect()
}

/// Every function under [`source_roots`] as (file, name, first line, lines).
fn functions() -> Vec<(String, String, usize, usize)> {
    let mut out = Vec::new();
    for path in source_roots().iter().flat_map(|root| rust_files(root)) {
        let rel = format!(
            "{}",
            path.strip_prefix(root_dir())
                .expect("in the workspace")
                .display()
        );
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let code = code_only(&text);
        let b = code.as_bytes();
        let mut pos = 0;
        while let Some(p) = code[pos..].find("fn ") {
            let at = pos + p;
            pos = at + 3;
            if at > 0 && is_ident(b[at - 1]) {
                continue;
            }
            let name_at = pos
                + b[pos..]
                    .iter()
                    .take_while(|c| c.is_ascii_whitespace())
                    .count();
            let name_len = b[name_at..].iter().take_while(|&&c| is_ident(c)).count();
            if name_len == 0 {
                continue; // `fn(` is a pointer type, not an item
            }
            let name = code[name_at..name_at + name_len].to_string();
            // The body starts at the first `{` before any `;` (a `;` first is a
            // declaration without a body, as in a trait).
            let Some(open) = b[name_at..]
                .iter()
                .position(|&c| c == b'{' || c == b';')
                .map(|p| name_at + p)
            else {
                continue;
            };
            if b[open] == b';' {
                continue;
            }
            let mut depth = 0usize;
            let mut close = open;
            for (j, &c) in b.iter().enumerate().skip(open) {
                match c {
                    b'{' => depth += 1,
                    b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            close = j;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let first = code[..at].matches('\n').count() + 1;
            let last = code[..close].matches('\n').count() + 1;
            out.push((rel.clone(), name, first, last - first + 1));
        }
    }
    out
}

#[test]
fn no_function_runs_past_the_limit() {
    let long: Vec<String> = functions()
        .into_iter()
        .filter(|(file, name, _, lines)| {
            *lines > MAX_FN_LINES && !LONG_FN_PENDING.contains(&(file.as_str(), name.as_str()))
        })
        .map(|(file, name, line, lines)| format!("{file}:{line}: fn {name} is {lines} lines"))
        .collect();
    assert!(
        long.is_empty(),
        "functions over {MAX_FN_LINES} lines (split them along their concepts):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_pending_list_names_only_long_functions() {
    let all = functions();
    let stale: Vec<String> = LONG_FN_PENDING
        .iter()
        .filter(|(file, name)| {
            !all.iter()
                .any(|(f, n, _, lines)| f == file && n == name && *lines > MAX_FN_LINES)
        })
        .map(|(file, name)| format!("{file}: fn {name}"))
        .collect();
    if !stale.is_empty() {
        // Not a failure: sandbox and faults are split on other branches, and
        // a merge must not break on a list that is merely out of date.
        eprintln!(
            "LONG_FN_PENDING entries now within the limit, remove them:\n{}",
            stale.join("\n")
        );
    }
}

/// The checks themselves, on text they must flag: a test that cannot fail
/// proves nothing.
mod parser {
    use super::*;

    #[test]
    fn comments_and_strings_are_not_imports() {
        let code = code_only(
            "// crate::cli\nlet s = \"crate::cli\"; /* crate::cli */ let r = r#\"crate::cli\"#; let c = '\"';\nuse crate::term;",
        );
        assert!(!code.contains("crate::cli"), "{code}");
        assert!(code.contains("use crate::term;"));
        assert_eq!(code.matches('\n').count(), 2, "line numbers are kept");
    }

    #[test]
    fn groups_name_each_top_level_module() {
        let code = "use crate::{config::Config, engine::{Entry, Journal}, term};";
        let at = code.find("crate::").expect("path") + "crate::".len();
        assert_eq!(
            named_after(code.as_bytes(), at),
            ["config", "engine", "term"]
        );
    }

    #[test]
    fn a_crate_path_is_an_edge_to_its_re_export() {
        let code = "use gameday_sandbox::world::World; use gameday_spanned::{yaml, values};";
        let sandbox: Vec<String> = paths_after(code, "gameday_sandbox::")
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        assert_eq!(sandbox, ["world"]);
        let spanned: Vec<String> = paths_after(code, "gameday_spanned::")
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        assert_eq!(spanned, ["yaml", "values"]);
        assert!(paths_after("my_gameday_sandbox::x", "gameday_sandbox::").is_empty());
    }

    #[test]
    fn a_crate_depending_on_gameday_is_reported() {
        let dir = root_dir().join("crates/sandbox");
        let manifest = "[package]\nname = \"x\"\n\n[dependencies]\n# gameday = \"1\"\n\
            serde.workspace = true\nruntime = { package = \"gameday\", path = \"../..\" }\n\
            \n[dev-dependencies.gameday-sandbox]\npath = \"../sandbox\"\n";
        let deps = dependencies(manifest, &dir);
        assert_eq!(
            deps,
            ["serde", "runtime", "gameday", "gameday", "gameday-sandbox"]
        );
        let bad: Vec<String> = deps
            .iter()
            .filter_map(|d| forbidden_dependency(1, d))
            .collect();
        assert_eq!(bad.len(), 3, "{bad:?}");
        assert!(bad[0].contains("depends on the gameday package"));
        assert!(bad[2].contains("`gameday-sandbox`, which is not a crate below it"));
        assert_eq!(forbidden_dependency(1, "gameday-spanned"), None);
    }

    #[test]
    fn gamedays_env_and_marks_are_found_even_in_comments() {
        let marks = ["gameday/run-id".to_string()];
        let text = "let a = \"sandbox.gameday/calls\";\n// reads GAMEDAY_TOKEN\nlet b = \"gameday/run-id\";";
        assert_eq!(
            names_of_gameday(text, &marks),
            [
                "2: names gameday's env (`GAMEDAY_…`)",
                "3: names gameday's mark `gameday/run-id`"
            ]
        );
    }

    #[test]
    fn an_upward_edge_and_a_cycle_are_reported() {
        let edge = |from: &str, to: &str| Edge {
            from: from.into(),
            to: to.into(),
            file: format!("src/{from}/x.rs"),
            line: 7,
        };
        let edges = [edge("engine", "cli"), edge("cli", "engine")];
        let bad = against_the_order(&edges);
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(
            bad[0].starts_with(
                "src/engine/x.rs:7: `engine` (layer 8) imports `crate::cli` (layer 12)"
            ),
            "{}",
            bad[0]
        );
        let found = cycles(&edges);
        assert_eq!(
            found,
            ["cycle cli -> engine -> cli (src/cli/x.rs:7, src/engine/x.rs:7)"]
        );
    }
}

/// `Result<T, String>` in code (not comments or strings): an error the
/// caller can only print, never match on.
fn string_errors(code: &str) -> Vec<usize> {
    let re = regex::Regex::new(r"Result<[^;{]*,\s*String\s*>").expect("regex");
    re.find_iter(code)
        .map(|m| code[..m.start()].matches('\n').count() + 1)
        .collect()
}

#[test]
fn errors_are_typed_not_strings() {
    let mut found = Vec::new();
    for path in source_roots().iter().flat_map(|root| rust_files(root)) {
        let src = std::fs::read_to_string(&path).expect("read source");
        for line in string_errors(&code_only(&src)) {
            let rel = path.strip_prefix(root_dir()).unwrap_or(&path);
            found.push(format!("{}:{line}", rel.display()));
        }
    }
    assert!(
        found.is_empty(),
        "`Result<_, String>` (use a thiserror enum the caller can match on):\n{}",
        found.join("\n")
    );
}

#[test]
fn a_string_error_is_found() {
    assert_eq!(
        string_errors("fn a() {}\nfn f() -> Result<u8, String> {\n"),
        vec![2]
    );
    assert_eq!(
        string_errors("type R = std::result::Result<Vec<u8>,String>;"),
        vec![1]
    );
    assert!(string_errors("fn f() -> Result<String, Error> {").is_empty());
}

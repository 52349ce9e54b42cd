//! Reading the audit's inputs from spanned YAML: the few shapes the rule
//! files, the Alertmanager config and the catalog share (a string, a map of
//! strings, a list), each mistake a diagnostic at the offending node so the
//! user sees file:line:col, never a serde message without a position.

use std::collections::BTreeMap;

use crate::diag::{Diagnostic, Source};
use crate::yaml::{Node, Value};

/// The file's documents, parsed; parse errors go to `diags`.
pub fn parse(src: &Source<'_>, diags: &mut Vec<Diagnostic>) -> Vec<Node> {
    let (docs, mut parse_diags) = crate::yaml::parse(src);
    diags.append(&mut parse_diags);
    docs.into_iter()
        .filter(|d| !crate::yaml::is_empty_document(d))
        .map(|d| d.root)
        .collect()
}

/// The string under `key`, if present; anything but a scalar is an error.
pub fn string(
    src: &Source<'_>,
    node: &Node,
    key: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<String> {
    let entry = node.entry(key)?;
    match entry.value.as_scalar_string() {
        Some(s) => Some(s),
        None if entry.value.is_null() => None,
        None => {
            diags.push(src.error(
                entry.value.span,
                format!(
                    "`{key}` must be a string, found {}",
                    entry.value.kind_name()
                ),
            ));
            None
        }
    }
}

/// A map of strings (labels, annotations, `match`), with the line of each
/// value. Missing or null is empty; any other shape is an error.
pub fn string_map(
    src: &Source<'_>,
    node: &Node,
    key: &str,
    diags: &mut Vec<Diagnostic>,
) -> BTreeMap<String, (String, usize)> {
    let mut out = BTreeMap::new();
    let Some(value) = node.get(key) else {
        return out;
    };
    if value.is_null() {
        return out;
    }
    if !matches!(value.value, Value::Map(_)) {
        diags.push(src.error(
            value.span,
            format!("`{key}` must be a mapping, found {}", value.kind_name()),
        ));
        return out;
    }
    for e in value.entries() {
        match (e.key.as_scalar_string(), e.value.as_scalar_string()) {
            (Some(k), Some(v)) => {
                out.insert(k, (v, e.key.span.line as usize));
            }
            _ => diags.push(src.error(
                e.value.span,
                format!("the values under `{key}` must be strings"),
            )),
        }
    }
    out
}

/// The items of the list under `key` (missing or null is empty).
pub fn list<'n>(
    src: &Source<'_>,
    node: &'n Node,
    key: &str,
    diags: &mut Vec<Diagnostic>,
) -> &'n [Node] {
    match node.get(key) {
        None => &[],
        Some(v) if v.is_null() => &[],
        Some(v) if matches!(v.value, Value::Seq(_)) => v.items(),
        Some(v) => {
            diags.push(src.error(
                v.span,
                format!("`{key}` must be a list, found {}", v.kind_name()),
            ));
            &[]
        }
    }
}

/// Requires a mapping (a rule, a route, a catalog entity).
pub fn require_map(src: &Source<'_>, node: &Node, what: &str, diags: &mut Vec<Diagnostic>) -> bool {
    if matches!(node.value, Value::Map(_)) {
        return true;
    }
    diags.push(src.error(
        node.span,
        format!("{what} must be a mapping, found {}", node.kind_name()),
    ));
    false
}

/// The 1-based line of the entry under `key`, else of the node itself.
pub fn line_of(node: &Node, key: &str) -> usize {
    node.entry(key).map_or(node.span.line, |e| e.key.span.line) as usize
}

/// Reads a file for a loader; an unreadable file is one diagnostic at 1:1
/// (in a Vec, the loaders' error type).
pub fn read(path: &std::path::Path) -> Result<String, Vec<Diagnostic>> {
    std::fs::read_to_string(path).map_err(|e| {
        vec![Diagnostic::error(
            path.display().to_string(),
            1,
            1,
            format!("cannot read the file: {e}"),
        )]
    })
}

/// Every YAML file under each of `paths`, in order; a path that is not
/// there is a diagnostic.
pub fn files_under(
    paths: &[std::path::PathBuf],
    diags: &mut Vec<Diagnostic>,
) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        match yaml_files(path) {
            Ok(mut f) => files.append(&mut f),
            Err(mut d) => diags.append(&mut d),
        }
    }
    files
}

/// Every `.yml`/`.yaml` file under `path` (itself when it is a file),
/// sorted, so findings come in a stable order.
pub fn yaml_files(path: &std::path::Path) -> Result<Vec<std::path::PathBuf>, Vec<Diagnostic>> {
    if !path.is_dir() {
        if !path.exists() {
            return Err(vec![Diagnostic::error(
                path.display().to_string(),
                1,
                1,
                "no such file or directory",
            )]);
        }
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| {
            vec![Diagnostic::error(
                dir.display().to_string(),
                1,
                1,
                format!("cannot read the folder: {e}"),
            )]
        })?;
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// `items.iter().map(f)` on every core, in order. Loading is per file and
/// files are independent; a thousand scenarios are otherwise most of an
/// audit's time (docs/performance.md, "Readiness").
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || items.len() < 2 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| scope.spawn(|| c.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

//! YAML with positions. serde_yaml stops at the first error and forgets where
//! nodes came from; this module parses into a spanned tree, checks it against
//! the JSON Schema of the target type (reporting every mistake with a
//! position), and only then deserializes it with serde.
//!
//! `load_typed` is the entry point for any gameday file (scenarios, the config,
//! the sandbox world).

mod check;
mod node;
mod parse;
mod schema;
mod suggest;

pub use check::Checker;
pub use node::{Entry, Node, Step, Target, Value};
pub use parse::{Document, parse, resolve_plain};
pub use schema::{Compiled, compiled, humanize};
pub use suggest::{did_you_mean, one_of};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::diag::{self, Diagnostic, Source};

/// Parses every document of `text` into `T`, checking structure against
/// `T`'s JSON Schema first. Empty documents (a trailing `---`) are skipped.
/// On failure, every diagnostic of every document is returned, sorted.
pub fn load_typed<T: DeserializeOwned + JsonSchema>(
    file_name: &str,
    text: &str,
) -> Result<Vec<T>, Vec<Diagnostic>> {
    let src = Source::new(file_name, text);
    let (docs, mut diags) = parse(&src);
    let mut out = Vec::with_capacity(docs.len());
    for doc in docs.iter().filter(|d| !is_empty_document(d)) {
        if let Some(v) = check_node::<T>(&src, &doc.root, &mut diags) {
            out.push(v);
        }
    }
    if diags.iter().any(Diagnostic::is_error) {
        diag::sort(&mut diags);
        Err(diags)
    } else {
        Ok(out)
    }
}

/// A document with no content at all (`---` followed by nothing).
pub fn is_empty_document(doc: &Document) -> bool {
    matches!(doc.root.value, Value::Null { implicit: true })
}

/// Checks one node against `T`'s schema and deserializes it. Returns None
/// (with diagnostics pushed) when it does not fit.
pub fn check_node<T: DeserializeOwned + JsonSchema>(
    src: &Source<'_>,
    node: &Node,
    diags: &mut Vec<Diagnostic>,
) -> Option<T> {
    let compiled = schema::compiled::<T>();
    let mut checker = Checker::new(compiled, src);
    checker.check_root(node);
    if !checker.diags.is_empty() {
        diags.append(&mut checker.diags);
        return None;
    }
    match serde_json::from_value::<T>(to_json(node)) {
        Ok(v) => Some(v),
        Err(e) => {
            // The schema should have caught this; keep a position anyway.
            diags.push(src.error(node.span, format!("invalid {}: {e}", compiled.root_name)));
            None
        }
    }
}

/// The JSON value of a node, as serde would see the YAML.
pub fn to_json(node: &Node) -> serde_json::Value {
    use serde_json::Value as J;
    match &node.value {
        Value::Null { .. } => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => {
            if let Ok(u) = u64::try_from(*i) {
                J::from(u)
            } else if let Ok(s) = i64::try_from(*i) {
                J::from(s)
            } else {
                serde_json::Number::from_f64(*i as f64).map_or(J::Null, J::Number)
            }
        }
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::Str(s) => J::String(s.clone()),
        Value::Seq(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|e| {
                    let key = e.key.as_scalar_string().unwrap_or_else(|| "null".into());
                    (key, to_json(&e.value))
                })
                .collect(),
        ),
    }
}

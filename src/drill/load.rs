//! Loading drill files: YAML with positions -> schema check -> typed `Drill`
//! -> semantic rules, each mistake a `Diagnostic` with file, line and column.

use std::path::Path;

use super::model::Drill;
use super::validate::validate;
use crate::config::Config;
use crate::diag::{self, Diagnostic, Source, Span};
use crate::yaml::{self, Document};

/// Reads and validates a drill file.
pub fn load_file(path: &Path, config: &Config) -> Result<Vec<Drill>, Vec<Diagnostic>> {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => load_str(&name, &text, config),
        Err(e) => Err(vec![Diagnostic::error(
            name,
            1,
            1,
            format!("cannot read the file: {e}"),
        )]),
    }
}

/// Validates drill text; `file_name` is only used in diagnostics.
pub fn load_str(
    file_name: &str,
    text: &str,
    config: &Config,
) -> Result<Vec<Drill>, Vec<Diagnostic>> {
    let src = Source::new(file_name, text);
    let (docs, diags) = yaml::parse(&src);
    load_parsed(&src, &docs, diags, config)
}

/// Validates documents already parsed (`gameday validate` parses once to
/// tell drills from scenarios). `diags` holds the parse's diagnostics.
pub fn load_parsed(
    src: &Source<'_>,
    docs: &[Document],
    mut diags: Vec<Diagnostic>,
    config: &Config,
) -> Result<Vec<Drill>, Vec<Diagnostic>> {
    let docs: Vec<_> = docs
        .iter()
        .filter(|d| !yaml::is_empty_document(d))
        .collect();
    if docs.is_empty() && diags.is_empty() {
        diags.push(
            src.error(Span::new(1, 1, 1), "no drill in this file")
                .with_hint("a drill starts with `apiVersion: gameday/v1` and `kind: Drill`; `gameday init --drill` writes one"),
        );
    }
    let mut out = Vec::with_capacity(docs.len());
    for doc in docs {
        if let Some(d) = yaml::check_node::<Drill>(src, &doc.root, &mut diags) {
            validate(&d, &doc.root, src, config, &mut diags);
            out.push(d);
        }
    }
    if diags.iter().any(Diagnostic::is_error) {
        diag::sort(&mut diags);
        Err(diags)
    } else {
        Ok(out)
    }
}

//! Loading scenario files: YAML with positions -> schema check -> typed
//! `Scenario` -> semantic rules. Every mistake of every document is reported,
//! each as a `Diagnostic` with file, line and column.

use std::path::Path;

use super::fault_spec::FaultRules;
use super::model::Scenario;
use super::validate::validate;
use crate::config::Config;
use crate::diag::{self, Diagnostic, Source, Span};
use crate::yaml::{self, Document, Step, Target};

/// Reads and validates a scenario file (one or more `---` documents).
///
/// `faults` is the faults registry (`&gameday::faults::Registry`): it knows
/// the fault types and the rules of their params.
pub fn load_file(
    path: &Path,
    config: &Config,
    faults: &dyn FaultRules,
) -> Result<Vec<Scenario>, Vec<Diagnostic>> {
    read_then(path, |name, text| load_str(name, text, config, faults))
}

/// Reads a gameday file and hands its name and text to a loader; a file
/// that cannot be read is one diagnostic at 1:1. Scenario and drill
/// loaders share it.
pub fn read_then<T>(
    path: &Path,
    load: impl FnOnce(&str, &str) -> Result<T, Vec<Diagnostic>>,
) -> Result<T, Vec<Diagnostic>> {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => load(&name, &text),
        Err(e) => Err(vec![Diagnostic::error(
            name,
            1,
            1,
            format!("cannot read the file: {e}"),
        )]),
    }
}

/// The non-empty documents of a parsed file; with none (and no parse
/// error), a diagnostic saying what the file should start with.
pub fn documents<'d>(
    src: &Source<'_>,
    docs: &'d [Document],
    diags: &mut Vec<Diagnostic>,
    what: &str,
    hint: &str,
) -> Vec<&'d Document> {
    let docs: Vec<_> = docs
        .iter()
        .filter(|d| !yaml::is_empty_document(d))
        .collect();
    if docs.is_empty() && diags.is_empty() {
        diags.push(
            src.error(Span::new(1, 1, 1), format!("no {what} in this file"))
                .with_hint(hint),
        );
    }
    docs
}

/// What was loaded, or every diagnostic (sorted) when one is an error.
pub fn verdict<T>(out: Vec<T>, mut diags: Vec<Diagnostic>) -> Result<Vec<T>, Vec<Diagnostic>> {
    if diags.iter().any(Diagnostic::is_error) {
        diag::sort(&mut diags);
        Err(diags)
    } else {
        Ok(out)
    }
}

/// Validates scenario text; `file_name` is only used in diagnostics.
pub fn load_str(
    file_name: &str,
    text: &str,
    config: &Config,
    faults: &dyn FaultRules,
) -> Result<Vec<Scenario>, Vec<Diagnostic>> {
    let src = Source::new(file_name, text);
    let (docs, diags) = yaml::parse(&src);
    load_parsed(&src, &docs, diags, config, faults)
}

/// Validates documents that were already parsed (`gameday validate` parses
/// once to tell scenarios from other YAML files). `diags` holds the parse's
/// diagnostics.
pub fn load_parsed(
    src: &Source<'_>,
    docs: &[Document],
    mut diags: Vec<Diagnostic>,
    config: &Config,
    faults: &dyn FaultRules,
) -> Result<Vec<Scenario>, Vec<Diagnostic>> {
    let docs = documents(
        src,
        docs,
        &mut diags,
        "scenario",
        "a scenario starts with `apiVersion: gameday/v1` and `kind: Scenario`; `gameday init` writes one",
    );
    let mut out: Vec<Scenario> = Vec::with_capacity(docs.len());
    let mut names: Vec<(String, u32)> = Vec::new();
    for doc in docs {
        let Some(s) = yaml::check_node::<Scenario>(src, &doc.root, &mut diags) else {
            continue;
        };
        validate(&s, &doc.root, src, config, faults, &mut diags);
        let name_path = [Step::Key("metadata"), Step::Key("name")];
        let span = doc.root.locate(&name_path, Target::Value);
        if let Some((_, line)) = names.iter().find(|(n, _)| *n == s.metadata.name) {
            diags.push(
                src.error(
                    span,
                    format!("duplicate scenario name `{}`", s.metadata.name),
                )
                .with_hint(format!(
                    "the document on line {line} already uses it; scenario names must be unique"
                )),
            );
        } else {
            names.push((s.metadata.name.clone(), span.line));
        }
        out.push(s);
    }
    verdict(out, diags)
}

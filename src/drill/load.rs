//! Loading drill files: YAML with positions -> schema check -> typed `Drill`
//! -> semantic rules, each mistake a `Diagnostic` with file, line and column.
//! The file handling is the scenario loader's (`scenario::read_then`,
//! `documents`, `verdict`).

use std::path::Path;

use super::model::Drill;
use super::validate::validate;
use crate::config::Config;
use crate::diag::{Diagnostic, Source};
use crate::scenario::{FaultRules, documents, read_then, verdict};
use crate::yaml::{self, Document};

/// Reads and validates a drill file.
///
/// `faults` is the faults registry (`&gameday::faults::Registry`), for the
/// rules of `fault` injects.
pub fn load_file(
    path: &Path,
    config: &Config,
    faults: &dyn FaultRules,
) -> Result<Vec<Drill>, Vec<Diagnostic>> {
    read_then(path, |name, text| load_str(name, text, config, faults))
}

/// Validates drill text; `file_name` is only used in diagnostics.
pub fn load_str(
    file_name: &str,
    text: &str,
    config: &Config,
    faults: &dyn FaultRules,
) -> Result<Vec<Drill>, Vec<Diagnostic>> {
    let src = Source::new(file_name, text);
    let (docs, diags) = yaml::parse(&src);
    load_parsed(&src, &docs, diags, config, faults)
}

/// Validates documents already parsed (`gameday validate` parses once to
/// tell drills from scenarios). `diags` holds the parse's diagnostics.
pub fn load_parsed(
    src: &Source<'_>,
    docs: &[Document],
    mut diags: Vec<Diagnostic>,
    config: &Config,
    faults: &dyn FaultRules,
) -> Result<Vec<Drill>, Vec<Diagnostic>> {
    let hint = "a drill starts with `apiVersion: gameday/v1` and `kind: Drill`; `gameday init --drill` writes one";
    let docs = documents(src, docs, &mut diags, "drill", hint);
    let mut out = Vec::with_capacity(docs.len());
    for doc in docs {
        if let Some(d) = yaml::check_node::<Drill>(src, &doc.root, &mut diags) {
            validate(&d, &doc.root, src, config, faults, &mut diags);
            out.push(d);
        }
    }
    verdict(out, diags)
}

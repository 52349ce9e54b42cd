//! The JSON Schema that `gameday schema` prints is what editors check
//! scenarios with, so it must agree with the validator: it accepts every
//! valid scenario and rejects the corpus's structural mistakes (checked here
//! with an independent JSON Schema implementation, the `jsonschema` crate).

use std::path::{Path, PathBuf};
use std::process::Command;

use gameday::diag::Source;
use gameday::yaml;

/// Invalid fixtures whose mistake is structural (types, fields, enums,
/// patterns, ranges): the schema alone must reject them.
const TYPE_ERRORS: &[&str] = &[
    "wrong-type-integer",
    "wrong-type-labels-list",
    "wrong-type-label-value",
    "unknown-field-misspelt",
    "unknown-field-toplevel",
    "missing-hypothesis",
    "missing-selector",
    "bad-enum-fault-type",
    "bad-mode-key",
    "bad-api-version",
    "bad-metadata-name",
    "bad-fault-name",
    "max-percent-out-of-range",
    "duration-without-unit",
    "bad-duration-unit",
    "bad-expectation",
    "empty-probes",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn printed_schema() -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .arg("schema")
        .output()
        .unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every document of a YAML file, as the JSON an editor's schema check sees.
fn documents(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.display().to_string();
    let src = Source::new(&name, &text);
    let (docs, diags) = yaml::parse(&src);
    assert!(diags.is_empty(), "{name}: {diags:?}");
    docs.iter()
        .filter(|d| !yaml::is_empty_document(d))
        .map(|d| yaml::to_json(&d.root))
        .collect()
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"));
    files.sort();
    files
}

#[test]
fn the_schema_accepts_every_valid_scenario() {
    let validator = jsonschema::validator_for(&printed_schema()).unwrap();
    let mut files = yaml_files(&root().join("tests/fixtures/valid"));
    files.extend(yaml_files(&root().join("scenarios")));
    assert!(files.len() >= 2);
    let mut checked = 0;
    for f in files {
        for doc in documents(&f) {
            let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{}: {errors:?}", f.display());
            checked += 1;
        }
    }
    assert!(checked >= 3);
}

#[test]
fn the_schema_rejects_the_corpus_type_errors() {
    let validator = jsonschema::validator_for(&printed_schema()).unwrap();
    for stem in TYPE_ERRORS {
        let path = root().join(format!("tests/fixtures/invalid/{stem}.yaml"));
        let docs = documents(&path);
        assert!(
            docs.iter().any(|d| !validator.is_valid(d)),
            "{stem}: the schema accepts it"
        );
    }
}

#[test]
fn the_config_schema_accepts_the_example_config() {
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["schema", "config"])
        .output()
        .unwrap();
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let example = root().join("examples/gameday.yaml");
    let docs = documents(&example);
    assert_eq!(docs.len(), 1);
    assert!(validator.is_valid(&docs[0]), "{}", example.display());
    let typo = serde_json::json!({"protectedNamespace": ["monitoring"]});
    assert!(!validator.is_valid(&typo));
}

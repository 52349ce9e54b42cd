//! Why a chart did not render, with the file or value at fault.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{}: {source}", file.display())]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", file.display())]
    Parse { file: PathBuf, message: String },
    /// Helm's wording (pkg/chartutil/jsonschema.go), one line per violation.
    #[error(
        "values don't meet the specifications of the schema(s) in the following chart(s):\n{chart}:\n{}",
        violations.iter().map(|v| format!("- {v}")).collect::<Vec<_>>().join("\n")
    )]
    Schema {
        chart: String,
        violations: Vec<String>,
    },
    #[error("the chart's values.schema.json is not a valid JSON Schema: {0}")]
    BadSchema(String),
    #[error("template: {template}: {message}")]
    Template { template: String, message: String },
}

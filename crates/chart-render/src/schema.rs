//! values.schema.json, checked against the merged values as Helm does
//! before rendering (pkg/chartutil/jsonschema.go ValidateAgainstSchema).

use serde_json::Value;

use crate::RenderError;

pub fn check(chart: &str, schema: &Value, values: &Value) -> Result<(), RenderError> {
    let validator =
        jsonschema::validator_for(schema).map_err(|e| RenderError::BadSchema(e.to_string()))?;
    let violations: Vec<String> = validator
        .iter_errors(values)
        .map(|e| {
            let at = e.instance_path().to_string();
            let at = at.trim_start_matches('/').replace('/', ".");
            if at.is_empty() {
                format!("(root): {e}")
            } else {
                format!("{at}: {e}")
            }
        })
        .collect();
    if violations.is_empty() {
        Ok(())
    } else {
        Err(RenderError::Schema {
            chart: chart.to_string(),
            violations,
        })
    }
}

//! Values files: YAML read as JSON values, merged as Helm coalesces them.

use std::path::Path;

use serde_json::Value;

use crate::RenderError;

/// Reads a YAML file as a JSON value (an empty file is an empty map, as in
/// Helm).
pub fn read_yaml(path: &Path) -> Result<Value, RenderError> {
    let text = std::fs::read_to_string(path).map_err(|e| RenderError::Read {
        file: path.to_path_buf(),
        source: e,
    })?;
    let v: Value = serde_yaml::from_str(&text).map_err(|e| RenderError::Parse {
        file: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(if v.is_null() {
        Value::Object(Default::default())
    } else {
        v
    })
}

/// Merges `over` into `base` as Helm does for `-f` files
/// (pkg/chartutil/coalesce.go): maps merge key by key, anything else
/// (lists included) is replaced, and a `null` deletes the key.
pub fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                if v.is_null() {
                    b.remove(k);
                } else if let Some(existing) = b.get_mut(k) {
                    merge(existing, v);
                } else {
                    b.insert(k.clone(), v.clone());
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_merge_lists_replace_and_null_deletes() {
        let mut base = json!({"a": {"x": 1, "y": 2}, "l": [1, 2], "gone": true});
        merge(&mut base, &json!({"a": {"y": 3}, "l": [9], "gone": null}));
        assert_eq!(base, json!({"a": {"x": 1, "y": 3}, "l": [9]}));
    }
}

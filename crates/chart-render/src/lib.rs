//! `helm template` without helm: loads a Helm 3 chart directory, merges its
//! values with `-f` files, checks them against `values.schema.json`, and
//! renders `templates/` with Go's text/template semantics (the `gtmpl`
//! crate) and the Sprig functions the chart uses (`funcs`). The output is
//! what `helm template` prints: one `---` document per manifest, each headed
//! `# Source: CHART/templates/FILE`, empty documents dropped, ordered by
//! Helm's install order.
//!
//! A crate of its own because it knows nothing of game days: it renders any
//! chart that keeps to the functions listed in `funcs::SPRIG`.

mod error;
mod funcs;
mod manifest;
mod schema;
mod values;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

pub use error::RenderError;
pub use funcs::SPRIG;
pub use manifest::Manifest;
pub use values::{merge, read_yaml as read_values};

/// The release a chart is rendered for, as `.Release` shows it.
#[derive(Debug, Clone)]
pub struct Release {
    pub name: String,
    pub namespace: String,
}

/// What `.Capabilities.KubeVersion` reports: the version the sandbox serves
/// and the one `helm template` assumes without a cluster.
pub const KUBE_VERSION: (u32, u32) = (1, 33);

/// A chart directory read from disk.
#[derive(Debug)]
pub struct Chart {
    pub dir: PathBuf,
    /// Chart.yaml as written (camelCase keys).
    pub metadata: Value,
    /// values.yaml.
    pub values: Value,
    pub schema: Option<Value>,
    /// `templates/` files by path relative to the chart (`templates/x.yaml`),
    /// sorted, as Helm loads them.
    pub templates: Vec<(String, String)>,
}

impl Chart {
    pub fn load(dir: &Path) -> Result<Chart, RenderError> {
        let metadata = values::read_yaml(&dir.join("Chart.yaml"))?;
        let values = values::read_yaml(&dir.join("values.yaml"))?;
        let schema_path = dir.join("values.schema.json");
        let schema = if schema_path.exists() {
            let text = read(&schema_path)?;
            Some(serde_json::from_str(&text).map_err(|e| RenderError::Parse {
                file: schema_path.clone(),
                message: e.to_string(),
            })?)
        } else {
            None
        };
        let mut templates = Vec::new();
        let tdir = dir.join("templates");
        let entries = std::fs::read_dir(&tdir).map_err(|e| RenderError::Read {
            file: tdir.clone(),
            source: e,
        })?;
        for entry in entries {
            let path = entry
                .map_err(|e| RenderError::Read {
                    file: tdir.clone(),
                    source: e,
                })?
                .path();
            if path.is_file() {
                let name = format!("templates/{}", file_name(&path));
                templates.push((name, read(&path)?));
            }
        }
        templates.sort();
        Ok(Chart {
            dir: dir.to_path_buf(),
            metadata,
            values,
            schema,
            templates,
        })
    }

    pub fn name(&self) -> &str {
        self.metadata
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("chart")
    }

    /// The chart's values with `overrides` merged over them in order (later
    /// wins), checked against the schema, as Helm coalesces them.
    pub fn values_with(&self, overrides: &[Value]) -> Result<Value, RenderError> {
        let mut merged = self.values.clone();
        for o in overrides {
            merge(&mut merged, o);
        }
        if let Some(schema) = &self.schema {
            schema::check(self.name(), schema, &merged)?;
        }
        Ok(merged)
    }

    /// Renders every template as `helm template` does; NOTES.txt and `_`
    /// partials are not manifests.
    pub fn render(&self, values: &Value, release: &Release) -> Result<Vec<Manifest>, RenderError> {
        let top = self.top_level(values, release);
        let set = funcs::TemplateSet::new(self.name(), &self.templates);
        let mut out = Vec::new();
        for (name, _) in &self.templates {
            let base = file_name(Path::new(name));
            if base.starts_with('_') || base == "NOTES.txt" {
                continue;
            }
            let text = set.execute_file(name, &with_template(&top, self.name(), name))?;
            out.extend(manifest::split(&format!("{}/{name}", self.name()), &text));
        }
        Ok(manifest::sort_by_install_order(out))
    }

    /// NOTES.txt rendered, as `helm install` prints it (empty when absent).
    pub fn notes(&self, values: &Value, release: &Release) -> Result<String, RenderError> {
        let name = "templates/NOTES.txt";
        if !self.templates.iter().any(|(n, _)| n == name) {
            return Ok(String::new());
        }
        let top = self.top_level(values, release);
        let set = funcs::TemplateSet::new(self.name(), &self.templates);
        set.execute_file(name, &with_template(&top, self.name(), name))
    }

    /// `.Values`, `.Release`, `.Chart` and `.Capabilities`, as Helm builds
    /// them (pkg/chartutil/values.go ToRenderValues): Chart.yaml's fields
    /// appear capitalised (`.Chart.AppVersion`).
    fn top_level(&self, values: &Value, release: &Release) -> Value {
        let mut chart = Map::new();
        if let Some(m) = self.metadata.as_object() {
            for (k, v) in m {
                chart.insert(capitalise(k), v.clone());
            }
        }
        let (major, minor) = KUBE_VERSION;
        json!({
            "Values": values,
            "Release": {
                "Name": release.name, "Namespace": release.namespace,
                "Service": "Helm", "IsInstall": true, "IsUpgrade": false, "Revision": 1,
            },
            "Chart": chart,
            "Capabilities": {
                "KubeVersion": {
                    "Version": format!("v{major}.{minor}.0"),
                    "GitVersion": format!("v{major}.{minor}.0"),
                    "Major": major.to_string(), "Minor": minor.to_string(),
                },
                "HelmVersion": {"Version": "v3.17.0"},
            },
        })
    }
}

fn with_template(top: &Value, chart: &str, name: &str) -> Value {
    let mut top = top.clone();
    top["Template"] = json!({
        "Name": format!("{chart}/{name}"),
        "BasePath": format!("{chart}/templates"),
    });
    top
}

fn capitalise(k: &str) -> String {
    let mut c = k.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn read(path: &Path) -> Result<String, RenderError> {
    std::fs::read_to_string(path).map_err(|e| RenderError::Read {
        file: path.to_path_buf(),
        source: e,
    })
}

/// Renders `manifests` as `helm template` prints them.
pub fn to_text(manifests: &[Manifest]) -> String {
    let mut out = String::new();
    for m in manifests {
        out.push_str(&format!("---\n# Source: {}\n{}\n", m.source, m.body));
    }
    out
}

//! Rendering charts/gameday for the chart tests, as `helm template` would
//! (crates/chart-render), and reading the manifests back.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use gameday_chart_render::{Chart, Release};
use serde_json::Value;

pub fn chart_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("charts/gameday")
}

pub fn ci_values() -> Value {
    gameday_chart_render::read_values(&chart_dir().join("ci/sandbox-values.yaml"))
        .expect("ci/sandbox-values.yaml reads")
}

pub fn release() -> Release {
    Release {
        name: "gameday".into(),
        namespace: "gameday-system".into(),
    }
}

/// The chart rendered with `overrides` over values.yaml: the `helm
/// template` text and its documents parsed.
pub fn render(overrides: &[Value]) -> (String, Vec<Value>) {
    let chart = Chart::load(&chart_dir()).expect("the chart loads");
    let values = chart
        .values_with(overrides)
        .expect("the values pass the schema");
    let manifests = chart
        .render(&values, &release())
        .expect("the chart renders");
    let docs = manifests
        .iter()
        .map(|m| {
            serde_yaml::from_str::<Value>(&m.body)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}\n{}", m.source, m.body))
        })
        .collect();
    (gameday_chart_render::to_text(&manifests), docs)
}

pub fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

pub fn named<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// A CronJob's pod spec (its jobTemplate's template spec).
pub fn pod_spec(cron_job: &Value) -> &Value {
    &cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
}

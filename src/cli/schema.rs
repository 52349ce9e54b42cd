//! `gameday schema`: the JSON Schema of scenario format v1, so editors
//! (yaml-language-server) complete and check scenarios as they are typed.

use serde_json::{Value, json};

use crate::faults::FAULTS;
use crate::scenario::Scenario;
use crate::scenario::fault_spec::params_schema;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which format: a scenario file, a drill file, or the config file (gameday.yaml).
    #[arg(value_enum, default_value_t = Format::Scenario)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Scenario,
    /// A tabletop drill (`kind: Drill`, shared/drill-v1.md).
    Drill,
    Config,
}

/// The scenario's schema, completed from the faults registry: the model
/// only knows that `type` is a name and `params` a map (each fault's file
/// owns its params type), so the list of types and, per type, the schema of
/// its params are filled in here, as an `if type = X then params: …` for
/// each fault.
pub fn scenario_schema() -> serde_json::Value {
    let mut root = serde_json::to_value(schemars::schema_for!(Scenario)).unwrap_or_default();
    let names: Vec<&str> = FAULTS.iter().map(|k| k.name()).collect();
    let mut cases = Vec::new();
    let mut defs = serde_json::Map::new();
    for kind in FAULTS {
        let mut params = params_schema(kind.kind).to_value();
        if let Some(obj) = params.as_object_mut() {
            obj.remove("$schema");
            obj.remove("title");
            if let Some(Value::Object(d)) = obj.remove("$defs") {
                defs.extend(d);
            }
        }
        cases.push(json!({
            "if": {"properties": {"type": {"const": kind.name()}}, "required": ["type"]},
            "then": {"properties": {"params": {"anyOf": [params, {"type": "null"}]}}}
        }));
    }
    if let Some(root_defs) = root.get_mut("$defs").and_then(Value::as_object_mut) {
        for (k, v) in defs {
            root_defs.entry(k).or_insert(v);
        }
        if let Some(ft) = root_defs.get_mut("FaultType") {
            *ft = json!({
                "type": "string",
                "description": "The fault type (`gameday init --fault` lists them).",
                "enum": names,
            });
        }
        if let Some(fault) = root_defs.get_mut("Fault").and_then(Value::as_object_mut) {
            fault.insert("allOf".into(), Value::Array(cases));
        }
    }
    root
}

pub fn drill_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(crate::drill::Drill)).unwrap_or_default()
}

pub fn config_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(crate::config::Config)).unwrap_or_default()
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let schema = match args.format {
        Format::Scenario => scenario_schema(),
        Format::Drill => drill_schema(),
        Format::Config => config_schema(),
    };
    crate::outln!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(super::exit::OK)
}

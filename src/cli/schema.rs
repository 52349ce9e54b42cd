//! `gameday schema`: the JSON Schema of scenario format v1, so editors
//! (yaml-language-server) complete and check scenarios as they are typed.

use crate::scenario::Scenario;

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

pub fn scenario_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Scenario)).unwrap_or_default()
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

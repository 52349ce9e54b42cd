//! `chart-render CHART [-f VALUES]... [--namespace NS] [--release NAME]
//! [--notes]`: prints the chart's manifests as `helm template` would
//! (scripts/render-chart.sh). Exit 2 on bad values or a template error.

use std::path::PathBuf;
use std::process::ExitCode;

use gameday_chart_render::{Chart, Release, RenderError, to_text};

struct Args {
    chart: PathBuf,
    values: Vec<PathBuf>,
    release: Release,
    notes: bool,
}

const USAGE: &str =
    "usage: chart-render CHART [-f VALUES]... [--namespace NS] [--release NAME] [--notes]";

/// A command line that is not the usage above.
#[derive(Debug, thiserror::Error)]
enum UsageError {
    #[error("{0} needs a value")]
    MissingValue(String),
    #[error("unknown flag {0}\n{USAGE}")]
    UnknownFlag(String),
    #[error("unexpected argument {0}\n{USAGE}")]
    Unexpected(String),
    #[error("{USAGE}")]
    Usage,
}

fn parse(mut it: impl Iterator<Item = String>) -> Result<Args, UsageError> {
    let mut chart = None;
    let mut values = Vec::new();
    let mut release = Release {
        name: "gameday".into(),
        namespace: "default".into(),
    };
    let mut notes = false;
    while let Some(a) = it.next() {
        let mut value = |flag: &str| it.next().ok_or(UsageError::MissingValue(flag.into()));
        match a.as_str() {
            "-f" | "--values" => values.push(PathBuf::from(value(&a)?)),
            "-n" | "--namespace" => release.namespace = value(&a)?,
            "--release" => release.name = value(&a)?,
            "--notes" => notes = true,
            "-h" | "--help" => return Err(UsageError::Usage),
            _ if a.starts_with('-') => return Err(UsageError::UnknownFlag(a)),
            _ if chart.is_none() => chart = Some(PathBuf::from(a)),
            _ => return Err(UsageError::Unexpected(a)),
        }
    }
    Ok(Args {
        chart: chart.ok_or(UsageError::Usage)?,
        values,
        release,
        notes,
    })
}

fn run(args: &Args) -> Result<String, RenderError> {
    let chart = Chart::load(&args.chart)?;
    let overrides = args
        .values
        .iter()
        .map(|p| gameday_chart_render::read_values(p))
        .collect::<Result<Vec<_>, _>>()?;
    let values = chart.values_with(&overrides)?;
    if args.notes {
        return chart.notes(&values, &args.release);
    }
    Ok(to_text(&chart.render(&values, &args.release)?))
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::from(2)
        }
    }
}

//! `gameday readiness`: audit the alerts, routing, ownership and drill
//! coverage against the readiness checklist (issue 18, docs/readiness.md).
//! Exit 0 at or above `--fail-under`, 1 below it, 2 for bad input files or
//! flags, 4 when a Prometheus or Alertmanager to read cannot be reached.

use std::path::PathBuf;

use jiff::Timestamp;

use super::history::DbArgs;
use super::{GlobalArgs, OutputFormat, exit};
use crate::config::Config;
use crate::diag;
use crate::readiness::estate::Sources;
use crate::readiness::{Audit, Estate, Options, ReadinessError, audit, output};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Prometheus rule files or folders of them (repeatable).
    #[arg(long, value_name = "PATH", conflicts_with = "prometheus")]
    pub rules: Vec<PathBuf>,
    /// Read the rules from a running Prometheus (`/api/v1/rules`) instead.
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// The Alertmanager config file (alertmanager.yml).
    #[arg(long, value_name = "FILE", conflicts_with = "alertmanager")]
    pub alertmanager_config: Option<PathBuf>,
    /// Read the config from a running Alertmanager (`/api/v2/status`) instead.
    #[arg(long, value_name = "URL")]
    pub alertmanager: Option<String>,
    /// Backstage catalog-info.yaml files (repeatable, multi-document).
    #[arg(long, value_name = "FILE")]
    pub catalog: Vec<PathBuf>,
    /// More folders where relative runbook_url paths resolve (repeatable);
    /// the rules file's own folder is always tried first.
    #[arg(long, value_name = "DIR")]
    pub runbooks: Vec<PathBuf>,
    /// Check http(s) runbook URLs with an HTTP HEAD.
    #[arg(long)]
    pub check_urls: bool,
    /// Folders of scenarios and drills (repeatable).
    #[arg(long, value_name = "DIR")]
    pub scenarios: Vec<PathBuf>,
    #[command(flatten)]
    pub db: DbArgs,
    /// The severity label values your alerts may use (repeatable).
    #[arg(long = "severity", value_name = "NAME", default_values_t = ["critical".to_string(), "warning".to_string(), "info".to_string()])]
    pub severities: Vec<String>,
    /// Severity values that must reach a pager (repeatable).
    #[arg(long = "page-severity", value_name = "NAME", default_values_t = ["critical".to_string()])]
    pub page_severities: Vec<String>,
    /// The alert label that names the catalog service.
    #[arg(long, value_name = "LABEL", default_value = "service")]
    pub service_label: String,
    /// An alert or service counts as drilled when a run touched it within this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub drilled_within: u32,
    /// Write a markdown report to this file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Write JUnit XML (one testcase per check) to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Exit 1 when the score is below this (0..1).
    #[arg(long, value_name = "SCORE", value_parser = parse_score)]
    pub fail_under: Option<f64>,
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// A `--fail-under` value that is not a score.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a score between 0 and 1")]
struct NotAScore(String);

fn parse_score(s: &str) -> Result<f64, NotAScore> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(NotAScore(s.to_string())),
    }
}

fn print_diags(diags: &[diag::Diagnostic]) {
    let color = super::use_color();
    for d in diags {
        crate::errln!("{}", diag::render(d, color));
    }
}

/// The history to read: the one `--db` or the config names, or the default
/// one when it exists (an audit does not create an empty history).
fn history_path(args: &Args, config: &Config) -> anyhow::Result<Option<PathBuf>> {
    let path = crate::history::resolve_path(args.db.db.as_deref(), config)?;
    let named = args.db.db.is_some() || config.history.path.is_some();
    Ok((named || path.is_file()).then_some(path))
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<i32> {
    let config = match Config::load(global.config.as_deref()) {
        Ok(c) => c,
        Err(diags) => {
            print_diags(&diags);
            return Ok(exit::USAGE);
        }
    };
    let sources = Sources {
        rules: args.rules.clone(),
        prometheus: args.prometheus.clone(),
        alertmanager_config: args.alertmanager_config.clone(),
        alertmanager: args.alertmanager.clone(),
        catalogs: args.catalog.clone(),
        runbooks: args.runbooks.clone(),
        check_urls: args.check_urls,
        scenarios: args.scenarios.clone(),
        history: history_path(&args, &config)?,
        service_label: args.service_label.clone(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let estate = match runtime.block_on(Estate::load(&sources, &config)) {
        Ok(e) => e,
        Err(ReadinessError::Invalid(diags)) => {
            print_diags(&diags);
            return Ok(exit::USAGE);
        }
        Err(e) => {
            crate::errln!("error: {e}");
            return Ok(e.exit_code());
        }
    };
    let options = Options {
        severities: args.severities.clone(),
        page_severities: args.page_severities.clone(),
        service_label: args.service_label.clone(),
        drilled_within_days: i64::from(args.drilled_within),
        now: Timestamp::now(),
    };
    let result = audit(&estate, &options);
    write_outputs(&args, &result)?;
    Ok(match args.fail_under {
        Some(min) if result.score < min => exit::FAILED,
        _ => exit::OK,
    })
}

fn write_outputs(args: &Args, result: &Audit) -> anyhow::Result<()> {
    match args.output {
        OutputFormat::Json => crate::outln!("{}", output::json(result)),
        OutputFormat::Text => crate::out!("{}", output::text(result)),
    }
    if let Some(path) = &args.report {
        std::fs::write(path, output::markdown(result))
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, output::junit(result)?)
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    }
    Ok(())
}

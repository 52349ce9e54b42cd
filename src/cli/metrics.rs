//! `gameday metrics`: drill trends from the history — MTTD, MTTA, MTTM and
//! MTTR (median and p90) by scenario and severity, runs by severity, pass
//! rate and action-item completion — as text, JSON, or Prometheus text
//! format for node-exporter's textfile collector; `gameday metrics serve`
//! serves that format for Prometheus to scrape (metrics_serve.rs).

use std::io::Write;

use jiff::Timestamp;

use super::history::{DbArgs, fmt_secs, fmt_time, open_store, resolve_db, write_columns};
use super::{GlobalArgs, exit};
use crate::history::metrics::{self, Group, Metrics};
use crate::history::{RunFilter, exposition, since};

/// `-o` of `gameday metrics`: the common text/json plus Prometheus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
    /// Prometheus text exposition format (node-exporter textfile collector).
    Prometheus,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub db: DbArgs,
    /// Only runs started in this window: a lookback (90d, 2w, 12h) or a
    /// UTC date or instant (2026-09-01). Default: every recorded run.
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only runs of this scenario.
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
    /// Only game days (`scenario`) or only tabletop drills (`drill`).
    #[arg(long, value_enum)]
    pub kind: Option<super::history::RunKind>,
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub output: Format,
    #[command(subcommand)]
    pub command: Option<MetricsCommand>,
}

#[derive(Debug, clap::Subcommand)]
pub enum MetricsCommand {
    /// Serve the metrics on /metrics in the Prometheus text format, read
    /// from the history per scrape (--since, --scenario and --kind apply).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:9464", value_name = "ADDR:PORT")]
        listen: std::net::SocketAddr,
        /// Serve a scrape from the previous one's result when younger than
        /// this many seconds (0: read the history on every scrape).
        #[arg(long, default_value_t = 5, value_name = "SECONDS")]
        cache_seconds: u64,
    },
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<i32> {
    let now = Timestamp::now();
    if let Some(MetricsCommand::Serve {
        listen,
        cache_seconds,
    }) = args.command
    {
        if let Some(Err(e)) = args.since.as_deref().map(|s| since::parse_since(s, now)) {
            crate::errln!("error: {e}");
            return Ok(exit::USAGE);
        }
        let Some(db) = resolve_db(&args.db, global)? else {
            return Ok(exit::USAGE);
        };
        return super::metrics_serve::run(super::metrics_serve::Serve {
            listen,
            db,
            filter: RunFilter {
                scenario: args.scenario.clone(),
                kind: args.kind.map(|k| k.as_str().to_string()),
                since: None,
                limit: None,
            },
            since: args.since.clone(),
            cache: std::time::Duration::from_secs(cache_seconds),
        });
    }
    let since = match args.since.as_deref().map(|s| since::parse_since(s, now)) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => {
            crate::errln!("error: {e}");
            return Ok(exit::USAGE);
        }
    };
    let Some(store) = open_store(&args.db, global)? else {
        return Ok(exit::USAGE);
    };
    let runs = store.runs(&RunFilter {
        scenario: args.scenario.clone(),
        kind: args.kind.map(|k| k.as_str().to_string()),
        since,
        limit: None,
    })?;
    let m = metrics::compute(&runs, now, since, args.scenario.as_deref());
    let mut out = std::io::stdout().lock();
    match args.output {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &m)?;
            writeln!(out)?;
        }
        Format::Prometheus => out.write_all(exposition::render(&m).as_bytes())?,
        Format::Text => write_text(&mut out, &m)?,
    }
    Ok(exit::OK)
}

fn percent(r: Option<f64>) -> String {
    r.map_or("-".into(), |r| format!("{:.1}%", r * 100.0))
}

fn write_text(out: &mut impl Write, m: &Metrics) -> std::io::Result<()> {
    let window = m.since.map_or("all recorded runs".to_string(), |t| {
        format!("runs since {} UTC", fmt_time(t))
    });
    writeln!(out, "{} ({window})", plural(m.overall.runs, "run"))?;
    writeln!(
        out,
        "pass rate {} ({} of {})",
        percent(m.overall.pass_rate),
        m.overall.passed,
        m.overall.runs
    )?;
    let a = &m.actions;
    writeln!(
        out,
        "action items {} done ({} of {}), {} open, {} overdue",
        percent(a.completion_rate),
        a.done,
        a.total,
        a.open,
        a.overdue
    )?;
    if m.overall.runs == 0 {
        return Ok(());
    }
    for (title, groups) in [("SCENARIO", &m.by_scenario), ("SEVERITY", &m.by_severity)] {
        writeln!(out)?;
        let header = [
            title,
            "RUNS",
            "PASS",
            "MTTD p50/p90",
            "MTTA p50/p90",
            "MTTM p50/p90",
            "MTTR p50/p90",
        ];
        let rows: Vec<[String; 7]> = groups.iter().map(row).collect();
        write_columns(out, &header, &rows)?;
    }
    Ok(())
}

fn row(g: &Group) -> [String; 7] {
    let pair = |s: &metrics::Summary| format!("{} / {}", fmt_secs(s.median), fmt_secs(s.p90));
    [
        g.key.clone(),
        g.runs.to_string(),
        percent(g.pass_rate),
        pair(&g.mttd),
        pair(&g.mtta),
        pair(&g.mttm),
        pair(&g.mttr),
    ]
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

//! `gameday history`: the runs recorded in the history database, newest
//! first. Also home of what the history commands share: the `--db` flag and
//! opening the store the way the config says.

use std::io::Write;
use std::path::PathBuf;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::{GlobalArgs, OutputFormat, exit};
use crate::config::Config;
use crate::diag;
use crate::history::{self, RunFilter, RunRecord, Store};

/// Which runs `--kind` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RunKind {
    Scenario,
    Drill,
}

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Scenario => crate::history::KIND_SCENARIO,
            RunKind::Drill => crate::history::KIND_DRILL,
        }
    }
}

/// Where the history database is, shared by `history`, `metrics` and `actions`.
#[derive(Debug, Clone, clap::Args)]
pub struct DbArgs {
    /// The history database: a SQLite file or a `postgres://` URL (password
    /// from PGPASSWORD, never printed). Default: `history.path` in
    /// gameday.yaml, else `$XDG_DATA_HOME/gameday/history.db`
    /// (~/.local/share/gameday/history.db).
    #[arg(
        long,
        global = true,
        env = "GAMEDAY_HISTORY_DB",
        value_name = "FILE|URL"
    )]
    pub db: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub db: DbArgs,
    /// Only runs of this scenario.
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
    /// At most this many runs (the newest).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Only game days (`scenario`) or only tabletop drills (`drill`).
    #[arg(long, value_enum)]
    pub kind: Option<RunKind>,
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// Opens the history the config and flags point at. `Ok(None)` means the
/// config file was invalid and its diagnostics were printed (exit 2).
pub(super) fn open_store(db: &DbArgs, global: &GlobalArgs) -> anyhow::Result<Option<Store>> {
    match resolve_db(db, global)? {
        Some(path) => Ok(Some(Store::open(&path)?)),
        None => Ok(None),
    }
}

/// The history location (a SQLite path or a `postgres://` URL) the config
/// and flags point at; `Ok(None)` as for [`open_store`].
pub(super) fn resolve_db(db: &DbArgs, global: &GlobalArgs) -> anyhow::Result<Option<PathBuf>> {
    let config = match Config::load(global.config.as_deref()) {
        Ok(c) => c,
        Err(diags) => {
            let color = super::use_color();
            for d in &diags {
                crate::errln!("{}", diag::render(d, color));
            }
            return Ok(None);
        }
    };
    Ok(Some(history::resolve_path(db.db.as_deref(), &config)?))
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<i32> {
    let Some(store) = open_store(&args.db, global)? else {
        return Ok(exit::USAGE);
    };
    let runs = store.runs(&RunFilter {
        scenario: args.scenario.clone(),
        kind: args.kind.map(|k| k.as_str().to_string()),
        since: None,
        limit: args.limit,
    })?;
    let mut out = std::io::stdout().lock();
    if args.output == OutputFormat::Json {
        serde_json::to_writer_pretty(&mut out, &runs)?;
        writeln!(out)?;
        return Ok(exit::OK);
    }
    if runs.is_empty() {
        writeln!(out, "no runs recorded in {}", store.path().display())?;
        return Ok(exit::OK);
    }
    write_table(&mut out, &runs)?;
    Ok(exit::OK)
}

fn write_table(out: &mut impl Write, runs: &[RunRecord]) -> std::io::Result<()> {
    let rows: Vec<[String; 12]> = runs
        .iter()
        .map(|r| {
            let done = r
                .action_items
                .iter()
                .filter(|a| a.done_at.is_some())
                .count();
            [
                fmt_time(r.started_at),
                r.run_id.clone(),
                r.kind.clone(),
                r.scenario.clone(),
                r.severity.clone().unwrap_or_else(|| "-".into()),
                format!("{} ({})", r.status, r.exit_code),
                r.score.map_or("-".into(), |s| format!("{s:.2}")),
                fmt_secs(r.ttd_seconds),
                fmt_secs(r.tta_seconds),
                fmt_secs(r.ttm_seconds),
                fmt_secs(r.ttr_seconds),
                format!("{done}/{}", r.action_items.len()),
            ]
        })
        .collect();
    let header = [
        "STARTED (UTC)",
        "RUN",
        "KIND",
        "SCENARIO",
        "SEV",
        "STATUS",
        "SCORE",
        "TTD",
        "TTA",
        "TTM",
        "TTR",
        "ACTIONS",
    ];
    write_columns(out, &header, &rows)
}

/// Left-aligned columns sized to their widest cell, two spaces apart.
pub(super) fn write_columns<const N: usize>(
    out: &mut impl Write,
    header: &[&str; N],
    rows: &[[String; N]],
) -> std::io::Result<()> {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == N {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        s.trim_end().to_string()
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for row in rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// `2026-11-26 15:56`: minutes are enough to tell runs apart in a list.
pub(super) fn fmt_time(t: Timestamp) -> String {
    t.to_zoned(TimeZone::UTC)
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

/// Seconds the way people say them (`45s`, `2m05s`, `1h02m`); `-` for none.
pub(super) fn fmt_secs(secs: Option<f64>) -> String {
    let Some(s) = secs.filter(|s| s.is_finite()) else {
        return "-".into();
    };
    if s < 10.0 {
        return format!("{s:.1}s");
    }
    let total = s.round() as u64;
    match (total / 3600, total % 3600 / 60, total % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m{sec:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::fmt_secs;

    #[test]
    fn seconds_read_like_people_say_them() {
        assert_eq!(fmt_secs(None), "-");
        assert_eq!(fmt_secs(Some(f64::NAN)), "-");
        assert_eq!(fmt_secs(Some(3.25)), "3.2s");
        assert_eq!(fmt_secs(Some(45.0)), "45s");
        assert_eq!(fmt_secs(Some(125.4)), "2m05s");
        assert_eq!(fmt_secs(Some(3725.0)), "1h02m");
    }
}

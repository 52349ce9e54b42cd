//! `gameday schedule list|next`: the schedules of gameday.yaml, when each
//! runs next and why a run would be skipped; and the `--schedule NAME` gate
//! of `gameday run` and `gameday drill` (docs/schedule.md), which checks the
//! calendar before anything else and, inside a blackout, a freeze or the
//! fatigue window, leaves a `skipped` run behind and exits 0.

use std::io::Write;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;

use super::history::{DbArgs, write_columns};
use super::{GlobalArgs, OutputFormat, exit};
use crate::calendar::{self, Calendar, Page, Scheduled, Skip};
use crate::config::{self, Config};
use crate::diag;
use crate::engine::{Journal, rundir};
use crate::history::{self, RunFilter, RunRecord, Store};
use crate::k8s::marks::RunId;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: ScheduleCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ScheduleCommand {
    /// Every schedule: file, cron, zone, next run and whether it would be skipped.
    List(ListArgs),
    /// The next runs across all schedules, each open or skipped with its reason.
    Next(NextArgs),
}

/// What `list` and `next` share: the instant, the history, the format.
#[derive(Debug, clap::Args)]
pub struct ViewArgs {
    /// Compute from this instant (RFC 3339) instead of now.
    #[arg(long, value_name = "TIME")]
    pub from: Option<Timestamp>,
    #[command(flatten)]
    pub db: DbArgs,
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub view: ViewArgs,
}

#[derive(Debug, clap::Args)]
pub struct NextArgs {
    /// How many runs to show.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub count: usize,
    #[command(flatten)]
    pub view: ViewArgs,
}

/// One upcoming run as `list` and `next` print it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Planned {
    schedule: String,
    file: PathBuf,
    cron: String,
    time_zone: String,
    /// RFC 3339 with the zone's offset; None when the cron never fires.
    next_run: Option<String>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    skip: Option<Skip>,
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<i32> {
    let (view, count, list) = match &args.command {
        ScheduleCommand::List(a) => (&a.view, 1, true),
        ScheduleCommand::Next(a) => (&a.view, a.count, false),
    };
    let (from, db, output) = (view.from, &view.db, view.output);
    let Some(config) = load_config(global) else {
        return Ok(exit::USAGE);
    };
    let cal = match Calendar::from_config(config.calendar.as_ref()) {
        Ok(c) => c,
        Err(e) => {
            crate::errln!("error: {e}");
            return Ok(exit::USAGE);
        }
    };
    let from = from.unwrap_or_else(Timestamp::now);
    let pages = recent_pages(&config, db.db.as_deref(), &cal, from);
    let planned = if list {
        config
            .schedules
            .iter()
            .map(|s| plan_one(s, &config, global, &cal, &pages, from))
            .collect::<Result<Vec<_>, _>>()
    } else {
        plan_next(&config, global, &cal, &pages, from, count)
    };
    let planned = match planned {
        Ok(p) => p,
        Err(e) => {
            crate::errln!("error: {e}");
            return Ok(exit::USAGE);
        }
    };
    let mut out = std::io::stdout().lock();
    if output == OutputFormat::Json {
        serde_json::to_writer_pretty(&mut out, &planned)?;
        writeln!(out)?;
    } else if planned.is_empty() {
        writeln!(
            out,
            "no schedules in the config (`schedules:` in gameday.yaml)"
        )?;
    } else {
        write_planned(&mut out, &planned, list)?;
    }
    Ok(exit::OK)
}

fn load_config(global: &GlobalArgs) -> Option<Config> {
    Config::load(global.config.as_deref())
        .map_err(|d| crate::errln!("{}", diag::render_all(&d, super::use_color())))
        .ok()
}

/// The schedule's file as the config names it, relative to the config
/// file's directory (the working directory for the built-in config).
fn schedule_file(global: &GlobalArgs, s: &config::Schedule) -> PathBuf {
    let dir = global
        .config
        .as_deref()
        .and_then(Path::parent)
        .unwrap_or(Path::new(""));
    dir.join(&s.file)
}

/// Whether a run of `file` would page anyone: a drill with an alert or an
/// escalation inject, a scenario that expects an alert. A file that does
/// not load pages nobody here; the run itself reports it (exit 2).
fn would_page(file: &Path, config: &Config) -> bool {
    let registry = &crate::faults::Registry;
    if let Ok(drills) = crate::drill::load_file(file, config, registry) {
        return drills.iter().any(drill_pages);
    }
    crate::scenario::load_file(file, config, registry).is_ok_and(|s| s.iter().any(scenario_pages))
}

/// A game day pages when an expected alert fires.
pub(super) fn scenario_pages(s: &crate::scenario::Scenario) -> bool {
    s.spec
        .detection
        .as_ref()
        .is_some_and(|d| !d.alerts.is_empty())
}

/// A drill pages with its alert and escalation injects.
pub(super) fn drill_pages(d: &crate::drill::Drill) -> bool {
    d.spec
        .injects
        .iter()
        .any(|i| i.alert.is_some() || i.escalate.is_some())
}

/// The runs of the fatigue window before `at` that paged the on-call: a
/// recorded notification or acknowledgement, in the history the config
/// points at. The whole config pages one on-call rotation (its `paging:`
/// integrations, or Alertmanager's receiver), so any such run counts. An
/// unreadable history is a warning and counts as no page: the history is
/// secondary storage, and a missing index must not stop every game day.
fn recent_pages(config: &Config, db: Option<&Path>, cal: &Calendar, at: Timestamp) -> Vec<Page> {
    let Some(since) = cal.fatigue_since(at) else {
        return Vec::new();
    };
    let db = db
        .map(Path::to_path_buf)
        .map_or_else(|| crate::report::record::db_path(config), Ok);
    let runs = db.map_err(anyhow::Error::from).and_then(|path| {
        if !path.exists() {
            return Ok(Vec::new());
        }
        let filter = RunFilter {
            since: Some(since),
            ..RunFilter::default()
        };
        Ok(Store::open(&path)?.runs(&filter)?)
    });
    match runs {
        Ok(runs) => runs
            .into_iter()
            .filter(|r| r.status != history::STATUS_SKIPPED)
            .filter(|r| r.ttd_seconds.is_some() || r.tta_seconds.is_some())
            .map(|r| Page {
                run_id: r.run_id,
                scenario: r.scenario,
                at: r.started_at,
            })
            .collect(),
        Err(e) => {
            crate::errln!("warning: on-call fatigue not checked, the history is unreadable: {e:#}");
            Vec::new()
        }
    }
}

fn planned(
    s: &config::Schedule,
    file: PathBuf,
    cal: &Calendar,
    at: Option<jiff::Zoned>,
    skip: Option<Skip>,
) -> Planned {
    Planned {
        schedule: s.name.clone(),
        file,
        cron: s.cron.clone(),
        time_zone: cal.zone_name().to_string(),
        next_run: at.map(|z| z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()),
        status: if skip.is_some() { "skipped" } else { "open" },
        skip,
    }
}

/// The pages that count for a schedule's runs: none when its file pages
/// nobody (read once per schedule, not per run).
fn pages_for<'a>(file: &Path, config: &Config, pages: &'a [Page]) -> &'a [Page] {
    if pages.is_empty() || !would_page(file, config) {
        &[]
    } else {
        pages
    }
}

fn plan_one(
    s: &config::Schedule,
    config: &Config,
    global: &GlobalArgs,
    cal: &Calendar,
    pages: &[Page],
    from: Timestamp,
) -> Result<Planned, calendar::CalendarError> {
    let sched = Scheduled::from_config(s)?;
    let file = schedule_file(global, s);
    let at = sched.cron.next_after(from, cal.zone());
    let skip = at
        .as_ref()
        .and_then(|z| cal.check(z.timestamp(), pages_for(&file, config, pages)));
    Ok(planned(s, file, cal, at, skip))
}

fn plan_next(
    config: &Config,
    global: &GlobalArgs,
    cal: &Calendar,
    pages: &[Page],
    from: Timestamp,
    count: usize,
) -> Result<Vec<Planned>, calendar::CalendarError> {
    let scheduled = config
        .schedules
        .iter()
        .map(Scheduled::from_config)
        .collect::<Result<Vec<_>, _>>()?;
    let counted: Vec<&[Page]> = config
        .schedules
        .iter()
        .map(|s| pages_for(&schedule_file(global, s), config, pages))
        .collect();
    let runs = calendar::upcoming(&scheduled, cal.zone(), from, count);
    Ok(runs
        .into_iter()
        .filter_map(|u| {
            let i = config.schedules.iter().position(|s| s.name == u.schedule)?;
            let s = &config.schedules[i];
            let skip = cal.check(u.at.timestamp(), counted[i]);
            Some(planned(s, schedule_file(global, s), cal, Some(u.at), skip))
        })
        .collect())
}

fn write_planned(out: &mut impl Write, planned: &[Planned], list: bool) -> std::io::Result<()> {
    let status = |p: &Planned| match &p.skip {
        Some(s) => format!("would skip: {}", s.reason),
        None => "open".to_string(),
    };
    if list {
        let rows: Vec<[String; 6]> = planned
            .iter()
            .map(|p| {
                [
                    p.schedule.clone(),
                    p.file.display().to_string(),
                    p.cron.clone(),
                    p.time_zone.clone(),
                    p.next_run.clone().unwrap_or_else(|| "never".into()),
                    status(p),
                ]
            })
            .collect();
        let header = ["NAME", "FILE", "CRON", "TIME ZONE", "NEXT RUN", "STATUS"];
        return write_columns(out, &header, &rows);
    }
    let rows: Vec<[String; 3]> = planned
        .iter()
        .map(|p| {
            [
                p.next_run.clone().unwrap_or_default(),
                p.schedule.clone(),
                status(p),
            ]
        })
        .collect();
    write_columns(out, &["TIME", "SCHEDULE", "STATUS"], &rows)
}

/// `--schedule` of `gameday run` and `gameday drill`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ScheduledArgs {
    /// A run of schedule NAME in gameday.yaml (the chart's CronJobs pass
    /// it): the calendar is checked first, and inside a blackout, a freeze
    /// or the on-call fatigue window the run is skipped with exit 0.
    #[arg(long, value_name = "NAME")]
    pub schedule: Option<String>,
    /// For tests: check the calendar at this instant instead of now.
    #[arg(long, value_name = "TIME", hide = true, requires = "schedule")]
    pub now: Option<Timestamp>,
}

/// What the `--schedule` gate needs from `run` or `drill`.
pub(super) struct Gate<'a> {
    pub args: &'a ScheduledArgs,
    /// `scenario` or `drill`, and its name, for the run directory and history.
    pub kind: &'static str,
    pub name: &'a str,
    /// Whether this run pages anyone (an expected alert, an alert inject).
    pub pages: bool,
    pub placement: &'a rundir::Placement,
}

/// Checks the calendar for a scheduled run. `Ok`: the run may go (or is
/// not scheduled). `Err(0)`: it was skipped, and its run directory and
/// history row say why. `Err(2)`: no such schedule (or a broken calendar).
pub(super) fn gate(gate: &Gate<'_>, config: &Config) -> Result<(), i32> {
    let Some(schedule) = gate.args.schedule.as_deref() else {
        return Ok(());
    };
    if !config.schedules.iter().any(|s| s.name == schedule) {
        let names: Vec<&str> = config.schedules.iter().map(|s| s.name.as_str()).collect();
        crate::errln!("error: no schedule named `{schedule}` in the config");
        if names.is_empty() {
            crate::errln!("  hint: the config has no `schedules:`; see docs/schedule.md");
        } else {
            crate::errln!("  hint: the schedules are: {}", names.join(", "));
        }
        return Err(exit::USAGE);
    }
    let cal = Calendar::from_config(config.calendar.as_ref()).map_err(|e| {
        crate::errln!("error: {e}");
        exit::USAGE
    })?;
    let now = gate.args.now.unwrap_or_else(Timestamp::now);
    let pages = if gate.pages {
        recent_pages(config, None, &cal, now)
    } else {
        Vec::new()
    };
    let Some(skip) = cal.check(now, &pages) else {
        return Ok(());
    };
    match record_skip(gate, schedule, config, now, &skip) {
        Ok(dir) => {
            crate::term::event(
                "run.skipped",
                json!({"schedule": schedule, "rule": skip.rule, "window": skip.window, "reason": skip.reason, "runDir": dir}),
                format_args!("run directory: {}", dir.display()),
            );
        }
        Err(e) => crate::errln!("warning: the skipped run was not recorded: {e:#}"),
    }
    println!("skipped: {}", skip.reason);
    Err(exit::OK)
}

/// Leaves the skipped run behind as every run does: a run directory with
/// its journal and result.json, and a history row with status `skipped`.
fn record_skip(
    gate: &Gate<'_>,
    schedule: &str,
    config: &Config,
    now: Timestamp,
    skip: &Skip,
) -> anyhow::Result<PathBuf> {
    use rand::RngExt;
    let run_id = RunId::generate(now, rand::rng().random());
    let dir = rundir::create(gate.placement, now, gate.name, &run_id)?;
    let journal = Journal::open(&dir.join(rundir::JOURNAL))?;
    let details = json!({
        "runId": run_id.as_str(), "schedule": schedule, "rule": skip.rule,
        "window": skip.window, "reason": skip.reason,
    });
    journal.append("calendar", "run.skipped", details)?;
    let result = json!({
        "runId": run_id.as_str(), "kind": gate.kind, "scenario": gate.name,
        "schedule": schedule, "status": history::STATUS_SKIPPED, "exitCode": exit::OK,
        "reason": skip.reason, "rule": skip.rule, "window": skip.window,
        "startedAt": now, "endedAt": now,
    });
    std::fs::write(
        dir.join(crate::report::files::RESULT_JSON),
        serde_json::to_vec_pretty(&result)?,
    )?;
    let record = RunRecord {
        run_id: run_id.as_str().to_string(),
        kind: gate.kind.to_string(),
        scenario: gate.name.to_string(),
        severity: None,
        status: history::STATUS_SKIPPED.to_string(),
        exit_code: exit::OK,
        started_at: now,
        ended_at: Some(now),
        ttd_seconds: None,
        tta_seconds: None,
        ttm_seconds: None,
        ttr_seconds: None,
        score: None,
        passed: false,
        run_dir: dir.clone(),
        action_items: Vec::new(),
        reason: Some(skip.reason.clone()),
    };
    let db = crate::report::record::db_path(config)?;
    history::record(&db, &record, None)?;
    Ok(dir)
}

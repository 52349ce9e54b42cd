//! `gameday validate PATH...`: checks scenario files (and gameday.yaml config
//! files) and reports every mistake in every file, rustc-style or as JSON.
//! Exit 0 when all is valid, 2 otherwise.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{GlobalArgs, OutputFormat, exit};
use crate::config::Config;
use crate::diag::{self, Diagnostic, Source};
use crate::scenario;
use crate::yaml::{self, Document, Node, did_you_mean};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario files or directories (searched recursively for *.yaml and *.yml).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format: text (rustc-style) or json (for editors and CI).
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// What a file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Scenario,
    Drill,
    Config,
    Skipped,
}

#[derive(Debug, Serialize)]
pub struct FileReport {
    pub file: String,
    pub kind: FileKind,
    pub valid: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scenarios: Vec<String>,
    /// Why a file found in a directory was not checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub valid: bool,
    pub files: Vec<FileReport>,
    pub diagnostics: Vec<Diagnostic>,
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<i32> {
    let config = match Config::load(global.config.as_deref()) {
        Ok(c) => c,
        Err(diags) => {
            let report = Report {
                valid: false,
                files: Vec::new(),
                diagnostics: diags,
            };
            print(&report, args.output)?;
            return Ok(exit::USAGE);
        }
    };
    let report = validate_paths(&args.paths, &config);
    print(&report, args.output)?;
    Ok(if report.valid { exit::OK } else { exit::USAGE })
}

fn print(report: &Report, format: OutputFormat) -> anyhow::Result<()> {
    use std::io::Write;
    if format == OutputFormat::Json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, report)?;
        writeln!(out)?;
        return Ok(());
    }
    let color = super::use_color();
    // Through crate::term: a closed stderr is not an error, and under
    // `--log-format json` each diagnostic is one `diagnostic` event.
    for d in &report.diagnostics {
        let fields = serde_json::to_value(d).unwrap_or_default();
        crate::term::event("diagnostic", fields, diag::render(d, color));
    }
    for f in report.files.iter().filter(|f| f.kind == FileKind::Skipped) {
        crate::errln!(
            "note: skipped {}: {}",
            f.file,
            f.reason.as_deref().unwrap_or("not a gameday file")
        );
    }
    let checked = report
        .files
        .iter()
        .filter(|f| f.kind != FileKind::Skipped)
        .count();
    let count = |kind: FileKind| -> usize {
        report
            .files
            .iter()
            .filter(|f| f.kind == kind)
            .map(|f| f.scenarios.len())
            .sum()
    };
    let (scenarios, drills) = (count(FileKind::Scenario), count(FileKind::Drill));
    let errors = report.diagnostics.iter().filter(|d| d.is_error()).count();
    if report.valid {
        let mut out = std::io::stdout().lock();
        let drills = match drills {
            0 => String::new(),
            n => format!(", {n} {}", plural(n, "drill", "drills")),
        };
        writeln!(
            out,
            "ok: {checked} {} valid ({scenarios} {}{drills})",
            plural(checked, "file", "files"),
            plural(scenarios, "scenario", "scenarios")
        )?;
    } else {
        let bad = report.files.iter().filter(|f| !f.valid).count();
        crate::errln!(
            "error: {errors} {} in {bad} of {checked} {}",
            plural(errors, "error", "errors"),
            plural(checked, "file", "files")
        );
    }
    Ok(())
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// Validates every file named or found under the paths; the library entry
/// point behind the command (benchmarks and tests call it directly).
pub fn validate_paths(paths: &[PathBuf], config: &Config) -> Report {
    let mut todo: Vec<(PathBuf, bool)> = Vec::new();
    let mut files = Vec::new();
    let mut diagnostics = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found, &mut diagnostics);
            found.sort();
            todo.extend(found.into_iter().map(|f| (f, false)));
        } else if p.exists() {
            todo.push((p.clone(), true));
        } else {
            let name = p.display().to_string();
            diagnostics.push(Diagnostic::error(&name, 1, 1, "no such file or directory"));
            files.push(FileReport {
                file: name,
                kind: FileKind::Scenario,
                valid: false,
                scenarios: Vec::new(),
                reason: None,
            });
        }
    }
    // Files are independent: check them on every core, then report in order.
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
        .min(todo.len().div_ceil(64).max(1));
    let chunk = todo.len().div_ceil(workers).max(1);
    let results: Vec<Vec<(FileReport, Vec<Diagnostic>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = todo
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(path, explicit)| {
                            let mut d = Vec::new();
                            let r = check_file(path, *explicit, config, &mut d);
                            (r, d)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                // A panic must never turn into "valid": report it as an error.
                h.join().unwrap_or_else(|_| {
                    let report = FileReport {
                        file: "(internal)".into(),
                        kind: FileKind::Scenario,
                        valid: false,
                        scenarios: Vec::new(),
                        reason: None,
                    };
                    let d = Diagnostic::error(
                        "gameday",
                        1,
                        1,
                        "internal error: a validation worker panicked",
                    );
                    vec![(report, vec![d])]
                })
            })
            .collect()
    });
    for (report, mut d) in results.into_iter().flatten() {
        files.push(report);
        diagnostics.append(&mut d);
    }
    let valid = !diagnostics.iter().any(Diagnostic::is_error);
    Report {
        valid,
        files,
        diagnostics,
    }
}

/// Recursively collects *.yaml and *.yml files, skipping hidden entries
/// (`.git`, editor backups) and `target/`.
fn walk(dir: &Path, found: &mut Vec<PathBuf>, diags: &mut Vec<Diagnostic>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            diags.push(Diagnostic::error(
                dir.display().to_string(),
                1,
                1,
                format!("cannot read the directory: {e}"),
            ));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false) || path.is_dir();
        if is_dir {
            if name != "target" {
                walk(&path, found, diags);
            }
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            found.push(path);
        }
    }
}

fn check_file(
    path: &Path,
    explicit: bool,
    config: &Config,
    diags: &mut Vec<Diagnostic>,
) -> FileReport {
    let name = path.display().to_string();
    let mut report = FileReport {
        file: name.clone(),
        kind: FileKind::Scenario,
        valid: true,
        scenarios: Vec::new(),
        reason: None,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            diags.push(Diagnostic::error(
                &name,
                1,
                1,
                format!("cannot read the file: {e}"),
            ));
            report.valid = false;
            return report;
        }
    };
    let src = Source::new(&name, &text);
    let (docs, parse_diags) = yaml::parse(&src);
    let is_config_name = path
        .file_name()
        .is_some_and(|n| n == "gameday.yaml" || n == "gameday.yml");
    let class = if is_config_name {
        Class::Config
    } else {
        classify(&docs, explicit)
    };
    let result = match class {
        Class::Skip(reason) => {
            report.kind = FileKind::Skipped;
            report.reason = Some(reason);
            return report;
        }
        Class::Config => {
            report.kind = FileKind::Config;
            Config::load_str(&name, &text).map(|_| Vec::new())
        }
        Class::Scenario => {
            scenario::load_parsed(&src, &docs, parse_diags, config, &crate::faults::Registry)
                .map(|s| s.into_iter().map(|s| s.metadata.name).collect())
        }
        Class::Drill => {
            report.kind = FileKind::Drill;
            crate::drill::load_parsed(&src, &docs, parse_diags, config, &crate::faults::Registry)
                .map(|d| d.into_iter().map(|d| d.metadata.name).collect())
        }
    };
    match result {
        Ok(names) => report.scenarios = names,
        Err(mut d) => {
            report.valid = !d.iter().any(Diagnostic::is_error);
            diags.append(&mut d);
        }
    }
    report
}

enum Class {
    Scenario,
    /// `kind: Drill` (or a near miss of it): a tabletop drill.
    Drill,
    Config,
    Skip(String),
}

/// Tells scenarios from other YAML found in a directory (alert rules, CI
/// pipelines, Kubernetes manifests). Files named on the command line are
/// always checked. A near-miss such as `kind: Scenaro` is a scenario with a
/// mistake, never a reason to skip.
fn classify(docs: &[Document], explicit: bool) -> Class {
    let Some(root) = docs.iter().map(|d| &d.root).find(|r| !r.is_null()) else {
        return Class::Scenario;
    };
    let config_keys = [
        "severities",
        "protectedNamespaces",
        "allowedContexts",
        "prometheus",
        "alertmanager",
        "passMark",
        "haltNamespace",
        "history",
        "schedules",
        "calendar",
    ];
    let has = |k: &str| root.get(k).is_some();
    let kind = root.get("kind").and_then(Node::as_str);
    if kind.is_some_and(|k| k != "Scenario" && did_you_mean(k, ["Drill"]).is_some()) {
        return Class::Drill;
    }
    let api = root.get("apiVersion").and_then(Node::as_str);
    let looks_like_config = !has("kind") && !has("spec") && config_keys.iter().any(|k| has(k));
    if looks_like_config && api.is_none_or(|a| a.starts_with("gameday/")) {
        return Class::Config;
    }
    if explicit || kind == Some("Scenario") || !matches!(root.value, yaml::Value::Map(_)) {
        return if explicit || kind == Some("Scenario") {
            Class::Scenario
        } else {
            Class::Skip("not a YAML mapping".into())
        };
    }
    let near_scenario = kind.is_some_and(|k| did_you_mean(k, ["Scenario"]).is_some());
    match (api, kind) {
        (Some(a), _) if !a.starts_with("gameday/") && !near_scenario => {
            Class::Skip(format!("apiVersion `{a}` is not a gameday format"))
        }
        (Some(_), Some(k)) if !near_scenario => {
            Class::Skip(format!("kind `{k}` is not checked by `gameday validate`"))
        }
        (None, None) if !has("spec") && !has("metadata") => {
            Class::Skip("no `apiVersion: gameday/v1` and `kind: Scenario`".into())
        }
        _ => Class::Scenario,
    }
}

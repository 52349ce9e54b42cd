//! The checks: pure functions of a loaded `Estate`. Each has an id, an
//! area (the line of the readiness checklist it belongs to), a severity and
//! a fix; `CHECKS` lists them once, and docs/readiness.md, the JUnit
//! testcases and the report's manual list follow it.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use jiff::civil::Date;

use super::catalog::{ONCALL_ANNOTATIONS, owner_group};
use super::estate::{Estate, HistoryView};
use super::exercises::Exercise;
use super::routing::PAGER_INTEGRATIONS;
use super::rules::AlertRule;
use super::runbooks::RunbookStatus;
use super::tally::{Audit, CheckRun};
use super::{Finding, Level};

/// One check, as documented.
#[derive(Debug, Clone, Copy)]
pub struct CheckInfo {
    pub id: &'static str,
    pub area: &'static str,
    pub severity: Level,
    pub title: &'static str,
}

pub const CHECKS: &[CheckInfo] = &[
    info(
        "runbook-missing",
        "runbooks",
        Level::Error,
        "every alert has a runbook_url",
    ),
    info(
        "runbook-unresolved",
        "runbooks",
        Level::Error,
        "every runbook_url resolves",
    ),
    info(
        "severity-unknown",
        "severities",
        Level::Error,
        "every alert has a known severity",
    ),
    info(
        "route-no-pager",
        "routing",
        Level::Error,
        "every paging alert reaches a pager",
    ),
    info(
        "alert-no-owner",
        "ownership",
        Level::Warning,
        "every alert maps to a catalog service",
    ),
    info(
        "service-no-owner",
        "ownership",
        Level::Error,
        "every service has an owner",
    ),
    info(
        "owner-no-oncall",
        "ownership",
        Level::Error,
        "every owner group has an on-call",
    ),
    info(
        "alert-not-exercised",
        "exercises",
        Level::Warning,
        "some scenario or drill expects every alert",
    ),
    info(
        "scenario-no-guardrail",
        "exercises",
        Level::Error,
        "every scenario guards its SLO",
    ),
    info(
        "alert-not-drilled",
        "drills",
        Level::Warning,
        "every exercised alert was drilled recently",
    ),
    info(
        "service-not-drilled",
        "drills",
        Level::Warning,
        "every service was drilled recently",
    ),
    info(
        "action-overdue",
        "follow-up",
        Level::Warning,
        "no postmortem action item is overdue",
    ),
];

const fn info(
    id: &'static str,
    area: &'static str,
    severity: Level,
    title: &'static str,
) -> CheckInfo {
    CheckInfo {
        id,
        area,
        severity,
        title,
    }
}

/// The seed checklist's items gameday cannot check from files: listed in
/// every report so that nobody mistakes a full score for a full checklist.
pub const MANUAL_CHECKS: &[&str] = &[
    "incident roles (IC, comms, ops) are staffed and trained for every rotation",
    "a status page and customer-communication templates exist",
    "escalation contacts outside engineering (legal, support, executives) are current",
    "the severity definitions are published where responders read them",
    "postmortems are blameless and reviewed with the whole team",
];

/// What the checks are told beyond the estate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Severity label values the organisation defines.
    pub severities: Vec<String>,
    /// Severity values that must page a person.
    pub page_severities: Vec<String>,
    pub service_label: String,
    /// How recent a drill must be, in days.
    pub drilled_within_days: i64,
    pub now: Timestamp,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            severities: ["critical", "warning", "info"].map(String::from).to_vec(),
            page_severities: vec!["critical".into()],
            service_label: "service".into(),
            drilled_within_days: 30,
            now: Timestamp::now(),
        }
    }
}

fn finding(check: &'static str, subject: &str, file: &str, line: usize, hint: String) -> Finding {
    let severity = CHECKS
        .iter()
        .find(|c| c.id == check)
        .map_or(Level::Error, |c| c.severity);
    Finding {
        check,
        severity,
        subject: subject.to_string(),
        file: file.to_string(),
        line,
        hint,
    }
}

/// Runs every check against `estate`. A check whose input is missing is
/// reported as skipped, with the flag that would feed it.
pub fn audit(estate: &Estate, opts: &Options) -> Audit {
    let mut runs = vec![
        runbooks_missing(estate),
        runbooks_unresolved(estate),
        severities(&estate.alerts, opts),
        routing(estate, opts),
    ];
    runs.extend(ownership(estate, opts));
    runs.push(not_exercised(estate));
    runs.push(guardrails(estate));
    runs.extend(drilled(estate, opts));
    runs.push(overdue(estate, opts));
    Audit::new(runs)
}

fn runbooks_missing(estate: &Estate) -> CheckRun {
    let findings = estate
        .alerts
        .iter()
        .zip(&estate.runbooks)
        .filter(|(_, s)| **s == RunbookStatus::Missing)
        .map(|(a, _)| {
            let hint = format!(
                "add `annotations.runbook_url` to alert `{}` (group `{}`): a runbook file next to the rules, or a URL",
                a.name, a.group
            );
            finding("runbook-missing", &a.name, &a.file, a.line, hint)
        })
        .collect();
    CheckRun::ran("runbook-missing", estate.alerts.len(), findings)
}

fn runbooks_unresolved(estate: &Estate) -> CheckRun {
    let with_url = estate
        .runbooks
        .iter()
        .filter(|s| **s != RunbookStatus::Missing)
        .count();
    let findings = estate
        .alerts
        .iter()
        .zip(&estate.runbooks)
        .filter_map(|(a, s)| match s {
            RunbookStatus::Unresolved(why) => Some(finding(
                "runbook-unresolved",
                &a.name,
                &a.file,
                a.runbook_line,
                format!("{why}: write the runbook or fix the link"),
            )),
            _ => None,
        })
        .collect();
    CheckRun::ran("runbook-unresolved", with_url, findings)
}

fn severities(alerts: &[AlertRule], opts: &Options) -> CheckRun {
    let known = opts.severities.join(", ");
    let findings = alerts
        .iter()
        .filter_map(|a| {
            let hint = match a.labels.get("severity") {
                None => format!("alert `{}` has no `severity` label; add one of: {known}", a.name),
                Some(s) if !opts.severities.contains(s) => format!(
                    "`severity: {s}` is not a defined severity; use one of: {known} (or define it with --severity)"
                ),
                Some(_) => return None,
            };
            Some(finding("severity-unknown", &a.name, &a.file, a.line, hint))
        })
        .collect();
    CheckRun::ran("severity-unknown", alerts.len(), findings)
}

fn routing(estate: &Estate, opts: &Options) -> CheckRun {
    let Some(routing) = &estate.routing else {
        return CheckRun::skipped(
            "route-no-pager",
            "no --alertmanager-config or --alertmanager",
        );
    };
    let paging: Vec<&AlertRule> = estate
        .alerts
        .iter()
        .filter(|a| {
            a.labels
                .get("severity")
                .is_some_and(|s| opts.page_severities.contains(s))
        })
        .collect();
    let findings = paging
        .iter()
        .filter_map(|a| {
            let mut labels = a.labels.clone();
            labels.insert("alertname".into(), a.name.clone());
            let receivers = routing.receivers_for(&labels);
            let pages = receivers.iter().any(|r| {
                routing
                    .receivers
                    .get(r)
                    .is_some_and(|r| !r.pagers.is_empty())
            });
            (!pages).then(|| {
                let at: Vec<String> = receivers
                    .iter()
                    .map(|r| {
                        let line = routing.receivers.get(r).map_or(0, |r| r.line);
                        format!("`{r}` ({}:{line})", routing.source)
                    })
                    .collect();
                let hint = format!(
                    "reaches only {}, none with {}: route it to a paging receiver",
                    at.join(", "),
                    PAGER_INTEGRATIONS.join(", ")
                );
                finding("route-no-pager", &a.name, &a.file, a.line, hint)
            })
        })
        .collect();
    CheckRun::ran("route-no-pager", paging.len(), findings)
}

fn ownership(estate: &Estate, opts: &Options) -> Vec<CheckRun> {
    let Some(catalog) = &estate.catalog else {
        let why = "no --catalog";
        return ["alert-no-owner", "service-no-owner", "owner-no-oncall"]
            .map(|id| CheckRun::skipped(id, why))
            .to_vec();
    };
    let label = &opts.service_label;
    let services: BTreeSet<&str> = catalog.components.iter().map(|c| c.name.as_str()).collect();
    let alert_findings = estate
        .alerts
        .iter()
        .filter_map(|a| {
            let hint = match a.labels.get(label) {
                None => format!("alert `{}` has no `{label}` label, so nobody owns it; add the service it is about", a.name),
                Some(s) if !services.contains(s.as_str()) => format!(
                    "`{label}: {s}` is not a Component in the catalog; add it to catalog-info.yaml with an owner"
                ),
                Some(_) => return None,
            };
            Some(finding("alert-no-owner", &a.name, &a.file, a.line, hint))
        })
        .collect();
    let no_owner = catalog
        .components
        .iter()
        .filter(|c| c.owner.as_deref().is_none_or(|o| o.trim().is_empty()))
        .map(|c| {
            let hint = format!("Component `{}` has no `spec.owner`; set it to the team (Group) that is paged for it", c.name);
            finding("service-no-owner", &c.name, &c.file, c.line, hint)
        })
        .collect();
    let (owners, oncall) = oncall_findings(estate);
    vec![
        CheckRun::ran("alert-no-owner", estate.alerts.len(), alert_findings),
        CheckRun::ran("service-no-owner", catalog.components.len(), no_owner),
        CheckRun::ran("owner-no-oncall", owners, oncall),
    ]
}

/// One finding per owner without an on-call, at the group (or, for a group
/// missing from the catalog, at the first component naming it).
fn oncall_findings(estate: &Estate) -> (usize, Vec<Finding>) {
    let Some(catalog) = &estate.catalog else {
        return (0, Vec::new());
    };
    let mut owners: BTreeMap<&str, Option<Finding>> = BTreeMap::new();
    for c in &catalog.components {
        let Some(owner) = c.owner.as_deref().filter(|o| !o.trim().is_empty()) else {
            continue;
        };
        if owners.contains_key(owner) {
            continue;
        }
        let annotations = ONCALL_ANNOTATIONS.join(", ");
        let problem = match owner_group(owner).map(|g| (g, catalog.groups.get(g))) {
            None => Some(finding(
                "owner-no-oncall",
                owner,
                &c.file,
                c.owner_line,
                format!(
                    "`{}` is owned by a person, not a team with an on-call rotation; make a Group the owner",
                    c.name
                ),
            )),
            Some((g, None)) => Some(finding(
                "owner-no-oncall",
                g,
                &c.file,
                c.owner_line,
                format!(
                    "owner group `{g}` is not in the catalog; add a Group with one of the annotations {annotations}"
                ),
            )),
            Some((_, Some(group))) if group.oncall.is_none() => Some(finding(
                "owner-no-oncall",
                &group.name,
                &group.file,
                group.line,
                format!(
                    "Group `{}` has no on-call: add one of the annotations {annotations}",
                    group.name
                ),
            )),
            Some(_) => None,
        };
        owners.insert(owner, problem);
    }
    let count = owners.len();
    (count, owners.into_values().flatten().collect())
}

fn expected_alerts(exercises: &[Exercise]) -> BTreeSet<&str> {
    exercises
        .iter()
        .flat_map(|e| e.alerts.iter().map(String::as_str))
        .collect()
}

fn not_exercised(estate: &Estate) -> CheckRun {
    let Some(exercises) = &estate.exercises else {
        return CheckRun::skipped("alert-not-exercised", "no --scenarios");
    };
    let expected = expected_alerts(exercises);
    let findings = estate
        .alerts
        .iter()
        .filter(|a| !expected.contains(a.name.as_str()))
        .map(|a| {
            let hint = format!(
                "no scenario or drill expects `{}`: add it to a scenario's `detection.alerts` or page it from a drill",
                a.name
            );
            finding("alert-not-exercised", &a.name, &a.file, a.line, hint)
        })
        .collect();
    CheckRun::ran("alert-not-exercised", estate.alerts.len(), findings)
}

fn guardrails(estate: &Estate) -> CheckRun {
    let Some(exercises) = &estate.exercises else {
        return CheckRun::skipped("scenario-no-guardrail", "no --scenarios");
    };
    let scenarios: Vec<&Exercise> = exercises.iter().filter(|e| e.guarded.is_some()).collect();
    let findings = scenarios
        .iter()
        .filter(|e| e.guarded == Some(false))
        .map(|e| {
            let hint = format!(
                "no Prometheus or HTTP probe of scenario `{}` has `during:`; add a guardrail so a breach aborts and reverts",
                e.name
            );
            finding("scenario-no-guardrail", &e.name, &e.file, e.steady_line, hint)
        })
        .collect();
    CheckRun::ran("scenario-no-guardrail", scenarios.len(), findings)
}

/// The latest run of any of `names`.
fn last_run<'h>(
    history: &'h HistoryView,
    names: &BTreeSet<&str>,
) -> Option<&'h (String, Timestamp)> {
    history
        .runs
        .iter()
        .filter(|(s, _)| names.contains(s.as_str()))
        .max_by_key(|(_, t)| *t)
}

/// The hint for something last drilled at `last` (or never).
fn drill_hint(
    what: &str,
    last: Option<&(String, Timestamp)>,
    names: &BTreeSet<&str>,
    days: i64,
) -> String {
    let by: Vec<&str> = names.iter().copied().collect();
    match last {
        Some((s, t)) => format!(
            "{what} was last drilled {} by `{s}`, over {days} days ago: run one of {}",
            t.strftime("%Y-%m-%d"),
            by.join(", ")
        ),
        None => format!("{what} was never drilled: run one of {}", by.join(", ")),
    }
}

fn drilled(estate: &Estate, opts: &Options) -> Vec<CheckRun> {
    let ids = ["alert-not-drilled", "service-not-drilled"];
    let (Some(history), Some(exercises)) = (&estate.history, &estate.exercises) else {
        return ids
            .map(|id| CheckRun::skipped(id, "needs --scenarios and a history database (--db)"))
            .to_vec();
    };
    let cutoff = opts.now - jiff::SignedDuration::from_hours(24 * opts.drilled_within_days);
    let days = opts.drilled_within_days;
    let stale = |names: &BTreeSet<&str>| {
        let last = last_run(history, names);
        last.is_none_or(|(_, t)| *t < cutoff).then_some(last)
    };
    let mut alert_checked = 0;
    let mut alert_findings = Vec::new();
    for a in &estate.alerts {
        let by: BTreeSet<&str> = exercises
            .iter()
            .filter(|e| e.alerts.contains(&a.name))
            .map(|e| e.name.as_str())
            .collect();
        if by.is_empty() {
            continue;
        }
        alert_checked += 1;
        if let Some(last) = stale(&by) {
            let hint = drill_hint(&format!("alert `{}`", a.name), last, &by, days);
            alert_findings.push(finding("alert-not-drilled", &a.name, &a.file, a.line, hint));
        }
    }
    let mut runs = vec![CheckRun::ran(
        "alert-not-drilled",
        alert_checked,
        alert_findings,
    )];
    let Some(catalog) = &estate.catalog else {
        runs.push(CheckRun::skipped("service-not-drilled", "no --catalog"));
        return runs;
    };
    let service_of: BTreeMap<&str, &str> = estate
        .alerts
        .iter()
        .filter_map(|a| {
            a.labels
                .get(&opts.service_label)
                .map(|s| (a.name.as_str(), s.as_str()))
        })
        .collect();
    let mut findings = Vec::new();
    for c in &catalog.components {
        let touches = |e: &Exercise| {
            e.services.contains(&c.name)
                || e.alerts
                    .iter()
                    .any(|a| service_of.get(a.as_str()) == Some(&c.name.as_str()))
        };
        let by: BTreeSet<&str> = exercises
            .iter()
            .filter(|e| touches(e))
            .map(|e| e.name.as_str())
            .collect();
        let hint = if by.is_empty() {
            Some(format!(
                "no scenario or drill touches service `{}`: write one (`gameday init`)",
                c.name
            ))
        } else {
            stale(&by).map(|last| drill_hint(&format!("service `{}`", c.name), last, &by, days))
        };
        if let Some(hint) = hint {
            findings.push(finding(
                "service-not-drilled",
                &c.name,
                &c.file,
                c.line,
                hint,
            ));
        }
    }
    runs.push(CheckRun::ran(
        "service-not-drilled",
        catalog.components.len(),
        findings,
    ));
    runs
}

fn overdue(estate: &Estate, opts: &Options) -> CheckRun {
    let Some(history) = &estate.history else {
        return CheckRun::skipped("action-overdue", "no history database (--db)");
    };
    let today: Date = opts.now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let with_due: Vec<_> = history.actions.iter().filter(|a| a.due.is_some()).collect();
    let findings = with_due
        .iter()
        .filter(|a| a.open > 0 && a.due.is_some_and(|d| d < today))
        .map(|a| {
            let due = a.due.map(|d| d.to_string()).unwrap_or_default();
            let owner = a.owner_role.as_deref().unwrap_or("no owner role");
            let hint = format!(
                "due {due} ({owner}), from `{}`: do it, then `gameday actions done {}`",
                a.scenario, a.number
            );
            finding(
                "action-overdue",
                &format!("#{} {}", a.number, a.title),
                &history.path,
                0,
                hint,
            )
        })
        .collect();
    CheckRun::ran("action-overdue", with_due.len(), findings)
}

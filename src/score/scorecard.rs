//! The scorecard: six component scores, the weighted composite over those
//! that apply, the pass mark, and the flags that explain a failure. Scores
//! are for the team and the system, never for individuals: nothing here
//! carries a person's name.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::comms::{CommsCadence, cadence};
use super::detect::{AlertDetection, detect_alert, detect_score};
use super::observed::{NoiseGroup, Observed, group_noise};
use super::paging::{self, PageObservation};
use super::roles::{RoleCoverage, coverage};
use super::runbook::{RunbookAdherence, adherence};
use super::targets::Targets;
use super::{curve::time_score, human_secs, secs, times};
use crate::incident::{Incident, role_label};
use crate::scenario::{Noise, RoleName};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Component {
    Detect,
    Ack,
    Mitigate,
    Roles,
    Comms,
    Runbook,
}

impl Component {
    pub const ALL: [Component; 6] = [
        Component::Detect,
        Component::Ack,
        Component::Mitigate,
        Component::Roles,
        Component::Comms,
        Component::Runbook,
    ];

    /// DESIGN.md: 0.25·detect + 0.15·ack + 0.20·mitigate + 0.15·roles +
    /// 0.15·comms + 0.10·runbook.
    pub fn weight(self) -> f64 {
        match self {
            Component::Detect => 0.25,
            Component::Ack => 0.15,
            Component::Mitigate => 0.20,
            Component::Roles => 0.15,
            Component::Comms => 0.15,
            Component::Runbook => 0.10,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Component::Detect => "detect",
            Component::Ack => "ack",
            Component::Mitigate => "mitigate",
            Component::Roles => "roles",
            Component::Comms => "comms",
            Component::Runbook => "runbook",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentScore {
    pub component: Component,
    /// The nominal weight from DESIGN.md.
    pub weight: f64,
    /// The weight after renormalising over the components that apply; 0 for
    /// one that does not.
    pub effective_weight: f64,
    /// None: the component does not apply to this run (see `note`).
    pub score: Option<f64>,
    /// What was measured, in words (`TTA 2m05s`).
    pub measured: String,
    /// What it was measured against (`target 5m00s`).
    pub target: String,
    /// Why it does not apply, or what to know about the number.
    pub note: String,
}

/// Findings that explain a score. The first three fail the run whatever the
/// composite says: they are the failures a game day exists to find.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Flag {
    /// An expected alert never fired.
    DetectionFailure { alert: String },
    /// A critical runbook step was not done (or its verify never held).
    CriticalStepMissed { step: String },
    /// Other alerts fired and `detection.noise` is `fail`.
    NoiseFailure { alerts: Vec<String> },
    /// Other alerts fired (noise: warn).
    Noise { alerts: Vec<String> },
    /// A SEV1/SEV2 (or any level requiring the role) without it filled in time.
    MissingRole { role: RoleName, severity: String },
    /// One person held every role.
    HeroDependent { roles: Vec<RoleName> },
    /// A status-update gap longer than the cadence.
    CadenceGap {
        gap_seconds: f64,
        cadence_seconds: f64,
    },
    /// A step with `verify` was claimed but the probe never held.
    StepUnverified { step: String },
    /// A component could not be measured because its probes could not be
    /// read (Prometheus down): said out loud so "n/a" is not read as "fine".
    NotMeasured {
        component: Component,
        probes: Vec<String>,
    },
    /// Responders resolved the incident before the SLI was back within its
    /// SLO (issue 14, "scoring truths"): the resolve was premature, or the
    /// SLO is not what responders watch.
    ResolvedBeforeMitigated { ttr_seconds: f64, ttm_seconds: f64 },
    /// A page sent through a paging tool that answered was never
    /// acknowledged there (issue 17: a P1 action item).
    PageUnacknowledged { source: String },
    /// The paging tool escalated the page, judged against the severity's
    /// ack target: `needed` when the target had passed without an ack.
    Escalated {
        source: String,
        level: Option<u32>,
        after_seconds: f64,
        ack_target_seconds: Option<f64>,
        needed: Option<bool>,
    },
}

impl Flag {
    pub fn fails_run(&self) -> bool {
        matches!(
            self,
            Flag::DetectionFailure { .. }
                | Flag::CriticalStepMissed { .. }
                | Flag::NoiseFailure { .. }
        )
    }

    pub fn message(&self) -> String {
        match self {
            Flag::DetectionFailure { alert } => {
                format!("detection failure: expected alert {alert} never fired")
            }
            Flag::CriticalStepMissed { step } => {
                format!("critical runbook step `{step}` was not done")
            }
            Flag::NoiseFailure { alerts } => {
                format!(
                    "unexpected alerts fired (noise: fail): {}",
                    alerts.join(", ")
                )
            }
            Flag::Noise { alerts } => format!("unexpected alerts fired: {}", alerts.join(", ")),
            Flag::MissingRole { role, severity } => format!(
                "{severity} without an explicit {} in time",
                role_label(*role)
            ),
            Flag::HeroDependent { roles } => format!(
                "hero-dependent response: one person held every role ({})",
                roles
                    .iter()
                    .map(|r| role_label(*r))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Flag::CadenceGap {
                gap_seconds,
                cadence_seconds,
            } => format!(
                "{} without a status update (cadence {})",
                human_secs(*gap_seconds),
                human_secs(*cadence_seconds)
            ),
            Flag::StepUnverified { step } => {
                format!("runbook step `{step}` was claimed but its verify probe never held")
            }
            Flag::ResolvedBeforeMitigated {
                ttr_seconds,
                ttm_seconds,
            } => format!(
                "resolved before mitigated: the incident was resolved {ttr_seconds:.0}s after injection, before the SLI recovered at {ttm_seconds:.0}s"
            ),
            Flag::NotMeasured { component, probes } => format!(
                "{} not measured: {} could not be read after the injection",
                component.name(),
                probe_list(probes)
            ),
            Flag::PageUnacknowledged { source } => {
                format!("the page through {source} was never acknowledged")
            }
            Flag::Escalated {
                source,
                level,
                after_seconds,
                ack_target_seconds,
                needed,
            } => escalation_message(source, *level, *after_seconds, *ack_target_seconds, *needed),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    /// First expected alert firing − T_inject.
    pub ttd_seconds: Option<f64>,
    pub tta_seconds: Option<f64>,
    pub ttm_seconds: Option<f64>,
    pub ttr_seconds: Option<f64>,
    pub t_ack: Option<jiff::Timestamp>,
    pub t_declare: Option<jiff::Timestamp>,
    pub t_resolve: Option<jiff::Timestamp>,
    /// The instant TTA and the role/comms deadlines count from.
    pub t_page: Option<jiff::Timestamp>,
    /// Where T_page and T_ack came from: a paging tool (`pagerduty`,
    /// `opsgenie`, `grafana-oncall`) when one was read, else absent
    /// (gameday's own alerts and responder events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tta_source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scorecard {
    pub severity: Option<String>,
    pub components: Vec<ComponentScore>,
    /// None when no component applies (nothing was injected).
    pub composite: Option<f64>,
    pub pass_mark: f64,
    pub passed: bool,
    pub reason: String,
    pub metrics: Metrics,
    pub flags: Vec<Flag>,
    pub roles: RoleCoverage,
    pub comms: CommsCadence,
    pub runbook: RunbookAdherence,
}

impl Scorecard {
    pub fn component(&self, c: Component) -> Option<&ComponentScore> {
        self.components.iter().find(|s| s.component == c)
    }

    pub fn score_of(&self, c: Component) -> Option<f64> {
        self.component(c).and_then(|s| s.score)
    }
}

/// Scoring's two outputs: the detection breakdown (its own section of
/// result.json) and the scorecard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scored {
    pub detection: Vec<AlertDetection>,
    /// Each unexpected alert once, with its label sets.
    pub noise: Vec<NoiseGroup>,
    pub scorecard: Scorecard,
}

fn opt_secs(s: Option<f64>) -> String {
    s.map(human_secs).unwrap_or_else(|| "never".into())
}

fn target_text(t: Option<f64>) -> String {
    t.map(|t| format!("≤ {}", human_secs(t)))
        .unwrap_or_else(|| "-".into())
}

const NOT_RUN: &str = "not scored: nothing was injected";

/// What every component's scorer reads: the targets, the observations and
/// the instants derived from them once, so each component is scored by its
/// own small function and they cannot disagree about the page or the ack.
struct Run<'a> {
    targets: &'a Targets,
    obs: &'a Observed,
    incident: &'a Incident,
    detection: &'a [AlertDetection],
    metrics: &'a Metrics,
    injected: bool,
}

impl Run<'_> {
    /// Why a people component (ack, roles, comms) has nothing to measure.
    fn severity_note(&self, what: &str) -> String {
        match (&self.targets.severity, self.targets.severity_known) {
            (None, _) => format!(
                "not scored: the scenario sets no response.severity and none was declared, so there is no {what}"
            ),
            (Some(s), false) => {
                format!("not scored: severity {s} is not in the config's severity table")
            }
            (Some(s), true) => format!("not scored: {s} sets no {what}"),
        }
    }
}

fn component(
    component: Component,
    (score, note): (Option<f64>, String),
    measured: String,
    target: String,
) -> ComponentScore {
    ComponentScore {
        component,
        weight: component.weight(),
        effective_weight: 0.0,
        score,
        measured,
        target,
        note,
    }
}

fn metrics(obs: &Observed, incident: &Incident, detection: &[AlertDetection]) -> Metrics {
    let (page, t_ack, tta_source) = page_and_ack(obs, incident, detection);
    let t_resolve = times::t_resolve(detection, incident.t_resolve());
    Metrics {
        ttd_seconds: times::first_ttd(detection),
        tta_seconds: times::tta(page, t_ack),
        ttm_seconds: times::ttm(obs),
        ttr_seconds: match (obs.t_inject, t_resolve) {
            (Some(i), Some(r)) => Some(secs(i, r).max(0.0)),
            _ => None,
        },
        t_ack,
        t_declare: incident.declared().map(|(t, _)| t),
        t_resolve,
        t_page: page,
        tta_source,
    }
}

/// The page and ack instants TTA is measured between. A paging tool that
/// answered is the source of truth (issue 17): its first notification and
/// acknowledgement, and its silence means nobody acknowledged. Otherwise
/// (no tool, or a tool that never answered) gameday's own sources.
fn page_and_ack(
    obs: &Observed,
    incident: &Incident,
    detection: &[AlertDetection],
) -> (
    Option<jiff::Timestamp>,
    Option<jiff::Timestamp>,
    Option<String>,
) {
    let read: Vec<PageObservation> = obs.paging.iter().filter(|p| p.read).cloned().collect();
    if let Some((p, paged, ack)) = paging::first_ack(&read) {
        return (Some(paged), Some(ack), Some(p.source.clone()));
    }
    if let Some(first) = read.first() {
        return (paging::first_page(&read), None, Some(first.source.clone()));
    }
    (times::page_time(detection, obs), incident.t_ack(), None)
}

fn detect_component(run: &Run<'_>) -> ComponentScore {
    let detection = run.detection;
    let fired = detection.iter().filter(|a| a.fired).count();
    let verdict = if !run.injected {
        (None, NOT_RUN.to_string())
    } else if detection.is_empty() {
        (
            None,
            "not scored: the scenario expects no alerts (detection.alerts is empty)".into(),
        )
    } else {
        match detect_score(detection) {
            Some(s) => (
                Some(s),
                format!("{fired} of {} expected alerts fired", detection.len()),
            ),
            None => (None, "not scored: no expected alert has a target".into()),
        }
    };
    component(
        Component::Detect,
        verdict,
        format!("TTD {}", opt_secs(run.metrics.ttd_seconds)),
        target_text(
            detection
                .iter()
                .filter_map(|a| a.target_seconds)
                .min_by(|a, b| a.total_cmp(b)),
        ),
    )
}

fn ack_component(run: &Run<'_>) -> ComponentScore {
    let target = run.targets.ack.map(|d| d.as_secs_f64());
    let verdict = match (run.injected, target) {
        (false, _) => (None, NOT_RUN.to_string()),
        (true, None) => (None, run.severity_note("ack target")),
        (true, Some(t)) => (
            Some(time_score(run.metrics.tta_seconds, t)),
            if run.metrics.t_page.is_none() {
                "no expected alert fired, so nobody was paged: TTA is undefined".into()
            } else if run.metrics.t_ack.is_none() {
                "nobody acknowledged".into()
            } else {
                String::new()
            },
        ),
    };
    component(
        Component::Ack,
        verdict,
        format!("TTA {}", opt_secs(run.metrics.tta_seconds)),
        target_text(target),
    )
}

/// Mitigation is measured by the SLO probes. When they could not be read
/// after the injection and never showed recovery, whether the SLIs came back
/// is unknown: that is "not measured", never full marks (unknown is not
/// success) and never zero (nothing was seen to fail either).
fn mitigate_component(run: &Run<'_>) -> ComponentScore {
    let obs = run.obs;
    let target = run.targets.mitigate.map(|d| d.as_secs_f64());
    let unmeasured = obs.t_mitigate.is_none() && !obs.unreadable.is_empty();
    let verdict = match (run.injected, target) {
        (false, _) => (None, NOT_RUN.to_string()),
        (true, None) => (None, "not scored: no mitigation target".into()),
        (true, Some(_)) if unmeasured => (
            None,
            format!(
                "not measured: {} could not be read after the injection, so recovery is unknown",
                probe_list(&obs.unreadable)
            ),
        ),
        (true, Some(_)) if obs.t_impact.is_none() && obs.t_mitigate.is_none() => (
            Some(1.0),
            "no SLO breach was observed, so there was nothing to mitigate".into(),
        ),
        (true, Some(t)) => (
            Some(time_score(run.metrics.ttm_seconds, t)),
            if obs.t_mitigate.is_none() {
                "the SLIs never came back within their SLOs".into()
            } else {
                String::new()
            },
        ),
    };
    let measured = if unmeasured && run.injected {
        "TTM not measured".to_string()
    } else {
        format!("TTM {}", opt_secs(run.metrics.ttm_seconds))
    };
    component(Component::Mitigate, verdict, measured, target_text(target))
}

/// `probe a`, `probes a, b`.
fn probe_list(names: &[String]) -> String {
    let s = if names.len() == 1 { "" } else { "s" };
    format!("probe{s} {}", names.join(", "))
}

fn roles_component(run: &Run<'_>, roles: &RoleCoverage, deadline: bool) -> ComponentScore {
    let filled = roles
        .checks
        .iter()
        .filter(|c| c.required && c.filled_in_time)
        .count();
    let required = roles.checks.iter().filter(|c| c.required).count();
    let verdict = match (run.injected, roles.score) {
        (false, _) => (None, NOT_RUN.to_string()),
        (true, None) => (None, run.severity_note("required role")),
        (true, Some(s)) => (
            Some(s),
            if roles.hero_dependent {
                "hero-dependent response: one person held every role".into()
            } else {
                String::new()
            },
        ),
    };
    let ack = run.targets.ack.map(|a| a.as_secs_f64()).unwrap_or_default();
    component(
        Component::Roles,
        verdict,
        format!("{filled}/{required} required roles filled in time"),
        if deadline {
            format!("by page + {}", human_secs(ack))
        } else {
            "during the run".into()
        },
    )
}

fn comms_component(run: &Run<'_>, comms: &CommsCadence) -> ComponentScore {
    let verdict = match (run.injected, comms.score) {
        (false, _) => (None, NOT_RUN.to_string()),
        (true, None) => (
            None,
            run.severity_note("update cadence or initial-notification target"),
        ),
        (true, Some(s)) => (Some(s), String::new()),
    };
    component(
        Component::Comms,
        verdict,
        format!(
            "{} update{}, first after {}",
            comms.updates,
            if comms.updates == 1 { "" } else { "s" },
            opt_secs(comms.first_update_seconds)
        ),
        format!(
            "first {} · every {}",
            target_text(comms.initial_target_seconds),
            target_text(comms.cadence_seconds)
        ),
    )
}

/// "1/2 steps done" alone sends the reader to the journal; the missing
/// steps are named so the scorecard says what was not done.
fn runbook_component(run: &Run<'_>, runbook: &RunbookAdherence) -> ComponentScore {
    let verdict = match (run.injected, runbook.score) {
        (false, _) => (None, NOT_RUN.to_string()),
        (true, None) => (None, "not scored: the scenario has no runbook steps".into()),
        (true, Some(s)) => (
            Some(s),
            format!(
                "recall {:.2}, order {:.2}, critical {}/{}",
                runbook.recall, runbook.order, runbook.critical_done, runbook.critical_total
            ),
        ),
    };
    let missing: Vec<&str> = runbook
        .expected
        .iter()
        .filter(|s| !runbook.done.contains(s))
        .map(String::as_str)
        .collect();
    let mut measured = format!(
        "{}/{} steps done",
        runbook.done.len(),
        runbook.expected.len()
    );
    if !missing.is_empty() && run.injected {
        let _ = write!(measured, " (not done: {})", missing.join(", "));
    }
    component(
        Component::Runbook,
        verdict,
        measured,
        "all, in order, every critical step".into(),
    )
}

/// Shares the weights out over the components that apply; returns the
/// composite, or None when none applies.
fn renormalise(components: &mut [ComponentScore]) -> Option<f64> {
    let total: f64 = components
        .iter()
        .filter(|c| c.score.is_some())
        .map(|c| c.weight)
        .sum();
    for c in components.iter_mut() {
        if c.score.is_some() && total > 0.0 {
            c.effective_weight = c.weight / total;
        }
    }
    (total > 0.0).then(|| {
        components
            .iter()
            .filter_map(|c| c.score.map(|s| s * c.effective_weight))
            .sum::<f64>()
    })
}

/// The findings of a run that injected something (none otherwise: a run
/// that tested nothing found nothing).
fn flags(
    run: &Run<'_>,
    roles: &RoleCoverage,
    comms: &CommsCadence,
    runbook: &RunbookAdherence,
) -> Vec<Flag> {
    let mut flags = Vec::new();
    if !run.injected {
        return flags;
    }
    for a in run.detection.iter().filter(|a| !a.fired) {
        flags.push(Flag::DetectionFailure {
            alert: a.name.clone(),
        });
    }
    for s in &runbook.missed_critical {
        flags.push(Flag::CriticalStepMissed { step: s.clone() });
    }
    let noise: Vec<String> = group_noise(&run.obs.noise)
        .iter()
        .map(NoiseGroup::describe)
        .collect();
    if !noise.is_empty() {
        match run.targets.noise {
            Noise::Fail => flags.push(Flag::NoiseFailure { alerts: noise }),
            Noise::Warn => flags.push(Flag::Noise { alerts: noise }),
            Noise::Ignore => {}
        }
    }
    let severity = run
        .targets
        .severity
        .clone()
        .unwrap_or_else(|| "no severity".into());
    for c in roles
        .checks
        .iter()
        .filter(|c| c.required && !c.filled_in_time)
    {
        flags.push(Flag::MissingRole {
            role: c.role,
            severity: severity.clone(),
        });
    }
    if roles.hero_dependent {
        flags.push(Flag::HeroDependent {
            roles: run.incident.roles.filled_roles().into_iter().collect(),
        });
    }
    for g in &comms.gaps {
        flags.push(Flag::CadenceGap {
            gap_seconds: g.gap_seconds,
            cadence_seconds: g.cadence_seconds,
        });
    }
    for s in &runbook.unverified {
        flags.push(Flag::StepUnverified { step: s.clone() });
    }
    if let (Some(t0), Some(resolve), Some(mitigate)) = (
        run.obs.t_inject,
        run.incident.t_resolve(),
        run.obs.t_mitigate,
    ) && resolve < mitigate
    {
        let secs = |t: jiff::Timestamp| t.duration_since(t0).as_secs_f64();
        flags.push(Flag::ResolvedBeforeMitigated {
            ttr_seconds: secs(resolve),
            ttm_seconds: secs(mitigate),
        });
    }
    if run.obs.t_mitigate.is_none() && !run.obs.unreadable.is_empty() {
        flags.push(Flag::NotMeasured {
            component: Component::Mitigate,
            probes: run.obs.unreadable.clone(),
        });
    }
    paging_flags(run, &mut flags);
    flags
}

fn escalation_message(
    source: &str,
    level: Option<u32>,
    after: f64,
    target: Option<f64>,
    needed: Option<bool>,
) -> String {
    let to = level.map_or("the next level".to_string(), |l| format!("level {l}"));
    let judged = match (needed, target) {
        (Some(true), Some(t)) => format!(
            ": needed, nobody acknowledged within the ack target {}",
            human_secs(t)
        ),
        (Some(false), Some(t)) => format!(": before the ack target {}", human_secs(t)),
        _ => String::new(),
    };
    format!(
        "{source} escalated the page to {to} after {}{judged}",
        human_secs(after)
    )
}

/// The paging tools' findings: an unacknowledged page, each escalation.
fn paging_flags(run: &Run<'_>, flags: &mut Vec<Flag>) {
    let pages = &run.obs.paging;
    let read: Vec<&PageObservation> = pages.iter().filter(|p| p.read).collect();
    if !read.is_empty() && read.iter().all(|p| p.t_ack.is_none()) {
        flags.push(Flag::PageUnacknowledged {
            source: read[0].source.clone(),
        });
    }
    let target = run.targets.ack.map(|d| d.as_secs_f64());
    for e in paging::judge_escalations(pages, target) {
        flags.push(Flag::Escalated {
            source: e.source,
            level: e.level,
            after_seconds: e.after_seconds,
            ack_target_seconds: target,
            needed: e.needed,
        });
    }
}

/// Pass or fail, and why in one line.
fn verdict(composite: Option<f64>, pass_mark: f64, flags: &[Flag]) -> (bool, String) {
    let failing: Vec<String> = flags
        .iter()
        .filter(|f| f.fails_run())
        .map(Flag::message)
        .collect();
    let Some(c) = composite else {
        return (
            false,
            "nothing was injected, so nothing was scored".to_string(),
        );
    };
    let cmp = if c >= pass_mark {
        format!("composite {c:.2} ≥ pass mark {pass_mark:.2}")
    } else {
        format!("composite {c:.2} < pass mark {pass_mark:.2}")
    };
    if failing.is_empty() {
        (c >= pass_mark, cmp)
    } else {
        (false, format!("{}; {cmp}", failing.join("; ")))
    }
}

pub fn score(targets: &Targets, obs: &Observed, incident: &Incident) -> Scored {
    let detection: Vec<AlertDetection> = obs
        .alerts
        .iter()
        .map(|a| detect_alert(a, obs, targets))
        .collect();
    let metrics = metrics(obs, incident, &detection);
    let run = Run {
        targets,
        obs,
        incident,
        detection: &detection,
        metrics: &metrics,
        injected: obs.t_inject.is_some(),
    };
    let deadline = match (metrics.t_page, targets.ack) {
        (Some(p), Some(a)) => p.checked_add(a.as_std()).ok(),
        _ => None,
    };
    let roles = coverage(
        &incident.roles,
        &incident.events,
        &targets.required_roles,
        deadline,
    );
    let comms = cadence(
        metrics.t_declare.or(metrics.t_page).or(obs.t_inject),
        &incident.updates(),
        metrics.t_resolve.unwrap_or(obs.t_end),
        targets.initial_notification.map(|d| d.as_secs_f64()),
        targets.update_cadence.map(|d| d.as_secs_f64()),
    );
    let runbook = adherence(&incident.runbook, obs.t_inject);
    let mut components = vec![
        detect_component(&run),
        ack_component(&run),
        mitigate_component(&run),
        roles_component(&run, &roles, deadline.is_some()),
        comms_component(&run, &comms),
        runbook_component(&run, &runbook),
    ];
    let composite = renormalise(&mut components);
    let flags = flags(&run, &roles, &comms, &runbook);
    let (passed, reason) = verdict(composite, targets.pass_mark, &flags);
    Scored {
        detection,
        noise: group_noise(&obs.noise),
        scorecard: Scorecard {
            severity: targets.severity.clone(),
            components,
            composite,
            pass_mark: targets.pass_mark,
            passed,
            reason,
            metrics,
            flags,
            roles,
            comms,
            runbook,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::incident::{Action, EventSource, ResponderEvent};
    use crate::scenario::{Duration, Roles, Runbook, RunbookStep};
    use crate::score::AlertObservation;
    use jiff::Timestamp;
    use std::collections::BTreeMap;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    fn ev(s: i64, who: &str, action: Action) -> ResponderEvent {
        ResponderEvent {
            at: t(s),
            person: who.into(),
            source: EventSource::Autopilot,
            action,
        }
    }

    fn alert(fire: Option<i64>) -> AlertObservation {
        let mut a =
            AlertObservation::expected("HighErrors", BTreeMap::new(), Duration::from_secs(90));
        a.t_active = fire.map(|f| t(f - 10));
        a.t_fire = fire.map(t);
        a.t_notify = fire.map(|f| t(f + 2));
        a.t_resolve = fire.map(|_| t(200));
        a
    }

    fn observed(fire: Option<i64>) -> Observed {
        Observed {
            t_inject: Some(t(0)),
            t_impact: Some(t(5)),
            t_mitigate: Some(t(100)),
            t_end: t(300),
            alerts: vec![alert(fire)],
            noise: vec![],
            unreadable: vec![],
            paging: vec![],
        }
    }

    fn good_drill() -> Incident {
        let resp = crate::scenario::Response {
            severity: Some("SEV2".into()),
            roles: Some(Roles {
                incident_commander: Some("ic-oncall".into()),
                communications: Some("comms-oncall".into()),
                operations: Some("ops-oncall".into()),
                sme: vec![],
            }),
            runbook: Some(Runbook {
                url: None,
                steps: vec![
                    RunbookStep {
                        id: "ack".into(),
                        title: None,
                        critical: false,
                        within: None,
                        verify: None,
                    },
                    RunbookStep {
                        id: "scale-up".into(),
                        title: None,
                        critical: true,
                        within: None,
                        verify: None,
                    },
                ],
            }),
            autopilot: vec![],
        };
        let mut d = Incident::new(Some(&resp), t(0));
        d.record(ev(40, "ops-oncall", Action::Ack));
        d.record(ev(41, "ops-oncall", Action::Step { step: "ack".into() }));
        d.record(ev(
            45,
            "ic-oncall",
            Action::Declare {
                severity: "SEV2".into(),
            },
        ));
        d.record(ev(
            50,
            "ops-oncall",
            Action::Step {
                step: "scale-up".into(),
            },
        ));
        d.record(ev(
            60,
            "comms-oncall",
            Action::Update {
                message: "degraded".into(),
            },
        ));
        d
    }

    fn sev2() -> Targets {
        let mut t = Targets::for_severity(&Config::default(), "SEV2");
        t.mitigate = Some(Duration::from_secs(180));
        t
    }

    #[test]
    fn resolving_before_the_sli_recovered_is_flagged_and_after_is_not() {
        let flagged = |resolve: i64| {
            let mut d = Incident::new(None, t(0));
            d.record(ev(resolve, "ic", Action::Resolve));
            let s = score(&sev2(), &observed(Some(30)), &d);
            s.scorecard
                .flags
                .iter()
                .find(|f| matches!(f, Flag::ResolvedBeforeMitigated { .. }))
                .cloned()
        };
        let f = flagged(20).expect("resolved at 20s, SLI back at 100s");
        assert_eq!(
            f,
            Flag::ResolvedBeforeMitigated {
                ttr_seconds: 20.0,
                ttm_seconds: 100.0
            }
        );
        assert!(f.message().contains("resolved before mitigated"));
        assert!(
            !f.fails_run(),
            "a finding for the postmortem, not a failed run"
        );
        assert_eq!(flagged(120), None);
    }

    #[test]
    fn a_good_run_passes_with_the_full_vector() {
        let s = score(&sev2(), &observed(Some(30)), &good_drill());
        let c = &s.scorecard;
        assert_eq!(c.components.len(), 6);
        for comp in &c.components {
            assert_eq!(comp.score, Some(1.0), "{comp:?}");
            assert!((comp.effective_weight - comp.weight).abs() < 1e-12);
        }
        assert!((c.composite.unwrap() - 1.0).abs() < 1e-12);
        assert!(c.passed, "{}", c.reason);
        assert!(c.reason.contains("≥ pass mark 0.70"), "{}", c.reason);
        assert_eq!(c.metrics.ttd_seconds, Some(30.0));
        assert_eq!(c.metrics.tta_seconds, Some(8.0));
        assert_eq!(c.metrics.ttm_seconds, Some(100.0));
        assert_eq!(c.metrics.ttr_seconds, Some(200.0));
        assert!(c.flags.is_empty(), "{:?}", c.flags);
    }

    #[test]
    fn an_alert_that_never_fires_fails_the_run() {
        let s = score(&sev2(), &observed(None), &good_drill());
        let c = &s.scorecard;
        assert_eq!(c.score_of(Component::Detect), Some(0.0));
        assert!(!c.passed);
        assert!(c.flags.contains(&Flag::DetectionFailure {
            alert: "HighErrors".into()
        }));
        assert!(c.reason.starts_with("detection failure"), "{}", c.reason);
        // Nobody was paged, so the scripted ack cannot count.
        assert_eq!(c.metrics.t_page, None);
        assert_eq!(c.score_of(Component::Ack), Some(0.0));
        assert!(c.composite.unwrap() < c.pass_mark, "{:?}", c.composite);
    }

    #[test]
    fn no_expected_alerts_renormalises_and_says_so() {
        let mut o = observed(None);
        o.alerts.clear();
        let s = score(&sev2(), &o, &good_drill());
        let d = s.scorecard.component(Component::Detect).unwrap();
        assert_eq!(d.score, None);
        assert_eq!(d.effective_weight, 0.0);
        assert!(d.note.contains("expects no alerts"), "{}", d.note);
        let total: f64 = s
            .scorecard
            .components
            .iter()
            .map(|c| c.effective_weight)
            .sum();
        assert!((total - 1.0).abs() < 1e-12);
        assert!((s.scorecard.composite.unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn sev1_without_ic_is_flagged() {
        let mut d = Incident::new(None, t(0));
        d.record(ev(
            10,
            "comms",
            Action::Assign {
                role: RoleName::Communications,
                person: "comms".into(),
            },
        ));
        let targets = Targets::for_severity(&Config::default(), "SEV1");
        let s = score(&targets, &observed(Some(30)), &d);
        assert_eq!(s.scorecard.score_of(Component::Roles), Some(0.5));
        assert!(s.scorecard.flags.contains(&Flag::MissingRole {
            role: RoleName::IncidentCommander,
            severity: "SEV1".into()
        }));
        let msg = Flag::MissingRole {
            role: RoleName::IncidentCommander,
            severity: "SEV1".into(),
        }
        .message();
        assert_eq!(msg, "SEV1 without an explicit incident commander in time");
    }

    #[test]
    fn one_person_in_every_role_is_flagged_without_a_name() {
        let mut d = Incident::new(None, t(0));
        for role in [RoleName::IncidentCommander, RoleName::Communications] {
            d.record(ev(
                10,
                "alice",
                Action::Assign {
                    role,
                    person: "alice".into(),
                },
            ));
        }
        let s = score(&sev2(), &observed(Some(30)), &d);
        let hero = s
            .scorecard
            .flags
            .iter()
            .find(|f| matches!(f, Flag::HeroDependent { .. }))
            .unwrap();
        assert!(!serde_json::to_string(hero).unwrap().contains("alice"));
        assert!(hero.message().contains("hero-dependent"));
    }

    #[test]
    fn a_missed_critical_step_fails_even_with_a_high_composite() {
        let mut d = good_drill();
        d.runbook.steps[1].claimed_at = None;
        let s = score(&sev2(), &observed(Some(30)), &d);
        let c = &s.scorecard;
        assert!(c.composite.unwrap() >= c.pass_mark);
        assert!(!c.passed);
        assert!(
            c.reason.contains("critical runbook step `scale-up`"),
            "{}",
            c.reason
        );
    }

    #[test]
    fn nothing_injected_scores_nothing() {
        let mut o = observed(None);
        o.t_inject = None;
        let s = score(&sev2(), &o, &Incident::default());
        assert_eq!(s.scorecard.composite, None);
        assert!(!s.scorecard.passed);
        assert!(s.scorecard.components.iter().all(|c| c.score.is_none()));
        assert!(s.scorecard.flags.is_empty());
    }

    #[test]
    fn no_severity_leaves_people_components_unscored() {
        let s = score(
            &Targets::none(0.7),
            &observed(Some(30)),
            &Incident::default(),
        );
        for c in [Component::Ack, Component::Roles, Component::Comms] {
            let comp = s.scorecard.component(c).unwrap();
            assert_eq!(comp.score, None, "{c:?}");
            assert!(comp.note.contains("no response.severity"), "{}", comp.note);
        }
        assert_eq!(s.scorecard.score_of(Component::Runbook), None);
    }

    #[test]
    fn noise_policy_fail_fails_the_run() {
        let mut o = observed(Some(30));
        o.noise.push(crate::score::NoiseAlert {
            name: "DiskFull".into(),
            labels: BTreeMap::new(),
            t_fire: Some(t(20)),
        });
        let mut tg = sev2();
        let gap = serde_json::to_value(Flag::CadenceGap {
            gap_seconds: 1.0,
            cadence_seconds: 2.0,
        })
        .unwrap();
        assert_eq!(gap["kind"], "cadenceGap");
        assert_eq!(gap["gapSeconds"], 1.0);
        let warn = score(&tg, &o, &good_drill());
        assert!(warn.scorecard.passed);
        assert!(matches!(warn.scorecard.flags[0], Flag::Noise { .. }));
        tg.noise = Noise::Fail;
        assert!(!score(&tg, &o, &good_drill()).scorecard.passed);
    }

    /// Prometheus down: no breach was seen, but no recovery either. That is
    /// unknown, not "nothing to mitigate".
    #[test]
    fn unreadable_probes_leave_mitigation_not_measured() {
        let mut o = observed(Some(30));
        o.t_impact = None;
        o.t_mitigate = None;
        o.unreadable = vec!["checkout-success".into()];
        let c = score(&sev2(), &o, &good_drill()).scorecard;
        let m = c.component(Component::Mitigate).unwrap();
        assert_eq!(m.score, None);
        assert_eq!(m.effective_weight, 0.0);
        assert_eq!(m.measured, "TTM not measured");
        assert!(
            m.note.starts_with("not measured: probe checkout-success"),
            "{}",
            m.note
        );
        assert!(c.flags.contains(&Flag::NotMeasured {
            component: Component::Mitigate,
            probes: vec!["checkout-success".into()],
        }));
        // Readable probes and no breach: still full marks.
        o.unreadable.clear();
        let c = score(&sev2(), &o, &good_drill()).scorecard;
        assert_eq!(c.score_of(Component::Mitigate), Some(1.0));
    }

    #[test]
    fn the_runbook_measurement_names_the_steps_not_done() {
        let mut d = good_drill();
        d.runbook.steps[0].claimed_at = None;
        let c = score(&sev2(), &observed(Some(30)), &d).scorecard;
        let r = c.component(Component::Runbook).unwrap();
        assert_eq!(r.measured, "1/2 steps done (not done: ack)");
    }

    /// Ack and mitigate at the curve's edges, through the whole scorer.
    #[test]
    fn ack_and_mitigate_edges() {
        // SEV2: ack target 15m from the page (webhook at T+32s); TTM target 180s.
        let cases = [
            (Some(32 + 900), Some(180), 1.0, 1.0),  // exactly on target
            (Some(32 + 2700), Some(540), 0.0, 0.0), // 3x target
            (Some(32 + 1800), Some(360), 0.5, 0.5), // 2x target: halfway
            (None, None, 0.0, 0.0),                 // never happened
        ];
        for (ack, mitigated, want_ack, want_mit) in cases {
            let mut d = Incident::new(None, t(0));
            if let Some(a) = ack {
                d.record(ev(a, "x", Action::Ack));
            }
            let mut o = observed(Some(30));
            o.t_mitigate = mitigated.map(t);
            let c = score(&sev2(), &o, &d).scorecard;
            assert_eq!(c.score_of(Component::Ack), Some(want_ack), "{ack:?}");
            assert_eq!(
                c.score_of(Component::Mitigate),
                Some(want_mit),
                "{mitigated:?}"
            );
        }
    }
}

//! Postmortem action items derived by rules from the run's findings, each
//! with an owner role (never a person) and a due date set by severity, so a
//! game day always ends with concrete follow-ups that history can track.

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan, tz::TimeZone};

use serde::{Deserialize, Serialize};

use super::model::{ActionItem, FaultRecord, OwnerRole, Priority};
use crate::incident::role_label;
use crate::scenario::RoleName;
use crate::score::{AlertDetection, Component, Flag, Observed, Scorecard, human_secs, secs};

/// Days to close an action item: SEV1 7, SEV2 14, anything else 30. A P1
/// item is never given more than 7 days.
pub fn due_days(severity: Option<&str>, priority: Priority) -> i64 {
    let base = match severity {
        Some("SEV1") => 7,
        Some("SEV2") => 14,
        _ => 30,
    };
    if priority == Priority::P1 {
        base.min(7)
    } else {
        base
    }
}

pub fn due_date(from: Timestamp, severity: Option<&str>, priority: Priority) -> Date {
    let date = from.to_zoned(TimeZone::UTC).date();
    date.checked_add(due_days(severity, priority).days())
        .unwrap_or(date)
}

/// Where most of a slow TTD went, as advice for the alert owner.
fn ttd_advice(a: &AlertDetection) -> &'static str {
    let p = &a.parts;
    let parts = [
        (
            p.rule_latency_seconds.unwrap_or(0.0),
            "the rule's expression was slow to turn true (shorten the rate window or lower the threshold)",
        ),
        (
            p.for_hold_seconds.unwrap_or(0.0),
            "most of it was the `for:` hold (shorten it)",
        ),
        (
            p.pipeline_seconds.unwrap_or(0.0),
            "most of it was Alertmanager's pipeline (check group_wait and the receiver)",
        ),
    ];
    parts
        .iter()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|p| p.1)
        .unwrap_or("")
}

/// Where an action item came from. With the scenario and the item's
/// subject it is the stable key that merges the same follow-up across runs
/// in the history (`gameday actions`), whatever the title's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionRule {
    FixDetection,
    TuneAlert,
    AddRunbookUrl,
    FixCriticalStep,
    FixStepVerify,
    NameRole,
    SpreadRoles,
    ReduceNoise,
    FixComms,
    ReviewPaging,
    ShortenMitigation,
    FixRevert,
}

impl ActionRule {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionRule::FixDetection => "fix-detection",
            ActionRule::TuneAlert => "tune-alert",
            ActionRule::AddRunbookUrl => "add-runbook-url",
            ActionRule::FixCriticalStep => "fix-critical-step",
            ActionRule::FixStepVerify => "fix-step-verify",
            ActionRule::NameRole => "name-role",
            ActionRule::SpreadRoles => "spread-roles",
            ActionRule::ReduceNoise => "reduce-noise",
            ActionRule::FixComms => "fix-comms",
            ActionRule::ReviewPaging => "review-paging",
            ActionRule::ShortenMitigation => "shorten-mitigation",
            ActionRule::FixRevert => "fix-revert",
        }
    }
}

/// Collects the items of one run with their due dates.
struct Items {
    severity: Option<String>,
    from: Timestamp,
    items: Vec<ActionItem>,
}

impl Items {
    fn add(
        &mut self,
        (rule, subject): (ActionRule, &str),
        title: String,
        owner_role: OwnerRole,
        priority: Priority,
        reason: String,
    ) {
        self.items.push(ActionItem {
            title,
            owner_role,
            due: due_date(self.from, self.severity.as_deref(), priority),
            priority,
            reason,
            rule,
            subject: subject.to_string(),
        });
    }
}

/// The action items of a run, from what it actually tested: nothing from a
/// run that injected nothing (not-run, refused, halted, unreachable, aborted
/// before injection), no "must fire" for an alert whose detection window a
/// `cut_short` (aborted) run never reached, and nothing about a component
/// that was not scored.
pub fn derive(
    card: &Scorecard,
    detection: &[AlertDetection],
    faults: &[FaultRecord],
    (observed, cut_short): (&Observed, bool),
    from: Timestamp,
) -> Vec<ActionItem> {
    let mut items = Items {
        severity: card.severity.clone(),
        from,
        items: Vec::new(),
    };
    if let Some(t_inject) = observed.t_inject {
        let observed_for = if cut_short {
            secs(t_inject, observed.t_end)
        } else {
            f64::INFINITY
        };
        detection_items(&mut items, detection, observed_for);
        flag_items(&mut items, card);
        response_items(&mut items, card);
    }
    revert_items(&mut items, faults);
    let mut items = items.items;
    items.sort_by_key(|i| i.priority);
    items
}

/// `observed_for`: seconds an aborted run watched after the injection
/// (infinite for a run that ran its course). An alert that was not due yet
/// when the run was stopped was not tested.
fn detection_items(items: &mut Items, detection: &[AlertDetection], observed_for: f64) {
    for a in detection {
        let due = a.target_seconds.is_none_or(|t| observed_for >= t);
        if !a.fired && due {
            let why = if a.rule_found {
                "the rule exists but the alert never fired during the run".to_string()
            } else {
                format!("no alert rule named {} was found in Prometheus", a.name)
            };
            items.add(
                (ActionRule::FixDetection, &a.name),
                format!("Fix detection: alert {} must fire for this failure", a.name),
                OwnerRole::AlertOwner,
                Priority::P1,
                format!("detection failure: {why}"),
            );
        } else if a.over_target() {
            items.add(
                (ActionRule::TuneAlert, &a.name),
                format!("Tune alert {} to fire sooner", a.name),
                OwnerRole::AlertOwner,
                Priority::P2,
                format!(
                    "TTD {} over target {}: {}",
                    a.ttd_seconds.map(human_secs).unwrap_or_default(),
                    a.target_seconds.map(human_secs).unwrap_or_default(),
                    ttd_advice(a)
                ),
            );
        }
        if a.rule_found && a.runbook_url.as_deref().is_none_or(|u| u.trim().is_empty()) {
            items.add(
                (ActionRule::AddRunbookUrl, &a.name),
                format!("Add a runbook_url annotation to alert {}", a.name),
                OwnerRole::RunbookOwner,
                Priority::P3,
                "the alert has no runbook_url, so the page does not say what to do".into(),
            );
        }
    }
}

fn flag_items(items: &mut Items, card: &Scorecard) {
    for f in &card.flags {
        match f {
            Flag::CriticalStepMissed { step } => items.add(
                (ActionRule::FixCriticalStep, step),
                format!("Fix the runbook: critical step `{step}` was not done"),
                OwnerRole::RunbookOwner,
                Priority::P2,
                "a critical step was skipped or never verified; make it clearer or automate it"
                    .into(),
            ),
            Flag::StepUnverified { step } => items.add(
                (ActionRule::FixStepVerify, step),
                format!("Fix runbook step `{step}`: it did not have the intended effect"),
                OwnerRole::RunbookOwner,
                Priority::P2,
                "the step was claimed but its verify probe never held".into(),
            ),
            Flag::MissingRole { role, severity } => items.add(
                (ActionRule::NameRole, role_label(*role)),
                format!("Name the {} early: rotation or training", role_label(*role)),
                OwnerRole::RotationLead,
                Priority::P2,
                format!(
                    "{severity} ran without an explicit {} in time",
                    role_label(*role)
                ),
            ),
            Flag::HeroDependent { .. } => items.add(
                (ActionRule::SpreadRoles, ""),
                "Spread incident roles across people: rotation or training".into(),
                OwnerRole::RotationLead,
                Priority::P2,
                "hero-dependent response: one person held every role".into(),
            ),
            Flag::Noise { alerts } | Flag::NoiseFailure { alerts } => items.add(
                (ActionRule::ReduceNoise, ""),
                "Reduce alert noise during this failure".into(),
                OwnerRole::AlertOwner,
                Priority::P3,
                format!("unexpected alerts fired: {}", alerts.join(", ")),
            ),
            Flag::PageUnacknowledged { source } => items.add(
                (ActionRule::ReviewPaging, source),
                format!("Find out why nobody acknowledged the {source} page"),
                OwnerRole::RotationLead,
                Priority::P1,
                format!("the page went out through {source} and nobody acknowledged it there: check the escalation policy, the schedule and the notification rules"),
            ),
            Flag::DetectionFailure { .. }
            | Flag::Escalated { .. }
            | Flag::CadenceGap { .. }
            | Flag::NotMeasured { .. }
            | Flag::ResolvedBeforeMitigated { .. } => {}
        }
    }
}

/// Comms, paging and mitigation: only for components that were scored.
fn response_items(items: &mut Items, card: &Scorecard) {
    let gaps: Vec<&Flag> = card
        .flags
        .iter()
        .filter(|f| matches!(f, Flag::CadenceGap { .. }))
        .collect();
    let first_late = matches!(
        (card.comms.first_update_seconds, card.comms.initial_target_seconds),
        (Some(m), Some(t)) if m > t
    ) || (card.comms.updates == 0 && card.score_of(Component::Comms).is_some());
    if !gaps.is_empty() || first_late {
        let mut why: Vec<String> = gaps.iter().map(|g| g.message()).collect();
        if first_late {
            why.insert(0, "the first status update was late or missing".into());
        }
        items.add(
            (ActionRule::FixComms, ""),
            "Fix the comms template and cadence reminders".into(),
            OwnerRole::Incident(RoleName::Communications),
            Priority::P3,
            why.join("; "),
        );
    }
    // Nobody paged means the alert did not fire: the detection item covers
    // it, and a paging item on top would blame the rotation for it.
    let paged = card.metrics.t_page.is_some();
    let unacked_page = card
        .flags
        .iter()
        .any(|f| matches!(f, Flag::PageUnacknowledged { .. }));
    if paged && !unacked_page && card.score_of(Component::Ack).is_some_and(|s| s < 1.0) {
        items.add(
            (ActionRule::ReviewPaging, ""),
            "Review paging and acknowledgement".into(),
            OwnerRole::RotationLead,
            Priority::P2,
            match card.metrics.tta_seconds {
                Some(t) => format!("acknowledged after {}, over the target", human_secs(t)),
                None => "the page was never acknowledged".into(),
            },
        );
    }
    if card.score_of(Component::Mitigate).is_some_and(|s| s < 1.0) {
        items.add(
            (ActionRule::ShortenMitigation, ""),
            "Shorten mitigation: automate or pre-approve the mitigating step".into(),
            OwnerRole::Incident(RoleName::Operations),
            Priority::P2,
            match card.metrics.ttm_seconds {
                Some(t) => format!("mitigated after {}, over the target", human_secs(t)),
                None => "the SLIs never came back within their SLOs during the run".into(),
            },
        );
    }
}

fn revert_items(items: &mut Items, faults: &[FaultRecord]) {
    for f in faults {
        let Some(error) = &f.revert_error else {
            continue;
        };
        items.add(
            (ActionRule::FixRevert, &f.name),
            format!("Make fault {} revert reliably", f.name),
            OwnerRole::Incident(RoleName::Operations),
            Priority::P1,
            format!("the revert failed: {error}"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::incident::Incident;
    use crate::scenario::Duration;
    use crate::score::{AlertObservation, Observed, Targets, score};
    use std::collections::BTreeMap;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    fn run(alert: AlertObservation, severity: &str) -> Vec<ActionItem> {
        let obs = Observed {
            t_inject: Some(t(0)),
            t_impact: None,
            t_mitigate: None,
            t_end: t(600),
            alerts: vec![alert],
            noise: vec![],
            unreadable: vec![],
            paging: vec![],
        };
        let mut targets = Targets::for_severity(&Config::default(), severity);
        targets.mitigate = Some(Duration::from_secs(120));
        let s = score(&targets, &obs, &Incident::new(None, t(0)));
        derive(&s.scorecard, &s.detection, &[], (&obs, false), t(600))
    }

    #[test]
    fn never_fired_is_a_p1_detection_item() {
        let a = AlertObservation::expected("HighErrors", BTreeMap::new(), Duration::from_secs(90));
        let items = run(a, "SEV2");
        let first = &items[0];
        assert_eq!(first.priority, Priority::P1);
        assert!(first.title.contains("Fix detection"), "{}", first.title);
        assert!(first.reason.contains("no alert rule named HighErrors"));
        assert_eq!(first.owner_role, OwnerRole::AlertOwner);
        // P1 at SEV2: capped to 7 days.
        assert_eq!(first.due, "2023-11-21".parse::<Date>().unwrap());
        // Missing IC and comms lead: rotation or training.
        assert!(
            items
                .iter()
                .filter(|i| i.owner_role == OwnerRole::RotationLead)
                .any(|i| i.title.contains("incident commander"))
        );
    }

    #[test]
    fn slow_alert_without_runbook_url() {
        let mut a =
            AlertObservation::expected("HighErrors", BTreeMap::new(), Duration::from_secs(60));
        a.rule_found = true;
        a.t_active = Some(t(10));
        a.t_fire = Some(t(150));
        let items = run(a, "SEV1");
        let tune = items
            .iter()
            .find(|i| i.title.starts_with("Tune alert"))
            .unwrap();
        assert!(tune.reason.contains("`for:` hold"), "{}", tune.reason);
        assert_eq!(tune.due, "2023-11-21".parse::<Date>().unwrap());
        assert!(items.iter().any(|i| i.title.contains("runbook_url")));
    }

    #[test]
    fn due_days_by_severity() {
        assert_eq!(due_days(Some("SEV1"), Priority::P2), 7);
        assert_eq!(due_days(Some("SEV2"), Priority::P3), 14);
        assert_eq!(due_days(Some("SEV3"), Priority::P2), 30);
        assert_eq!(due_days(None, Priority::P1), 7);
    }
}

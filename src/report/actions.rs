//! Postmortem action items derived by rules from the run's findings, each
//! with an owner role (never a person) and a due date set by severity, so a
//! game day always ends with concrete follow-ups that history can track.

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan, tz::TimeZone};

use super::model::{ActionItem, FaultRecord, OwnerRole, Priority};
use crate::drill::role_label;
use crate::scenario::RoleName;
use crate::score::{AlertDetection, Component, Flag, Scorecard, human_secs};

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

pub fn derive(
    card: &Scorecard,
    detection: &[AlertDetection],
    faults: &[FaultRecord],
    from: Timestamp,
) -> Vec<ActionItem> {
    let sev = card.severity.as_deref();
    let mut items = Vec::new();
    let mut add = |title: String, owner: OwnerRole, priority: Priority, reason: String| {
        items.push(ActionItem {
            title,
            owner_role: owner,
            due: due_date(from, sev, priority),
            priority,
            reason,
        })
    };

    for a in detection {
        if !a.fired {
            let why = if a.rule_found {
                "the rule exists but the alert never fired during the run".to_string()
            } else {
                format!("no alert rule named {} was found in Prometheus", a.name)
            };
            add(
                format!("Fix detection: alert {} must fire for this failure", a.name),
                OwnerRole::AlertOwner,
                Priority::P1,
                format!("detection failure: {why}"),
            );
        } else if a.over_target() {
            add(
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
            add(
                format!("Add a runbook_url annotation to alert {}", a.name),
                OwnerRole::RunbookOwner,
                Priority::P3,
                "the alert has no runbook_url, so the page does not say what to do".into(),
            );
        }
    }
    for f in &card.flags {
        match f {
            Flag::CriticalStepMissed { step } => add(
                format!("Fix the runbook: critical step `{step}` was not done"),
                OwnerRole::RunbookOwner,
                Priority::P2,
                "a critical step was skipped or never verified; make it clearer or automate it"
                    .into(),
            ),
            Flag::StepUnverified { step } => add(
                format!("Fix runbook step `{step}`: it did not have the intended effect"),
                OwnerRole::RunbookOwner,
                Priority::P2,
                "the step was claimed but its verify probe never held".into(),
            ),
            Flag::MissingRole { role, severity } => add(
                format!("Name the {} early: rotation or training", role_label(*role)),
                OwnerRole::RotationLead,
                Priority::P2,
                format!(
                    "{severity} ran without an explicit {} in time",
                    role_label(*role)
                ),
            ),
            Flag::HeroDependent { .. } => add(
                "Spread incident roles across people: rotation or training".into(),
                OwnerRole::RotationLead,
                Priority::P2,
                "hero-dependent response: one person held every role".into(),
            ),
            Flag::Noise { alerts } | Flag::NoiseFailure { alerts } => add(
                "Reduce alert noise during this failure".into(),
                OwnerRole::AlertOwner,
                Priority::P3,
                format!("unexpected alerts fired: {}", alerts.join(", ")),
            ),
            Flag::DetectionFailure { .. } | Flag::CadenceGap { .. } => {}
        }
    }
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
        add(
            "Fix the comms template and cadence reminders".into(),
            OwnerRole::Incident(RoleName::Communications),
            Priority::P3,
            why.join("; "),
        );
    }
    if card.score_of(Component::Ack).is_some_and(|s| s < 1.0) {
        add(
            "Review paging and acknowledgement".into(),
            OwnerRole::RotationLead,
            Priority::P2,
            match (card.metrics.tta_seconds, card.metrics.t_page) {
                (Some(t), _) => format!("acknowledged after {}, over the target", human_secs(t)),
                (None, None) => {
                    "nobody was paged (no expected alert fired), so nothing could be acknowledged"
                        .into()
                }
                (None, Some(_)) => "the page was never acknowledged".into(),
            },
        );
    }
    if card.score_of(Component::Mitigate).is_some_and(|s| s < 1.0) {
        add(
            "Shorten mitigation: automate or pre-approve the mitigating step".into(),
            OwnerRole::Incident(RoleName::Operations),
            Priority::P2,
            match card.metrics.ttm_seconds {
                Some(t) => format!("mitigated after {}, over the target", human_secs(t)),
                None => "the SLIs never came back within their SLOs during the run".into(),
            },
        );
    }
    for f in faults.iter().filter(|f| f.revert_error.is_some()) {
        add(
            format!("Make fault {} revert reliably", f.name),
            OwnerRole::Incident(RoleName::Operations),
            Priority::P1,
            format!(
                "the revert failed: {}",
                f.revert_error.as_deref().unwrap_or_default()
            ),
        );
    }
    items.sort_by_key(|i| i.priority);
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::drill::Drill;
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
        };
        let mut targets = Targets::for_severity(&Config::default(), severity);
        targets.mitigate = Some(Duration::from_secs(120));
        let s = score(&targets, &obs, &Drill::new(None, t(0)));
        derive(&s.scorecard, &s.detection, &[], t(600))
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

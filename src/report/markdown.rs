//! report.md: the scorecard, the detection breakdown, the timeline, and a
//! blameless postmortem draft with the filled communication templates.
//! People are named only in the postmortem's roles table.

use std::fmt::Write;

use jiff::Timestamp;

use super::blameless::{Blameless, scrub};
use super::model::{Phase, RunReport};
use super::{templates, timeline};
use crate::incident::role_label;
use crate::score::{Component, human_secs};

/// Section headings of the postmortem draft, in order; tests and the HTML
/// report rely on them.
pub const POSTMORTEM_SECTIONS: [&str; 7] = [
    "Summary",
    "Roles",
    "Blameless timeline",
    "Contributing factors",
    "What went well",
    "What went poorly",
    "Action items",
];

pub const TEMPLATE_SECTIONS: [&str; 4] = [
    "Initial notification",
    "Status update",
    "Resolution",
    "Postmortem invite",
];

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn secs(v: Option<f64>) -> String {
    v.map(human_secs).unwrap_or_else(|| "-".into())
}

fn ts(t: Option<Timestamp>) -> String {
    t.map(|t| t.strftime("%H:%M:%S").to_string())
        .unwrap_or_else(|| "-".into())
}

pub fn render(r: &RunReport) -> String {
    let mut s = String::new();
    header(&mut s, r);
    scorecard(&mut s, r);
    detection(&mut s, r);
    s.push_str(&super::paging::markdown(r));
    faults_and_probes(&mut s, r);
    full_timeline(&mut s, r);
    s.push_str(&super::exercise::markdown(r));
    postmortem(&mut s, r);
    s
}

fn header(s: &mut String, r: &RunReport) {
    let _ = writeln!(
        s,
        "# Game day report: {} — {}\n",
        r.scenario.name,
        r.status.as_str().to_uppercase()
    );
    let _ = writeln!(s, "> **Hypothesis:** {}\n", r.scenario.hypothesis);
    let _ = writeln!(
        s,
        "Run `{}` · started {} · ended {} · severity {} · exit code {}\n",
        r.run_id,
        r.started,
        r.ended
            .map(|t| t.to_string())
            .unwrap_or_else(|| "(incomplete)".into()),
        r.scorecard.severity.as_deref().unwrap_or("none"),
        r.exit_code
    );
    if let Some(reason) = &r.status_reason {
        let _ = writeln!(s, "Status: {}\n", scrub(r, reason));
    }
}

fn scorecard(s: &mut String, r: &RunReport) {
    let c = &r.scorecard;
    let _ = writeln!(s, "## Scorecard\n");
    let _ = writeln!(
        s,
        "| component | score | weight (effective) | measured | target | note |"
    );
    let _ = writeln!(s, "|---|---:|---:|---|---|---|");
    for comp in &c.components {
        let _ = writeln!(
            s,
            "| {} | {} | {:.2} ({:.2}) | {} | {} | {} |",
            comp.component.name(),
            comp.score
                .map(|v| format!("{v:.2}"))
                .unwrap_or_else(|| "n/a".into()),
            comp.weight,
            comp.effective_weight,
            cell(&comp.measured),
            cell(&comp.target),
            cell(&comp.note)
        );
    }
    let _ = writeln!(
        s,
        "\n**Composite: {}** (pass mark {:.2}) — **{}**: {}\n",
        c.composite
            .map(|v| format!("{v:.2}"))
            .unwrap_or_else(|| "n/a".into()),
        c.pass_mark,
        if c.passed { "PASS" } else { "FAIL" },
        c.reason
    );
    let m = &c.metrics;
    let _ = writeln!(
        s,
        "TTD {} · TTA {} · TTM {} · TTR {}\n",
        secs(m.ttd_seconds),
        secs(m.tta_seconds),
        secs(m.ttm_seconds),
        secs(m.ttr_seconds)
    );
    let skipped: Vec<&str> = c
        .components
        .iter()
        .filter(|x| x.score.is_none())
        .map(|x| x.component.name())
        .collect();
    if !skipped.is_empty() && c.composite.is_some() {
        let _ = writeln!(
            s,
            "Not scored: {}. The composite is renormalised over the other components.\n",
            skipped.join(", ")
        );
    }
    if !c.flags.is_empty() {
        let _ = writeln!(s, "Findings:\n");
        for f in &c.flags {
            let mark = if f.fails_run() { "❌" } else { "⚠️" };
            let _ = writeln!(s, "- {mark} {}", f.message());
        }
        let _ = writeln!(s);
    }
}

fn detection(s: &mut String, r: &RunReport) {
    let _ = writeln!(s, "## Detection\n");
    if r.detection.is_empty() {
        let _ = writeln!(
            s,
            "The scenario expects no alerts, so detection is not scored.\n"
        );
    } else {
        let _ = writeln!(
            s,
            "| alert | fired | TTD | target | rule latency | `for:` hold | pipeline | resolved |"
        );
        let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---|");
        for a in &r.detection {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                cell(&a.name),
                if a.fired { "yes" } else { "**no**" },
                secs(a.ttd_seconds),
                secs(a.target_seconds),
                secs(a.parts.rule_latency_seconds),
                secs(a.parts.for_hold_seconds),
                secs(a.parts.pipeline_seconds),
                ts(a.t_resolve)
            );
        }
        let _ = writeln!(s);
    }
    if !r.noise.is_empty() {
        let names: Vec<String> = r
            .noise
            .iter()
            .map(|n| format!("{}, first at {}", n.describe(), ts(n.t_fire)))
            .collect();
        let _ = writeln!(s, "Other alerts that fired:\n");
        for n in names {
            let _ = writeln!(s, "- {n}");
        }
        let _ = writeln!(s);
    }
}

fn faults_and_probes(s: &mut String, r: &RunReport) {
    let _ = writeln!(s, "## Faults\n");
    if r.faults.is_empty() {
        let _ = writeln!(s, "No fault was injected.\n");
    } else {
        let _ = writeln!(s, "| fault | targets | injected | reverted |");
        let _ = writeln!(s, "|---|---|---|---|");
        for f in &r.faults {
            let reverted = match &f.revert_error {
                Some(e) => format!("**failed**: {}", cell(e)),
                None => ts(f.reverted_at),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                cell(&f.name),
                cell(&f.targets.join(", ")),
                ts(f.injected_at),
                reverted
            );
        }
        let _ = writeln!(s);
    }
    if !r.probes.is_empty() {
        let _ = writeln!(s, "## Steady state\n");
        let _ = writeln!(s, "| probe | expect | before | during | recover |");
        let _ = writeln!(s, "|---|---|---|---|---|");
        let held = |v: Option<bool>| match v {
            Some(true) => "held",
            Some(false) => "**breached**",
            None => "-",
        };
        // Recovery readings fail until the SLI is back: judge by the last.
        let recovered = |v: Option<bool>| match v {
            Some(true) => "recovered",
            Some(false) => "**not recovered**",
            None => "-",
        };
        for p in &r.probes {
            let _ = writeln!(
                s,
                "| {} | `{}` | {} | {} | {} |",
                cell(&p.name),
                cell(&p.expect),
                held(p.phase_held(Phase::Before)),
                held(p.phase_held(Phase::During)),
                recovered(p.recovered())
            );
        }
        let _ = writeln!(s);
    }
}

fn full_timeline(s: &mut String, r: &RunReport) {
    let _ = writeln!(s, "## Timeline\n");
    let _ = writeln!(s, "| time (UTC) | offset | event |");
    let _ = writeln!(s, "|---|---|---|");
    for e in timeline::entries(r) {
        let _ = writeln!(
            s,
            "| {} | {} | {} |",
            ts(Some(e.at)),
            timeline::offset(r, e.at),
            cell(&e.text)
        );
    }
    let _ = writeln!(s);
}

fn postmortem(s: &mut String, r: &RunReport) {
    let _ = writeln!(s, "# Postmortem draft (blameless)\n");
    let _ = writeln!(
        s,
        "_Drafted by gameday from the run. It describes the system and the process, not individuals; edit freely._\n"
    );
    summary(s, r);
    roles_table(s, r);
    let _ = writeln!(s, "## Blameless timeline\n");
    for e in timeline::entries(r).into_iter().filter(|e| e.key) {
        let _ = writeln!(s, "- **{}** {}", timeline::offset(r, e.at), e.text);
    }
    let _ = writeln!(s);
    list(
        s,
        "Contributing factors",
        &contributing_factors(r),
        "No contributing factor was found by the rules; add the team's own.",
    );
    let (well, poorly) = well_and_poorly(r);
    list(s, "What went well", &well, "Nothing scored full marks.");
    list(s, "What went poorly", &poorly, "Nothing, by the numbers.");
    let _ = writeln!(s, "## Action items\n");
    let blameless = Blameless::new(r);
    if r.action_items.is_empty() {
        let _ = writeln!(s, "None derived from this run.\n");
    } else {
        let _ = writeln!(s, "| priority | action | owner (role) | due | why |");
        let _ = writeln!(s, "|---|---|---|---|---|");
        for a in &r.action_items {
            let _ = writeln!(
                s,
                "| {:?} | {} | {} | {} | {} |",
                a.priority,
                cell(&a.title),
                a.owner_role.label(),
                a.due,
                cell(&blameless.scrub(&a.reason))
            );
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "## Communication templates\n");
    let bodies = [
        templates::initial_notification(r),
        templates::status_update(r),
        templates::resolution(r),
        templates::postmortem_invite(r),
    ];
    for (title, body) in TEMPLATE_SECTIONS.iter().zip(bodies) {
        let _ = writeln!(s, "### {title}\n\n{body}");
    }
}

fn summary(s: &mut String, r: &RunReport) {
    let c = &r.scorecard;
    let _ = writeln!(s, "## Summary\n");
    let faults: Vec<&str> = r.faults.iter().map(|f| f.name.as_str()).collect();
    let mut text = format!(
        "Game day `{}` tested the hypothesis \"{}\". ",
        r.scenario.name, r.scenario.hypothesis
    );
    if faults.is_empty() {
        text.push_str("No fault was injected. ");
    } else {
        let _ = write!(text, "Injected: {}. ", faults.join(", "));
    }
    let fired = r.detection.iter().filter(|a| a.fired).count();
    if !r.detection.is_empty() {
        let _ = write!(
            text,
            "{fired} of {} expected alert(s) fired (TTD {}). ",
            r.detection.len(),
            secs(c.metrics.ttd_seconds)
        );
    }
    let mitigated = if c.flags.iter().any(|f| {
        matches!(
            f,
            crate::score::Flag::NotMeasured {
                component: Component::Mitigate,
                ..
            }
        )
    }) {
        "mitigation not measured".to_string()
    } else {
        format!("mitigated after {}", secs(c.metrics.ttm_seconds))
    };
    let _ = write!(
        text,
        "Acknowledged after {}, {mitigated}. The run {} with a composite score of {} ({}).",
        secs(c.metrics.tta_seconds),
        r.status.as_str(),
        c.composite
            .map(|v| format!("{v:.2}"))
            .unwrap_or_else(|| "n/a".into()),
        c.reason
    );
    let _ = writeln!(s, "{}\n", scrub(r, &text));
}

fn roles_table(s: &mut String, r: &RunReport) {
    let _ = writeln!(s, "## Roles\n");
    if r.roles.is_empty() {
        let _ = writeln!(s, "No role was assigned.\n");
        return;
    }
    let _ = writeln!(s, "| role | held by | since |");
    let _ = writeln!(s, "|---|---|---|");
    for a in &r.roles {
        let _ = writeln!(
            s,
            "| {} | {} | {} |",
            role_label(a.role),
            cell(&a.person),
            timeline::offset(r, a.at)
        );
    }
    let _ = writeln!(s);
}

fn list(s: &mut String, title: &str, items: &[String], empty: &str) {
    let _ = writeln!(s, "## {title}\n");
    if items.is_empty() {
        let _ = writeln!(s, "- {empty}");
    }
    for i in items {
        let _ = writeln!(s, "- {i}");
    }
    let _ = writeln!(s);
}

fn contributing_factors(r: &RunReport) -> Vec<String> {
    let mut v = Vec::new();
    for a in &r.detection {
        if !a.fired {
            v.push(if a.rule_found {
                format!("Alert {} exists but did not fire for this failure.", a.name)
            } else {
                format!(
                    "No alert rule {} was found, so this failure pages nobody.",
                    a.name
                )
            });
        } else if a.over_target() {
            v.push(format!(
                "Alert {} took {} to fire against a target of {} (rule latency {}, `for:` hold {}).",
                a.name,
                secs(a.ttd_seconds),
                secs(a.target_seconds),
                secs(a.parts.rule_latency_seconds),
                secs(a.parts.for_hold_seconds)
            ));
        }
    }
    for p in &r.probes {
        if p.phase_held(Phase::During) == Some(false) {
            v.push(format!(
                "SLI {} left its guardrail while the faults were active.",
                p.name
            ));
        }
        if p.recovered() == Some(false) {
            v.push(format!(
                "SLI {} did not recover within the recovery window.",
                p.name
            ));
        }
    }
    for f in &r.scorecard.flags {
        if !matches!(f, crate::score::Flag::DetectionFailure { .. }) {
            v.push(format!("{}.", capital(&f.message())));
        }
    }
    for f in r.faults.iter().filter(|f| f.revert_error.is_some()) {
        v.push(format!("The revert of fault {} failed.", f.name));
    }
    v
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn well_and_poorly(r: &RunReport) -> (Vec<String>, Vec<String>) {
    let (mut well, mut poorly) = (Vec::new(), Vec::new());
    for c in &r.scorecard.components {
        let Some(score) = c.score else { continue };
        let what = match c.component {
            Component::Detect => "Detection",
            Component::Ack => "Acknowledgement",
            Component::Mitigate => "Mitigation",
            Component::Roles => "Role coverage",
            Component::Comms => "Status updates",
            Component::Runbook => "Runbook adherence",
        };
        let line = format!(
            "{what}: {} (target {}), score {score:.2}{}",
            c.measured,
            c.target,
            if c.note.is_empty() {
                String::new()
            } else {
                format!(" — {}", c.note)
            }
        );
        if score >= 0.9 {
            well.push(line);
        } else {
            poorly.push(line);
        }
    }
    use crate::score::Flag;
    for f in &r.scorecard.flags {
        if matches!(
            f,
            Flag::Noise { .. }
                | Flag::NoiseFailure { .. }
                | Flag::HeroDependent { .. }
                | Flag::CadenceGap { .. }
                | Flag::StepUnverified { .. }
                | Flag::NotMeasured { .. }
                | Flag::ResolvedBeforeMitigated { .. }
        ) {
            poorly.push(capital(&f.message()));
        }
    }
    for p in &r.probes {
        if p.phase_held(Phase::During) == Some(true) {
            well.push(format!(
                "SLI {} stayed within its guardrail throughout.",
                p.name
            ));
        }
    }
    (well, poorly)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::{PEOPLE, report};
    use crate::report::model::RunStatus;

    /// The text of the `## Roles` section (up to the next heading).
    fn split_roles(md: &str) -> (String, String) {
        let start = md.find("\n## Roles\n").expect("roles section");
        let rest = &md[start + 1..];
        let end = rest[3..].find("\n#").map(|i| i + 3).unwrap_or(rest.len());
        let roles = rest[..end].to_string();
        let outside = format!("{}{}", &md[..start + 1], &rest[end..]);
        (roles, outside)
    }

    #[test]
    fn draft_holds_every_section_in_order() {
        for good in [true, false] {
            let md = render(&report(good));
            let mut pos = md.find("# Postmortem draft").expect("draft heading");
            for sec in POSTMORTEM_SECTIONS {
                let at = md[pos..]
                    .find(&format!("\n## {sec}\n"))
                    .unwrap_or_else(|| panic!("section {sec} missing or out of order"));
                pos += at + 1;
            }
            for sec in TEMPLATE_SECTIONS {
                assert!(
                    md.contains(&format!("\n### {sec}\n")),
                    "template {sec} missing"
                );
            }
            for sec in ["## Scorecard", "## Detection", "## Timeline", "## Faults"] {
                assert!(md.contains(sec), "{sec} missing");
            }
        }
    }

    #[test]
    fn no_name_outside_the_roles_table() {
        for good in [true, false] {
            let r = report(good);
            let md = render(&r);
            let (roles, outside) = split_roles(&md);
            for p in PEOPLE {
                assert!(
                    !outside.contains(p),
                    "name {p} leaked outside the roles table:\n{outside}"
                );
            }
            // The table does name the role holders.
            assert!(roles.contains("bob-comms"), "{roles}");
            assert!(roles.contains("| operations lead | carol |"), "{roles}");
            // Free text keeps its meaning with roles in place of names.
            assert!(
                outside.contains("[operations lead] scaled it up"),
                "{outside}"
            );
            // Someone without a role (silence creator) reads as a responder.
            assert!(
                outside.contains("A responder (via an Alertmanager silence) acknowledged"),
                "{outside}"
            );
        }
    }

    #[test]
    fn good_run_report_reads_right() {
        let r = report(true);
        assert_eq!(r.status, RunStatus::Passed, "{}", r.scorecard.reason);
        let md = render(&r);
        assert!(md.contains("# Game day report: checkout-pod-loss — PASSED"));
        assert!(
            md.contains("| CheckoutHighErrorRate | yes | 6.0s | 1m30s | 2.0s | 2.0s | 1.0s |"),
            "{md}"
        );
        assert!(
            md.contains(
                "- KubePodNotReady (2 label sets: {pod=\"checkout-a\"}; {pod=\"checkout-b\"}), first at"
            ),
            "{md}"
        );
        let noise = &md[md.find("Other alerts that fired").unwrap()..];
        let noise = &noise[..noise.find("\n\n## ").unwrap_or(noise.len())];
        assert_eq!(
            noise.matches("KubePodNotReady").count(),
            1,
            "listed once: {noise}"
        );
        assert!(md.contains("\\| pipe"), "pipes in free text are escaped");
        assert!(md.contains("**Composite: 1.00**"), "{md}");
        assert!(md.contains("[GAME DAY DRILL] [SEV2] Investigating: checkout-pod-loss"));
        let poorly =
            &md[md.find("## What went poorly").unwrap()..md.find("## Action items").unwrap()];
        assert!(
            poorly.contains("Unexpected alerts fired: KubePodNotReady"),
            "{poorly}"
        );
    }

    #[test]
    fn failed_run_report_has_detection_failure_and_action_items() {
        let r = report(false);
        assert_eq!(r.status, RunStatus::Failed);
        assert_eq!(r.exit_code, 1);
        let md = render(&r);
        assert!(md.contains("| CheckoutHighErrorRate | **no** |"), "{md}");
        assert!(
            md.contains("❌ detection failure: expected alert CheckoutHighErrorRate never fired")
        );
        let (_, outside) = split_roles(&md);
        let items = &outside[outside.find("## Action items").unwrap()..];
        assert!(
            items.contains("| P1 | Fix detection: alert CheckoutHighErrorRate must fire"),
            "{items}"
        );
        assert!(items.contains("Fix the runbook: critical step `scale-up` was not done"));
        assert!(items.contains("Name the incident commander early: rotation or training"));
        assert!(items.contains("| on-call rotation lead |"));
        // SEV2: two weeks, P1 capped at one week, from the run's end date.
        assert!(items.contains("| alert owner | 2026-06-04 |"), "{items}");
        assert!(items.contains("| runbook owner | 2026-06-11 |"), "{items}");
        assert!(md.contains("SLI checkout-success left its guardrail"));
    }
}

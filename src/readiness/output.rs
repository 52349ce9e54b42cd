//! Rendering an audit: the terminal text (findings, a score per area, the
//! summary last, where a reader's eye lands), `-o json` (exactly the shape
//! issue 18 fixes), a markdown report a team keeps in its repository, and
//! JUnit with one testcase per check so CI lists each failed check.

use std::fmt::Write as _;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;

use super::checks::{CHECKS, MANUAL_CHECKS};
use super::tally::Audit;
use super::{Finding, Level};

fn percent(score: Option<f64>) -> String {
    score.map_or("n/a".into(), |s| format!("{:.0}%", s * 100.0))
}

fn location(f: &Finding) -> String {
    if f.line == 0 {
        f.file.clone()
    } else {
        format!("{}:{}", f.file, f.line)
    }
}

/// The terminal text.
pub fn text(audit: &Audit) -> String {
    let mut out = String::new();
    for f in audit.findings() {
        let _ = writeln!(
            out,
            "{}: {}[{}] {}\n    {}",
            location(f),
            f.severity.as_str(),
            f.check,
            f.subject,
            f.hint
        );
    }
    if !audit.findings().is_empty() {
        out.push('\n');
    }
    for c in audit.checks.iter().filter(|c| c.skipped.is_some()) {
        let _ = writeln!(out, "skipped {}: {}", c.id, c.skipped.unwrap_or_default());
    }
    let _ = writeln!(out, "manual (not checked): {}", MANUAL_CHECKS.join("; "));
    out.push('\n');
    for a in &audit.areas {
        let _ = writeln!(
            out,
            "  {:<12} {:>5}  {} finding(s)",
            a.area,
            percent(a.score),
            a.findings
        );
    }
    let (errors, warnings) = counts(audit);
    let _ = writeln!(
        out,
        "readiness {:.2}: {errors} error(s), {warnings} warning(s)",
        audit.score
    );
    out
}

fn counts(audit: &Audit) -> (usize, usize) {
    let all = audit.findings();
    let errors = all.iter().filter(|f| f.severity == Level::Error).count();
    (errors, all.len() - errors)
}

#[derive(Serialize)]
struct Json<'a> {
    score: f64,
    findings: Vec<&'a Finding>,
}

/// `{"score": 0..1, "findings": [{check, severity, subject, file, line, hint}]}`.
pub fn json(audit: &Audit) -> String {
    let body = Json {
        score: audit.score,
        findings: audit.findings(),
    };
    serde_json::to_string_pretty(&body).unwrap_or_default()
}

/// Escapes the characters that would break a markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The markdown report.
pub fn markdown(audit: &Audit) -> String {
    let mut out = String::from("# Readiness audit\n\n");
    let (errors, warnings) = counts(audit);
    let _ = writeln!(
        out,
        "Score **{:.2}**: {errors} error(s), {warnings} warning(s).\n",
        audit.score
    );
    out.push_str("| area | score | findings |\n|---|---|---|\n");
    for a in &audit.areas {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            a.area,
            percent(a.score),
            a.findings
        );
    }
    out.push_str("\n## Checks\n\n| check | area | result |\n|---|---|---|\n");
    for info in CHECKS {
        let run = audit.checks.iter().find(|c| c.id == info.id);
        let result = match run {
            Some(c) if c.skipped.is_some() => format!("skipped: {}", c.skipped.unwrap_or_default()),
            Some(c) if c.findings.is_empty() => format!("pass ({} checked)", c.checked),
            Some(c) => format!("{} of {} failed", c.findings.len(), c.checked),
            None => "not run".into(),
        };
        let _ = writeln!(
            out,
            "| `{}` {} | {} | {} |",
            info.id, info.title, info.area, result
        );
    }
    out.push_str("\n## Findings\n\n");
    if audit.findings().is_empty() {
        out.push_str("None.\n");
    } else {
        out.push_str("| where | check | severity | subject | fix |\n|---|---|---|---|---|\n");
        for f in audit.findings() {
            let _ = writeln!(
                out,
                "| `{}` | `{}` | {} | {} | {} |",
                location(f),
                f.check,
                f.severity.as_str(),
                cell(&f.subject),
                cell(&f.hint)
            );
        }
    }
    out.push_str(
        "\n## Manual checks\n\ngameday cannot check these from files; tick them by hand.\n\n",
    );
    for m in MANUAL_CHECKS {
        let _ = writeln!(out, "- [ ] {m}");
    }
    out
}

/// JUnit: one testsuite `readiness`, one testcase per check (skipped when
/// its input was not given), failing with every finding of the check.
pub fn junit(audit: &Audit) -> Result<String, quick_junit::SerializeError> {
    let mut suite = TestSuite::new("readiness");
    for c in &audit.checks {
        let status = if let Some(why) = c.skipped {
            let mut s = TestCaseStatus::skipped();
            s.set_message(why);
            s
        } else if c.findings.is_empty() {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let lines: Vec<String> = c
                .findings
                .iter()
                .map(|f| format!("{}: {}: {}", location(f), f.subject, f.hint))
                .collect();
            s.set_message(format!("{} of {} failed", c.findings.len(), c.checked));
            s.set_description(lines.join("\n"));
            s
        };
        let mut case = TestCase::new(c.id, status);
        case.set_classname("readiness");
        suite.add_test_case(case);
    }
    let mut report = Report::new("gameday-readiness");
    report.add_test_suite(suite);
    report.to_string()
}

//! Scoring an audit. A check scores the share of what it looked at that
//! passed (1 − failed/checked); an area (a line of the checklist) is the
//! mean of its checks that looked at something; the audit's score is the
//! mean of those areas, so a team with one service is not drowned by a
//! thousand alerts. Skipped checks (their input was not given) and checks
//! with nothing to look at do not count either way.

use serde::Serialize;

use super::Finding;
use super::checks::CHECKS;

/// What one check did.
#[derive(Debug, Clone)]
pub struct CheckRun {
    pub id: &'static str,
    /// How many subjects it looked at.
    pub checked: usize,
    pub findings: Vec<Finding>,
    /// Why it did not run (the input it needs was not given).
    pub skipped: Option<&'static str>,
}

impl CheckRun {
    pub fn ran(id: &'static str, checked: usize, findings: Vec<Finding>) -> CheckRun {
        CheckRun {
            id,
            checked,
            findings,
            skipped: None,
        }
    }

    pub fn skipped(id: &'static str, why: &'static str) -> CheckRun {
        CheckRun {
            id,
            checked: 0,
            findings: Vec::new(),
            skipped: Some(why),
        }
    }

    /// 1 − failed/checked; None when there was nothing to score.
    pub fn score(&self) -> Option<f64> {
        (self.skipped.is_none() && self.checked > 0).then(|| {
            let failed = self.findings.len().min(self.checked);
            1.0 - failed as f64 / self.checked as f64
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AreaScore {
    pub area: &'static str,
    /// None when no check of the area had anything to look at.
    pub score: Option<f64>,
    pub findings: usize,
}

/// A finished audit.
#[derive(Debug, Clone)]
pub struct Audit {
    pub checks: Vec<CheckRun>,
    pub areas: Vec<AreaScore>,
    pub score: f64,
}

impl Audit {
    pub fn new(checks: Vec<CheckRun>) -> Audit {
        let mut areas: Vec<AreaScore> = Vec::new();
        for info in CHECKS {
            if !areas.iter().any(|a| a.area == info.area) {
                areas.push(AreaScore {
                    area: info.area,
                    score: None,
                    findings: 0,
                });
            }
        }
        for area in &mut areas {
            let of_area: Vec<&CheckRun> = checks
                .iter()
                .filter(|c| CHECKS.iter().any(|i| i.id == c.id && i.area == area.area))
                .collect();
            let scores: Vec<f64> = of_area.iter().filter_map(|c| c.score()).collect();
            area.findings = of_area.iter().map(|c| c.findings.len()).sum();
            area.score =
                (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64);
        }
        let scored: Vec<f64> = areas.iter().filter_map(|a| a.score).collect();
        let mean = if scored.is_empty() {
            1.0
        } else {
            scored.iter().sum::<f64>() / scored.len() as f64
        };
        // Three decimals, as printed: `--fail-under` with the printed score
        // must pass ("0 at or above"), not fail on the digits not shown.
        let score = (mean * 1000.0).round() / 1000.0;
        Audit {
            checks,
            areas,
            score,
        }
    }

    /// Every finding, sorted by file, line and check.
    pub fn findings(&self) -> Vec<&Finding> {
        let mut all: Vec<&Finding> = self.checks.iter().flat_map(|c| &c.findings).collect();
        all.sort_by(|a, b| {
            (&a.file, a.line, a.check, &a.subject).cmp(&(&b.file, b.line, b.check, &b.subject))
        });
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_average_their_checks_and_skipped_checks_do_not_count() {
        let f = |id| Finding {
            check: id,
            severity: super::super::Level::Error,
            subject: "x".into(),
            file: "f".into(),
            line: 1,
            hint: String::new(),
        };
        let audit = Audit::new(vec![
            CheckRun::ran("runbook-missing", 4, vec![f("runbook-missing")]),
            CheckRun::ran("runbook-unresolved", 3, vec![]),
            CheckRun::ran(
                "severity-unknown",
                2,
                vec![f("severity-unknown"), f("severity-unknown")],
            ),
            CheckRun::skipped("route-no-pager", "no config"),
        ]);
        let area = |name| audit.areas.iter().find(|a| a.area == name).unwrap().score;
        assert_eq!(area("runbooks"), Some(0.875));
        assert_eq!(area("severities"), Some(0.0));
        assert_eq!(area("routing"), None);
        assert_eq!(audit.score, 0.438);
    }
}

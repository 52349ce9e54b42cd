//! Runbook progress: when each step was claimed, and (for steps with a
//! `verify` probe) when the probe proved it. A claim alone does not make a
//! verified step done: the point of a drill is to learn whether it worked.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::scenario::{Duration, Runbook};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepProgress {
    pub id: String,
    pub title: Option<String>,
    pub critical: bool,
    /// Target time from injection, if the scenario sets one.
    pub within: Option<Duration>,
    /// The step has a `verify` probe.
    pub has_verify: bool,
    pub claimed_at: Option<Timestamp>,
    pub claimed_by: Option<String>,
    pub verified_at: Option<Timestamp>,
}

impl StepProgress {
    /// When the step counts as done: verified steps when their probe held,
    /// others when claimed.
    pub fn done_at(&self) -> Option<Timestamp> {
        if self.has_verify {
            self.verified_at
        } else {
            self.claimed_at
        }
    }

    /// Claimed, but the verify probe never held.
    pub fn unverified(&self) -> bool {
        self.has_verify && self.claimed_at.is_some() && self.verified_at.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunbookProgress {
    pub url: Option<String>,
    pub steps: Vec<StepProgress>,
    /// Step ids claimed that the runbook does not list, kept for the report.
    pub unknown_claims: Vec<String>,
}

impl RunbookProgress {
    pub fn new(runbook: Option<&Runbook>) -> RunbookProgress {
        let Some(rb) = runbook else {
            return RunbookProgress::default();
        };
        RunbookProgress {
            url: rb.url.clone(),
            steps: rb
                .steps
                .iter()
                .map(|s| StepProgress {
                    id: s.id.clone(),
                    title: s.title.clone(),
                    critical: s.critical,
                    within: s.within,
                    has_verify: s.verify.is_some(),
                    claimed_at: None,
                    claimed_by: None,
                    verified_at: None,
                })
                .collect(),
            unknown_claims: Vec::new(),
        }
    }

    /// Records a claim; the first claim of a step is the one that counts.
    pub fn claim(&mut self, id: &str, by: &str, at: Timestamp) {
        match self.steps.iter_mut().find(|s| s.id == id) {
            Some(s) if s.claimed_at.is_none() => {
                s.claimed_at = Some(at);
                s.claimed_by = Some(by.to_string());
            }
            Some(_) => {}
            None => self.unknown_claims.push(id.to_string()),
        }
    }

    /// Claims step `id` only when the runbook lists it: what a responder
    /// action (`ack`, `resolve`, ...) does to the step named after it.
    /// Unlike `claim`, an id the runbook does not list is not an unknown
    /// claim: acknowledging is never a mistake.
    pub fn claim_if_listed(&mut self, id: &str, by: &str, at: Timestamp) {
        if self.steps.iter().any(|s| s.id == id) {
            self.claim(id, by, at);
        }
    }

    /// Records the first time a step's verify probe held. Returns false for
    /// an unknown step or one without `verify`.
    pub fn verified(&mut self, id: &str, at: Timestamp) -> bool {
        match self.steps.iter_mut().find(|s| s.id == id && s.has_verify) {
            Some(s) => {
                if s.verified_at.is_none() {
                    s.verified_at = Some(at);
                }
                true
            }
            None => false,
        }
    }

    /// Claimed steps with a verify probe that has not held yet: what the
    /// engine should keep probing.
    pub fn awaiting_verify(&self) -> impl Iterator<Item = &StepProgress> {
        self.steps.iter().filter(|s| s.unverified())
    }

    /// Ids of done steps in the order they were done.
    pub fn done_order(&self) -> Vec<&str> {
        let mut done: Vec<(Timestamp, usize, &str)> = self
            .steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.done_at().map(|t| (t, i, s.id.as_str())))
            .collect();
        done.sort();
        done.into_iter().map(|(_, _, id)| id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::RunbookStep;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    fn step(id: &str, verify: bool) -> RunbookStep {
        let verify = verify.then(|| {
            serde_yaml::from_str(
                "{kubernetes: {kind: Deployment, namespace: shop, name: checkout, field: replicas}, expect: '>= 6'}",
            )
            .unwrap()
        });
        RunbookStep {
            id: id.into(),
            title: None,
            critical: false,
            within: None,
            verify,
        }
    }

    #[test]
    fn verified_steps_are_done_only_when_the_probe_holds() {
        let rb = Runbook {
            url: None,
            steps: vec![step("ack", false), step("scale-up", true)],
        };
        let mut p = RunbookProgress::new(Some(&rb));
        p.claim("scale-up", "ops", t(10));
        p.claim("ack", "ops", t(20));
        p.claim("ack", "other", t(30));
        p.claim("reboot", "ops", t(31));
        assert_eq!(p.done_order(), vec!["ack"]);
        assert_eq!(p.awaiting_verify().count(), 1);
        assert!(p.verified("scale-up", t(40)));
        assert!(!p.verified("ack", t(41)));
        assert_eq!(p.done_order(), vec!["ack", "scale-up"]);
        assert_eq!(p.steps[0].claimed_by.as_deref(), Some("ops"));
        assert_eq!(p.steps[1].claimed_at, Some(t(10)));
        assert_eq!(p.steps[1].verified_at, Some(t(40)));
        assert_eq!(p.unknown_claims, vec!["reboot"]);
    }
}

//! Planning: resolve each fault's targets from live state, choose with the
//! seeded RNG, check the blast radius (S3). Nothing is written. `gameday
//! plan` prints this; `gameday run` prints it and then re-checks it against
//! live state right before each injection.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::config::Config;
use crate::faults::{FaultCx, FaultError, kind_of};
use crate::k8s::Kube;
use crate::k8s::marks::ObjRef;
use crate::k8s::select::{self, BlastReport, Candidate, Candidates, Selection};
use crate::scenario::{Duration, Fault, FaultType, Scenario};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultPlan {
    pub fault: String,
    pub fault_type: FaultType,
    pub selection: Selection,
    pub blast: BlastReport,
    /// Offset from the start of the fault phase.
    pub at: Duration,
    /// When it is reverted (same as `at` for instant faults).
    pub until: Duration,
    /// What may weaken the fault (see `Candidates::warnings`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip)]
    pub candidates: Candidates,
}

impl FaultPlan {
    pub fn targets(&self) -> &[Candidate] {
        &self.selection.chosen
    }
}

/// The seed to use when the scenario gives none: random, and recorded.
pub fn fresh_seed() -> u64 {
    use rand::RngExt;
    rand::rng().random()
}

/// Chooses and checks one fault's targets from its candidates.
pub fn decide(
    fault: &Fault,
    candidates: Candidates,
    seed: u64,
    scenario: &Scenario,
) -> Result<(Selection, BlastReport), FaultError> {
    let radius = &scenario.spec.blast_radius;
    let kind = kind_of(fault.kind);
    let selection = select::choose(
        candidates.items.clone(),
        fault.mode(),
        seed,
        radius.max_targets,
    );
    let mut blast = select::check_blast(&fault.name, &selection.chosen, &candidates, radius)?;
    if let Some(groups) = kind.impact(fault, &selection.chosen, &candidates) {
        select::check_groups(&fault.name, &groups, radius)?;
        blast.groups = groups;
    }
    Ok((selection, blast))
}

pub async fn plan_fault(
    kube: &Kube,
    scenario: &Scenario,
    config: &Config,
    fault: &Fault,
    concurrency: usize,
) -> Result<FaultPlan, FaultError> {
    plan_fault_excluding(kube, scenario, config, fault, concurrency, &BTreeSet::new()).await
}

/// Plans one fault without choosing any object in `taken`: two faults of
/// one run never share a target, so neither overwrites the other's undo.
pub async fn plan_fault_excluding(
    kube: &Kube,
    scenario: &Scenario,
    config: &Config,
    fault: &Fault,
    concurrency: usize,
    taken: &BTreeSet<ObjRef>,
) -> Result<FaultPlan, FaultError> {
    let cx = FaultCx::new(kube, scenario, config, fault, concurrency);
    let mut candidates = kind_of(fault.kind).plan(&cx).await?;
    candidates.items.retain(|c| !taken.contains(&c.obj));
    let seed = fault.seed.unwrap_or_else(fresh_seed);
    let (selection, blast) = decide(fault, candidates.clone(), seed, scenario)?;
    Ok(FaultPlan {
        fault: fault.name.clone(),
        fault_type: fault.kind,
        selection,
        blast,
        at: fault.at(),
        until: fault.end(),
        warnings: candidates.warnings.clone(),
        candidates,
    })
}

pub async fn plan_all(
    kube: &Kube,
    scenario: &Scenario,
    config: &Config,
    concurrency: usize,
) -> Result<Vec<FaultPlan>, FaultError> {
    let mut out: Vec<FaultPlan> = Vec::new();
    let mut taken = BTreeSet::new();
    for fault in &scenario.spec.faults {
        let plan = plan_fault_excluding(kube, scenario, config, fault, concurrency, &taken).await?;
        taken.extend(plan.targets().iter().map(|t| t.obj.clone()));
        out.push(plan);
    }
    Ok(out)
}

/// Sends every planned inject write with `dryRun=All` (see
/// `FaultKind::dry_run`): the server's refusal, before anything changes.
pub async fn dry_run_all(
    kube: &Kube,
    scenario: &Scenario,
    config: &Config,
    plans: &[FaultPlan],
    concurrency: usize,
) -> Result<(), FaultError> {
    for (plan, fault) in plans.iter().zip(&scenario.spec.faults) {
        let cx = FaultCx::new(kube, scenario, config, fault, concurrency);
        kind_of(fault.kind).dry_run(&cx, plan.targets()).await?;
    }
    Ok(())
}

/// The live re-check right before injection: the planned targets that still
/// exist and are unmarked, checked against the live workload sizes.
pub fn recheck(
    plan: &FaultPlan,
    fault: &Fault,
    live: &Candidates,
    scenario: &Scenario,
) -> Result<(Vec<Candidate>, BlastReport), FaultError> {
    let targets: Vec<Candidate> = plan
        .targets()
        .iter()
        .filter(|t| live.items.iter().any(|l| l.obj == t.obj))
        .cloned()
        .collect();
    let radius = &scenario.spec.blast_radius;
    let mut blast = select::check_blast(&fault.name, &targets, live, radius)?;
    if let Some(groups) = kind_of(fault.kind).impact(fault, &targets, live) {
        select::check_groups(&fault.name, &groups, radius)?;
        blast.groups = groups;
    }
    Ok((targets, blast))
}

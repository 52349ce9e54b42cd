//! Target selection and the blast-radius rules (S3). Pure functions over a
//! candidate list, so the same code checks the plan and, right before each
//! injection, the live state.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::scenario::{BlastRadius, Mode};

use super::marks::ObjRef;

/// One object a fault could touch. `group` names the workload it belongs to
/// (`ReplicaSet/checkout-7d9f`, `nodes`), which is what `maxPercent` and the
/// full-outage rule are measured against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub obj: ObjRef,
    pub group: String,
}

/// The candidates of one fault plus the size of each workload they belong to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidates {
    pub items: Vec<Candidate>,
    /// Workload sizes; a group missing here counts its candidates.
    #[serde(alias = "group_totals")]
    pub group_totals: BTreeMap<String, usize>,
    /// What each candidate would disrupt, by workload, when that is not the
    /// candidate itself (a drained node's pods): keyed by the candidate's
    /// object, then by group, a pod count.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub disrupts: BTreeMap<String, BTreeMap<String, usize>>,
    /// What the plan found that may weaken the fault (an existing
    /// NetworkPolicy that allows what a partition denies); shown by `plan`
    /// and `run`, never a refusal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Candidates {
    pub fn total_of(&self, group: &str) -> usize {
        self.group_totals
            .get(group)
            .copied()
            .unwrap_or_else(|| self.items.iter().filter(|c| c.group == group).count())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlastError {
    #[error("fault `{fault}`: the selector matches no targets")]
    NoTargets { fault: String },
    #[error("fault `{fault}`: {chosen} targets exceed blastRadius.maxTargets ({max})")]
    TooManyTargets {
        fault: String,
        chosen: usize,
        max: u32,
    },
    #[error(
        "fault `{fault}`: would touch {pct}% of {group} ({chosen} of {total}), over blastRadius.maxPercent ({max}%)"
    )]
    OverPercent {
        fault: String,
        group: String,
        chosen: usize,
        total: usize,
        pct: u32,
        max: u32,
    },
    #[error(
        "fault `{fault}`: would take down all of {group} ({total}); set blastRadius.allowFullOutage to allow it"
    )]
    FullOutage {
        fault: String,
        group: String,
        total: usize,
    },
    #[error("fault `{fault}`: namespace `{namespace}` is protected and is never touched")]
    Protected { fault: String, namespace: String },
    #[error("fault `{fault}`: namespace `{namespace}` is not listed in target.namespaces")]
    NotInTarget { fault: String, namespace: String },
    #[error("fault `{fault}`: planned target {target} is gone or changed; refusing to inject")]
    Drifted { fault: String, target: String },
}

/// How many of `n` candidates a mode selects, before the caps.
/// `draw` picks uniformly in `1..=hi` (the seeded RNG in practice).
pub fn count_for(mode: Mode, n: usize, draw: &mut dyn FnMut(usize) -> usize) -> usize {
    let pct_of = |p: u32| ((n as u64 * p as u64).div_ceil(100)) as usize;
    let k = match mode {
        Mode::All => n,
        Mode::Count(c) => c as usize,
        Mode::Percent(p) => pct_of(p).max(1),
        Mode::RandomMaxPercent(p) => {
            let hi = ((n as u64 * p as u64) / 100).max(1) as usize;
            draw(hi)
        }
    };
    k.min(n)
}

/// The chosen targets and the seed that reproduces the choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    pub seed: u64,
    pub mode: Mode,
    pub chosen: Vec<Candidate>,
    /// Candidates the selector matched.
    pub matched: usize,
}

/// Seeded choice: candidates are sorted first, so the same cluster and seed
/// always give the same targets.
pub fn choose(
    mut candidates: Vec<Candidate>,
    mode: Mode,
    seed: u64,
    max_targets: u32,
) -> Selection {
    candidates.sort_by(|a, b| a.obj.cmp(&b.obj));
    let matched = candidates.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let k = count_for(mode, matched, &mut |hi| {
        use rand::RngExt;
        rng.random_range(1..=hi)
    });
    // Percentages are capped at maxTargets (a percentage of a big fleet must
    // not become a big number); all/count are checked, not silently clipped.
    let k = match mode {
        Mode::Percent(_) | Mode::RandomMaxPercent(_) => k.min(max_targets as usize),
        _ => k,
    };
    candidates.shuffle(&mut rng);
    candidates.truncate(k);
    candidates.sort_by(|a, b| a.obj.cmp(&b.obj));
    Selection {
        seed,
        mode,
        chosen: candidates,
        matched,
    }
}

/// Counts of one workload against the percentage limit, for the plan output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupImpact {
    pub group: String,
    pub chosen: usize,
    pub total: usize,
    pub percent: u32,
}

/// What the plan prints: the counts against each limit. camelCase like
/// every JSON gameday writes; the aliases read journals written before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlastReport {
    pub targets: usize,
    #[serde(alias = "max_targets")]
    pub max_targets: u32,
    #[serde(alias = "max_percent")]
    pub max_percent: u32,
    #[serde(alias = "allow_full_outage")]
    pub allow_full_outage: bool,
    pub groups: Vec<GroupImpact>,
}

/// Checks one fault's chosen targets against the limits (S3).
pub fn check_blast(
    fault: &str,
    chosen: &[Candidate],
    candidates: &Candidates,
    radius: &BlastRadius,
) -> Result<BlastReport, BlastError> {
    if chosen.is_empty() {
        return Err(BlastError::NoTargets {
            fault: fault.into(),
        });
    }
    if chosen.len() > radius.max_targets as usize {
        return Err(BlastError::TooManyTargets {
            fault: fault.into(),
            chosen: chosen.len(),
            max: radius.max_targets,
        });
    }
    let mut per_group: BTreeMap<&str, usize> = BTreeMap::new();
    for c in chosen {
        *per_group.entry(c.group.as_str()).or_default() += 1;
    }
    let mut groups = Vec::new();
    for (group, n) in per_group {
        let total = candidates.total_of(group).max(n);
        let percent = ((n as u64 * 100).div_ceil(total as u64)) as u32;
        groups.push(GroupImpact {
            group: group.into(),
            chosen: n,
            total,
            percent,
        });
    }
    check_groups(fault, &groups, radius)?;
    Ok(BlastReport {
        targets: chosen.len(),
        max_targets: radius.max_targets,
        max_percent: radius.max_percent(),
        allow_full_outage: radius.allow_full_outage,
        groups,
    })
}

/// The percentage rules on already-computed impacts; workload faults (scale)
/// compute their impact themselves and share this check.
pub fn check_groups(
    fault: &str,
    groups: &[GroupImpact],
    radius: &BlastRadius,
) -> Result<(), BlastError> {
    if radius.allow_full_outage {
        return Ok(());
    }
    for g in groups {
        if g.chosen >= g.total {
            return Err(BlastError::FullOutage {
                fault: fault.into(),
                group: g.group.clone(),
                total: g.total,
            });
        }
        if g.percent > radius.max_percent() {
            return Err(BlastError::OverPercent {
                fault: fault.into(),
                group: g.group.clone(),
                chosen: g.chosen,
                total: g.total,
                pct: g.percent,
                max: radius.max_percent(),
            });
        }
    }
    Ok(())
}

/// A namespace may be touched only if the scenario lists it and it is not
/// protected (built-in or configured).
pub fn check_namespace(
    fault: &str,
    namespace: &str,
    allowed: &[String],
    config: &Config,
) -> Result<(), BlastError> {
    if config.is_protected(namespace) {
        return Err(BlastError::Protected {
            fault: fault.into(),
            namespace: namespace.into(),
        });
    }
    if !allowed.iter().any(|n| n == namespace) {
        return Err(BlastError::NotInTarget {
            fault: fault.into(),
            namespace: namespace.into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::marks::ObjKind;
    use crate::scenario::Duration;

    fn pods(n: usize, group: &str) -> Vec<Candidate> {
        (0..n)
            .map(|i| Candidate {
                obj: ObjRef {
                    kind: ObjKind::Pod,
                    namespace: Some("shop".into()),
                    name: format!("{group}-{i:03}"),
                },
                group: group.into(),
            })
            .collect()
    }

    fn radius(max_targets: u32, max_percent: Option<u32>, full: bool) -> BlastRadius {
        BlastRadius {
            max_targets,
            max_percent,
            max_duration: Duration::from_secs(600),
            allow_full_outage: full,
        }
    }

    #[test]
    fn modes_count_as_documented() {
        let mut never = |_: usize| -> usize { panic!("no draw") };
        assert_eq!(count_for(Mode::All, 7, &mut never), 7);
        assert_eq!(count_for(Mode::Count(2), 7, &mut never), 2);
        assert_eq!(count_for(Mode::Count(9), 7, &mut never), 7);
        assert_eq!(count_for(Mode::Percent(33), 6, &mut never), 2);
        assert_eq!(
            count_for(Mode::Percent(1), 6, &mut never),
            1,
            "at least one"
        );
        assert_eq!(count_for(Mode::Percent(50), 0, &mut never), 0);
        let mut hi_seen = 0;
        let k = count_for(Mode::RandomMaxPercent(50), 10, &mut |hi| {
            hi_seen = hi;
            3
        });
        assert_eq!((k, hi_seen), (3, 5));
        assert_eq!(count_for(Mode::RandomMaxPercent(5), 3, &mut |hi| hi), 1);
    }

    #[test]
    fn same_seed_same_targets_different_seed_differs() {
        let a = choose(pods(50, "rs"), Mode::Count(5), 42, 10);
        let mut shuffled = pods(50, "rs");
        shuffled.reverse();
        let b = choose(shuffled, Mode::Count(5), 42, 10);
        assert_eq!(a.chosen, b.chosen, "order of the listing must not matter");
        let differs =
            (0..20u64).any(|s| choose(pods(50, "rs"), Mode::Count(5), s, 10).chosen != a.chosen);
        assert!(differs);
        assert_eq!(a.seed, 42);
        assert_eq!(a.matched, 50);
    }

    #[test]
    fn percent_is_capped_by_max_targets() {
        let s = choose(pods(100, "rs"), Mode::Percent(50), 1, 3);
        assert_eq!(s.chosen.len(), 3);
    }

    #[test]
    fn zero_targets_is_an_error() {
        let c = Candidates::default();
        let s = choose(vec![], Mode::Percent(50), 1, 3);
        assert!(matches!(
            check_blast("f", &s.chosen, &c, &radius(3, None, false)),
            Err(BlastError::NoTargets { .. })
        ));
    }

    #[test]
    fn full_outage_needs_the_override() {
        let items = pods(3, "rs");
        let c = Candidates {
            items: items.clone(),
            ..Default::default()
        };
        let err = check_blast("f", &items, &c, &radius(5, Some(100), false)).unwrap_err();
        assert!(matches!(err, BlastError::FullOutage { .. }), "{err}");
        assert!(check_blast("f", &items, &c, &radius(5, Some(100), true)).is_ok());
    }

    #[test]
    fn max_percent_is_per_workload() {
        let mut items = pods(4, "a");
        items.extend(pods(4, "b"));
        let c = Candidates {
            items: items.clone(),
            ..Default::default()
        };
        // 2 of a (50%) and 1 of b (25%): fine at 50, refused at 34.
        let chosen = vec![items[0].clone(), items[1].clone(), items[4].clone()];
        let ok = check_blast("f", &chosen, &c, &radius(3, Some(50), false)).unwrap();
        assert_eq!(ok.groups.len(), 2);
        assert_eq!(ok.groups[0].percent, 50);
        assert!(matches!(
            check_blast("f", &chosen, &c, &radius(3, Some(34), false)),
            Err(BlastError::OverPercent { pct: 50, .. })
        ));
        assert!(matches!(
            check_blast("f", &chosen, &c, &radius(2, Some(50), false)),
            Err(BlastError::TooManyTargets { .. })
        ));
    }

    #[test]
    fn protected_and_unlisted_namespaces_are_refused() {
        let cfg = Config::default();
        let allowed = vec!["shop".to_string(), "kube-system".to_string()];
        assert!(check_namespace("f", "shop", &allowed, &cfg).is_ok());
        assert!(matches!(
            check_namespace("f", "kube-system", &allowed, &cfg),
            Err(BlastError::Protected { .. })
        ));
        assert!(matches!(
            check_namespace("f", "billing", &allowed, &cfg),
            Err(BlastError::NotInTarget { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn selection_never_exceeds_limits(n in 0usize..200, p in 1u32..=100, cap in 1u32..50, seed: u64) {
            for mode in [Mode::Percent(p), Mode::RandomMaxPercent(p)] {
                let s = choose(pods(n, "rs"), mode, seed, cap);
                proptest::prop_assert!(s.chosen.len() <= cap as usize);
                proptest::prop_assert!(s.chosen.len() <= n);
                if n > 0 { proptest::prop_assert!(!s.chosen.is_empty()); }
            }
        }
    }
}

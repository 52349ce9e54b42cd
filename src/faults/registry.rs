//! Looking up a fault type in the registry ([`super::FAULTS`]), for the
//! engine (`kind_of`) and for the validator ([`Registry`], through the
//! scenario layer's `FaultRules`).
//!
//! A type the registry does not know can still reach us: a mark written by
//! another gameday version. It resolves to [`Unknown`], which plans and
//! injects nothing and reverts by removing the marks (and deleting a
//! policy gameday created), so nothing labelled by gameday outlives
//! `recover`.

use futures::FutureExt;

use super::{
    About, Batch, Entry, FAULTS, FaultCx, FaultKind, Injecting, Planning, Reverting, TargetResult,
    common,
};
use crate::k8s::Kube;
use crate::k8s::marks::{Marked, ObjKind};
use crate::scenario::{FaultRules, FaultSpec, FaultType};

/// The implementation of a fault type; [`Unknown`] for a type this build
/// does not have.
pub fn kind_of(ft: FaultType) -> &'static Entry {
    find(ft).unwrap_or(&UNKNOWN)
}

fn find(ft: FaultType) -> Option<&'static Entry> {
    FAULTS.iter().find(|k| k.name() == ft.as_str())
}

/// The registry as the validator asks it: `scenario::load_*(…, &Registry)`.
pub struct Registry;

impl FaultRules for Registry {
    fn spec(&self, ty: FaultType) -> Option<&dyn FaultSpec> {
        find(ty).map(|k| k.kind as &dyn FaultSpec)
    }

    fn names(&self) -> Vec<&'static str> {
        FAULTS.iter().map(|k| k.name()).collect()
    }
}

/// A fault type from a mark that this build does not know.
pub struct Unknown;

/// No rights (it never runs), and any kind: `recover` must look everywhere
/// for what it cannot place. No starter: it is not in `FAULTS`.
static UNKNOWN: Entry = Entry::new(
    &Unknown,
    About {
        rbac: &[],
        marks: &ObjKind::ALL,
        starter: "",
    },
);

impl FaultSpec for Unknown {
    fn name(&self) -> &'static str {
        "unknown"
    }
}

impl FaultKind for Unknown {
    fn plan<'a>(&'a self, cx: &'a FaultCx<'a>) -> Planning<'a> {
        let err = cx.invalid(format!("unknown fault type `{}`", cx.fault.kind));
        async move { Err(err) }.boxed()
    }

    fn inject<'a>(&'a self, cx: &'a FaultCx<'a>, batch: Batch<'a>) -> Injecting<'a> {
        let Batch {
            stamp: _,
            targets,
            stop: _,
        } = batch;
        let error = format!("unknown fault type `{}`", cx.fault.kind);
        let out = targets
            .iter()
            .map(|t| TargetResult {
                target: t.obj.clone(),
                marked: vec![],
                error: Some(error.clone()),
                skipped: None,
            })
            .collect();
        async move { out }.boxed()
    }

    fn revert<'a>(&'a self, kube: &'a Kube, marked: &'a Marked) -> Reverting<'a> {
        common::revert_unknown(kube, marked).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_type_is_found_by_its_name_and_unknown_ones_fall_back() {
        for k in FAULTS {
            let ft = FaultType::new(k.name()).expect("a well-formed name");
            assert_eq!(kind_of(ft).name(), k.name());
            assert!(Registry.spec(ft).is_some());
        }
        let other = FaultType::named("diskFill");
        assert_eq!(kind_of(other).name(), "unknown");
        assert!(Registry.spec(other).is_none());
    }

    #[test]
    fn names_are_unique() {
        let mut names = Registry.names();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}

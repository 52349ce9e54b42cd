//! networkPartition: a deny-all NetworkPolicy (ingress, egress or both) for
//! the chosen pods. Revert deletes the policy and removes the pod labels.

use std::sync::atomic::AtomicBool;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::rbac::{NETPOL, Rule, pods_rw};
use super::{FaultCx, FaultError, FaultKind, Reverted, TargetResult, netpol, targets};
use crate::k8s::Kube;
use crate::k8s::marks::{Marked, Stamp};
use crate::k8s::select::{Candidate, Candidates};
use crate::scenario::{Direction, FaultType};

pub struct NetworkPartition;

const RBAC: &[Rule] = &[pods_rw(&["get", "list", "patch"]), NETPOL];

/// A policy with the chosen policy types and no rules denies that traffic.
pub fn spec(direction: Direction) -> Value {
    let types: &[&str] = match direction {
        Direction::Ingress => &["Ingress"],
        Direction::Egress => &["Egress"],
        Direction::Both => &["Ingress", "Egress"],
    };
    json!({ "policyTypes": types })
}

impl FaultKind for NetworkPartition {
    fn fault_type(&self) -> FaultType {
        FaultType::NetworkPartition
    }

    fn rbac(&self) -> &'static [Rule] {
        RBAC
    }

    fn plan<'a>(&'a self, cx: &'a FaultCx<'a>) -> BoxFuture<'a, Result<Candidates, FaultError>> {
        async move { targets::pods_on_pod_network(cx).await }.boxed()
    }

    fn inject<'a>(
        &'a self,
        cx: &'a FaultCx<'a>,
        stamp: &'a Stamp,
        targets: &'a [Candidate],
        stop: &'a AtomicBool,
    ) -> BoxFuture<'a, Vec<TargetResult>> {
        let direction = cx
            .fault
            .params
            .as_ref()
            .and_then(|p| p.direction)
            .unwrap_or_default();
        netpol::inject(cx, stamp, targets, stop, spec(direction)).boxed()
    }

    fn revert<'a>(
        &'a self,
        kube: &'a Kube,
        marked: &'a Marked,
    ) -> BoxFuture<'a, Result<Reverted, FaultError>> {
        netpol::revert(kube, marked).boxed()
    }
}

//! networkPartition: a deny-all NetworkPolicy (ingress, egress or both) for
//! the chosen pods. Revert deletes the policy and removes the pod labels.

use futures::FutureExt;
use serde_json::{Value, json};

use super::about::About;
use super::rbac::{NETPOL, Rule, pods_rw};
use super::{Batch, Entry, FaultCx, FaultKind, Injecting, Planning, Reverting, netpol};
use crate::k8s::Kube;
use crate::k8s::marks::Marked;
use crate::k8s::marks::ObjKind;
use crate::scenario::FaultSpec;
use crate::scenario::ParamCheck;

pub struct NetworkPartition;

pub const FAULT: Entry = Entry::new(&NetworkPartition, ABOUT);

const STARTER: &str = r#"
hypothesis: One checkout pod cut off from its dependencies for 30s fails its share of requests (about a quarter); the error-rate alert pages within 1m, and checkout is back above 99% within 1m of the revert.
duration: 30s
successDuring: 0.5
alert: CheckoutHighErrorRate
      params:
        direction: egress       # ingress | egress | both
"#;

const ABOUT: About = About {
    rbac: RBAC,
    marks: &[ObjKind::Pod, ObjKind::NetworkPolicy],
    starter: STARTER,
};

const RBAC: &[Rule] = &[pods_rw(&["get", "list", "patch"]), NETPOL];

#[derive(Debug, Clone, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// ingress | egress | both (default both).
    pub direction: Direction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Direction {
    Ingress,
    Egress,
    #[default]
    Both,
}

/// A policy with the chosen policy types and no rules denies that traffic.
pub fn spec(direction: Direction) -> Value {
    json!({ "policyTypes": policy_types(direction) })
}

/// The traffic the partition denies, as NetworkPolicy `policyTypes`.
fn policy_types(direction: Direction) -> &'static [&'static str] {
    match direction {
        Direction::Ingress => &["Ingress"],
        Direction::Egress => &["Egress"],
        Direction::Both => &["Ingress", "Egress"],
    }
}

impl FaultSpec for NetworkPartition {
    fn name(&self) -> &'static str {
        "networkPartition"
    }

    fn check_params(&self, check: &mut ParamCheck<'_, '_>) {
        check.typed::<Params>();
    }
}

impl FaultKind for NetworkPartition {
    fn enforced_by(&self) -> Option<&'static str> {
        Some(netpol::ENFORCED_BY)
    }

    fn plan<'a>(&'a self, cx: &'a FaultCx<'a>) -> Planning<'a> {
        async move {
            let direction = cx.params::<Params>()?.direction;
            netpol::plan(cx, policy_types(direction)).await
        }
        .boxed()
    }

    fn inject<'a>(&'a self, cx: &'a FaultCx<'a>, batch: Batch<'a>) -> Injecting<'a> {
        match cx.params::<Params>() {
            Ok(p) => netpol::inject(cx, batch, spec(p.direction)).boxed(),
            Err(e) => futures::future::ready(super::common::all_failed(batch.targets, &e)).boxed(),
        }
    }

    fn revert<'a>(&'a self, kube: &'a Kube, marked: &'a Marked) -> Reverting<'a> {
        netpol::revert(kube, marked).boxed()
    }
}

//! dnsBlock: an egress NetworkPolicy that allows every port except 53 (TCP
//! and UDP), so name resolution fails and everything else works. Policies
//! are allow-lists; "all but 53" is two port ranges.

use std::sync::atomic::AtomicBool;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::rbac::{NETPOL, Rule, pods_rw};
use super::{FaultCx, FaultError, FaultKind, Reverted, TargetResult, netpol, targets};
use crate::k8s::Kube;
use crate::k8s::marks::{Marked, Stamp};
use crate::k8s::select::{Candidate, Candidates};
use crate::scenario::FaultType;

pub struct DnsBlock;

const RBAC: &[Rule] = &[pods_rw(&["get", "list", "patch"]), NETPOL];

pub fn spec() -> Value {
    let ports: Vec<Value> = ["TCP", "UDP"]
        .iter()
        .flat_map(|proto| {
            [
                json!({"protocol": proto, "port": 1, "endPort": 52}),
                json!({"protocol": proto, "port": 54, "endPort": 65535}),
            ]
        })
        .collect();
    json!({ "policyTypes": ["Egress"], "egress": [{ "ports": ports }] })
}

impl FaultKind for DnsBlock {
    fn fault_type(&self) -> FaultType {
        FaultType::DnsBlock
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
        netpol::inject(cx, stamp, targets, stop, spec()).boxed()
    }

    fn revert<'a>(
        &'a self,
        kube: &'a Kube,
        marked: &'a Marked,
    ) -> BoxFuture<'a, Result<Reverted, FaultError>> {
        netpol::revert(kube, marked).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_53_is_the_only_gap() {
        let s = spec();
        let ports = s["egress"][0]["ports"].as_array().unwrap();
        for proto in ["TCP", "UDP"] {
            let allowed = |p: u64| {
                ports.iter().any(|r| {
                    r["protocol"] == proto
                        && r["port"].as_u64().unwrap() <= p
                        && p <= r["endPort"].as_u64().unwrap()
                })
            };
            assert!(!allowed(53));
            assert!(allowed(52) && allowed(54) && allowed(443) && allowed(65535));
        }
    }
}

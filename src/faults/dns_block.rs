//! dnsBlock: an egress NetworkPolicy that allows every port except 53 (TCP
//! and UDP), so name resolution fails and everything else works. Policies
//! are allow-lists; "all but 53" is two port ranges.

use futures::FutureExt;
use serde_json::{Value, json};

use super::about::About;
use super::rbac::{NETPOL, Rule, pods_rw};
use super::{Batch, Entry, FaultCx, FaultKind, Injecting, Planning, Reverting, netpol};
use crate::k8s::Kube;
use crate::k8s::marks::Marked;
use crate::k8s::marks::ObjKind;
use crate::scenario::FaultSpec;

pub struct DnsBlock;

pub const FAULT: Entry = Entry::new(&DnsBlock, ABOUT);

const STARTER: &str = r#"
hypothesis: One checkout pod without DNS for 30s fails its share of requests (about a quarter); the error-rate alert pages within 1m, and checkout is back above 99% within 1m of the revert.
duration: 30s
successDuring: 0.5
alert: CheckoutHighErrorRate
      # dnsBlock takes no params: it denies egress to port 53
"#;

const ABOUT: About = About {
    rbac: RBAC,
    marks: &[ObjKind::Pod, ObjKind::NetworkPolicy],
    starter: STARTER,
};

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

impl FaultSpec for DnsBlock {
    fn name(&self) -> &'static str {
        "dnsBlock"
    }
}

impl FaultKind for DnsBlock {
    fn enforced_by(&self) -> Option<&'static str> {
        Some(netpol::ENFORCED_BY)
    }

    fn plan<'a>(&'a self, cx: &'a FaultCx<'a>) -> Planning<'a> {
        netpol::plan(cx, &["Egress"]).boxed()
    }

    fn inject<'a>(&'a self, cx: &'a FaultCx<'a>, batch: Batch<'a>) -> Injecting<'a> {
        netpol::inject(cx, batch, spec()).boxed()
    }

    fn revert<'a>(&'a self, kube: &'a Kube, marked: &'a Marked) -> Reverting<'a> {
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

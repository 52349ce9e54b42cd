//! NetworkPolicy semantics for the traffic model, as Kubernetes documents
//! them (<https://kubernetes.io/docs/concepts/services-networking/network-policies/>
//! and the networking.k8s.io/v1 API reference,
//! <https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/>):
//!
//! - a pod is isolated for ingress (egress) when any policy in its namespace
//!   selects it and has that policy type; `policyTypes` defaults to
//!   `Ingress`, plus `Egress` when the policy has egress rules;
//! - what an isolated pod may do is the union of the rules of every policy
//!   selecting it for that direction: "policies are additive";
//! - a connection needs both the source's egress and the destination's
//!   ingress to allow it;
//! - a rule's peers are a union; within one peer, `podSelector` alone picks
//!   pods of the policy's namespace, `namespaceSelector` alone every pod of
//!   the namespaces it picks, both together the pods matching both (AND);
//!   `ipBlock` picks addresses in `cidr` outside its `except` ranges; no
//!   peers means every peer;
//! - a rule's ports are a union; no ports means every port; a port is a
//!   number or a name of the destination pod's container port, `protocol`
//!   defaults to TCP, and `endPort` makes a number a range;
//! - a `hostNetwork` pod is never selected for its own traffic: kube's
//!   page ("NetworkPolicy and hostNetwork pods") leaves it to the plugin,
//!   whose common case is that hostNetwork pods are ignored by
//!   `podSelector`; OpenShift's network policy chapter states it outright:
//!   "Pods with host networking enabled are unaffected by network policy
//!   rules" (<https://docs.redhat.com/en/documentation/openshift_container_platform/latest/html/network_security/network-policy>).
//!   As a peer it is matched like any pod (its IP is the node's).

use std::net::IpAddr;

use serde_json::Value;

use super::snapshot::{Labels, PodView, Selector, Snapshot};
use super::world::{EndPortSupport, PolicyEnforcement};

/// Where requests from outside the cluster come from (TEST-NET-2): only an
/// `ipBlock` peer, or a rule with no peers, admits it.
pub const EXTERNAL_CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 7));

/// A `NetworkPolicy` as the traffic model reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyView {
    pub namespace: String,
    pub name: String,
    pub pod_selector: Selector,
    /// Whether the policy isolates the pods it selects for ingress/egress
    /// (`policyTypes`, defaulted as the API server does).
    pub ingress: bool,
    pub egress: bool,
    pub ingress_rules: Vec<Rule>,
    pub egress_rules: Vec<Rule>,
}

/// One `ingress`/`egress` rule: allowed when a peer and a port both match.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rule {
    /// `from` / `to`; empty allows every peer.
    pub peers: Vec<Peer>,
    /// Empty allows every port and protocol.
    pub ports: Vec<PortRule>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Peer {
    /// `podSelector` and/or `namespaceSelector` (at least one is Some).
    Pods {
        pods: Option<Selector>,
        namespaces: Option<Selector>,
    },
    IpBlock {
        cidr: Cidr,
        except: Vec<Cidr>,
    },
    /// A peer the API server would have rejected (no selector, bad CIDR):
    /// matches nothing.
    Invalid,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PortRule {
    pub protocol: String,
    pub port: PortRef,
    pub end_port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PortRef {
    /// No `port`: every port of the protocol.
    Any,
    Number(u16),
    Named(String),
}

/// An IPv4 or IPv6 prefix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, p) = s.split_once('/')?;
        let addr: IpAddr = a.parse().ok()?;
        let prefix: u8 = p.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// One end of a connection.
#[derive(Debug, Clone, Copy)]
pub enum Endpoint<'a> {
    Pod(&'a PodView),
    /// An address outside the cluster.
    External(IpAddr),
}

impl Endpoint<'_> {
    fn ip(&self) -> Option<IpAddr> {
        match self {
            Endpoint::Pod(p) => p.pod_ip.parse().ok(),
            Endpoint::External(ip) => Some(*ip),
        }
    }
}

impl Snapshot {
    /// Where pods send DNS queries: a `k8s-app: kube-dns` pod in
    /// kube-system if the snapshot has one, else CoreDNS as kubeadm deploys
    /// it (ports `dns` 53/UDP and `dns-tcp` 53/TCP), so that a policy
    /// allowing DNS by label, namespace or port name behaves as on a real
    /// cluster.
    pub fn dns_server(&self) -> PodView {
        if let Some(p) = self.pods.iter().find(|p| {
            p.namespace == "kube-system"
                && p.labels.get("k8s-app").map(String::as_str) == Some("kube-dns")
        }) {
            return PodView::clone(p);
        }
        let coredns = serde_json::json!({
            "kind": "Pod",
            "metadata": {"name": "coredns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
            "spec": {"containers": [{"name": "coredns", "ports": [
                {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"}]}]},
            "status": {"phase": "Running", "podIP": "10.244.0.10"},
        });
        PodView::clone(&Snapshot::from_objects([&coredns]).pods[0])
    }

    /// Whether `src` may open a connection to `dst` on `port`/`protocol`:
    /// the source's egress and the destination's ingress must both allow
    /// it, unless the CNI ignores policies.
    pub fn connection_allowed(
        &self,
        src: Endpoint<'_>,
        dst: Endpoint<'_>,
        port: u16,
        protocol: &str,
    ) -> bool {
        if self.network.network_policy == PolicyEnforcement::Ignored {
            return true;
        }
        let egress_ok = match src {
            Endpoint::Pod(p) => self.egress_allows(p, dst, port, protocol),
            Endpoint::External(_) => true,
        };
        egress_ok
            && match dst {
                Endpoint::Pod(p) => self.ingress_allows(p, src, port, protocol),
                Endpoint::External(_) => true,
            }
    }

    /// Whether any policy selects `pod` (for either direction).
    pub fn policies_isolate(&self, pod: &PodView) -> bool {
        !pod.host_network
            && self.network_policies.iter().any(|p| {
                (p.ingress || p.egress)
                    && p.namespace == pod.namespace
                    && p.pod_selector.matches(&pod.labels)
            })
    }

    /// Whether `pod`'s ingress policies admit `src` on its `port`.
    pub fn ingress_allows(
        &self,
        pod: &PodView,
        src: Endpoint<'_>,
        port: u16,
        protocol: &str,
    ) -> bool {
        let conn = self.conn(Endpoint::Pod(pod), port, protocol);
        self.direction_allows(pod, src, &conn, Direction::Ingress)
    }

    /// Whether `pod`'s egress policies let it connect to `dst` on `port`.
    pub fn egress_allows(
        &self,
        pod: &PodView,
        dst: Endpoint<'_>,
        port: u16,
        protocol: &str,
    ) -> bool {
        let conn = self.conn(dst, port, protocol);
        self.direction_allows(pod, dst, &conn, Direction::Egress)
    }

    fn conn<'a>(&self, dst: Endpoint<'a>, port: u16, protocol: &'a str) -> Conn<'a> {
        Conn {
            port,
            protocol,
            dst_ports: match dst {
                Endpoint::Pod(p) => &p.ports,
                Endpoint::External(_) => &[],
            },
            end_port: self.network.end_port == EndPortSupport::Supported,
        }
    }

    /// Whether the policies selecting `pod` for `dir` allow the connection
    /// with `peer`: not isolated, or some rule of some selecting policy
    /// matches.
    fn direction_allows(
        &self,
        pod: &PodView,
        peer: Endpoint<'_>,
        conn: &Conn<'_>,
        dir: Direction,
    ) -> bool {
        if pod.host_network || self.network.network_policy == PolicyEnforcement::Ignored {
            return true;
        }
        let mut isolated = false;
        for p in &self.network_policies {
            let (applies, rules) = match dir {
                Direction::Ingress => (p.ingress, &p.ingress_rules),
                Direction::Egress => (p.egress, &p.egress_rules),
            };
            if !applies || p.namespace != pod.namespace || !p.pod_selector.matches(&pod.labels) {
                continue;
            }
            isolated = true;
            if rules
                .iter()
                .any(|r| self.rule_matches(r, &p.namespace, peer, conn))
            {
                return true;
            }
        }
        !isolated
    }

    fn rule_matches(
        &self,
        rule: &Rule,
        policy_ns: &str,
        peer: Endpoint<'_>,
        conn: &Conn<'_>,
    ) -> bool {
        (rule.ports.is_empty() || rule.ports.iter().any(|p| conn.matches(p)))
            && (rule.peers.is_empty()
                || rule
                    .peers
                    .iter()
                    .any(|p| self.peer_matches(p, policy_ns, peer)))
    }

    fn peer_matches(&self, peer: &Peer, policy_ns: &str, who: Endpoint<'_>) -> bool {
        match peer {
            Peer::Pods { pods, namespaces } => {
                let Endpoint::Pod(pod) = who else {
                    return false;
                };
                let ns_ok = match namespaces {
                    Some(sel) => sel.matches(&self.namespace_labels(&pod.namespace)),
                    None => pod.namespace == policy_ns,
                };
                ns_ok && pods.as_ref().is_none_or(|s| s.matches(&pod.labels))
            }
            Peer::IpBlock { cidr, except } => who
                .ip()
                .is_some_and(|ip| cidr.contains(ip) && !except.iter().any(|e| e.contains(ip))),
            Peer::Invalid => false,
        }
    }

    /// A namespace's labels, with the `kubernetes.io/metadata.name` label
    /// the API server sets on every namespace even when the Namespace
    /// object is not in the snapshot.
    fn namespace_labels(&self, ns: &str) -> Labels {
        let mut labels = self.namespaces.get(ns).cloned().unwrap_or_default();
        labels
            .entry("kubernetes.io/metadata.name".into())
            .or_insert_with(|| ns.to_string());
        labels
    }
}

#[derive(Clone, Copy)]
enum Direction {
    Ingress,
    Egress,
}

/// The connection a port rule is checked against.
struct Conn<'a> {
    port: u16,
    protocol: &'a str,
    /// The destination pod's container ports, for named ports.
    dst_ports: &'a [(String, u16, String)],
    end_port: bool,
}

impl Conn<'_> {
    fn matches(&self, rule: &PortRule) -> bool {
        if !rule.protocol.eq_ignore_ascii_case(self.protocol) {
            return false;
        }
        match &rule.port {
            PortRef::Any => true,
            PortRef::Number(n) => match rule.end_port {
                Some(end) if self.end_port => (*n..=end).contains(&self.port),
                _ => *n == self.port,
            },
            // A named port resolves against the destination pod's
            // container ports, with their protocol.
            PortRef::Named(name) => self.dst_ports.iter().any(|(n, p, proto)| {
                !n.is_empty()
                    && n == name
                    && *p == self.port
                    && proto.eq_ignore_ascii_case(self.protocol)
            }),
        }
    }
}

/// Reads a NetworkPolicy object; malformed parts read as matching nothing.
pub fn policy_view(obj: &Value) -> PolicyView {
    let spec = &obj["spec"];
    let types: Vec<&str> = spec["policyTypes"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    // The API server defaults policyTypes to Ingress, plus Egress when
    // egress rules are present.
    let (ingress, egress) = if types.is_empty() {
        (
            true,
            spec["egress"].as_array().is_some_and(|a| !a.is_empty()),
        )
    } else {
        (types.contains(&"Ingress"), types.contains(&"Egress"))
    };
    PolicyView {
        namespace: obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        name: obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        pod_selector: Selector::from_json(&spec["podSelector"]),
        ingress,
        egress,
        ingress_rules: rules(&spec["ingress"], "from"),
        egress_rules: rules(&spec["egress"], "to"),
    }
}

fn rules(v: &Value, peers_key: &str) -> Vec<Rule> {
    let items = |v: &Value| v.as_array().cloned().unwrap_or_default();
    items(v)
        .iter()
        .map(|r| Rule {
            peers: items(&r[peers_key]).iter().map(peer).collect(),
            ports: items(&r["ports"]).iter().map(port_rule).collect(),
        })
        .collect()
}

fn peer(v: &Value) -> Peer {
    let selector = |key: &str| {
        v.get(key)
            .filter(|s| s.is_object())
            .map(Selector::from_json)
    };
    if let Some(block) = v.get("ipBlock") {
        let cidr = block["cidr"].as_str().and_then(Cidr::parse);
        let except: Option<Vec<Cidr>> = block["except"]
            .as_array()
            .map(|a| a.iter().map(|e| e.as_str().and_then(Cidr::parse)).collect())
            .unwrap_or(Some(Vec::new()));
        return match (cidr, except) {
            (Some(cidr), Some(except)) => Peer::IpBlock { cidr, except },
            _ => Peer::Invalid,
        };
    }
    match (selector("podSelector"), selector("namespaceSelector")) {
        (None, None) => Peer::Invalid,
        (pods, namespaces) => Peer::Pods { pods, namespaces },
    }
}

fn port_rule(v: &Value) -> PortRule {
    let port = match &v["port"] {
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .map_or(PortRef::Named(String::new()), PortRef::Number),
        Value::String(s) => PortRef::Named(s.clone()),
        _ => PortRef::Any,
    };
    PortRule {
        protocol: v["protocol"].as_str().unwrap_or("TCP").to_string(),
        port,
        end_port: v["endPort"].as_u64().and_then(|n| u16::try_from(n).ok()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::world::{EndPortSupport, NetworkSpec, PolicyEnforcement};

    fn pod(ns: &str, name: &str, app: &str, ip: &str) -> Value {
        json!({"kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": app}},
            "spec": {"containers": [{"name": "app", "ports": [
                {"name": "http", "containerPort": 8080, "protocol": "TCP"},
                {"name": "metrics", "containerPort": 9090}]}]},
            "status": {"phase": "Running", "podIP": ip}})
    }

    fn namespace(name: &str, labels: Value) -> Value {
        json!({"kind": "Namespace", "metadata": {"name": name, "labels": labels}})
    }

    fn policy(ns: &str, name: &str, spec: Value) -> Value {
        json!({"kind": "NetworkPolicy", "metadata": {"name": name, "namespace": ns}, "spec": spec})
    }

    /// shop/checkout (10.244.1.2) and shop/cart (10.244.1.3) and
    /// ops/prober (10.244.2.2) in a namespace labelled team=ops, plus
    /// `extra` objects.
    fn cluster(extra: &[Value]) -> Snapshot {
        let mut objs = vec![
            namespace("shop", json!({})),
            namespace("ops", json!({"team": "ops"})),
            pod("shop", "checkout", "checkout", "10.244.1.2"),
            pod("shop", "cart", "cart", "10.244.1.3"),
            pod("ops", "prober", "prober", "10.244.2.2"),
        ];
        objs.extend_from_slice(extra);
        Snapshot::from_objects(&objs)
    }

    fn find<'s>(s: &'s Snapshot, name: &str) -> &'s PodView {
        s.pods.iter().find(|p| p.name == name).unwrap()
    }

    /// Whether `from` may reach `to` over TCP `port` (both directions).
    fn reach(s: &Snapshot, from: &str, to: &str, port: u16) -> bool {
        s.connection_allowed(
            Endpoint::Pod(find(s, from)),
            Endpoint::Pod(find(s, to)),
            port,
            "TCP",
        )
    }

    fn ingress_to_checkout(from: Value) -> Value {
        policy(
            "shop",
            "in",
            json!({"podSelector": {"matchLabels": {"app": "checkout"}},
                   "ingress": [{"from": from}]}),
        )
    }

    #[test]
    fn policy_types_default_and_isolation() {
        let s = cluster(&[]);
        assert!(reach(&s, "cart", "checkout", 8080), "no policy: open");
        // No policyTypes and no egress rules: Ingress only.
        let deny_in = policy(
            "shop",
            "deny",
            json!({"podSelector": {"matchLabels": {"app": "checkout"}}}),
        );
        let s = cluster(&[deny_in]);
        assert!(!reach(&s, "cart", "checkout", 8080));
        assert!(reach(&s, "checkout", "cart", 8080), "egress not isolated");
        // Egress rules present: Egress is defaulted in too.
        let egress_only_cart = policy(
            "shop",
            "eg",
            json!({"podSelector": {"matchLabels": {"app": "checkout"}},
                   "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "cart"}}}]}]}),
        );
        let s = cluster(&[egress_only_cart]);
        let co = find(&s, "checkout");
        assert!(s.policies_isolate(co));
        assert!(reach(&s, "checkout", "cart", 8080));
        assert!(!reach(&s, "checkout", "prober", 8080));
        assert!(!reach(&s, "cart", "checkout", 8080), "ingress isolated");
    }

    #[test]
    fn namespace_selector_uses_labels_and_the_metadata_name_label() {
        let s = cluster(&[ingress_to_checkout(
            json!([{"namespaceSelector": {"matchLabels": {"team": "ops"}}}]),
        )]);
        assert!(reach(&s, "prober", "checkout", 8080));
        assert!(!reach(&s, "cart", "checkout", 8080), "shop is not team=ops");
        let s = cluster(&[ingress_to_checkout(json!([{"namespaceSelector": {
            "matchLabels": {"kubernetes.io/metadata.name": "shop"}}}]))]);
        assert!(reach(&s, "cart", "checkout", 8080));
        assert!(!reach(&s, "prober", "checkout", 8080));
    }

    #[test]
    fn pod_and_namespace_selector_in_one_peer_are_anded() {
        // One peer: pods labelled app=cart IN namespaces team=ops: none.
        let and = ingress_to_checkout(json!([{
            "namespaceSelector": {"matchLabels": {"team": "ops"}},
            "podSelector": {"matchLabels": {"app": "cart"}}}]));
        let s = cluster(&[and]);
        assert!(!reach(&s, "cart", "checkout", 8080));
        assert!(!reach(&s, "prober", "checkout", 8080));
        // Two peers: either.
        let or = ingress_to_checkout(json!([
            {"namespaceSelector": {"matchLabels": {"team": "ops"}}},
            {"podSelector": {"matchLabels": {"app": "cart"}}}]));
        let s = cluster(&[or]);
        assert!(reach(&s, "cart", "checkout", 8080));
        assert!(reach(&s, "prober", "checkout", 8080));
        // A podSelector alone is the policy's namespace only.
        let ops_cart = pod("ops", "cart2", "cart", "10.244.2.3");
        let alone = ingress_to_checkout(json!([{"podSelector": {"matchLabels": {"app": "cart"}}}]));
        let s = cluster(&[ops_cart, alone]);
        assert!(!reach(&s, "cart2", "checkout", 8080));
    }

    #[test]
    fn ip_block_with_except() {
        let s = cluster(&[ingress_to_checkout(json!([{"ipBlock": {
            "cidr": "10.244.0.0/16", "except": ["10.244.2.0/24"]}}]))]);
        assert!(reach(&s, "cart", "checkout", 8080));
        assert!(!reach(&s, "prober", "checkout", 8080), "in except");
        let co = find(&s, "checkout");
        assert!(!s.connection_allowed(
            Endpoint::External(EXTERNAL_CLIENT),
            Endpoint::Pod(co),
            8080,
            "TCP"
        ));
        let s = cluster(&[ingress_to_checkout(
            json!([{"ipBlock": {"cidr": "0.0.0.0/0"}}]),
        )]);
        let co = find(&s, "checkout");
        assert!(s.connection_allowed(
            Endpoint::External(EXTERNAL_CLIENT),
            Endpoint::Pod(co),
            8080,
            "TCP"
        ));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(
            Cidr::parse("fd00::/8")
                .unwrap()
                .contains("fd12::1".parse().unwrap())
        );
    }

    #[test]
    fn named_port_resolves_against_the_destination_pod() {
        let s = cluster(&[policy(
            "shop",
            "in",
            json!({"podSelector": {}, "ingress": [{"ports": [{"port": "http"}]}]}),
        )]);
        assert!(reach(&s, "cart", "checkout", 8080));
        assert!(!reach(&s, "cart", "checkout", 9090));
        // `metrics` has no protocol: TCP by default.
        let s = cluster(&[policy(
            "shop",
            "in",
            json!({"podSelector": {}, "ingress": [{"ports": [{"port": "metrics"}, {"port": "nope"}]}]}),
        )]);
        assert!(reach(&s, "cart", "checkout", 9090));
        assert!(!reach(&s, "cart", "checkout", 8080));
    }

    #[test]
    fn udp_only_rule_does_not_allow_tcp_and_dns_is_reached_by_name() {
        let dns_udp = policy(
            "shop",
            "dns",
            json!({"podSelector": {}, "policyTypes": ["Egress"],
                   "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]}),
        );
        let s = cluster(&[dns_udp]);
        let (co, dns) = (find(&s, "checkout"), s.dns_server());
        assert!(s.egress_allows(co, Endpoint::Pod(&dns), 53, "UDP"));
        assert!(!s.egress_allows(co, Endpoint::Pod(&dns), 53, "TCP"));
        // Allowing the DNS pods by namespace and label, as guides write it.
        let by_label = policy(
            "shop",
            "dns",
            json!({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
                "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                "ports": [{"port": "dns", "protocol": "UDP"}]}]}),
        );
        let s = cluster(&[by_label]);
        let (co, dns) = (find(&s, "checkout"), s.dns_server());
        assert!(s.egress_allows(co, Endpoint::Pod(&dns), 53, "UDP"));
        assert!(!s.egress_allows(co, Endpoint::Pod(find(&s, "cart")), 53, "UDP"));
    }

    fn range_policy() -> Value {
        policy(
            "shop",
            "range",
            json!({"podSelector": {}, "ingress": [{"ports": [{"port": 8000, "endPort": 8100}]}]}),
        )
    }

    #[test]
    fn end_port_range_and_a_cni_without_end_port() {
        let mut s = cluster(&[range_policy()]);
        assert!(reach(&s, "cart", "checkout", 8080));
        assert!(!reach(&s, "cart", "checkout", 9090));
        s.network.end_port = EndPortSupport::Ignored;
        assert!(!reach(&s, "cart", "checkout", 8080), "only port 8000 now");
        assert!(reach(&s, "cart", "checkout", 8000));
    }

    #[test]
    fn union_of_two_policies() {
        let only_cart =
            ingress_to_checkout(json!([{"podSelector": {"matchLabels": {"app": "cart"}}}]));
        let only_ops = policy(
            "shop",
            "ops",
            json!({"podSelector": {"matchLabels": {"app": "checkout"}},
                   "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "ops"}}}],
                                "ports": [{"port": 9090}]}]}),
        );
        let s = cluster(std::slice::from_ref(&only_cart));
        assert!(!reach(&s, "prober", "checkout", 9090));
        let s = cluster(&[only_cart, only_ops]);
        assert!(reach(&s, "cart", "checkout", 8080));
        assert!(reach(&s, "prober", "checkout", 9090));
        assert!(!reach(&s, "prober", "checkout", 8080));
    }

    #[test]
    fn both_directions_must_allow() {
        let cart_no_egress = policy(
            "shop",
            "cart-out",
            json!({"podSelector": {"matchLabels": {"app": "cart"}}, "policyTypes": ["Egress"]}),
        );
        let s = cluster(&[cart_no_egress]);
        assert!(
            !reach(&s, "cart", "checkout", 8080),
            "caller's egress denies"
        );
        assert!(
            reach(&s, "checkout", "cart", 8080),
            "cart's ingress is open"
        );
    }

    #[test]
    fn an_ignoring_cni_stores_policies_but_lets_everything_through() {
        let deny_all = policy(
            "shop",
            "deny",
            json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        );
        let mut s = cluster(&[deny_all]);
        assert!(!reach(&s, "cart", "checkout", 8080));
        s.network = NetworkSpec {
            network_policy: PolicyEnforcement::Ignored,
            ..NetworkSpec::default()
        };
        assert_eq!(s.network_policies.len(), 1, "still stored");
        assert!(reach(&s, "cart", "checkout", 8080));
        let co = find(&s, "checkout");
        assert!(s.egress_allows(co, Endpoint::Pod(&s.dns_server()), 53, "UDP"));
    }

    #[test]
    fn host_network_pods_are_not_selected() {
        let mut agent = pod("shop", "agent", "checkout", "10.0.0.5");
        agent["spec"]["hostNetwork"] = json!(true);
        let deny_all = policy(
            "shop",
            "deny",
            json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        );
        let s = cluster(&[agent, deny_all]);
        let a = find(&s, "agent");
        assert!(!s.policies_isolate(a));
        assert!(s.egress_allows(a, Endpoint::Pod(&s.dns_server()), 53, "UDP"));
        assert!(s.ingress_allows(a, Endpoint::External(EXTERNAL_CLIENT), 8080, "TCP"));
        // ...while the same labels on a pod network pod are isolated.
        assert!(s.policies_isolate(find(&s, "checkout")));
    }

    #[test]
    fn malformed_peers_match_nothing() {
        let s = cluster(&[ingress_to_checkout(
            json!([{"ipBlock": {"cidr": "nonsense"}}, {}]),
        )]);
        assert!(!reach(&s, "cart", "checkout", 8080));
    }
}

//! The traffic model: what users and services would see if the sandbox's
//! pods were real.
//!
//! Each tick, every Service receives its external rate plus the calls of the
//! Services that call it, spreads the requests evenly over its ready and
//! reachable pods (as kube-proxy does), and answers each one:
//! - `503` when no pod is ready and reachable, or when a pod is past its
//!   capacity (the excess is shed), or for a few seconds after a pod vanished
//!   without terminating first (a kill with no grace period): until the
//!   endpoint removal propagates, its share of requests hits a dead address;
//! - `504` when packet loss defeats a retransmission;
//! - `502` when a downstream call fails (including egress that a
//!   NetworkPolicy forbids), so failures propagate to callers;
//! - `504` after a connect timeout for a request whose source the pod's
//!   ingress policy drops (the packets vanish, nothing answers), see
//!   [`crate::netpol`];
//! - `200` otherwise, with a latency that grows with utilisation
//!   (queueing-style, `1 + ρ²/(1-ρ)`), with CPU and memory stress, with
//!   network delay and jitter (netem delays every packet the pod sends, so
//!   the response and each downstream call pay it once), with
//!   retransmissions, and with the latency of every downstream call.
//!
//! Randomness comes from one seeded ChaCha stream, so a seed and the same
//! sequence of snapshots and tick lengths give the same counters.

use std::collections::{BTreeMap, HashMap, HashSet};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::netpol::{EXTERNAL_CLIENT, Endpoint};
use super::snapshot::{FaultEffect, PodView, ServiceView, Snapshot};

/// `(namespace, name)` of a Service.
pub type ServiceKey = (String, String);

/// `(name, uid)` of a pod within a Service's namespace: a pod recreated with
/// the same name (StatefulSet) is a different pod.
type PodId = (String, String);

/// Histogram bucket upper bounds (seconds) of `http_request_duration_seconds`:
/// from a fast cache hit to a request stuck behind a timeout.
pub const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Status codes the model produces; all are exported from the first scrape
/// (at 0) so that `rate()` sees a series before its first increase.
pub const CODES: [u16; 4] = [200, 502, 503, 504];

/// About this many requests per Service and tick are simulated one by one;
/// more are represented by weighted samples, so cost does not grow with rate.
const SAMPLES_PER_SERVICE: u64 = 64;
/// ...but never fewer than this per pod, so every pod's behaviour shows.
const MIN_SAMPLES_PER_POD: u64 = 4;
/// What a request that fails fast (connection refused, shed) takes.
const FAST_FAIL_SECONDS: f64 = 0.002;
/// The TCP retransmission timeout a lost packet costs.
const RETRANSMIT_SECONDS: f64 = 0.2;
/// What a caller waits for a connection that a NetworkPolicy drops.
const CONNECT_TIMEOUT_SECONDS: f64 = 1.0;
/// Utilisation at which queueing latency stops growing (the pod sheds instead).
const MAX_QUEUE_RHO: f64 = 0.95;
/// How long a pod that vanished abruptly still receives requests: the time
/// an endpoint removal takes to reach every node's proxy.
const STALE_ENDPOINT_SECONDS: f64 = 4.0;

/// Cumulative counters for one Service, plus what the last tick looked like.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceStats {
    /// Requests by status code (monotonic).
    pub requests: BTreeMap<u16, u64>,
    /// Observations per bucket, not cumulative; the last slot is `+Inf` only.
    pub buckets: [u64; BUCKETS.len() + 1],
    pub sum_seconds: f64,
    pub count: u64,
    pub last: Outcome,
}

impl Default for ServiceStats {
    fn default() -> Self {
        ServiceStats {
            requests: CODES.iter().map(|c| (*c, 0)).collect(),
            buckets: [0; BUCKETS.len() + 1],
            sum_seconds: 0.0,
            count: 0,
            last: Outcome::default(),
        }
    }
}

impl ServiceStats {
    fn observe(&mut self, code: u16, seconds: f64, weight: u64) {
        if weight == 0 {
            return;
        }
        *self.requests.entry(code).or_insert(0) += weight;
        let idx = BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(BUCKETS.len());
        self.buckets[idx] += weight;
        self.sum_seconds += seconds * weight as f64;
        self.count += weight;
    }

    pub fn total(&self) -> u64 {
        self.requests.values().sum()
    }

    pub fn errors(&self) -> u64 {
        self.requests
            .iter()
            .filter(|(c, _)| **c >= 500)
            .map(|(_, n)| n)
            .sum()
    }
}

/// The expected behaviour of a Service during the last tick.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Outcome {
    /// Requests/s arriving (external plus callers).
    pub load_rps: f64,
    /// Ready, reachable pods.
    pub endpoints: usize,
    /// Load over the endpoints' combined capacity.
    pub utilisation: f64,
    /// Expected fraction of requests answered 2xx.
    pub success_ratio: f64,
    /// Expected latency of a request, downstream calls included.
    pub mean_latency_seconds: f64,
}

pub struct TrafficModel {
    rng: ChaCha8Rng,
    stats: BTreeMap<ServiceKey, ServiceStats>,
    /// Model time: the sum of every tick's `dt`, in seconds.
    now: f64,
    /// Each Service's endpoints at the last tick.
    prev_endpoints: HashMap<ServiceKey, Vec<PodId>>,
    /// Endpoints that vanished without terminating, with their expiry time.
    stale: HashMap<ServiceKey, Vec<(PodId, f64)>>,
}

/// Per-pod figures shared by the expected outcome and the sampling.
struct PodPlan {
    shed: f64,
    loss: f64,
    /// Own latency without network delay, retransmits or downstream calls.
    service_seconds: f64,
    /// Added to each round trip that leaves the pod (see `round_trips`).
    delay_seconds: f64,
    jitter_seconds: f64,
    /// The response plus one per downstream call.
    round_trips: u32,
    /// Share of the pod's requests whose source its ingress policy drops.
    refused: f64,
    /// Per downstream call: the share of the callee's endpoints this pod's
    /// egress policy (and DNS) lets it reach; kube-proxy spreads
    /// connections evenly, so the rest time out.
    egress_ok: Vec<f64>,
}

impl TrafficModel {
    pub fn new(seed: u64) -> TrafficModel {
        TrafficModel {
            rng: ChaCha8Rng::seed_from_u64(seed),
            stats: BTreeMap::new(),
            now: 0.0,
            prev_endpoints: HashMap::new(),
            stale: HashMap::new(),
        }
    }

    pub fn stats(&self, namespace: &str, name: &str) -> Option<&ServiceStats> {
        self.stats.get(&(namespace.to_string(), name.to_string()))
    }

    /// Every Service seen so far, in `(namespace, name)` order.
    pub fn services(&self) -> impl Iterator<Item = (&ServiceKey, &ServiceStats)> {
        self.stats.iter()
    }

    /// Advances the model by `dt` against the cluster as it is now: find
    /// each Service's endpoints, age the stale ones, push load from callers
    /// to callees, then settle outcomes from callees back to callers.
    pub fn tick(&mut self, snapshot: &Snapshot, dt: std::time::Duration) {
        let dt = dt.as_secs_f64();
        self.now += dt;
        let tick_start = self.now - dt;
        let graph = CallGraph::of(snapshot);
        let stale_counts = self.track_stale_endpoints(snapshot, &graph, tick_start);
        let (load, plans) = self.spread_load(snapshot, &graph, &stale_counts);
        self.settle(&graph, &load, &plans, dt);
    }

    /// Endpoints that were there last tick and whose pod was deleted with
    /// no grace period keep receiving requests for a while. A pod deleted
    /// with a grace period (an eviction, a controller scaling down, a
    /// plain delete) leaves the endpoints before it stops serving. Returns
    /// how many stale endpoints each Service has this tick, and remembers
    /// this tick's endpoints for the next.
    fn track_stale_endpoints(
        &mut self,
        snapshot: &Snapshot,
        graph: &CallGraph<'_>,
        tick_start: f64,
    ) -> Vec<usize> {
        let present: HashSet<(&str, &str, &str)> = snapshot
            .pods
            .iter()
            .map(|p| (p.namespace.as_str(), p.name.as_str(), p.uid.as_str()))
            .collect();
        let mut prev = std::mem::take(&mut self.prev_endpoints);
        let mut stale_counts = vec![0usize; graph.services.len()];
        for (i, svc) in graph.services.iter().enumerate() {
            let key = (svc.namespace.clone(), svc.name.clone());
            let stale = self.stale.entry(key.clone()).or_default();
            stale.retain(|(_, expires)| *expires > tick_start);
            for (name, uid) in prev.remove(&key).unwrap_or_default() {
                let gone =
                    !present.contains(&(svc.namespace.as_str(), name.as_str(), uid.as_str()))
                        && snapshot.abrupt_deletions.contains(&(
                            svc.namespace.clone(),
                            name.clone(),
                            uid.clone(),
                        ));
                if gone && !stale.iter().any(|(id, _)| id.0 == name && id.1 == uid) {
                    stale.push(((name, uid), tick_start + STALE_ENDPOINT_SECONDS));
                }
            }
            stale_counts[i] = stale.len();
            self.prev_endpoints.insert(
                key,
                graph.endpoints[i]
                    .iter()
                    .map(|p| (p.name.clone(), p.uid.clone()))
                    .collect(),
            );
        }
        self.stale.retain(|_, v| !v.is_empty());
        stale_counts
    }

    /// Pass 1, callers before callees: how much load reaches each Service,
    /// and each endpoint's plan (stale endpoints are dead ones).
    fn spread_load(
        &mut self,
        snapshot: &Snapshot,
        graph: &CallGraph<'_>,
        stale_counts: &[usize],
    ) -> (Vec<f64>, Vec<Vec<PodPlan>>) {
        let CallGraph {
            services,
            calls,
            order,
            endpoints,
            ..
        } = graph;
        let mut load = vec![0.0f64; services.len()];
        // Where each Service's load comes from, for ingress policy.
        let mut sources: Vec<Vec<(Endpoint<'_>, f64)>> = vec![Vec::new(); services.len()];
        for (i, svc) in services.iter().enumerate() {
            let noise = 1.0 + self.rng.random_range(-0.05..=0.05);
            load[i] = svc.requests_per_second * noise;
            sources[i].push((Endpoint::External(EXTERNAL_CLIENT), load[i]));
        }
        let mut plans: Vec<Vec<PodPlan>> = (0..services.len()).map(|_| Vec::new()).collect();
        for &i in order {
            let slots = (endpoints[i].len() + stale_counts[i]) as f64;
            plans[i] = endpoints[i]
                .iter()
                .map(|pod| plan_pod(snapshot, graph, i, pod, load[i] / slots, &sources[i]))
                .collect();
            plans[i].extend((0..stale_counts[i]).map(|_| PodPlan::dead(calls[i].len())));
            let share = 1.0 / plans[i].len().max(1) as f64;
            for (j, target) in calls[i].iter().enumerate() {
                let Some(t) = *target else { continue };
                for (pod, p) in endpoints[i].iter().zip(&plans[i]) {
                    let sent =
                        load[i] * share * (1.0 - p.refused) * (1.0 - p.shed) * p.egress_ok[j];
                    load[t] += sent;
                    sources[t].push((Endpoint::Pod(pod), sent));
                }
            }
        }
        (load, plans)
    }

    /// Pass 2, callees before callers: expected outcome, then sampled requests.
    fn settle(&mut self, graph: &CallGraph<'_>, load: &[f64], plans: &[Vec<PodPlan>], dt: f64) {
        let services = &graph.services;
        let mut outcomes = vec![Outcome::default(); services.len()];
        let mut done = vec![false; services.len()];
        for &i in graph.order.iter().rev() {
            let svc = services[i];
            let downstream: Vec<(f64, f64)> = graph.calls[i]
                .iter()
                .map(|t| match t {
                    Some(t) if done[*t] => (
                        outcomes[*t].success_ratio,
                        outcomes[*t].mean_latency_seconds,
                    ),
                    // A call into a cycle: assume it succeeds at its base latency.
                    Some(t) => (1.0, services[*t].base_latency.as_secs_f64()),
                    // A call to a Service that does not exist fails fast.
                    None => (0.0, FAST_FAIL_SECONDS),
                })
                .collect();
            let outcome = expected_outcome(load[i], &graph.endpoints[i], &plans[i], &downstream);
            outcomes[i] = outcome;
            done[i] = true;

            let key = (svc.namespace.clone(), svc.name.clone());
            let stats = self.stats.entry(key).or_default();
            stats.last = outcome;
            let n = stochastic_round(&mut self.rng, load[i] * dt);
            if plans[i].is_empty() {
                stats.observe(503, FAST_FAIL_SECONDS, n);
                continue;
            }
            let per_pod = split(&mut self.rng, n, plans[i].len());
            let cap = (SAMPLES_PER_SERVICE / plans[i].len() as u64).max(MIN_SAMPLES_PER_POD);
            for (plan, n_pod) in plans[i].iter().zip(per_pod) {
                sample_pod(&mut self.rng, stats, plan, &downstream, n_pod, cap);
            }
        }
    }
}

/// The Services of one snapshot as a call graph, in `(namespace, name)`
/// order so a tick does not depend on the snapshot's order.
struct CallGraph<'s> {
    services: Vec<&'s ServiceView>,
    /// Each Service's calls, as indices into `services`; `None` for a
    /// Service that does not exist.
    calls: Vec<Vec<Option<usize>>>,
    /// Callers before callees ([`callers_first`]).
    order: Vec<usize>,
    /// Each Service's endpoints, by pod name.
    endpoints: Vec<Vec<&'s PodView>>,
    /// Where DNS queries go ([`Snapshot::dns_server`]).
    dns: PodView,
}

impl<'s> CallGraph<'s> {
    fn of(snapshot: &'s Snapshot) -> CallGraph<'s> {
        let mut services: Vec<&ServiceView> = snapshot.services.iter().collect();
        services.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        let index: HashMap<(&str, &str), usize> = services
            .iter()
            .enumerate()
            .map(|(i, s)| ((s.namespace.as_str(), s.name.as_str()), i))
            .collect();
        let calls: Vec<Vec<Option<usize>>> = services
            .iter()
            .map(|s| {
                s.calls
                    .iter()
                    .map(|(ns, n)| index.get(&(ns.as_str(), n.as_str())).copied())
                    .collect()
            })
            .collect();
        let order = callers_first(&calls);
        let endpoints = endpoints(snapshot, &services);
        CallGraph {
            services,
            calls,
            order,
            endpoints,
            dns: snapshot.dns_server(),
        }
    }
}

/// Each Service's endpoints: the pods in its namespace that its (non-empty)
/// selector matches and that are endpoints (ready, not terminating); sorted
/// by name. NetworkPolicies do not change Endpoints: they drop packets.
fn endpoints<'s>(snapshot: &'s Snapshot, services: &[&ServiceView]) -> Vec<Vec<&'s PodView>> {
    let mut pods_by_ns: HashMap<&str, Vec<&PodView>> = HashMap::new();
    for p in &snapshot.pods {
        pods_by_ns.entry(p.namespace.as_str()).or_default().push(p);
    }
    services
        .iter()
        .map(|svc| {
            let mut eps: Vec<&PodView> = pods_by_ns
                .get(svc.namespace.as_str())
                .map(|pods| {
                    pods.iter()
                        .copied()
                        .filter(|p| {
                            !svc.selector.is_empty()
                                && svc.selector.iter().all(|(k, v)| p.labels.get(k) == Some(v))
                                && p.is_endpoint()
                        })
                        .collect()
                })
                .unwrap_or_default();
            eps.sort_by(|a, b| a.name.cmp(&b.name));
            eps
        })
        .collect()
}

/// A Service's expected outcome this tick: its load against its endpoints'
/// capacity, and success and latency averaged over its endpoints' plans
/// (no plan at all: every request fails fast).
fn expected_outcome(
    load: f64,
    endpoints: &[&PodView],
    plans: &[PodPlan],
    downstream: &[(f64, f64)],
) -> Outcome {
    let capacity: f64 = endpoints.iter().map(|p| p.capacity_rps).sum();
    let mut outcome = Outcome {
        load_rps: load,
        endpoints: endpoints.len(),
        utilisation: if capacity > 0.0 {
            load / capacity
        } else {
            f64::INFINITY
        },
        success_ratio: 0.0,
        mean_latency_seconds: FAST_FAIL_SECONDS,
    };
    if !plans.is_empty() {
        let share = 1.0 / plans.len() as f64;
        let (mut s, mut l) = (0.0, 0.0);
        for p in plans {
            let (ps, pl) = expected(p, downstream);
            s += share * ps;
            l += share * pl;
        }
        outcome.success_ratio = s;
        outcome.mean_latency_seconds = l;
    }
    outcome
}

impl PodPlan {
    /// A vanished pod still in the endpoint list: every request fails fast.
    fn dead(calls: usize) -> PodPlan {
        PodPlan {
            shed: 1.0,
            loss: 0.0,
            service_seconds: 0.0,
            delay_seconds: 0.0,
            jitter_seconds: 0.0,
            round_trips: 1,
            refused: 0.0,
            egress_ok: vec![1.0; calls],
        }
    }
}

/// Figures for one endpoint pod receiving `pod_load` requests/s.
fn plan_pod(
    snapshot: &Snapshot,
    graph: &CallGraph<'_>,
    i: usize,
    pod: &PodView,
    pod_load: f64,
    sources: &[(Endpoint<'_>, f64)],
) -> PodPlan {
    let (svc, calls) = (graph.services[i], &graph.calls[i]);
    let mut capacity = pod.capacity_rps;
    let mut slowdown = 1.0;
    let (mut delay, mut jitter, mut loss) = (0.0f64, 0.0f64, 0.0f64);
    for effect in &pod.effects {
        match *effect {
            // Stress workers compete for the pod's CPU: each one takes a
            // share of what the app could serve and slows every request.
            FaultEffect::CpuStress { workers } => {
                let w = f64::from(workers.max(1));
                capacity /= 1.0 + 0.5 * w;
                slowdown *= 1.0 + 0.5 * w;
            }
            // Memory pressure costs reclaim and GC time rather than capacity.
            FaultEffect::MemoryStress { bytes } => {
                slowdown *= 1.0 + (bytes as f64 / (1u64 << 30) as f64).min(4.0) * 0.25;
            }
            FaultEffect::NetworkDelay {
                latency_ms,
                jitter_ms,
            } => {
                delay += latency_ms / 1000.0;
                jitter = jitter.max(jitter_ms / 1000.0);
            }
            FaultEffect::PacketLoss { percent } => {
                loss = 1.0 - (1.0 - loss) * (1.0 - percent / 100.0);
            }
        }
    }
    let rho = if capacity > 0.0 {
        pod_load / capacity
    } else {
        f64::INFINITY
    };
    let shed = if rho > 1.0 { 1.0 - 1.0 / rho } else { 0.0 };
    let q = rho.min(MAX_QUEUE_RHO);
    let queueing = 1.0 + q * q / (1.0 - q);
    let total: f64 = sources.iter().map(|(_, l)| l).sum();
    let dropped: f64 = sources
        .iter()
        .filter(|(src, _)| !snapshot.ingress_allows(pod, *src, svc.port, "TCP"))
        .map(|(_, l)| l)
        .sum();
    PodPlan {
        refused: if total > 0.0 { dropped / total } else { 0.0 },
        egress_ok: egress_shares(snapshot, graph, pod, calls),
        shed,
        loss,
        service_seconds: svc.base_latency.as_secs_f64() * queueing * slowdown,
        delay_seconds: delay,
        jitter_seconds: jitter,
        round_trips: 1 + calls.len() as u32,
    }
}

/// Per call of `pod`: the share of the callee's endpoints its egress
/// policy lets it reach. Calls go out by name, so without DNS (a UDP query
/// to the cluster DNS on 53: resolvers try UDP first) no call is made. A
/// callee with no endpoints counts as reachable: it answers 503 itself.
fn egress_shares(
    snapshot: &Snapshot,
    graph: &CallGraph<'_>,
    pod: &PodView,
    calls: &[Option<usize>],
) -> Vec<f64> {
    let dns_ok = snapshot.egress_allows(pod, Endpoint::Pod(&graph.dns), 53, "UDP");
    calls
        .iter()
        .map(|t| match t {
            Some(_) if !dns_ok => 0.0,
            Some(t) if graph.endpoints[*t].is_empty() => 1.0,
            Some(t) => {
                let eps = &graph.endpoints[*t];
                let port = graph.services[*t].port;
                let ok = eps
                    .iter()
                    .filter(|e| snapshot.egress_allows(pod, Endpoint::Pod(e), port, "TCP"))
                    .count();
                ok as f64 / eps.len() as f64
            }
            None => 1.0,
        })
        .collect()
}

/// Expected (success ratio, mean latency) of a request to one pod.
fn expected(p: &PodPlan, downstream: &[(f64, f64)]) -> (f64, f64) {
    let served = 1.0 - p.shed;
    let through = 1.0 - p.loss * p.loss;
    let mut success = served * through;
    let mut latency = p.service_seconds
        + p.delay_seconds * f64::from(p.round_trips)
        + p.loss * RETRANSMIT_SECONDS;
    for (ok, (s, l)) in p.egress_ok.iter().zip(downstream) {
        success *= ok * s;
        latency += ok * l + (1.0 - ok) * CONNECT_TIMEOUT_SECONDS;
    }
    let shed_latency = p.shed * FAST_FAIL_SECONDS;
    let admitted = 1.0 - p.refused;
    (
        admitted * success,
        admitted * (served * latency + shed_latency) + p.refused * CONNECT_TIMEOUT_SECONDS,
    )
}

/// Simulates `n` requests to one pod, recording codes and latencies.
fn sample_pod(
    rng: &mut ChaCha8Rng,
    stats: &mut ServiceStats,
    p: &PodPlan,
    downstream: &[(f64, f64)],
    n: u64,
    max_samples: u64,
) {
    if n == 0 {
        return;
    }
    let k = n.min(max_samples);
    let (base_w, extra) = (n / k, n % k);
    for s in 0..k {
        let weight = base_w + u64::from(s < extra);
        // Only a pod that drops some sources draws for it, so the stream
        // (and every other counter) is unchanged without policies.
        if p.refused > 0.0 && rng.random::<f64>() < p.refused {
            stats.observe(504, CONNECT_TIMEOUT_SECONDS, weight);
            continue;
        }
        if rng.random::<f64>() < p.shed {
            stats.observe(503, FAST_FAIL_SECONDS * (1.0 + rng.random::<f64>()), weight);
            continue;
        }
        let mut latency =
            p.service_seconds * lognormal(rng, 0.25) + p.delay_seconds * f64::from(p.round_trips);
        if p.jitter_seconds > 0.0 {
            for _ in 0..p.round_trips {
                latency += rng.random_range(-p.jitter_seconds..=p.jitter_seconds);
            }
        }
        let mut code = 200;
        if p.loss > 0.0 && rng.random::<f64>() < p.loss {
            latency += RETRANSMIT_SECONDS;
            if rng.random::<f64>() < p.loss {
                // The retransmission was lost too: the client gives up.
                code = 504;
                latency += CONNECT_TIMEOUT_SECONDS;
            }
        }
        if code == 200 {
            for (ok, (succ, lat)) in p.egress_ok.iter().zip(downstream) {
                if *ok < 1.0 && (*ok <= 0.0 || rng.random::<f64>() >= *ok) {
                    code = 502;
                    latency += CONNECT_TIMEOUT_SECONDS;
                    break;
                }
                latency += lat * lognormal(rng, 0.25);
                if rng.random::<f64>() >= *succ {
                    code = 502;
                    break;
                }
            }
        }
        stats.observe(code, latency.max(0.0), weight);
    }
}

/// A multiplicative noise factor with median 1 (log-normal), because
/// request latencies are skewed to the right.
fn lognormal(rng: &mut ChaCha8Rng, sigma: f64) -> f64 {
    // Box–Muller: rand_distr is not worth a dependency for one normal draw.
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    (sigma * z).exp()
}

/// Rounds `x` up with probability equal to its fraction, so low rates still
/// produce requests on average.
fn stochastic_round(rng: &mut ChaCha8Rng, x: f64) -> u64 {
    if !(x.is_finite() && x > 0.0) {
        return 0;
    }
    let floor = x.floor();
    floor as u64 + u64::from(rng.random::<f64>() < x - floor)
}

/// Splits `n` requests evenly over `parts` pods, the remainder to random ones.
fn split(rng: &mut ChaCha8Rng, n: u64, parts: usize) -> Vec<u64> {
    let parts64 = parts as u64;
    let mut out = vec![n / parts64; parts];
    for _ in 0..(n % parts64) {
        let i = rng.random_range(0..parts);
        out[i] += 1;
    }
    out
}

/// Service indices ordered so that every caller comes before the Services it
/// calls. Edges that close a cycle are ignored.
fn callers_first(calls: &[Vec<Option<usize>>]) -> Vec<usize> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut marks = vec![Mark::New; calls.len()];
    let mut post = Vec::with_capacity(calls.len());
    for root in 0..calls.len() {
        if marks[root] != Mark::New {
            continue;
        }
        // Iterative DFS: (node, next edge index).
        let mut stack = vec![(root, 0usize)];
        marks[root] = Mark::Active;
        while let Some(&mut (node, ref mut edge)) = stack.last_mut() {
            if let Some(next) = calls[node].get(*edge) {
                *edge += 1;
                if let Some(t) = *next
                    && marks[t] == Mark::New
                {
                    marks[t] = Mark::Active;
                    stack.push((t, 0));
                }
            } else {
                marks[node] = Mark::Done;
                post.push(node);
                stack.pop();
            }
        }
    }
    post.reverse();
    post
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{Value, json};

    use super::*;
    use crate::world::World;

    /// The shop world with every workload's pods running and ready.
    fn shop_objects() -> Vec<Value> {
        let objs = World::shop().unwrap().to_objects();
        let mut out = objs.clone();
        for o in &objs {
            if o["kind"] != "Deployment" && o["kind"] != "StatefulSet" {
                continue;
            }
            let n = o["spec"]["replicas"].as_u64().unwrap();
            for i in 0..n {
                out.push(ready_pod(o, i));
            }
        }
        out
    }

    fn ready_pod(workload: &Value, i: u64) -> Value {
        let tpl = &workload["spec"]["template"];
        json!({
            "kind": "Pod",
            "metadata": {
                "name": format!("{}-{i}", workload["metadata"]["name"].as_str().unwrap()),
                "namespace": workload["metadata"]["namespace"],
                "labels": tpl["metadata"]["labels"],
                "annotations": tpl["metadata"]["annotations"],
            },
            "spec": {"nodeName": "node-blue-1", "containers": tpl["spec"]["containers"]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        })
    }

    fn without_pods_of(objs: &[Value], app: &str) -> Vec<Value> {
        objs.iter()
            .filter(|o| !(o["kind"] == "Pod" && o["metadata"]["labels"]["app"] == app))
            .cloned()
            .collect()
    }

    fn run(objs: &[Value], seed: u64, ticks: u32) -> TrafficModel {
        let snap = Snapshot::from_objects(objs);
        let mut m = TrafficModel::new(seed);
        for _ in 0..ticks {
            m.tick(&snap, Duration::from_secs(1));
        }
        m
    }

    fn error_ratio(m: &TrafficModel, ns: &str, name: &str) -> f64 {
        let s = m.stats(ns, name).unwrap();
        s.errors() as f64 / s.total().max(1) as f64
    }

    fn mean_latency(m: &TrafficModel, ns: &str, name: &str) -> f64 {
        let s = m.stats(ns, name).unwrap();
        s.sum_seconds / s.count.max(1) as f64
    }

    #[test]
    fn healthy_shop_serves_nearly_everything() {
        let m = run(&shop_objects(), 1, 30);
        for (key, s) in m.services() {
            assert!(s.total() > 0, "{key:?} got no traffic");
            assert_eq!(s.errors(), 0, "{key:?}: {:?}", s.requests);
        }
        let co = m.stats("shop", "checkout").unwrap();
        // frontend sends its 40 rps to checkout: about 1200 in 30 s.
        assert!((1000..1400).contains(&co.total()), "{}", co.total());
    }

    #[test]
    fn same_seed_same_counters_and_different_seed_differs() {
        let objs = shop_objects();
        let a = run(&objs, 7, 10);
        let b = run(&objs, 7, 10);
        let c = run(&objs, 8, 10);
        let counters = |m: &TrafficModel| {
            m.services()
                .map(|(k, s)| (k.clone(), s.requests.clone(), s.buckets))
                .collect::<Vec<_>>()
        };
        assert_eq!(counters(&a), counters(&b));
        assert_ne!(counters(&a), counters(&c));
    }

    #[test]
    fn no_ready_pod_means_503_and_callers_fail() {
        let objs = without_pods_of(&shop_objects(), "checkout");
        let m = run(&objs, 1, 10);
        let co = m.stats("shop", "checkout").unwrap();
        assert_eq!(co.requests[&200], 0);
        assert!(co.requests[&503] > 300, "{:?}", co.requests);
        // frontend calls checkout on every request: it fails with 502.
        let fe = m.stats("shop", "frontend").unwrap();
        assert!(
            error_ratio(&m, "shop", "frontend") > 0.99,
            "{:?}",
            fe.requests
        );
        assert!(fe.requests[&502] > 0);
        // checkout no longer calls payments-api: its load drops to zero.
        assert_eq!(m.stats("payments", "payments-api").unwrap().total(), 0);
        // cart is not behind checkout and stays healthy.
        assert_eq!(error_ratio(&m, "shop", "cart"), 0.0);
    }

    #[test]
    fn unready_pods_are_not_endpoints() {
        let mut objs = shop_objects();
        for o in objs.iter_mut() {
            if o["kind"] == "Pod" && o["metadata"]["labels"]["app"] == "payments-api" {
                o["status"]["conditions"][0]["status"] = json!("False");
            }
        }
        let m = run(&objs, 1, 5);
        assert_eq!(error_ratio(&m, "payments", "payments-api"), 1.0);
        assert!(error_ratio(&m, "shop", "checkout") > 0.99);
    }

    #[test]
    fn past_capacity_sheds_and_latency_rises_with_load() {
        let base = shop_objects();
        // checkout gets 40 rps; capacity 30 per pod.
        let one_pod: Vec<Value> = base
            .iter()
            .filter(|o| {
                !(o["kind"] == "Pod"
                    && o["metadata"]["labels"]["app"] == "checkout"
                    && o["metadata"]["name"] != "checkout-0")
            })
            .cloned()
            .collect();
        let two_pods: Vec<Value> = base
            .iter()
            .filter(|o| {
                !(o["kind"] == "Pod"
                    && o["metadata"]["labels"]["app"] == "checkout"
                    && !["checkout-0", "checkout-1"]
                        .contains(&o["metadata"]["name"].as_str().unwrap()))
            })
            .cloned()
            .collect();
        let full = run(&base, 3, 30);
        let two = run(&two_pods, 3, 30);
        let one = run(&one_pod, 3, 30);
        // Two pods (60 rps capacity for ~40 rps) still serve everything, slower.
        assert_eq!(error_ratio(&two, "shop", "checkout"), 0.0);
        assert!(two.stats("shop", "checkout").unwrap().last.utilisation > 0.6);
        let own = |m: &TrafficModel| {
            m.stats("shop", "checkout")
                .unwrap()
                .last
                .mean_latency_seconds
        };
        assert!(own(&two) > own(&full), "{} vs {}", own(&two), own(&full));
        // One pod (30 rps for ~40 rps) sheds about a quarter.
        let r = error_ratio(&one, "shop", "checkout");
        assert!((0.15..0.35).contains(&r), "{r}");
        assert!(one.stats("shop", "checkout").unwrap().requests[&503] > 0);
    }

    /// The shop with `effect` in force on every pod of `app`, as the
    /// node's runtime would report it.
    fn with_effect(objs: &[Value], app: &str, effect: FaultEffect) -> Snapshot {
        let mut snap = Snapshot::from_objects(objs);
        for p in &mut snap.pods {
            if p.labels.get("app").map(String::as_str) == Some(app) {
                std::sync::Arc::make_mut(p).effects = vec![effect.clone()];
            }
        }
        snap
    }

    fn run_snapshot(snap: &Snapshot, seed: u64, ticks: u32) -> TrafficModel {
        let mut m = TrafficModel::new(seed);
        for _ in 0..ticks {
            m.tick(snap, Duration::from_secs(1));
        }
        m
    }

    #[test]
    fn network_delay_adds_latency_and_propagates_to_callers() {
        let base = shop_objects();
        let slow = with_effect(
            &base,
            "payments-api",
            FaultEffect::NetworkDelay {
                latency_ms: 200.0,
                jitter_ms: 20.0,
            },
        );
        let a = run(&base, 5, 20);
        let b = run_snapshot(&slow, 5, 20);
        let d_pay = mean_latency(&b, "payments", "payments-api")
            - mean_latency(&a, "payments", "payments-api");
        let d_co = mean_latency(&b, "shop", "checkout") - mean_latency(&a, "shop", "checkout");
        // payments-api answers and makes two calls: three delayed round trips.
        assert!((0.55..0.65).contains(&d_pay), "{d_pay}");
        assert!((0.5..0.7).contains(&d_co), "{d_co}");
        assert_eq!(error_ratio(&b, "shop", "checkout"), 0.0);
    }

    #[test]
    fn cpu_stress_raises_latency() {
        let base = shop_objects();
        let hot = with_effect(&base, "checkout", FaultEffect::CpuStress { workers: 2 });
        let a = run(&base, 5, 20);
        let b = run_snapshot(&hot, 5, 20);
        let own = |m: &TrafficModel| {
            m.stats("shop", "checkout")
                .unwrap()
                .last
                .mean_latency_seconds
        };
        assert!(own(&b) > 2.0 * own(&a), "{} vs {}", own(&b), own(&a));
    }

    #[test]
    fn packet_loss_adds_errors_and_retries() {
        let base = shop_objects();
        let lossy = with_effect(&base, "checkout", FaultEffect::PacketLoss { percent: 30.0 });
        let a = run(&base, 5, 60);
        let b = run_snapshot(&lossy, 5, 60);
        let s = b.stats("shop", "checkout").unwrap();
        assert!(s.requests[&504] > 0, "{:?}", s.requests);
        let r = error_ratio(&b, "shop", "checkout");
        assert!((0.05..0.14).contains(&r), "{r}");
        assert!(mean_latency(&b, "shop", "checkout") > mean_latency(&a, "shop", "checkout") + 0.04);
        assert!(error_ratio(&b, "shop", "frontend") > 0.05);
    }

    #[test]
    fn deny_ingress_policy_makes_pods_unreachable() {
        let mut objs = shop_objects();
        objs.push(json!({"kind": "NetworkPolicy", "metadata": {"name": "gameday-partition", "namespace": "shop"},
            "spec": {"podSelector": {"matchLabels": {"app": "checkout"}}, "policyTypes": ["Ingress"]}}));
        let m = run(&objs, 1, 5);
        assert_eq!(error_ratio(&m, "shop", "checkout"), 1.0);
        let co = m.stats("shop", "checkout").unwrap();
        // Dropped packets: callers time out; the Endpoints are unchanged.
        assert_eq!(co.errors(), co.requests[&504], "{:?}", co.requests);
        assert_eq!(co.last.endpoints, 4);
        assert!(error_ratio(&m, "shop", "frontend") > 0.9);
    }

    /// `checkout` admits only `frontend` pods (by podSelector), so
    /// frontend's calls go through; a rule naming another app would not.
    #[test]
    fn ingress_peers_decide_who_gets_through() {
        let allow = |app: &str| {
            json!({"kind": "NetworkPolicy", "metadata": {"name": "checkout-in", "namespace": "shop"},
                "spec": {"podSelector": {"matchLabels": {"app": "checkout"}},
                         "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": app}}}]}]}})
        };
        let mut objs = shop_objects();
        objs.push(allow("frontend"));
        let m = run(&objs, 1, 5);
        assert_eq!(error_ratio(&m, "shop", "checkout"), 0.0);
        let mut objs = shop_objects();
        objs.push(allow("cart"));
        let m = run(&objs, 1, 5);
        assert_eq!(error_ratio(&m, "shop", "checkout"), 1.0);
    }

    /// A CNI that ignores policies (flannel): a stored deny-all changes
    /// nothing, counter for counter.
    #[test]
    fn an_ignoring_cni_makes_policies_have_no_effect() {
        let mut objs = shop_objects();
        objs.push(
            json!({"kind": "NetworkPolicy", "metadata": {"name": "deny-all", "namespace": "shop"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}),
        );
        let mut snap = Snapshot::from_objects(&objs);
        assert!(error_ratio(&run_snapshot(&snap, 3, 5), "shop", "frontend") > 0.9);
        snap.network.network_policy = crate::world::PolicyEnforcement::Ignored;
        let ignored = run_snapshot(&snap, 3, 5);
        let healthy = run(&shop_objects(), 3, 5);
        for (key, stats) in healthy.services() {
            let other = ignored.stats(&key.0, &key.1).unwrap();
            assert_eq!(stats.requests, other.requests, "{key:?}");
        }
    }

    /// Egress allowed to some of a callee's pods only: kube-proxy spreads
    /// connections over all of them, so that share of calls fails.
    #[test]
    fn egress_to_part_of_the_endpoints_fails_that_share() {
        let mut objs = shop_objects();
        for o in objs.iter_mut().filter(|o| o["kind"] == "Pod") {
            let name = o["metadata"]["name"].as_str().unwrap().to_string();
            o["status"]["podIP"] = json!(if name == "inventory-0" {
                "10.244.9.9"
            } else {
                "10.244.1.1"
            });
        }
        objs.push(json!({"kind": "NetworkPolicy", "metadata": {"name": "catalog-out", "namespace": "shop"},
            "spec": {"podSelector": {"matchLabels": {"app": "catalog"}}, "policyTypes": ["Egress"],
                     "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]},
                                {"to": [{"ipBlock": {"cidr": "10.244.0.0/16", "except": ["10.244.9.0/24"]}}]}]}}));
        let m = run(&objs, 1, 30);
        let r = error_ratio(&m, "shop", "catalog");
        // One of inventory's three pods is out of reach.
        assert!((0.2..0.45).contains(&r), "{r}");
    }

    #[test]
    fn dns_block_fails_calls_but_not_leaf_services() {
        let mut objs = shop_objects();
        // Allow all egress except DNS (the way a dnsBlock fault must express it).
        objs.push(json!({"kind": "NetworkPolicy", "metadata": {"name": "gameday-dns", "namespace": "shop"},
            "spec": {"podSelector": {"matchLabels": {"app": "checkout"}}, "policyTypes": ["Egress"],
                     "egress": [{"ports": [{"port": 8080}, {"port": 8443}]}]}}));
        let m = run(&objs, 1, 5);
        let co = m.stats("shop", "checkout").unwrap();
        assert_eq!(co.requests[&200], 0, "{:?}", co.requests);
        assert!(co.requests[&502] > 0);
        assert_eq!(error_ratio(&m, "shop", "inventory"), 0.0);
    }

    #[test]
    fn counters_are_monotonic_across_changing_snapshots() {
        let healthy = Snapshot::from_objects(&shop_objects());
        let broken = Snapshot::from_objects(&without_pods_of(&shop_objects(), "checkout"));
        let mut m = TrafficModel::new(9);
        let mut prev: BTreeMap<ServiceKey, (BTreeMap<u16, u64>, u64, f64)> = BTreeMap::new();
        for i in 0..20 {
            let snap = if i % 3 == 0 { &broken } else { &healthy };
            m.tick(snap, Duration::from_millis(250 + 50 * i));
            for (k, s) in m.services() {
                if let Some((reqs, count, sum)) = prev.get(k) {
                    for (code, n) in reqs {
                        assert!(s.requests[code] >= *n);
                    }
                    assert!(s.count >= *count && s.sum_seconds >= *sum);
                }
                assert_eq!(s.count, s.total());
                assert_eq!(s.buckets.iter().sum::<u64>(), s.count);
                prev.insert(k.clone(), (s.requests.clone(), s.count, s.sum_seconds));
            }
        }
    }

    #[test]
    fn a_pod_killed_abruptly_fails_its_share_until_endpoints_catch_up() {
        let healthy = shop_objects();
        let killed = healthy
            .iter()
            .filter(|o| !(o["kind"] == "Pod" && o["metadata"]["name"] == "checkout-0"))
            .cloned()
            .collect::<Vec<_>>();
        let mut m = TrafficModel::new(4);
        let before = Snapshot::from_objects(&healthy);
        // Deleted with no grace period: the store noted it.
        let mut after = Snapshot::from_objects(&killed);
        let victim = before.pods.iter().find(|p| p.name == "checkout-0").unwrap();
        after.abrupt_deletions.insert((
            victim.namespace.clone(),
            victim.name.clone(),
            victim.uid.clone(),
        ));
        for _ in 0..10 {
            m.tick(&before, Duration::from_secs(1));
        }
        assert_eq!(m.stats("shop", "checkout").unwrap().errors(), 0);
        let mut per_tick = Vec::new();
        for _ in 0..8 {
            let e0 = m.stats("shop", "checkout").unwrap().errors();
            m.tick(&after, Duration::from_secs(1));
            per_tick.push(m.stats("shop", "checkout").unwrap().errors() - e0);
        }
        // A quarter of ~40 rps fails for 4 s, then the 3 remaining pods serve all.
        assert!(
            per_tick[..4].iter().all(|e| (4..=18).contains(e)),
            "{per_tick:?}"
        );
        assert!(per_tick[4..].iter().all(|e| *e == 0), "{per_tick:?}");
        // A pod that terminates first (grace period) never fails requests.
        let mut graceful = healthy.clone();
        for o in graceful.iter_mut() {
            if o["metadata"]["name"] == "checkout-0" {
                o["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
            }
        }
        let mut m = TrafficModel::new(4);
        for snap in [&before, &Snapshot::from_objects(&graceful), &after, &after] {
            m.tick(snap, Duration::from_secs(1));
        }
        assert_eq!(m.stats("shop", "checkout").unwrap().errors(), 0);
        // So does one deleted with a grace period between two scrapes (the
        // store deletes at once, so no scrape saw it terminating).
        let mut m = TrafficModel::new(4);
        let gone_gracefully = Snapshot::from_objects(&killed);
        for snap in [&before, &gone_gracefully, &gone_gracefully] {
            m.tick(snap, Duration::from_secs(1));
        }
        assert_eq!(m.stats("shop", "checkout").unwrap().errors(), 0);
    }

    #[test]
    fn call_cycles_do_not_hang() {
        let mut objs = shop_objects();
        for o in objs.iter_mut() {
            if o["kind"] == "Service" && o["metadata"]["name"] == "ledger-db" {
                o["metadata"]["annotations"][crate::world::ANN_CALLS] = json!("shop/frontend");
            }
        }
        let m = run(&objs, 1, 3);
        assert!(m.stats("shop", "frontend").unwrap().total() > 0);
    }
}

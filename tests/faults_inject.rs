//! Each fault type against the sandbox: inject gives the expected cluster
//! state (read back through the API), and the revert — from the marks on the
//! objects alone, as `gameday recover` does it — restores the state from
//! before, leaving no gameday mark anywhere.

mod faults_support;

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use faults_support::{Cluster, scenario_text, shop_world};
use gameday::config::Config;
use gameday::engine::plan::plan_fault;
use gameday::engine::recover::{Filter, sweep};
use gameday::faults::Registry;
use gameday::faults::{FaultCx, TargetResult, kind_of};
use gameday::k8s::marks::{LABEL_FAULT_ID, LABEL_RUN_ID, ObjRef, RunId, Stamp};
use gameday::scenario::{Scenario, load_str};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::networking::v1::NetworkPolicy;

struct Injected {
    run_id: RunId,
    results: Vec<TargetResult>,
}

impl Injected {
    fn targets(&self) -> Vec<ObjRef> {
        self.results.iter().map(|r| r.target.clone()).collect()
    }
}

fn scenario(faults: &str) -> Scenario {
    load_str(
        "t.yaml",
        &scenario_text("t", faults, ""),
        &Config::default(),
        &Registry,
    )
    .unwrap_or_else(|d| panic!("{d:?}"))
    .remove(0)
}

async fn inject(c: &Cluster, faults: &str) -> Injected {
    inject_expiring(c, faults, jiff::Timestamp::now(), 0xfeed).await
}

async fn inject_expiring(
    c: &Cluster,
    faults: &str,
    expires_at: jiff::Timestamp,
    id: u32,
) -> Injected {
    inject_scenario(c, &scenario(faults), expires_at, id).await
}

/// Plans and injects the first fault of `sc`; every target must succeed.
async fn inject_scenario(
    c: &Cluster,
    sc: &Scenario,
    expires_at: jiff::Timestamp,
    id: u32,
) -> Injected {
    let config = Config::default();
    let fault = &sc.spec.faults[0];
    let plan = plan_fault(&c.kube, sc, &config, fault, 8).await.unwrap();
    let run_id = RunId::generate(jiff::Timestamp::now(), id);
    let stamp = Stamp {
        run_id: run_id.clone(),
        fault: fault.name.clone(),
        fault_type: fault.kind,
        expires_at,
    };
    let cx = FaultCx {
        kube: &c.kube,
        scenario: sc,
        config: &config,
        fault,
        concurrency: 8,
    };
    let stop = AtomicBool::new(false);
    let results = kind_of(fault.kind)
        .inject(
            &cx,
            gameday::faults::Batch {
                stamp: &stamp,
                targets: plan.targets(),
                stop: &stop,
            },
        )
        .await;
    assert!(!results.is_empty());
    for r in &results {
        assert!(r.error.is_none(), "{r:?}");
    }
    Injected { run_id, results }
}

/// Reverts by label, then checks nothing is marked anywhere.
async fn revert(c: &Cluster, run: &Injected) {
    let filter = Filter {
        run_id: Some(run.run_id.0.clone()),
        nodes: true,
        ..Filter::default()
    };
    let (reports, left) = sweep(&c.kube, &filter, 8).await.unwrap();
    for r in &reports {
        assert!(r.error.is_none(), "{r:?}");
    }
    assert!(left.is_empty(), "{left:?}");
    assert!(c.marked().await.is_empty());
    // Idempotent: a second recover finds and changes nothing.
    let before = c.sandbox.write_count();
    let (reports, _) = sweep(&c.kube, &filter, 8).await.unwrap();
    assert!(reports.is_empty());
    assert_eq!(c.sandbox.write_count(), before);
}

fn image_of(p: &Pod) -> String {
    p.spec.as_ref().unwrap().containers[0]
        .image
        .clone()
        .unwrap()
}

async fn pod(c: &Cluster, obj: &ObjRef) -> Option<Pod> {
    c.kube
        .namespaced::<Pod>("shop")
        .get_opt(&obj.name)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_kill_deletes_and_the_deployment_recovers() {
    let c = Cluster::start(shop_world()).await;
    let run = inject(
        &c,
        "    - {name: kill, type: podKill, selector: {namespace: shop, labels: {app: checkout}}, mode: {count: 1}, seed: 7}",
    )
    .await;
    let victim = &run.targets()[0];
    assert!(
        c.eventually(Duration::from_secs(5), || async {
            pod(&c, victim)
                .await
                .is_none_or(|p| p.metadata.deletion_timestamp.is_some())
        })
        .await
    );
    revert(&c, &run).await;
    assert!(
        c.eventually(Duration::from_secs(10), || c.workload_restored(
            "shop",
            "checkout",
            4,
            "shop/checkout:1.4"
        ))
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_evict_goes_through_the_eviction_api() {
    let c = Cluster::start(shop_world()).await;
    let run = inject(
        &c,
        "    - {name: evict, type: podEvict, selector: {namespace: shop, labels: {app: checkout}}, mode: {count: 1}}",
    )
    .await;
    let victim = &run.targets()[0];
    assert!(
        c.eventually(Duration::from_secs(5), || async {
            pod(&c, victim)
                .await
                .is_none_or(|p| p.metadata.deletion_timestamp.is_some())
        })
        .await
    );
    let reqs = c.sandbox.requests();
    assert!(
        reqs.iter()
            .any(|r| r.method == "POST"
                && r.path.contains(&format!("/pods/{}/eviction", victim.name))),
        "{:?}",
        reqs.iter()
            .filter(|r| r.method != "GET")
            .collect::<Vec<_>>()
    );
    revert(&c, &run).await;
    assert!(
        c.eventually(Duration::from_secs(10), || c.workload_restored(
            "shop",
            "checkout",
            4,
            "shop/checkout:1.4"
        ))
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_failure_swaps_images_and_restores_them() {
    let c = Cluster::start(shop_world()).await;
    // Each checkout container is Ready 2 s after it (re)starts, so a revert
    // that only wrote the images back would return with the pods not Ready.
    let pods = c.kube.namespaced::<Pod>("shop");
    for p in c.pods("shop", "checkout").await {
        let name = p.metadata.name.unwrap();
        let slow = serde_json::json!({"metadata": {"annotations": {"sandbox.gameday/readiness-delay": "2s"}}});
        pods.patch(&name, &Default::default(), &kube::api::Patch::Merge(&slow))
            .await
            .unwrap();
    }
    let run = inject(
        &c,
        "    - {name: freeze, type: podFailure, duration: 30s, selector: {namespace: shop, labels: {app: checkout}}, mode: {count: 2}}",
    )
    .await;
    assert_eq!(run.targets().len(), 2);
    for t in run.targets() {
        let p = pod(&c, &t).await.unwrap();
        assert_eq!(image_of(&p), "registry.k8s.io/pause:3.9");
        let ann = p.metadata.annotations.unwrap();
        assert_eq!(
            ann["gameday/undo"],
            r#"{"images":{"app":"shop/checkout:1.4"},"ready":true}"#
        );
        assert_eq!(ann["gameday/fault-type"], "podFailure");
        assert_eq!(p.metadata.labels.unwrap()[LABEL_RUN_ID], run.run_id.0);
    }
    revert(&c, &run).await;
    // Reverted means ended: the original image runs and the pod is Ready.
    for t in run.targets() {
        let p = pod(&c, &t).await.unwrap();
        assert_eq!(image_of(&p), "shop/checkout:1.4");
        assert!(
            !p.metadata
                .annotations
                .unwrap_or_default()
                .contains_key("gameday/undo")
        );
        let st = &p.status.unwrap().container_statuses.unwrap()[0];
        assert_eq!(st.image, "shop/checkout:1.4");
        assert!(st.ready, "{} not Ready after the revert", t.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_sets_replicas_and_scales_back() {
    let c = Cluster::start(shop_world()).await;
    let run = inject(
        &c,
        "    - {name: shrink, type: scale, duration: 30s, selector: {namespace: shop, kind: Deployment, name: checkout}, params: {replicas: 2}}",
    )
    .await;
    let d = c.deployment("shop", "checkout").await;
    assert_eq!(d.spec.unwrap().replicas, Some(2));
    assert_eq!(
        d.metadata.annotations.unwrap()["gameday/undo"],
        r#"{"replicas":4}"#
    );
    assert!(
        c.eventually(Duration::from_secs(10), || async {
            c.live_pods("shop", "checkout").await == 2
        })
        .await
    );
    revert(&c, &run).await;
    assert!(
        c.eventually(Duration::from_secs(10), || c.workload_restored(
            "shop",
            "checkout",
            4,
            "shop/checkout:1.4"
        ))
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rollout_breaks_the_image_and_restores_it() {
    let c = Cluster::start(shop_world()).await;
    let run = inject(
        &c,
        "    - {name: bad, type: badRollout, duration: 30s, selector: {namespace: shop, kind: Deployment, name: checkout}}",
    )
    .await;
    let d = c.deployment("shop", "checkout").await;
    let img = d.spec.unwrap().template.spec.unwrap().containers[0]
        .image
        .clone()
        .unwrap();
    assert!(img.starts_with("registry.invalid/"), "{img}");
    revert(&c, &run).await;
    assert!(
        c.eventually(Duration::from_secs(15), || c.workload_restored(
            "shop",
            "checkout",
            4,
            "shop/checkout:1.4"
        ))
        .await
    );
}

async fn policies(c: &Cluster) -> Vec<NetworkPolicy> {
    c.kube
        .namespaced::<NetworkPolicy>("shop")
        .list(&Default::default())
        .await
        .unwrap()
        .items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_partition_isolates_exactly_the_chosen_pods() {
    let c = Cluster::start(shop_world()).await;
    let run = inject(
        &c,
        "    - {name: split, type: networkPartition, duration: 30s, selector: {namespace: shop, labels: {app: checkout}}, mode: {count: 1}, params: {direction: both}}",
    )
    .await;
    let pols = policies(&c).await;
    assert_eq!(pols.len(), 1);
    let spec = pols[0].spec.clone().unwrap();
    assert_eq!(spec.policy_types.unwrap(), ["Ingress", "Egress"]);
    let id = spec.pod_selector.unwrap().match_labels.unwrap()[LABEL_FAULT_ID].clone();
    let labelled: Vec<String> = c
        .pods("shop", "checkout")
        .await
        .into_iter()
        .filter(|p| p.metadata.labels.as_ref().unwrap().get(LABEL_FAULT_ID) == Some(&id))
        .map(|p| p.metadata.name.unwrap())
        .collect();
    assert_eq!(labelled, [run.targets()[0].name.clone()]);
    revert(&c, &run).await;
    assert!(policies(&c).await.is_empty());
    for p in c.pods("shop", "checkout").await {
        assert!(!p.metadata.labels.unwrap().contains_key(LABEL_FAULT_ID));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_block_denies_port_53_egress() {
    let c = Cluster::start(shop_world()).await;
    let run = inject(
        &c,
        "    - {name: nodns, type: dnsBlock, duration: 30s, selector: {namespace: shop, labels: {app: frontend}}, mode: {count: 1}}",
    )
    .await;
    let pols = policies(&c).await;
    assert_eq!(pols.len(), 1);
    let spec = pols[0].spec.clone().unwrap();
    assert_eq!(spec.policy_types.unwrap(), ["Egress"]);
    let ports = spec.egress.unwrap()[0].ports.clone().unwrap();
    assert!(ports.iter().all(|p| {
        let lo = match p.port.as_ref().unwrap() {
            k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(i) => *i,
            _ => panic!(),
        };
        let hi = p.end_port.unwrap();
        !(lo..=hi).contains(&53)
    }));
    revert(&c, &run).await;
    assert!(policies(&c).await.is_empty());
}

fn unschedulable(n: &k8s_openapi::api::core::v1::Node) -> bool {
    n.spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_cordon_and_uncordon() {
    let c = Cluster::start(shop_world()).await;
    let run = inject(
        &c,
        "    - {name: cordon, type: nodeCordon, duration: 30s, selector: {nodeLabels: {pool: green}}}",
    )
    .await;
    assert!(unschedulable(&c.node("node-3").await));
    assert!(!unschedulable(&c.node("node-1").await));
    revert(&c, &run).await;
    assert!(!unschedulable(&c.node("node-3").await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_taint_adds_and_removes_exactly_its_taint() {
    let c = Cluster::start(shop_world()).await;
    let run = inject(
        &c,
        "    - {name: taint, type: nodeTaint, duration: 30s, selector: {nodeLabels: {pool: green}}, params: {taint: {key: gameday, value: drill, effect: NoSchedule}}}",
    )
    .await;
    let taints = c
        .node("node-3")
        .await
        .spec
        .unwrap()
        .taints
        .unwrap_or_default();
    assert!(
        taints
            .iter()
            .any(|t| t.key == "gameday" && t.effect == "NoSchedule")
    );
    revert(&c, &run).await;
    let taints = c
        .node("node-3")
        .await
        .spec
        .unwrap()
        .taints
        .unwrap_or_default();
    assert!(taints.iter().all(|t| t.key != "gameday"));
}

/// A taint with an empty value: the server stores it without `value`, and
/// the revert must still find and remove it (it used to compare `""` with a
/// missing value and leave the taint on the node for good).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_taint_with_an_empty_value_is_removed() {
    let c = Cluster::start(shop_world()).await;
    let run = inject(
        &c,
        "    - {name: taint, type: nodeTaint, duration: 30s, selector: {nodeLabels: {pool: green}}, params: {taint: {key: gameday, value: \"\", effect: NoSchedule}}}",
    )
    .await;
    let taints = |n: k8s_openapi::api::core::v1::Node| n.spec.unwrap().taints.unwrap_or_default();
    let on_node = taints(c.node("node-3").await);
    let mine: Vec<_> = on_node.iter().filter(|t| t.key == "gameday").collect();
    assert_eq!(mine.len(), 1, "{on_node:?}");
    assert_eq!(mine[0].value, None, "the server drops an empty value");
    revert(&c, &run).await;
    assert!(
        taints(c.node("node-3").await)
            .iter()
            .all(|t| t.key != "gameday")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_drain_cordons_and_evicts_then_uncordons() {
    let c = Cluster::start(shop_world()).await;
    let on_node3 = || async {
        c.pods("shop", "checkout")
            .await
            .into_iter()
            .chain(c.pods("shop", "frontend").await)
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some("node-3"))
            .count()
    };
    let run = inject(
        &c,
        "    - {name: drain, type: nodeDrain, duration: 30s, selector: {nodeLabels: {pool: green}}}",
    )
    .await;
    assert!(unschedulable(&c.node("node-3").await));
    assert!(
        c.eventually(Duration::from_secs(10), || async { on_node3().await == 0 })
            .await
    );
    revert(&c, &run).await;
    assert!(!unschedulable(&c.node("node-3").await));
    assert!(
        c.eventually(Duration::from_secs(15), || c.workload_restored(
            "shop",
            "checkout",
            4,
            "shop/checkout:1.4"
        ))
        .await
    );
}

fn env_of(c: &k8s_openapi::api::core::v1::EphemeralContainer, key: &str) -> Option<String> {
    c.env
        .as_ref()?
        .iter()
        .find(|e| e.name == key)
        .and_then(|e| e.value.clone())
}

async fn ephemeral_case(fault: &str, ty: &str, command_word: &str, env_key: &str, env_value: &str) {
    let c = Cluster::start(shop_world()).await;
    let run = inject(&c, fault).await;
    let target = &run.targets()[0];
    let p = pod(&c, target).await.unwrap();
    let eph = p
        .spec
        .clone()
        .unwrap()
        .ephemeral_containers
        .unwrap_or_default();
    assert_eq!(eph.len(), 1);
    let e = &eph[0];
    assert!(e.name.starts_with("gameday-"), "{}", e.name);
    let cmd = e.command.clone().unwrap().join(" ");
    assert!(cmd.starts_with("timeout "), "{cmd}");
    assert!(cmd.contains(command_word), "{cmd}");
    assert_eq!(
        env_of(e, "GAMEDAY_RUN_ID").as_deref(),
        Some(run.run_id.as_str())
    );
    assert_eq!(env_of(e, "GAMEDAY_FAULT_TYPE").as_deref(), Some(ty));
    assert_eq!(env_of(e, "GAMEDAY_ACTION").as_deref(), Some("inject"));
    assert_eq!(env_of(e, "GAMEDAY_TIMEOUT_SECONDS").as_deref(), Some("30"));
    assert_eq!(env_of(e, env_key).as_deref(), Some(env_value));
    // Injected means the kubelet runs it.
    let state_of = |p: &Pod, name: &str| {
        p.status
            .as_ref()
            .and_then(|s| s.ephemeral_container_statuses.clone())
            .unwrap_or_default()
            .into_iter()
            .find(|s| s.name == name)
            .and_then(|s| s.state)
    };
    assert!(
        state_of(&p, &e.name).and_then(|s| s.running).is_some(),
        "{:?}",
        p.status
    );
    revert(&c, &run).await;
    let p = pod(&c, target).await.unwrap();
    let eph = p.spec.unwrap().ephemeral_containers.unwrap_or_default();
    assert_eq!(eph.len(), 2, "a revert container is added");
    let r = &eph[1];
    assert_eq!(env_of(r, "GAMEDAY_ACTION").as_deref(), Some("revert"));
    assert_eq!(env_of(r, "GAMEDAY_FAULT"), env_of(&eph[0], "GAMEDAY_FAULT"));
    assert_eq!(
        env_of(r, "GAMEDAY_RUN_ID").as_deref(),
        Some(run.run_id.as_str())
    );
    // The revert container ran its command successfully...
    let p = pod(&c, target).await.unwrap();
    let rev = state_of(&p, &r.name).and_then(|s| s.terminated);
    assert_eq!(rev.map(|t| t.exit_code), Some(0), "{:?}", p.status);
    // ...and the inject container has ended.
    assert!(
        c.eventually(Duration::from_secs(5), || async {
            let p = pod(&c, target).await.unwrap();
            p.status
                .and_then(|s| s.ephemeral_container_statuses)
                .unwrap_or_default()
                .iter()
                .filter(|s| s.name == eph[0].name)
                .any(|s| {
                    s.state
                        .as_ref()
                        .and_then(|st| st.terminated.as_ref())
                        .is_some()
                })
        })
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_stress_runs_bounded_stress_ng() {
    ephemeral_case(
        "    - {name: hot, type: cpuStress, duration: 30s, selector: {namespace: shop, labels: {app: checkout}}, params: {workers: 2}}",
        "cpuStress",
        "stress-ng --cpu 2",
        "GAMEDAY_CPU_WORKERS",
        "2",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stress_runs_bounded_stress_ng() {
    ephemeral_case(
        "    - {name: hog, type: memoryStress, duration: 30s, selector: {namespace: shop, labels: {app: checkout}}, params: {memory: 128Mi}}",
        "memoryStress",
        "--vm-bytes 128m",
        "GAMEDAY_MEMORY",
        "128Mi",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_delay_uses_netem_on_the_reserved_handle() {
    ephemeral_case(
        "    - {name: lag, type: networkDelay, duration: 30s, selector: {namespace: shop, labels: {app: checkout}}, params: {latency: 200ms, jitter: 20ms}}",
        "networkDelay",
        "tc qdisc add dev eth0 root handle 7a11: netem delay 200ms 20ms",
        "GAMEDAY_LATENCY_MS",
        "200",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packet_loss_uses_netem_loss() {
    ephemeral_case(
        "    - {name: drop, type: packetLoss, duration: 30s, selector: {namespace: shop, labels: {app: checkout}}, params: {loss: 10}}",
        "packetLoss",
        "netem loss 10%",
        "GAMEDAY_LOSS_PERCENT",
        "10",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_expired_reverts_only_expired_marks() {
    let c = Cluster::start(shop_world()).await;
    let past = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(60);
    let future = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3600);
    let old = inject_expiring(
        &c,
        "    - {name: shrink, type: scale, duration: 30s, selector: {namespace: shop, kind: Deployment, name: checkout}, params: {replicas: 3}}",
        past,
        1,
    )
    .await;
    let live = inject_expiring(
        &c,
        "    - {name: cordon, type: nodeCordon, duration: 30s, selector: {nodeLabels: {pool: green}}}",
        future,
        2,
    )
    .await;
    let (code, out, err) = c.run(&["recover", "--expired", "--dry-run"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 marked objects would be reverted"), "{out}");
    assert_eq!(
        c.deployment("shop", "checkout")
            .await
            .spec
            .unwrap()
            .replicas,
        Some(3),
        "dry run changes nothing"
    );
    let (code, _, err) = c.run(&["recover", "--expired"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        c.deployment("shop", "checkout")
            .await
            .spec
            .unwrap()
            .replicas,
        Some(4)
    );
    assert!(
        unschedulable(&c.node("node-3").await),
        "the unexpired fault is left alone"
    );
    let left = c.marked().await;
    assert_eq!(left, ["Node/node-3"]);
    let _ = old;
    let (code, _, err) = c.run(&["recover", "--run", live.run_id.as_str()]).await;
    assert_eq!(code, 0, "{err}");
    assert!(!unschedulable(&c.node("node-3").await));
    c.assert_restored("shop", "checkout", 4).await;
}

/// A hostNetwork pod is never the target of a network fault (tc would shape
/// the node's interface; NetworkPolicies never select it), while a pod
/// fault may still pick it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_faults_never_target_host_network_pods() {
    let mut world = shop_world();
    for (name, host) in [("edge-host", true), ("edge-pod", false)] {
        world.push(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "shop", "labels": {"app": "edge"}},
            "spec": {"hostNetwork": host, "containers": [{"name": "proxy", "image": "shop/edge:v1"}]},
        }));
    }
    let c = Cluster::start(world).await;
    let config = Config::default();
    for (ty, params) in [
        ("networkDelay", "{latency: 100ms}"),
        ("packetLoss", "{loss: 10}"),
        ("networkPartition", "{}"),
        ("dnsBlock", "{}"),
    ] {
        let sc = full_outage_scenario(&format!(
            "    - {{name: net, type: {ty}, duration: 30s, mode: {{count: 1}}, selector: {{namespace: shop, labels: {{app: edge}}}}, params: {params}}}"
        ));
        let plan = plan_fault(&c.kube, &sc, &config, &sc.spec.faults[0], 8)
            .await
            .unwrap_or_else(|e| panic!("{ty}: {e}"));
        let chosen: Vec<&str> = plan.targets().iter().map(|t| t.obj.name.as_str()).collect();
        assert_eq!(chosen, ["edge-pod"], "{ty}");
        assert!(
            plan.candidates
                .items
                .iter()
                .all(|t| t.obj.name != "edge-host"),
            "{ty}"
        );
    }
    // A pod fault may still choose it.
    let sc = full_outage_scenario(
        "    - {name: kill, type: podKill, mode: {count: 1}, selector: {namespace: shop, labels: {app: edge}}}",
    );
    let plan = plan_fault(&c.kube, &sc, &config, &sc.spec.faults[0], 8)
        .await
        .unwrap();
    assert_eq!(plan.candidates.items.len(), 2);
}

/// A scenario whose blast radius allows taking a bare pod (its own workload)
/// down whole.
fn full_outage_scenario(faults: &str) -> Scenario {
    let blast = "{maxTargets: 10, maxPercent: 50, maxDuration: 10m, allowFullOutage: true}";
    load_str(
        "t.yaml",
        &scenario_text("t", faults, blast),
        &Config::default(),
        &Registry,
    )
    .unwrap_or_else(|d| panic!("{d:?}"))
    .remove(0)
}

/// The shop plus `slow`: 2 pods with a 30 s grace period that ignore
/// SIGTERM (the sandbox world's `shutdown-delay: grace`), so a graceful
/// delete leaves them Terminating for 30 s.
fn shop_with_slow_pods() -> Vec<serde_json::Value> {
    let mut world = shop_world();
    let mut slow = faults_support::deployment("shop", "slow", 2, "shop/slow:1.0");
    let tpl = &mut slow["spec"]["template"];
    tpl["spec"]["terminationGracePeriodSeconds"] = serde_json::json!(30);
    tpl["metadata"]["annotations"] = serde_json::json!({"sandbox.gameday/shutdown-delay": "grace"});
    world.push(slow);
    world
}

/// The DELETE requests the sandbox saw for `pod`.
fn deletes_of(c: &Cluster, pod: &str) -> Vec<String> {
    c.sandbox
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE" && r.path.contains(&format!("/pods/{pod}")))
        .map(|r| r.path)
        .collect()
}

/// podKill of one `slow` pod with `extra` appended to the fault.
async fn kill_one_slow_pod(extra: &str) -> (Cluster, Injected, ObjRef) {
    let c = Cluster::start(shop_with_slow_pods()).await;
    let fault = format!(
        "    - {{name: kill, type: podKill, selector: {{namespace: shop, labels: {{app: slow}}}}, mode: {{count: 1}}, seed: 7{extra}}}"
    );
    let run = inject(&c, &fault).await;
    let victim = run.targets()[0].clone();
    (c, run, victim)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_kill_leaves_the_pod_terminating_for_its_own_grace_period() {
    let (c, run, victim) = kill_one_slow_pod("").await;
    let victim = &victim;
    // Seen Terminating, not vanished: the pod's own 30 s apply.
    let p = pod(&c, victim).await.expect("still there, terminating");
    assert!(p.metadata.deletion_timestamp.is_some());
    assert_eq!(p.metadata.deletion_grace_period_seconds, Some(30));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(pod(&c, victim).await.is_some());
    // No grace period was sent: the pod chose.
    let deletes = deletes_of(&c, &victim.name);
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    assert!(!deletes[0].contains("gracePeriodSeconds"), "{deletes:?}");
    // The ReplicaSet replaced it at once.
    assert!(
        c.eventually(Duration::from_secs(5), || async {
            c.live_pods("shop", "slow").await == 2
        })
        .await
    );
    revert(&c, &run).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_kill_with_force_removes_the_pod_at_once() {
    let (c, run, victim) = kill_one_slow_pod(", params: {force: true}").await;
    let victim = &victim;
    assert!(
        pod(&c, victim).await.is_none(),
        "a force delete removes at once"
    );
    revert(&c, &run).await;
}

/// The fault-test shop plus what a drain must treat differently on the
/// green node (node-3): a DaemonSet, a bare pod, and `slow` (one pod with a
/// 30 s grace period that ignores SIGTERM).
fn shop_with_drain_cases() -> Vec<serde_json::Value> {
    use serde_json::json;
    let mut world = shop_world();
    world.push(json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "shop"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {
            "metadata": {"labels": {"app": "agent"}},
            "spec": {"containers": [{"name": "agent", "image": "shop/agent:1"}]}}}
    }));
    world.push(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "solo", "namespace": "shop", "labels": {"app": "solo"}},
        "spec": {"nodeName": "node-3", "containers": [{"name": "app", "image": "shop/solo:1"}]}
    }));
    let mut slow = faults_support::deployment("shop", "slow", 1, "shop/slow:1.0");
    let tpl = &mut slow["spec"]["template"];
    tpl["spec"]["terminationGracePeriodSeconds"] = json!(30);
    tpl["spec"]["nodeSelector"] = json!({"pool": "green"});
    tpl["metadata"]["annotations"] = json!({"sandbox.gameday/shutdown-delay": "grace"});
    world.push(slow);
    world
}

const DRAIN_GREEN: &str =
    "    - {name: drain, type: nodeDrain, duration: 30s, selector: {nodeLabels: {pool: green}}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_drain_refuses_a_bare_pod_at_plan_without_force() {
    let c = Cluster::start(shop_with_drain_cases()).await;
    let sc = scenario(&format!("{DRAIN_GREEN}}}"));
    let before = c.sandbox.write_count();
    let err = plan_fault(&c.kube, &sc, &Config::default(), &sc.spec.faults[0], 8)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("shop/solo on node-3 declares no controller"),
        "{err}"
    );
    assert_eq!(c.sandbox.write_count(), before, "a refusal writes nothing");
    assert!(!unschedulable(&c.node("node-3").await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_drain_with_force_evicts_with_its_grace_period_and_leaves_daemon_pods() {
    let c = Cluster::start(shop_with_drain_cases()).await;
    let agent_uid = |pods: Vec<Pod>| {
        pods.into_iter()
            .find(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some("node-3"))
            .and_then(|p| p.metadata.uid)
    };
    assert!(
        c.eventually(Duration::from_secs(5), || async {
            agent_uid(c.pods("shop", "agent").await).is_some()
        })
        .await
    );
    let before = agent_uid(c.pods("shop", "agent").await);
    // The bare pod and `slow` are whole workloads: draining them is a full
    // outage of each, which the scenario must allow.
    let text = scenario_text(
        "t",
        &format!("{DRAIN_GREEN}, params: {{force: true, gracePeriod: 7s}}}}"),
        "{maxTargets: 10, maxPercent: 100, allowFullOutage: true, maxDuration: 10m}",
    );
    let sc = load_str("t.yaml", &text, &Config::default(), &Registry)
        .unwrap_or_else(|d| panic!("{d:?}"))
        .remove(0);
    let run = inject_scenario(&c, &sc, jiff::Timestamp::now(), 0xd1).await;
    assert!(unschedulable(&c.node("node-3").await));
    let slow = c.pods("shop", "slow").await;
    let evicted = slow
        .iter()
        .find(|p| p.metadata.deletion_timestamp.is_some())
        .expect("slow is terminating");
    assert_eq!(evicted.metadata.deletion_grace_period_seconds, Some(7));
    assert!(
        c.pods("shop", "solo")
            .await
            .iter()
            .all(|p| p.metadata.deletion_timestamp.is_some()),
        "force evicts the bare pod"
    );
    assert_eq!(
        agent_uid(c.pods("shop", "agent").await),
        before,
        "daemon pod untouched"
    );
    revert(&c, &run).await;
    assert!(!unschedulable(&c.node("node-3").await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_drain_counts_its_impact_per_workload() {
    use serde_json::json;
    let mut world = shop_world();
    let mut pair = faults_support::deployment("shop", "pair", 2, "shop/pair:1");
    pair["spec"]["template"]["spec"]["nodeSelector"] = json!({"pool": "green"});
    world.push(pair);
    let c = Cluster::start(world).await;
    assert!(
        c.eventually(Duration::from_secs(5), || async {
            c.live_pods("shop", "pair").await == 2
        })
        .await
    );
    // One node of three is within 50%, but both `pair` pods are on it.
    let sc = scenario(&format!("{DRAIN_GREEN}}}"));
    let err = plan_fault(&c.kube, &sc, &Config::default(), &sc.spec.faults[0], 8)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("pair"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rollout_on_a_statefulset_reverts_to_every_pod_ready_on_its_image() {
    use serde_json::json;
    let mut world = shop_world();
    world.push(json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "shop"},
        "spec": {"replicas": 3, "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "db", "image": "shop/db:1"}]}}}
    }));
    let c = Cluster::start(world).await;
    let all_good = || async {
        let pods = c.pods("shop", "db").await;
        pods.len() == 3
            && pods.iter().all(|p| {
                p.metadata.deletion_timestamp.is_none()
                    && image_of(p) == "shop/db:1"
                    && p.status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|cs| {
                            cs.iter().any(|c| c.type_ == "Ready" && c.status == "True")
                        })
            })
    };
    assert!(c.eventually(Duration::from_secs(10), all_good).await);
    let sc = scenario(
        "    - {name: bad, type: badRollout, duration: 30s, selector: {namespace: shop, kind: StatefulSet, name: db}}",
    );
    // One pod at a time: the impact is one of three, not 25% rounded up.
    let plan = plan_fault(&c.kube, &sc, &Config::default(), &sc.spec.faults[0], 8)
        .await
        .unwrap();
    assert_eq!(plan.blast.groups[0].chosen, 1);
    let run = inject_scenario(&c, &sc, jiff::Timestamp::now(), 0xba).await;
    // The rollout gets stuck at the highest ordinal, on the bad image.
    assert!(
        c.eventually(Duration::from_secs(10), || async {
            c.pods("shop", "db")
                .await
                .iter()
                .any(|p| image_of(p) != "shop/db:1" && p.metadata.deletion_timestamp.is_none())
        })
        .await
    );
    revert(&c, &run).await;
    assert!(
        c.eventually(Duration::from_secs(15), all_good).await,
        "every pod back on its image and Ready: {:?}",
        c.pods("shop", "db")
            .await
            .iter()
            .map(|p| (p.metadata.name.clone(), image_of(p)))
            .collect::<Vec<_>>()
    );
}

const NO_EXECUTE_GREEN: &str = "    - {name: taint, type: nodeTaint, duration: 30s, selector: {nodeLabels: {pool: green}}, params: {taint: {key: gameday, value: drill, effect: NoExecute}}}";

/// A Deployment of `replicas` pods pinned to the green node, with these
/// tolerations.
fn on_green(
    ns: &str,
    name: &str,
    replicas: i32,
    tolerations: serde_json::Value,
) -> serde_json::Value {
    let mut d = faults_support::deployment(ns, name, replicas, &format!("{ns}/{name}:1"));
    d["spec"]["template"]["spec"]["nodeSelector"] = serde_json::json!({"pool": "green"});
    d["spec"]["template"]["spec"]["tolerations"] = tolerations;
    d
}

async fn started(world: Vec<serde_json::Value>, ns: &str, name: &str, n: usize) -> Cluster {
    let c = Cluster::start(world).await;
    assert!(
        c.eventually(Duration::from_secs(5), || async {
            c.live_pods(ns, name).await == n
        })
        .await
    );
    c
}

/// The taint manager evicts every pod that does not tolerate a NoExecute
/// taint, kube-system included: the plan refuses, naming the pod, and
/// writes nothing. A pod that tolerates it (`operator: Exists`) is left
/// out, as the taint manager leaves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_taint_no_execute_is_refused_when_it_would_evict_a_protected_pod() {
    use serde_json::json;
    let mut world = shop_world();
    world.push(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}}),
    );
    world.push(on_green("kube-system", "dns", 1, json!([])));
    world.push(on_green(
        "kube-system",
        "agent",
        1,
        json!([{"operator": "Exists"}]),
    ));
    let c = started(world, "kube-system", "dns", 1).await;
    let sc = scenario(NO_EXECUTE_GREEN);
    let before = c.sandbox.write_count();
    let err = plan_fault(&c.kube, &sc, &Config::default(), &sc.spec.faults[0], 8)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("kube-system/dns-"), "{err}");
    assert!(
        !err.contains("kube-system/agent-"),
        "a tolerating pod is not evicted: {err}"
    );
    assert_eq!(c.sandbox.write_count(), before, "a refusal writes nothing");
}

/// One node of three is within maxPercent, but a NoExecute taint on it
/// evicts both pods of `pair`: 100% of that workload, refused at plan. The
/// same taint as NoSchedule evicts nothing and passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_taint_no_execute_counts_its_evictions_per_workload() {
    let mut world = shop_world();
    world.push(on_green("shop", "pair", 2, serde_json::json!([])));
    let c = started(world, "shop", "pair", 2).await;
    let sc = scenario(NO_EXECUTE_GREEN);
    let err = plan_fault(&c.kube, &sc, &Config::default(), &sc.spec.faults[0], 8)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("pair"), "{err}");
    let no_schedule = scenario(&NO_EXECUTE_GREEN.replace("NoExecute", "NoSchedule"));
    plan_fault(
        &c.kube,
        &no_schedule,
        &Config::default(),
        &no_schedule.spec.faults[0],
        8,
    )
    .await
    .expect("a NoSchedule taint evicts nothing");
}

/// An existing policy that allows ingress to the checkout pods may cancel
/// an ingress partition (policies add up): the plan says so, naming it, and
/// still plans. A policy that selects other pods, or allows only egress, is
/// not mentioned; nor is the warning a refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_partition_plan_warns_of_policies_that_may_cancel_it() {
    use serde_json::json;
    let policy = |name: &str, app: &str, rules: serde_json::Value| {
        let mut spec = json!({"podSelector": {"matchLabels": {"app": app}}});
        for (k, v) in rules.as_object().expect("rules").iter() {
            spec[k] = v.clone();
        }
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": "shop"}, "spec": spec})
    };
    let mut world = shop_world();
    world.push(policy(
        "allow-web",
        "checkout",
        json!({"ingress": [{"from": [{"podSelector": {}}]}]}),
    ));
    world.push(policy("other-app", "payments", json!({"ingress": [{}]})));
    world.push(policy(
        "egress-only",
        "checkout",
        json!({"policyTypes": ["Egress"], "egress": [{}]}),
    ));
    let c = Cluster::start(world).await;
    let sc = scenario(
        "    - {name: cut, type: networkPartition, duration: 30s, selector: {namespace: shop, labels: {app: checkout}}, params: {direction: ingress}}",
    );
    let plan = plan_fault(&c.kube, &sc, &Config::default(), &sc.spec.faults[0], 8)
        .await
        .expect("a warning is not a refusal");
    assert_eq!(plan.warnings.len(), 1, "{:?}", plan.warnings);
    assert!(
        plan.warnings[0].contains("NetworkPolicy shop/allow-web")
            && plan.warnings[0].contains("allows Ingress"),
        "{:?}",
        plan.warnings
    );
}

/// Pod Security refuses a NET_ADMIN ephemeral container in a `baseline`
/// namespace. The run's dry run of its inject writes meets that refusal
/// before any mark or container is written, naming Pod Security; a fault
/// without added capabilities passes the same dry run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_meets_pod_security_before_anything_is_written() {
    use gameday::engine::plan::dry_run_all;
    let mut world = shop_world();
    world[0]["metadata"]["labels"] =
        serde_json::json!({"pod-security.kubernetes.io/enforce": "baseline"});
    let c = Cluster::start(world).await;
    let config = Config::default();
    let delay = scenario(
        "    - {name: slow, type: networkDelay, duration: 30s, selector: {namespace: shop, labels: {app: checkout}}, mode: {count: 1}}",
    );
    let plan = plan_fault(&c.kube, &delay, &config, &delay.spec.faults[0], 8)
        .await
        .expect("plans");
    let err = dry_run_all(&c.kube, &delay, &config, &[plan], 8)
        .await
        .expect_err("refused by Pod Security")
        .to_string();
    assert!(
        err.contains("dryRun=All") && err.contains("PodSecurity"),
        "{err}"
    );
    assert!(err.contains("NET_ADMIN"), "{err}");
    for p in c.pods("shop", "checkout").await {
        assert!(
            p.spec.unwrap().ephemeral_containers.is_none(),
            "nothing added"
        );
        let labels = p.metadata.labels.unwrap_or_default();
        assert!(!labels.contains_key("gameday/run-id"), "nothing marked");
    }
    let stress = scenario(
        "    - {name: hot, type: cpuStress, duration: 30s, selector: {namespace: shop, labels: {app: checkout}}, mode: {count: 1}}",
    );
    let plan = plan_fault(&c.kube, &stress, &config, &stress.spec.faults[0], 8)
        .await
        .expect("plans");
    dry_run_all(&c.kube, &stress, &config, &[plan], 8)
        .await
        .expect("no added capability: baseline allows it");
}

/// The node already carries `gameday=infra:NoSchedule`; the scenario's taint
/// has the same key and effect with another value. A real server refuses
/// the patch (taints are unique by key and effect), so without a dry run
/// the refusal would come mid-run, after the intent and any earlier fault.
/// The preflight's dry run of the patch meets it first, naming the
/// duplicate, and the node is left exactly as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_meets_a_duplicate_taint_before_anything_is_written() {
    use gameday::engine::plan::dry_run_all;
    let mut world = shop_world();
    let green = world
        .iter_mut()
        .find(|o| o["kind"] == "Node" && o["metadata"]["name"] == "node-3")
        .expect("node-3");
    green["spec"] = serde_json::json!({"taints": [{"key": "gameday", "value": "infra", "effect": "NoSchedule"}]});
    let c = Cluster::start(world).await;
    let config = Config::default();
    let taint = scenario(
        "    - {name: taint, type: nodeTaint, duration: 30s, selector: {nodeLabels: {pool: green}}, params: {taint: {key: gameday, value: drill, effect: NoSchedule}}}",
    );
    let plan = plan_fault(&c.kube, &taint, &config, &taint.spec.faults[0], 8)
        .await
        .expect("plans");
    let err = dry_run_all(&c.kube, &taint, &config, &[plan], 8)
        .await
        .expect_err("refused: duplicate taint")
        .to_string();
    assert!(
        err.contains("dryRun=All") && err.contains("Duplicate value"),
        "{err}"
    );
    let node = c.node("node-3").await;
    let taints = node.spec.unwrap().taints.unwrap_or_default();
    assert_eq!(taints.len(), 1, "{taints:?}");
    assert_eq!(taints[0].value.as_deref(), Some("infra"));
    let labels = node.metadata.labels.unwrap_or_default();
    assert!(!labels.contains_key("gameday/run-id"), "nothing marked");

    // The same fault on a node without that taint passes the dry run and
    // still writes nothing.
    let blue = scenario(
        "    - {name: taint, type: nodeTaint, duration: 30s, selector: {nodeLabels: {pool: blue}}, params: {taint: {key: gameday, value: drill, effect: NoSchedule}}}",
    );
    let plan = plan_fault(&c.kube, &blue, &config, &blue.spec.faults[0], 8)
        .await
        .expect("plans");
    dry_run_all(&c.kube, &blue, &config, &[plan], 8)
        .await
        .expect("no duplicate on the blue nodes");
    for n in ["node-1", "node-2"] {
        let taints = c
            .node(n)
            .await
            .spec
            .and_then(|s| s.taints)
            .unwrap_or_default();
        assert!(
            taints.is_empty(),
            "dry run stored nothing on {n}: {taints:?}"
        );
    }
}

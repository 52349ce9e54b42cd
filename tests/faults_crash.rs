//! Crash safety (S2 after SIGKILL): a seeded loop that kills `gameday run`
//! with SIGKILL at a random moment during injection or hold, then runs
//! `gameday recover`, and checks that no gameday mark remains, every undo
//! was applied and the workloads are back to their declared replicas and
//! images. Prints the number of iterations and orphans.
//!
//! Both `gameday run` and `gameday recover --namespace shop --nodes` run as a
//! ServiceAccount bound to exactly what `gameday rbac` prints for the
//! scenario (issue 13's acceptance: crash safety under least privilege).

mod faults_support;

use std::time::Duration;

use faults_support::{Cluster, shop_world};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use rand::{RngExt, SeedableRng};

const FAULTS: &str = "    - {name: freeze, type: podFailure, duration: 3s, selector: {namespace: shop, labels: {app: checkout}}, mode: {count: 1}}
    - {name: shrink, type: scale, duration: 3s, selector: {namespace: shop, kind: Deployment, name: frontend}, params: {replicas: 1}}
    - {name: split, type: networkPartition, duration: 3s, selector: {namespace: shop, labels: {app: checkout}}, mode: {count: 1}}
    - {name: taint, type: nodeTaint, duration: 3s, selector: {nodeLabels: {pool: green}}}
    - {name: bad, type: badRollout, at: 200ms, duration: 3s, selector: {namespace: shop, kind: Deployment, name: checkout}}
    - {name: hot, type: cpuStress, duration: 3s, selector: {namespace: shop, labels: {app: checkout}}, mode: {count: 1}}";

const ITERATIONS: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_then_recover_leaves_no_orphans() {
    let c = Cluster::start(shop_world()).await;
    let sc = c.write_scenario("crash.yaml", "crash", FAULTS, "");
    let sa = c.bound_to_printed_rbac(&sc, |_| {}).await;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x5eed);
    let mut orphans = 0usize;
    let mut killed_with_marks = 0usize;
    for i in 0..ITERATIONS {
        let out = c.path(&format!("run-{i}"));
        let mut child = c
            .gameday_with(
                &sa,
                &[
                    "run",
                    sc.to_str().unwrap(),
                    "--ci",
                    "--out",
                    out.to_str().unwrap(),
                ],
            )
            .stderr(std::fs::File::create(c.path(&format!("stderr-{i}"))).unwrap())
            .spawn()
            .unwrap();
        let delay = Duration::from_millis(rng.random_range(20..2500));
        tokio::time::sleep(delay).await;
        child.start_kill().unwrap();
        let status = child.wait().await.unwrap();
        assert!(
            status.code().is_none(),
            "iteration {i}: killed by the signal, not finished: {}",
            std::fs::read_to_string(c.path(&format!("stderr-{i}"))).unwrap_or_default()
        );
        if !c.marked().await.is_empty() {
            killed_with_marks += 1;
        }
        // Recover from the cluster alone, as the same identity: namespaced
        // lists plus nodes, no cluster-wide right.
        let (code, stdout, err) = c
            .run_as(&sa, &["recover", "--namespace", "shop", "--nodes"])
            .await;
        assert_eq!(code, 0, "iteration {i}: {stdout}{err}");
        let left = c.marked().await;
        orphans += left.len();
        assert!(left.is_empty(), "iteration {i}: orphans {left:?}");
        let policies = c
            .kube
            .namespaced::<NetworkPolicy>("shop")
            .list(&Default::default())
            .await
            .unwrap()
            .items;
        assert!(policies.is_empty(), "iteration {i}: policy left");
        let taints = c
            .node("node-3")
            .await
            .spec
            .unwrap()
            .taints
            .unwrap_or_default();
        assert!(taints.is_empty(), "iteration {i}: taint left {taints:?}");
        assert!(
            c.eventually(Duration::from_secs(20), || async {
                c.workload_restored("shop", "checkout", 4, "shop/checkout:1.4")
                    .await
                    && c.workload_restored("shop", "frontend", 2, "shop/frontend:2.0")
                        .await
            })
            .await,
            "iteration {i}: workloads not back to declared replicas and images"
        );
        // Pods still terminating (the rollback's old ones) are on their way
        // out; every pod that stays must be on the restored image.
        for p in c.pods("shop", "checkout").await {
            if p.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let img = p.spec.unwrap().containers[0].image.clone().unwrap();
            assert_eq!(
                img, "shop/checkout:1.4",
                "iteration {i}: pod image not restored"
            );
        }
        // A second recover is a no-op (idempotent).
        let writes = c.sandbox.write_count();
        let (code, _, _) = c
            .run_as(&sa, &["recover", "--namespace", "shop", "--nodes"])
            .await;
        assert_eq!(code, 0);
        assert_eq!(
            c.sandbox.write_count(),
            writes,
            "iteration {i}: recover not idempotent"
        );
    }
    println!(
        "crash safety: iterations {ITERATIONS}, killed with faults active {killed_with_marks}, orphans {orphans}"
    );
    assert!(
        killed_with_marks >= ITERATIONS / 2,
        "most kills should land while faults are active"
    );
}

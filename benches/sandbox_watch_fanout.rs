//! Watch fan-out of the sandbox: N concurrent kube-rs watches on pods, one
//! pod change per round, latency from the change request to each watcher
//! receiving the MODIFIED event. Run by scripts/bench/sandbox_watch.sh.
//!
//! Env: BENCH_WATCHERS (100), BENCH_ROUNDS (20), BENCH_NAMESPACES (200),
//! BENCH_DEPLOYMENTS (5), BENCH_REPLICAS (10).

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use gameday::sandbox::{Sandbox, SandboxOptions};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, WatchEvent, WatchParams};
use serde_json::{Value, json};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn world(namespaces: usize, deployments: usize, replicas: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let nodes = (namespaces * deployments * replicas).div_ceil(200).max(1);
    for n in 0..nodes {
        out.push(
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": format!("node-{n}")},
            "status": {"capacity": {"cpu": "64", "memory": "256Gi", "pods": "250"}}}),
        );
    }
    for ns in 0..namespaces {
        let ns = format!("ns-{ns}");
        out.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
        for d in 0..deployments {
            out.push(json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": format!("app-{d}"), "namespace": ns},
                "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": format!("app-{d}")}},
                    "template": {"metadata": {"labels": {"app": format!("app-{d}")}},
                        "spec": {"containers": [{"name": "app", "image": format!("shop/app-{d}:1.0"),
                            "resources": {"requests": {"cpu": "100m"}}}]}}}}));
        }
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let watchers = env("BENCH_WATCHERS", 100);
    let rounds = env("BENCH_ROUNDS", 20);
    let objects = world(
        env("BENCH_NAMESPACES", 200),
        env("BENCH_DEPLOYMENTS", 5),
        env("BENCH_REPLICAS", 10),
    );
    let t = Instant::now();
    let sb = Sandbox::start(SandboxOptions {
        objects,
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox starts");
    eprintln!(
        "sandbox with {} pods ready in {:?}",
        sb.store().count(gameday::sandbox::resources::PODS),
        t.elapsed()
    );
    let client = sb.kube_client().expect("client");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "ns-0");
    let target = pods
        .list(&ListParams::default().limit(1))
        .await
        .expect("list")
        .items[0]
        .metadata
        .name
        .clone()
        .expect("pod name");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, String, Instant)>();
    let mut started = 0;
    for w in 0..watchers {
        // Each watcher its own client, so each watch has its own connection.
        let client = sb.kube_client().expect("client");
        let api: Api<Pod> = Api::namespaced(client, "ns-0");
        let rv = api
            .list(&ListParams::default().limit(1))
            .await
            .expect("list")
            .metadata
            .resource_version
            .expect("rv");
        let mut stream = api
            .watch(&WatchParams::default().timeout(290), &rv)
            .await
            .expect("watch")
            .boxed();
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Ok(Some(ev)) = stream.try_next().await {
                if let WatchEvent::Modified(p) = ev
                    && let Some(mark) = p
                        .metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get("bench-round"))
                    && tx.send((w, mark.clone(), Instant::now())).is_err()
                {
                    return;
                }
            }
        });
        started += 1;
    }
    assert_eq!(started, watchers);
    let mut latencies = Vec::new();
    for round in 0..rounds {
        let mark = format!("r{round}");
        let t0 = Instant::now();
        pods.patch(
            &target,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"bench-round": mark}}})),
        )
        .await
        .expect("patch");
        let mut seen = vec![false; watchers];
        let mut got = 0;
        while got < watchers {
            let (w, m, at) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .expect("all watchers receive the change in 10 s")
                .expect("watchers alive");
            if m == mark && !seen[w] {
                seen[w] = true;
                got += 1;
                latencies.push(at - t0);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    latencies.sort();
    println!(
        "watch fan-out: watchers={watchers} rounds={rounds} samples={} p50={:.1}ms p99={:.1}ms max={:.1}ms",
        latencies.len(),
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
    );
    sb.shutdown().await;
}

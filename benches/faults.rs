//! Faults benchmarks (figures go to docs/performance.md, "## Faults"):
//! 1. podKill of 2,000 pods across 100 namespaces, end to end (resolve,
//!    inject, confirm) with `gameday run`: wall time, API requests per target,
//!    peak RSS of the gameday process.
//! 2. SIGINT during the hold of 10 faults → every fault reverted: latency.
//! 3. A podKill scenario at `interval: 1s`, 20 runs: the spread of the
//!    end-to-end time, and the gap from the revert's confirmation to the
//!    first `after` reading (taken at once, not at the next guardrail slot).
//!
//! Run with `scripts/bench/faults_bench.sh` (or `cargo bench --bench faults`).

#[path = "../tests/faults_support/mod.rs"]
mod faults_support;

use std::time::{Duration, Instant};

use faults_support::{Cluster, big_world, journal_events, run_stderr};

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn podkill_scenario(namespaces: usize) -> String {
    let nss: Vec<String> = (0..namespaces).map(|n| format!("ns-{n:03}")).collect();
    let mut faults = String::new();
    for ns in &nss {
        faults.push_str(&format!(
            "    - {{name: kill-{ns}, type: podKill, selector: {{namespace: {ns}, labels: {{app: web}}}}, mode: all}}\n"
        ));
    }
    format!(
        r#"apiVersion: gameday/v1
kind: Scenario
metadata: {{name: bench-podkill}}
spec:
  hypothesis: Every web pod is replaced.
  target: {{contexts: ["gameday-sandbox*"], namespaces: [{}]}}
  blastRadius: {{maxTargets: 20, maxPercent: 100, allowFullOutage: true, maxDuration: 10m}}
  steadyState:
    # An instantaneous fault stays active for two intervals so the
    # guardrails read it at least once (engine::lifecycle); at the default
    # 5s that hold alone would be 10s of the end-to-end figure.
    interval: 1s
    probes:
      - name: web
        kubernetes: {{kind: Deployment, namespace: ns-000, name: web, field: replicas}}
        expect: ">= 0"
  faults:
{faults}"#,
        nss.join(", ")
    )
}

async fn all_ready(c: &Cluster, namespaces: usize, per_ns: i32) -> bool {
    let api = c.kube.all::<k8s_openapi::api::apps::v1::Deployment>();
    let list = api.list(&Default::default()).await.unwrap();
    list.items.len() == namespaces
        && list
            .items
            .iter()
            .all(|d| d.status.as_ref().and_then(|s| s.ready_replicas) == Some(per_ns))
}

async fn bench_podkill(concurrency: u16) {
    const NS: usize = 100;
    const PER: i32 = 20;
    let c = Cluster::start(big_world(NS, PER)).await;
    let sc = c.path("podkill.yaml");
    std::fs::write(&sc, podkill_scenario(NS)).unwrap();
    let (mut secs, mut per_target, mut rss) = (vec![], vec![], vec![]);
    for i in 0..5 {
        assert!(
            c.eventually(Duration::from_secs(60), || all_ready(&c, NS, PER))
                .await
        );
        c.sandbox.admin().reset_log();
        let out = c.path(&format!("run-{i}"));
        let conc = concurrency.to_string();
        let start = Instant::now();
        let o = tokio::process::Command::new("/usr/bin/time")
            .args(["-f", "maxrss_kb=%M"])
            .arg(env!("CARGO_BIN_EXE_gameday"))
            .args([
                "run",
                sc.to_str().unwrap(),
                "--ci",
                "--concurrency",
                &conc,
                "--out",
                out.to_str().unwrap(),
            ])
            .arg("--kubeconfig")
            .arg(&c.kubeconfig)
            .output()
            .await
            .unwrap();
        let took = start.elapsed().as_secs_f64();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{err}");
        let kb: f64 = err
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("maxrss_kb="))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(f64::NAN);
        let killed: usize = journal_events(&out)
            .iter()
            .filter(|e| e.event == "fault.injected")
            .map(|e| e.data["injected"].as_u64().unwrap_or(0) as usize)
            .sum();
        assert_eq!(killed, NS * PER as usize);
        let reqs = c.sandbox.admin().request_count() as f64;
        if i == 0 {
            let entries = journal_events(&out);
            let t0 = entries[0].ts;
            for ev in [
                "run.start",
                "phase",
                "fault.intent",
                "fault.injected",
                "revert.confirmed",
                "run.end",
            ] {
                let ts: Vec<f64> = entries
                    .iter()
                    .filter(|e| e.event == ev)
                    .map(|e| e.ts.duration_since(t0).as_secs_f64())
                    .collect();
                if let (Some(a), Some(b)) = (ts.first(), ts.last()) {
                    println!("  {ev}: first +{a:.2}s last +{b:.2}s");
                }
            }
            let mut kinds = std::collections::BTreeMap::<String, usize>::new();
            for r in c.sandbox.requests() {
                let path = r.path.split('?').next().unwrap_or("").to_string();
                let shape: Vec<&str> = path
                    .split('/')
                    .map(|seg| {
                        if seg.starts_with("ns-") || seg.starts_with("web-") {
                            "*"
                        } else {
                            seg
                        }
                    })
                    .collect();
                *kinds
                    .entry(format!("{} {}", r.method, shape.join("/")))
                    .or_default() += 1;
            }
            for (k, n) in kinds {
                println!("  {n:5} {k}");
            }
        }
        secs.push(took);
        per_target.push(reqs / killed as f64);
        rss.push(kb / 1024.0);
        println!(
            "podkill run {i}: {took:.2}s, {reqs} requests, {:.2} per target, peak RSS {:.1} MB",
            reqs / killed as f64,
            kb / 1024.0
        );
    }
    println!(
        "podkill 2000 pods / 100 namespaces, --concurrency {concurrency}: median {:.2}s, {:.2} requests/target, peak RSS {:.1} MB",
        median(&mut secs),
        median(&mut per_target),
        median(&mut rss)
    );
}

const TEN_FAULTS: &str = "    - {name: f0, type: podFailure, duration: 120s, selector: {namespace: ns-000, labels: {app: web}}, mode: {count: 1}}
    - {name: f1, type: networkPartition, duration: 120s, selector: {namespace: ns-001, labels: {app: web}}, mode: {count: 1}}
    - {name: f2, type: dnsBlock, duration: 120s, selector: {namespace: ns-002, labels: {app: web}}, mode: {count: 1}}
    - {name: f3, type: cpuStress, duration: 120s, selector: {namespace: ns-003, labels: {app: web}}, mode: {count: 1}}
    - {name: f4, type: memoryStress, duration: 120s, selector: {namespace: ns-004, labels: {app: web}}, mode: {count: 1}}
    - {name: f5, type: networkDelay, duration: 120s, selector: {namespace: ns-005, labels: {app: web}}, mode: {count: 1}}
    - {name: f6, type: packetLoss, duration: 120s, selector: {namespace: ns-006, labels: {app: web}}, mode: {count: 1}}
    - {name: f7, type: scale, duration: 120s, selector: {namespace: ns-007, kind: Deployment, name: web}, params: {replicas: 3}}
    - {name: f8, type: badRollout, duration: 120s, selector: {namespace: ns-008, kind: Deployment, name: web}}
    - {name: f9, type: nodeTaint, duration: 120s, selector: {nodeLabels: {pool: p0}}}";

async fn bench_sigint() {
    let c = Cluster::start(big_world(10, 4)).await;
    let nss: Vec<String> = (0..10).map(|n| format!("ns-{n:03}")).collect();
    let text = format!(
        r#"apiVersion: gameday/v1
kind: Scenario
metadata: {{name: bench-sigint}}
spec:
  hypothesis: Reverts are fast.
  target: {{contexts: ["gameday-sandbox*"], namespaces: [{}]}}
  blastRadius: {{maxTargets: 5, maxPercent: 50, maxDuration: 10m}}
  steadyState:
    probes:
      - name: web
        kubernetes: {{kind: Deployment, namespace: ns-000, name: web, field: replicas}}
        expect: ">= 0"
  faults:
{TEN_FAULTS}
"#,
        nss.join(", ")
    );
    let sc = c.path("sigint.yaml");
    std::fs::write(&sc, text).unwrap();
    let (mut to_reverted, mut to_exit) = (vec![], vec![]);
    for i in 0..9 {
        assert!(
            c.eventually(Duration::from_secs(60), || all_ready(&c, 10, 4))
                .await
        );
        assert!(c.marked().await.is_empty());
        let out = c.path(&format!("sig-{i}"));
        let mut child = c.spawn_run(&sc, &out);
        assert!(
            c.eventually(Duration::from_secs(30), || async {
                journal_events(&out)
                    .iter()
                    .filter(|e| e.event == "fault.injected")
                    .count()
                    == 10
            })
            .await,
            "{}",
            std::fs::read_to_string(run_stderr(&out)).unwrap_or_default()
        );
        let sent = jiff::Timestamp::now();
        let t0 = Instant::now();
        std::process::Command::new("kill")
            .args(["-INT", &child.id().unwrap().to_string()])
            .status()
            .unwrap();
        let status = child.wait().await.unwrap();
        let exit = t0.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(status.code(), Some(3));
        let entries = journal_events(&out);
        let reverted: Vec<_> = entries
            .iter()
            .filter(|e| e.event == "fault.reverted")
            .collect();
        assert_eq!(reverted.len(), 10);
        let last = reverted.iter().map(|e| e.ts).max().unwrap();
        let ms = last.duration_since(sent).as_secs_f64() * 1000.0;
        println!(
            "sigint run {i}: all 10 reverted after {ms:.0} ms, confirmed and exited after {exit:.0} ms"
        );
        to_reverted.push(ms);
        to_exit.push(exit);
        assert!(c.marked().await.is_empty());
    }
    println!(
        "SIGINT → 10 faults reverted: median {:.0} ms (process exit after confirm: median {:.0} ms)",
        median(&mut to_reverted),
        median(&mut to_exit)
    );
}

fn after_probe_scenario() -> &'static str {
    r#"apiVersion: gameday/v1
kind: Scenario
metadata: {name: bench-after-probe}
spec:
  hypothesis: A killed web pod is replaced and web stays available.
  target: {contexts: ["gameday-sandbox*"], namespaces: [ns-000]}
  blastRadius: {maxTargets: 1, maxPercent: 50, maxDuration: 5m}
  steadyState:
    interval: 1s
    recoverWithin: 30s
    probes:
      - name: web
        kubernetes: {kind: Deployment, namespace: ns-000, name: web, field: replicas}
        expect: ">= 1"
        during: ">= 1"
  faults:
    - {name: kill, type: podKill, selector: {namespace: ns-000, labels: {app: web}}, mode: {count: 1}}
"#
}

/// Bench 3: how long after the revert is confirmed the first `after` reading is
/// taken, and what that does to the run's length, over 20 runs.
async fn bench_after_probe() {
    let c = Cluster::start(big_world(1, 4)).await;
    let sc = c.path("after-probe.yaml");
    std::fs::write(&sc, after_probe_scenario()).unwrap();
    let (mut runs, mut gaps) = (vec![], vec![]);
    for i in 0..20 {
        assert!(
            c.eventually(Duration::from_secs(60), || all_ready(&c, 1, 4))
                .await
        );
        let out = c.path(&format!("after-{i}"));
        let start = Instant::now();
        let o = tokio::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
            .args(["run", sc.to_str().unwrap(), "--ci", "--out"])
            .arg(&out)
            .arg("--kubeconfig")
            .arg(&c.kubeconfig)
            .output()
            .await
            .unwrap();
        let took = start.elapsed().as_secs_f64();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let entries = journal_events(&out);
        let reverted = entries
            .iter()
            .filter(|e| e.event == "revert.confirmed")
            .map(|e| e.ts)
            .max()
            .expect("a revert.confirmed entry");
        let first_after = entries
            .iter()
            .filter(|e| e.event == "probe.reading" && e.data["phase"] == "after")
            .map(|e| e.ts)
            .min()
            .expect("an after reading");
        let gap = first_after.duration_since(reverted).as_secs_f64() * 1000.0;
        println!(
            "after-probe run {i}: {took:.2}s end to end, first after reading {gap:.0} ms after the revert"
        );
        runs.push(took);
        gaps.push(gap);
    }
    let spread = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        (v[0], v[v.len() / 2], v[v.len() - 1])
    };
    let (r0, r50, r100) = spread(&mut runs);
    let (g0, g50, g100) = spread(&mut gaps);
    println!(
        "after-probe, 20 runs at interval 1s: end to end min {r0:.2}s median {r50:.2}s max {r100:.2}s; revert → first after reading min {g0:.0} ms median {g50:.0} ms max {g100:.0} ms"
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let conc: u16 = std::env::var("GAMEDAY_BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    rt.block_on(async {
        if std::env::var_os("GAMEDAY_BENCH_SKIP_PODKILL").is_none() {
            bench_podkill(conc).await;
        }
        if std::env::var_os("GAMEDAY_BENCH_SKIP_SIGINT").is_none() {
            bench_sigint().await;
        }
        bench_after_probe().await;
    });
}

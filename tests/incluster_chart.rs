//! Issue 16's acceptance end to end, as a user installs it: charts/gameday
//! rendered from ci/sandbox-values.yaml plus the user's values file (the
//! history in a real PostgreSQL, one short scheduled scenario, its RBAC as
//! `gameday rbac` prints it), applied with `kubectl apply --dry-run=server`
//! then for real to the strict sandbox, whose kubelet runs the gameday image
//! as the binary under test. A Job made from the scenario's CronJob runs it
//! to completion; `gameday history` and `gameday report --run-id` read it
//! back from PostgreSQL; the fault is reverted; the chart's watchdog runs
//! too, and the sandbox's RBAC refused neither. Then the release is upgraded
//! with a blackout over every day, and the next Job exits 0 as `skipped`,
//! recorded with its reason.

mod chart_support;
mod common;
mod faults_support;
mod incluster_support;

use std::path::Path;
use std::time::{Duration, Instant};

use common::postgres::Postgres;
use faults_support::{Cluster, scenario_text};
use incluster_support::{
    NS, create_job_from, first_probe_after, job, logs, pod_run_dir, runner_peak_rss, wait_finished,
};
use serde_json::{Value, json};

/// The schedule's name; the chart names its CronJob `gameday-<name>`.
const SCHEDULE: &str = "scale-down";
const CRONJOB: &str = "gameday-scale-down";
const SCENARIO: &str = "scheduled-scale-down";
/// A Job's run is a few seconds; the limit leaves room for a loaded CI box.
const JOB_LIMIT: Duration = Duration::from_secs(120);

/// Scales checkout (4 replicas) down by one for 3 s; the in-cluster context
/// of the chart's clusterName (`in-cluster/gameday-sandbox`) only.
fn scenario() -> String {
    let faults = "    - name: halve-checkout\n      type: scale\n      duration: 3s\n      selector: {namespace: shop, kind: Deployment, name: checkout}\n      params: {by: -1}\n";
    scenario_text(SCENARIO, faults, "").replace(
        "contexts: [\"gameday-sandbox*\"]",
        "contexts: [\"in-cluster/gameday-sandbox\"]",
    )
}

/// `rbac.roles` as a user fills it: the Roles `gameday rbac` prints for
/// the scenario, by namespace.
async fn printed_roles(c: &Cluster, scenario: &Path) -> Vec<Value> {
    let (code, yaml, err) = c.run(&["rbac", scenario.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{err}");
    serde_yaml::Deserializer::from_str(&yaml)
        .map(|d| <Value as serde::Deserialize>::deserialize(d).unwrap())
        .filter(|d| d["kind"] == "Role")
        .map(|d| json!({"namespace": d["metadata"]["namespace"], "rules": d["rules"]}))
        .collect()
}

/// The user's values file over ci/sandbox-values.yaml: the history in
/// PostgreSQL (`history.path` takes a `postgres://` URL; the sandbox serves
/// no Secrets, so `history.existingSecret` cannot be used here), the one
/// schedule, and the calendar's blackouts.
fn values_file(c: &Cluster, url: &str, roles: &[Value], blackouts: Value) -> std::path::PathBuf {
    let values = json!({
        "history": {"path": url},
        "schedules": [{"name": SCHEDULE, "file": "scale-down.yaml", "cron": "0 10 * * 2"}],
        "calendar": {"timeZone": "Europe/Berlin", "blackouts": blackouts},
        "scenarios": {"files": {"scale-down.yaml": scenario()}},
        "rbac": {"roles": roles},
    });
    let path = c.path("my-values.yaml");
    std::fs::write(&path, serde_yaml::to_string(&values).unwrap()).unwrap();
    path
}

/// `helm upgrade --install` without helm: render, a server dry run, apply.
async fn install(c: &Cluster, values: &Path) {
    let over = gameday_chart_render::read_values(values).expect("the values file reads");
    let (text, _) = chart_support::render(&[chart_support::ci_values(), over]);
    let path = c.path("chart.yaml");
    std::fs::write(&path, text).unwrap();
    let file = path.to_str().unwrap();
    let dry = c.kubectl(&["apply", "--dry-run=server", "-f", file]).await;
    assert!(dry.contains("(server dry run)"), "{dry}");
    c.kubectl(&["apply", "-f", file]).await;
}

/// The namespace the chart installs into, enforcing Pod Security
/// `restricted` as the chart's README asks.
async fn namespace(c: &Cluster) {
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS,
        "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}});
    let path = c.path("ns.json");
    std::fs::write(&path, ns.to_string()).unwrap();
    c.kubectl(&["apply", "-f", path.to_str().unwrap()]).await;
}

/// `gameday ARGS --db URL` as a user runs it on their machine: no
/// kubeconfig, no config file, nothing from the environment.
fn gameday(dir: &Path, url: &str, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(args)
        .args(["--db", url])
        .current_dir(dir)
        .env_remove("GAMEDAY_HISTORY_DB")
        .env_remove("GAMEDAY_CONFIG")
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The history's rows, newest first.
fn history_rows(dir: &Path, url: &str) -> Vec<Value> {
    let (code, out, err) = gameday(dir, url, &["history", "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Creates a Job from the CronJob, waits for it (bounded), and returns
/// its log and the seconds from creation to its finished condition.
async fn run_job(c: &Cluster, name: &str, cronjob: &str) -> (String, f64) {
    let created = Instant::now();
    create_job_from(c, cronjob, name).await;
    let done = wait_finished(c, name, JOB_LIMIT).await;
    let secs = created.elapsed().as_secs_f64();
    let log = logs(c, name).await;
    assert_eq!(done, "Complete", "job {name}; logs:\n{log}");
    assert_eq!(job(c, name).await["status"]["succeeded"], 1, "{log}");
    (log, secs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chart_runs_a_scheduled_scenario_into_postgres_and_skips_in_a_blackout() {
    // The synchronous PostgreSQL client may not run on a runtime thread.
    let (pg, url) = tokio::task::spawn_blocking(|| {
        let pg = Postgres::start();
        let url = pg.create_database("incluster");
        (pg, url)
    })
    .await
    .unwrap();
    let c = incluster_support::start().await;
    let work = c.path("workstation");
    std::fs::create_dir_all(&work).unwrap();
    let sc = c.path("scale-down.yaml");
    std::fs::write(&sc, scenario()).unwrap();
    let roles = printed_roles(&c, &sc).await;
    namespace(&c).await;
    install(&c, &values_file(&c, &url, &roles, json!([]))).await;

    // A run now, as `kubectl create job --from=cronjob/...` starts one.
    let created_at = jiff::Timestamp::now();
    let (log, secs) = run_job(&c, "manual-1", CRONJOB).await;
    assert!(
        log.contains("passed"),
        "the run's result in its log:\n{log}"
    );
    let pod_runs = pod_run_dir(&c, "manual-1").await;
    let rss = runner_peak_rss(&c, "manual-1").await;
    eprintln!(
        "chart run: job created to first probe {:?}, to Complete {secs:.2}s; runner peak RSS {} KiB",
        first_probe_after(&pod_runs, &created_at),
        rss.unwrap_or(-1)
    );
    let rss = rss.expect("the node measured the runner");
    assert!(rss < 64 * 1024, "runner peak RSS {rss} KiB is over 64 MiB");
    c.assert_restored("shop", "checkout", 4).await;
    // The chart's watchdog, run now, has nothing left to revert.
    let (log, _) = run_job(&c, "watchdog-1", "gameday-watchdog").await;
    assert!(log.contains("reverted 0 objects; 0 remain"), "{log}");
    // The sandbox enforces RBAC on the runner's ServiceAccount token. The
    // run's preflight asked its access review for every permission (one
    // missing fails the Job before any change: tried with `patch` taken out
    // of the Roles), and no request it or the watchdog made was refused.
    let refused: Vec<_> = c
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.status == 403)
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(refused.is_empty(), "refused: {refused:?}");

    // The history in PostgreSQL, read from outside the cluster.
    let (code, table, err) = gameday(&work, &url, &["history"]);
    assert_eq!(code, 0, "{err}");
    let row = table
        .lines()
        .find(|l| l.contains(SCENARIO))
        .unwrap_or_else(|| panic!("{SCENARIO} not in the history:\n{table}"));
    assert!(row.contains("passed"), "{table}");
    let rows = history_rows(&work, &url);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["scenario"], SCENARIO);
    assert_eq!(rows[0]["status"], "passed");
    let run_id = rows[0]["runId"].as_str().unwrap().to_string();

    // The pod's run directory is gone with its volume; the journal kept in
    // PostgreSQL rebuilds the report.
    let (code, _, err) = gameday(&work, &url, &["report", "--run-id", &run_id, "rebuilt"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("rebuilt from the history"), "{err}");
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("rebuilt/result.json")).unwrap())
            .unwrap();
    assert_eq!(result["runId"], run_id.as_str());
    assert_eq!(result["status"], "passed");
    let md = std::fs::read_to_string(work.join("rebuilt/report.md")).unwrap();
    assert!(md.contains("halve-checkout"), "{md}");
    // The same as a replay of the journal the runner wrote in its pod: the
    // history kept the journal whole.
    let (code, from_pod, err) = gameday(
        &work,
        &url,
        &["report", pod_runs.to_str().unwrap(), "-f", "md"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(md, from_pod);
    // And the report the runner wrote live, to the letter: the live
    // session takes its start and end from the journal's `run.start` and
    // `run.end`, as a replay does.
    let in_pod = std::fs::read_to_string(pod_runs.join("report.md")).unwrap();
    assert_eq!(md, in_pod);

    // Upgraded with a blackout over every day: the next run is skipped.
    let always = json!([{"name": "change-freeze-drill",
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}]);
    install(&c, &values_file(&c, &url, &roles, always)).await;
    let generation = |d: k8s_openapi::api::apps::v1::Deployment| d.metadata.generation;
    let before = generation(c.deployment("shop", "checkout").await);
    let (log, skip_secs) = run_job(&c, "manual-2", CRONJOB).await;
    eprintln!("chart run in a blackout: job created to Complete {skip_secs:.2}s");
    let reason = "blackout change-freeze-drill (mon,tue,wed,thu,fri,sat,sun Europe/Berlin)";
    // stdout's one line; stderr's lines interleave with it in the log.
    assert!(
        log.lines().any(|l| l == format!("skipped: {reason}")),
        "{log}"
    );
    c.assert_restored("shop", "checkout", 4).await;
    assert_eq!(
        generation(c.deployment("shop", "checkout").await),
        before,
        "a skipped run changes nothing"
    );
    let rows = history_rows(&work, &url);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let skipped = rows
        .iter()
        .find(|r| r["status"] == "skipped")
        .unwrap_or_else(|| panic!("no skipped run in {rows:?}"));
    assert_eq!(skipped["scenario"], SCENARIO);
    assert_eq!(skipped["reason"], reason);
    drop(pg);
}

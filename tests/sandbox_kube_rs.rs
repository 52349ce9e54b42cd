//! kube-rs against the sandbox: watches, optimistic concurrency, readiness,
//! PDB-aware eviction, subresources and the misbehaviour knobs.

mod sandbox_support;

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use gameday::sandbox::resources::{DEPLOYMENTS, PODS, REPLICASETS};
use gameday::sandbox::{Misbehaviour, Sandbox, SandboxOptions};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{DeleteParams, EvictParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{Api, Client};
use sandbox_support::*;
use serde_json::json;

fn checkout_pods(sb: &gameday::sandbox::SandboxHandle) -> Vec<serde_json::Value> {
    objects(sb, PODS, Some("shop"))
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["app"] == "checkout")
        .collect()
}

/// Checkout pods not being deleted: what a scale change is judged by, since
/// pods removed by a scale-down stay Terminating for their grace period.
fn live_checkout_pods(sb: &gameday::sandbox::SandboxHandle) -> usize {
    checkout_pods(sb)
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .count()
}

#[tokio::test]
async fn watcher_sees_delete_and_replacement() {
    let sb = start(33).await;
    let client = sb.kube_client().unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    let cfg = watcher::Config::default().labels("app=checkout");
    let mut stream = watcher(pods.clone(), cfg).boxed();
    // Wait for the initial list to finish.
    loop {
        match stream.try_next().await.unwrap().unwrap() {
            watcher::Event::InitDone => break,
            _ => continue,
        }
    }
    let victim = name(&checkout_pods(&sb)[0]);
    pods.delete(&victim, &DeleteParams::default())
        .await
        .unwrap();
    let mut saw_delete = false;
    let mut replacement = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(saw_delete && replacement.is_some()) {
        let ev = tokio::time::timeout_at(deadline, stream.try_next())
            .await
            .expect("watch events in time")
            .unwrap()
            .unwrap();
        match ev {
            watcher::Event::Delete(p) if p.metadata.name.as_deref() == Some(&victim) => {
                saw_delete = true
            }
            watcher::Event::Apply(p) if p.metadata.name.as_deref() != Some(&victim) => {
                replacement = p.metadata.name.clone()
            }
            _ => {}
        }
    }
    let replacement = replacement.unwrap();
    assert!(replacement.starts_with("checkout-"), "{replacement}");
    sb.shutdown().await;
}

#[tokio::test]
async fn stale_resource_version_update_conflicts() {
    let sb = start(33).await;
    let cms: Api<ConfigMap> = Api::namespaced(sb.kube_client().unwrap(), "shop");
    let mut cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "flags"}, "data": {"a": "1"}})).unwrap();
    let created = cms.create(&PostParams::default(), &cm).await.unwrap();
    cm = created.clone();
    cm.data.as_mut().unwrap().insert("a".into(), "2".into());
    let updated = cms
        .replace("flags", &PostParams::default(), &cm)
        .await
        .unwrap();
    assert_ne!(
        updated.metadata.resource_version,
        created.metadata.resource_version
    );
    // `cm` still carries the first resourceVersion: stale.
    cm.data.as_mut().unwrap().insert("a".into(), "3".into());
    let err = cms
        .replace("flags", &PostParams::default(), &cm)
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert_eq!(s.reason, "Conflict");
        }
        other => panic!("expected a 409 Status, got {other:?}"),
    }
    assert_eq!(cms.get("flags").await.unwrap().data.unwrap()["a"], "2");
    sb.shutdown().await;
}

#[tokio::test]
async fn replacement_becomes_ready_after_the_readiness_delay() {
    let sb = start(33).await;
    let pods: Api<Pod> = Api::namespaced(sb.kube_client().unwrap(), "shop");
    let before: Vec<String> = checkout_pods(&sb).iter().map(name).collect();
    let t0 = Instant::now();
    pods.delete(&before[0], &DeleteParams::default())
        .await
        .unwrap();
    let mut first_seen_unready = false;
    let ok = wait_until(Duration::from_secs(5), || {
        let fresh: Vec<_> = checkout_pods(&sb)
            .into_iter()
            .filter(|p| !before.contains(&name(p)))
            .collect();
        if fresh.len() == 1 && !ready(&fresh[0]) {
            first_seen_unready = true;
        }
        fresh.len() == 1 && ready(&fresh[0])
    })
    .await;
    let elapsed = t0.elapsed();
    assert!(ok, "no ready replacement");
    assert!(first_seen_unready, "the replacement was never seen unready");
    // The world's checkout pods declare a 1 s readiness delay.
    assert!(
        elapsed >= Duration::from_secs(1),
        "ready too early: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_millis(2500),
        "ready too late: {elapsed:?}"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn eviction_blocked_by_pdb_is_429() {
    let sb = start(33).await;
    // kube-rs retries 429 by default until the budget allows; look at the
    // first answer.
    let pods: Api<Pod> = Api::namespaced(sb.kube_client_without_retries().unwrap(), "shop");
    let names: Vec<String> = checkout_pods(&sb).iter().map(name).collect();
    pods.evict(&names[0], &EvictParams::default())
        .await
        .unwrap();
    let err = pods
        .evict(&names[1], &EvictParams::default())
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 429);
            // The real server's wording, with the budget's figures in a
            // DisruptionBudget cause (pkg/registry/core/pod/storage/eviction.go).
            assert_eq!(
                s.message,
                "Cannot evict pod as it would violate the pod's disruption budget."
            );
            let causes = s
                .details
                .as_ref()
                .map(|d| d.causes.clone())
                .unwrap_or_default();
            assert_eq!(causes.len(), 1, "{causes:?}");
            assert_eq!(causes[0].reason, "DisruptionBudget");
            assert!(
                causes[0]
                    .message
                    .starts_with("The disruption budget checkout needs "),
                "{}",
                causes[0].message
            );
        }
        other => panic!("expected 429, got {other:?}"),
    }
    assert!(sb.store().try_get(PODS, "shop", &names[1]).is_some());
    // Once the replacement is ready the budget allows another eviction.
    // The evicted pod may still be listed, Terminating: it does not count.
    assert!(
        wait_until(Duration::from_secs(5), || checkout_pods(&sb)
            .iter()
            .filter(|p| ready(p) && p["metadata"]["deletionTimestamp"].is_null())
            .count()
            == 4)
        .await
    );
    assert!(
        wait_until(Duration::from_secs(2), || {
            sb.store()
                .try_get(gameday::sandbox::resources::PDBS, "shop", "checkout")
                .is_some_and(|p| p.value()["status"]["disruptionsAllowed"] == 1)
        })
        .await
    );
    pods.evict(&names[1], &EvictParams::default())
        .await
        .unwrap();
    sb.shutdown().await;
}

#[tokio::test]
async fn configured_error_rate_shows_up_in_kube_rs_calls() {
    let sb = start(33).await;
    let count_failures = |pods: Api<Pod>, code: u16| async move {
        let mut failures = 0;
        for _ in 0..10 {
            match pods.list(&ListParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) => {
                    assert_eq!(s.code, code);
                    failures += 1;
                }
                Err(e) => panic!("unexpected error kind: {e:?}"),
            }
        }
        failures
    };
    let pods: Api<Pod> = Api::namespaced(sb.kube_client().unwrap(), "shop");
    // 500 is not retried by kube-rs: exactly the configured share fails.
    sb.set_misbehaviour(Misbehaviour {
        error_rate: 0.5,
        error_status: Some(500),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(count_failures(pods.clone(), 500).await, 5);
    // 503 is retried by default: every call succeeds, each refusal costs a request.
    sb.set_misbehaviour(Misbehaviour {
        error_rate: 0.5,
        error_status: Some(503),
        ..Default::default()
    })
    .unwrap();
    sb.admin().reset_log();
    assert_eq!(count_failures(pods.clone(), 503).await, 0);
    let log = sb.requests();
    let refused = log.iter().filter(|r| r.status == 503).count();
    assert!(refused >= 9, "{refused} refusals");
    assert_eq!(log.len(), 10 + refused);
    // Without retries the 503s reach the caller.
    let bare: Api<Pod> = Api::namespaced(sb.kube_client_without_retries().unwrap(), "shop");
    sb.set_misbehaviour(Misbehaviour {
        error_rate: 0.5,
        error_status: Some(503),
        ..Default::default()
    })
    .unwrap();
    let failures = count_failures(bare, 503).await;
    assert_eq!(failures, 5);
    sb.set_misbehaviour(Misbehaviour {
        latency_ms: 300,
        ..Default::default()
    })
    .unwrap();
    let t0 = Instant::now();
    pods.list(&ListParams::default()).await.unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(300));
    sb.set_misbehaviour(Misbehaviour {
        outages: vec!["0s+1h".parse().unwrap()],
        ..Default::default()
    })
    .unwrap();
    let bare: Api<Pod> = Api::namespaced(sb.kube_client_without_retries().unwrap(), "shop");
    assert!(
        matches!(bare.list(&ListParams::default()).await, Err(kube::Error::Api(s)) if s.code == 503)
    );
    sb.admin().clear();
    pods.list(&ListParams::default()).await.unwrap();
    sb.shutdown().await;
}

#[tokio::test]
async fn request_log_counts_client_writes_only() {
    let sb = start(33).await;
    let client = sb.kube_client().unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    pods.list(&ListParams::default()).await.unwrap();
    // Let the controllers run: their writes are not client requests.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sb.write_count(), 0);
    let victim = name(&checkout_pods(&sb)[0]);
    pods.delete(&victim, &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(sb.write_count(), 1);
    let log = sb.requests();
    assert!(
        log.iter()
            .any(|r| r.method == "DELETE" && r.path.contains(&victim) && r.status == 200)
    );
    // The same through HTTP, as other processes would read it.
    let body: serde_json::Value = sb
        .http_client()
        .unwrap()
        .get(format!("{}/sandbox/writes", sb.api_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["writes"], 1);
    sb.shutdown().await;
}

#[tokio::test]
async fn scale_subresource_and_rollout() {
    let sb = start(33).await;
    let client = sb.kube_client().unwrap();
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "shop");
    let sc = deploys.get_scale("checkout").await.unwrap();
    assert_eq!(sc.spec.unwrap().replicas, Some(4));
    deploys
        .patch_scale(
            "checkout",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 2}})),
        )
        .await
        .unwrap();
    assert!(wait_until(Duration::from_secs(15), || live_checkout_pods(&sb) == 2).await);
    deploys
        .patch_scale(
            "checkout",
            &PatchParams::apply("test").force(),
            &Patch::Apply(
                json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "spec": {"replicas": 3}}),
            ),
        )
        .await
        .unwrap();
    assert!(wait_until(Duration::from_secs(15), || live_checkout_pods(&sb) == 3).await);
    // An image change rolls out through a new ReplicaSet.
    deploys
        .patch("checkout", &PatchParams::default(), &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "shop/checkout:1.5"}]}}}})))
        .await
        .unwrap();
    let done = wait_until(Duration::from_secs(15), || {
        let pods = checkout_pods(&sb);
        pods.len() == 3
            && pods
                .iter()
                .all(|p| p["spec"]["containers"][0]["image"] == "shop/checkout:1.5" && ready(p))
    })
    .await;
    assert!(done, "rollout did not complete");
    let rss = objects(&sb, REPLICASETS, Some("shop"));
    let checkout_rs: Vec<_> = rss
        .iter()
        .filter(|r| name(r).starts_with("checkout-"))
        .collect();
    assert_eq!(checkout_rs.len(), 2);
    assert!(
        wait_until(Duration::from_secs(3), || {
            let d = &objects(&sb, DEPLOYMENTS, Some("shop"))
                .into_iter()
                .find(|d| name(d) == "checkout")
                .unwrap();
            d["status"]["updatedReplicas"] == 3
                && d["status"]["readyReplicas"] == 3
                && d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
        })
        .await
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn bad_and_pause_images_never_become_ready() {
    let sb = start(33).await;
    let deploys: Api<Deployment> = Api::namespaced(sb.kube_client().unwrap(), "shop");
    deploys
        .patch("frontend", &PatchParams::default(), &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "registry.invalid/shop/frontend:9"}]}}}})))
        .await
        .unwrap();
    let frontend = |sb: &gameday::sandbox::SandboxHandle| -> Vec<serde_json::Value> {
        objects(sb, PODS, Some("shop"))
            .into_iter()
            .filter(|p| p["metadata"]["labels"]["app"] == "frontend")
            .collect()
    };
    assert!(
        wait_until(Duration::from_secs(5), || frontend(&sb).iter().any(|p| {
            p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ImagePullBackOff"
        }))
        .await
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The rollout is stuck: old pods keep serving, the broken ones never get ready.
    let pods = frontend(&sb);
    assert!(
        pods.iter()
            .filter(|p| p["spec"]["containers"][0]["image"] == "shop/frontend:2.0")
            .all(ready)
    );
    assert!(
        pods.iter()
            .filter(|p| p["spec"]["containers"][0]["image"] != "shop/frontend:2.0")
            .all(|p| !ready(p))
    );
    // A pod whose image becomes pause restarts, runs and stays unready.
    let pods_api: Api<Pod> = Api::namespaced(sb.kube_client().unwrap(), "payments");
    let victim = name(&objects(&sb, PODS, Some("payments"))[0]);
    let container = objects(&sb, PODS, Some("payments"))[0]["spec"]["containers"][0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    pods_api
        .patch(&victim, &PatchParams::default(), &Patch::Strategic(json!({"spec": {"containers": [{"name": container, "image": "registry.k8s.io/pause:3.9"}]}})))
        .await
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(3), || {
            sb.store()
                .try_get(PODS, "payments", &victim)
                .is_some_and(|p| {
                    let cs = &p.value()["status"]["containerStatuses"][0];
                    cs["image"] == "registry.k8s.io/pause:3.9"
                        && cs["restartCount"] == 1
                        && cs["state"]["running"].is_object()
                        && !ready(p.value())
                })
        })
        .await
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn ephemeral_containers_run_their_commands_until_they_end_or_are_killed() {
    let sb = start(33).await;
    let pods: Api<Pod> = Api::namespaced(sb.kube_client().unwrap(), "shop");
    let victim = name(&checkout_pods(&sb)[0]);
    // The containers run their commands with what their images carry:
    // netshoot has tc and sleep, and tc needs NET_ADMIN.
    let net_admin = json!({"capabilities": {"add": ["NET_ADMIN"]}});
    let inject = json!({"spec": {"ephemeralContainers": [{"name": "gameday-slow-abc12", "image": "nicolaka/netshoot:v0.13",
        "targetContainerName": "app", "securityContext": net_admin,
        "command": ["timeout", "60", "sh", "-c", "tc qdisc add dev eth0 root handle 7a11: netem delay 200ms && sleep 55"]}]}});
    pods.patch_ephemeral_containers(&victim, &PatchParams::default(), &Patch::Strategic(inject))
        .await
        .unwrap();
    let state = |sb: &gameday::sandbox::SandboxHandle, c: &str| {
        sb.store().try_get(PODS, "shop", &victim).and_then(|p| {
            p.value()["status"]["ephemeralContainerStatuses"]
                .as_array()
                .and_then(|a| {
                    a.iter().find(|s| s["name"] == c).map(|s| {
                        s["state"]
                            .as_object()
                            .unwrap()
                            .keys()
                            .next()
                            .unwrap()
                            .clone()
                    })
                })
        })
    };
    assert!(
        wait_until(Duration::from_secs(3), || state(&sb, "gameday-slow-abc12")
            .as_deref()
            == Some("running"))
        .await
    );
    // Removing an ephemeral container is refused.
    let err = pods
        .replace_ephemeral_containers(&victim, &PostParams::default(), &{
            let mut p = pods.get(&victim).await.unwrap();
            p.spec.as_mut().unwrap().ephemeral_containers = Some(vec![]);
            p
        })
        .await
        .unwrap_err();
    assert!(matches!(err, kube::Error::Api(s) if s.code == 422));
    let revert = json!({"spec": {"ephemeralContainers": [{"name": "gameday-slow-rev01", "image": "nicolaka/netshoot:v0.13",
        "targetContainerName": "app", "securityContext": net_admin,
        "command": ["sh", "-c", "pkill -f '^sleep 55$'; tc qdisc del dev eth0 root handle 7a11:"]}]}});
    pods.patch_ephemeral_containers(&victim, &PatchParams::default(), &Patch::Strategic(revert))
        .await
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(3), || state(&sb, "gameday-slow-abc12")
            .as_deref()
            == Some("terminated")
            && state(&sb, "gameday-slow-rev01").as_deref()
                == Some("terminated"))
        .await
    );
    // A short timeout ends the container on its own.
    let other = name(&checkout_pods(&sb)[1]);
    let short = json!({"spec": {"ephemeralContainers": [{"name": "gameday-cpu-x1", "image": "busybox:1.36",
        "command": ["sleep", "1"]}]}});
    pods.patch_ephemeral_containers(&other, &PatchParams::default(), &Patch::Strategic(short))
        .await
        .unwrap();
    let other_state = || {
        sb.store().try_get(PODS, "shop", &other).and_then(|p| {
            p.value()["status"]["ephemeralContainerStatuses"][0]["state"]
                .as_object()
                .map(|m| m.keys().next().unwrap().clone())
        })
    };
    assert!(
        wait_until(Duration::from_secs(1), || other_state().as_deref()
            == Some("running"))
        .await
    );
    assert!(
        wait_until(Duration::from_secs(3), || other_state().as_deref()
            == Some("terminated"))
        .await
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn statefulset_pods_have_ordinal_names_and_come_back() {
    let sb = start(33).await;
    let client: Client = sb.kube_client().unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "payments");
    let names: Vec<String> = pods
        .list(&ListParams::default().labels("app=ledger-db"))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|p| p.metadata.name.unwrap())
        .collect();
    assert_eq!(names, vec!["ledger-db-0", "ledger-db-1", "ledger-db-2"]);
    let uid = pods.get("ledger-db-1").await.unwrap().metadata.uid;
    pods.delete("ledger-db-1", &DeleteParams::default())
        .await
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(3), || {
            sb.store()
                .try_get(PODS, "payments", "ledger-db-1")
                .is_some_and(|p| {
                    p.value()["metadata"]["uid"].as_str() != uid.as_deref() && ready(p.value())
                })
        })
        .await
    );
    let sts: Api<StatefulSet> = Api::namespaced(client, "payments");
    sts.patch_scale(
        "ledger-db",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 1}})),
    )
    .await
    .unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || sb
            .store()
            .try_get(PODS, "payments", "ledger-db-1")
            .is_none()
            && sb
                .store()
                .try_get(PODS, "payments", "ledger-db-2")
                .is_none())
        .await
    );
    assert_eq!(
        sts.get("ledger-db").await.unwrap().status.unwrap().replicas,
        1
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn selectors_and_server_side_apply() {
    let sb = start(33).await;
    let client = sb.kube_client().unwrap();
    let all: Api<Pod> = Api::all(client.clone());
    let on_node = all
        .list(&ListParams::default().fields("spec.nodeName=node-1"))
        .await
        .unwrap();
    assert!(!on_node.items.is_empty());
    assert!(
        on_node
            .items
            .iter()
            .all(|p| p.spec.as_ref().unwrap().node_name.as_deref() == Some("node-1"))
    );
    let set_based = all
        .list(&ListParams::default().labels("app in (checkout, ledger-db),app!=frontend"))
        .await
        .unwrap();
    assert_eq!(set_based.items.len(), 7);
    assert!(set_based.metadata.resource_version.is_some());
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "shop");
    let pp = PatchParams::apply("gameday").force();
    cms.patch("ssa", &pp, &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"x": "1"}}))).await.unwrap();
    let cm = cms.patch("ssa", &pp, &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"y": "2"}}))).await.unwrap();
    assert_eq!(cm.data.unwrap()["y"], "2");
    let err = cms.get("missing").await.unwrap_err();
    assert!(matches!(err, kube::Error::Api(s) if s.code == 404 && s.reason == "NotFound"));
    let err = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "ssa"}})).unwrap(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, kube::Error::Api(s) if s.code == 409 && s.reason == "AlreadyExists"));
    let err = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "Not_Valid"}})).unwrap(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, kube::Error::Api(s) if s.code == 422));
    let v = client.apiserver_version().await.unwrap();
    assert_eq!(v.minor, "33");
    sb.shutdown().await;
}

#[tokio::test]
async fn watch_from_an_expired_resource_version_gets_410_and_watcher_recovers() {
    use gameday::sandbox::{Sandbox, SandboxOptions};
    use kube::api::WatchParams;
    let sb = Sandbox::start(SandboxOptions {
        objects: world(),
        history: 16,
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(sb.kube_client().unwrap(), "shop");
    let old_rv = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    for i in 0..40 {
        cms.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": format!("c{i}")}})).unwrap(),
        )
        .await
        .unwrap();
    }
    let mut stream = cms
        .watch(&WatchParams::default(), &old_rv)
        .await
        .unwrap()
        .boxed();
    match stream.try_next().await.unwrap() {
        Some(kube::api::WatchEvent::Error(e)) => assert_eq!(e.code, 410),
        other => panic!("expected an ERROR 410 event, got {other:?}"),
    }
    // A runtime watcher started now sees every config map (it lists first).
    let mut w = watcher(cms.clone(), watcher::Config::default()).boxed();
    let mut seen = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), w.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            watcher::Event::InitApply(_) => seen += 1,
            watcher::Event::InitDone => break,
            _ => {}
        }
    }
    assert_eq!(seen, 40);
    // Bookmarks and initial-events-end for streaming lists.
    let body = sb
        .http_client()
        .unwrap()
        .get(format!(
            "{}/api/v1/namespaces/shop/configmaps?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1",
            sb.api_url()
        ))
        .send()
        .await
    .unwrap()
    .text()
    .await
    .unwrap();
    let lines: Vec<serde_json::Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.iter().filter(|l| l["type"] == "ADDED").count(), 40);
    let last = lines.last().unwrap();
    assert_eq!(last["type"], "BOOKMARK");
    assert_eq!(
        last["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn dry_run_deletecollection_and_start_errors() {
    use gameday::sandbox::{Sandbox, SandboxError, SandboxOptions};
    use kube::api::DeleteParams;
    let sb = start(33).await;
    let cms: Api<ConfigMap> = Api::namespaced(sb.kube_client().unwrap(), "shop");
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "dry", "labels": {"k": "v"}}})).unwrap();
    cms.create(
        &PostParams {
            dry_run: true,
            ..Default::default()
        },
        &cm,
    )
    .await
    .unwrap();
    assert!(
        cms.get_opt("dry").await.unwrap().is_none(),
        "dry-run create stored the object"
    );
    cms.create(&PostParams::default(), &cm).await.unwrap();
    let mut other = cm.clone();
    other.metadata.name = Some("other".into());
    other.metadata.labels = None;
    cms.create(&PostParams::default(), &other).await.unwrap();
    cms.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("k=v"),
    )
    .await
    .unwrap();
    assert!(cms.get_opt("dry").await.unwrap().is_none());
    assert!(cms.get_opt("other").await.unwrap().is_some());
    sb.shutdown().await;

    let bad = Sandbox::start(SandboxOptions {
        kube_minor: 19,
        ..Default::default()
    })
    .await;
    assert!(matches!(bad, Err(SandboxError::KubeMinor(19))));
    // batch/v1 is served now (the chart's CronJobs); HPAs are not.
    let unknown = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "j"}});
    let bad = Sandbox::start(SandboxOptions {
        objects: vec![unknown],
        ..Default::default()
    })
    .await;
    match bad {
        Err(SandboxError::Seed { what, message, .. }) => {
            assert_eq!(what, "HorizontalPodAutoscaler j");
            assert!(message.contains("does not serve"), "{message}");
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("an HPA was accepted"),
    }
}

#[tokio::test]
async fn filtered_watch_sees_objects_enter_and_leave_its_selector() {
    use kube::api::{WatchEvent, WatchParams};
    let sb = start(33).await;
    let cms: Api<ConfigMap> = Api::namespaced(sb.kube_client().unwrap(), "shop");
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "m"}})).unwrap(),
    )
    .await
    .unwrap();
    let rv = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut stream = cms
        .watch(
            &WatchParams::default()
                .labels("gameday/run-id=r1")
                .timeout(10),
            &rv,
        )
        .await
        .unwrap()
        .boxed();
    let label =
        |v: Option<&str>| Patch::Merge(json!({"metadata": {"labels": {"gameday/run-id": v}}}));
    cms.patch("m", &PatchParams::default(), &label(Some("r1")))
        .await
        .unwrap();
    cms.patch(
        "m",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"x": "1"}})),
    )
    .await
    .unwrap();
    cms.patch("m", &PatchParams::default(), &label(None))
        .await
        .unwrap();
    let mut kinds = Vec::new();
    while kinds.len() < 3 {
        match tokio::time::timeout(Duration::from_secs(5), stream.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            WatchEvent::Added(_) => kinds.push("ADDED"),
            WatchEvent::Modified(_) => kinds.push("MODIFIED"),
            WatchEvent::Deleted(_) => kinds.push("DELETED"),
            _ => {}
        }
    }
    assert_eq!(kinds, ["ADDED", "MODIFIED", "DELETED"]);
    sb.shutdown().await;
}

#[tokio::test]
async fn eviction_with_two_budgets_is_500() {
    let sb = start(33).await;
    let client = sb.kube_client_without_retries().unwrap();
    let pdbs: Api<k8s_openapi::api::policy::v1::PodDisruptionBudget> =
        Api::namespaced(client.clone(), "shop");
    let second = serde_json::from_value(json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "checkout-extra"},
        "spec": {"maxUnavailable": 4, "selector": {"matchLabels": {"app": "checkout"}}},
    }))
    .unwrap();
    pdbs.create(&PostParams::default(), &second).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client, "shop");
    let victim = name(&checkout_pods(&sb)[0]);
    match pods.evict(&victim, &EvictParams::default()).await {
        Err(kube::Error::Api(s)) => {
            assert_eq!(s.code, 500);
            assert_eq!(s.reason, "InternalError");
            assert!(
                s.message.contains("more than one PodDisruptionBudget"),
                "{}",
                s.message
            );
        }
        other => panic!("expected 500, got {other:?}"),
    }
    assert!(sb.store().try_get(PODS, "shop", &victim).is_some());
    sb.shutdown().await;
}

#[tokio::test]
async fn lists_are_chunked_with_continue_tokens() {
    let sb = Sandbox::start(SandboxOptions {
        objects: world(),
        history: 16,
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let pods: Api<Pod> = Api::all(sb.kube_client().unwrap());
    let all: Vec<String> = pods
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|p| p.metadata.name.clone().unwrap_or_default())
        .collect();
    assert!(all.len() > 5, "the world has pods: {}", all.len());
    // Page through with limit=2, as kubectl's --chunk-size does.
    let mut paged = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut lp = ListParams::default().limit(2);
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        let page = pods.list(&lp).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 2);
        paged.extend(
            page.items
                .iter()
                .map(|p| p.metadata.name.clone().unwrap_or_default()),
        );
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(c) => {
                let left = page.metadata.remaining_item_count.unwrap_or(-1);
                assert_eq!(left as usize, all.len() - paged.len());
                token = Some(c);
            }
            None => break,
        }
        assert!(pages <= all.len(), "paging does not end");
    }
    let mut sorted = all.clone();
    sorted.sort();
    let mut paged_sorted = paged.clone();
    paged_sorted.sort();
    assert_eq!(paged_sorted, sorted, "every pod exactly once");

    // A token whose resourceVersion was compacted away is 410 Expired.
    let first = pods.list(&ListParams::default().limit(1)).await.unwrap();
    let stale = first.metadata.continue_.unwrap();
    let shop: Api<Pod> = Api::namespaced(sb.kube_client().unwrap(), "shop");
    for p in checkout_pods(&sb) {
        shop.delete(&name(&p), &DeleteParams::default())
            .await
            .unwrap();
    }
    let compacted = wait_until(Duration::from_secs(10), || {
        sb.store().oldest_rv(PODS)
            > first
                .metadata
                .resource_version
                .as_deref()
                .unwrap_or("0")
                .parse()
                .unwrap_or(0)
    })
    .await;
    assert!(compacted, "pod history never moved past the first page");
    match pods
        .list(&ListParams::default().limit(1).continue_token(&stale))
        .await
    {
        Err(kube::Error::Api(s)) => {
            assert_eq!((s.code, s.reason.as_str()), (410, "Expired"));
        }
        other => panic!("expected 410, got {other:?}"),
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn discovery_roots_answer_with_a_trailing_slash() {
    let sb = start(33).await;
    let client = sb.kube_client().unwrap();
    for (path, kind) in [
        ("/version/", None),
        ("/api/", Some("APIVersions")),
        ("/apis/", Some("APIGroupList")),
    ] {
        let req = axum::http::Request::get(path).body(Vec::new()).unwrap();
        let v: serde_json::Value = client.request(req).await.unwrap();
        match kind {
            Some(k) => assert_eq!(v["kind"], k, "{path}"),
            None => assert_eq!(v["major"], "1", "{path}"),
        }
    }
    sb.shutdown().await;
}

/// events.k8s.io/v1 serves the same events as core/v1, in the newer shape,
/// as kube-apiserver does from its one Event storage.
#[tokio::test]
async fn events_are_served_by_events_k8s_io_too() {
    use k8s_openapi::api::events::v1::Event;
    let sb = start(33).await;
    let client = sb.kube_client().unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    let victim = name(&checkout_pods(&sb)[0]);
    pods.delete(&victim, &DeleteParams::default())
        .await
        .unwrap();
    let events: Api<Event> = Api::namespaced(client.clone(), "shop");
    let mut killing = None;
    let deadline = Instant::now() + Duration::from_secs(5);
    while killing.is_none() && Instant::now() < deadline {
        let list = events.list(&ListParams::default()).await.unwrap();
        killing = list.items.into_iter().find(|e| {
            e.reason.as_deref() == Some("Killing")
                && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(victim.as_str())
        });
        if killing.is_none() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let ev = killing.expect("the kubelet's Killing event, seen through events.k8s.io/v1");
    assert!(
        ev.note
            .as_deref()
            .unwrap_or("")
            .starts_with("Stopping container"),
        "{ev:?}"
    );
    // One object, two views: the same name through core/v1.
    let core: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client, "shop");
    let same = core
        .get(ev.metadata.name.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(same.message, ev.note);
    sb.shutdown().await;
}

/// `dryRun=All` on the ephemeralcontainers subresource runs every check
/// (Pod Security included) and stores nothing: what gameday's preflight
/// needs to learn of a refusal before it changes anything.
#[tokio::test]
async fn ephemeral_dry_run_checks_everything_and_stores_nothing() {
    use gameday::sandbox::resources::NAMESPACES;
    let sb = start(33).await;
    let client = sb.kube_client_without_retries().unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    let victim = name(&checkout_pods(&sb)[0]);
    let patch = json!({"spec": {"ephemeralContainers": [{"name": "tc", "image": "net:1",
        "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}]}});
    let dry = PatchParams {
        dry_run: true,
        ..PatchParams::default()
    };
    let seen = pods
        .patch_ephemeral_containers(&victim, &dry, &Patch::Strategic(patch.clone()))
        .await
        .unwrap();
    assert_eq!(
        seen.spec.unwrap().ephemeral_containers.unwrap()[0].name,
        "tc"
    );
    let stored = sb.store().try_get(PODS, "shop", &victim).unwrap();
    assert!(stored.value()["spec"].get("ephemeralContainers").is_none());
    let writes_before = sb.store().current_rv();
    let nss: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client);
    nss.patch(
        "shop",
        &PatchParams::default(),
        &Patch::Merge(
            json!({"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "baseline"}}}),
        ),
    )
    .await
    .unwrap();
    assert!(sb.store().try_get(NAMESPACES, "", "shop").is_some());
    match pods
        .patch_ephemeral_containers(&victim, &dry, &Patch::Strategic(patch))
        .await
    {
        Err(kube::Error::Api(s)) => {
            assert_eq!((s.code, s.reason.as_str()), (403, "Forbidden"));
            assert!(
                s.message
                    .contains("violates PodSecurity \"baseline:latest\""),
                "{}",
                s.message
            );
        }
        other => panic!("expected 403, got {other:?}"),
    }
    assert!(sb.store().current_rv() > writes_before);
    sb.shutdown().await;
}

/// A throttling 429 (API Priority and Fairness) carries Retry-After and the
/// real message; a PDB refusal is a 429 without one. Clients tell them apart.
#[tokio::test]
async fn throttling_429_differs_from_a_pdb_refusal() {
    let sb = start(33).await;
    sb.set_misbehaviour(Misbehaviour {
        error_rate: 1.0,
        throttle_retry_after_seconds: Some(1),
        methods: vec!["GET".into()],
        ..Default::default()
    })
    .unwrap();
    let url = format!("{}/api/v1/namespaces/shop/pods", sb.api_url());
    let client = sb.http_client().unwrap();
    let resp = client.get(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        body["message"],
        "Too many requests, please try again later."
    );
    assert_eq!(body["details"]["retryAfterSeconds"], 1);
    sb.set_misbehaviour(Misbehaviour::default()).unwrap();
    // The PDB refusal: 429, no Retry-After, a DisruptionBudget cause.
    let names: Vec<String> = checkout_pods(&sb).iter().map(name).collect();
    let evict = |n: &str| {
        client
            .post(format!(
                "{}/api/v1/namespaces/shop/pods/{n}/eviction",
                sb.api_url()
            ))
            .json(&json!({"apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": n, "namespace": "shop"}}))
            .send()
    };
    assert_eq!(evict(&names[0]).await.unwrap().status().as_u16(), 201);
    let refused = evict(&names[1]).await.unwrap();
    assert_eq!(refused.status().as_u16(), 429);
    assert!(refused.headers().get("retry-after").is_none());
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["details"]["causes"][0]["reason"], "DisruptionBudget");
    sb.shutdown().await;
}

/// 5xx answers of checkout after one scrape of the sandbox's `/metrics`
/// (each scrape advances the traffic model).
async fn checkout_errors(sb: &gameday::sandbox::SandboxHandle) -> u64 {
    let text = metrics_text(sb).await;
    text.lines()
        .filter(|l| {
            l.starts_with("http_requests_total{")
                && l.contains("service=\"checkout\"")
                && l.contains("code=\"5")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Scrapes `n` times a second apart; the checkout 5xx count at the end.
async fn scrape_for(sb: &gameday::sandbox::SandboxHandle, n: usize) -> u64 {
    let mut errors = 0;
    for _ in 0..n {
        tokio::time::sleep(Duration::from_secs(1)).await;
        errors = checkout_errors(sb).await;
    }
    errors
}

/// A pod deleted with a grace period (eviction, a Deployment scaling down,
/// a plain delete) is marked terminating and leaves the endpoints before it
/// stops, costing no request; one force-deleted with `gracePeriodSeconds: 0`
/// vanishes while serving and keeps its share of traffic until the endpoint
/// removal propagates.
#[tokio::test]
async fn only_a_pod_deleted_without_grace_period_fails_requests() {
    use gameday::sandbox::world::World;
    let sb = gameday::sandbox::Sandbox::start(gameday::sandbox::SandboxOptions {
        objects: World::shop().unwrap().to_objects(),
        ..gameday::sandbox::SandboxOptions::default()
    })
    .await
    .unwrap();
    let client = sb.kube_client().unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    let deployments: Api<Deployment> = Api::namespaced(client, "shop");
    assert_eq!(scrape_for(&sb, 3).await, 0);
    let names: Vec<String> = checkout_pods(&sb).iter().map(name).collect();
    pods.delete(&names[0], &DeleteParams::default())
        .await
        .unwrap();
    pods.evict(&names[1], &EvictParams::default())
        .await
        .unwrap();
    let two = json!({"spec": {"replicas": 2}});
    deployments
        .patch_scale("checkout", &PatchParams::default(), &Patch::Merge(&two))
        .await
        .unwrap();
    assert_eq!(
        scrape_for(&sb, 3).await,
        0,
        "graceful deletions cost nothing"
    );
    assert!(sb.store().abrupt_pod_deletions().is_empty());

    // A pod still serving: force-deleting one already terminating costs
    // nothing more, it has left the endpoints.
    let victim = checkout_pods(&sb)
        .iter()
        .find(|p| p["metadata"]["deletionTimestamp"].is_null())
        .map(name)
        .unwrap();
    pods.delete(&victim, &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    assert_eq!(sb.store().abrupt_pod_deletions().len(), 1);
    assert!(
        scrape_for(&sb, 2).await > 0,
        "a pod killed with no grace period fails its share"
    );
    sb.shutdown().await;
}

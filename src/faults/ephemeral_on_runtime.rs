//! gameday's four ephemeral faults with their exact commands, acted out by
//! the sandbox's container runtime model, and the failures a real node
//! produces. It lives with the faults because the sandbox must not know
//! gameday's commands (docs/architecture.md: sandbox sits below faults).

use std::time::{Duration, Instant};

use crate::faults::ephemeral;
use crate::sandbox::runtime::*;

fn who(image: &str, net_admin: bool) -> Identity {
    let spec = ImageCatalog::builtin()
        .lookup(image)
        .cloned()
        .expect("image in the built-in catalog");
    Identity {
        uid: spec.user,
        image: spec,
        net_admin,
        privileged: false,
        host_pid: false,
        on_host: false,
    }
}

fn app(pod: &mut PodRuntime, now: Instant) {
    let w = who("registry.example.com/shop/checkout:1.4", false);
    pod.start(
        "c/app",
        &["/app/server".to_string()],
        w,
        "c/app".into(),
        now,
    )
    .unwrap();
}

/// Starts a container in the app container's pid namespace (as an
/// ephemeral container targeting it).
fn start(
    pod: &mut PodRuntime,
    key: &str,
    argv: &[String],
    image: &str,
    net_admin: bool,
    at: Instant,
) {
    pod.start(key, argv, who(image, net_admin), "c/app".into(), at)
        .expect("the executable is in the image");
}

fn exit_of(pod: &PodRuntime, key: &str) -> Option<i32> {
    pod.procs.get(key).and_then(|p| p.exec.exit)
}

fn output(pod: &PodRuntime, key: &str) -> String {
    pod.procs
        .get(key)
        .map(|p| {
            p.exec
                .output
                .iter()
                .map(|l| l.text.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

#[test]
fn cpu_stress_runs_until_the_revert_kills_it() {
    let t0 = Instant::now();
    let mut pod = PodRuntime::default();
    app(&mut pod, t0);
    let inject = ephemeral::stress_command(60, &["--cpu", "2"]);
    start(
        &mut pod,
        "e/inj",
        &inject,
        ephemeral::STRESS_IMAGE,
        false,
        t0,
    );
    assert_eq!(pod.effects().cpu_workers, 2);
    pod.advance(t0 + Duration::from_secs(5));
    assert_eq!(exit_of(&pod, "e/inj"), None, "still running at 5 s");
    // The revert runs from an image that has pkill, in the same pid
    // namespace (it targets the same container).
    let revert = ephemeral::stress_revert_command();
    start(
        &mut pod,
        "e/rev",
        &revert,
        ephemeral::REVERT_IMAGE,
        false,
        t0 + Duration::from_secs(6),
    );
    assert_eq!(exit_of(&pod, "e/rev"), Some(0));
    assert_eq!(exit_of(&pod, "e/inj"), Some(128 + process::SIGTERM));
    assert_eq!(pod.effects().cpu_workers, 0);
    assert_eq!(exit_of(&pod, "c/app"), None, "the app keeps running");
}

#[test]
fn stress_ends_by_itself_at_its_timeout() {
    let t0 = Instant::now();
    let mut pod = PodRuntime::default();
    let inject = ephemeral::stress_command(30, &["--vm", "1", "--vm-bytes", "256m", "--vm-keep"]);
    start(
        &mut pod,
        "e/inj",
        &inject,
        ephemeral::STRESS_IMAGE,
        false,
        t0,
    );
    assert_eq!(pod.effects().memory_bytes, 256 << 20);
    assert_eq!(pod.next_event(), Some(t0 + Duration::from_secs(30)));
    pod.advance(t0 + Duration::from_secs(30));
    assert_eq!(exit_of(&pod, "e/inj"), Some(0));
    assert_eq!(pod.effects(), PodEffects::default());
    assert!(output(&pod, "e/inj").contains("successful run completed"));
}

#[test]
fn the_stress_image_has_no_pkill() {
    let t0 = Instant::now();
    let mut pod = PodRuntime::default();
    let w = who(ephemeral::STRESS_IMAGE, false);
    let e = pod
        .start(
            "e/rev",
            &["pkill".into(), "-x".into(), "stress-ng".into()],
            w,
            "c/app".into(),
            t0,
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "exec: \"pkill\": executable file not found in $PATH"
    );
}

fn netem_run(netem: &str, expect: Netem) {
    let t0 = Instant::now();
    let mut pod = PodRuntime::default();
    app(&mut pod, t0);
    let inject = ephemeral::netem_command(60, netem);
    start(&mut pod, "e/inj", &inject, ephemeral::NET_IMAGE, true, t0);
    assert_eq!(pod.effects().netem, Some(expect));
    pod.advance(t0 + Duration::from_secs(10));
    assert_eq!(exit_of(&pod, "e/inj"), None);
    let revert = ephemeral::netem_revert_command(60);
    start(
        &mut pod,
        "e/rev",
        &revert,
        ephemeral::NET_IMAGE,
        true,
        t0 + Duration::from_secs(11),
    );
    assert_eq!(exit_of(&pod, "e/rev"), Some(0), "{}", output(&pod, "e/rev"));
    assert_eq!(pod.effects().netem, None);
    assert!(
        exit_of(&pod, "e/inj").is_some(),
        "the inject container ended"
    );
}

#[test]
fn network_delay_and_packet_loss_act_on_the_interface_until_reverted() {
    netem_run(
        "delay 200ms 20ms",
        Netem {
            delay_ms: 200.0,
            jitter_ms: 20.0,
            loss_percent: 0.0,
        },
    );
    netem_run(
        "loss 30%",
        Netem {
            loss_percent: 30.0,
            ..Netem::default()
        },
    );
}

#[test]
fn netem_ends_with_its_script_and_outlives_a_killed_container() {
    let t0 = Instant::now();
    let mut pod = PodRuntime::default();
    let inject = ephemeral::netem_command(20, "delay 100ms 0ms");
    start(&mut pod, "e/inj", &inject, ephemeral::NET_IMAGE, true, t0);
    // The script removes its own qdisc after the hold.
    pod.advance(t0 + Duration::from_secs(20));
    assert_eq!(exit_of(&pod, "e/inj"), Some(0));
    assert_eq!(pod.effects().netem, None);
    // A qdisc lives in the pod's network namespace: the container that
    // added it can be gone and the delay stays.
    let add: Vec<String> = "tc qdisc add dev eth0 root netem delay 50ms"
        .split(' ')
        .map(String::from)
        .collect();
    start(&mut pod, "e/once", &add, ephemeral::NET_IMAGE, true, t0);
    assert_eq!(exit_of(&pod, "e/once"), Some(0));
    pod.stop("e/once");
    assert_eq!(pod.effects().netem.map(|n| n.delay_ms), Some(50.0));
}

#[test]
fn tc_without_net_admin_is_not_permitted() {
    let t0 = Instant::now();
    let mut pod = PodRuntime::default();
    let inject = ephemeral::netem_command(60, "delay 200ms 0ms");
    start(&mut pod, "e/inj", &inject, ephemeral::NET_IMAGE, false, t0);
    assert_eq!(exit_of(&pod, "e/inj"), Some(2));
    assert!(
        output(&pod, "e/inj").contains("RTNETLINK answers: Operation not permitted"),
        "{}",
        output(&pod, "e/inj")
    );
    assert_eq!(pod.effects(), PodEffects::default());
}

#[test]
fn shell_semantics_and_lists() {
    let t0 = Instant::now();
    let mut pod = PodRuntime::default();
    let sh = |s: &str| vec!["sh".to_string(), "-c".into(), s.to_string()];
    let w = || who("busybox:1.36", false);
    pod.start(
        "a",
        &sh("false && echo no; echo yes || echo never"),
        w(),
        "a".into(),
        t0,
    )
    .unwrap();
    assert_eq!(output(&pod, "a"), "yes");
    assert_eq!(exit_of(&pod, "a"), Some(0));
    pod.start("b", &sh("stress-ng --cpu 1"), w(), "b".into(), t0)
        .unwrap();
    assert_eq!(exit_of(&pod, "b"), Some(127));
    assert_eq!(output(&pod, "b"), "sh: 1: stress-ng: not found");
    pod.start("c", &sh("exit 3; echo unreachable"), w(), "c".into(), t0)
        .unwrap();
    assert_eq!(exit_of(&pod, "c"), Some(3));
    pod.start("d", &sh("if true; then echo; fi"), w(), "d".into(), t0)
        .unwrap();
    assert_eq!(exit_of(&pod, "d"), Some(2));
    // timeout: 124 when the time runs out.
    pod.start(
        "e",
        &["timeout".into(), "2".into(), "sleep".into(), "10".into()],
        w(),
        "e".into(),
        t0,
    )
    .unwrap();
    pod.advance(t0 + Duration::from_secs(2));
    assert_eq!(exit_of(&pod, "e"), Some(124));
    // pkill finds nothing: status 1; kill by pid works across containers
    // of one pid namespace only.
    pod.start("f", &sh("pkill -x nothing"), w(), "f".into(), t0)
        .unwrap();
    assert_eq!(exit_of(&pod, "f"), Some(1));
}

#[test]
fn the_shop_world_declares_its_application_images() {
    let catalog = crate::sandbox::world::World::shop().unwrap().catalog();
    let app = catalog
        .lookup("registry.example.com/shop/frontend:2.3.1")
        .unwrap();
    assert_eq!(
        (app.user, app.entrypoint.as_slice()),
        (10001, &["/app/server".to_string()][..])
    );
    // Built-in entries still follow the world's.
    assert!(
        catalog
            .lookup(ephemeral::REVERT_IMAGE)
            .is_some_and(|i| i.has("pkill"))
    );
}

/// gameday's bookkeeping env (GAMEDAY_FAULT_TYPE, GAMEDAY_LATENCY_MS, …) on
/// its inject container means nothing to the sandbox: a snapshot of a pod
/// carrying the fault's exact container spec shows no effect until the
/// runtime reports one. The check lives here because the sandbox must not
/// name gameday's env at all.
#[test]
fn the_sandbox_ignores_gamedays_own_env() {
    use crate::sandbox::snapshot::Snapshot;
    use serde_json::json;
    let spec = ephemeral::container(
        "gd-inj",
        ephemeral::NET_IMAGE,
        &ephemeral::netem_command(60, "delay 200ms 0ms"),
        Some("app"),
        true,
        "run-1",
        "slow",
        crate::scenario::FaultType::named("networkDelay"),
        "inject",
        60,
        &[("GAMEDAY_LATENCY_MS", "200".to_string())],
    );
    assert!(spec["env"].to_string().contains("GAMEDAY_LATENCY_MS"));
    let pod = json!({
        "kind": "Pod",
        "metadata": {"name": "a", "namespace": "shop", "uid": "u1"},
        "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "x"}],
                 "ephemeralContainers": [spec]},
        "status": {"phase": "Running",
                   "conditions": [{"type": "Ready", "status": "True"}]},
    });
    let snap = Snapshot::from_objects([&pod]);
    assert!(snap.pods[0].effects.is_empty());
}

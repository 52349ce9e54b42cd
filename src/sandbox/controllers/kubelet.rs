//! The node agent: starts scheduled pods, pulls (or fails to pull) images,
//! restarts containers whose image changed, marks pods ready after their
//! readiness delay, runs ephemeral containers until their timeout or their
//! revert, keeps node status filled in, and evicts pods from NoExecute
//! taints.
//!
//! Sandbox conventions (see the brief): an image under `registry.invalid/`
//! or containing `does-not-exist` never pulls; an image containing `/pause`
//! runs but never becomes ready; the pod annotation
//! `sandbox.gameday/readiness-delay` delays readiness after a start.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::Ctx;
use super::events::{NORMAL, WARNING};
use super::scheduler::{set_condition, tolerates};
use crate::sandbox::meta;
use crate::sandbox::resources::{NODES, PODS};
use crate::sandbox::store::{Obj, UpdateMode};

pub const READINESS_DELAY: &str = "sandbox.gameday/readiness-delay";

pub fn image_pull_fails(image: &str) -> bool {
    image.starts_with("registry.invalid/")
        || image.contains("does-not-exist")
        || image.trim().is_empty()
}

pub fn never_ready(image: &str) -> bool {
    image.contains("/pause")
}

pub fn readiness_delay(pod: &Value) -> Duration {
    meta::annotation(pod, READINESS_DELAY)
        .and_then(|s| s.parse::<crate::scenario::duration::Duration>().ok())
        .map(|d| d.as_std())
        .unwrap_or(Duration::ZERO)
}

/// Wall-clock start instants the kubelet keeps per container, so readiness
/// delays are measured precisely (status timestamps have 1 s precision).
#[derive(Default)]
pub struct Kubelet {
    started: HashMap<(String, String), Instant>,
}

fn env_map(c: &Value) -> HashMap<String, String> {
    meta::at(c, &["env"])
        .and_then(Value::as_array)
        .map(|es| {
            es.iter()
                .filter_map(|e| {
                    Some((
                        e.get("name")?.as_str()?.to_string(),
                        e.get("value")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The bound of an ephemeral container: GAMEDAY_TIMEOUT_SECONDS, else the
/// argument of a leading `timeout N` in its command line.
fn ephemeral_timeout(c: &Value, env: &HashMap<String, String>) -> Option<Duration> {
    if let Some(s) = env
        .get("GAMEDAY_TIMEOUT_SECONDS")
        .and_then(|s| s.parse::<f64>().ok())
    {
        return Some(seconds(s));
    }
    let words: Vec<String> = ["command", "args"]
        .iter()
        .filter_map(|k| c.get(*k).and_then(Value::as_array))
        .flatten()
        .filter_map(|w| w.as_str())
        .flat_map(|w| w.split_whitespace().map(String::from).collect::<Vec<_>>())
        .collect();
    let i = words.iter().position(|w| w == "timeout")?;
    let n = words.get(i + 1)?.trim_end_matches('s');
    n.parse::<f64>().ok().map(seconds)
}

/// Seconds from user input as a Duration: negative and NaN are 0, anything
/// past a year (or infinite) is a year, so no arithmetic can overflow.
fn seconds(s: f64) -> Duration {
    const YEAR: f64 = 365.0 * 86400.0;
    if s.is_nan() || s <= 0.0 {
        Duration::ZERO
    } else {
        Duration::from_secs_f64(s.min(YEAR))
    }
}

fn pod_ip(uid: &str) -> String {
    let h = meta::mix(
        uid.bytes()
            .fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(b))),
    );
    format!("10.244.{}.{}", (h >> 8) % 250, (h % 250) + 2)
}

impl Kubelet {
    /// Fills in node status the way a registering kubelet does.
    pub fn sync_node(&mut self, ctx: &Ctx, node: &Value) -> bool {
        let mut status = node.get("status").cloned().unwrap_or(json!({}));
        if !status.is_object() {
            status = json!({});
        }
        let capacity = status
            .get("capacity")
            .cloned()
            .unwrap_or(json!({"cpu": "4", "memory": "16Gi", "pods": "110"}));
        let name = meta::name(node);
        let fresh = json!({
            "capacity": capacity,
            "allocatable": status.get("allocatable").cloned().unwrap_or(capacity.clone()),
            "conditions": status.get("conditions").cloned().unwrap_or(json!([
                {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
                 "lastHeartbeatTime": meta::now_rfc3339(), "lastTransitionTime": meta::now_rfc3339()}
            ])),
            "addresses": status.get("addresses").cloned().unwrap_or(json!([
                {"type": "InternalIP", "address": format!("10.0.0.{}", (meta::mix(name.len() as u64 ^ name.bytes().map(u64::from).sum::<u64>()) % 250) + 2)},
                {"type": "Hostname", "address": name},
            ])),
            "nodeInfo": status.get("nodeInfo").cloned().unwrap_or(json!({
                "kubeletVersion": format!("v1.{}.0", ctx.kube_minor),
                "kubeProxyVersion": format!("v1.{}.0", ctx.kube_minor),
                "containerRuntimeVersion": "containerd://1.7.0",
                "operatingSystem": "linux", "architecture": "amd64",
                "osImage": "gameday sandbox", "kernelVersion": "6.1.0",
                "machineID": "", "systemUUID": "", "bootID": "",
            })),
            "phase": "Running",
        });
        let mut changed = false;
        if node.get("status") != Some(&fresh) {
            changed |= ctx
                .store
                .modify(NODES, "", name, UpdateMode::Full, |_, new| {
                    new["status"] = fresh;
                    meta::ensure_object(new, &["metadata", "labels"])
                        .entry("kubernetes.io/hostname")
                        .or_insert(json!(name));
                    Ok(())
                })
                .is_ok();
        }
        changed
    }

    /// Deletes pods that do not tolerate a NoExecute taint of their node.
    pub fn taint_evictions(&mut self, ctx: &Ctx, pods: &[Arc<Obj>]) -> bool {
        let (nodes, _) = ctx.store.list(NODES, None);
        let mut no_exec: HashMap<String, Vec<Value>> = HashMap::new();
        for n in &nodes {
            let taints: Vec<Value> = meta::at(n.value(), &["spec", "taints"])
                .and_then(Value::as_array)
                .map(|ts| {
                    ts.iter()
                        .filter(|t| t["effect"] == "NoExecute")
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            if !taints.is_empty() {
                no_exec.insert(meta::name(n.value()).to_string(), taints);
            }
        }
        if no_exec.is_empty() {
            return false;
        }
        let mut changed = false;
        for p in pods {
            let Some(taints) = no_exec.get(&p.summary.node_name) else {
                continue;
            };
            if taints.iter().any(|t| !tolerates(p.value(), t))
                && ctx
                    .store
                    .delete(
                        PODS,
                        meta::namespace(p.value()),
                        meta::name(p.value()),
                        None,
                    )
                    .is_ok()
            {
                ctx.event(
                    p.value(),
                    NORMAL,
                    "TaintManagerEviction",
                    &format!(
                        "Marking for deletion Pod {}/{}",
                        meta::namespace(p.value()),
                        meta::name(p.value())
                    ),
                    "taint-eviction-controller",
                );
                changed = true;
            }
        }
        changed
    }

    pub fn forget_gone(&mut self, live_uids: &HashSet<&str>) {
        self.started
            .retain(|(uid, _), _| live_uids.contains(uid.as_str()));
    }

    /// Brings one scheduled pod's status up to date. Returns whether it
    /// wrote, and when the pod next needs a look (readiness or a timeout).
    pub fn sync_pod(&mut self, ctx: &Ctx, pod: &Value) -> (bool, Option<Instant>) {
        let Some(node) = meta::str_at(pod, &["spec", "nodeName"]).filter(|n| !n.is_empty()) else {
            return (false, None);
        };
        let uid = meta::uid(pod).to_string();
        let now = Instant::now();
        let delay = if ctx.warm {
            Duration::ZERO
        } else {
            readiness_delay(pod)
        };
        let mut next: Option<Instant> = None;
        let mut wake = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
        let old_statuses: HashMap<String, Value> = meta::at(pod, &["status", "containerStatuses"])
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|c| Some((c.get("name")?.as_str()?.to_string(), c.clone())))
                    .collect()
            })
            .unwrap_or_default();
        let mut events: Vec<(&str, &str, String)> = Vec::new();
        let mut statuses = Vec::new();
        let mut all_ready = true;
        let mut any_running = false;
        for c in meta::at(pod, &["spec", "containers"])
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = meta::str_at(c, &["name"]).unwrap_or("").to_string();
            let image = meta::str_at(c, &["image"]).unwrap_or("").to_string();
            let old = old_statuses.get(&name);
            let restarts = old
                .and_then(|o| o.get("restartCount"))
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let key = (uid.clone(), name.clone());
            if image_pull_fails(&image) {
                self.started.remove(&key);
                all_ready = false;
                let was_backoff = old.is_some_and(|o| {
                    o["image"] == image.as_str()
                        && meta::str_at(o, &["state", "waiting", "reason"])
                            == Some("ImagePullBackOff")
                });
                if !was_backoff {
                    events.push((NORMAL, "Pulling", format!("Pulling image \"{image}\"")));
                    events.push((WARNING, "Failed", format!("Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": not found")));
                    events.push((
                        WARNING,
                        "BackOff",
                        format!("Back-off pulling image \"{image}\""),
                    ));
                }
                let mut st = json!({
                    "name": name, "image": image, "imageID": "", "ready": false, "started": false,
                    "restartCount": restarts,
                    "state": {"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"{image}\"")}},
                });
                if let Some(ls) = old
                    .and_then(|o| o.get("lastState"))
                    .filter(|l| l.as_object().is_some_and(|m| !m.is_empty()))
                {
                    st["lastState"] = ls.clone();
                }
                // A running container replaced by an unpullable image was
                // killed: that is a restart as far as the counters go.
                if old.is_some_and(|o| meta::at(o, &["state", "running"]).is_some()) {
                    st["restartCount"] = json!(restarts + 1);
                    st["lastState"] = json!({"terminated": {"exitCode": 137, "reason": "Error",
                        "startedAt": meta::at(old.unwrap_or(&Value::Null), &["state", "running", "startedAt"]).cloned().unwrap_or(Value::Null),
                        "finishedAt": meta::now_rfc3339()}});
                }
                statuses.push(st);
                continue;
            }
            let running_same = old.is_some_and(|o| {
                o["image"] == image.as_str() && meta::at(o, &["state", "running"]).is_some()
            });
            let (started_at, restart_count, last_state) = if running_same {
                let o = old.unwrap_or(&Value::Null);
                let started = self.started.entry(key.clone()).or_insert_with(|| {
                    if ctx.warm {
                        now.checked_sub(Duration::from_secs(3600)).unwrap_or(now)
                    } else {
                        now
                    }
                });
                let _ = started;
                (
                    meta::at(o, &["state", "running", "startedAt"])
                        .cloned()
                        .unwrap_or(json!(meta::now_rfc3339())),
                    restarts,
                    o.get("lastState").cloned().unwrap_or(json!({})),
                )
            } else {
                // (Re)start: a changed image restarts the container.
                let was_running = old.is_some_and(|o| meta::at(o, &["state", "running"]).is_some());
                self.started.insert(key.clone(), now);
                events.push((
                    NORMAL,
                    "Pulled",
                    format!("Container image \"{image}\" already present on machine"),
                ));
                events.push((NORMAL, "Created", format!("Created container: {name}")));
                events.push((NORMAL, "Started", format!("Started container {name}")));
                let last = if was_running {
                    let o = old.unwrap_or(&Value::Null);
                    json!({"terminated": {"exitCode": 0, "reason": "Completed",
                        "startedAt": meta::at(o, &["state", "running", "startedAt"]).cloned().unwrap_or(Value::Null),
                        "finishedAt": meta::now_rfc3339()}})
                } else {
                    old.and_then(|o| o.get("lastState").cloned())
                        .unwrap_or(json!({}))
                };
                let restarts = restarts + i64::from(was_running);
                (json!(meta::now_rfc3339()), restarts, last)
            };
            any_running = true;
            let started = self.started.get(&key).copied().unwrap_or(now);
            // A delay too large for the clock means never.
            let ready_at = started.checked_add(delay);
            let ready = !never_ready(&image) && ready_at.is_some_and(|t| now >= t);
            if !ready
                && !never_ready(&image)
                && let Some(t) = ready_at
            {
                wake(t);
            }
            all_ready &= ready;
            statuses.push(json!({
                "name": name, "image": image,
                "imageID": format!("{image}@sha256:{}", meta::value_hash(&json!(image))),
                "containerID": format!("containerd://{}", meta::value_hash(&json!([uid, name, restart_count]))),
                "ready": ready, "started": true, "restartCount": restart_count,
                "state": {"running": {"startedAt": started_at}},
                "lastState": last_state,
            }));
        }
        if statuses.is_empty() {
            all_ready = false;
        }
        let eph = self.ephemeral_statuses(pod, now, &mut wake);
        let mut new_pod = pod.clone();
        {
            let status = meta::ensure_object(&mut new_pod, &["status"]);
            status.insert(
                "phase".into(),
                json!(if any_running { "Running" } else { "Pending" }),
            );
            status.insert("containerStatuses".into(), Value::Array(statuses));
            status
                .entry("startTime")
                .or_insert(json!(meta::now_rfc3339()));
            status.insert("podIP".into(), json!(pod_ip(&uid)));
            status.insert("podIPs".into(), json!([{"ip": pod_ip(&uid)}]));
            status.insert(
                "hostIP".into(),
                json!(format!(
                    "10.0.0.{}",
                    (meta::mix(node.bytes().map(u64::from).sum::<u64>() ^ node.len() as u64) % 250)
                        + 2
                )),
            );
            match eph {
                Some(e) => {
                    status.insert("ephemeralContainerStatuses".into(), e);
                }
                None => {
                    status.remove("ephemeralContainerStatuses");
                }
            }
        }
        set_condition(&mut new_pod, "PodReadyToStartContainers", true, None, None);
        set_condition(&mut new_pod, "Initialized", true, None, None);
        let (reason, msg) = if all_ready {
            (None, None)
        } else {
            (
                Some("ContainersNotReady"),
                Some("containers with unready status"),
            )
        };
        set_condition(&mut new_pod, "ContainersReady", all_ready, reason, msg);
        set_condition(&mut new_pod, "Ready", all_ready, reason, msg);
        set_condition(&mut new_pod, "PodScheduled", true, None, None);
        if new_pod.get("status") == pod.get("status") {
            return (false, next);
        }
        let status = new_pod["status"].take();
        let r = ctx.store.modify(
            PODS,
            meta::namespace(pod),
            meta::name(pod),
            UpdateMode::Full,
            |_, new| {
                new["status"] = status;
                Ok(())
            },
        );
        if let Ok(o) = &r {
            for (kind, reason, msg) in events {
                ctx.event_obj(o, kind, reason, &msg, "kubelet");
            }
        }
        (r.is_ok(), next)
    }

    /// Ephemeral container statuses: running, then terminated when the
    /// timeout passes or a matching revert container arrives.
    fn ephemeral_statuses(
        &mut self,
        pod: &Value,
        now: Instant,
        wake: &mut impl FnMut(Instant),
    ) -> Option<Value> {
        let specs = meta::at(pod, &["spec", "ephemeralContainers"]).and_then(Value::as_array)?;
        if specs.is_empty() {
            return None;
        }
        let uid = meta::uid(pod).to_string();
        let old: HashMap<String, Value> = meta::at(pod, &["status", "ephemeralContainerStatuses"])
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|c| Some((c.get("name")?.as_str()?.to_string(), c.clone())))
                    .collect()
            })
            .unwrap_or_default();
        let key_of = |env: &HashMap<String, String>| {
            (
                env.get("GAMEDAY_FAULT").cloned().unwrap_or_default(),
                env.get("GAMEDAY_RUN_ID").cloned().unwrap_or_default(),
            )
        };
        let mut reverted: HashMap<(String, String), String> = HashMap::new();
        for c in specs {
            let env = env_map(c);
            if env.get("GAMEDAY_ACTION").map(String::as_str) == Some("revert")
                && env.contains_key("GAMEDAY_FAULT")
            {
                reverted.insert(
                    key_of(&env),
                    meta::str_at(c, &["name"]).unwrap_or("").to_string(),
                );
            }
        }
        let mut out = Vec::new();
        for c in specs {
            let name = meta::str_at(c, &["name"]).unwrap_or("").to_string();
            let image = meta::str_at(c, &["image"]).unwrap_or("").to_string();
            let env = env_map(c);
            let prev = old.get(&name);
            if let Some(p) = prev
                && meta::at(p, &["state", "terminated"]).is_some()
            {
                out.push(p.clone());
                continue;
            }
            let key = (uid.clone(), format!("ephemeral/{name}"));
            let started = *self.started.entry(key).or_insert(now);
            let started_at = prev
                .and_then(|p| meta::at(p, &["state", "running", "startedAt"]).cloned())
                .unwrap_or(json!(meta::now_rfc3339()));
            let terminated = |reason: &str, message: String| {
                json!({"name": name, "image": image, "imageID": "", "ready": false, "restartCount": 0,
                       "state": {"terminated": {"exitCode": 0, "reason": reason, "message": message,
                                                 "startedAt": started_at, "finishedAt": meta::now_rfc3339()}},
                       "lastState": {}})
            };
            if env.get("GAMEDAY_ACTION").map(String::as_str) == Some("revert") {
                out.push(terminated("Completed", "revert applied".into()));
                continue;
            }
            if env.get("GAMEDAY_ACTION").map(String::as_str) == Some("inject")
                && let Some(by) = reverted.get(&key_of(&env))
            {
                out.push(terminated("Completed", format!("effect reverted by {by}")));
                continue;
            }
            if let Some(t) = ephemeral_timeout(c, &env) {
                let end = started.checked_add(t).unwrap_or(started);
                if now >= end {
                    out.push(terminated("Completed", "timeout reached".into()));
                    continue;
                }
                wake(end);
            }
            let mut running = Map::new();
            running.insert("startedAt".into(), started_at);
            out.push(json!({"name": name, "image": image, "imageID": "", "ready": false, "restartCount": 0,
                            "state": {"running": running}, "lastState": {}}));
        }
        Some(Value::Array(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_conventions() {
        assert!(image_pull_fails("registry.invalid/shop/checkout:1"));
        assert!(image_pull_fails("shop/does-not-exist:2"));
        assert!(!image_pull_fails("shop/checkout:1.4"));
        assert!(never_ready("registry.k8s.io/pause:3.9"));
        assert!(!never_ready("shop/checkout:1.4"));
    }

    #[test]
    fn timeouts_from_env_or_command() {
        let c = json!({"command": ["timeout", "30", "stress-ng", "--cpu", "2"]});
        assert_eq!(
            ephemeral_timeout(&c, &HashMap::new()),
            Some(Duration::from_secs(30))
        );
        let env = HashMap::from([("GAMEDAY_TIMEOUT_SECONDS".to_string(), "5".to_string())]);
        assert_eq!(ephemeral_timeout(&c, &env), Some(Duration::from_secs(5)));
        assert_eq!(
            ephemeral_timeout(&json!({"command": ["sh"]}), &HashMap::new()),
            None
        );
    }

    #[test]
    fn absurd_timeouts_do_not_overflow() {
        for v in ["inf", "NaN", "-5", "1e300"] {
            let env = HashMap::from([("GAMEDAY_TIMEOUT_SECONDS".to_string(), v.to_string())]);
            let t = ephemeral_timeout(&json!({}), &env).unwrap();
            assert!(Instant::now().checked_add(t).is_some(), "{v}");
        }
    }

    #[test]
    fn readiness_delay_annotation() {
        let p = json!({"metadata": {"annotations": {READINESS_DELAY: "1500ms"}}});
        assert_eq!(readiness_delay(&p), Duration::from_millis(1500));
        assert_eq!(readiness_delay(&json!({})), Duration::ZERO);
    }
}

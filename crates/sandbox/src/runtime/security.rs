//! Who a container's processes run as, decided the way the kubelet does:
//! the container's `securityContext` over the pod's, over the image's
//! `USER`; `runAsNonRoot` verified before the container is created.

use serde_json::Value;

use super::catalog::ImageSpec;
use super::process::Identity;

/// Why the kubelet refuses to create a container
/// (reason `CreateContainerConfigError`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn field<'a>(pod: &'a Value, c: &'a Value, key: &str) -> Option<&'a Value> {
    c["securityContext"]
        .get(key)
        .filter(|v| !v.is_null())
        .or_else(|| {
            pod["spec"]["securityContext"]
                .get(key)
                .filter(|v| !v.is_null())
        })
}

/// The identity a container runs with, or the kubelet's refusal.
///
/// Messages follow kubelet `verifyRunAsNonRoot`
/// (pkg/kubelet/kuberuntime/security_context_others.go): an explicit
/// `runAsUser: 0` "breaks non-root policy"; no `runAsUser` and an image
/// whose user is root "will run as root". `format.Pod` prints pods as
/// `name_namespace(uid)`.
pub fn identity(pod: &Value, c: &Value, image: &ImageSpec) -> Result<Identity, ConfigError> {
    let run_as = field(pod, c, "runAsUser").and_then(Value::as_u64);
    let non_root = field(pod, c, "runAsNonRoot").and_then(Value::as_bool) == Some(true);
    let who = format!(
        "{}_{}({})",
        pod["metadata"]["name"].as_str().unwrap_or(""),
        pod["metadata"]["namespace"].as_str().unwrap_or(""),
        pod["metadata"]["uid"].as_str().unwrap_or("")
    );
    let name = c["name"].as_str().unwrap_or("");
    if non_root {
        match run_as {
            Some(0) => {
                return Err(ConfigError(format!(
                    "container's runAsUser breaks non-root policy (pod: \"{who}\", container: {name})"
                )));
            }
            None if image.user == 0 => {
                return Err(ConfigError(format!(
                    "container has runAsNonRoot and image will run as root (pod: \"{who}\", container: {name})"
                )));
            }
            _ => {}
        }
    }
    let uid = run_as.map_or(image.user, |u| u32::try_from(u).unwrap_or(u32::MAX));
    let privileged = c["securityContext"]["privileged"].as_bool() == Some(true);
    let added = c["securityContext"]["capabilities"]["add"]
        .as_array()
        .is_some_and(|a| {
            a.iter()
                .any(|v| matches!(v.as_str(), Some("NET_ADMIN" | "CAP_NET_ADMIN" | "ALL")))
        });
    Ok(Identity {
        image: image.clone(),
        uid,
        net_admin: uid == 0 && (privileged || added),
        privileged: uid == 0 && privileged,
        host_pid: pod["spec"]["hostPID"].as_bool() == Some(true),
        on_host: false,
    })
}

/// The argv a container runs: `command` replaces the image's ENTRYPOINT
/// (and its CMD); `args` alone replaces only the CMD.
pub fn argv(c: &Value, image: &ImageSpec) -> Vec<String> {
    let list = |k: &str| -> Option<Vec<String>> {
        c[k].as_array().map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
    };
    match (list("command").filter(|v| !v.is_empty()), list("args")) {
        (Some(mut cmd), args) => {
            cmd.extend(args.unwrap_or_default());
            cmd
        }
        (None, Some(args)) if !args.is_empty() => {
            let mut v: Vec<String> = image.entrypoint.iter().take(1).cloned().collect();
            v.extend(args);
            v
        }
        _ => image.entrypoint.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn image(user: u32) -> ImageSpec {
        ImageSpec {
            name: "i".into(),
            digest: None,
            executables: vec!["sh".into()],
            user,
            entrypoint: vec!["sh".into(), "-c".into(), "x".into()],
            host: None,
        }
    }

    fn pod(sc: Value) -> Value {
        json!({"metadata": {"name": "p", "namespace": "ns", "uid": "u1"}, "spec": {"securityContext": sc}})
    }

    #[test]
    fn run_as_non_root_with_a_root_image_is_refused() {
        let c = json!({"name": "c"});
        let e = identity(&pod(json!({"runAsNonRoot": true})), &c, &image(0)).unwrap_err();
        assert_eq!(
            e.0,
            "container has runAsNonRoot and image will run as root (pod: \"p_ns(u1)\", container: c)"
        );
        // An explicit non-root user satisfies it; an explicit root breaks it.
        let ok = json!({"name": "c", "securityContext": {"runAsUser": 1000}});
        assert_eq!(
            identity(&pod(json!({"runAsNonRoot": true})), &ok, &image(0))
                .unwrap()
                .uid,
            1000
        );
        let root = json!({"name": "c", "securityContext": {"runAsUser": 0}});
        assert!(
            identity(&pod(json!({"runAsNonRoot": true})), &root, &image(1000))
                .unwrap_err()
                .0
                .contains("breaks non-root policy")
        );
        assert!(identity(&pod(json!({"runAsNonRoot": true})), &c, &image(1000)).is_ok());
    }

    #[test]
    fn net_admin_is_effective_for_root_only() {
        let c = json!({"name": "c", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}});
        assert!(identity(&pod(json!({})), &c, &image(0)).unwrap().net_admin);
        assert!(
            !identity(&pod(json!({})), &c, &image(1000))
                .unwrap()
                .net_admin
        );
        assert!(
            !identity(&pod(json!({})), &json!({"name": "c"}), &image(0))
                .unwrap()
                .net_admin
        );
    }

    #[test]
    fn command_and_args_replace_entrypoint_and_cmd() {
        let i = image(0);
        assert_eq!(argv(&json!({}), &i), vec!["sh", "-c", "x"]);
        assert_eq!(
            argv(&json!({"args": ["-c", "y"]}), &i),
            vec!["sh", "-c", "y"]
        );
        assert_eq!(
            argv(&json!({"command": ["sleep"], "args": ["5"]}), &i),
            vec!["sleep", "5"]
        );
    }
}

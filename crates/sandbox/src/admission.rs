//! Pod Security admission, enforce mode: what a namespace labelled
//! `pod-security.kubernetes.io/enforce: baseline|restricted` refuses, with the
//! real plugin's wording (k8s.io/pod-security-admission/policy/check_*.go, at
//! "latest"). It runs on every pod create (controllers' creates included, as
//! on a real cluster) and on the ephemeralcontainers subresource, which is
//! where a NET_ADMIN fault container or `kubectl debug --profile=netadmin`
//! meets it.
//!
//! Covered: host namespaces, privileged, capabilities, hostPath volumes, host
//! ports, seccomp (baseline); plus volume types, privilege escalation,
//! runAsNonRoot, runAsUser=0, seccomp and dropped capabilities (restricted).
//! Not covered: AppArmor, SELinux options, /proc mount type, sysctls, and the
//! `warn`/`audit` modes (docs/sandbox.md).

use serde_json::Value;

use crate::error::ApiError;
use crate::meta;

const ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";

/// Capabilities baseline allows to add (check_capabilities_baseline.go).
const BASELINE_CAPS: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// Volume types restricted allows (check_restrictedVolumes.go).
const RESTRICTED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Privileged,
    Baseline,
    Restricted,
}

fn level(namespace: Option<&Value>) -> Level {
    match namespace.and_then(|n| meta::str_at(n, &["metadata", "labels", ENFORCE_LABEL])) {
        Some("restricted") => Level::Restricted,
        Some("baseline") => Level::Baseline,
        _ => Level::Privileged,
    }
}

/// Checks `pod` against its namespace's enforced level.
pub fn pod_security(namespace: Option<&Value>, pod: &Value) -> Result<(), ApiError> {
    let level = level(namespace);
    if level == Level::Privileged {
        return Ok(());
    }
    let mut found = baseline(pod);
    if level == Level::Restricted {
        found.extend(restricted(pod));
    }
    if found.is_empty() {
        return Ok(());
    }
    let name = if level == Level::Restricted {
        "restricted"
    } else {
        "baseline"
    };
    Err(ApiError::Forbidden {
        plural: "pods".into(),
        name: meta::name(pod).to_string(),
        reason: format!(
            "violates PodSecurity \"{name}:latest\": {}",
            found.join(", ")
        ),
    })
}

/// Every container of the pod, with its kind of list.
fn containers(pod: &Value) -> Vec<&Value> {
    ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .filter_map(|l| meta::at(pod, &["spec", l]).and_then(Value::as_array))
        .flatten()
        .collect()
}

fn cname(c: &Value) -> &str {
    meta::str_at(c, &["name"]).unwrap_or_default()
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 { one.into() } else { many.into() }
}

fn baseline(pod: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let spec = pod.get("spec").cloned().unwrap_or(Value::Null);
    let hosts: Vec<String> = ["hostNetwork", "hostPID", "hostIPC"]
        .iter()
        .filter(|k| spec.get(**k) == Some(&Value::Bool(true)))
        .map(|k| format!("{k}=true"))
        .collect();
    if !hosts.is_empty() {
        out.push(format!("host namespaces ({})", hosts.join(", ")));
    }
    let privileged: Vec<String> = containers(pod)
        .into_iter()
        .filter(|c| meta::at(c, &["securityContext", "privileged"]) == Some(&Value::Bool(true)))
        .map(|c| cname(c).to_string())
        .collect();
    if !privileged.is_empty() {
        out.push(format!(
            "privileged ({} {} must not set securityContext.privileged=true)",
            plural(privileged.len(), "container", "containers"),
            quoted(&privileged)
        ));
    }
    let caps: Vec<String> = containers(pod)
        .into_iter()
        .filter_map(|c| {
            let bad: Vec<String> = added_caps(c)
                .into_iter()
                .filter(|a| !BASELINE_CAPS.contains(&a.as_str()))
                .collect();
            (!bad.is_empty()).then(|| {
                format!(
                    "container {:?} must not include {} in securityContext.capabilities.add",
                    cname(c),
                    quoted(&bad)
                )
            })
        })
        .collect();
    if !caps.is_empty() {
        out.push(format!("non-default capabilities ({})", caps.join("; ")));
    }
    let host_paths: Vec<String> = volumes(pod)
        .filter(|v| v.get("hostPath").is_some())
        .map(|v| meta::str_at(v, &["name"]).unwrap_or_default().to_string())
        .collect();
    if !host_paths.is_empty() {
        out.push(format!(
            "hostPath {} ({})",
            plural(host_paths.len(), "volume", "volumes"),
            quoted(&host_paths)
        ));
    }
    let ports: Vec<String> = containers(pod)
        .into_iter()
        .flat_map(|c| {
            c.get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| p.get("hostPort").and_then(Value::as_i64))
                .filter(|p| *p != 0)
                .map(move |p| format!("container {:?} uses hostPort {p}", cname(c)))
        })
        .collect();
    if !ports.is_empty() {
        out.push(format!("hostPort ({})", ports.join("; ")));
    }
    let unconfined = |v: &Value| {
        meta::str_at(v, &["securityContext", "seccompProfile", "type"]) == Some("Unconfined")
    };
    if unconfined(&spec) || containers(pod).into_iter().any(unconfined) {
        out.push("seccompProfile (pod or containers must not set securityContext.seccompProfile.type to \"Unconfined\")".into());
    }
    out
}

fn restricted(pod: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let bad_volumes: Vec<String> = volumes(pod)
        .filter(|v| {
            v.as_object().is_some_and(|o| {
                o.keys()
                    .filter(|k| *k != "name")
                    .any(|k| !RESTRICTED_VOLUMES.contains(&k.as_str()))
            })
        })
        .map(|v| meta::str_at(v, &["name"]).unwrap_or_default().to_string())
        .collect();
    if !bad_volumes.is_empty() {
        out.push(format!(
            "restricted volume types ({})",
            quoted(&bad_volumes)
        ));
    }
    let escalating: Vec<String> = containers(pod)
        .into_iter()
        .filter(|c| {
            meta::at(c, &["securityContext", "allowPrivilegeEscalation"])
                != Some(&Value::Bool(false))
        })
        .map(|c| cname(c).to_string())
        .collect();
    if !escalating.is_empty() {
        out.push(format!(
            "allowPrivilegeEscalation != false ({} {} must set securityContext.allowPrivilegeEscalation=false)",
            plural(escalating.len(), "container", "containers"),
            quoted(&escalating)
        ));
    }
    let pod_sc = meta::at(pod, &["spec", "securityContext"]);
    let pod_non_root = pod_sc.and_then(|s| s.get("runAsNonRoot")) == Some(&Value::Bool(true));
    let rooted: Vec<String> = containers(pod)
        .into_iter()
        .filter(
            |c| match meta::at(c, &["securityContext", "runAsNonRoot"]) {
                Some(Value::Bool(b)) => !b,
                _ => !pod_non_root,
            },
        )
        .map(|c| cname(c).to_string())
        .collect();
    if !rooted.is_empty() {
        out.push(format!(
            "runAsNonRoot != true (pod or {} {} must set securityContext.runAsNonRoot=true)",
            plural(rooted.len(), "container", "containers"),
            quoted(&rooted)
        ));
    }
    let seccomp_ok = |v: Option<&Value>| {
        matches!(
            v.and_then(|s| meta::str_at(s, &["seccompProfile", "type"])),
            Some("RuntimeDefault") | Some("Localhost")
        )
    };
    let pod_seccomp = seccomp_ok(pod_sc);
    let no_seccomp: Vec<String> = containers(pod)
        .into_iter()
        .filter(|c| !pod_seccomp && !seccomp_ok(c.get("securityContext")))
        .map(|c| cname(c).to_string())
        .collect();
    if !no_seccomp.is_empty() {
        out.push(format!(
            "seccompProfile (pod or {} {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")",
            plural(no_seccomp.len(), "container", "containers"),
            quoted(&no_seccomp)
        ));
    }
    let mut caps = Vec::new();
    for c in containers(pod) {
        let drops_all = meta::at(c, &["securityContext", "capabilities", "drop"])
            .and_then(Value::as_array)
            .is_some_and(|d| d.iter().any(|x| x == "ALL"));
        if !drops_all {
            caps.push(format!(
                "container {:?} must set securityContext.capabilities.drop=[\"ALL\"]",
                cname(c)
            ));
        }
        let bad: Vec<String> = added_caps(c)
            .into_iter()
            .filter(|a| a != "NET_BIND_SERVICE")
            .collect();
        if !bad.is_empty() {
            caps.push(format!(
                "container {:?} must not include {} in securityContext.capabilities.add",
                cname(c),
                quoted(&bad)
            ));
        }
    }
    if !caps.is_empty() {
        out.push(format!("unrestricted capabilities ({})", caps.join("; ")));
    }
    out
}

fn added_caps(c: &Value) -> Vec<String> {
    meta::at(c, &["securityContext", "capabilities", "add"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(String::from)
        .collect()
}

fn volumes(pod: &Value) -> impl Iterator<Item = &Value> {
    meta::at(pod, &["spec", "volumes"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ns(level: &str) -> Value {
        json!({"metadata": {"name": "n", "labels": {ENFORCE_LABEL: level}}})
    }

    fn pod_with(c: Value) -> Value {
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "app", "image": "x"}],
            "ephemeralContainers": [c]}})
    }

    #[test]
    fn baseline_refuses_net_admin_and_privileged_allows_it() {
        let p = pod_with(json!({"name": "tc", "image": "net",
            "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}));
        let e = pod_security(Some(&ns("baseline")), &p).unwrap_err();
        assert_eq!(e.code(), 403);
        assert_eq!(
            e.to_string(),
            "pods \"p\" is forbidden: violates PodSecurity \"baseline:latest\": non-default capabilities (container \"tc\" must not include \"NET_ADMIN\" in securityContext.capabilities.add)"
        );
        assert!(pod_security(Some(&ns("privileged")), &p).is_ok());
        assert!(pod_security(None, &p).is_ok());
    }

    #[test]
    fn restricted_wants_non_root_seccomp_and_dropped_capabilities() {
        let p = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "app", "image": "x"}]}});
        assert!(pod_security(Some(&ns("baseline")), &p).is_ok());
        let e = pod_security(Some(&ns("restricted")), &p)
            .unwrap_err()
            .to_string();
        for part in [
            "allowPrivilegeEscalation != false",
            "runAsNonRoot != true",
            "seccompProfile",
            "unrestricted capabilities",
        ] {
            assert!(e.contains(part), "{part}: {e}");
        }
        let good = json!({"metadata": {"name": "p"}, "spec": {
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "app", "image": "x", "securityContext": {
                "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]}});
        assert!(pod_security(Some(&ns("restricted")), &good).is_ok());
    }
}

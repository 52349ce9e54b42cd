//! Host images: a container whose image maps to a host executable
//! ([`super::ImageSpec::host`]) runs it for real, the way a node runs a
//! container, within what an unprivileged process can do:
//! - a private user and mount namespace (`unshare --user --map-root-user
//!   --mount`), so that mounts are seen by the child only and nothing on the
//!   host filesystem changes;
//! - each volume prepared in a per-pod directory (the projected
//!   ServiceAccount volume: a real token the sandbox's authenticator accepts
//!   for the pod's ServiceAccount, the sandbox CA as `ca.crt`, the
//!   namespace; configMap volumes; emptyDir) and bind-mounted at its
//!   `mountPath`; a mount path whose parent does not exist gets a private
//!   overlay over its deepest existing ancestor first, so that the
//!   directory can be made without writing to the host;
//! - the environment from the pod spec only (`env` with `value` and
//!   `valueFrom` configMapKeyRef / fieldRef), plus what the kubelet adds:
//!   `KUBERNETES_SERVICE_HOST`/`PORT` pointing at the sandbox's API,
//!   `HOSTNAME` (the pod name), `HOME=/` and a default `PATH`, as
//!   containerd sets them;
//! - stdout and stderr kept as the container's log; the exit status as its
//!   terminated state; SIGTERM and SIGKILL to its process group.
//!
//! Where user namespaces are unavailable (`unshare` refused, e.g.
//! `kernel.unprivileged_userns_clone=0` or a seccomp profile blocking
//! unshare) the container does not run: it exits 128 and its log says why.
//! Not modelled: runAsUser (the child runs as the sandbox's own user, seen
//! as root inside its namespace), readOnly mounts, secret volumes.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::Value;

use super::process::Line;

/// Why a host image's container could not be created or run (the
/// kubelet's CreateContainerConfigError message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HostError(pub String);

impl From<String> for HostError {
    fn from(s: String) -> Self {
        HostError(s)
    }
}

/// Where a pod reaches the API server, and how the kubelet gets a bound
/// ServiceAccount token for it.
pub struct ClusterAccess {
    pub host: String,
    pub port: u16,
    /// The CA that signed the API's serving certificate (`ca.crt`).
    pub ca_pem: String,
    /// Issues a token for (namespace, ServiceAccount name); None when the
    /// ServiceAccount does not exist.
    #[allow(clippy::type_complexity)]
    pub token: Box<dyn Fn(&str, &str) -> Option<String> + Send + Sync>,
}

impl std::fmt::Debug for ClusterAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterAccess")
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// A running host child and what it printed.
#[derive(Debug)]
pub struct HostChild {
    child: Mutex<Option<Child>>,
    pub pid: u32,
    output: Arc<Mutex<Vec<Line>>>,
    /// The exit code once reaped (128 + signal for a killed child).
    exit: Mutex<Option<i32>>,
    /// Peak resident set size in KiB (`ru_maxrss` from wait4).
    pub peak_rss_kib: Mutex<Option<i64>>,
    /// The per-pod directory holding its volumes.
    dir: PathBuf,
}

/// What a container's run needs to know of its pod.
pub struct Launch<'a> {
    pub binary: &'a Path,
    pub argv: &'a [String],
    pub pod: &'a Value,
    pub container: &'a Value,
    /// ConfigMap data by name in the pod's namespace.
    pub config_map: &'a dyn Fn(&str) -> Option<Value>,
    pub access: &'a ClusterAccess,
    /// A fresh directory for this container's volumes.
    pub dir: PathBuf,
}

fn push_line(out: &Mutex<Vec<Line>>, text: String) {
    out.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(Line {
            at: Instant::now(),
            text,
        });
}

/// Resolves the container's env as the kubelet does (`value`, `valueFrom`
/// configMapKeyRef and fieldRef), in order.
fn env_of(l: &Launch<'_>) -> Result<Vec<(String, String)>, HostError> {
    let mut out = Vec::new();
    for e in l.container["env"].as_array().into_iter().flatten() {
        let name = e["name"].as_str().unwrap_or("").to_string();
        if let Some(v) = e["value"].as_str() {
            out.push((name, v.to_string()));
            continue;
        }
        let from = &e["valueFrom"];
        if let Some(r) = from.get("configMapKeyRef") {
            let (cm, key) = (
                r["name"].as_str().unwrap_or(""),
                r["key"].as_str().unwrap_or(""),
            );
            let optional = r["optional"].as_bool() == Some(true);
            match (l.config_map)(cm).and_then(|d| d[key].as_str().map(String::from)) {
                Some(v) => out.push((name, v)),
                None if optional => {}
                None => {
                    return Err(HostError(format!(
                        "couldn't find key {key} in ConfigMap {cm}"
                    )));
                }
            }
        } else if let Some(path) = from["fieldRef"]["fieldPath"].as_str() {
            let v = match path {
                "metadata.namespace" => crate::meta::namespace(l.pod).to_string(),
                "metadata.name" => crate::meta::name(l.pod).to_string(),
                "metadata.uid" => crate::meta::uid(l.pod).to_string(),
                "spec.serviceAccountName" => l.pod["spec"]["serviceAccountName"]
                    .as_str()
                    .unwrap_or("default")
                    .to_string(),
                "spec.nodeName" => l.pod["spec"]["nodeName"].as_str().unwrap_or("").to_string(),
                other => return Err(HostError(format!("unsupported fieldRef {other}"))),
            };
            out.push((name, v));
        } else {
            return Err(HostError(format!(
                "env {name}: unsupported valueFrom (secretKeyRef needs Secrets, which the sandbox does not serve)"
            )));
        }
    }
    Ok(out)
}

fn write(dir: &Path, rel: &str, text: &str) -> Result<(), HostError> {
    let p = dir.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(&p, text).map_err(|e| HostError(format!("{}: {e}", p.display())))
}

fn config_map_files(dir: &Path, data: &Value, items: Option<&Vec<Value>>) -> Result<(), HostError> {
    match items {
        Some(items) => {
            for it in items {
                let key = it["key"].as_str().unwrap_or("");
                let path = it["path"].as_str().unwrap_or(key);
                write(dir, path, data[key].as_str().unwrap_or(""))?;
            }
        }
        None => {
            for (k, v) in data.as_object().into_iter().flatten() {
                write(dir, k, v.as_str().unwrap_or(""))?;
            }
        }
    }
    Ok(())
}

/// Fills one volume's directory.
fn volume(l: &Launch<'_>, vol: &Value, dir: &Path) -> Result<(), HostError> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if let Some(cm) = vol.get("configMap") {
        let name = cm["name"].as_str().unwrap_or("");
        let data = (l.config_map)(name).ok_or_else(|| format!("configmap \"{name}\" not found"))?;
        return config_map_files(dir, &data, cm["items"].as_array());
    }
    if vol.get("emptyDir").is_some() {
        return Ok(());
    }
    let Some(sources) = vol["projected"]["sources"].as_array() else {
        return Err(HostError(format!(
            "volume {}: only configMap, emptyDir and projected volumes run on host images",
            vol["name"].as_str().unwrap_or("")
        )));
    };
    let ns = crate::meta::namespace(l.pod);
    for s in sources {
        if let Some(t) = s.get("serviceAccountToken") {
            let sa = l.pod["spec"]["serviceAccountName"]
                .as_str()
                .unwrap_or("default");
            let token = (l.access.token)(ns, sa)
                .ok_or_else(|| format!("serviceaccount \"{sa}\" not found"))?;
            write(dir, t["path"].as_str().unwrap_or("token"), &token)?;
        } else if let Some(cm) = s.get("configMap") {
            // kube-root-ca.crt is published by the root CA publisher in every
            // namespace; the sandbox's is its own CA.
            let name = cm["name"].as_str().unwrap_or("");
            let data = if name == "kube-root-ca.crt" {
                serde_json::json!({"ca.crt": l.access.ca_pem})
            } else {
                (l.config_map)(name).ok_or_else(|| format!("configmap \"{name}\" not found"))?
            };
            config_map_files(dir, &data, cm["items"].as_array())?;
        } else if let Some(items) = s["downwardAPI"]["items"].as_array() {
            for it in items {
                if it["fieldRef"]["fieldPath"] == "metadata.namespace" {
                    write(dir, it["path"].as_str().unwrap_or("namespace"), ns)?;
                }
            }
        }
    }
    Ok(())
}

/// Single-quotes `s` for sh.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The deepest existing ancestor of `path`, canonical (`/var/run` is a
/// symlink to `/run` on most hosts), and the rest of the path below it.
fn existing_ancestor(path: &Path) -> (PathBuf, PathBuf) {
    let mut a = path.to_path_buf();
    let mut rest = Vec::new();
    while !a.exists() {
        match (a.file_name().map(|n| n.to_os_string()), a.parent()) {
            (Some(n), Some(p)) => {
                rest.push(n);
                a = p.to_path_buf();
            }
            _ => break,
        }
    }
    let canon = std::fs::canonicalize(&a).unwrap_or(a);
    (canon, rest.iter().rev().collect())
}

/// The container's volume mounts with their index (which names their
/// overlay directories), those whose mount path would cover `pod_dir` last.
/// The volumes' sources and the overlays' upper and work directories live
/// in `pod_dir` (under the host's temp dir): a pod mounting an emptyDir at
/// `/tmp`, as charts/gameday does for its read-only root, would otherwise
/// hide them from every mount made after it.
fn mount_order<'v>(mounts: &'v [Value], pod_dir: &Path) -> Vec<(usize, &'v Value)> {
    let mut ordered: Vec<(usize, &Value)> = mounts.iter().enumerate().collect();
    ordered.sort_by_key(|(_, m)| pod_dir.starts_with(m["mountPath"].as_str().unwrap_or("")));
    ordered
}

/// The shell lines that mount each volume at its mount path, inside the
/// child's private mount namespace.
fn mount_script(l: &Launch<'_>, vols: &HashMap<String, PathBuf>) -> Result<String, HostError> {
    let mut script = String::from("set -e\n");
    let mut overlaid: Vec<PathBuf> = Vec::new();
    let mounts = l.container["volumeMounts"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, m) in mount_order(mounts, &l.dir) {
        let name = m["name"].as_str().unwrap_or("");
        let src = vols
            .get(name)
            .ok_or_else(|| format!("volumeMount {name}: no such volume"))?;
        let target = Path::new(m["mountPath"].as_str().unwrap_or(""));
        let src = match m["subPath"].as_str() {
            Some(sub) if !sub.is_empty() => src.join(sub),
            _ => src.clone(),
        };
        let (anc, rest) = existing_ancestor(target);
        if anc == Path::new("/") && !rest.as_os_str().is_empty() {
            return Err(HostError(format!(
                "mountPath {}: cannot make a directory at /",
                target.display()
            )));
        }
        let target = anc.join(&rest);
        if !rest.as_os_str().is_empty() && !overlaid.iter().any(|o| anc.starts_with(o)) {
            let (upper, work) = (
                l.dir.join(format!("ovl{i}/u")),
                l.dir.join(format!("ovl{i}/w")),
            );
            for d in [&upper, &work] {
                std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
            }
            script.push_str(&format!(
                "mount -t overlay overlay -o lowerdir={a},upperdir={u},workdir={w} {a}\n",
                a = quote(&anc.to_string_lossy()),
                u = quote(&upper.to_string_lossy()),
                w = quote(&work.to_string_lossy()),
            ));
            overlaid.push(anc.clone());
        }
        let t = quote(&target.to_string_lossy());
        if src.is_dir() {
            script.push_str(&format!("mkdir -p {t}\n"));
        } else {
            script.push_str(&format!("mkdir -p \"$(dirname {t})\"; touch {t}\n"));
        }
        script.push_str(&format!(
            "mount --bind {} {t}\n",
            quote(&src.to_string_lossy())
        ));
    }
    let wd = l.container["workingDir"].as_str().unwrap_or("/");
    script.push_str(&format!("cd {}\nexec \"$@\"\n", quote(wd)));
    Ok(script)
}

impl HostChild {
    /// Prepares the volumes and starts the child. Err: why the container
    /// could not be created (the kubelet's CreateContainerConfigError).
    pub fn launch(l: &Launch<'_>) -> Result<HostChild, HostError> {
        let env = env_of(l)?;
        let mut vols = HashMap::new();
        for (i, v) in l.pod["spec"]["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let dir = l.dir.join(format!("vol{i}"));
            volume(l, v, &dir)?;
            vols.insert(v["name"].as_str().unwrap_or("").to_string(), dir);
        }
        let script = mount_script(l, &vols)?;
        let mut cmd = Command::new("unshare");
        cmd.args([
            "--user",
            "--map-root-user",
            "--mount",
            "--propagation",
            "private",
        ])
        .args(["--", "sh", "-c", &script, "sh"])
        .arg(l.binary)
        .args(l.argv.iter().skip(1))
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("HOME", "/")
        .env("HOSTNAME", crate::meta::name(l.pod))
        .env("KUBERNETES_SERVICE_HOST", &l.access.host)
        .env("KUBERNETES_SERVICE_PORT", l.access.port.to_string())
        .env("KUBERNETES_SERVICE_PORT_HTTPS", l.access.port.to_string())
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start unshare (util-linux) for a host image: {e}"))?;
        let pipes: Vec<Box<dyn std::io::Read + Send>> = [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        .collect();
        for pipe in pipes {
            let out = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    match line {
                        Ok(t) => push_line(&out, t),
                        Err(_) => break,
                    }
                }
            });
        }
        Ok(HostChild {
            pid: child.id(),
            child: Mutex::new(Some(child)),
            output,
            exit: Mutex::new(None),
            peak_rss_kib: Mutex::new(None),
            dir: l.dir.clone(),
        })
    }

    /// Reaps the child if it ended: its exit code (128 + signal when
    /// killed; `unshare` refusing user namespaces exits 1 with its reason
    /// in the log).
    pub fn poll(&self) -> Option<i32> {
        let mut exit = self.exit.lock().unwrap_or_else(|e| e.into_inner());
        if exit.is_some() {
            return *exit;
        }
        let mut guard = self.child.lock().unwrap_or_else(|e| e.into_inner());
        guard.as_ref()?;
        let pid = libc::pid_t::try_from(self.pid).ok()?;
        let mut status: libc::c_int = 0;
        // SAFETY: an all-zero rusage is a valid value for wait4 to fill.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: wait4 on our own child's pid with valid out pointers.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r != pid {
            return None;
        }
        let code = if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            128 + libc::WTERMSIG(status)
        };
        *self.peak_rss_kib.lock().unwrap_or_else(|e| e.into_inner()) = Some(usage.ru_maxrss);
        *exit = Some(code);
        // Reaped by wait4: forget the Child so that its drop does not wait.
        guard.take();
        *exit
    }

    /// Sends `sig` to the child's process group (it and what it started).
    pub fn signal(&self, sig: i32) {
        if self.poll().is_some() {
            return;
        }
        if let Ok(pgid) = libc::pid_t::try_from(self.pid) {
            // SAFETY: kill(2) on the process group we created for the child.
            unsafe {
                libc::kill(-pgid, sig);
            }
        }
    }

    pub fn output(&self) -> Vec<Line> {
        self.output
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for HostChild {
    /// The container is gone (pod deleted, or force-deleted with grace 0):
    /// SIGKILL at once, reap, and remove its volumes.
    fn drop(&mut self) {
        if self.poll().is_none() {
            self.signal(libc::SIGKILL);
            let taken = self.child.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(mut c) = taken {
                let _ = c.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether this host can run host images: `unshare --user --map-root-user
/// --mount true` succeeds (checked once).
pub fn user_namespaces() -> Result<(), HostError> {
    static CHECK: std::sync::OnceLock<Result<(), HostError>> = std::sync::OnceLock::new();
    CHECK
        .get_or_init(|| {
            let out = Command::new("unshare")
                .args(["--user", "--map-root-user", "--mount", "true"])
                .output()
                .map_err(|e| format!("cannot run unshare: {e}"))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(HostError(format!(
                    "user namespaces are unavailable here ({}); host images cannot run",
                    String::from_utf8_lossy(&out.stderr).trim()
                )))
            }
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_mount_over_the_pod_directory_comes_after_the_others() {
        let mounts = [
            json!({"name": "config", "mountPath": "/etc/gameday"}),
            json!({"name": "tmp", "mountPath": "/tmp"}),
            json!({"name": "token", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}),
        ];
        let order: Vec<usize> =
            mount_order(&mounts, Path::new("/tmp/gameday-sandbox-pods/u-c-app"))
                .into_iter()
                .map(|(i, _)| i)
                .collect();
        assert_eq!(order, [0, 2, 1]);
        let order: Vec<usize> = mount_order(&mounts, Path::new("/var/tmp/pods/u-c-app"))
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        assert_eq!(order, [0, 1, 2], "nothing covers it: the pod's order");
    }
}

//! The node's own init system, as a process that entered the host's
//! namespaces (`nsenter -t 1 -m ...` from a `hostPID` privileged pod) sees
//! it: systemd with a `kubelet.service`, `systemctl stop|start|is-active`,
//! and transient timers from `systemd-run --on-active=`. This is how chaos
//! tools stop a kubelet on a real node (Litmus `kubelet-service-kill`, Krkn's
//! node scenarios): no API write can, since the kubelet owns its node's
//! status.
//!
//! A stopped kubelet posts no node status and syncs no pods
//! ([`crate::controllers::node_lifecycle`]). Timers run on the node's wall
//! clock, not divided by the sandbox's time scale: whoever schedules one
//! (gameday, for its fault's end) counts real seconds, and the node has no
//! other clock.
//!
//! Messages follow systemd 252 (Debian 12): `systemd-run` prints the timer
//! and service units it created (src/run/run.c, `start_transient_timer`),
//! and refuses a unit name already in use; `systemctl` on a unit that does
//! not exist says "Unit X.service not loaded." and exits 5.

use std::time::{Duration, Instant};

/// What a process that entered the host's mount namespace finds on
/// `$PATH`: a systemd node's userland (coreutils, util-linux, procps,
/// systemd).
pub fn host_image() -> super::ImageSpec {
    super::ImageSpec {
        name: "host".into(),
        digest: None,
        executables: [
            "sh",
            "bash",
            "dash",
            "sleep",
            "timeout",
            "kill",
            "pkill",
            "pgrep",
            "grep",
            "echo",
            "true",
            "false",
            "cat",
            "ls",
            "nsenter",
            "systemctl",
            "systemd-run",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        user: 0,
        entrypoint: vec![],
        host: None,
    }
}

/// One transient timer: when it fires and what its service runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Timer {
    pub unit: String,
    pub at: Instant,
    pub argv: Vec<String>,
}

/// What systemd on one node knows: whether its kubelet runs, and the
/// transient timers not yet fired.
#[derive(Debug, Default)]
pub struct NodeHost {
    pub kubelet_stopped: bool,
    pub timers: Vec<Timer>,
    /// Transient units created so far (a name cannot be reused while the
    /// unit is loaded; a fired transient service stays loaded, as
    /// `systemctl status` shows it until garbage-collected).
    units: Vec<String>,
}

/// The unit a name means: `kubelet` is `kubelet.service`.
fn service(name: &str) -> String {
    if name.contains('.') {
        name.to_string()
    } else {
        format!("{name}.service")
    }
}

impl NodeHost {
    /// `systemctl VERB UNIT...`; status and output as systemctl gives them.
    pub fn systemctl(&mut self, args: &[String]) -> (i32, String) {
        let words: Vec<&str> = args
            .iter()
            .map(String::as_str)
            .filter(|a| !a.starts_with('-'))
            .collect();
        let Some((verb, units)) = words.split_first() else {
            return (1, "Too few arguments.".into());
        };
        if units.is_empty() {
            return (1, "Too few arguments.".into());
        }
        let mut out = Vec::new();
        let mut status = 0;
        for unit in units.iter().map(|u| service(u)) {
            if unit != "kubelet.service" {
                let what = match *verb {
                    "is-active" => {
                        out.push("inactive".to_string());
                        status = 3;
                        continue;
                    }
                    v => v,
                };
                out.push(format!("Failed to {what} {unit}: Unit {unit} not loaded."));
                status = 5;
                continue;
            }
            match *verb {
                "stop" | "kill" => self.kubelet_stopped = true,
                "start" | "restart" => self.kubelet_stopped = false,
                "is-active" => {
                    let active = !self.kubelet_stopped;
                    out.push(if active { "active" } else { "inactive" }.to_string());
                    if !active {
                        status = 3;
                    }
                }
                other => {
                    return (1, format!("Unknown command verb {other}."));
                }
            }
        }
        (status, out.join("\n"))
    }

    /// `systemd-run [--unit=U] --on-active=SPAN CMD...`: a transient timer
    /// that runs CMD once, SPAN after now. Without `--on-active` the
    /// command would run at once as a transient service: the model runs
    /// only what a timer does, so it says so rather than guess.
    pub fn systemd_run(&mut self, args: &[String], now: Instant) -> (i32, String) {
        let mut unit = None;
        let mut on_active = None;
        let mut i = 0;
        while let Some(a) = args.get(i) {
            let (key, inline) = match a.split_once('=') {
                Some((k, v)) => (k, Some(v.to_string())),
                None => (a.as_str(), None),
            };
            let mut value = || {
                inline.clone().or_else(|| {
                    i += 1;
                    args.get(i).cloned()
                })
            };
            match key {
                "--unit" | "-u" => unit = value(),
                "--on-active" => match value().as_deref().and_then(time_span) {
                    Some(d) => on_active = Some(d),
                    None => return (1, "Failed to parse timer value: --on-active".into()),
                },
                k if k.starts_with('-') => {}
                _ => break,
            }
            i += 1;
        }
        let argv = args[i.min(args.len())..].to_vec();
        if argv.is_empty() {
            return (1, "Command line to execute required.".into());
        }
        let Some(after) = on_active else {
            return (
                1,
                "systemd-run without a timer is not modelled by the sandbox".into(),
            );
        };
        let unit = unit.unwrap_or_else(|| format!("run-r{}", self.units.len() + 1));
        let timer = format!("{unit}.timer");
        if self.units.contains(&unit) {
            return (
                1,
                format!(
                    "Failed to start transient timer unit: Unit {timer} was already loaded or has a fragment file."
                ),
            );
        }
        self.units.push(unit.clone());
        self.timers.push(Timer {
            unit: unit.clone(),
            at: now.checked_add(after).unwrap_or(now),
            argv,
        });
        (
            0,
            format!("Running timer as unit: {timer}\nWill run service as unit: {unit}.service"),
        )
    }

    /// Runs the timers due by `now` (their `systemctl` commands act on the
    /// kubelet; anything else runs and is forgotten) and returns when the
    /// next one is due.
    pub fn fire_due(&mut self, now: Instant) -> Option<Instant> {
        let (due, later): (Vec<Timer>, Vec<Timer>) = std::mem::take(&mut self.timers)
            .into_iter()
            .partition(|t| t.at <= now);
        self.timers = later;
        for t in due {
            let name = t.argv.first().map(|a| a.rsplit('/').next().unwrap_or(a));
            if name == Some("systemctl") {
                self.systemctl(&t.argv[1..]);
            }
        }
        self.timers.iter().map(|t| t.at).min()
    }
}

/// A systemd time span as `--on-active=` takes it: `300`, `300s`, `5min`,
/// `5m`, `1h`, `1h 30min` without spaces (`1h30min`), `500ms`
/// (systemd.time(7)).
pub fn time_span(s: &str) -> Option<Duration> {
    let mut total = 0.0f64;
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_len] {
            "" | "s" | "sec" | "second" | "seconds" => 1.0,
            "ms" | "msec" => 0.001,
            "m" | "min" | "minute" | "minutes" => 60.0,
            "h" | "hr" | "hour" | "hours" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += n * mult;
    }
    total
        .is_finite()
        .then(|| Duration::from_secs_f64(total.min(365.0 * 86400.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn a_timer_restarts_the_kubelet_at_its_time() {
        let mut h = NodeHost::default();
        let t0 = Instant::now();
        let (st, out) = h.systemd_run(
            &args("--unit=gameday-kubelet-x --on-active=30 systemctl start kubelet"),
            t0,
        );
        assert_eq!(st, 0, "{out}");
        assert!(out.contains("gameday-kubelet-x.timer"), "{out}");
        assert_eq!(h.systemctl(&args("stop kubelet")), (0, String::new()));
        assert!(h.kubelet_stopped);
        assert_eq!(h.systemctl(&args("is-active kubelet")).0, 3);
        // Not yet: the timer is on the node's wall clock.
        assert_eq!(
            h.fire_due(t0 + Duration::from_secs(29)),
            Some(t0 + Duration::from_secs(30))
        );
        assert!(h.kubelet_stopped);
        assert_eq!(h.fire_due(t0 + Duration::from_secs(30)), None);
        assert!(!h.kubelet_stopped);
        // The unit name stays taken.
        let (st, out) = h.systemd_run(
            &args("--unit gameday-kubelet-x --on-active 5s systemctl start kubelet"),
            t0,
        );
        assert_eq!(st, 1);
        assert!(out.contains("already loaded"), "{out}");
    }

    #[test]
    fn unknown_units_and_bad_spans_fail_as_systemd_does() {
        let mut h = NodeHost::default();
        assert_eq!(
            h.systemctl(&args("stop containerd")),
            (
                5,
                "Failed to stop containerd.service: Unit containerd.service not loaded.".into()
            )
        );
        assert_eq!(
            h.systemd_run(&args("--on-active=soon true"), Instant::now())
                .0,
            1
        );
        assert_eq!(time_span("5min"), Some(Duration::from_secs(300)));
        assert_eq!(time_span("1h30min"), Some(Duration::from_secs(5400)));
        assert_eq!(time_span("90"), Some(Duration::from_secs(90)));
        assert_eq!(time_span(""), None);
    }
}

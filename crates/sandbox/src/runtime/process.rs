//! Running a container's processes over time. A container is a stack of
//! frames, the init process at the bottom and the process it waits for on
//! top (`timeout` → `sh` → `sleep`). Instant commands (`tc`, `pkill`,
//! `grep`) run to completion when reached; blocking ones (`sleep`,
//! `stress-ng`, a server) hold the stack until their end time or a signal.
//! The kubelet advances every container of a pod to "now" on each sync.

use std::time::{Duration, Instant};

use super::catalog::ImageSpec;
use super::command::{self, Join, Pipeline, Script};
use super::effects::{Netem, Netns};
use super::systemd::NodeHost;

pub const SIGKILL: i32 = 9;
/// How often the kubelet looks whether a host image's process ended.
const HOST_POLL: Duration = Duration::from_millis(100);
pub const SIGTERM: i32 = 15;

/// What a blocking process does to the node while it runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Load {
    Idle,
    /// stress-ng: CPU workers and bytes kept resident by vm workers.
    Stress {
        cpu: u32,
        vm_bytes: u64,
    },
    /// An application's entrypoint: serves on its ports.
    Server,
    /// The pause binary: sleeps forever, listens nowhere.
    Pause,
}

#[derive(Debug, Clone)]
enum Body {
    Shell {
        script: Script,
        next: usize,
        status: i32,
    },
    Timeout {
        deadline: Instant,
        timed_out: bool,
    },
    Wait {
        until: Option<Instant>,
        load: Load,
        done: Vec<String>,
    },
}

#[derive(Debug, Clone)]
struct Frame {
    pid: u32,
    name: String,
    cmdline: String,
    body: Body,
    /// Who runs this frame when not the container's identity: a shell
    /// that nsenter started in the host's namespaces.
    who: Option<Identity>,
}

/// A live process as `pkill`/`pgrep` see it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcInfo {
    pub pid: u32,
    /// The kernel's `comm`: the executable's file name, 15 bytes at most.
    pub name: String,
    pub cmdline: String,
}

/// What a container's processes may touch: the pod's network namespace,
/// its pid counter, the processes they can see, and the signals they send.
pub struct Env<'a> {
    pub netns: &'a mut Netns,
    pub next_pid: &'a mut u32,
    pub visible: &'a [ProcInfo],
    /// `(pid, signal)` sent by this container's processes this step.
    pub kills: Vec<(u32, i32)>,
    /// The node's init system, reached by a process that entered the
    /// host's namespaces (`nsenter -t 1 -m` from a hostPID privileged pod).
    pub host: Option<&'a std::sync::Mutex<NodeHost>>,
}

impl Env<'_> {
    fn pid(&mut self) -> u32 {
        *self.next_pid += 1;
        *self.next_pid
    }
}

/// Who runs the processes and with what rights.
#[derive(Debug, Clone)]
pub struct Identity {
    pub image: ImageSpec,
    pub uid: u32,
    /// CAP_NET_ADMIN in the effective set: added (or privileged) *and*
    /// running as root — a non-root process gets no effective capabilities
    /// from `capabilities.add` (containerd sets no ambient capabilities).
    pub net_admin: bool,
    /// `securityContext.privileged` and running as root: every
    /// capability, CAP_SYS_ADMIN (setns) included.
    pub privileged: bool,
    /// The pod's `hostPID`: PID 1 is the node's init, not the container's.
    pub host_pid: bool,
    /// The process runs in the host's mount namespace (it entered it with
    /// nsenter): the node's executables and its systemd.
    pub on_host: bool,
}

/// One line a process printed, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub at: Instant,
    pub text: String,
}

/// A container's processes.
#[derive(Debug, Clone)]
pub struct Exec {
    frames: Vec<Frame>,
    pub exit: Option<i32>,
    /// What the processes printed (stdout and stderr), in order.
    pub output: Vec<Line>,
    /// A host image's real child process ([`super::host`]): it replaces
    /// the acted-out frames.
    pub host: Option<std::sync::Arc<super::host::HostChild>>,
}

/// Why a container never started: the executable is not in the image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("exec: \"{0}\": executable file not found in $PATH")]
pub struct NotFound(pub String);

enum Step {
    Done { status: i32, out: String },
    Blocked,
}

fn comm(argv0: &str) -> String {
    let base = argv0.rsplit('/').next().unwrap_or(argv0);
    base.chars().take(15).collect()
}

fn is_shell(argv0: &str) -> bool {
    matches!(comm(argv0).as_str(), "sh" | "ash" | "bash" | "dash" | "zsh")
}

/// Shell builtins: they run without an executable in the image.
const BUILTINS: &[&str] = &["true", "false", ":", "exit", "echo", "kill"];

impl Exec {
    /// Starts `argv` as a container's init process.
    pub fn start(
        argv: &[String],
        who: &Identity,
        now: Instant,
        env: &mut Env<'_>,
    ) -> Result<Exec, NotFound> {
        let Some(argv0) = argv.first() else {
            return Err(NotFound(String::new()));
        };
        if !who.image.has(argv0) {
            return Err(NotFound(argv0.clone()));
        }
        let mut e = Exec {
            frames: Vec::new(),
            exit: None,
            output: Vec::new(),
            host: None,
        };
        let step = e.spawn(argv, "", who, now, env);
        e.after(step, who, now, env);
        Ok(e)
    }

    /// A container running a host image's real process.
    pub fn host(child: std::sync::Arc<super::host::HostChild>) -> Exec {
        Exec {
            frames: Vec::new(),
            exit: None,
            output: Vec::new(),
            host: Some(child),
        }
    }

    pub fn running(&self) -> bool {
        self.exit.is_none()
    }

    /// What the container printed: a host child's captured output, or the
    /// acted-out processes' lines.
    pub fn lines(&self) -> Vec<Line> {
        match &self.host {
            Some(h) => h.output(),
            None => self.output.clone(),
        }
    }

    /// Live processes, init first.
    pub fn procs(&self) -> Vec<ProcInfo> {
        self.frames
            .iter()
            .map(|f| ProcInfo {
                pid: f.pid,
                name: f.name.clone(),
                cmdline: f.cmdline.clone(),
            })
            .collect()
    }

    /// The loads of the processes alive now.
    pub fn loads(&self) -> impl Iterator<Item = Load> + '_ {
        self.frames.iter().filter_map(|f| match &f.body {
            Body::Wait { load, .. } => Some(*load),
            _ => None,
        })
    }

    /// Whether [`Exec::advance`] has anything to do at `now`: a shell
    /// between commands, or a sleep or timeout that has ended.
    pub fn due(&self, now: Instant) -> bool {
        self.exit.is_none()
            && (self.host.is_some()
                || matches!(
                    self.frames.last().map(|f| &f.body),
                    Some(Body::Shell { .. })
                )
                || self.next_event().is_some_and(|t| t <= now))
    }

    /// When something next happens by itself (a sleep or timeout ends).
    pub fn next_event(&self) -> Option<Instant> {
        if self.host.is_some() {
            // A real process ends when it ends: look again shortly.
            return self.exit.is_none().then(|| Instant::now() + HOST_POLL);
        }
        self.frames
            .iter()
            .filter_map(|f| match &f.body {
                Body::Timeout { deadline, .. } => Some(*deadline),
                Body::Wait { until, .. } => *until,
                Body::Shell { .. } => None,
            })
            .min()
    }

    /// The container's first process, which is its pid namespace's init
    /// when the namespace is the container's own.
    pub fn init_pid(&self) -> Option<u32> {
        self.frames.first().map(|f| f.pid)
    }

    /// Whether process `pid` has a handler installed for `signal`. The
    /// kernel drops a signal sent to a pid namespace's init from inside
    /// that namespace unless the init handles it; SIGKILL and SIGSTOP can
    /// have no handler, so they are dropped too (`sig_task_ignored` in
    /// kernel/signal.c: `SIGNAL_UNKILLABLE` and `SIG_DFL`, with `force`
    /// only for a sender in an ancestor namespace). That is why `kill 1`
    /// inside a container whose init is `sleep` does nothing.
    pub fn catches(&self, pid: u32, signal: i32) -> bool {
        self.frames
            .iter()
            .find(|f| f.pid == pid)
            .is_some_and(|f| catches(&f.body, signal))
    }

    /// Delivers `signal` to `pid` if it is one of this container's.
    /// `timeout` forwards it to its child and then dies of it; any other
    /// process dies and its parent sees `128 + signal`.
    pub fn signal(
        &mut self,
        pid: u32,
        signal: i32,
        who: &Identity,
        now: Instant,
        env: &mut Env<'_>,
    ) -> bool {
        let Some(i) = self.frames.iter().position(|f| f.pid == pid) else {
            return false;
        };
        self.frames.truncate(i);
        self.finish(128 + signal);
        self.advance(who, now, env);
        true
    }

    /// Runs everything due by `now`.
    pub fn advance(&mut self, who: &Identity, now: Instant, env: &mut Env<'_>) {
        if let Some(h) = &self.host {
            self.exit = h.poll();
            return;
        }
        // A bounded number of transitions per call: every step either ends
        // a frame or moves a shell forward, so this only bounds malformed
        // input.
        for _ in 0..10_000 {
            if self.exit.is_some() || self.frames.is_empty() {
                return;
            }
            // An expired `timeout` kills what it runs (SIGTERM), then exits 124.
            if let Some(i) = self.frames.iter().position(
                |f| matches!(f.body, Body::Timeout { deadline, timed_out: false } if deadline <= now),
            ) {
                if let Body::Timeout { timed_out, .. } = &mut self.frames[i].body {
                    *timed_out = true;
                }
                self.frames.truncate(i + 1);
                self.finish(128 + SIGTERM);
                continue;
            }
            let Some(top) = self.frames.last_mut() else {
                return;
            };
            match &mut top.body {
                Body::Wait { until, done, .. } => {
                    if until.is_some_and(|u| u <= now) {
                        let lines = std::mem::take(done);
                        self.output
                            .extend(lines.into_iter().map(|text| Line { at: now, text }));
                        self.frames.pop();
                        self.finish(0);
                    } else {
                        return;
                    }
                }
                Body::Timeout { .. } => {
                    // Its child already returned (finish pops both).
                    return;
                }
                Body::Shell {
                    script,
                    next,
                    status,
                } => {
                    let Some((join, pipeline)) = script.items.get(*next).cloned() else {
                        let s = *status;
                        self.frames.pop();
                        self.finish(s);
                        continue;
                    };
                    *next += 1;
                    let run = match join {
                        Join::Then => true,
                        Join::And => *status == 0,
                        Join::Or => *status != 0,
                    };
                    if !run {
                        continue;
                    }
                    let here = self.frames.last().and_then(|f| f.who.clone());
                    let step = self.pipeline(&pipeline, here.as_ref().unwrap_or(who), now, env);
                    match step {
                        Step::Done { status: s, out } => {
                            self.print(&out, now);
                            if let Some(Frame {
                                body: Body::Shell { status, .. },
                                ..
                            }) = self.frames.last_mut()
                            {
                                *status = s;
                            }
                        }
                        Step::Blocked => {}
                    }
                }
            }
        }
    }

    fn print(&mut self, out: &str, at: Instant) {
        self.output.extend(out.lines().map(|l| Line {
            at,
            text: l.to_string(),
        }));
    }

    /// A child returned `status` to the frame now on top (or the
    /// container's init exited).
    fn finish(&mut self, status: i32) {
        let mut status = status;
        loop {
            let Some(top) = self.frames.last_mut() else {
                self.exit = Some(status);
                return;
            };
            match &mut top.body {
                Body::Timeout { timed_out, .. } => {
                    // GNU/busybox timeout: 124 when it timed out, else the
                    // child's status.
                    if *timed_out {
                        status = 124;
                    }
                    self.frames.pop();
                }
                Body::Shell { status: s, .. } => {
                    *s = status;
                    return;
                }
                Body::Wait { .. } => return,
            }
        }
    }

    /// After spawning an init or a `timeout` child that completed at once.
    fn after(&mut self, step: Step, who: &Identity, now: Instant, env: &mut Env<'_>) {
        match step {
            Step::Done { status, out } => {
                self.print(&out, now);
                self.finish(status);
            }
            Step::Blocked => {}
        }
        self.advance(who, now, env);
    }

    fn pipeline(&mut self, p: &Pipeline, who: &Identity, now: Instant, env: &mut Env<'_>) -> Step {
        let mut input = String::new();
        let mut status = 0;
        let last = p.commands.len().saturating_sub(1);
        for (i, argv) in p.commands.iter().enumerate() {
            let step = self.run_in_shell(argv, &input, who, now, env);
            match step {
                Step::Done { status: s, out } => {
                    status = s;
                    input = out;
                }
                Step::Blocked if i == last && !p.negate => return Step::Blocked,
                Step::Blocked => {
                    // A blocking stage inside a pipeline (or under `!`) is
                    // beyond the model: refuse rather than guess.
                    self.frames.pop();
                    return Step::Done {
                        status: 2,
                        out: "sh: 1: pipelines of long-running commands are not modelled".into(),
                    };
                }
            }
        }
        if p.negate {
            status = i32::from(status == 0);
        }
        Step::Done { status, out: input }
    }

    /// A command run by a shell: builtins first, then the image's `$PATH`.
    fn run_in_shell(
        &mut self,
        argv: &[String],
        stdin: &str,
        who: &Identity,
        now: Instant,
        env: &mut Env<'_>,
    ) -> Step {
        let Some(argv0) = argv.first() else {
            return Step::Done {
                status: 0,
                out: String::new(),
            };
        };
        match argv0.as_str() {
            "true" | ":" => {
                return Step::Done {
                    status: 0,
                    out: String::new(),
                };
            }
            "false" => {
                return Step::Done {
                    status: 1,
                    out: String::new(),
                };
            }
            "exit" => {
                let code = argv.get(1).and_then(|c| c.parse::<i32>().ok()).unwrap_or(0);
                // `exit` ends the shell: unwind to (and out of) it.
                if let Some(Body::Shell {
                    next,
                    script,
                    status,
                }) = self
                    .frames
                    .iter_mut()
                    .rev()
                    .map(|f| &mut f.body)
                    .find(|b| matches!(b, Body::Shell { .. }))
                {
                    *next = script.items.len();
                    *status = code;
                }
                return Step::Done {
                    status: code,
                    out: String::new(),
                };
            }
            _ => {}
        }
        if !BUILTINS.contains(&argv0.as_str()) && !who.image.has(argv0) {
            return Step::Done {
                status: 127,
                out: format!("sh: 1: {argv0}: not found"),
            };
        }
        self.spawn(argv, stdin, who, now, env)
    }

    /// Runs `argv` (its executable is known to exist): pushes a frame when
    /// it blocks.
    fn spawn(
        &mut self,
        argv: &[String],
        stdin: &str,
        who: &Identity,
        now: Instant,
        env: &mut Env<'_>,
    ) -> Step {
        let argv0 = argv.first().map(String::as_str).unwrap_or("");
        let name = comm(argv0);
        let cmdline = argv.join(" ");
        let args = &argv[1.min(argv.len())..];
        let done = |status: i32, out: String| Step::Done { status, out };
        if is_shell(argv0) {
            let Some(i) = args.iter().position(|a| a == "-c") else {
                // No script and no terminal: reads an empty stdin, exits 0.
                return done(0, String::new());
            };
            let Some(text) = args.get(i + 1) else {
                return done(2, format!("{name}: 0: -c requires an argument"));
            };
            return match command::parse_script(text) {
                Ok(script) => {
                    let pid = env.pid();
                    self.frames.push(Frame {
                        pid,
                        name,
                        cmdline,
                        body: Body::Shell {
                            script,
                            next: 0,
                            status: 0,
                        },
                        who: None,
                    });
                    Step::Blocked
                }
                Err(e) => done(2, format!("{name}: 1: {e}")),
            };
        }
        match name.as_str() {
            "timeout" => self.timeout(args, &name, cmdline, who, now, env),
            "sleep" => match args.first().and_then(|a| command::duration_arg(a)) {
                Some(d) => self.block(env, name, cmdline, d, now, Load::Idle, vec![]),
                None => done(1, "sleep: invalid number".into()),
            },
            "stress-ng" => stress(args).map_or_else(
                |e| done(1, format!("stress-ng: {e}")),
                |(load, t)| {
                    let desc = match load {
                        Load::Stress { cpu, vm_bytes } if vm_bytes > 0 => {
                            format!("{cpu} cpu, vm {vm_bytes} bytes")
                        }
                        Load::Stress { cpu, .. } => format!("{cpu} cpu"),
                        _ => String::new(),
                    };
                    self.print(&format!("stress-ng: info:  dispatching hogs: {desc}"), now);
                    self.block(
                        env,
                        name,
                        cmdline,
                        t,
                        now,
                        load,
                        vec!["stress-ng: info:  successful run completed".into()],
                    )
                },
            ),
            "tc" => {
                let (status, out) = tc(args, who, env.netns);
                done(status, out)
            }
            "nsenter" => self.nsenter(args, stdin, who, now, env),
            "systemctl" | "systemd-run" => {
                let (status, out) = systemd(&name, args, who, now, env);
                done(status, out)
            }
            "pkill" | "pgrep" => {
                let (status, out) = pkill(name == "pkill", args, env);
                done(status, out)
            }
            "kill" => {
                let (status, out) = kill(args, env);
                done(status, out)
            }
            "grep" => {
                let (status, out) = grep(args, stdin);
                done(status, out)
            }
            "echo" => done(0, args.join(" ")),
            "cat" => done(0, stdin.to_string()),
            "true" => done(0, String::new()),
            "false" => done(1, String::new()),
            "pause" => self.block(env, name, cmdline, None, now, Load::Pause, vec![]),
            _ => self.block(env, name, cmdline, None, now, Load::Server, vec![]),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn block(
        &mut self,
        env: &mut Env<'_>,
        name: String,
        cmdline: String,
        dur: Option<Duration>,
        now: Instant,
        load: Load,
        done: Vec<String>,
    ) -> Step {
        let pid = env.pid();
        self.frames.push(Frame {
            pid,
            name,
            cmdline,
            body: Body::Wait {
                until: dur.map(|d| now.checked_add(d).unwrap_or(now)),
                load,
                done,
            },
            who: None,
        });
        Step::Blocked
    }

    /// util-linux `nsenter -t PID [-m -u -i -n -p ...] [--] CMD`: joins
    /// PID's namespaces, then runs CMD there. setns(2) needs CAP_SYS_ADMIN,
    /// which only a privileged container has; with `hostPID` PID 1 is the
    /// node's init, and joining its mount namespace puts CMD on the host
    /// (its executables, its systemd). Without `hostPID`, PID 1 is the
    /// container's own init: a privileged nsenter joins the namespaces it
    /// is already in.
    fn nsenter(
        &mut self,
        args: &[String],
        stdin: &str,
        who: &Identity,
        now: Instant,
        env: &mut Env<'_>,
    ) -> Step {
        let refused = |e: NsEnterError| Step::Done {
            status: 1,
            out: e.to_string(),
        };
        let ns = match NsEnter::parse(args) {
            Ok(ns) => ns,
            Err(e) => return refused(e),
        };
        if let Err(e) = ns.permitted(who) {
            return refused(e);
        }
        let mut inner = who.clone();
        if ns.mount && who.host_pid {
            inner.image = super::systemd::host_image();
            inner.on_host = true;
        }
        let argv = if ns.argv.is_empty() {
            vec!["sh".to_string()]
        } else {
            ns.argv
        };
        if !inner.image.has(&argv[0]) {
            return Step::Done {
                status: 127,
                out: format!(
                    "nsenter: failed to execute {}: No such file or directory",
                    argv[0]
                ),
            };
        }
        let depth = self.frames.len();
        let step = self.spawn(&argv, stdin, &inner, now, env);
        if inner.on_host {
            for f in self.frames.iter_mut().skip(depth) {
                f.who = Some(inner.clone());
            }
        }
        step
    }

    fn timeout(
        &mut self,
        args: &[String],
        name: &str,
        cmdline: String,
        who: &Identity,
        now: Instant,
        env: &mut Env<'_>,
    ) -> Step {
        let mut i = 0;
        while let Some(a) = args.get(i) {
            match a.as_str() {
                "-s" | "-k" | "--signal" | "--kill-after" => i += 2,
                a if a.starts_with('-')
                    && a.len() > 1
                    && !a[1..].starts_with(|c: char| c.is_ascii_digit()) =>
                {
                    i += 1
                }
                _ => break,
            }
        }
        let Some(Some(d)) = args.get(i).map(|a| command::duration_arg(a)) else {
            return Step::Done {
                status: 125,
                out: format!("{name}: invalid time interval"),
            };
        };
        let child = &args[(i + 1).min(args.len())..];
        let Some(c0) = child.first() else {
            return Step::Done {
                status: 125,
                out: format!("{name}: missing operand"),
            };
        };
        if !who.image.has(c0) {
            return Step::Done {
                status: 127,
                out: format!("{name}: failed to run command '{c0}': No such file or directory"),
            };
        }
        let pid = env.pid();
        self.frames.push(Frame {
            pid,
            name: name.to_string(),
            cmdline,
            body: Body::Timeout {
                deadline: d.map_or(now + Duration::from_secs(365 * 86400), |d| {
                    now.checked_add(d).unwrap_or(now)
                }),
                timed_out: false,
            },
            who: None,
        });
        match self.spawn(child, "", who, now, env) {
            Step::Done { status, out } => {
                self.frames.pop();
                Step::Done { status, out }
            }
            Step::Blocked => Step::Blocked,
        }
    }
}

/// What `nsenter` was asked: the target, the namespaces in the order
/// util-linux joins them (its `namespace_files` table: cgroup, ipc, uts,
/// net, pid, mnt, time, then user), and the command.
#[derive(Debug, Default)]
struct NsEnter {
    target: Option<String>,
    namespaces: Vec<&'static str>,
    mount: bool,
    argv: Vec<String>,
}

const NS_ORDER: &[(&str, char, &str)] = &[
    ("cgroup", 'C', "ns/cgroup"),
    ("ipc", 'i', "ns/ipc"),
    ("uts", 'u', "ns/uts"),
    ("net", 'n', "ns/net"),
    ("pid", 'p', "ns/pid"),
    ("mount", 'm', "ns/mnt"),
    ("time", 'T', "ns/time"),
    ("user", 'U', "ns/user"),
];

/// Why nsenter exits 1, in util-linux's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum NsEnterError {
    #[error("nsenter: unrecognized option '--{0}'")]
    LongOption(String),
    #[error("nsenter: invalid option -- '{0}'")]
    ShortOption(char),
    #[error("nsenter: neither filename nor target pid supplied for {0}")]
    NoTarget(&'static str),
    #[error("nsenter: cannot open /proc/{0}/ns/{1}: No such file or directory")]
    NoProcess(String, String),
    #[error("nsenter: cannot open /proc/1/{0}: Permission denied")]
    Denied(&'static str),
    #[error("nsenter: reassociate to namespace '{0}' failed: Operation not permitted")]
    NotPermitted(&'static str),
}

impl NsEnter {
    fn parse(args: &[String]) -> Result<NsEnter, NsEnterError> {
        let mut want: Vec<char> = Vec::new();
        let mut out = NsEnter::default();
        let mut it = args.iter().enumerate();
        while let Some((i, a)) = it.next() {
            if a == "--" {
                out.argv = args[i + 1..].to_vec();
                break;
            }
            if let Some(long) = a.strip_prefix("--") {
                let (key, inline) = match long.split_once('=') {
                    Some((k, v)) => (k, Some(v.to_string())),
                    None => (long, None),
                };
                match key {
                    "target" => out.target = inline.or_else(|| it.next().map(|(_, v)| v.clone())),
                    "all" => want.extend(NS_ORDER.iter().map(|n| n.1)),
                    k => match NS_ORDER.iter().find(|n| n.0 == k) {
                        Some(n) => want.push(n.1),
                        None => return Err(NsEnterError::LongOption(k.to_string())),
                    },
                }
                continue;
            }
            let Some(short) = a.strip_prefix('-').filter(|s| !s.is_empty()) else {
                out.argv = args[i..].to_vec();
                break;
            };
            for (j, c) in short.char_indices() {
                match c {
                    't' => {
                        let rest = &short[j + 1..];
                        out.target = if rest.is_empty() {
                            it.next().map(|(_, v)| v.clone())
                        } else {
                            Some(rest.to_string())
                        };
                        break;
                    }
                    'a' => want.extend(NS_ORDER.iter().map(|n| n.1)),
                    c if NS_ORDER.iter().any(|n| n.1 == c) => want.push(c),
                    c => return Err(NsEnterError::ShortOption(c)),
                }
            }
        }
        out.namespaces = NS_ORDER
            .iter()
            .filter(|n| want.contains(&n.1))
            .map(|n| n.2)
            .collect();
        out.mount = want.contains(&'m');
        Ok(out)
    }

    /// The first namespace util-linux would fail on, with its message:
    /// with `hostPID` an unprivileged container cannot even open the
    /// host init's namespace files ("cannot open /proc/1/ns/ipc:
    /// Permission denied", jpetazzo/nsenter#95); without it, setns(2) on
    /// its own namespaces is refused for lack of CAP_SYS_ADMIN
    /// ("reassociate to namespace 'ns/ipc' failed: Operation not
    /// permitted", util-linux/util-linux#1006).
    fn permitted(&self, who: &Identity) -> Result<(), NsEnterError> {
        let Some(first) = self.namespaces.first().copied() else {
            return Ok(());
        };
        let Some(target) = &self.target else {
            return Err(NsEnterError::NoTarget(first));
        };
        if target != "1" {
            let ns = first.trim_start_matches("ns/").to_string();
            return Err(NsEnterError::NoProcess(target.clone(), ns));
        }
        if who.privileged && who.uid == 0 {
            return Ok(());
        }
        Err(if who.host_pid {
            NsEnterError::Denied(first)
        } else {
            NsEnterError::NotPermitted(first)
        })
    }
}

/// `systemctl` and `systemd-run`: they talk to the node's systemd, which a
/// process reaches only from the host's namespaces. In a container's own
/// namespaces PID 1 is not systemd, and both fail as they do there.
fn systemd(
    name: &str,
    args: &[String],
    who: &Identity,
    now: Instant,
    env: &Env<'_>,
) -> (i32, String) {
    let host = env.host.filter(|_| who.on_host);
    let Some(host) = host else {
        return (
            1,
            "System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down".into(),
        );
    };
    let mut h = host
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if name == "systemctl" {
        h.systemctl(args)
    } else {
        h.systemd_run(args, now)
    }
}

/// Why stress-ng refuses its arguments (printed after `stress-ng: `).
#[derive(Debug, thiserror::Error)]
enum StressArgs {
    #[error("invalid {0}")]
    Invalid(&'static str),
    #[error("no stressor specified")]
    NoStressor,
}

/// stress-ng's options the model acts on: `--cpu N`, `--vm N`,
/// `--vm-bytes X`, `--timeout T` (0 or absent: until stopped).
fn stress(args: &[String]) -> Result<(Load, Option<Duration>), StressArgs> {
    let mut cpu = 0u32;
    let mut vm = 0u64;
    let mut vm_bytes: u64 = 256 << 20;
    let mut timeout = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (key, inline) = match a.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (a.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next().cloned());
        match key {
            "--cpu" | "-c" => {
                cpu = value()
                    .and_then(|v| v.parse().ok())
                    .ok_or(StressArgs::Invalid("--cpu"))?;
            }
            "--vm" | "-m" => {
                vm = value()
                    .and_then(|v| v.parse().ok())
                    .ok_or(StressArgs::Invalid("--vm"))?;
            }
            "--vm-bytes" => {
                vm_bytes = value()
                    .as_deref()
                    .and_then(bytes)
                    .ok_or(StressArgs::Invalid("--vm-bytes"))?;
            }
            "--timeout" | "-t" => {
                timeout = value()
                    .as_deref()
                    .and_then(command::duration_arg)
                    .ok_or(StressArgs::Invalid("--timeout"))?
                    .filter(|d| !d.is_zero());
            }
            _ => {}
        }
    }
    if cpu == 0 && vm == 0 {
        return Err(StressArgs::NoStressor);
    }
    // Each of N CPU workers is one busy core; `--cpu 0` would mean "all".
    Ok((
        Load::Stress {
            cpu,
            vm_bytes: vm.saturating_mul(vm_bytes),
        },
        timeout,
    ))
}

/// stress-ng sizes: `256m`, `1g`, `512k`, `100` (bytes).
fn bytes(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_lowercase();
    let (num, mult) = match s.chars().last()? {
        'b' => (&s[..s.len() - 1], 1),
        'k' => (&s[..s.len() - 1], 1 << 10),
        'm' => (&s[..s.len() - 1], 1 << 20),
        'g' => (&s[..s.len() - 1], 1 << 30),
        _ => (s.as_str(), 1),
    };
    num.parse::<u64>().ok().map(|n| n.saturating_mul(mult))
}

/// `tc qdisc add|replace|del|show dev IF [root] [handle H] [netem ...]`.
/// Messages and statuses follow iproute2 (status 2 for a kernel refusal).
fn tc(args: &[String], who: &Identity, netns: &mut Netns) -> (i32, String) {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    if a.first() != Some(&"qdisc") {
        return (
            1,
            "Command \"".to_string() + a.first().unwrap_or(&"") + "\" is unknown, try \"tc help\".",
        );
    }
    let op = a.get(1).copied().unwrap_or("show");
    let dev = a
        .iter()
        .position(|w| *w == "dev")
        .and_then(|i| a.get(i + 1))
        .copied();
    let handle = a
        .iter()
        .position(|w| *w == "handle")
        .and_then(|i| a.get(i + 1))
        .map(|h| h.to_string());
    if let Some(d) = dev
        && !netns.has_device(d)
    {
        return (1, format!("Cannot find device \"{d}\""));
    }
    let dev = dev.unwrap_or("eth0");
    match op {
        "show" | "list" | "ls" => (0, netns.show(dev)),
        "add" | "replace" | "change" | "del" | "delete" => {
            if !who.net_admin {
                return (2, "RTNETLINK answers: Operation not permitted".into());
            }
            if matches!(op, "del" | "delete") {
                return match netns.delete(dev, handle.as_deref()) {
                    Ok(()) => (0, String::new()),
                    Err(e) => (2, e.to_string()),
                };
            }
            let Some(n) = a.iter().position(|w| *w == "netem") else {
                return (
                    2,
                    "RTNETLINK answers: Invalid argument (only netem is modelled)".into(),
                );
            };
            let netem = match Netem::parse(&a[n + 1..]) {
                Ok(n) => n,
                Err(e) => return (1, e.to_string()),
            };
            match netns.add(
                dev,
                handle.as_deref(),
                netem,
                op == "replace" || op == "change",
            ) {
                Ok(()) => (0, String::new()),
                Err(e) => (2, e.to_string()),
            }
        }
        other => (
            1,
            format!("Command \"{other}\" is unknown, try \"tc qdisc help\"."),
        ),
    }
}

/// Whether `text` matches a pkill/grep pattern: `^` and `$` anchor, the
/// rest is literal (the model's subset of extended regular expressions).
pub fn pattern_matches(pattern: &str, text: &str) -> bool {
    let (start, p) = match pattern.strip_prefix('^') {
        Some(p) => (true, p),
        None => (false, pattern),
    };
    let (end, p) = match p.strip_suffix('$') {
        Some(p) => (true, p),
        None => (false, p),
    };
    match (start, end) {
        (true, true) => text == p,
        (true, false) => text.starts_with(p),
        (false, true) => text.ends_with(p),
        (false, false) => text.contains(p),
    }
}

/// Which signals a process installs handlers for, by what it is:
/// - coreutils `timeout` catches ALRM, INT, QUIT, HUP and TERM to forward
///   them to its child (`install_cleanup` in src/timeout.c);
/// - stress-ng catches HUP, INT, QUIT, TERM and more to clean up its
///   workers (`terminate_signals` in stress-ng.c);
/// - the pause binary catches INT and TERM and exits
///   (kubernetes build/pause/linux/pause.c);
/// - an application's server is taken to shut down on INT and TERM, as a
///   well-behaved server does (the world's apps; see ANN_SHUTDOWN_DELAY
///   for how their graceful exit is timed);
/// - `sleep` and a non-interactive shell keep the default dispositions.
fn catches(body: &Body, signal: i32) -> bool {
    const HUP: i32 = 1;
    const INT: i32 = 2;
    const QUIT: i32 = 3;
    const ALRM: i32 = 14;
    match body {
        Body::Timeout { .. } => matches!(signal, HUP | INT | QUIT | ALRM | SIGTERM),
        Body::Wait {
            load: Load::Stress { .. },
            ..
        } => matches!(signal, HUP | INT | QUIT | SIGTERM),
        Body::Wait {
            load: Load::Pause | Load::Server,
            ..
        } => matches!(signal, INT | SIGTERM),
        Body::Wait {
            load: Load::Idle, ..
        }
        | Body::Shell { .. } => false,
    }
}

fn signal_arg(s: &str) -> Option<i32> {
    let s = s.trim_start_matches("SIG");
    match s {
        "TERM" | "15" => Some(SIGTERM),
        "KILL" | "9" => Some(SIGKILL),
        "INT" | "2" => Some(2),
        "HUP" | "1" => Some(1),
        "QUIT" | "3" => Some(3),
        "ALRM" | "14" => Some(14),
        _ => s.parse().ok(),
    }
}

/// procps/busybox pkill and pgrep: `[-f] [-x] [-SIG|--signal SIG] PATTERN`;
/// status 0 when something matched, 1 when nothing did.
fn pkill(kill: bool, args: &[String], env: &mut Env<'_>) -> (i32, String) {
    let (mut full, mut exact, mut sig) = (false, false, SIGTERM);
    let mut pattern = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-f" => full = true,
            "-x" => exact = true,
            "-fx" | "-xf" => (full, exact) = (true, true),
            "-s" | "--signal" => sig = it.next().and_then(|s| signal_arg(s)).unwrap_or(SIGTERM),
            s if s.starts_with('-') && s.len() > 1 => match signal_arg(&s[1..]) {
                Some(n) => sig = n,
                None => return (2, format!("pkill: invalid option -- '{}'", &s[1..])),
            },
            p => pattern = Some(p.to_string()),
        }
    }
    let Some(pattern) = pattern else {
        return (2, "pkill: no matching criteria specified".into());
    };
    let matched: Vec<&ProcInfo> = env
        .visible
        .iter()
        .filter(|p| {
            let text = if full { &p.cmdline } else { &p.name };
            if exact {
                text == &pattern
            } else {
                pattern_matches(&pattern, text)
            }
        })
        .collect();
    let out = if kill {
        String::new()
    } else {
        matched
            .iter()
            .map(|p| p.pid.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let pids: Vec<u32> = matched.iter().map(|p| p.pid).collect();
    if kill {
        env.kills.extend(pids.iter().map(|p| (*p, sig)));
    }
    (i32::from(pids.is_empty()), out)
}

fn kill(args: &[String], env: &mut Env<'_>) -> (i32, String) {
    let mut sig = SIGTERM;
    let mut status = 0;
    let mut out = Vec::new();
    for a in args {
        if let Some(s) = a.strip_prefix('-') {
            sig = signal_arg(s).unwrap_or(SIGTERM);
            continue;
        }
        match a.parse::<u32>() {
            Ok(pid) if env.visible.iter().any(|p| p.pid == pid) => env.kills.push((pid, sig)),
            _ => {
                status = 1;
                out.push(format!("kill: ({a}) - No such process"));
            }
        }
    }
    (status, out.join("\n"))
}

fn grep(args: &[String], stdin: &str) -> (i32, String) {
    let (mut quiet, mut invert) = (false, false);
    let mut pattern = None;
    for a in args {
        match a.as_str() {
            "-q" => quiet = true,
            "-v" => invert = true,
            "-qv" | "-vq" => (quiet, invert) = (true, true),
            "-E" | "-F" => {}
            p => pattern = Some(p),
        }
    }
    let Some(p) = pattern else {
        return (2, "Usage: grep [OPTION]... PATTERNS [FILE]...".into());
    };
    let lines: Vec<&str> = stdin
        .lines()
        .filter(|l| pattern_matches(p, l) != invert)
        .collect();
    let out = if quiet {
        String::new()
    } else {
        lines.join("\n")
    };
    (i32::from(lines.is_empty()), out)
}

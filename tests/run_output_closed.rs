//! The stop path must not depend on the terminal (issue 10, "Pipe test").
//!
//! `gameday run` holds two faults for two minutes while its stdout and
//! stderr go to a pipe whose reader leaves early (`| head -c 200`), or to a
//! pseudo-terminal that is closed. Then it gets SIGINT or SIGTERM. Every
//! fault must be reverted well inside the hold, the journal must have no
//! `run.panic` and exactly one `run.end`, and the process must exit.
//!
//! Before the output writer was made safe (commit 7cbffc3), the signal task
//! panicked on its first `eprintln!` into the dead stream before it set the
//! stop, and the faults stayed for the full two minutes.

mod faults_support;

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use faults_support::{Cluster, journal_events, shop_world};

/// Held for two minutes: a lost stop would leave them far past the test's
/// deadlines.
const HELD_FAULTS: &str = "    - {name: freeze, type: podFailure, duration: 2m, selector: {namespace: shop, labels: {app: checkout}}, mode: {count: 1}}
    - {name: shrink, type: scale, duration: 2m, selector: {namespace: shop, kind: Deployment, name: frontend}, params: {replicas: 1}}";

/// How long a revert may take after the signal ("the usual time").
const REVERT_DEADLINE: Duration = Duration::from_secs(30);

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
    /// glibc (2.34+ has it in libc itself): a pseudo-terminal pair.
    fn openpty(
        master: *mut i32,
        slave: *mut i32,
        name: *mut u8,
        termp: *const u8,
        winp: *const Winsize,
    ) -> i32;
    fn fcntl(fd: i32, cmd: i32, ...) -> i32;
    fn setsid() -> i32;
    fn ioctl(fd: i32, request: u64, ...) -> i32;
}

/// Makes the terminal on the descriptor the caller's controlling terminal.
const TIOCSCTTY: u64 = 0x540E;

const F_SETFD: i32 = 2;
const FD_CLOEXEC: i32 = 1;
const F_GETFL: i32 = 3;
const F_SETFL: i32 = 4;
const O_NONBLOCK: i32 = 0o4000;

#[repr(C)]
struct Winsize {
    rows: u16,
    cols: u16,
    xpixel: u16,
    ypixel: u16,
}

/// When the reader goes away.
#[derive(Clone, Copy)]
enum Close {
    /// `| head -c 200`: after the first 200 bytes, long before the signal.
    Early,
    /// `| tee`, killed by the same Ctrl-C: reads everything until the faults
    /// are held, then goes away just before the signal, so the signal
    /// path's own message is the first write to fail.
    AtSignal,
}

/// Where the child's output goes.
enum Sink {
    /// One pipe for stdout and stderr; the reader takes 200 bytes and exits.
    Pipe,
    /// A pseudo-terminal as stdin, stdout and stderr; the master is closed.
    Pty,
    /// The same pty as the run's controlling terminal (its own session), as
    /// in a terminal window: closing the master sends it SIGHUP.
    ControllingPty,
}

/// A pty pair: (master, slave).
fn pty_pair() -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    let size = Winsize {
        rows: 24,
        cols: 100,
        xpixel: 0,
        ypixel: 0,
    };
    // SAFETY: out-pointers to two ints; name and termios may be null.
    let rc = unsafe {
        openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // Tests run in parallel: a child spawned by another test must not
    // inherit the master, or closing ours would not close the terminal.
    for fd in [master, slave] {
        // SAFETY: setting a flag on a descriptor we just opened.
        assert_eq!(unsafe { fcntl(fd, F_SETFD, FD_CLOEXEC) }, 0);
    }
    // SAFETY: openpty succeeded, so both are fresh descriptors we own.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// The reading end of the child's output, non-blocking so that the test
/// decides when it goes away.
struct Reader {
    file: std::fs::File,
    got: usize,
}

impl Reader {
    fn new(fd: OwnedFd) -> Reader {
        // SAFETY: reading and setting the flags of a descriptor we own.
        unsafe {
            let flags = fcntl(fd.as_raw_fd(), F_GETFL);
            assert_eq!(fcntl(fd.as_raw_fd(), F_SETFL, flags | O_NONBLOCK), 0);
        }
        Reader {
            file: std::fs::File::from(fd),
            got: 0,
        }
    }

    /// Reads what is there now, at most `limit` bytes in all; false at EOF
    /// (or EIO: a pty whose other side is gone).
    fn pump(&mut self, limit: usize) -> bool {
        let mut buf = [0u8; 4096];
        while self.got < limit {
            let want = buf.len().min(limit - self.got);
            match self.file.read(&mut buf[..want]) {
                Ok(0) => return false,
                Ok(n) => self.got += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        true
    }

    /// `head -c 200`: reads 200 bytes, polling within a deadline.
    async fn take_200(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.got < 200 && Instant::now() < deadline {
            if !self.pump(200) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(self.got, 200, "the run prints its start");
    }
}

fn injected(dir: &Path) -> bool {
    journal_events(dir)
        .iter()
        .filter(|e| e.event == "fault.injected")
        .count()
        >= 2
}

/// Waits until both faults are injected (the journal says so), reading the
/// output meanwhile when the reader is still there.
async fn wait_injected(dir: &Path, mut reader: Option<&mut Reader>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !injected(dir) && Instant::now() < deadline {
        if let Some(r) = reader.as_deref_mut() {
            r.pump(usize::MAX);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(injected(dir), "not injected: {:?}", events(dir));
}

fn events(dir: &Path) -> Vec<String> {
    journal_events(dir).into_iter().map(|e| e.event).collect()
}

/// Starts the run with its output in `sink`, closes the reader as `close`
/// says, sends `signal`, and checks the revert, the journal and the exit.
async fn signal_with_output_closed(sink: Sink, close: Close, signal: i32, name: &str) {
    let c = Cluster::start(shop_world()).await;
    let sc = c.write_scenario("s.yaml", "closed-output", HELD_FAULTS, "");
    let out = c.path("run");
    let mut cmd = c.gameday(&["run", sc.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let reader = match sink {
        Sink::Pipe => {
            let (reader, writer) = std::io::pipe().unwrap();
            cmd.stdin(Stdio::null())
                .stdout(writer.try_clone().unwrap())
                .stderr(writer);
            OwnedFd::from(reader)
        }
        Sink::Pty | Sink::ControllingPty => {
            let (master, slave) = pty_pair();
            cmd.stdin(slave.try_clone().unwrap())
                .stdout(slave.try_clone().unwrap())
                .stderr(slave);
            if matches!(sink, Sink::ControllingPty) {
                // SAFETY: only async-signal-safe calls between fork and exec.
                unsafe {
                    cmd.pre_exec(|| {
                        if setsid() < 0 || ioctl(0, TIOCSCTTY, 0) < 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                        Ok(())
                    });
                }
            }
            master
        }
    };
    let mut reader = Reader::new(reader);
    let mut child = cmd.spawn().unwrap();
    // The Command holds our copies of the write side; without dropping
    // them the reader would never be the last one.
    drop(cmd);
    reader.take_200().await;
    let reader = match close {
        Close::Early => {
            drop(reader);
            wait_injected(&out, None).await;
            None
        }
        Close::AtSignal => {
            wait_injected(&out, Some(&mut reader)).await;
            Some(reader)
        }
    };
    assert!(!c.marked().await.is_empty(), "faults are held");
    assert!(child.try_wait().unwrap().is_none(), "still holding");
    drop(reader);

    let pid = child.id().unwrap() as i32;
    // SAFETY: sending a signal to our own child process (0 sends none: for
    // a controlling terminal, closing it was the signal).
    assert_eq!(unsafe { libc_kill(pid, signal) }, 0);
    let status = tokio::time::timeout(REVERT_DEADLINE, child.wait())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "no exit {REVERT_DEADLINE:?} after {name}: {:?}",
                events(&out)
            )
        })
        .unwrap();
    assert_eq!(status.code(), Some(3), "aborted, faults reverted");

    let entries = journal_events(&out);
    let ev: Vec<&str> = entries.iter().map(|e| e.event.as_str()).collect();
    assert!(!ev.contains(&"run.panic"), "{ev:?}");
    assert!(!ev.contains(&"run.crashed"), "{ev:?}");
    assert_eq!(ev.iter().filter(|e| **e == "run.end").count(), 1, "{ev:?}");
    let stopping = entries.iter().find(|e| e.event == "run.stopping");
    let cause = stopping.map(|e| e.data["cause"].to_string());
    assert!(cause.as_deref().is_some_and(|c| c.contains(name)), "{ev:?}");
    let confirmed = entries.iter().find(|e| e.event == "revert.confirmed");
    assert_eq!(
        confirmed.map(|e| e.data["clean"].clone()),
        Some(true.into())
    );

    // The cluster itself, not only the journal.
    assert!(c.marked().await.is_empty(), "{:?}", c.marked().await);
    let restored = c
        .eventually(Duration::from_secs(15), || async {
            c.workload_restored("shop", "checkout", 4, "shop/checkout:1.4")
                .await
                && c.workload_restored("shop", "frontend", 2, "shop/frontend:2.0")
                    .await
        })
        .await;
    assert!(restored, "checkout and frontend are back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_with_output_pipe_closed_early_still_reverts() {
    signal_with_output_closed(Sink::Pipe, Close::Early, SIGINT, "SIGINT").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_output_pipe_closed_early_still_reverts() {
    signal_with_output_closed(Sink::Pipe, Close::Early, SIGTERM, "SIGTERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_with_output_pipe_closed_at_signal_still_reverts() {
    signal_with_output_closed(Sink::Pipe, Close::AtSignal, SIGINT, "SIGINT").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_output_pipe_closed_at_signal_still_reverts() {
    signal_with_output_closed(Sink::Pipe, Close::AtSignal, SIGTERM, "SIGTERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_with_terminal_closed_early_still_reverts() {
    signal_with_output_closed(Sink::Pty, Close::Early, SIGINT, "SIGINT").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_terminal_closed_early_still_reverts() {
    signal_with_output_closed(Sink::Pty, Close::Early, SIGTERM, "SIGTERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_with_terminal_closed_at_signal_still_reverts() {
    signal_with_output_closed(Sink::Pty, Close::AtSignal, SIGINT, "SIGINT").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_terminal_closed_at_signal_still_reverts() {
    signal_with_output_closed(Sink::Pty, Close::AtSignal, SIGTERM, "SIGTERM").await;
}

/// A closed terminal window: the kernel sends SIGHUP, which must revert
/// like Ctrl-C rather than kill the run with its faults in place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_from_a_closed_controlling_terminal_still_reverts() {
    signal_with_output_closed(Sink::ControllingPty, Close::AtSignal, 0, "SIGHUP").await;
}

//! A real PostgreSQL server for integration tests, from Debian's
//! `postgresql` package (`/usr/lib/postgresql/<major>/bin`).
//!
//! [`Postgres::start`] runs `initdb` in a temporary directory and starts
//! `postgres` on a free loopback port, its socket in that directory. Both
//! run as `nobody` when the tests run as root (CI does): initdb and postgres
//! refuse root. The readiness wait is a bounded connect loop; the server is
//! stopped by PID when the value is dropped (SIGINT, PostgreSQL's "fast
//! shutdown", then SIGKILL if it has not exited in time), so a failing test
//! leaves no server behind.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `nobody`/`nogroup` on Debian.
const NOBODY: u32 = 65534;
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The newest installed PostgreSQL's bin directory, or fails the test with
/// the fix.
pub fn pg_bin_dir() -> PathBuf {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb). These tests run a real \
             server: run scripts/test.sh, which installs it with `apt-get install -y postgresql`, or \
             install it yourself."
        )
    })
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

/// A command that runs as `nobody` when we are root.
fn unprivileged(bin: &Path) -> Command {
    let mut cmd = Command::new(bin);
    if is_root() {
        cmd.uid(NOBODY).gid(NOBODY);
    }
    cmd
}

/// A running server. Fields drop in order: the server stops before its
/// directory is removed.
pub struct Postgres {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Postgres {
    /// initdb (trust authentication, C locale, no fsync) and start; retries
    /// with a fresh port if another process took the one picked.
    pub fn start() -> Postgres {
        let bin = pg_bin_dir();
        let mut dir = tempfile::tempdir().unwrap();
        if is_root() {
            std::os::unix::fs::chown(dir.path(), Some(NOBODY), Some(NOBODY)).unwrap();
        }
        let data = dir.path().join("data");
        let init = unprivileged(&bin.join("initdb"))
            .args([
                "-U",
                "gameday",
                "--auth=trust",
                "--no-sync",
                "--locale=C",
                "-E",
                "UTF8",
                "-D",
            ])
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            init.status.success(),
            "initdb: {}{}",
            String::from_utf8_lossy(&init.stdout),
            String::from_utf8_lossy(&init.stderr)
        );
        let mut last_log = String::new();
        for _ in 0..3 {
            let port = super::harness::free_port();
            let log = std::fs::File::create(dir.path().join("postgres.log")).unwrap();
            let child = unprivileged(&bin.join("postgres"))
                .arg("-D")
                .arg(&data)
                .arg("-k")
                .arg(dir.path())
                .args(["-h", "127.0.0.1", "-p", &port.to_string()])
                .args(["-c", "fsync=off", "-c", "max_connections=100"])
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap();
            let mut pg = Postgres { child, port, dir };
            if pg.wait_ready() {
                return pg;
            }
            last_log = pg.log();
            pg.stop();
            dir = std::mem::replace(&mut pg.dir, tempfile::tempdir().unwrap());
            drop(pg);
        }
        panic!("postgres did not start: {last_log}");
    }

    /// The server's log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }

    /// Polls a connection until the server answers, it exits, or the
    /// timeout passes.
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return false;
            }
            if postgres::Client::connect(&self.url("postgres"), postgres::NoTls).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// The URL of `database` on this server, as user `gameday`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://gameday@127.0.0.1:{}/{database}", self.port)
    }

    /// A new empty database, so tests sharing a server do not see each
    /// other's history; returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        let mut client = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect: {e}\n{}", self.log()));
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .unwrap();
        self.url(name)
    }

    /// Fast shutdown by PID, then SIGKILL after the timeout.
    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

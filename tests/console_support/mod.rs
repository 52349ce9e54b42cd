//! What the console tests share: a drill started with `gameday drill` (its
//! run directory, API URL and both tokens), the console's live stream read
//! as a client would, and bounded waits. The browser helpers (chromedriver
//! per test, headless Chromium) are in `browser.rs`.
#![allow(dead_code)]

pub mod browser;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

// A test binary may include tests/common too: one source, two copies.
#[allow(clippy::duplicate_mod)]
#[path = "../common/cli.rs"]
mod cli;
#[allow(unused_imports)] // each test binary uses some of them
pub use cli::{drill_fixture as fixture, gameday};

/// A running `gameday drill`, killed (by its PID) when dropped.
pub struct RunningDrill {
    pub child: Child,
    pub run: PathBuf,
    pub url: String,
    pub token: String,
    pub facilitator: String,
}

impl Drop for RunningDrill {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `gameday drill FILE --speed 1 --out DIR/run` and waits until its
/// API files are written.
pub fn start_drill(dir: &Path, file: &str, stderr: Stdio) -> RunningDrill {
    let run = dir.join("run");
    let child = gameday(dir)
        .args(["drill", "--speed", "1", "--out"])
        .arg(&run)
        .arg(fixture(file))
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("gameday drill starts");
    let read = |name: &str| std::fs::read_to_string(run.join(name)).ok();
    let (url, token, facilitator) =
        wait_for(Duration::from_secs(20), "the drill's API files", || {
            Some((
                read("api-url")?,
                read("api-token")?,
                read("facilitator-token")?,
            ))
        });
    RunningDrill {
        child,
        run,
        url: url.trim().to_string(),
        token: token.trim().to_string(),
        facilitator: facilitator.trim().to_string(),
    }
}

impl RunningDrill {
    pub fn journal(&self) -> Vec<Value> {
        std::fs::read_to_string(self.run.join("journal.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits (bounded) for the drill to exit; its exit code.
    pub fn wait_exit(&mut self, within: Duration) -> i32 {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "the drill did not end within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn result(&self) -> Value {
        let text = std::fs::read_to_string(self.run.join("result.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

/// Polls `f` every 20 ms until it gives a value; panics after `within`.
pub fn wait_for<T>(within: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The console stream as a client reads it: `state` events, parsed.
pub struct Stream {
    resp: reqwest::Response,
    buf: String,
}

impl Stream {
    pub async fn open(url: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = reqwest::Client::new().get(format!("{url}/v1/console/stream"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("the stream answers")
    }

    pub async fn connect(url: &str, token: &str) -> Stream {
        let resp = Stream::open(url, Some(token)).await;
        assert_eq!(resp.status(), 200);
        Stream {
            resp,
            buf: String::new(),
        }
    }

    /// The next snapshot, or None when the stream ended.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            if let Some(i) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..i + 2).collect();
                let data: String = block
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(|l| l.strip_prefix(' ').unwrap_or(l))
                    .collect();
                if block.lines().any(|l| l.trim() == "event: state") {
                    return serde_json::from_str(&data).ok();
                }
                continue;
            }
            let chunk = self.resp.chunk().await.ok()??;
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The first snapshot for which `f` holds, within `within`.
    pub async fn until(&mut self, within: Duration, f: impl Fn(&Value) -> bool) -> Value {
        tokio::time::timeout(within, async {
            loop {
                let s = self.next().await.expect("the stream ended");
                if f(&s) {
                    return s;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no such snapshot within {within:?}"))
    }
}

pub async fn post(url: &str, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{url}{path}"))
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Whether a snapshot's timeline has an item whose text contains `text`.
pub fn timeline_has(s: &Value, text: &str) -> bool {
    s["timeline"].as_array().is_some_and(|t| {
        t.iter()
            .any(|i| i["text"].as_str().is_some_and(|x| x.contains(text)))
    })
}

//! The console's live stream under load (issue 15, "Performance"): a real
//! `gameday drill` process, 50 clients on `GET /v1/console/stream`, and
//! 100 responder events posted one every 20 ms. For each event, the time
//! from its journal entry (`ts`, written after the fsync) until a client's
//! snapshot holds it, per client and until all 50 have it; and the drill
//! process's resident memory (VmRSS from /proc) before the clients
//! connect, with them connected, and after the events.
//!
//! Run: cargo bench --bench console_stream

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const CLIENTS: usize = 50;
const EVENTS: usize = 100;
/// Between two events; `CONSOLE_BENCH_GAP_MS` overrides it.
fn gap() -> Duration {
    let ms = std::env::var("CONSOLE_BENCH_GAP_MS")
        .ok()
        .and_then(|v| v.parse().ok());
    Duration::from_millis(ms.unwrap_or(20))
}

/// Client → event number → when that client first had it.
type Seen = Arc<Mutex<Vec<HashMap<usize, jiff::Timestamp>>>>;

fn vm(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Reads one client's stream, noting when each `bench-N` note first shows.
async fn client(
    url: String,
    token: String,
    me: usize,
    seen: Seen,
    ready: Arc<tokio::sync::Barrier>,
) {
    let mut resp = reqwest::Client::new()
        .get(format!("{url}/v1/console/stream"))
        .bearer_auth(token)
        .send()
        .await
        .expect("stream");
    let mut buf = String::new();
    let mut first = true;
    while let Ok(Some(chunk)) = resp.chunk().await {
        let now = jiff::Timestamp::now();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(i) = buf.find("\n\n") {
            let block: String = buf.drain(..i + 2).collect();
            let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) else {
                continue;
            };
            // A substring scan, not a JSON parse: the client's own cost
            // stays out of the figure (a browser parses with a JIT).
            {
                let mut s = seen.lock().unwrap();
                for part in data.split("note: bench-").skip(1) {
                    let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
                    if let Ok(n) = digits.parse::<usize>() {
                        s[me].entry(n).or_insert(now);
                    }
                }
            }
            if first {
                first = false;
                ready.wait().await;
            }
        }
    }
}

fn quantiles(name: &str, mut v: Vec<f64>) {
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{name}: n={} median {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        v.len(),
        q(0.5),
        q(0.95),
        q(0.99),
        q(1.0)
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let drill =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/drills/console/two-roles.yaml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["drill", "--ci", "--speed", "1", "--out"])
        .arg(&run)
        .arg(&drill)
        .env("GAMEDAY_HISTORY_DB", dir.path().join("history.db"))
        .env_remove("GAMEDAY_ALERTMANAGER_URL")
        .env_remove("GAMEDAY_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gameday drill");
    let pid = child.id();
    let started = Instant::now();
    let (url, token) = loop {
        let read = |f: &str| std::fs::read_to_string(run.join(f)).ok();
        if let (Some(u), Some(t)) = (read("api-url"), read("api-token")) {
            break (u.trim().to_string(), t.trim().to_string());
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the drill did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle = vm(pid, "VmRSS:");

    let seen: Seen = Arc::new(Mutex::new(vec![HashMap::new(); CLIENTS]));
    let ready = Arc::new(tokio::sync::Barrier::new(CLIENTS + 1));
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|me| {
            tokio::spawn(client(
                url.clone(),
                token.clone(),
                me,
                seen.clone(),
                ready.clone(),
            ))
        })
        .collect();
    ready.wait().await;
    let rss_connected = vm(pid, "VmRSS:");

    let http = reqwest::Client::new();
    for n in 0..EVENTS {
        let r = http
            .post(format!("{url}/v1/events"))
            .bearer_auth(&token)
            .json(&json!({"as": "bench", "do": "note", "text": format!("bench-{n}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        tokio::time::sleep(gap()).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.lock().unwrap().iter().any(|m| m.len() < EVENTS) {
        assert!(
            Instant::now() < deadline,
            "not every client got every event"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rss_after = vm(pid, "VmRSS:");
    let rss_peak = vm(pid, "VmHWM:");

    let journal = std::fs::read_to_string(run.join("journal.jsonl")).unwrap();
    let mut journalled: HashMap<usize, jiff::Timestamp> = HashMap::new();
    for line in journal.lines() {
        let e: Value = serde_json::from_str(line).unwrap();
        if let Some(n) = e["responder"]["text"]
            .as_str()
            .and_then(|t| t.strip_prefix("bench-"))
        {
            journalled.insert(
                n.parse().unwrap(),
                e["ts"].as_str().unwrap().parse().unwrap(),
            );
        }
    }
    let seen = seen.lock().unwrap();
    let ms = |a: jiff::Timestamp, b: jiff::Timestamp| b.duration_since(a).as_secs_f64() * 1e3;
    let mut per_client = Vec::new();
    let mut all_have_it = Vec::new();
    for (n, at) in &journalled {
        let lat: Vec<f64> = seen.iter().map(|m| ms(*at, m[n])).collect();
        all_have_it.push(lat.iter().copied().fold(0.0, f64::max));
        per_client.extend(lat);
    }
    println!(
        "console stream: {CLIENTS} clients, {EVENTS} events {:?} apart, drill process {pid}",
        gap()
    );
    quantiles("journalled -> one client has it", per_client);
    quantiles("journalled -> all clients have it", all_have_it);
    println!(
        "drill RSS: {rss_idle:.1} MiB idle, {rss_connected:.1} MiB with {CLIENTS} clients, {rss_after:.1} MiB after the events (growth {:.1} MiB; peak {rss_peak:.1} MiB)",
        rss_after - rss_idle
    );
    for t in tasks {
        t.abort();
    }
    let _ = child.kill();
    let _ = child.wait();
}

//! `gameday demo` end to end (with real Prometheus/Alertmanager, and with
//! them hidden from PATH), report.html rendered by headless Chromium, and
//! `gameday report` on the journal of a `gameday run` killed with SIGKILL.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_gameday");
const REPORTS: [&str; 5] = [
    "journal.jsonl",
    "result.json",
    "report.md",
    "report.html",
    "junit.xml",
];

/// A child killed by PID on drop.
struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn demo(dir: &Path, path_env: Option<&str>) -> (Output, PathBuf) {
    let out = dir.join("run");
    let mut cmd = Command::new(BIN);
    cmd.args(["demo", "--ci", "--out"])
        .arg(&out)
        .current_dir(dir)
        .env("GAMEDAY_HISTORY_DB", dir.join("history.db"))
        .env_remove("GAMEDAY_PROMETHEUS_URL")
        .env_remove("GAMEDAY_ALERTMANAGER_URL");
    if let Some(p) = path_env {
        cmd.env("PATH", p);
    }
    (cmd.output().unwrap(), out)
}

fn assert_demo_ok(o: &Output, run: &Path, dir: &Path) -> String {
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(0), "demo failed:\n{err}");
    assert!(err.contains("Scorecard"), "{err}");
    assert!(err.contains("PASS"), "{err}");
    for f in REPORTS {
        let p = run.join(f);
        assert!(
            std::fs::metadata(&p).is_ok_and(|m| m.len() > 0),
            "{f} missing"
        );
        assert!(err.contains(&p.display().to_string()), "{f} not announced");
    }
    let result: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("result.json")).unwrap()).unwrap();
    assert_eq!(result["status"], "passed");
    // Recorded in the history after the run directory.
    let h = Command::new(BIN)
        .args(["history", "-o", "json", "--db"])
        .arg(dir.join("history.db"))
        .output()
        .unwrap();
    let runs = String::from_utf8_lossy(&h.stdout);
    assert!(
        runs.contains(result["runId"].as_str().unwrap()),
        "history: {runs}"
    );
    err
}

/// Structure of a real report.html: sections, and charts with readings.
fn assert_html(html: &str, probes: usize) {
    for id in ["scorecard", "charts", "detection", "timeline", "postmortem"] {
        assert!(html.contains(&format!("<section id=\"{id}\">")), "{id}");
    }
    assert_eq!(html.matches("<svg class=\"chart\"").count(), probes);
    for chart in html.split("<svg class=\"chart\"").skip(1) {
        let chart = &chart[..chart.find("</svg>").unwrap()];
        let points: usize = chart
            .split("points=\"")
            .skip(1)
            .map(|p| p[..p.find('"').unwrap()].split(' ').count())
            .sum();
        assert!(points >= 3, "a chart with {points} points");
        assert!(chart.contains("fault-window"), "no fault window");
        assert!(chart.contains("threshold-expect"), "no threshold");
    }
    assert!(!html.contains("<script") && !html.contains("src=\"http"));
}

/// Screenshots the file with headless Chromium; returns the share of
/// non-white pixels.
fn screenshot_ink(html: &Path, png: &Path) -> f64 {
    let profile = tempfile::tempdir().unwrap();
    let o = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1200,2000")
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("chromium is not installed: apt-get install -y chromium (scripts/test.sh does)");
    assert!(png.is_file(), "{}", String::from_utf8_lossy(&o.stderr));
    let decoder = png::Decoder::new(std::fs::File::open(png).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let bpp = info.color_type.samples();
    let px = &buf[..info.buffer_size()];
    let total = px.len() / bpp;
    let ink = px
        .chunks(bpp)
        .filter(|c| c.iter().take(3).any(|&v| v < 240))
        .count();
    assert_eq!((info.width, info.height), (1200, 2000));
    ink as f64 / total as f64
}

#[test]
fn demo_with_prometheus_and_alertmanager_passes_and_its_html_renders() {
    let dir = tempfile::tempdir().unwrap();
    let (o, run) = demo(dir.path(), None);
    let err = assert_demo_ok(&o, &run, dir.path());
    assert!(err.contains("Prometheus http://127.0.0.1:"), "{err}");
    let result: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("result.json")).unwrap()).unwrap();
    assert_eq!(
        result["detection"][0]["fired"], true,
        "the real alert fired"
    );
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert_html(&html, 2);
    let ink = screenshot_ink(&run.join("report.html"), &dir.path().join("shot.png"));
    assert!(ink > 0.02, "screenshot is nearly blank: {ink}");
}

#[test]
fn demo_without_prometheus_uses_kubernetes_and_http_probes() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let (o, run) = demo(dir.path(), Some(empty.to_str().unwrap()));
    let err = assert_demo_ok(&o, &run, dir.path());
    assert!(
        err.contains("apt-get install prometheus prometheus-alertmanager"),
        "{err}"
    );
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert_html(&html, 2);
}

#[test]
fn report_rebuilds_every_output_of_a_sigkilled_run_marked_incomplete() {
    use gameday::sandbox::{Sandbox, SandboxOptions, world::World};
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sb = rt
        .block_on(Sandbox::start(SandboxOptions {
            objects: World::shop().unwrap().to_objects(),
            ..SandboxOptions::default()
        }))
        .unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    sb.write_kubeconfig(&kubeconfig, gameday::demo::CONTEXT)
        .unwrap();
    let scenario = dir.path().join("s.yaml");
    std::fs::write(
        &scenario,
        gameday::demo::SCENARIO_KUBERNETES.replace("@SANDBOX_HEALTHZ@", &sb.kubelet_healthz_url()),
    )
    .unwrap();
    let run = dir.path().join("run");
    let child = Command::new(BIN)
        .args(["run", "--ci"])
        .arg(&scenario)
        .arg("--out")
        .arg(&run)
        .env("KUBECONFIG", &kubeconfig)
        .env("GAMEDAY_HISTORY_DB", dir.path().join("history.db"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Kill(child);
    let journal = run.join("journal.jsonl");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&journal).is_ok_and(|j| j.contains("\"fault.injected\"")) {
        assert!(Instant::now() < deadline, "the run never injected");
        assert!(child.0.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(100));
    }
    // SIGKILL: nothing runs after this, no result.json is written.
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    assert!(!run.join("result.json").exists());

    let o = Command::new(BIN)
        .arg("report")
        .arg(&run)
        .env("GAMEDAY_HISTORY_DB", dir.path().join("history.db"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for f in REPORTS {
        assert!(run.join(f).is_file(), "{f}");
    }
    let result: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("result.json")).unwrap()).unwrap();
    assert_eq!(result["status"], "incomplete");
    assert_eq!(result["exitCode"], 1);
    assert_eq!(result["faults"][0]["name"], "kill-one-checkout-pod");
    assert!(result["faults"][0]["injectedAt"].is_string());
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(md.to_lowercase().contains("incomplete"), "{md}");
    let junit = std::fs::read_to_string(run.join("junit.xml")).unwrap();
    assert!(junit.contains("<testsuite"), "{junit}");
    for (f, needle) in [
        ("html", "INCOMPLETE"),
        ("md", "incomplete"),
        ("json", "\"incomplete\""),
        ("junit", "<testsuite"),
    ] {
        let o = Command::new(BIN)
            .args(["report", "-f", f])
            .arg(&run)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0));
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains(needle), "-f {f}: {text}");
    }
    rt.block_on(sb.shutdown());
}

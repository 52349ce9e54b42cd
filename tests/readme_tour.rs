//! The README's five-minute tour is a test: scripts/tour.sh runs the tour's
//! commands against the freshly built binary and checks what the README says
//! they print and do, and this file checks that every command in the tour's
//! code blocks appears in the script, so neither can change alone.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The tour (Prometheus start-up, a 30 s drill with its recovery, reports)
/// takes about a minute; this bounds a hang.
const TOUR_TIMEOUT: Duration = Duration::from_secs(300);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One shell command per entry from the ```sh blocks of README sections 2 to
/// 4: continuation lines joined, comments, a trailing `&` and repeated
/// blanks removed, and the `<run>` placeholder written as the script's
/// `"$run"`.
fn tour_commands(readme: &str) -> Vec<String> {
    let start = readme
        .find("### 2. ")
        .expect("README has a section 2 (first scenario)");
    let end = readme[start..]
        .find("### 5. ")
        .map_or(readme.len(), |e| start + e);
    let comment = regex::Regex::new(r"\s+#\s.*$").unwrap();
    let mut out = Vec::new();
    for (i, block) in readme[start..end].split("```").enumerate() {
        // Odd pieces are inside a fence; only shell blocks are commands.
        let Some(body) = block.strip_prefix("sh\n").filter(|_| i % 2 == 1) else {
            continue;
        };
        for line in body.replace("\\\n", " ").lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = comment.replace(line, "");
            let line = line.trim().trim_end_matches('&').trim();
            out.push(normalize(&line.replace("<run>", "\"$run\"")));
        }
    }
    out
}

fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn every_readme_tour_command_is_in_the_tour_script() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let script = std::fs::read_to_string(repo().join("scripts/tour.sh")).unwrap();
    let script = normalize(&script.replace("\\\n", " "));
    let commands = tour_commands(&readme);
    assert!(
        commands.len() >= 15,
        "the tour has init, validate, the stack, plan, run, respond and report: {commands:#?}"
    );
    let missing: Vec<&String> = commands.iter().filter(|c| !script.contains(*c)).collect();
    assert!(
        missing.is_empty(),
        "README tour commands that scripts/tour.sh does not run as written: {missing:#?}"
    );
}

/// Runs `cmd` to completion or kills it (by PID) after `timeout`.
fn run_bounded(mut cmd: Command, timeout: Duration, log: &Path) -> Option<i32> {
    let file = std::fs::File::create(log).unwrap();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .expect("bash runs scripts/tour.sh");
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status.code().unwrap_or(-1));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[test]
fn the_readme_tour_runs_as_written() {
    for bin in ["prometheus", "prometheus-alertmanager", "curl"] {
        assert!(
            Command::new("sh")
                .args(["-c", &format!("command -v {bin}")])
                .output()
                .is_ok_and(|o| o.status.success()),
            "`{bin}` is not installed: run scripts/test.sh, which installs what the tests need"
        );
    }
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_gameday")).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("tour.log");
    let mut cmd = Command::new("bash");
    cmd.arg(repo().join("scripts/tour.sh")).env("PATH", path);
    let started = Instant::now();
    let code = run_bounded(cmd, TOUR_TIMEOUT, &log);
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    eprintln!("tour took {:.1}s", started.elapsed().as_secs_f64());
    assert_eq!(code, Some(0), "scripts/tour.sh:\n{output}");
}

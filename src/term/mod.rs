//! The one way gameday writes to the terminal.
//!
//! Why this exists: `println!`/`eprintln!` panic when the stream is closed
//! ("failed printing to stderr: Broken pipe"). Rust ignores SIGPIPE, so a
//! reader that went away (`| tee` killed by the same Ctrl-C, `| head`, a
//! closed pseudo-terminal) turns every later write into an error, and a
//! panic in the signal task or the stop path would leave faults injected.
//! Output is never worth a revert: a stream that fails once is marked closed
//! and every later write to it is dropped silently.
//!
//! It is also where `--log-format json` is kept: a CI log collector parses
//! stderr line by line, so in that mode stderr carries nothing but JSON
//! objects. [`event`] writes a structured one; text that still reaches
//! `err!`/`errln!` is wrapped as `{"event":"message",…}` rather than let
//! through as a bare line.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);
/// `--log-format json`: set once at start-up, before anything is printed.
static JSON_LOG: AtomicBool = AtomicBool::new(false);

/// Whether to colour output: never when NO_COLOR is set (https://no-color.org)
/// or stderr is not a terminal. It lives here, not in the CLI, because every
/// layer that prints (the scorecard, diagnostics, progress) asks it.
pub fn use_color() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// Switches stderr to JSON lines (`--log-format json`).
pub fn set_json(on: bool) {
    JSON_LOG.store(on, Ordering::Relaxed);
}

/// Whether stderr carries JSON lines only.
pub fn json() -> bool {
    JSON_LOG.load(Ordering::Relaxed)
}

/// Which standard stream to write to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn closed_flag(self) -> &'static AtomicBool {
        match self {
            Stream::Stdout => &STDOUT_CLOSED,
            Stream::Stderr => &STDERR_CLOSED,
        }
    }

    /// Whether an earlier write found this stream closed.
    pub fn is_closed(self) -> bool {
        self.closed_flag().load(Ordering::Relaxed)
    }
}

/// Writes formatted text to a stream; never panics and never returns an
/// error. The first failed write (EPIPE, EIO from a hung-up terminal, ENOSPC
/// on a redirected file) marks the stream closed for the rest of the process.
pub fn write(stream: Stream, args: fmt::Arguments<'_>) {
    if stream == Stream::Stderr && json() {
        return write_message(&args.to_string());
    }
    write_raw(stream, args);
}

fn write_raw(stream: Stream, args: fmt::Arguments<'_>) {
    let flag = stream.closed_flag();
    if flag.load(Ordering::Relaxed) {
        return;
    }
    let res = match stream {
        Stream::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_fmt(args).and_then(|()| out.flush())
        }
        Stream::Stderr => std::io::stderr().lock().write_fmt(args),
    };
    if res.is_err() {
        flag.store(true, Ordering::Relaxed);
    }
}

/// RFC 3339 UTC with milliseconds, as in the journal.
fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// One structured event on stderr. Under `--log-format json` it is one
/// object: `ts` (now, unless `fields` brings its own), `event`, then
/// `fields` (an object; anything else is kept under `value`). Otherwise it
/// is `text`, a line for people. A key is never repeated: the map keeps one
/// of each, and `event` is always the argument.
pub fn event(event: &str, fields: serde_json::Value, text: impl fmt::Display) {
    if json() {
        write_raw(
            Stream::Stderr,
            format_args!("{}\n", json_line(event, fields)),
        );
    } else {
        write_raw(Stream::Stderr, format_args!("{text}\n"));
    }
}

/// The JSON object of one event (see [`event`]).
pub fn json_line(event: &str, fields: serde_json::Value) -> String {
    let mut obj = serde_json::Map::new();
    obj.insert("ts".into(), now().into());
    obj.insert("event".into(), event.into());
    match fields {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                if k != "event" {
                    obj.insert(k, v);
                }
            }
        }
        serde_json::Value::Null => {}
        other => {
            obj.insert("value".into(), other);
        }
    }
    serde_json::Value::Object(obj).to_string()
}

/// Free text under `--log-format json`: one `message` event, its level read
/// from the usual `error:` / `warning:` prefix.
fn write_message(text: &str) {
    let text = text.trim_end_matches('\n');
    if text.trim().is_empty() {
        return;
    }
    let level = if text.starts_with("error") {
        "error"
    } else if text.starts_with("warning") {
        "warn"
    } else {
        "info"
    };
    let line = json_line(
        "message",
        serde_json::json!({"level": level, "message": text}),
    );
    write_raw(Stream::Stderr, format_args!("{line}\n"));
}

/// Error texts the terminal has shown (see [`said`]).
static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Remembers an error text that was just shown, so the lines that follow
/// (the guardrail, the stop, the end of the run) refer to it instead of
/// printing it again: one Prometheus outage used to print the same
/// URL-encoded query five times. Short texts are not remembered.
pub fn said(text: &str) {
    if text.len() < 24 {
        return;
    }
    let mut said = SAID.lock().unwrap_or_else(|p| p.into_inner());
    if !said.iter().any(|s| s == text) {
        said.push(text.to_string());
    }
}

/// `line` with every text already [`said`] (or that text in parentheses)
/// replaced by "(as above)". Only
/// for lines people read: JSON events keep every field whole.
pub fn unsaid(line: &str) -> String {
    let said = SAID.lock().unwrap_or_else(|p| p.into_inner());
    let mut out = line.to_string();
    // Longest first, so a reason that contains an error is elided whole.
    let mut texts: Vec<&String> = said.iter().collect();
    texts.sort_by_key(|t| std::cmp::Reverse(t.len()));
    for t in texts {
        out = out
            .replace(&format!("({t})"), "(as above)")
            .replace(t.as_str(), "(as above)");
    }
    out
}

/// A `std::io::Write` for stderr with the same rules, for libraries that take
/// a writer (tracing-subscriber). Errors are swallowed and the stream is
/// marked closed, so a logger can never fail the caller either.
#[derive(Debug, Default, Clone, Copy)]
pub struct SafeStderr;

impl Write for SafeStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !STDERR_CLOSED.load(Ordering::Relaxed) && std::io::stderr().write_all(buf).is_err() {
            STDERR_CLOSED.store(true, Ordering::Relaxed);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !STDERR_CLOSED.load(Ordering::Relaxed) && std::io::stderr().flush().is_err() {
            STDERR_CLOSED.store(true, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// `print!` that cannot panic: see the module docs.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::term::write($crate::term::Stream::Stdout, format_args!($($arg)*)) };
}

/// `println!` that cannot panic: see the module docs.
#[macro_export]
macro_rules! outln {
    () => { $crate::term::write($crate::term::Stream::Stdout, format_args!("\n")) };
    ($($arg:tt)*) => {{
        $crate::term::write($crate::term::Stream::Stdout, format_args!("{}\n", format_args!($($arg)*)))
    }};
}

/// `eprint!` that cannot panic: see the module docs.
#[macro_export]
macro_rules! err {
    ($($arg:tt)*) => { $crate::term::write($crate::term::Stream::Stderr, format_args!($($arg)*)) };
}

/// `eprintln!` that cannot panic: see the module docs.
#[macro_export]
macro_rules! errln {
    () => { $crate::term::write($crate::term::Stream::Stderr, format_args!("\n")) };
    ($($arg:tt)*) => {{
        $crate::term::write($crate::term::Stream::Stderr, format_args!("{}\n", format_args!($($arg)*)))
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lines_are_one_object_without_repeated_keys() {
        let line = json_line(
            "plan",
            serde_json::json!({"event": "shadow", "ts": "x", "faults": [1]}),
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["event"], "plan");
        assert_eq!(v["ts"], "x", "an entry keeps its own time");
        assert_eq!(v["faults"], serde_json::json!([1]));
        assert_eq!(line.matches("\"event\"").count(), 1, "{line}");
        assert_eq!(line.matches("\"ts\"").count(), 1, "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn a_text_said_once_is_referred_to_afterwards() {
        let err = "error sending request for url (http://p/api?query=up%7B%7D): refused";
        said(err);
        said("short");
        let reason = format!("probe p: cannot be read: {err}");
        assert_eq!(unsaid(&reason), "probe p: cannot be read: (as above)");
        said(&reason);
        assert_eq!(
            unsaid(&format!("stopping: guardrail: {reason}")),
            "stopping: guardrail: (as above)"
        );
        said(&format!("guardrail: {reason}"));
        assert_eq!(
            unsaid(&format!("run ended: aborted (guardrail: {reason})")),
            "run ended: aborted (as above)"
        );
        assert_eq!(unsaid("short and sweet"), "short and sweet");
    }
}

//! The one way gameday writes to the terminal.
//!
//! Why this exists: `println!`/`eprintln!` panic when the stream is closed
//! ("failed printing to stderr: Broken pipe"). Rust ignores SIGPIPE, so a
//! reader that went away (`| tee` killed by the same Ctrl-C, `| head`, a
//! closed pseudo-terminal) turns every later write into an error, and a
//! panic in the signal task or the stop path would leave faults injected.
//! Output is never worth a revert: a stream that fails once is marked closed
//! and every later write to it is dropped silently.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

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

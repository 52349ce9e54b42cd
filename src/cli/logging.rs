//! Log set-up from the global flags. Logs go to stderr so that `-o json`
//! output on stdout stays machine-readable.

use tracing_subscriber::EnvFilter;

use super::{GlobalArgs, LogFormat};

pub fn init(global: &GlobalArgs) {
    let level = if global.quiet {
        "error"
    } else {
        match global.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    let filter = EnvFilter::try_from_env("GAMEDAY_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("gameday={level},warn")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| crate::term::SafeStderr);
    crate::term::set_json(global.log_format == LogFormat::Json);
    // A second init (tests calling main twice) is harmless; ignore it.
    let _ = match global.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.with_ansi(super::use_color()).try_init(),
    };
}

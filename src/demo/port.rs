//! Choosing a loopback port for a server that binds it later.
//!
//! The demo (and every test that starts Prometheus, Alertmanager or a
//! responder API) must know a port before the server behind it binds: the
//! Alertmanager config names the run's webhook before the run starts. The
//! usual trick, `bind("127.0.0.1:0")` then drop, returns a port from the
//! kernel's *ephemeral* range, the very range the kernel hands to every
//! outgoing connection meanwhile. With Prometheus scraping every second and
//! Alertmanager and kubectl connecting, one of those connections can take
//! the port in the gap, and the server then fails with "Address already in
//! use". CI saw exactly that: a shipped scenario exited 4 because its
//! responder API could not bind.
//!
//! So the port is chosen *below* the ephemeral range
//! (`/proc/sys/net/ipv4/ip_local_port_range`), where the kernel never
//! allocates by itself, starting at a point that differs per process and
//! stepping on per call, so parallel test processes and consecutive calls
//! do not hand out the same port. It is still checked free by binding it.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// Used when the kernel's range cannot be read (Linux's default).
const DEFAULT_EPHEMERAL_LOW: u16 = 32768;
/// Never below this: ports under 1024 need privileges, and the low
/// thousands hold well-known services.
const FLOOR: u16 = 10_000;

static CALLS: AtomicU32 = AtomicU32::new(0);
static START: OnceLock<u32> = OnceLock::new();

/// A loopback TCP port that is free now and that the kernel will not hand to
/// an outgoing connection. Falls back to a kernel-chosen port when no port
/// below the ephemeral range is free.
pub fn free_loopback_port() -> std::io::Result<u16> {
    let low = ephemeral_low().unwrap_or(DEFAULT_EPHEMERAL_LOW);
    if low > FLOOR {
        let span = u32::from(low - FLOOR);
        let start = *START.get_or_init(seed);
        // Each candidate takes the next counter value, so no two calls in a
        // process try the same port until the whole span has been used.
        for _ in 0..span {
            let offset = start.wrapping_add(CALLS.fetch_add(1, Ordering::Relaxed)) % span;
            let port = FLOOR + offset as u16; // offset < span <= u16::MAX
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return Ok(port);
            }
        }
    }
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The low end of the kernel's ephemeral port range.
fn ephemeral_low() -> Option<u16> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    parse_low(&text)
}

fn parse_low(text: &str) -> Option<u16> {
    text.split_whitespace().next()?.parse().ok()
}

/// A per-process starting point: the PID spreads concurrent test processes
/// apart, the clock spreads successive runs.
fn seed() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::process::id()
        .wrapping_mul(2_654_435_761)
        .wrapping_add(nanos / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_is_below_the_ephemeral_range_and_bindable() {
        let low = ephemeral_low().unwrap_or(DEFAULT_EPHEMERAL_LOW);
        let port = free_loopback_port().unwrap();
        if low > FLOOR {
            assert!((FLOOR..low).contains(&port), "{port} not in {FLOOR}..{low}");
        }
        std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    }

    #[test]
    fn consecutive_calls_hand_out_different_ports() {
        let a = free_loopback_port().unwrap();
        let b = free_loopback_port().unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn the_range_file_is_read_as_the_kernel_writes_it() {
        assert_eq!(parse_low("32768\t60999\n"), Some(32768));
        assert_eq!(parse_low("1024 65535"), Some(1024));
        assert_eq!(parse_low(""), None);
        assert_eq!(parse_low("x 1"), None);
    }
}

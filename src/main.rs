fn main() {
    one_malloc_arena();
    std::process::exit(gameday::cli::main());
}

/// glibc's malloc gives a thread that finds the main arena locked an arena
/// of its own (up to 8 per core on 64-bit; mallopt(3), `M_ARENA_MAX`), and
/// memory freed into one arena is kept there for that arena's threads.
/// `gameday run` has the main thread, two tokio workers and a helper or two;
/// with an arena each, its peak RSS held three partly empty arenas (7.4,
/// 6.3 and 5.2 MB for 11.5 MB of live heap: docs/performance.md, issue 13).
/// gameday waits on the network, not on malloc, so one arena costs nothing
/// measurable. Set before any thread exists, so every thread shares it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn one_malloc_arena() {
    // SAFETY: mallopt only changes a parameter of glibc's allocator, and
    // no other thread exists yet to allocate concurrently.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Other allocators (musl, macOS) do not keep an arena per thread.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn one_malloc_arena() {}

//! The drill clock: drill time = wall time elapsed × time scale, minus the
//! time spent paused (drill-v1.md, "Run semantics"). Every responder event
//! of a drill is stamped with the *drill timestamp*, the start plus the
//! drill time, so scoring and reports (which compute differences of
//! timestamps) work in drill time unchanged, whatever `--speed` is.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};

#[derive(Debug, Clone)]
pub struct DrillClock {
    scale: f64,
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    /// Drill time zero on the wall clock.
    started: Timestamp,
    origin: Instant,
    /// Wall time spent paused, not counting a pause in progress.
    paused: Duration,
    paused_since: Option<Instant>,
}

impl DrillClock {
    /// Starts the clock now; `scale` drill seconds pass per wall second.
    pub fn start(scale: f64) -> DrillClock {
        DrillClock {
            scale: if scale > 0.0 && scale.is_finite() {
                scale
            } else {
                1.0
            },
            state: Arc::new(Mutex::new(State {
                started: Timestamp::now(),
                origin: Instant::now(),
                paused: Duration::ZERO,
                paused_since: None,
            })),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The wall-clock start, which is also drill time zero.
    pub fn started(&self) -> Timestamp {
        self.state().started
    }

    /// Makes now drill time zero again (the drill's real start, once its
    /// API is up); a pause is lifted.
    pub fn restart(&self) {
        let mut s = self.state();
        s.started = Timestamp::now();
        s.origin = Instant::now();
        s.paused = Duration::ZERO;
        s.paused_since = None;
    }

    /// Drill time elapsed.
    pub fn elapsed(&self) -> Duration {
        let s = self.state();
        let now = s.paused_since.unwrap_or_else(Instant::now);
        let running = now
            .saturating_duration_since(s.origin)
            .saturating_sub(s.paused);
        running.mul_f64(self.scale)
    }

    /// Wall time since drill time zero, pauses included.
    pub fn wall_elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(self.state().origin)
    }

    /// The drill timestamp of now.
    pub fn now(&self) -> Timestamp {
        self.at(self.elapsed())
    }

    /// The drill timestamp of a drill time.
    pub fn at(&self, drill: Duration) -> Timestamp {
        let started = self.started();
        let d = SignedDuration::try_from(drill).unwrap_or(SignedDuration::MAX);
        started.checked_add(d).unwrap_or(started)
    }

    /// The drill time of a drill timestamp.
    pub fn seconds_of(&self, t: Timestamp) -> f64 {
        t.duration_since(self.started()).as_secs_f64()
    }

    /// Stops the clock; false when it was already stopped.
    pub fn pause(&self) -> bool {
        let mut s = self.state();
        if s.paused_since.is_some() {
            return false;
        }
        s.paused_since = Some(Instant::now());
        true
    }

    /// Restarts the clock; false when it was running.
    pub fn resume(&self) -> bool {
        let mut s = self.state();
        match s.paused_since.take() {
            Some(since) => {
                s.paused += since.elapsed();
                true
            }
            None => false,
        }
    }

    pub fn is_paused(&self) -> bool {
        self.state().paused_since.is_some()
    }

    /// Wall time until the clock reads `drill`: zero when it has passed,
    /// None while paused (nothing is due until the clock runs again).
    pub fn wall_until(&self, drill: Duration) -> Option<Duration> {
        if self.is_paused() {
            return None;
        }
        let left = drill.saturating_sub(self.elapsed());
        Some(left.div_f64(self.scale))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paused_clock_stands_still_and_resumes_where_it_stopped() {
        let c = DrillClock::start(100.0);
        std::thread::sleep(Duration::from_millis(20));
        assert!(c.pause());
        assert!(!c.pause(), "already paused");
        let at_pause = c.elapsed();
        assert!(at_pause >= Duration::from_secs(2), "{at_pause:?}");
        assert_eq!(c.wall_until(Duration::from_secs(3600)), None);
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(c.elapsed(), at_pause, "no drill time passes while paused");
        assert!(c.resume());
        let after = c.elapsed();
        assert!(
            after >= at_pause && after < at_pause + Duration::from_secs(2),
            "{after:?}"
        );
    }

    #[test]
    fn drill_timestamps_are_the_start_plus_drill_time() {
        let c = DrillClock::start(60.0);
        let t = c.at(Duration::from_secs(90));
        assert_eq!(c.seconds_of(t), 90.0);
        assert!(
            c.wall_until(Duration::from_secs(60))
                .is_some_and(|w| w <= Duration::from_secs(1))
        );
    }
}

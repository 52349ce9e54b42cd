//! Five-field cron expressions (`minute hour day-of-month month
//! day-of-week`), as a Kubernetes CronJob's `schedule` takes them, and the
//! next time one fires in a time zone.
//!
//! Why written here rather than taken from a crate: the maintained cron
//! crates (`cron`, `croner`) compute in chrono and need chrono-tz, a second
//! time-zone database beside jiff's; the parsing itself is small. What must
//! be right is the semantics, and they follow the scheduler that actually
//! runs the chart's CronJobs, kube-controller-manager's vendored
//! robfig/cron v3 (`spec.go`): fields are matched against the wall clock in
//! the zone, walking real instants, so a time that does not exist on the
//! spring-forward day never fires and one that happens twice on the
//! fall-back day fires twice; when both day fields are restricted either
//! may match (Vixie cron's rule). Names (`jan`, `mon`) and `7` for Sunday
//! are accepted; `@hourly`-style macros, `?`, `L`, `W` and `#` are not
//! (Kubernetes rejects the latter four too).

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};

/// A parsed cron expression: each field as a bit set of allowed values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Whether day-of-month / day-of-week were `*` (then the other decides).
    days_any: bool,
    weekdays_any: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CronError {
    pub message: String,
}

fn fail<T>(message: String) -> Result<T, CronError> {
    Err(CronError { message })
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// One field's name, range and value names, for parsing and messages.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// The value of `names[0]` (months count from 1, weekdays from 0).
    first_name: u32,
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
        first_name: 0,
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
        first_name: 0,
    },
    Field {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
        first_name: 0,
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &MONTHS,
        first_name: 1,
    },
    // 7 is Sunday too, as in Vixie cron and robfig/cron.
    Field {
        name: "day of week",
        min: 0,
        max: 7,
        names: &WEEKDAYS,
        first_name: 0,
    },
];

impl Field {
    fn value(&self, s: &str) -> Result<u32, CronError> {
        let lower = s.to_ascii_lowercase();
        if let Some(i) = self.names.iter().position(|n| *n == lower) {
            return Ok(i as u32 + self.first_name);
        }
        match s.parse::<u32>() {
            Ok(v) if (self.min..=self.max).contains(&v) => Ok(v),
            _ => fail(format!(
                "`{s}` is not a valid {} (expected {}-{}{})",
                self.name,
                self.min,
                self.max,
                if self.names.is_empty() {
                    String::new()
                } else {
                    format!(" or a name like `{}`", self.names[0])
                }
            )),
        }
    }

    /// `*`, `a`, `a-b`, each optionally `/step`, comma-separated.
    fn parse(&self, text: &str) -> Result<u64, CronError> {
        let mut bits = 0u64;
        for part in text.split(',') {
            let (range, step) = match part.split_once('/') {
                Some((r, s)) => match s.parse::<u32>() {
                    Ok(n) if n > 0 => (r, n),
                    _ => {
                        return fail(format!(
                            "`{s}` is not a valid step in the {} field",
                            self.name
                        ));
                    }
                },
                None => (part, 1),
            };
            let (lo, hi) = if range == "*" {
                (self.min, self.max)
            } else if let Some((a, b)) = range.split_once('-') {
                (self.value(a)?, self.value(b)?)
            } else {
                let v = self.value(range)?;
                // `5/15` means 5-max/15, as in robfig/cron.
                (v, if part.contains('/') { self.max } else { v })
            };
            if lo > hi {
                return fail(format!(
                    "`{range}` runs backwards in the {} field",
                    self.name
                ));
            }
            let mut v = lo;
            while v <= hi {
                bits |= 1 << v;
                v += step;
            }
        }
        Ok(bits)
    }
}

impl std::str::FromStr for Cron {
    type Err = CronError;

    fn from_str(text: &str) -> Result<Cron, CronError> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.len() != 5 {
            return fail(format!(
                "a cron expression has 5 fields (minute hour day-of-month month day-of-week), found {}",
                parts.len()
            ));
        }
        let mut bits = [0u64; 5];
        for (i, (field, part)) in FIELDS.iter().zip(&parts).enumerate() {
            bits[i] = field.parse(part)?;
        }
        // Sunday as 7 is Sunday as 0.
        let weekdays = (bits[4] | (bits[4] >> 7)) & 0x7f;
        Ok(Cron {
            minutes: bits[0],
            hours: bits[1],
            days: bits[2],
            months: bits[3],
            weekdays,
            days_any: parts[2].starts_with('*'),
            weekdays_any: parts[4].starts_with('*'),
        })
    }
}

fn has(bits: u64, v: i8) -> bool {
    bits & (1u64 << v) != 0
}

impl Cron {
    fn day_matches(&self, t: &DateTime) -> bool {
        let dom = has(self.days, t.day());
        let dow = has(self.weekdays, t.weekday().to_sunday_zero_offset());
        if self.days_any || self.weekdays_any {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// Whether the expression fires at this wall-clock minute.
    pub fn matches(&self, t: &DateTime) -> bool {
        has(self.months, t.month())
            && self.day_matches(t)
            && has(self.hours, t.hour())
            && has(self.minutes, t.minute())
    }

    /// The first instant strictly after `after` at which the expression
    /// fires in `tz`, or None within five years (e.g. `0 0 30 2 *`).
    ///
    /// Walks real instants and skips a whole day or hour when that field
    /// cannot match, like robfig/cron's `Next`; an hour of a DST gap is
    /// never seen, and a repeated hour is seen twice.
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Zoned> {
        let start = after.to_zoned(tz.clone());
        // The next whole minute.
        let mut t = start
            .with()
            .second(0)
            .subsec_nanosecond(0)
            .build()
            .ok()?
            .checked_add(1.minute())
            .ok()?;
        let limit = start.checked_add(5.years()).ok()?;
        while t < limit {
            let civil = t.datetime();
            if !has(self.months, civil.month()) || !self.day_matches(&civil) {
                t = t.tomorrow().ok()?.start_of_day().ok()?;
            } else if !has(self.hours, civil.hour()) {
                let minutes = 60 - i64::from(civil.minute());
                t = t.checked_add(minutes.minutes()).ok()?;
            } else if !has(self.minutes, civil.minute()) {
                t = t.checked_add(1.minute()).ok()?;
            } else {
                return Some(t);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cron(s: &str) -> Cron {
        s.parse().unwrap()
    }

    fn next(c: &str, after: &str, tz: &str) -> String {
        let tz = TimeZone::get(tz).unwrap();
        let at: Timestamp = after.parse().unwrap();
        cron(c).next_after(at, &tz).unwrap().to_string()
    }

    #[test]
    fn weekly_tuesday_ten_in_berlin() {
        // 2026-11-30 is a Monday.
        assert_eq!(
            next("0 10 * * 2", "2026-11-30T05:00:00Z", "Europe/Berlin"),
            "2026-12-01T10:00:00+01:00[Europe/Berlin]"
        );
        assert_eq!(
            next("0 10 * * tue", "2026-12-01T09:00:00Z", "Europe/Berlin"),
            "2026-12-08T10:00:00+01:00[Europe/Berlin]"
        );
    }

    #[test]
    fn a_time_in_the_spring_forward_gap_never_fires_and_the_repeated_hour_fires_twice() {
        // Berlin: 2026-03-29 02:00 -> 03:00; 2026-10-25 03:00 -> 02:00.
        assert_eq!(
            next("30 2 * * *", "2026-03-28T12:00:00Z", "Europe/Berlin"),
            "2026-03-30T02:30:00+02:00[Europe/Berlin]"
        );
        let first = next("30 2 * * *", "2026-10-24T12:00:00Z", "Europe/Berlin");
        assert_eq!(first, "2026-10-25T02:30:00+02:00[Europe/Berlin]");
        assert_eq!(
            next("30 2 * * *", "2026-10-25T00:30:00Z", "Europe/Berlin"),
            "2026-10-25T02:30:00+01:00[Europe/Berlin]"
        );
    }

    #[test]
    fn restricted_day_fields_match_either() {
        // The 1st, or any Monday; 2026-12-01 is a Tuesday, so Monday 7th
        // comes after the 1st.
        assert_eq!(
            next("0 0 1 * mon", "2026-11-30T12:00:00Z", "UTC"),
            "2026-12-01T00:00:00+00:00[UTC]"
        );
        assert_eq!(
            next("0 0 1 * mon", "2026-12-01T12:00:00Z", "UTC"),
            "2026-12-07T00:00:00+00:00[UTC]"
        );
    }

    #[test]
    fn steps_lists_ranges_names_and_sunday_as_seven() {
        let c = cron("*/15 9-17 * jan,dec 7");
        let sunday: DateTime = "2026-12-06T09:45".parse().unwrap();
        assert!(c.matches(&sunday));
        assert!(!c.matches(&"2026-12-06T09:50".parse().unwrap()));
        assert!(!c.matches(&"2026-12-07T09:45".parse().unwrap()));
        assert!(cron("5/20 * * * *").matches(&"2026-01-01T00:45".parse().unwrap()));
    }

    #[test]
    fn impossible_dates_give_none_rather_than_looping() {
        let tz = TimeZone::UTC;
        assert!(
            cron("0 0 30 2 *")
                .next_after(Timestamp::UNIX_EPOCH, &tz)
                .is_none()
        );
    }

    proptest::proptest! {
        /// The skipping walk finds what a walk over every minute finds,
        /// across DST changes (the brute force sees each real instant).
        #[test]
        fn next_after_equals_the_minute_by_minute_walk(
            secs in 1_774_000_000i64..1_793_000_000,
            expr in proptest::sample::select(vec![
                "30 2 * * *", "0 10 * * 2", "*/20 1-3 * * *", "15 */3 * * 1-5", "0 0 1 * mon", "45 23 * * 0",
            ]),
            zone in proptest::sample::select(vec!["Europe/Berlin", "America/New_York", "UTC"]),
        ) {
            let tz = TimeZone::get(zone).unwrap();
            let c = cron(expr);
            let from = Timestamp::from_second(secs).unwrap();
            let mut t = Timestamp::from_second(secs - secs.rem_euclid(60) + 60).unwrap();
            let brute = loop {
                let z = t.to_zoned(tz.clone());
                if c.matches(&z.datetime()) {
                    break z;
                }
                t += 1.minute();
            };
            proptest::prop_assert_eq!(c.next_after(from, &tz).unwrap(), brute);
        }
    }

    #[test]
    fn bad_expressions_say_which_field() {
        let e = |s: &str| s.parse::<Cron>().unwrap_err().message;
        assert!(e("0 10 * *").contains("5 fields"));
        assert!(e("61 * * * *").contains("minute"));
        assert!(e("0 25 * * *").contains("hour"));
        assert!(e("0 0 * foo *").contains("month"));
        assert!(e("0 0 * * 9").contains("day of week"));
        assert!(e("0 0 * * 5-1").contains("backwards"));
        assert!(e("*/0 * * * *").contains("step"));
    }
}

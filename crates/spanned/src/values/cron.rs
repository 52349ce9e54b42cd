//! Cron schedules exactly as Kubernetes reads a CronJob's `spec.schedule`:
//! robfig/cron v3's `ParseStandard`, which kube-apiserver's validation and
//! the CronJob controller both call (kubernetes
//! vendor/github.com/robfig/cron/v3/parser.go and spec.go).
//!
//! One parser serves both sides of gameday, because they must agree with
//! the real server and so with each other:
//! - gameday checks `calendar.schedules[].cron` in gameday.yaml, which the
//!   chart renders into CronJobs; a schedule gameday accepted and the
//!   API server refused would fail at `helm install`;
//! - the sandbox validates CronJobs with it (refusing with robfig's own
//!   words) and its CronJob controller schedules with it.
//!
//! What robfig/cron v3 does, and so what this does:
//! - five fields, `minute hour day-of-month month day-of-week`, split on
//!   whitespace; each a comma-separated list of `*`, `?`, `N`, `N-M`, each
//!   with an optional `/step` (`N/step` means `N-max/step`);
//! - month names `jan`..`dec` and weekday names `sun`..`sat` in any case;
//!   day-of-week runs 0-6, so `7` is refused ("end of range (7) above
//!   maximum (6)"), unlike Vixie cron;
//! - `*` or `?` without a step greater than 1 marks a field unrestricted;
//!   when either day field is, both must match, otherwise either may
//!   (`dayMatches` in spec.go);
//! - descriptors `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`,
//!   `@midnight`, `@hourly`, and `@every <Go duration>`;
//! - a `TZ=` or `CRON_TZ=` prefix naming the zone (the API server then
//!   refuses it on create: "use timeZone field instead").
//!
//! Next times walk real instants in the zone, so a time that does not
//! exist on the spring-forward day never fires and one that happens twice
//! on the fall-back day fires twice.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};

/// A schedule that does not parse: robfig/cron's message (what the API
/// server answers, and what the sandbox answers), the field it was found
/// in, and the same said for a person editing gameday.yaml (`Display`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.said())]
pub struct CronError {
    /// robfig/cron's own words, as the API server puts them in a 422.
    pub message: String,
    pub field: Option<&'static str>,
    /// The value and what the field takes, when that is clearer.
    pub plain: Option<String>,
}

impl CronError {
    fn said(&self) -> String {
        match (&self.plain, self.field) {
            (Some(p), _) => format!("{p}; kube-apiserver would answer: {}", self.message),
            (None, Some(f)) => format!("in the {f} field: {}", self.message),
            (None, None) => self.message.clone(),
        }
    }

    fn plain(mut self, text: String) -> Self {
        self.plain = Some(text);
        self
    }
}

fn fail<T>(field: Option<&'static str>, message: String) -> Result<T, CronError> {
    Err(CronError {
        message,
        field,
        plain: None,
    })
}

/// A parsed five-field (or descriptor) schedule: each field as a bit set of
/// allowed values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Whether day-of-month / day-of-week were unrestricted (robfig's star
    /// bit): then both day fields must match, otherwise either.
    days_star: bool,
    weekdays_star: bool,
}

/// What `ParseStandard` returns: a calendar schedule, or `@every`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    Calendar(Cron),
    /// `@every D`: D rounded down to whole seconds, at least one second.
    Every(std::time::Duration),
}

/// A parsed `spec.schedule`: the zone of a `TZ=`/`CRON_TZ=` prefix, if
/// any, and the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub zone: Option<String>,
    pub schedule: Schedule,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// One field's bounds and value names (spec.go's `bounds`).
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// The value of `names[0]`.
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
    Field {
        name: "day of week",
        min: 0,
        max: 6,
        names: &WEEKDAYS,
        first_name: 0,
    },
];

/// Go's `strconv.Atoi` with its error text, then robfig's negative check.
fn must_parse_int(expr: &str, field: &'static str) -> Result<u32, CronError> {
    let digits = expr.strip_prefix(['+', '-']).unwrap_or(expr);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return fail(
            Some(field),
            format!(
                "failed to parse int from {expr}: strconv.Atoi: parsing {expr:?}: invalid syntax"
            ),
        );
    }
    let Ok(n) = expr.parse::<i64>() else {
        return fail(
            Some(field),
            format!(
                "failed to parse int from {expr}: strconv.Atoi: parsing {expr:?}: value out of range"
            ),
        );
    };
    if n < 0 {
        return fail(
            Some(field),
            format!("negative number ({n}) not allowed: {expr}"),
        );
    }
    // Anything beyond u32 is beyond every field's maximum anyway.
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

impl Field {
    /// "`25` is not a valid hour (expected 0-23)".
    fn not_valid(&self, value: &str) -> String {
        let names = match self.names.first() {
            Some(n) => format!(" or a name like `{n}`"),
            None => String::new(),
        };
        let sunday = if self.names == WEEKDAYS && value == "7" {
            "; Sunday is 0, Kubernetes does not take 7"
        } else {
            ""
        };
        format!(
            "`{value}` is not a valid {} (expected {}-{}{names}{sunday})",
            self.name, self.min, self.max
        )
    }

    fn int_or_name(&self, expr: &str) -> Result<u32, CronError> {
        let lower = expr.to_ascii_lowercase();
        if let Some(i) = self.names.iter().position(|n| *n == lower) {
            return Ok(i as u32 + self.first_name);
        }
        must_parse_int(expr, self.name).map_err(|e| e.plain(self.not_valid(expr)))
    }

    /// `getRange`: the bits of one comma-separated part, and whether it
    /// sets the star bit.
    fn range(&self, expr: &str) -> Result<(u64, bool), CronError> {
        let err = |m: String| fail(Some(self.name), m);
        let range_and_step: Vec<&str> = expr.split('/').collect();
        let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
        let single = low_and_high.len() == 1;
        let (start, mut end, mut star) = if low_and_high[0] == "*" || low_and_high[0] == "?" {
            (self.min, self.max, true)
        } else {
            let start = self.int_or_name(low_and_high[0])?;
            let end = match low_and_high.len() {
                1 => start,
                2 => self.int_or_name(low_and_high[1])?,
                _ => return err(format!("too many hyphens: {expr}")),
            };
            (start, end, false)
        };
        let step = match range_and_step.len() {
            1 => 1,
            2 => {
                let step_text = range_and_step[1];
                let step = must_parse_int(step_text, self.name).map_err(|e| {
                    e.plain(format!(
                        "`{step_text}` is not a valid step in the {} field",
                        self.name
                    ))
                })?;
                if single {
                    end = self.max;
                }
                if step > 1 {
                    star = false;
                }
                step
            }
            _ => return err(format!("too many slashes: {expr}")),
        };
        if start < self.min {
            return err(format!(
                "beginning of range ({start}) below minimum ({}): {expr}",
                self.min
            ))
            .map_err(|e| e.plain(self.not_valid(&start.to_string())));
        }
        if end > self.max {
            return err(format!(
                "end of range ({end}) above maximum ({}): {expr}",
                self.max
            ))
            .map_err(|e| e.plain(self.not_valid(&end.to_string())));
        }
        if start > end {
            return err(format!(
                "beginning of range ({start}) beyond end of range ({end}): {expr}"
            ))
            .map_err(|e| {
                e.plain(format!(
                    "`{expr}` runs backwards in the {} field",
                    self.name
                ))
            });
        }
        if step == 0 {
            return err(format!("step of range should be a positive number: {expr}")).map_err(
                |e| {
                    e.plain(format!(
                        "`0` is not a valid step in the {} field",
                        self.name
                    ))
                },
            );
        }
        let mut bits = 0u64;
        let mut v = start;
        while v <= end {
            bits |= 1 << v;
            v = v.saturating_add(step);
        }
        Ok((bits, star))
    }

    /// `getField`: the union of the comma-separated parts (empty parts are
    /// skipped, as `strings.FieldsFunc` does).
    fn parse(&self, text: &str) -> Result<(u64, bool), CronError> {
        let mut bits = 0u64;
        let mut star = false;
        for part in text.split(',').filter(|p| !p.is_empty()) {
            let (b, s) = self.range(part)?;
            bits |= b;
            star |= s;
        }
        Ok((bits, star))
    }

    fn all(&self) -> u64 {
        (self.min..=self.max).fold(0, |b, v| b | (1 << v))
    }
}

/// `ParseStandard`: what kube-apiserver accepts in `spec.schedule`.
pub fn parse_standard(spec: &str) -> Result<Parsed, CronError> {
    if spec.is_empty() {
        return fail(None, "empty spec string".into());
    }
    let mut spec = spec;
    let mut zone = None;
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        let eq = spec.find('=').unwrap_or(0);
        let Some(space) = spec.find(' ') else {
            return fail(
                None,
                format!(
                    "provided bad location {}: missing schedule",
                    &spec[eq + 1..]
                ),
            );
        };
        let name = &spec[eq + 1..space];
        if TimeZone::get(name).is_err() {
            return fail(
                None,
                format!("provided bad location {name}: unknown time zone {name}"),
            );
        }
        zone = Some(name.to_string());
        spec = spec[space..].trim();
    }
    if spec.starts_with('@') {
        return descriptor(spec).map(|schedule| Parsed { zone, schedule });
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        let n = fields.len();
        return fail(
            None,
            format!("expected exactly 5 fields, found {n}: [{}]", fields.join(" ")),
        )
        .map_err(|e| {
            e.plain(format!(
                "a cron expression has 5 fields (minute hour day-of-month month day-of-week), found {n}"
            ))
        });
    }
    let mut bits = [0u64; 5];
    let mut stars = [false; 5];
    for (i, (field, text)) in FIELDS.iter().zip(&fields).enumerate() {
        (bits[i], stars[i]) = field.parse(text)?;
    }
    Ok(Parsed {
        zone,
        schedule: Schedule::Calendar(Cron {
            minutes: bits[0],
            hours: bits[1],
            days: bits[2],
            months: bits[3],
            weekdays: bits[4],
            days_star: stars[2],
            weekdays_star: stars[4],
        }),
    })
}

/// `parseDescriptor`.
fn descriptor(spec: &str) -> Result<Schedule, CronError> {
    let [_, hour, dom, month, dow] = &FIELDS;
    // robfig sets `1 << min` for a fixed field and `all` (with the star
    // bit) for a free one.
    let first = |f: &Field| (1u64 << f.min, false);
    let all = |f: &Field| (f.all(), true);
    let at = |hours: (u64, bool), days: (u64, bool), months: (u64, bool), weekdays: (u64, bool)| {
        Schedule::Calendar(Cron {
            minutes: 1,
            hours: hours.0,
            days: days.0,
            months: months.0,
            weekdays: weekdays.0,
            days_star: days.1,
            weekdays_star: weekdays.1,
        })
    };
    Ok(match spec {
        "@yearly" | "@annually" => at(first(hour), first(dom), first(month), all(dow)),
        "@monthly" => at(first(hour), first(dom), all(month), all(dow)),
        "@weekly" => at(first(hour), all(dom), all(month), first(dow)),
        "@daily" | "@midnight" => at(first(hour), all(dom), all(month), all(dow)),
        "@hourly" => at(all(hour), all(dom), all(month), all(dow)),
        _ => match spec.strip_prefix("@every ") {
            Some(text) => match go_duration(text) {
                // ConstantDelaySchedule: whole seconds, at least one.
                Some(d) => Schedule::Every(std::time::Duration::from_secs(d.as_secs().max(1))),
                None => {
                    return fail(
                        None,
                        format!("failed to parse duration {spec}: time: invalid duration {text:?}"),
                    );
                }
            },
            None => return fail(None, format!("unrecognized descriptor: {spec}")),
        },
    })
}

/// Go's `time.ParseDuration` for non-negative values: `1h30m`, `90s`,
/// `1.5h`, `300ms`; units ns, us, µs, ms, s, m, h.
fn go_duration(text: &str) -> Option<std::time::Duration> {
    if text == "0" {
        return Some(std::time::Duration::ZERO);
    }
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest.is_empty() {
        return None;
    }
    let mut nanos: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        nanos += value * scale;
    }
    (nanos.is_finite() && nanos < u64::MAX as f64)
        .then(|| std::time::Duration::from_nanos(nanos as u64))
}

fn has(bits: u64, v: i8) -> bool {
    u32::try_from(v).is_ok_and(|v| v < 64 && bits & (1u64 << v) != 0)
}

impl Cron {
    fn day_matches(&self, t: &DateTime) -> bool {
        let dom = has(self.days, t.day());
        let dow = has(self.weekdays, t.weekday().to_sunday_zero_offset());
        if self.days_star || self.weekdays_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// Whether the schedule fires at this wall-clock minute.
    pub fn matches(&self, t: &DateTime) -> bool {
        has(self.months, t.month())
            && self.day_matches(t)
            && has(self.hours, t.hour())
            && has(self.minutes, t.minute())
    }

    /// The first instant strictly after `after` at which the schedule fires
    /// in `tz`, or None within five years (e.g. `0 0 30 2 *`).
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

impl Schedule {
    /// The first activation strictly after `after`: robfig's `Next` for a
    /// calendar schedule; `after` plus the delay (from the whole second)
    /// for `@every`.
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Zoned> {
        match self {
            Schedule::Calendar(c) => c.next_after(after, tz),
            Schedule::Every(d) => {
                let whole = Timestamp::from_second(after.as_second()).ok()?;
                let span = jiff::SignedDuration::try_from(*d).ok()?;
                Some(whole.checked_add(span).ok()?.to_zoned(tz.clone()))
            }
        }
    }
}

/// A calendar schedule for gameday.yaml: what `ParseStandard` accepts,
/// less what makes no sense in a calendar of game days (`@every`, which
/// runs relative to the controller rather than the clock) or what the API
/// server refuses on create (`TZ=`; gameday.yaml has `calendar.timeZone`).
impl std::str::FromStr for Cron {
    type Err = CronError;

    fn from_str(text: &str) -> Result<Cron, CronError> {
        if text.contains("TZ") {
            return fail(
                None,
                "cannot use TZ or CRON_TZ in schedule, use the time zone setting instead".into(),
            );
        }
        match parse_standard(text)?.schedule {
            Schedule::Calendar(c) => Ok(c),
            Schedule::Every(_) => fail(
                None,
                "`@every` counts from when the controller started, not on the calendar; write five fields".into(),
            ),
        }
    }
}

#[cfg(test)]
mod tests;

//! The `schedules:` and `calendar:` sections of gameday.yaml (docs/schedule.md):
//! which scenarios and drills run on a cron schedule, and when a scheduled
//! run must not happen (blackouts, change freezes, on-call fatigue).
//!
//! The Helm chart renders this same YAML into its ConfigMap, one CronJob per
//! schedule, so the shape is a contract. Loading checks every string that
//! carries a format (cron, zone, hours, dates, instants) with a
//! `file:line:col` diagnostic; `crate::calendar` then evaluates it.

use std::path::PathBuf;

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diag::{Diagnostic, Source};
use crate::values::cron::Cron;
use crate::values::is_dns_label;
use crate::yaml::{Node, Step, Target};

/// One scheduled scenario or drill: a CronJob `gameday-<name>` in the chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Schedule {
    /// A DNS label; the CronJob is `gameday-<name>`.
    pub name: String,
    /// Scenario or drill file, relative to the config file's directory.
    pub file: PathBuf,
    /// Five-field cron, in `calendar.timeZone`.
    pub cron: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Calendar {
    /// IANA time zone of the cron schedules and the blackout windows. Default UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// A run inside any of them is skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blackouts: Vec<Blackout>,
    /// Change freezes: absolute intervals, with the reason shown on a skip.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub freezes: Vec<Freeze>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fatigue: Option<Fatigue>,
}

/// A recurring window in the calendar's zone. The conditions given all
/// hold together: `days` and `hours` make "weeknights", `dates` alone a holiday.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Blackout {
    pub name: String,
    /// Weekdays (`mon` .. `sun`). With `hours` that wrap midnight, the day
    /// is the one the window starts on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<Weekday>,
    /// `HH:MM-HH:MM`, start inclusive, end exclusive; may wrap midnight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<String>,
    /// `[from, to]` as `YYYY-MM-DD`, both inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dates: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    pub fn to_jiff(self) -> jiff::civil::Weekday {
        use jiff::civil::Weekday as W;
        match self {
            Weekday::Mon => W::Monday,
            Weekday::Tue => W::Tuesday,
            Weekday::Wed => W::Wednesday,
            Weekday::Thu => W::Thursday,
            Weekday::Fri => W::Friday,
            Weekday::Sat => W::Saturday,
            Weekday::Sun => W::Sunday,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Freeze {
    pub name: String,
    /// RFC 3339 instant, inclusive.
    pub from: String,
    /// RFC 3339 instant, inclusive.
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Fatigue {
    /// Skip a run that would page someone paged in the last this many hours.
    pub hours: u32,
}

/// `HH:MM-HH:MM` as two wall-clock times.
pub fn parse_hours(s: &str) -> Option<(Time, Time)> {
    let (a, b) = s.split_once('-')?;
    let t = |x: &str| {
        let (h, m) = x.trim().split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        Time::new(h.parse().ok()?, m.parse().ok()?, 0, 0).ok()
    };
    Some((t(a)?, t(b)?))
}

/// `[from, to]` as two dates, from not after to.
pub fn parse_dates(v: &[String]) -> Option<(Date, Date)> {
    match v {
        [a, b] => {
            let (a, b): (Date, Date) = (a.parse().ok()?, b.parse().ok()?);
            (a <= b).then_some((a, b))
        }
        _ => None,
    }
}

impl Calendar {
    /// The zone, UTC when none is set. A name that loading accepted resolves.
    pub fn zone(&self) -> Result<TimeZone, jiff::Error> {
        match &self.time_zone {
            Some(name) => TimeZone::get(name),
            None => Ok(TimeZone::UTC),
        }
    }
}

/// Collects one section's errors at their YAML positions.
struct Checker<'a, 'b> {
    root: &'a Node,
    src: &'a Source<'b>,
    diags: &'a mut Vec<Diagnostic>,
}

impl Checker<'_, '_> {
    fn err(&mut self, path: &[Step<'_>], target: Target, msg: String, hint: &str) {
        let d = self
            .src
            .error(self.root.locate(path, target), msg)
            .with_hint(hint);
        self.diags.push(d);
    }
}

/// The rules of `schedules:` and `calendar:` beyond their schema.
pub fn check(
    schedules: &[Schedule],
    calendar: Option<&Calendar>,
    root: &Node,
    src: &Source<'_>,
    diags: &mut Vec<Diagnostic>,
) {
    let mut c = Checker { root, src, diags };
    check_schedules(schedules, &mut c);
    if let Some(cal) = calendar {
        check_calendar(cal, &mut c);
    }
}

fn check_schedules(schedules: &[Schedule], c: &mut Checker<'_, '_>) {
    for (i, s) in schedules.iter().enumerate() {
        let at = |key| [Step::Key("schedules"), Step::Index(i), Step::Key(key)];
        // CronJob names are at most 52 characters (the Job controller adds
        // an 11-character suffix); `gameday-` takes 8.
        if !is_dns_label(&s.name) || s.name.len() > 44 {
            c.err(
                &at("name"),
                Target::Value,
                format!(
                    "schedule name `{}` is not a DNS label of at most 44 characters",
                    s.name
                ),
                "lowercase letters, digits and '-'; the CronJob is named gameday-<name>",
            );
        }
        if schedules[..i].iter().any(|o| o.name == s.name) {
            c.err(
                &at("name"),
                Target::Value,
                format!("schedule `{}` is defined twice", s.name),
                "each schedule needs its own name",
            );
        }
        if let Err(e) = s.cron.parse::<Cron>() {
            c.err(
                &at("cron"),
                Target::Value,
                format!("invalid cron `{}`: {e}", s.cron),
                "five fields, e.g. \"0 10 * * 2\" for Tuesdays at 10:00 in calendar.timeZone",
            );
        }
    }
}

fn check_calendar(cal: &Calendar, c: &mut Checker<'_, '_>) {
    if let Some(tz) = &cal.time_zone
        && TimeZone::get(tz).is_err()
    {
        c.err(
            &[Step::Key("calendar"), Step::Key("timeZone")],
            Target::Value,
            format!("`{tz}` is not an IANA time zone"),
            "e.g. Europe/Berlin, America/New_York or UTC",
        );
    }
    for (i, b) in cal.blackouts.iter().enumerate() {
        check_blackout(b, i, c);
    }
    for (i, f) in cal.freezes.iter().enumerate() {
        let at = |key| {
            [
                Step::Key("calendar"),
                Step::Key("freezes"),
                Step::Index(i),
                Step::Key(key),
            ]
        };
        let mut parsed = [None, None];
        for (slot, (key, value)) in [("from", &f.from), ("to", &f.to)].into_iter().enumerate() {
            match value.parse::<Timestamp>() {
                Ok(t) => parsed[slot] = Some(t),
                Err(_) => c.err(
                    &at(key),
                    Target::Value,
                    format!("`{value}` is not an RFC 3339 instant"),
                    "e.g. \"2026-11-26T00:00:00Z\" or \"2026-11-26T00:00:00+01:00\"",
                ),
            }
        }
        if let [Some(from), Some(to)] = parsed
            && from > to
        {
            c.err(
                &at("to"),
                Target::Value,
                format!("freeze `{}` ends before it starts", f.name),
                "`to` must not be before `from`",
            );
        }
    }
    if let Some(f) = &cal.fatigue
        && f.hours == 0
    {
        c.err(
            &[
                Step::Key("calendar"),
                Step::Key("fatigue"),
                Step::Key("hours"),
            ],
            Target::Value,
            "`fatigue.hours` must be at least 1".into(),
            "leave `fatigue` out to run whoever was paged",
        );
    }
}

fn check_blackout(b: &Blackout, i: usize, c: &mut Checker<'_, '_>) {
    let at = |key| {
        [
            Step::Key("calendar"),
            Step::Key("blackouts"),
            Step::Index(i),
            Step::Key(key),
        ]
    };
    if b.days.is_empty() && b.hours.is_none() && b.dates.is_none() {
        c.err(
            &[
                Step::Key("calendar"),
                Step::Key("blackouts"),
                Step::Index(i),
            ],
            Target::Value,
            format!("blackout `{}` has no window", b.name),
            "give `days`, `hours` or `dates`",
        );
    }
    if let Some(h) = &b.hours
        && parse_hours(h).is_none_or(|(a, z)| a == z)
    {
        c.err(
            &at("hours"),
            Target::Value,
            format!("`{h}` is not a window of hours"),
            "HH:MM-HH:MM with two different times, e.g. \"18:00-09:00\" (may wrap midnight)",
        );
    }
    if let Some(d) = &b.dates
        && parse_dates(d).is_none()
    {
        c.err(
            &at("dates"),
            Target::Value,
            "`dates` must be [from, to]: two YYYY-MM-DD dates, from not after to".into(),
            "e.g. [\"2026-12-24\", \"2026-12-31\"] (both inclusive)",
        );
    }
}

//! The calendar of scheduled runs (docs/schedule.md): given an instant,
//! whether a scheduled run may start then, or is skipped and why (a blackout
//! window, a change freeze, on-call fatigue); and when each schedule fires
//! next.
//!
//! Pure: the config's `calendar:` and `schedules:`, an instant and the
//! recent pages go in; a verdict comes out. Reading the clock, the history
//! and the scenario files is the CLI's job, so every rule here is tested
//! with fixed instants. Windows are matched on the wall clock of the
//! calendar's zone (jiff's tzdb), so "18:00-09:00" in Europe/Berlin means
//! the same local hours on both sides of a DST change.

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};
use serde::Serialize;

use crate::config::{self, calendar::parse_dates, calendar::parse_hours};
use crate::values::cron::Cron;

/// Why the config's calendar could not be built. Loading the config checks
/// all of this, so it only happens for a config built in code.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("calendar.timeZone: {0}")]
    Zone(#[from] jiff::Error),
    #[error("{what} `{name}`: {message}")]
    Invalid {
        what: &'static str,
        name: String,
        message: String,
    },
}

fn invalid(what: &'static str, name: &str, message: impl Into<String>) -> CalendarError {
    CalendarError::Invalid {
        what,
        name: name.to_string(),
        message: message.into(),
    }
}

/// A recurring blackout, parsed.
#[derive(Debug, Clone)]
struct Blackout {
    name: String,
    days: Vec<Weekday>,
    hours: Option<(Time, Time)>,
    dates: Option<(Date, Date)>,
}

#[derive(Debug, Clone)]
struct Freeze {
    name: String,
    from: Timestamp,
    to: Timestamp,
    reason: Option<String>,
}

/// The rules of `calendar:`, ready to evaluate.
#[derive(Debug, Clone)]
pub struct Calendar {
    tz: TimeZone,
    blackouts: Vec<Blackout>,
    freezes: Vec<Freeze>,
    fatigue_hours: Option<u32>,
}

/// Which rule skipped a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Rule {
    Blackout,
    Freeze,
    Fatigue,
}

/// A skipped run: the rule, the window's name and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skip {
    pub rule: Rule,
    pub window: String,
    pub reason: String,
}

/// A run that paged the on-call people, from the history.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub run_id: String,
    pub scenario: String,
    pub at: Timestamp,
}

impl Blackout {
    /// The day the window that holds `t` started on, if one holds it: with
    /// hours that wrap midnight, 02:00 belongs to the previous evening.
    fn window_day(&self, t: &DateTime) -> Option<Date> {
        let Some((start, end)) = self.hours else {
            return Some(t.date());
        };
        let now = t.time();
        if start < end {
            (start <= now && now < end).then(|| t.date())
        } else if now >= start {
            Some(t.date())
        } else if now < end {
            t.date().yesterday().ok()
        } else {
            None
        }
    }

    fn holds(&self, t: &DateTime) -> bool {
        let Some(day) = self.window_day(t) else {
            return false;
        };
        (self.days.is_empty() || self.days.contains(&day.weekday()))
            && self.dates.is_none_or(|(from, to)| from <= day && day <= to)
    }

    fn describe(&self, tz: &str) -> String {
        let mut parts = Vec::new();
        if !self.days.is_empty() {
            let days: Vec<String> = self
                .days
                .iter()
                .map(|d| format!("{d:?}")[..3].to_lowercase())
                .collect();
            parts.push(days.join(","));
        }
        if let Some((a, b)) = self.hours {
            parts.push(format!("{}-{}", a.strftime("%H:%M"), b.strftime("%H:%M")));
        }
        if let Some((a, b)) = self.dates {
            parts.push(format!("{a}..{b}"));
        }
        format!("blackout {} ({} {tz})", self.name, parts.join(" "))
    }
}

impl Calendar {
    /// Builds the calendar of the config (UTC with no rules when absent).
    pub fn from_config(c: Option<&config::Calendar>) -> Result<Calendar, CalendarError> {
        let Some(c) = c else {
            return Ok(Calendar {
                tz: TimeZone::UTC,
                blackouts: Vec::new(),
                freezes: Vec::new(),
                fatigue_hours: None,
            });
        };
        let blackouts = c.blackouts.iter().map(blackout).collect::<Result<_, _>>()?;
        let freezes = c.freezes.iter().map(freeze).collect::<Result<_, _>>()?;
        Ok(Calendar {
            tz: c.zone()?,
            blackouts,
            freezes,
            fatigue_hours: c.fatigue.as_ref().map(|f| f.hours),
        })
    }

    pub fn zone(&self) -> &TimeZone {
        &self.tz
    }

    /// The zone's IANA name, or `UTC`.
    pub fn zone_name(&self) -> &str {
        self.tz.iana_name().unwrap_or("UTC")
    }

    /// Since when a page counts for the fatigue rule at `at`; None when
    /// the calendar has no fatigue rule.
    pub fn fatigue_since(&self, at: Timestamp) -> Option<Timestamp> {
        let hours = i64::from(self.fatigue_hours?);
        at.checked_sub(hours.hours()).ok()
    }

    /// The blackout or freeze that holds `at`, freezes first (they carry a
    /// reason someone wrote for this occasion).
    pub fn window_at(&self, at: Timestamp) -> Option<Skip> {
        if let Some(f) = self.freezes.iter().find(|f| f.from <= at && at <= f.to) {
            let why = f
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            return Some(Skip {
                rule: Rule::Freeze,
                window: f.name.clone(),
                reason: format!("change freeze {} until {}{why}", f.name, f.to),
            });
        }
        let local = at.to_zoned(self.tz.clone()).datetime();
        let b = self.blackouts.iter().find(|b| b.holds(&local))?;
        Some(Skip {
            rule: Rule::Blackout,
            window: b.name.clone(),
            reason: b.describe(self.zone_name()),
        })
    }

    /// Whether a run may start at `at`. `pages` are the recent pages of the
    /// people this run would page (empty when it pages nobody); one inside
    /// the fatigue window skips it.
    pub fn check(&self, at: Timestamp, pages: &[Page]) -> Option<Skip> {
        if let Some(skip) = self.window_at(at) {
            return Some(skip);
        }
        let since = self.fatigue_since(at)?;
        let hours = self.fatigue_hours.unwrap_or_default();
        let page = pages
            .iter()
            .filter(|p| since <= p.at && p.at <= at)
            .max_by_key(|p| p.at)?;
        Some(Skip {
            rule: Rule::Fatigue,
            window: "fatigue".into(),
            reason: format!(
                "on-call fatigue: run {} ({}) at {} paged the on-call, within the last {hours}h",
                page.run_id, page.scenario, page.at
            ),
        })
    }
}

fn blackout(b: &config::Blackout) -> Result<Blackout, CalendarError> {
    let hours = match &b.hours {
        Some(h) => Some(parse_hours(h).ok_or_else(|| invalid("blackout", &b.name, "bad hours"))?),
        None => None,
    };
    let dates = match &b.dates {
        Some(d) => Some(parse_dates(d).ok_or_else(|| invalid("blackout", &b.name, "bad dates"))?),
        None => None,
    };
    Ok(Blackout {
        name: b.name.clone(),
        days: b.days.iter().map(|d| d.to_jiff()).collect(),
        hours,
        dates,
    })
}

fn freeze(f: &config::Freeze) -> Result<Freeze, CalendarError> {
    let at = |s: &str| {
        s.parse::<Timestamp>()
            .map_err(|e| invalid("freeze", &f.name, e.to_string()))
    };
    Ok(Freeze {
        name: f.name.clone(),
        from: at(&f.from)?,
        to: at(&f.to)?,
        reason: f.reason.clone(),
    })
}

/// One schedule, its cron parsed.
#[derive(Debug, Clone)]
pub struct Scheduled {
    pub name: String,
    pub cron: Cron,
}

impl Scheduled {
    pub fn from_config(s: &config::Schedule) -> Result<Scheduled, CalendarError> {
        let cron = s
            .cron
            .parse()
            .map_err(|e: crate::values::cron::CronError| {
                invalid("schedule", &s.name, e.to_string())
            })?;
        Ok(Scheduled {
            name: s.name.clone(),
            cron,
        })
    }
}

/// One upcoming run of a schedule.
#[derive(Debug, Clone)]
pub struct Upcoming {
    pub schedule: String,
    pub at: Zoned,
}

/// The next `count` runs across `schedules` strictly after `from`, in
/// time order (ties by schedule order).
pub fn upcoming(
    schedules: &[Scheduled],
    tz: &TimeZone,
    from: Timestamp,
    count: usize,
) -> Vec<Upcoming> {
    let mut all = Vec::new();
    for s in schedules {
        let mut after = from;
        for _ in 0..count {
            let Some(at) = s.cron.next_after(after, tz) else {
                break;
            };
            after = at.timestamp();
            all.push(Upcoming {
                schedule: s.name.clone(),
                at,
            });
        }
    }
    // Stable: equal instants keep the schedules' order.
    all.sort_by_key(|u| u.at.timestamp());
    all.truncate(count);
    all
}

#[cfg(test)]
mod tests;

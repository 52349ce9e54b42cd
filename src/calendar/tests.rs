//! The calendar's rules at fixed instants: windows that wrap midnight, DST
//! changes, inclusive dates, freezes, zones and fatigue.

use proptest::prelude::*;

use super::*;
use crate::config::Config;

const BERLIN: &str = "calendar:
  timeZone: Europe/Berlin
  blackouts:
    - {name: weekend, days: [sat, sun]}
    - {name: nights, hours: \"18:00-09:00\"}
    - {name: year-end, dates: [\"2026-12-24\", \"2026-12-31\"]}
    - {name: friday-evening, days: [fri], hours: \"16:00-23:00\"}
  freezes:
    - {name: black-friday, from: \"2026-11-26T00:00:00Z\", to: \"2026-11-30T23:59:59Z\", reason: peak trading}
  fatigue: {hours: 24}
";

fn calendar(text: &str) -> Calendar {
    let config = Config::load_str("gameday.yaml", text).unwrap();
    Calendar::from_config(config.calendar.as_ref()).unwrap()
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn window(c: &Calendar, t: &str) -> Option<String> {
    c.window_at(at(t)).map(|s| s.window)
}

#[test]
fn hours_that_wrap_midnight_hold_on_both_sides_of_it() {
    let c = calendar(BERLIN);
    // Tuesday 1 Dec 2026, CET (+01:00).
    assert_eq!(window(&c, "2026-12-01T16:59:00Z").as_deref(), None);
    assert_eq!(
        window(&c, "2026-12-01T17:00:00Z").as_deref(),
        Some("nights")
    );
    assert_eq!(
        window(&c, "2026-12-01T23:30:00Z").as_deref(),
        Some("nights")
    );
    assert_eq!(
        window(&c, "2026-12-02T07:59:00Z").as_deref(),
        Some("nights")
    );
    // 09:00 local is the end, exclusive.
    assert_eq!(window(&c, "2026-12-02T08:00:00Z").as_deref(), None);
}

#[test]
fn the_night_window_follows_local_time_across_the_dst_change() {
    let c = calendar(BERLIN);
    // Friday 27 March (CET, +01:00): 08:30Z is 09:30 local, open.
    assert_eq!(window(&c, "2026-03-27T08:30:00Z"), None);
    assert_eq!(
        window(&c, "2026-03-27T07:59:00Z").as_deref(),
        Some("nights")
    );
    // Monday 30 March (CEST, +02:00): 07:30Z is 09:30 local, open; a
    // fixed +01:00 would call it 08:30 and skip it.
    assert_eq!(window(&c, "2026-03-30T07:30:00Z"), None);
    assert_eq!(
        window(&c, "2026-03-30T06:59:00Z").as_deref(),
        Some("nights")
    );
    // Evening start moves with it: 16:00Z is 18:00 CEST.
    assert_eq!(window(&c, "2026-03-30T15:59:00Z"), None);
    assert_eq!(
        window(&c, "2026-03-30T16:00:00Z").as_deref(),
        Some("nights")
    );
    // And back in October (CET again from 25 Oct): 17:00Z is 18:00 CET.
    assert_eq!(window(&c, "2026-10-26T16:30:00Z"), None);
    assert_eq!(
        window(&c, "2026-10-26T17:00:00Z").as_deref(),
        Some("nights")
    );
}

#[test]
fn a_wrapped_window_belongs_to_the_day_it_starts() {
    let c = calendar(
        "calendar:\n  timeZone: UTC\n  blackouts:\n    - {name: fri-night, days: [fri], hours: \"22:00-06:00\"}\n",
    );
    // Friday 4 Dec 2026 23:00 and Saturday 02:00 are Friday's night...
    assert!(c.window_at(at("2026-12-04T23:00:00Z")).is_some());
    assert!(c.window_at(at("2026-12-05T02:00:00Z")).is_some());
    // ...Friday 02:00 is Thursday's, and Saturday 23:00 is Saturday's.
    assert!(c.window_at(at("2026-12-04T02:00:00Z")).is_none());
    assert!(c.window_at(at("2026-12-05T23:00:00Z")).is_none());
}

#[test]
fn dates_are_inclusive_in_the_calendar_zone() {
    let c = calendar(BERLIN);
    // 24 Dec 00:00 Berlin is 23 Dec 23:00Z: inside (a Wednesday noon
    // would be open otherwise, so check midday too).
    assert_eq!(window(&c, "2026-12-23T11:00:00Z"), None);
    assert_eq!(
        window(&c, "2026-12-24T11:00:00Z").as_deref(),
        Some("year-end")
    );
    assert_eq!(
        window(&c, "2026-12-31T11:00:00Z").as_deref(),
        Some("year-end")
    );
    assert_eq!(window(&c, "2027-01-01T11:00:00Z").as_deref(), None);
    let utc = calendar(
        "calendar:\n  blackouts:\n    - {name: x, dates: [\"2026-12-24\", \"2026-12-24\"]}\n",
    );
    assert!(utc.window_at(at("2026-12-23T23:30:00Z")).is_none());
    assert!(utc.window_at(at("2026-12-24T23:59:59Z")).is_some());
}

#[test]
fn days_and_hours_hold_together() {
    let c = calendar(BERLIN);
    // Friday 4 Dec 15:30Z is 16:30 local: friday-evening.
    assert_eq!(
        window(&c, "2026-12-04T15:30:00Z").as_deref(),
        Some("friday-evening")
    );
    // Thursday 3 Dec at the same time is open.
    assert_eq!(window(&c, "2026-12-03T15:30:00Z"), None);
    // Saturday at noon: the weekend.
    assert_eq!(
        window(&c, "2026-12-05T11:00:00Z").as_deref(),
        Some("weekend")
    );
}

#[test]
fn a_freeze_is_inclusive_and_says_its_reason() {
    let c = calendar(BERLIN);
    let s = c.window_at(at("2026-11-30T23:59:59Z")).unwrap();
    assert_eq!(s.rule, Rule::Freeze);
    assert!(s.reason.contains("black-friday"), "{}", s.reason);
    assert!(s.reason.contains("peak trading"), "{}", s.reason);
    assert_eq!(window(&c, "2026-12-01T10:00:00Z"), None);
}

#[test]
fn fatigue_skips_only_for_a_page_inside_the_window() {
    let c = calendar(BERLIN);
    let now = at("2026-12-01T10:00:00Z");
    let page = |t: &str| Page {
        run_id: "r1".into(),
        scenario: "checkout".into(),
        at: at(t),
    };
    assert_eq!(c.check(now, &[]), None);
    assert_eq!(c.check(now, &[page("2026-11-30T09:59:59Z")]), None);
    let s = c.check(now, &[page("2026-11-30T10:00:00Z")]).unwrap();
    assert_eq!(s.rule, Rule::Fatigue);
    assert!(s.reason.contains("r1 (checkout)"), "{}", s.reason);
    // No fatigue rule: pages do not matter.
    let none = calendar("calendar: {timeZone: UTC}\n");
    assert_eq!(none.check(now, &[page("2026-12-01T09:00:00Z")]), None);
}

#[test]
fn upcoming_merges_schedules_in_time_order() {
    let tz = TimeZone::get("Europe/Berlin").unwrap();
    let s = |name: &str, cron: &str| Scheduled {
        name: name.into(),
        cron: cron.parse().unwrap(),
    };
    let runs = upcoming(
        &[s("weekly", "0 10 * * 2"), s("daily", "30 9 * * *")],
        &tz,
        at("2026-11-30T05:00:00Z"),
        3,
    );
    let got: Vec<String> = runs
        .iter()
        .map(|u| format!("{} {}", u.schedule, u.at.datetime()))
        .collect();
    assert_eq!(
        got,
        [
            "daily 2026-11-30T09:30:00",
            "daily 2026-12-01T09:30:00",
            "weekly 2026-12-01T10:00:00"
        ]
    );
}

proptest! {
    /// A wrapped window holds exactly when the local time is at or after
    /// its start or before its end, in any zone, any day of the year.
    #[test]
    fn wrapped_hours_hold_iff_outside_the_open_part(
        secs in 1_700_000_000i64..1_900_000_000,
        zone in prop::sample::select(vec!["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]),
    ) {
        let c = calendar(&format!(
            "calendar:\n  timeZone: {zone}\n  blackouts:\n    - {{name: nights, hours: \"18:00-09:00\"}}\n"
        ));
        let t = Timestamp::from_second(secs).unwrap();
        let local = t.to_zoned(TimeZone::get(zone).unwrap()).time();
        let inside = local >= Time::constant(18, 0, 0, 0) || local < Time::constant(9, 0, 0, 0);
        prop_assert_eq!(c.window_at(t).is_some(), inside);
    }

    /// The next run is after `from` and on the cron's wall-clock minute.
    #[test]
    fn next_runs_are_after_from_and_match_their_cron(secs in 1_700_000_000i64..1_900_000_000) {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let cron: Cron = "15 */3 * * 1-5".parse().unwrap();
        let from = Timestamp::from_second(secs).unwrap();
        let next = cron.next_after(from, &tz).unwrap();
        prop_assert!(next.timestamp() > from);
        prop_assert!(cron.matches(&next.datetime()));
    }
}

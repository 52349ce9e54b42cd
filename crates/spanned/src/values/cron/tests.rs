use super::*;

fn cron(s: &str) -> Cron {
    s.parse().unwrap()
}

fn calendar(s: &str) -> Cron {
    match parse_standard(s).unwrap().schedule {
        Schedule::Calendar(c) => c,
        Schedule::Every(d) => panic!("{s} is @every {d:?}"),
    }
}

/// The message kube-apiserver puts after `spec.schedule: Invalid value`.
fn refusal(s: &str) -> String {
    parse_standard(s).unwrap_err().message
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

/// robfig clears the star bit when a `*` has a step above 1, so `*/2` in
/// day-of-month is a restriction: with Mondays it means "odd days OR
/// Mondays", not "odd Mondays".
#[test]
fn a_stepped_star_restricts_the_day_field() {
    let c = calendar("0 0 */2 * mon");
    // 2026-12-07 is a Monday and an odd day; 2026-12-14 a Monday, even.
    assert!(c.matches(&"2026-12-14T00:00".parse().unwrap()), "a Monday");
    assert!(
        c.matches(&"2026-12-03T00:00".parse().unwrap()),
        "an odd day"
    );
    assert!(
        !c.matches(&"2026-12-02T00:00".parse().unwrap()),
        "even Wednesday"
    );
    // `*/1` and `?` are unrestricted: both fields must match.
    for free in ["*/1", "?", "*"] {
        let c = calendar(&format!("0 0 {free} * mon"));
        assert!(!c.matches(&"2026-12-03T00:00".parse().unwrap()), "{free}");
        assert!(c.matches(&"2026-12-14T00:00".parse().unwrap()), "{free}");
    }
}

#[test]
fn steps_lists_ranges_and_names() {
    let c = cron("*/15 9-17 * jan,DEC sun");
    let sunday: DateTime = "2026-12-06T09:45".parse().unwrap();
    assert!(c.matches(&sunday));
    assert!(!c.matches(&"2026-12-06T09:50".parse().unwrap()));
    assert!(!c.matches(&"2026-12-07T09:45".parse().unwrap()));
    assert!(cron("5/20 * * * *").matches(&"2026-01-01T00:45".parse().unwrap()));
    // Empty list parts are skipped, as strings.FieldsFunc does.
    assert_eq!(calendar("1,,2 * * * *"), calendar("1,2 * * * *"));
}

#[test]
fn descriptors_are_their_five_field_forms() {
    for (d, f) in [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
    ] {
        assert_eq!(calendar(d), calendar(f), "{d}");
    }
    assert_eq!(
        parse_standard("@every 1h30m").unwrap().schedule,
        Schedule::Every(std::time::Duration::from_secs(5400))
    );
    assert_eq!(
        parse_standard("@every 300ms").unwrap().schedule,
        Schedule::Every(std::time::Duration::from_secs(1)),
        "at least a second"
    );
    assert_eq!(
        refusal("@every 5x"),
        "failed to parse duration @every 5x: time: invalid duration \"5x\""
    );
    assert_eq!(
        refusal("@fortnightly"),
        "unrecognized descriptor: @fortnightly"
    );
}

#[test]
fn a_zone_prefix_is_read_and_checked() {
    let p = parse_standard("CRON_TZ=Europe/Berlin 0 10 * * *").unwrap();
    assert_eq!(p.zone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(p.schedule, Schedule::Calendar(calendar("0 10 * * *")));
    assert_eq!(
        refusal("TZ=Mars/Olympus 0 10 * * *"),
        "provided bad location Mars/Olympus: unknown time zone Mars/Olympus"
    );
    // gameday.yaml has calendar.timeZone; the API server refuses TZ= on
    // create, so the calendar does too.
    assert!("TZ=UTC 0 10 * * *".parse::<Cron>().is_err());
    assert!("@every 1h".parse::<Cron>().is_err());
}

/// The words kube-apiserver answers with (robfig/cron v3's), for the
/// sandbox's 422s.
#[test]
fn refusals_are_robfigs_words() {
    assert_eq!(
        refusal("61 * * * *"),
        "end of range (61) above maximum (59): 61"
    );
    assert_eq!(
        refusal("* * *"),
        "expected exactly 5 fields, found 3: [* * *]"
    );
    assert_eq!(
        refusal("0 0 * * 7"),
        "end of range (7) above maximum (6): 7"
    );
    assert_eq!(
        refusal("0 0 0 * *"),
        "beginning of range (0) below minimum (1): 0"
    );
    assert_eq!(
        refusal("0 0 * * 5-1"),
        "beginning of range (5) beyond end of range (1): 5-1"
    );
    assert_eq!(
        refusal("*/0 * * * *"),
        "step of range should be a positive number: */0"
    );
    assert_eq!(refusal("1-2-3 * * * *"), "too many hyphens: 1-2-3");
    assert_eq!(refusal("*/2/3 * * * *"), "too many slashes: */2/3");
    assert_eq!(
        refusal("0 0 * foo *"),
        "failed to parse int from foo: strconv.Atoi: parsing \"foo\": invalid syntax"
    );
    assert_eq!(refusal(""), "empty spec string");
}

#[test]
fn errors_name_the_field_for_gameday_yaml() {
    let e = |s: &str| s.parse::<Cron>().unwrap_err().to_string();
    assert!(e("0 10 * *").starts_with("a cron expression has 5 fields"));
    assert_eq!(
        e("0 25 * * *"),
        "`25` is not a valid hour (expected 0-23); kube-apiserver would answer: end of range (25) above maximum (23): 25"
    );
    assert!(
        e("0 0 * foo *")
            .starts_with("`foo` is not a valid month (expected 1-12 or a name like `jan`)")
    );
    assert!(e("0 0 * * 9").contains("day of week"));
    assert!(e("0 0 * * 7").contains("Sunday is 0, Kubernetes does not take 7"));
    assert!(e("0 0 * * 5-1").starts_with("`5-1` runs backwards in the day of week field"));
    assert!(e("*/0 * * * *").starts_with("`0` is not a valid step in the minute field"));
    assert!(e("*/x * * * *").starts_with("`x` is not a valid step in the minute field"));
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

#[test]
fn every_counts_from_the_whole_second() {
    let p = parse_standard("@every 90s").unwrap();
    let at: Timestamp = "2026-11-30T10:00:00.700Z".parse().unwrap();
    assert_eq!(
        p.schedule
            .next_after(at, &TimeZone::UTC)
            .unwrap()
            .to_string(),
        "2026-11-30T10:01:30+00:00[UTC]"
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
            "0 0 */2 * mon",
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

    /// Any text gets a schedule or an error, never a panic.
    #[test]
    fn any_text_parses_or_fails_cleanly(text in "\\PC{0,40}") {
        let _ = parse_standard(&text);
        let _ = text.parse::<Cron>();
    }

    /// Cron-shaped text too, where the arithmetic paths are.
    #[test]
    fn cron_shaped_text_parses_or_fails_cleanly(
        text in "(TZ=UTC )?[0-9*?/,a-z@ +-]{0,30}",
    ) {
        if let Ok(p) = parse_standard(&text) {
            let _ = p.schedule.next_after(Timestamp::UNIX_EPOCH, &TimeZone::UTC);
        }
    }
}

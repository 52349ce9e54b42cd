//! The `--since` window of `gameday metrics`: either a lookback the way
//! Prometheus writes ranges (`90d`, `2w`, `12h`, `30m`) or a start date or
//! instant (`2026-09-01`, `2026-09-01T12:00:00Z`).

use jiff::{SignedDuration, Timestamp, civil::Date, tz::TimeZone};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "invalid --since `{0}`: use a lookback like 90d, 2w, 12h or 30m, or a date like 2026-09-01 (UTC)"
)]
pub struct SinceError(pub String);

/// The instant the window starts, given the current time.
pub fn parse_since(text: &str, now: Timestamp) -> Result<Timestamp, SinceError> {
    let text = text.trim();
    let bad = || SinceError(text.to_string());
    if let Some(unit) = text.chars().last().filter(|c| c.is_ascii_alphabetic())
        && let Ok(n) = text[..text.len() - 1].parse::<u32>()
    {
        let secs = match unit {
            'w' => 7 * 86_400,
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let back = SignedDuration::from_secs(i64::from(n) * secs);
        return now.checked_sub(back).map_err(|_| bad());
    }
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts);
    }
    if let Ok(date) = text.parse::<Date>() {
        return date
            .to_zoned(TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|_| bad());
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookbacks_dates_and_instants() {
        let now: Timestamp = "2026-11-26T12:00:00Z".parse().unwrap();
        let at = |s: &str| parse_since(s, now).unwrap().to_string();
        assert_eq!(at("90d"), "2026-08-28T12:00:00Z");
        assert_eq!(at("2w"), "2026-11-12T12:00:00Z");
        assert_eq!(at("12h"), "2026-11-26T00:00:00Z");
        assert_eq!(at("30m"), "2026-11-26T11:30:00Z");
        assert_eq!(at("2026-09-01"), "2026-09-01T00:00:00Z");
        assert_eq!(at("2026-09-01T06:30:00Z"), "2026-09-01T06:30:00Z");
        for bad in ["", "d", "90", "9x", "-3d", "yesterday", "99999999999d"] {
            assert!(parse_since(bad, now).is_err(), "{bad:?} accepted");
        }
    }
}

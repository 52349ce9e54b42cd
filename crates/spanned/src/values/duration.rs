//! Human durations (`500ms`, `90s`, `2m30s`, `1h`) as scenario authors write them.
//!
//! A newtype rather than `humantime` so that the accepted grammar is exactly
//! the one documented in the scenario contract and the JSON Schema pattern
//! below matches what the parser accepts.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Regex that the JSON Schema advertises for a duration; kept next to the parser
/// so that the two cannot drift apart.
pub const DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub std::time::Duration);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration")]
    Empty,
    #[error("missing unit after `{0}`")]
    MissingUnit(String),
    #[error("unknown unit `{0}` (use ms, s, m or h)")]
    UnknownUnit(String),
    #[error("expected a number before `{0}`")]
    MissingNumber(String),
    #[error("duration is too large")]
    Overflow,
}

impl Duration {
    pub const ZERO: Duration = Duration(std::time::Duration::ZERO);

    pub fn from_secs(s: u64) -> Self {
        Duration(std::time::Duration::from_secs(s))
    }

    pub fn from_millis(ms: u64) -> Self {
        Duration(std::time::Duration::from_millis(ms))
    }

    pub fn as_std(self) -> std::time::Duration {
        self.0
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0.as_secs_f64()
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Self {
        Duration(d)
    }
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(DurationError::Empty);
        }
        let mut total_ms: f64 = 0.0;
        let mut rest = s;
        while !rest.is_empty() {
            let num_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            if num_len == 0 {
                return Err(DurationError::MissingNumber(rest.to_string()));
            }
            let (num, tail) = rest.split_at(num_len);
            let value: f64 = num
                .parse()
                .map_err(|_| DurationError::MissingNumber(rest.to_string()))?;
            let unit_len = tail
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(tail.len());
            let (unit, next) = tail.split_at(unit_len);
            let factor = match unit {
                "ms" => 1.0,
                "s" => 1_000.0,
                "m" => 60_000.0,
                "h" => 3_600_000.0,
                "" => return Err(DurationError::MissingUnit(num.to_string())),
                other => return Err(DurationError::UnknownUnit(other.to_string())),
            };
            total_ms += value * factor;
            rest = next;
        }
        // Ten years is far past any sane game day; it also keeps the f64 exact.
        if !total_ms.is_finite() || total_ms > 315_360_000_000.0 {
            return Err(DurationError::Overflow);
        }
        Ok(Duration(std::time::Duration::from_micros(
            (total_ms * 1000.0).round() as u64,
        )))
    }
}

impl fmt::Display for Duration {
    /// Prints the shortest exact form (`2m30s`, `500ms`) so that a duration
    /// round-trips through a scenario file unchanged.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms == 0 {
            return f.write_str("0s");
        }
        let (h, rem) = (ms / 3_600_000, ms % 3_600_000);
        let (m, rem) = (rem / 60_000, rem % 60_000);
        let (s, ms) = (rem / 1000, rem % 1000);
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if m > 0 {
            write!(f, "{m}m")?;
        }
        if s > 0 {
            write!(f, "{s}s")?;
        }
        if ms > 0 {
            write!(f, "{ms}ms")?;
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A duration such as 500ms, 90s, 2m30s or 1h.",
            "examples": ["500ms", "90s", "2m30s", "1h"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Duration {
        s.parse().unwrap()
    }

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(d("500ms"), Duration::from_millis(500));
        assert_eq!(d("90s"), Duration::from_secs(90));
        assert_eq!(d("2m30s"), Duration::from_secs(150));
        assert_eq!(d("1h"), Duration::from_secs(3600));
        assert_eq!(d("1.5s"), Duration::from_millis(1500));
        assert_eq!(d("0s"), Duration::ZERO);
    }

    #[test]
    fn rejects_missing_or_unknown_units() {
        assert_eq!(
            "10".parse::<Duration>(),
            Err(DurationError::MissingUnit("10".into()))
        );
        assert_eq!(
            "10d".parse::<Duration>(),
            Err(DurationError::UnknownUnit("d".into()))
        );
        assert!(matches!(
            "s".parse::<Duration>(),
            Err(DurationError::MissingNumber(_))
        ));
        assert_eq!("".parse::<Duration>(), Err(DurationError::Empty));
    }

    #[test]
    fn display_round_trips() {
        for s in ["500ms", "90s", "2m30s", "1h", "1h1m1s1ms", "0s"] {
            let parsed = d(s);
            assert_eq!(d(&parsed.to_string()), parsed, "{s}");
        }
        assert_eq!(d("90s").to_string(), "1m30s");
    }

    #[test]
    fn pattern_agrees_with_parser() {
        let re = regex::Regex::new(DURATION_PATTERN).unwrap();
        for s in ["500ms", "90s", "2m30s", "1h", "1.5s"] {
            assert!(re.is_match(s) && s.parse::<Duration>().is_ok(), "{s}");
        }
        for s in ["10", "10d", "s", "", "1 s"] {
            assert!(!re.is_match(s) && s.parse::<Duration>().is_err(), "{s}");
        }
    }
}

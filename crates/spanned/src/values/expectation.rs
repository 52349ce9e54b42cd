//! SLO expectations: `">= 0.99"`, `"< 300ms"`, `"== 0"`, `"between 0.9 and 1"`.
//!
//! Kept as a string in YAML (not a nested map) because that is how SREs write
//! thresholds in alert rules and dashboards; the parser turns it into a value
//! comparison that the probes evaluate.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Pattern advertised in the JSON Schema; the parser is the authority.
pub const EXPECTATION_PATTERN: &str = r"^\s*((>=|>|<=|<|==|!=)\s*-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?\s*(ms|s|%)?|between\s+-?[0-9]+(\.[0-9]+)?\s*(ms|s|%)?\s+and\s+-?[0-9]+(\.[0-9]+)?\s*(ms|s|%)?)\s*$";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparator {
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
}

impl Comparator {
    pub fn symbol(self) -> &'static str {
        match self {
            Comparator::Ge => ">=",
            Comparator::Gt => ">",
            Comparator::Le => "<=",
            Comparator::Lt => "<",
            Comparator::Eq => "==",
            Comparator::Ne => "!=",
        }
    }
}

/// The unit a threshold was written in. Latency units only make sense for
/// http probes; the validator enforces that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    #[serde(rename = "ms")]
    Millis,
    #[serde(rename = "s")]
    Seconds,
    #[serde(rename = "%")]
    Percent,
}

impl Unit {
    pub fn is_latency(self) -> bool {
        matches!(self, Unit::Millis | Unit::Seconds)
    }

    fn symbol(self) -> &'static str {
        match self {
            Unit::Millis => "ms",
            Unit::Seconds => "s",
            Unit::Percent => "%",
        }
    }

    /// Latencies compare in seconds, percentages as fractions.
    fn normalise(self, v: f64) -> f64 {
        match self {
            Unit::Millis => v / 1000.0,
            Unit::Seconds => v,
            Unit::Percent => v / 100.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Expectation {
    Compare {
        op: Comparator,
        value: f64,
        unit: Option<Unit>,
    },
    /// Inclusive on both ends, like PromQL's `between` idiom in SLO docs.
    Between {
        low: f64,
        high: f64,
        unit: Option<Unit>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpectationError {
    #[error("empty expectation")]
    Empty,
    #[error("expected a comparator (>=, >, <=, <, ==, !=) or `between A and B`, found `{0}`")]
    NoComparator(String),
    #[error("`{0}` is not a number")]
    BadNumber(String),
    #[error("unknown unit `{0}` (use ms, s or %)")]
    BadUnit(String),
    #[error("`between` needs `between LOW and HIGH`")]
    BadBetween,
    #[error("the range is empty: {low} is above {high}")]
    EmptyRange { low: String, high: String },
    #[error("the two ends of the range use different units")]
    MixedUnits,
}

fn parse_number(s: &str) -> Result<(f64, Option<Unit>), ExpectationError> {
    let s = s.trim();
    let (num, unit) = if let Some(n) = s.strip_suffix("ms") {
        (n, Some(Unit::Millis))
    } else if let Some(n) = s.strip_suffix('s') {
        (n, Some(Unit::Seconds))
    } else if let Some(n) = s.strip_suffix('%') {
        (n, Some(Unit::Percent))
    } else {
        (s, None)
    };
    let num = num.trim();
    if num.is_empty() {
        return Err(ExpectationError::BadNumber(s.to_string()));
    }
    match num.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok((v, unit)),
        _ => {
            let trailing = num.trim_start_matches(|c: char| {
                c.is_ascii_digit() || c == '.' || c == '-' || c == '+'
            });
            if !trailing.is_empty() && trailing.len() < num.len() {
                Err(ExpectationError::BadUnit(trailing.to_string()))
            } else {
                Err(ExpectationError::BadNumber(num.to_string()))
            }
        }
    }
}

impl Expectation {
    /// The unit the threshold was written in, if any.
    pub fn unit(&self) -> Option<Unit> {
        match self {
            Expectation::Compare { unit, .. } | Expectation::Between { unit, .. } => *unit,
        }
    }

    /// Whether an observed value satisfies the expectation. Latency values are
    /// observed in seconds, percentages as fractions (0..1).
    pub fn holds(&self, observed: f64) -> bool {
        if observed.is_nan() {
            return false;
        }
        match *self {
            Expectation::Compare { op, value, unit } => {
                let v = unit.map_or(value, |u| u.normalise(value));
                match op {
                    Comparator::Ge => observed >= v,
                    Comparator::Gt => observed > v,
                    Comparator::Le => observed <= v,
                    Comparator::Lt => observed < v,
                    Comparator::Eq => observed == v,
                    Comparator::Ne => observed != v,
                }
            }
            Expectation::Between { low, high, unit } => {
                let (l, h) = unit.map_or((low, high), |u| (u.normalise(low), u.normalise(high)));
                observed >= l && observed <= h
            }
        }
    }
}

impl FromStr for Expectation {
    type Err = ExpectationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ExpectationError::Empty);
        }
        if let Some(rest) = s.strip_prefix("between") {
            let (lo, hi) = rest
                .split_once(" and ")
                .ok_or(ExpectationError::BadBetween)?;
            let (low, lu) = parse_number(lo)?;
            let (high, hu) = parse_number(hi)?;
            if lu != hu {
                return Err(ExpectationError::MixedUnits);
            }
            if low > high {
                return Err(ExpectationError::EmptyRange {
                    low: lo.trim().to_string(),
                    high: hi.trim().to_string(),
                });
            }
            return Ok(Expectation::Between {
                low,
                high,
                unit: lu,
            });
        }
        // Two-character comparators first so that `>=` is not read as `>`.
        let ops = [
            (">=", Comparator::Ge),
            ("<=", Comparator::Le),
            ("==", Comparator::Eq),
            ("!=", Comparator::Ne),
            (">", Comparator::Gt),
            ("<", Comparator::Lt),
        ];
        for (sym, op) in ops {
            if let Some(rest) = s.strip_prefix(sym) {
                let (value, unit) = parse_number(rest)?;
                return Ok(Expectation::Compare { op, value, unit });
            }
        }
        Err(ExpectationError::NoComparator(s.to_string()))
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let u = |unit: Option<Unit>| unit.map_or("", Unit::symbol);
        match *self {
            Expectation::Compare { op, value, unit } => {
                write!(f, "{} {}{}", op.symbol(), value, u(unit))
            }
            Expectation::Between { low, high, unit } => {
                write!(f, "between {}{} and {}{}", low, u(unit), high, u(unit))
            }
        }
    }
}

impl Serialize for Expectation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Expectation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Expectation {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Expectation".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": EXPECTATION_PATTERN,
            "description": "A comparator and a number with an optional unit, or `between A and B`.",
            "examples": [">= 0.99", "< 300ms", "== 0", "between 0.9 and 1"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(s: &str) -> Expectation {
        s.parse().unwrap()
    }

    #[test]
    fn comparators_evaluate() {
        assert!(e(">= 0.99").holds(0.99));
        assert!(!e("> 0.99").holds(0.99));
        assert!(e("< 300ms").holds(0.299));
        assert!(!e("< 300ms").holds(0.3));
        assert!(e("== 0").holds(0.0));
        assert!(e("!= 0").holds(1.0));
        assert!(e("<= 2s").holds(2.0));
        assert!(e(">= 99%").holds(0.995));
        assert!(e("between 0.9 and 1").holds(1.0));
        assert!(!e("between 0.9 and 1").holds(0.89));
    }

    #[test]
    fn nan_never_holds() {
        assert!(!e("!= 0").holds(f64::NAN));
    }

    #[test]
    fn reports_what_is_wrong() {
        assert!(matches!(
            "0.99".parse::<Expectation>(),
            Err(ExpectationError::NoComparator(_))
        ));
        assert!(matches!(
            ">= abc".parse::<Expectation>(),
            Err(ExpectationError::BadNumber(_))
        ));
        assert!(matches!(
            ">= 3xs".parse::<Expectation>(),
            Err(ExpectationError::BadUnit(_))
        ));
        assert!(matches!(
            "between 1 and 0".parse::<Expectation>(),
            Err(ExpectationError::EmptyRange { .. })
        ));
        assert!(matches!(
            "between 1".parse::<Expectation>(),
            Err(ExpectationError::BadBetween)
        ));
    }

    #[test]
    fn pattern_agrees_with_parser() {
        let re = regex::Regex::new(EXPECTATION_PATTERN).unwrap();
        for s in [
            ">= 0.99",
            "< 300ms",
            "== 0",
            "between 0.9 and 1",
            "!= -1",
            ">=1e3",
        ] {
            assert!(re.is_match(s), "{s}");
            assert!(s.parse::<Expectation>().is_ok(), "{s}");
        }
        for s in ["0.99", ">= abc", "=> 1", ""] {
            assert!(!re.is_match(s), "{s}");
            assert!(s.parse::<Expectation>().is_err(), "{s}");
        }
    }
}

//! The `type` of a fault, as written (`podKill`). Which types exist, and
//! what each one accepts, is the faults registry's business: `faults` sits
//! above `scenario` (docs/architecture.md), and each fault's one file holds
//! its own rules. So this type only holds a well-formed name, and the
//! validator asks the registry ([`super::FaultRules`]) about it.
//!
//! It is `Copy` (an inline name, no allocation) because it travels on every
//! plan row, mark, journal line and report row.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// The longest fault type name; `networkPartition`, the longest today, has 16.
const MAX: usize = 31;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FaultType {
    // Zero-padded, so the derived order is the names' lexicographic order.
    bytes: [u8; MAX],
    len: u8,
}

/// What a fault selects: pods, a workload, or nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Pods,
    Workload,
    Nodes,
}

impl FaultType {
    /// A well-formed name (a lowerCamelCase word of ASCII letters and
    /// digits), whether or not a fault of that type exists.
    pub const fn new(name: &str) -> Option<FaultType> {
        let b = name.as_bytes();
        if b.is_empty() || b.len() > MAX || !b[0].is_ascii_lowercase() {
            return None;
        }
        let mut bytes = [0u8; MAX];
        let mut i = 0;
        while i < b.len() {
            if !b[i].is_ascii_alphanumeric() {
                return None;
            }
            bytes[i] = b[i];
            i += 1;
        }
        Some(FaultType {
            bytes,
            len: b.len() as u8,
        })
    }

    /// For the registry's constants: a name the code spells, checked at
    /// compile time.
    pub const fn named(name: &'static str) -> FaultType {
        match FaultType::new(name) {
            Some(t) => t,
            None => panic!("not a fault type name"),
        }
    }

    /// The camelCase name used in scenario files.
    pub fn as_str(&self) -> &str {
        // Built only from ASCII in `new`.
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or_default()
    }
}

impl std::fmt::Display for FaultType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for FaultType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FaultType({})", self.as_str())
    }
}

impl Serialize for FaultType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FaultType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Cow::<str>::deserialize(d)?;
        FaultType::new(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("`{s}` is not a fault type name (e.g. `podKill`)"))
        })
    }
}

impl JsonSchema for FaultType {
    fn schema_name() -> Cow<'static, str> {
        "FaultType".into()
    }

    /// A name; `gameday schema` replaces this with the registry's list, so
    /// editors offer the real types.
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "The fault type, e.g. podKill (`gameday init --fault` lists them).",
            "pattern": "^[a-z][a-zA-Z0-9]{0,30}$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order_like_strings() {
        let a = FaultType::named("podKill");
        assert_eq!(a.as_str(), "podKill");
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"podKill\"");
        let b: FaultType = serde_json::from_str("\"podEvict\"").unwrap();
        assert!(b < a, "podEvict sorts before podKill");
        assert!(FaultType::named("pod") < FaultType::named("podA"));
    }

    #[test]
    fn malformed_names_are_refused() {
        for bad in ["", "PodKill", "pod-kill", "pod kill", &"a".repeat(32)] {
            assert!(FaultType::new(bad).is_none(), "{bad:?}");
            assert!(serde_json::from_str::<FaultType>(&format!("{bad:?}")).is_err());
        }
    }
}

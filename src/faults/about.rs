//! What a fault type states about itself ([`About`]), and what it does
//! to the shop world (examples/worlds/shop.yaml,
//! the sandbox's default), and so what its `gameday init` starter claims.
//! Each fault's file writes its starter as a short card of text
//! ([`Starter::parse`]); `cli::init` turns it into a commented scenario. A
//! starter is only useful if it passes as generated: a guardrail the fault
//! must breach, or an alert it never raises, teaches a new user that
//! gameday is broken. tests/shipped_scenarios.rs runs every starter against
//! the demo stack.

use super::Rule;
use crate::k8s::marks::ObjKind;

/// What a fault type states about itself besides its behaviour: the API
/// rights it needs, the kinds it marks, and its starter. Data, not code, so
/// each fault's file says it in one `const ABOUT`, and the registry entry
/// ([`super::Entry`]) carries it next to the behaviour.
#[derive(Debug, Clone, Copy)]
pub struct About {
    /// The API permissions `inject` and `revert` need (`gameday rbac`,
    /// the permission preflight).
    pub rbac: &'static [Rule],
    /// The kinds this fault can leave marks on: what `recover` lists and
    /// what `gameday rbac` grants it for.
    pub marks: &'static [ObjKind],
    /// What `gameday init --fault` writes for it, as a card that
    /// [`Starter::parse`] reads.
    pub starter: &'static str,
}

/// A fault's starter, read from its card:
///
/// ```text
/// hypothesis: Checkout on half its replicas for 30s keeps 99% success.
/// duration: 30s
/// successDuring: 0.99
/// alert: CheckoutHighErrorRate
///       params:
///         replicas: 2
/// ```
///
/// Unindented `key: value` lines first; every indented line after them is
/// the fault's `params:` block, pasted into the scenario as written (so
/// the card shows the YAML a user will see, comments and alignment
/// included). `duration` is left out for the instantaneous faults, `alert`
/// for those that page nobody on the shop world.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Starter {
    pub hypothesis: &'static str,
    /// How long the fault holds; None for the instantaneous ones.
    pub duration: Option<&'static str>,
    /// The `checkout-success` guardrail: 0.99 where the fault costs no
    /// request; lower where failing some is the point of the drill.
    pub success_during: &'static str,
    /// The alert the fault raises on the shop world: (alertname, labels).
    pub alert: Option<(&'static str, &'static str)>,
    /// The `params:` lines (or a comment saying there are none).
    pub params: &'static str,
}

/// The shop world's alerts a starter may expect, with the labels that
/// single out checkout (examples/prometheus/rules).
const SHOP_ALERTS: &[(&str, &str)] = &[
    ("CheckoutHighErrorRate", "{service: checkout}"),
    ("DeploymentReplicasUnavailable", "{deployment: checkout}"),
    ("HighLatency", "{service: checkout}"),
];

/// A starter card that does not read: a mistake in a fault's own file,
/// which tests/fault_registry.rs catches for every registered fault.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StarterError {
    #[error("starter line `{0}` is not `key: value`")]
    NotAField(&'static str),
    #[error("starter key `{0}` is not one of hypothesis, duration, successDuring, alert")]
    UnknownKey(&'static str),
    #[error("starter alert `{0}` is not a shop-world alert")]
    UnknownAlert(&'static str),
    #[error("starter has no `{0}`")]
    Missing(&'static str),
}

impl Starter {
    /// Reads a starter card (see [`Starter`]).
    pub fn parse(card: &'static str) -> Result<Starter, StarterError> {
        let card = card.strip_prefix('\n').unwrap_or(card);
        let mut s = Starter::default();
        let mut rest = card;
        while !rest.is_empty() && !rest.starts_with(' ') {
            let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
            rest = after;
            let (key, value) = line.split_once(": ").ok_or(StarterError::NotAField(line))?;
            match key {
                "hypothesis" => s.hypothesis = value,
                "duration" => s.duration = Some(value),
                "successDuring" => s.success_during = value,
                "alert" => {
                    let known = SHOP_ALERTS.iter().find(|(name, _)| *name == value);
                    s.alert = Some(*known.ok_or(StarterError::UnknownAlert(value))?);
                }
                _ => return Err(StarterError::UnknownKey(key)),
            }
        }
        s.params = rest;
        if s.hypothesis.is_empty() {
            return Err(StarterError::Missing("hypothesis"));
        }
        if s.success_during.is_empty() {
            return Err(StarterError::Missing("successDuring"));
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_reads_into_its_fields_and_keeps_the_params_block_verbatim() {
        let s = Starter::parse(
            "\nhypothesis: H.\nduration: 30s\nsuccessDuring: 0.75\nalert: CheckoutHighErrorRate\n      params:\n        force: true   # why\n",
        )
        .unwrap();
        assert_eq!(s.hypothesis, "H.");
        assert_eq!(s.duration, Some("30s"));
        assert_eq!(s.success_during, "0.75");
        assert_eq!(
            s.alert,
            Some(("CheckoutHighErrorRate", "{service: checkout}"))
        );
        assert_eq!(s.params, "      params:\n        force: true   # why\n");
    }

    #[test]
    fn a_bad_card_says_what_is_wrong() {
        assert_eq!(
            Starter::parse("hypothesis H\n"),
            Err(StarterError::NotAField("hypothesis H"))
        );
        assert_eq!(
            Starter::parse("hypothesis: H\ncolour: red\n"),
            Err(StarterError::UnknownKey("colour"))
        );
        assert_eq!(
            Starter::parse("hypothesis: H\nalert: Nope\n"),
            Err(StarterError::UnknownAlert("Nope"))
        );
        assert_eq!(
            Starter::parse("hypothesis: H\n"),
            Err(StarterError::Missing("successDuring"))
        );
    }

    #[test]
    fn every_registered_card_reads() {
        for entry in super::super::FAULTS {
            if let Err(e) = entry.starter() {
                panic!("{}: {e}", entry.name());
            }
        }
    }
}

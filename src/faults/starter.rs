//! What one fault type does to the shop world (examples/worlds/shop.yaml,
//! the sandbox's default), and so what its `gameday init` starter claims.
//! Each fault's file returns its own [`Starter`]; `cli::init` turns it into
//! a commented scenario. A starter is only useful if it passes as
//! generated: a guardrail the fault must breach, or an alert it never
//! raises, teaches a new user that gameday is broken.
//! tests/shipped_scenarios.rs runs every starter against the demo stack.

#[derive(Debug, Clone, Default, PartialEq)]
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

/// Short enough for a first try (and for CI); lengthen once it passes.
pub const HOLD: Option<&str> = Some("30s");
/// The shop's error-rate alert on checkout.
pub const ERRORS: Option<(&str, &str)> = Some(("CheckoutHighErrorRate", "{service: checkout}"));
/// The kube-prometheus style alert for a Deployment short of replicas.
pub const UNAVAILABLE: Option<(&str, &str)> =
    Some(("DeploymentReplicasUnavailable", "{deployment: checkout}"));

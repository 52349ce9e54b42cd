//! What a fault type states about itself ([`About`]), and what it does
//! to the shop world (examples/worlds/shop.yaml,
//! the sandbox's default), and so what its `gameday init` starter claims.
//! Each fault's file returns its own [`Starter`]; `cli::init` turns it into
//! a commented scenario. A starter is only useful if it passes as
//! generated: a guardrail the fault must breach, or an alert it never
//! raises, teaches a new user that gameday is broken.
//! tests/shipped_scenarios.rs runs every starter against the demo stack.

use super::Rule;
use crate::k8s::marks::ObjKind;

/// What a fault type states about itself besides its behaviour: the API
/// rights it needs, the kinds it marks, and its starter. Data, not code, so
/// each fault's file says it in one `const ABOUT`.
#[derive(Debug, Clone, Copy)]
pub struct About {
    /// The API permissions `inject` and `revert` need (`gameday rbac`,
    /// the permission preflight).
    pub rbac: &'static [Rule],
    /// The kinds this fault can leave marks on: what `recover` lists and
    /// what `gameday rbac` grants it for.
    pub marks: &'static [ObjKind],
    /// What `gameday init --fault` writes for it.
    pub starter: Starter,
}

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

/// Short enough for a first try (and for CI); lengthen once it passes.
pub const HOLD: Option<&str> = Some("30s");
/// The shop's error-rate alert on checkout.
pub const ERRORS: Option<(&str, &str)> = Some(("CheckoutHighErrorRate", "{service: checkout}"));
/// The kube-prometheus style alert for a Deployment short of replicas.
pub const UNAVAILABLE: Option<(&str, &str)> =
    Some(("DeploymentReplicasUnavailable", "{deployment: checkout}"));

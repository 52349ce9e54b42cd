//! The typed scenario model: format v1 exactly as `shared/scenario-v1.md`
//! fixes it. Field names are the contract; defaults live in accessor methods
//! so that a loaded scenario still shows what the author actually wrote.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::fault_type::{FaultType, TargetKind};
pub use crate::values::{ApiVersion, Duration, Expectation, RoleName};

pub type StringMap = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "gameday scenario v1")]
pub struct Scenario {
    /// Exactly `gameday/v1`.
    pub api_version: ApiVersion,
    /// Exactly `Scenario`.
    pub kind: ScenarioKind,
    /// The scenario's name and labels.
    pub metadata: Metadata,
    /// The hypothesis, its limits, probes, faults, detection and response.
    pub spec: Spec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ScenarioKind {
    Scenario,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metadata {
    /// DNS-1123 label: lowercase letters, digits and '-', at most 63 characters.
    #[schemars(length(min = 1, max = 63), pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: StringMap,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Spec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What should hold while the faults are active, in one sentence.
    #[schemars(length(min = 1))]
    pub hypothesis: String,
    /// Where the scenario may run: kube contexts and namespaces.
    pub target: Target,
    /// Limits on what the faults may touch, and for how long.
    pub blast_radius: BlastRadius,
    /// The SLO probes checked before, during and after the faults.
    pub steady_state: SteadyState,
    /// The faults to inject, at least one.
    #[schemars(length(min = 1))]
    pub faults: Vec<Fault>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detection: Option<Detection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Response>,
}

impl Spec {
    /// The alerts `detection` expects (none without a `detection` block).
    pub fn expected_alerts(&self) -> &[ExpectedAlert] {
        self.detection.as_ref().map_or(&[], |d| d.alerts.as_slice())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Target {
    /// Globs matched against the kube context name (S5).
    #[schemars(length(min = 1))]
    pub contexts: Vec<String>,
    /// The only namespaces faults may touch.
    #[schemars(length(min = 1))]
    pub namespaces: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BlastRadius {
    /// Most objects one fault may touch.
    #[schemars(range(min = 1))]
    pub max_targets: u32,
    /// Most of one workload's pods one fault may touch, in percent (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub max_percent: Option<u32>,
    /// The whole run, recovery included, must fit.
    pub max_duration: Duration,
    /// Needed to touch 100% of a workload.
    #[serde(default)]
    pub allow_full_outage: bool,
}

impl BlastRadius {
    pub const DEFAULT_MAX_PERCENT: u32 = 50;

    pub fn max_percent(&self) -> u32 {
        self.max_percent.unwrap_or(Self::DEFAULT_MAX_PERCENT)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SteadyState {
    /// How often probes run while faults are active (default 5s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// After the last revert, every `expect` must hold again within this (default 2m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recover_within: Option<Duration>,
    /// Before injecting, wait up to this long for every `expect` to hold and
    /// the expected alerts to be inactive (default 90s; `0s`: one reading).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settle: Option<Duration>,
    /// The SLO probes, at least one.
    #[schemars(length(min = 1))]
    pub probes: Vec<Probe>,
}

impl SteadyState {
    pub fn interval(&self) -> Duration {
        self.interval.unwrap_or(Duration::from_secs(5))
    }

    pub fn recover_within(&self) -> Duration {
        self.recover_within.unwrap_or(Duration::from_secs(120))
    }

    /// The default settle time. After a previous run's last errors, an
    /// error-rate alert over the common 1 m rate window stays firing for
    /// that minute plus scrape, evaluation and `for:`; 90 s covers it with
    /// room, and a steady state that is really broken is still reported
    /// within a minute and a half.
    pub const DEFAULT_SETTLE: Duration = Duration(std::time::Duration::from_secs(90));

    pub fn settle(&self) -> Duration {
        self.settle.unwrap_or(Self::DEFAULT_SETTLE)
    }
}

/// The source a probe reads, once the validator has checked there is exactly one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ProbeSource<'a> {
    Prometheus(&'a PrometheusProbe),
    Kubernetes(&'a KubernetesProbe),
    Http(&'a HttpProbe),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Probe {
    /// Unique within the scenario.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<PrometheusProbe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesProbe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpProbe>,
    /// Must hold before the faults and again after them.
    pub expect: Expectation,
    /// Guardrail while faults are active; a breach aborts the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub during: Option<Expectation>,
    /// What a probe that cannot be read means while faults are active (S4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_unknown: Option<OnUnknown>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}

impl Probe {
    pub fn source(&self) -> Option<ProbeSource<'_>> {
        source_of(&self.prometheus, &self.kubernetes, &self.http)
    }

    pub fn on_unknown(&self) -> OnUnknown {
        self.on_unknown.unwrap_or_default()
    }

    pub fn timeout(&self) -> Duration {
        self.timeout.unwrap_or(Duration::from_secs(5))
    }
}

fn source_of<'a>(
    p: &'a Option<PrometheusProbe>,
    k: &'a Option<KubernetesProbe>,
    h: &'a Option<HttpProbe>,
) -> Option<ProbeSource<'a>> {
    match (p, k, h) {
        (Some(p), None, None) => Some(ProbeSource::Prometheus(p)),
        (None, Some(k), None) => Some(ProbeSource::Kubernetes(k)),
        (None, None, Some(h)) => Some(ProbeSource::Http(h)),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum OnUnknown {
    /// Fail safe: an unreadable probe counts as a breach.
    #[default]
    Abort,
    Ignore,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PrometheusProbe {
    /// A PromQL instant query.
    pub query: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reduce: Option<Reduce>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Reduce {
    /// Exactly one series, anything else is an error.
    #[default]
    Single,
    Min,
    Max,
    Avg,
    Sum,
    Count,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubernetesProbe {
    pub kind: ProbeKind,
    pub namespace: String,
    /// For Deployment and StatefulSet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// For Pods: a label map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<StringMap>,
    pub field: ProbeField,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ProbeKind {
    Deployment,
    StatefulSet,
    Pods,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ProbeField {
    // Deployment / StatefulSet
    Replicas,
    ReadyReplicas,
    AvailableReplicas,
    UpdatedReplicas,
    // Pods
    Ready,
    Running,
    Total,
    Restarts,
}

impl ProbeField {
    /// Whether the field exists on the probed kind; the validator reports the rest.
    pub fn fits(self, kind: ProbeKind) -> bool {
        use ProbeField::*;
        match kind {
            ProbeKind::Deployment | ProbeKind::StatefulSet => {
                matches!(
                    self,
                    Replicas | ReadyReplicas | AvailableReplicas | UpdatedReplicas
                )
            }
            ProbeKind::Pods => matches!(self, Ready | Running | Total | Restarts),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpProbe {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<HttpMethod>,
    /// Any other status is a failure (default 200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

impl HttpProbe {
    pub fn method(&self) -> HttpMethod {
        self.method.unwrap_or(HttpMethod::Get)
    }

    pub fn status(&self) -> u16 {
        self.status.unwrap_or(200)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Head,
    Post,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Fault {
    /// Unique within the scenario. A DNS-1123 label: it becomes the value of
    /// the `gameday/fault` label and part of object names (ephemeral
    /// containers, NetworkPolicies), where the API server refuses anything
    /// else with a 422 mid-run.
    #[schemars(length(min = 1, max = 63), pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub name: String,
    /// The fault type, e.g. podKill (`gameday init --fault` lists them all;
    /// the faults registry decides which exist).
    #[serde(rename = "type")]
    pub kind: FaultType,
    /// Offset from the start of the fault phase (default 0s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Duration>,
    /// How long the fault holds before it is reverted; required for every type
    /// that holds (all but the instantaneous ones, such as podKill).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Duration>,
    /// What the fault targets: namespace and labels (pod faults), kind and name
    /// (workload faults) or nodeLabels (node faults).
    pub selector: Selector,
    /// all | {count: N} | {percent: P} | {randomMaxPercent: P} (default {count: 1}).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// Makes the random choice of targets reproducible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Parameters of the fault type; a parameter the type does not take is an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Params>,
}

impl Fault {
    pub fn at(&self) -> Duration {
        self.at.unwrap_or(Duration::ZERO)
    }

    pub fn mode(&self) -> Mode {
        self.mode.unwrap_or(Mode::Count(1))
    }

    /// When the fault is over, relative to the start of the fault phase.
    /// Instant faults (podKill, podEvict) end when they start.
    pub fn end(&self) -> Duration {
        Duration(self.at().0 + self.duration.unwrap_or(Duration::ZERO).0)
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Selector {
    /// Must be listed in `target.namespaces`; not used by node faults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Pod faults: pod labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<StringMap>,
    /// Workload faults (scale, badRollout): the workload kind...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<WorkloadKind>,
    /// ...and its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Node faults: node labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_labels: Option<StringMap>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
}

/// How many of the selected objects a fault touches: `all`, `{count: N}`,
/// `{percent: P}` or `{randomMaxPercent: P}`.
///
/// Serde is written by hand because serde_yaml maps externally tagged enums to
/// YAML tags (`!count 3`), not to the one-key maps the contract specifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Mode {
    All,
    Count(u32),
    Percent(u32),
    RandomMaxPercent(u32),
}

impl Serialize for Mode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (key, n) = match *self {
            Mode::All => return s.serialize_str("all"),
            Mode::Count(n) => ("count", n),
            Mode::Percent(n) => ("percent", n),
            Mode::RandomMaxPercent(n) => ("randomMaxPercent", n),
        };
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(key, &n)?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ModeVisitor;
        impl<'de> serde::de::Visitor<'de> for ModeVisitor {
            type Value = Mode;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("`all`, {count: N}, {percent: P} or {randomMaxPercent: P}")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Mode, E> {
                match v {
                    "all" => Ok(Mode::All),
                    other => Err(E::unknown_variant(other, &["all"])),
                }
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Mode, A::Error> {
                use serde::de::Error;
                let Some(key) = map.next_key::<String>()? else {
                    return Err(A::Error::invalid_length(0, &self));
                };
                let n: u32 = map.next_value()?;
                let mode = match key.as_str() {
                    "count" => Mode::Count(n),
                    "percent" => Mode::Percent(n),
                    "randomMaxPercent" => Mode::RandomMaxPercent(n),
                    other => {
                        return Err(A::Error::unknown_field(
                            other,
                            &["count", "percent", "randomMaxPercent"],
                        ));
                    }
                };
                if map.next_key::<String>()?.is_some() {
                    return Err(A::Error::custom("a mode has exactly one key"));
                }
                Ok(mode)
            }
        }
        d.deserialize_any(ModeVisitor)
    }
}

/// A fault's `params`, as written. Each fault type reads them as its own
/// type (in its file under `src/faults/`), and the validator checks them
/// there, so the scenario model needs no field of any one fault.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Params(pub serde_json::Map<String, serde_json::Value>);

impl Params {
    /// The params as a fault type's own struct.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_value(serde_json::Value::Object(self.0.clone()))
    }
}

impl Fault {
    /// This fault's params as `T` (its type's defaults when absent).
    pub fn params_as<T: serde::de::DeserializeOwned + Default>(
        &self,
    ) -> Result<T, serde_json::Error> {
        match &self.params {
            None => Ok(T::default()),
            Some(p) => p.parse(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Detection {
    #[serde(default)]
    pub alerts: Vec<ExpectedAlert>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<Noise>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExpectedAlert {
    /// The alertname.
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: StringMap,
    /// Target time to detect.
    pub within: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Noise {
    #[default]
    Warn,
    Fail,
    Ignore,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Response {
    /// A level from the config's severity table (SEV1..SEV4 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Roles>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runbook: Option<Runbook>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub autopilot: Vec<AutopilotEntry>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Roles {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_commander: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub communications: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operations: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sme: Vec<String>,
}

impl Roles {
    /// Every person named under roles, for checking autopilot `as`.
    pub fn people(&self) -> impl Iterator<Item = &str> {
        self.incident_commander
            .iter()
            .chain(&self.communications)
            .chain(&self.operations)
            .chain(&self.sme)
            .map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Runbook {
    /// A path relative to the scenario, or a URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default)]
    pub steps: Vec<RunbookStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RunbookStep {
    /// Unique within the runbook; autopilot `step` entries name it.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default)]
    pub critical: bool,
    /// Target time from injection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Duration>,
    /// A probe that proves the step was done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifyProbe>,
}

/// A probe as under steadyState, without `name` and `during`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VerifyProbe {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<PrometheusProbe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesProbe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpProbe>,
    pub expect: Expectation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}

impl VerifyProbe {
    pub fn source(&self) -> Option<ProbeSource<'_>> {
        source_of(&self.prometheus, &self.kubernetes, &self.http)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AutopilotEntry {
    /// Offset from the first injection.
    pub at: Duration,
    /// A person named under `roles`.
    #[serde(rename = "as")]
    pub person: String,
    #[serde(rename = "do")]
    pub act: ResponderAction,
    /// declare: the severity level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// step: the runbook step id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// update, note: the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// assign: the role...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleName>,
    /// ...and who takes it (default: the person in `as`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// step: what the autopilot does to the cluster for this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<StepAction>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ResponderAction {
    Ack,
    Declare,
    Assign,
    Update,
    Step,
    Resolve,
    Note,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StepAction {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<ScaleAction>,
    /// Leave the change in the cluster after the run (default false: it is
    /// reverted after the recovery measurement, like a fault).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScaleAction {
    pub kind: WorkloadKind,
    pub namespace: String,
    pub name: String,
    pub replicas: u32,
}

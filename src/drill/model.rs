//! The typed drill model: format v1 exactly as `shared/drill-v1.md` fixes
//! it. The sections a drill shares with a scenario (`target`, `blastRadius`,
//! `detection`, `response`, fault entries) are the scenario's own types, so
//! they mean the same and are checked by the same rules.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::scenario::{
    BlastRadius, Detection, Fault, Metadata, ResponderAction, Response, StringMap, Target,
};
use crate::values::{ApiVersion, Duration, RoleName};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "gameday drill v1")]
pub struct Drill {
    /// Exactly `gameday/v1`.
    pub api_version: ApiVersion,
    /// Exactly `Drill`.
    pub kind: DrillKind,
    /// The drill's name and labels.
    pub metadata: Metadata,
    /// The injects, objectives and response of the exercise.
    pub spec: DrillSpec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DrillKind {
    Drill,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DrillSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Read to everyone at the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub briefing: Option<String>,
    /// Drill seconds per wall-clock second (default 1); `--speed N` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_scale: Option<f64>,
    /// What the exercise tests; each is checked from the drill's events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objectives: Vec<Objective>,
    /// The inject list (the MSEL), at least one; times are drill time.
    #[schemars(length(min = 1))]
    pub injects: Vec<Inject>,
    /// Required only when an inject has `fault`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// Required only when an inject has `fault`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blast_radius: Option<BlastRadius>,
    /// Expected notifications of the alert injects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detection: Option<Detection>,
    /// As in a scenario: severity, roles, runbook, autopilot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Response>,
}

impl DrillSpec {
    pub const DEFAULT_TIME_SCALE: f64 = 1.0;

    pub fn time_scale(&self) -> f64 {
        self.time_scale.unwrap_or(Self::DEFAULT_TIME_SCALE)
    }

    /// Whether any inject needs a cluster (a hybrid drill).
    pub fn is_hybrid(&self) -> bool {
        self.injects.iter().any(|i| i.fault.is_some())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Objective {
    /// Unique within the drill.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub check: ObjectiveCheck,
}

/// "An event of this kind, within this drill time, by this role".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ObjectiveCheck {
    pub event: ResponderAction,
    /// Drill time from the start.
    pub within: Duration,
    /// The role that must do it (default: anyone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<RoleName>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Inject {
    /// Unique within the drill; `when.after` and facilitator controls name it.
    pub id: String,
    /// Drill time from the start (exactly one of `at` and `when`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Duration>,
    /// A condition (exactly one of `at` and `when`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    /// A page, posted to Alertmanager when one is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<AlertInject>,
    /// Information handed to participants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// The page goes up the escalation chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate: Option<Escalation>,
    /// Hybrid drills only: a real fault, under every scenario safety rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
}

/// What an inject does, once the validator has checked there is exactly one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InjectAction<'a> {
    Alert(&'a AlertInject),
    Message(&'a Message),
    Escalate(&'a Escalation),
    Fault(&'a Fault),
}

impl InjectAction<'_> {
    pub fn name(&self) -> &'static str {
        match self {
            InjectAction::Alert(_) => "alert",
            InjectAction::Message(_) => "message",
            InjectAction::Escalate(_) => "escalate",
            InjectAction::Fault(_) => "fault",
        }
    }
}

impl Inject {
    /// The inject's action when it has exactly one.
    pub fn action(&self) -> Option<InjectAction<'_>> {
        let all = self.actions();
        (all.len() == 1).then(|| all[0])
    }

    /// Every action written on the inject (the validator wants exactly one).
    pub fn actions(&self) -> Vec<InjectAction<'_>> {
        let mut v = Vec::with_capacity(1);
        v.extend(self.alert.as_ref().map(InjectAction::Alert));
        v.extend(self.message.as_ref().map(InjectAction::Message));
        v.extend(self.escalate.as_ref().map(InjectAction::Escalate));
        v.extend(self.fault.as_ref().map(InjectAction::Fault));
        v
    }
}

/// When a conditional inject fires: `noEvent` (at `by`, if no such event was
/// recorded by then) or `after` (at `delay` after another inject fired).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Condition {
    /// Fire only if no event of this kind was recorded by `by`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_event: Option<ResponderAction>,
    /// With `noEvent`: the drill time at which the condition is judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<Duration>,
    /// With `noEvent`: only events by a holder of this role count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleName>,
    /// Fire `delay` after the inject with this id fired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// With `after` (default 0s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AlertInject {
    /// Must include `alertname`.
    pub labels: StringMap,
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    pub annotations: StringMap,
    /// How long it keeps firing (re-posted before endsAt) unless resolved
    /// first or the drill ends.
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub firing_for: Option<Duration>,
}

impl AlertInject {
    pub fn alertname(&self) -> &str {
        self.labels.get("alertname").map_or("", String::as_str)
    }
}

/// Who a message is for: a role, or everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Recipient {
    IncidentCommander,
    Communications,
    Operations,
    Sme,
    All,
}

impl Recipient {
    /// The role, or None for `all`.
    pub fn role(self) -> Option<RoleName> {
        match self {
            Recipient::IncidentCommander => Some(RoleName::IncidentCommander),
            Recipient::Communications => Some(RoleName::Communications),
            Recipient::Operations => Some(RoleName::Operations),
            Recipient::Sme => Some(RoleName::Sme),
            Recipient::All => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Message {
    /// Roles, or `[all]`.
    #[schemars(length(min = 1))]
    pub to: Vec<Recipient>,
    /// Who the message is from in the story (a tool, a person).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[schemars(length(min = 1))]
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Escalation {
    /// The role the page escalates to.
    pub to: RoleName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

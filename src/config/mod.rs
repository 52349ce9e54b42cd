//! The operator's config file, `gameday.yaml`: what a team sets once for all
//! its scenarios (severity table, protected namespaces, allowed contexts,
//! endpoints, history path, pass mark). Scenarios may tighten but never widen it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::values::{Duration, RoleName};

pub mod calendar;
mod helper_images;
mod load;
mod paging;
pub use calendar::{Blackout, Calendar, Fatigue, Freeze, Schedule};
pub use helper_images::{HelperImage, HelperImages};
pub use load::DEFAULT_FILE;
pub use paging::{
    GrafanaOncallConfig, OnCallSource, OpsgenieConfig, PagerDutyConfig, Paging, PagingVia,
    env_reference,
};

/// Namespaces that no fault may ever touch, whatever the config says (S3).
pub const BUILTIN_PROTECTED_NAMESPACES: [&str; 3] =
    ["kube-system", "kube-public", "kube-node-lease"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    /// Must be exactly `gameday/v1`; optional so a minimal file stays minimal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<crate::values::ApiVersion>,
    /// Severity levels by name. Defaults to SEV1..SEV4 from DESIGN.md.
    #[serde(default = "default_severities")]
    pub severities: BTreeMap<String, Severity>,
    /// Namespaces protected in addition to kube-system, kube-public and kube-node-lease.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protected_namespaces: Vec<String>,
    /// Globs of kube contexts any scenario may run against. Empty means "only
    /// what each scenario's `target.contexts` allows".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_contexts: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<Endpoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alertmanager: Option<Endpoint>,
    #[serde(default)]
    pub history: History,
    /// Composite score (0..1) a run needs to pass. Default 0.7.
    #[serde(default = "default_pass_mark")]
    pub pass_mark: f64,
    /// Where the kill-switch ConfigMap lives (S6). Default `gameday-system`.
    #[serde(default = "default_halt_namespace")]
    pub halt_namespace: String,
    /// Images the ephemeral faults run, by role, with their tools.
    #[serde(default)]
    pub helper_images: HelperImages,
    /// Paging tools a run pages through and reads back from (docs/paging.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
    /// Scenarios and drills run on a cron schedule (docs/schedule.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<Schedule>,
    /// When scheduled runs are skipped: blackouts, freezes, on-call fatigue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<Calendar>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Severity {
    /// Target time from notification to acknowledgement. Absent: best effort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_target: Option<Duration>,
    /// Most time between two status updates. Absent: on material change only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_cadence: Option<Duration>,
    /// The first status update is due within this of the declaration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_notification: Option<Duration>,
    /// Roles that must be filled explicitly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_roles: Vec<RoleName>,
    /// Target time to detect. Absent: each alert's `within`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detect_target: Option<Duration>,
    /// Target time to mitigate. Absent: the scenario's `recoverWithin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mitigate_target: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Endpoint {
    pub url: String,
    /// Bearer token, or `env:NAME` to read it from the environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    /// PEM file with the CA that signed the server's certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// Extra headers, e.g. `X-Scope-OrgID` for Mimir or Thanos.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BasicAuth {
    pub username: String,
    /// The password, or `env:NAME` to read it from the environment.
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct History {
    /// SQLite database path, or a `postgres://` URL for a history shared by
    /// many runs (docs/history.md). Default: the per-user data directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
}

fn default_pass_mark() -> f64 {
    0.7
}

fn default_halt_namespace() -> String {
    "gameday-system".to_string()
}

/// SEV1..SEV4 as in DESIGN.md's severity table.
pub fn default_severities() -> BTreeMap<String, Severity> {
    use RoleName::*;
    let mins = |m: u64| Some(Duration::from_secs(m * 60));
    let mut t = BTreeMap::new();
    t.insert(
        "SEV1".into(),
        Severity {
            ack_target: mins(5),
            update_cadence: mins(15),
            initial_notification: mins(5),
            required_roles: vec![IncidentCommander, Communications],
            detect_target: None,
            mitigate_target: None,
        },
    );
    t.insert(
        "SEV2".into(),
        Severity {
            ack_target: mins(15),
            update_cadence: mins(60),
            initial_notification: mins(15),
            required_roles: vec![IncidentCommander, Communications],
            detect_target: None,
            mitigate_target: None,
        },
    );
    t.insert(
        "SEV3".into(),
        Severity {
            ack_target: mins(240),
            update_cadence: None,
            initial_notification: None,
            required_roles: vec![Operations],
            detect_target: None,
            mitigate_target: None,
        },
    );
    t.insert(
        "SEV4".into(),
        Severity {
            ack_target: None,
            update_cadence: None,
            initial_notification: None,
            required_roles: vec![],
            detect_target: None,
            mitigate_target: None,
        },
    );
    t
}

impl Default for Config {
    fn default() -> Self {
        Config {
            api_version: None,
            severities: default_severities(),
            protected_namespaces: Vec::new(),
            allowed_contexts: Vec::new(),
            prometheus: None,
            alertmanager: None,
            history: History::default(),
            pass_mark: default_pass_mark(),
            halt_namespace: default_halt_namespace(),
            helper_images: HelperImages::default(),
            paging: None,
            schedules: Vec::new(),
            calendar: None,
        }
    }
}

impl Config {
    /// Built-in plus configured protected namespaces.
    pub fn protected_namespaces(&self) -> impl Iterator<Item = &str> {
        BUILTIN_PROTECTED_NAMESPACES
            .iter()
            .copied()
            .chain(self.protected_namespaces.iter().map(String::as_str))
    }

    pub fn is_protected(&self, namespace: &str) -> bool {
        self.protected_namespaces().any(|p| p == namespace)
    }
}

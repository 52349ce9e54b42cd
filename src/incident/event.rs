//! One responder event: `gameday respond ack | declare SEV2 | assign ic NAME |
//! update MSG | step ID | resolve | note TEXT`, from whichever channel it came.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::scenario::{AutopilotEntry, ResponderAction, RoleName};

/// Where an event came from. Scores treat them alike; the report says which,
/// so a team can tell a scripted autopilot ack from a human one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EventSource {
    /// `gameday respond` through the responder API.
    Cli,
    /// A scenario `autopilot` entry.
    Autopilot,
    /// An Alertmanager silence on an expected alert (counts as an ack).
    Silence,
    /// Posted by another tool through the API's webhook path.
    Webhook,
}

/// What the responder did. Tagged with `do`, like autopilot entries, so a
/// scenario author reads the same words in the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "camelCase")]
pub enum Action {
    Ack,
    Declare { severity: String },
    Assign { role: RoleName, person: String },
    Update { message: String },
    Step { step: String },
    Resolve,
    Note { text: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponderEvent {
    pub at: Timestamp,
    /// The person (or team) acting: `--as`, autopilot `as`, silence `createdBy`.
    #[serde(rename = "as")]
    pub person: String,
    pub source: EventSource,
    #[serde(flatten)]
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseActionError {
    #[error("no action given (expected one of ack, declare, assign, update, step, resolve, note)")]
    Empty,
    #[error(
        "unknown action `{0}` (expected one of ack, declare, assign, update, step, resolve, note)"
    )]
    Unknown(String),
    #[error("`{action}` needs {what}")]
    Missing {
        action: &'static str,
        what: &'static str,
    },
    #[error("`{action}` takes {expected}, got {got} extra word(s)")]
    Extra {
        action: &'static str,
        expected: &'static str,
        got: usize,
    },
    #[error("unknown role `{0}` (expected ic, comms, ops or sme)")]
    UnknownRole(String),
}

impl Action {
    /// Parses the words after `gameday respond`, e.g. `["assign", "ic", "alice"]`.
    /// Free text (update, note) may be one quoted word or several words.
    pub fn parse_words<S: AsRef<str>>(words: &[S]) -> Result<Action, ParseActionError> {
        let (first, rest) = words.split_first().ok_or(ParseActionError::Empty)?;
        let rest: Vec<&str> = rest.iter().map(AsRef::as_ref).collect();
        let none = |action: &'static str, a: Action| {
            if rest.is_empty() {
                Ok(a)
            } else {
                Err(ParseActionError::Extra {
                    action,
                    expected: "no arguments",
                    got: rest.len(),
                })
            }
        };
        let one = |action: &'static str, what: &'static str| match rest.as_slice() {
            [] => Err(ParseActionError::Missing { action, what }),
            [w] if !w.trim().is_empty() => Ok(w.to_string()),
            [_] => Err(ParseActionError::Missing { action, what }),
            _ => Err(ParseActionError::Extra {
                action,
                expected: what,
                got: rest.len() - 1,
            }),
        };
        let text = |action: &'static str| {
            let t = rest.join(" ");
            if t.trim().is_empty() {
                Err(ParseActionError::Missing {
                    action,
                    what: "a message",
                })
            } else {
                Ok(t)
            }
        };
        match first.as_ref() {
            "ack" => none("ack", Action::Ack),
            "resolve" => none("resolve", Action::Resolve),
            "declare" => Ok(Action::Declare {
                severity: one("declare", "a severity level, e.g. SEV2")?,
            }),
            "step" => Ok(Action::Step {
                step: one("step", "a runbook step id")?,
            }),
            "update" => Ok(Action::Update {
                message: text("update")?,
            }),
            "note" => Ok(Action::Note {
                text: text("note")?,
            }),
            "assign" => match rest.as_slice() {
                [role, person] => Ok(Action::Assign {
                    role: parse_role(role)?,
                    person: person.to_string(),
                }),
                [] | [_] => Err(ParseActionError::Missing {
                    action: "assign",
                    what: "a role and a person, e.g. `assign ic alice`",
                }),
                _ => Err(ParseActionError::Extra {
                    action: "assign",
                    expected: "a role and a person",
                    got: rest.len() - 2,
                }),
            },
            other => Err(ParseActionError::Unknown(other.to_string())),
        }
    }

    /// The runbook step id this action ticks by itself (docs/response.md,
    /// "Runbook steps"): the action's own name, for every action except
    /// `step` (which names its step) and `note` (which changes nothing).
    pub fn step_id(&self) -> Option<&'static str> {
        match self {
            Action::Ack => Some("ack"),
            Action::Declare { .. } => Some("declare"),
            Action::Assign { .. } => Some("assign"),
            Action::Update { .. } => Some("update"),
            Action::Resolve => Some("resolve"),
            Action::Step { .. } | Action::Note { .. } => None,
        }
    }

    pub fn kind(&self) -> ResponderAction {
        match self {
            Action::Ack => ResponderAction::Ack,
            Action::Declare { .. } => ResponderAction::Declare,
            Action::Assign { .. } => ResponderAction::Assign,
            Action::Update { .. } => ResponderAction::Update,
            Action::Step { .. } => ResponderAction::Step,
            Action::Resolve => ResponderAction::Resolve,
            Action::Note { .. } => ResponderAction::Note,
        }
    }
}

impl Action {
    /// What an autopilot entry does, with the validator's guarantees
    /// re-checked so a hand-built scenario cannot panic the run.
    pub fn from_autopilot(e: &AutopilotEntry) -> Result<Action, ParseActionError> {
        let need = |v: &Option<String>, action: &'static str, what: &'static str| {
            v.clone()
                .filter(|s| !s.trim().is_empty())
                .ok_or(ParseActionError::Missing { action, what })
        };
        Ok(match e.act {
            ResponderAction::Ack => Action::Ack,
            ResponderAction::Resolve => Action::Resolve,
            ResponderAction::Declare => Action::Declare {
                severity: need(&e.severity, "declare", "`severity`")?,
            },
            ResponderAction::Step => Action::Step {
                step: need(&e.step, "step", "`step`")?,
            },
            ResponderAction::Update => Action::Update {
                message: need(&e.message, "update", "`message`")?,
            },
            ResponderAction::Note => Action::Note {
                text: need(&e.message, "note", "`message`")?,
            },
            ResponderAction::Assign => Action::Assign {
                role: e.role.ok_or(ParseActionError::Missing {
                    action: "assign",
                    what: "`role`",
                })?,
                // `to` defaults to the person acting.
                person: e.to.clone().unwrap_or_else(|| e.person.clone()),
            },
        })
    }
}

/// Journal event name for responder events (`journal.jsonl`, S7).
pub const JOURNAL_EVENT: &str = "responder.event";

impl ResponderEvent {
    /// The journal entry's data: the event nested under `responder`, so its
    /// own `source` field cannot collide with the journal entry's `source`.
    pub fn journal_data(&self) -> serde_json::Value {
        serde_json::json!({ "responder": self })
    }

    /// Reads back what `journal_data` wrote; None for anything else.
    pub fn from_journal_data(
        data: &serde_json::Map<String, serde_json::Value>,
    ) -> Option<ResponderEvent> {
        serde_json::from_value(data.get("responder")?.clone()).ok()
    }
}

/// Accepts the short names people type (`ic`, `comms`, `ops`, `sme`) and the
/// scenario's own field names.
pub fn parse_role(s: &str) -> Result<RoleName, ParseActionError> {
    match s.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
        "ic" | "incidentcommander" | "commander" => Ok(RoleName::IncidentCommander),
        "comms" | "communications" | "communicationslead" | "comm" => Ok(RoleName::Communications),
        "ops" | "operations" | "operationslead" => Ok(RoleName::Operations),
        "sme" | "expert" => Ok(RoleName::Sme),
        _ => Err(ParseActionError::UnknownRole(s.to_string())),
    }
}

/// How a role reads in reports: blameless documents name roles, not people.
pub fn role_label(role: RoleName) -> &'static str {
    match role {
        RoleName::IncidentCommander => "incident commander",
        RoleName::Communications => "communications lead",
        RoleName::Operations => "operations lead",
        RoleName::Sme => "subject-matter expert",
    }
}

/// A timeline line for a responder event (names stay in the live view; the
/// blameless report rewrites them as roles).
pub fn describe(e: &ResponderEvent) -> String {
    let what = match &e.action {
        Action::Ack => "acknowledged".to_string(),
        Action::Declare { severity } => format!("declared {severity}"),
        Action::Assign { role, person } => {
            format!("assigned {} to {person}", role_label(*role))
        }
        Action::Update { message } => format!("status update: {message}"),
        Action::Step { step } => format!("runbook step {step} done"),
        Action::Resolve => "resolved".to_string(),
        Action::Note { text } => format!("note: {text}"),
    };
    format!("{} ({:?}): {what}", e.person, e.source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_action() {
        assert_eq!(Action::parse_words(&["ack"]), Ok(Action::Ack));
        assert_eq!(
            Action::parse_words(&["declare", "SEV2"]),
            Ok(Action::Declare {
                severity: "SEV2".into()
            })
        );
        assert_eq!(
            Action::parse_words(&["assign", "ic", "ic-oncall"]),
            Ok(Action::Assign {
                role: RoleName::IncidentCommander,
                person: "ic-oncall".into()
            })
        );
        assert_eq!(
            Action::parse_words(&["update", "Checkout", "degraded"]),
            Ok(Action::Update {
                message: "Checkout degraded".into()
            })
        );
        assert_eq!(
            Action::parse_words(&["step", "scale-up"]),
            Ok(Action::Step {
                step: "scale-up".into()
            })
        );
        assert_eq!(Action::parse_words(&["resolve"]), Ok(Action::Resolve));
        assert_eq!(
            Action::parse_words(&["note", "looking at dashboards"]),
            Ok(Action::Note {
                text: "looking at dashboards".into()
            })
        );
    }

    #[test]
    fn rejects_malformed_actions_with_a_reason() {
        let empty: [&str; 0] = [];
        assert_eq!(Action::parse_words(&empty), Err(ParseActionError::Empty));
        assert!(matches!(
            Action::parse_words(&["acknowledge"]),
            Err(ParseActionError::Unknown(_))
        ));
        assert!(matches!(
            Action::parse_words(&["ack", "now"]),
            Err(ParseActionError::Extra { .. })
        ));
        assert!(matches!(
            Action::parse_words(&["declare"]),
            Err(ParseActionError::Missing { .. })
        ));
        assert!(matches!(
            Action::parse_words(&["update", "  "]),
            Err(ParseActionError::Missing { .. })
        ));
        assert_eq!(
            Action::parse_words(&["assign", "boss", "x"]),
            Err(ParseActionError::UnknownRole("boss".into()))
        );
        let msg = Action::parse_words(&["assign", "ic"])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("role and a person"), "{msg}");
    }

    #[test]
    fn autopilot_entries_become_actions() {
        let entries: Vec<AutopilotEntry> = serde_yaml::from_str(
            r#"
- {at: 5s, as: ops, do: ack}
- {at: 6s, as: ic, do: declare, severity: SEV2}
- {at: 7s, as: ic, do: assign, role: communications, to: comms}
- {at: 8s, as: ops, do: assign, role: operations}
- {at: 9s, as: comms, do: update, message: hi}
- {at: 9s, as: comms, do: note, message: n}
- {at: 9s, as: ops, do: step, step: scale-up}
- {at: 9s, as: ic, do: resolve}
- {at: 9s, as: ic, do: declare}
"#,
        )
        .unwrap();
        let got: Vec<_> = entries.iter().map(Action::from_autopilot).collect();
        assert_eq!(got[0], Ok(Action::Ack));
        assert_eq!(
            got[2],
            Ok(Action::Assign {
                role: RoleName::Communications,
                person: "comms".into()
            })
        );
        assert_eq!(
            got[3],
            Ok(Action::Assign {
                role: RoleName::Operations,
                person: "ops".into()
            })
        );
        assert_eq!(got[5], Ok(Action::Note { text: "n".into() }));
        assert_eq!(got[7], Ok(Action::Resolve));
        assert!(matches!(got[8], Err(ParseActionError::Missing { .. })));
    }

    #[test]
    fn journal_data_round_trips_without_clobbering_source() {
        let e = ResponderEvent {
            at: "2026-01-01T00:00:00Z".parse().unwrap(),
            person: "erin".into(),
            source: EventSource::Silence,
            action: Action::Ack,
        };
        let v = e.journal_data();
        assert!(v.get("source").is_none());
        let map = v.as_object().unwrap();
        assert_eq!(ResponderEvent::from_journal_data(map), Some(e));
        assert_eq!(
            ResponderEvent::from_journal_data(&serde_json::Map::new()),
            None
        );
    }

    #[test]
    fn event_json_is_flat_and_tagged() {
        let e = ResponderEvent {
            at: "2026-01-01T00:00:00Z".parse().unwrap(),
            person: "ops-oncall".into(),
            source: EventSource::Autopilot,
            action: Action::Step {
                step: "scale-up".into(),
            },
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["do"], "step");
        assert_eq!(v["step"], "scale-up");
        assert_eq!(v["as"], "ops-oncall");
        assert_eq!(v["source"], "autopilot");
        let back: ResponderEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }
}

//! The facilitator's controls over a running drill (drill-v1.md,
//! "Participants"): pause and resume the clock, fire or skip an inject,
//! hand everyone a hint, end the drill. The body of `POST
//! /v1/facilitator`, and what `gameday drill control` sends.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "camelCase")]
pub enum Control {
    Pause,
    Resume,
    /// Fire inject `id` now.
    Inject {
        id: String,
    },
    /// Inject `id` will not fire.
    Skip {
        id: String,
    },
    /// A message to all.
    Hint {
        text: String,
    },
    End,
}

impl Control {
    /// The journal event name (`facilitator.pause`, ...).
    pub fn event(&self) -> &'static str {
        match self {
            Control::Pause => "facilitator.pause",
            Control::Resume => "facilitator.resume",
            Control::Inject { .. } => "facilitator.inject",
            Control::Skip { .. } => "facilitator.skip",
            Control::Hint { .. } => "facilitator.hint",
            Control::End => "facilitator.end",
        }
    }

    /// From the CLI's words: `pause`, `resume`, `inject ID`, `skip ID`,
    /// `hint TEXT...`, `end`.
    pub fn parse(words: &[String]) -> Result<Control, ControlParseError> {
        let rest = || words[1..].join(" ");
        let one = |what: &'static str| match words {
            [_, id] if !id.trim().is_empty() => Ok(id.clone()),
            _ => Err(ControlParseError::NeedsId(what)),
        };
        match words.first().map(String::as_str) {
            Some("pause") if words.len() == 1 => Ok(Control::Pause),
            Some("resume") if words.len() == 1 => Ok(Control::Resume),
            Some("end") if words.len() == 1 => Ok(Control::End),
            Some("inject") => one("inject").map(|id| Control::Inject { id }),
            Some("skip") => one("skip").map(|id| Control::Skip { id }),
            Some("hint") if !rest().trim().is_empty() => Ok(Control::Hint { text: rest() }),
            Some("hint") => Err(ControlParseError::NeedsText),
            Some(w) => Err(ControlParseError::Unknown(w.to_string())),
            None => Err(ControlParseError::Missing),
        }
    }
}

/// Words that are not a facilitator control, said with the list of those
/// that are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlParseError {
    #[error("`{0}` needs one inject id")]
    NeedsId(&'static str),
    #[error("`hint` needs a text")]
    NeedsText,
    #[error("unknown control `{0}` (expected {EXPECTED})")]
    Unknown(String),
    #[error("no control given (expected {EXPECTED})")]
    Missing,
}

/// A well-formed control the running drill cannot carry out now; the
/// facilitator gets it as a 400 with this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlRefused {
    #[error("no inject `{0}` in this drill")]
    NoSuchInject(String),
    #[error("inject `{0}` has already fired or been settled")]
    AlreadySettled(String),
    #[error("the drill is already paused")]
    AlreadyPaused,
    #[error("the drill is not paused")]
    NotPaused,
}

const EXPECTED: &str = "pause, resume, inject ID, skip ID, hint TEXT or end";

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn the_cli_words_parse_to_controls() {
        assert_eq!(Control::parse(&words("pause")), Ok(Control::Pause));
        assert_eq!(
            Control::parse(&words("inject page")),
            Ok(Control::Inject { id: "page".into() })
        );
        assert_eq!(
            Control::parse(&words("hint look at the deploy")),
            Ok(Control::Hint {
                text: "look at the deploy".into()
            })
        );
        assert!(Control::parse(&words("skip")).is_err());
        assert!(Control::parse(&words("pause now")).is_err());
        assert_eq!(
            serde_json::to_value(Control::Skip { id: "x".into() }).unwrap(),
            serde_json::json!({"do": "skip", "id": "x"})
        );
    }
}

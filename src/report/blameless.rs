//! Keeping the postmortem draft blameless: people appear as the roles they
//! held, and any name typed into free text (an update, a note) is replaced
//! by that person's role. Only the roles table names people.

use jiff::Timestamp;

use super::model::RunReport;
use crate::incident::{EventSource, RoleBook, role_label};

/// The name-to-role view of one report, built once per rendering: the
/// role book and every known name with the label that replaces it.
pub struct Blameless {
    book: RoleBook,
    /// Longest first, so `ops-oncall-2` is not half-replaced by `ops-oncall`.
    names: Vec<(String, String)>,
}

impl Blameless {
    pub fn new(report: &RunReport) -> Blameless {
        let book = RoleBook::from_assignments(report.roles.iter().cloned());
        let end = report.scenario_end();
        let mut names: Vec<(String, String)> = report
            .people()
            .into_iter()
            .map(|name| {
                let label = match book.roles_of(&name, end).first() {
                    Some(r) => format!("[{}]", role_label(*r)),
                    None => "[responder]".to_string(),
                };
                (name, label)
            })
            .collect();
        names.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
        Blameless { book, names }
    }

    /// How an actor reads in the draft: `the incident commander`, or
    /// `a responder` for someone without a role at that moment.
    pub fn actor(&self, person: &str, at: Timestamp, source: EventSource) -> String {
        let roles = self.book.roles_of(person, at);
        let who = if roles.is_empty() {
            "a responder".to_string()
        } else {
            let labels: Vec<&str> = roles.iter().map(|r| role_label(*r)).collect();
            format!("the {}", labels.join(" and "))
        };
        match source {
            EventSource::Autopilot => format!("{who} (autopilot)"),
            EventSource::Silence => format!("{who} (via an Alertmanager silence)"),
            EventSource::Cli | EventSource::Webhook => who,
        }
    }

    /// Replaces every whole-word occurrence of a known name in `text` with
    /// `[role]` (the role they ended the run with) or `[responder]`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (name, label) in &self.names {
            if out.contains(name.as_str()) {
                out = replace_word(&out, name, label);
            }
        }
        out
    }
}

/// One-off scrub; build a `Blameless` when scrubbing many texts.
pub fn scrub(report: &RunReport, text: &str) -> String {
    Blameless::new(report).scrub(text)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '_' || c == '.' || c == '@'
}

fn replace_word(text: &str, word: &str, with: &str) -> String {
    if word.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(word) {
        let before = rest[..i].chars().next_back();
        let mut tail = rest[i + word.len()..].chars();
        // A trailing '.' ends a sentence unless more of a name follows it.
        let after = match tail.next() {
            Some('.') => tail.next().filter(|c| c.is_alphanumeric()),
            c => c,
        };
        out.push_str(&rest[..i]);
        if before.is_some_and(is_word_char) || after.is_some_and(is_word_char) {
            out.push_str(word);
        } else {
            out.push_str(with);
        }
        rest = &rest[i + word.len()..];
    }
    out.push_str(rest);
    out
}

impl RunReport {
    /// The last moment the report covers.
    pub fn scenario_end(&self) -> Timestamp {
        self.ended
            .or(self.scorecard.metrics.t_resolve)
            .unwrap_or(self.started)
    }
}

#[cfg(test)]
mod tests {
    use super::replace_word;

    #[test]
    fn whole_words_only() {
        assert_eq!(
            replace_word("al and alice, alice-2", "alice", "[x]"),
            "al and [x], alice-2"
        );
        assert_eq!(replace_word("alice", "alice", "[x]"), "[x]");
        assert_eq!(replace_word("malice", "alice", "[x]"), "malice");
        assert_eq!(replace_word("ping ic.", "ic", "[x]"), "ping [x].");
        assert_eq!(replace_word("ic.smith ic", "ic", "[x]"), "ic.smith [x]");
    }
}

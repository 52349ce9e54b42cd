//! Alertmanager label matchers, as routes use them: the `matchers:` strings
//! (`severity="critical"`, `{team=~"a|b", env!="dev"}`) and the legacy
//! `match` / `match_re` maps.
//!
//! Modelled on alertmanager's `pkg/labels/parse.go` (`ParseMatchers`,
//! `ParseMatcher`) and `matcher.go`: a string may hold several matchers,
//! comma-separated outside double quotes, with optional braces; a value may
//! be quoted, with `\"`, `\\` and `\n` escapes; regexes are anchored
//! (`^(?:re)$`); a label the alert does not have matches as the empty string.

use std::collections::BTreeMap;

use regex::Regex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    pub op: Op,
    pub value: String,
    /// The anchored regex, for `=~` and `!~`.
    regex: Option<Regex>,
}

/// Why Alertmanager would refuse a matcher (and so the config).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatcherError {
    #[error("invalid regex `{value}`: {message}")]
    Regex { value: String, message: String },
    #[error("bad matcher format: `{0}`")]
    Format(String),
    #[error("matcher value contains an unescaped double quote: `{0}`")]
    Quote(String),
    #[error("a matcher must be a string like `severity=\"critical\"`")]
    NotString,
}

impl Matcher {
    /// A matcher; an invalid regex is an error (Alertmanager refuses the config).
    pub fn new(name: &str, op: Op, value: &str) -> Result<Matcher, MatcherError> {
        let regex = match op {
            Op::Regex | Op::NotRegex => Some(Regex::new(&format!("^(?:{value})$")).map_err(
                |e| MatcherError::Regex {
                    value: value.to_string(),
                    message: e.to_string(),
                },
            )?),
            _ => None,
        };
        Ok(Matcher {
            name: name.to_string(),
            op,
            value: value.to_string(),
            regex,
        })
    }

    /// Whether the alert's labels satisfy this matcher.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let v = labels.get(&self.name).map_or("", String::as_str);
        match (self.op, &self.regex) {
            (Op::Equal, _) => v == self.value,
            (Op::NotEqual, _) => v != self.value,
            (Op::Regex, Some(re)) => re.is_match(v),
            (Op::NotRegex, Some(re)) => !re.is_match(v),
            (Op::Regex | Op::NotRegex, None) => false,
        }
    }
}

/// Parses one `matchers:` entry, which may hold several matchers.
pub fn parse_matchers(s: &str) -> Result<Vec<Matcher>, MatcherError> {
    let s = s.strip_prefix('{').unwrap_or(s);
    let s = s.strip_suffix('}').unwrap_or(s);
    let mut tokens = Vec::new();
    let mut token = String::new();
    let (mut quoted, mut escaped) = (false, false);
    for c in s.chars() {
        match c {
            ',' if !quoted => {
                tokens.push(std::mem::take(&mut token));
                continue;
            }
            '"' if !escaped => quoted = !quoted,
            '"' => escaped = false,
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
        token.push(c);
    }
    if !token.trim().is_empty() {
        tokens.push(token);
    }
    tokens.iter().map(|t| parse_matcher(t)).collect()
}

/// Parses `name op value`.
pub fn parse_matcher(s: &str) -> Result<Matcher, MatcherError> {
    let bad = || MatcherError::Format(s.to_string());
    let t = s.trim();
    let name_end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .ok_or_else(bad)?;
    let name = &t[..name_end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(bad());
    }
    let rest = t[name_end..].trim_start();
    let (op, raw) = [
        ("=~", Op::Regex),
        ("!~", Op::NotRegex),
        ("!=", Op::NotEqual),
        ("=", Op::Equal),
    ]
    .iter()
    .find_map(|(tok, op)| rest.strip_prefix(tok).map(|r| (*op, r.trim())))
    .ok_or_else(bad)?;
    let value = unquote(raw).ok_or_else(|| MatcherError::Quote(s.to_string()))?;
    Matcher::new(name, op, &value)
}

/// The matcher value with its optional quotes and escapes removed; `None`
/// for an unescaped double quote inside it.
fn unquote(raw: &str) -> Option<String> {
    let (body, quoted) = match raw.strip_prefix('"') {
        Some(b) => (b, true),
        None => (raw, false),
    };
    let mut out = String::new();
    let mut chars = body.chars().peekable();
    let mut closed = !quoted;
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some() => match chars.next() {
                Some('n') => out.push('\n'),
                Some(e @ ('"' | '\\')) => out.push(e),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '"' if quoted && chars.peek().is_none() => closed = true,
            '"' => return None,
            _ => out.push(c),
        }
    }
    closed.then_some(out)
}

/// A label set from pairs, for the tests of this module and `routing`.
#[cfg(test)]
pub(crate) fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_matchers_in_braces_with_quoted_commas() {
        let ms = parse_matchers(r#"{team=~"a|b", note="x, y", env!=dev}"#).unwrap();
        assert_eq!(ms.len(), 3);
        assert_eq!(ms[1].value, "x, y");
        let l = labels(&[("team", "a"), ("note", "x, y")]);
        assert!(ms.iter().all(|m| m.matches(&l)));
    }

    #[test]
    fn regexes_are_anchored_and_missing_labels_are_empty() {
        let m = parse_matcher(r#"severity=~"crit""#).unwrap();
        assert!(!m.matches(&labels(&[("severity", "critical")])));
        let m = parse_matcher(r#"team="""#).unwrap();
        assert!(m.matches(&labels(&[])));
    }

    #[test]
    fn a_stray_quote_is_an_error() {
        assert!(parse_matcher(r#"a="b"c""#).is_err());
        assert!(parse_matcher("=b").is_err());
    }
}

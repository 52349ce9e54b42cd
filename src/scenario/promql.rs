//! Offline PromQL checks. promql-parser compiles every `=~`/`!~` matcher into
//! a full regex automaton, which costs far more than the rest of validating a
//! file. Validation only needs to know the regex is well-formed, so matcher
//! literals are checked with `regex-syntax` (a parse, no compilation) and the
//! query is parsed with those literals emptied. Anything unusual (escapes,
//! Go-only regex syntax) takes the slow path through the real parser, so the
//! verdict is always promql-parser's.

/// A query that does not parse, with promql-parser's message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct PromqlError(pub String);

/// Checks that a query parses; the error is promql-parser's message.
pub fn check(query: &str) -> Result<(), PromqlError> {
    parse(query)
}

/// promql-parser's verdict, by the fast path when it can be taken.
fn parse(query: &str) -> Result<(), PromqlError> {
    if let Some((stripped, regexes)) = strip_regex_literals(query) {
        let all_ok = regexes.iter().all(|re| {
            regex_syntax::Parser::new()
                .parse(&format!("^(?:{re})$"))
                .is_ok()
        });
        if all_ok {
            return promql_parser::parser::parse(&stripped)
                .map(|_| ())
                .map_err(PromqlError);
        }
    }
    promql_parser::parser::parse(query)
        .map(|_| ())
        .map_err(PromqlError)
}

/// The query with every plain regex matcher literal emptied, and those
/// literals. None when there is nothing to strip.
fn strip_regex_literals(query: &str) -> Option<(String, Vec<&str>)> {
    let bytes = query.as_bytes();
    let mut out = String::with_capacity(query.len());
    let mut regexes = Vec::new();
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                i = query[i..].find('\n').map_or(bytes.len(), |n| i + n);
            }
            q @ (b'"' | b'\'' | b'`') => {
                i = literal_end(bytes, i, q)?;
            }
            b'=' | b'!' if bytes.get(i + 1) == Some(&b'~') => {
                let mut j = i + 2;
                while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                    j += 1;
                }
                let q = *bytes.get(j)?;
                if !matches!(q, b'"' | b'\'' | b'`') {
                    i = j;
                    continue;
                }
                let end = literal_end(bytes, j, q)?;
                let content = &query[j + 1..end - 1];
                if q == b'`' || !content.contains('\\') {
                    out.push_str(&query[copied..=j]);
                    out.push(q as char);
                    copied = end;
                    regexes.push(content);
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    if regexes.is_empty() {
        return None;
    }
    out.push_str(&query[copied..]);
    Some((out, regexes))
}

/// The index just past the closing quote of the literal opening at `start`.
fn literal_end(bytes: &[u8], start: usize, quote: u8) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote != b'`' => i += 2,
            c if c == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_parser() {
        let queries = [
            r#"sum(rate(http_requests_total{code!~"5..",job=~`api|web`}[1m]))"#,
            r#"up{job=~"a(b"}"#,
            r#"up{job=~"a{2}"}"#,
            r#"up{job=~"foo{bar}"}"#,
            r#"up{job=~"\\d+"}"#,
            r#"up{job="=~\"x("} # comment =~ "("#,
            r#"sum(rate(x[5m])) /"#,
            r#"up{job=~"#,
            "up",
        ];
        for q in queries {
            assert_eq!(
                check(q).is_ok(),
                promql_parser::parser::parse(q).is_ok(),
                "{q}"
            );
        }
    }

    #[test]
    fn strips_only_plain_regex_literals() {
        let (s, r) = strip_regex_literals(r#"x{a=~"5..", b!~ 'c', d="=~\"e"}"#).unwrap();
        assert_eq!(s, r#"x{a=~"", b!~ '', d="=~\"e"}"#);
        assert_eq!(r, ["5..", "c"]);
        assert!(strip_regex_literals("up").is_none());
    }
}

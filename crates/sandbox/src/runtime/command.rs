//! Parsing what a container runs: the argv of `command`+`args`, and the
//! scripts `sh -c` is given. The shell grammar is the part of POSIX sh the
//! model needs: and-or lists (`&&`, `||`), sequences (`;`, newlines),
//! pipelines (`|`), `!`, single and double quotes, and redirections to
//! /dev/null (ignored). Anything else (`if`, `$(...)`, loops) is a syntax
//! error, which `sh` reports like dash does, rather than a guess.

/// How a pipeline joins the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    /// First item, or after `;`: always runs.
    Then,
    /// After `&&`: runs when the previous status was 0.
    And,
    /// After `||`: runs when the previous status was not 0.
    Or,
}

/// One pipeline: its commands' argv, left to right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    pub negate: bool,
    pub commands: Vec<Vec<String>>,
}

/// A parsed script: and-or items evaluated left to right (POSIX and-or
/// lists are left-associative with equal precedence).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Script {
    pub items: Vec<(Join, Pipeline)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("Syntax error: Unterminated quoted string")]
    Unterminated,
    #[error("Syntax error: \"{0}\" unexpected")]
    Unexpected(String),
    #[error("Syntax error: {0} is not supported by the sandbox's shell")]
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    And,
    Or,
    Semi,
    Pipe,
}

const KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
];

fn tokenize(s: &str) -> Result<Vec<Tok>, ParseError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    let flush = |cur: &mut String, in_word: &mut bool, out: &mut Vec<Tok>| {
        if *in_word {
            out.push(Tok::Word(std::mem::take(cur)));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => cur.push(ch),
                        None => return Err(ParseError::Unterminated),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch) => cur.push(ch),
                            None => return Err(ParseError::Unterminated),
                        },
                        Some('$') => return Err(ParseError::Unsupported("expansion".into())),
                        Some(ch) => cur.push(ch),
                        None => return Err(ParseError::Unterminated),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(ch) = chars.next() {
                    cur.push(ch);
                }
            }
            '$' | '`' | '(' | ')' | '{' | '}' | '<' => {
                return Err(ParseError::Unsupported(c.to_string()));
            }
            '&' => {
                flush(&mut cur, &mut in_word, &mut out);
                if chars.peek() == Some(&'&') {
                    chars.next();
                    out.push(Tok::And);
                } else {
                    return Err(ParseError::Unsupported("& (background jobs)".into()));
                }
            }
            '|' => {
                flush(&mut cur, &mut in_word, &mut out);
                if chars.peek() == Some(&'|') {
                    chars.next();
                    out.push(Tok::Or);
                } else {
                    out.push(Tok::Pipe);
                }
            }
            ';' | '\n' => {
                flush(&mut cur, &mut in_word, &mut out);
                out.push(Tok::Semi);
            }
            '>' => {
                // `>/dev/null`, `2>/dev/null`, `2>&1`: output is discarded
                // or merged; the model keeps one output stream either way.
                if in_word && cur.chars().all(|d| d.is_ascii_digit()) {
                    cur.clear();
                    in_word = false;
                } else {
                    flush(&mut cur, &mut in_word, &mut out);
                }
                if chars.peek() == Some(&'&') {
                    chars.next();
                }
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                while chars
                    .peek()
                    .is_some_and(|c| !c.is_whitespace() && !";|&".contains(*c))
                {
                    chars.next();
                }
            }
            c if c.is_whitespace() => flush(&mut cur, &mut in_word, &mut out),
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    flush(&mut cur, &mut in_word, &mut out);
    Ok(out)
}

/// Parses a `sh -c` script.
pub fn parse_script(s: &str) -> Result<Script, ParseError> {
    let mut script = Script::default();
    let mut join = Join::Then;
    let mut pipeline = Pipeline {
        negate: false,
        commands: Vec::new(),
    };
    let mut words: Vec<String> = Vec::new();
    let unexpected = |t: &Tok| {
        ParseError::Unexpected(
            match t {
                Tok::And => "&&",
                Tok::Or => "||",
                Tok::Semi => ";",
                Tok::Pipe => "|",
                Tok::Word(_) => "word",
            }
            .into(),
        )
    };
    for t in tokenize(s)? {
        match t {
            Tok::Word(w) => {
                if words.is_empty() && KEYWORDS.contains(&w.as_str()) {
                    return Err(ParseError::Unsupported(w));
                }
                if words.is_empty() && pipeline.commands.is_empty() && w == "!" {
                    pipeline.negate = !pipeline.negate;
                } else {
                    words.push(w);
                }
            }
            Tok::Pipe => {
                if words.is_empty() {
                    return Err(unexpected(&t));
                }
                pipeline.commands.push(std::mem::take(&mut words));
            }
            Tok::And | Tok::Or | Tok::Semi => {
                if words.is_empty() {
                    // `a;` and blank lines are fine; `a && ;` is not.
                    if t == Tok::Semi && pipeline.commands.is_empty() && !pipeline.negate {
                        continue;
                    }
                    return Err(unexpected(&t));
                }
                pipeline.commands.push(std::mem::take(&mut words));
                script.items.push((
                    join,
                    std::mem::replace(
                        &mut pipeline,
                        Pipeline {
                            negate: false,
                            commands: Vec::new(),
                        },
                    ),
                ));
                join = match t {
                    Tok::And => Join::And,
                    Tok::Or => Join::Or,
                    _ => Join::Then,
                };
            }
        }
    }
    if !words.is_empty() {
        pipeline.commands.push(words);
        script.items.push((join, pipeline));
    } else if join != Join::Then || !pipeline.commands.is_empty() {
        return Err(ParseError::Unexpected("end of file".into()));
    }
    Ok(script)
}

/// A duration argument as `sleep`, `timeout` and stress-ng take it:
/// `30`, `30s`, `2m`, `1h`, `1.5`; `infinity` is None.
pub fn duration_arg(s: &str) -> Option<Option<std::time::Duration>> {
    if s == "infinity" {
        return Some(None);
    }
    let (num, mult) = match s.char_indices().last()? {
        (i, 's') => (&s[..i], 1.0),
        (i, 'm') => (&s[..i], 60.0),
        (i, 'h') => (&s[..i], 3600.0),
        (i, 'd') => (&s[..i], 86400.0),
        _ => (s, 1.0),
    };
    let n: f64 = num.parse().ok()?;
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    // Anything past a year is a year: no Instant arithmetic can overflow.
    Some(Some(std::time::Duration::from_secs_f64(
        (n * mult).min(365.0 * 86400.0),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmds(s: &Script) -> Vec<(Join, bool, Vec<Vec<String>>)> {
        s.items
            .iter()
            .map(|(j, p)| (*j, p.negate, p.commands.clone()))
            .collect()
    }

    fn w(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn and_or_lists_sequences_and_pipelines() {
        let s = parse_script(
            "tc qdisc add dev eth0 root netem delay 200ms && sleep 30; tc qdisc del dev eth0 root || ! tc qdisc show dev eth0 | grep -q 'netem 7a11:'",
        )
        .unwrap();
        let c = cmds(&s);
        assert_eq!(c.len(), 4);
        assert_eq!(c[0].0, Join::Then);
        assert_eq!(c[1], (Join::And, false, vec![w(&["sleep", "30"])]));
        assert_eq!(c[2].0, Join::Then);
        assert_eq!(c[3].0, Join::Or);
        assert!(c[3].1);
        assert_eq!(c[3].2[1], w(&["grep", "-q", "netem 7a11:"]));
    }

    #[test]
    fn quotes_and_redirections() {
        let s =
            parse_script("echo \"a b\" 'c;d' 2>/dev/null; pkill -f '^sleep 5$' >/dev/null 2>&1")
                .unwrap();
        assert_eq!(s.items[0].1.commands[0], w(&["echo", "a b", "c;d"]));
        assert_eq!(s.items[1].1.commands[0], w(&["pkill", "-f", "^sleep 5$"]));
    }

    #[test]
    fn what_the_model_does_not_know_is_a_syntax_error() {
        assert!(matches!(
            parse_script("if true; then echo; fi"),
            Err(ParseError::Unsupported(_))
        ));
        assert!(matches!(
            parse_script("echo $(date)"),
            Err(ParseError::Unsupported(_))
        ));
        assert_eq!(parse_script("echo 'x"), Err(ParseError::Unterminated));
        assert!(matches!(
            parse_script("a &&"),
            Err(ParseError::Unexpected(_))
        ));
        assert!(matches!(
            parse_script("&& a"),
            Err(ParseError::Unexpected(_))
        ));
        assert!(parse_script("a;\n\nb;").is_ok());
    }

    #[test]
    fn durations() {
        use std::time::Duration;
        assert_eq!(duration_arg("30"), Some(Some(Duration::from_secs(30))));
        assert_eq!(duration_arg("2m"), Some(Some(Duration::from_secs(120))));
        assert_eq!(duration_arg("0.5s"), Some(Some(Duration::from_millis(500))));
        assert_eq!(duration_arg("infinity"), Some(None));
        assert_eq!(duration_arg("-1"), None);
        assert_eq!(duration_arg("x"), None);
        assert!(duration_arg("1e300").is_some());
    }
}

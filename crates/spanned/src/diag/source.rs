//! The text a diagnostic points into, so that positions turn into the
//! offending line and a caret without re-reading the file.

use super::Diagnostic;

/// A position in a source text: 1-based line and column (in characters), and
/// the number of characters the node covers on that line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord, Hash)]
pub struct Span {
    pub line: u32,
    pub col: u32,
    pub len: u32,
}

impl Span {
    pub fn new(line: usize, col: usize, len: usize) -> Self {
        let clamp = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        Span {
            line: clamp(line.max(1)),
            col: clamp(col.max(1)),
            len: clamp(len.max(1)),
        }
    }
}

/// A named source text with its line starts indexed once.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    pub name: &'a str,
    pub text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    pub fn new(name: &'a str, text: &'a str) -> Self {
        let mut line_starts = Vec::with_capacity(text.len() / 32 + 1);
        line_starts.push(0);
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source {
            name,
            text,
            line_starts,
        }
    }

    /// The text of a 1-based line, without its line break.
    pub fn line(&self, line: usize) -> Option<&'a str> {
        let start = *self.line_starts.get(line.checked_sub(1)?)?;
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |&next| next - 1);
        let s = self.text.get(start..end)?;
        Some(s.strip_suffix('\r').unwrap_or(s))
    }

    /// The text a span covers (clamped to its line).
    pub fn snippet(&self, span: Span) -> &'a str {
        let Some(line) = self.line(span.line as usize) else {
            return "";
        };
        let mut chars = line.char_indices().skip(span.col as usize - 1);
        let Some((start, _)) = chars.next() else {
            return "";
        };
        let end = line
            .char_indices()
            .nth(span.col as usize - 1 + span.len as usize)
            .map_or(line.len(), |(i, _)| i);
        line.get(start..end).unwrap_or("")
    }

    /// An error at a span, carrying the offending line for the caret rendering.
    pub fn error(&self, span: Span, message: impl Into<String>) -> Diagnostic {
        // Parsers may place end-of-input nodes on the line after the last.
        let span = if self.line(span.line as usize).is_none() {
            self.end_span()
        } else {
            span
        };
        let line = span.line as usize;
        let source_line = self.line(line).map(str::to_string);
        let mut length = span.len.max(1) as usize;
        if let Some(text) = &source_line {
            // Keep the caret on the line even when a node runs past its end.
            let avail = text.chars().count().saturating_sub(span.col as usize - 1);
            length = length.min(avail.max(1));
        }
        Diagnostic {
            file: self.name.to_string(),
            line: line.max(1),
            column: (span.col as usize).max(1),
            severity: super::Severity::Error,
            message: message.into(),
            hint: None,
            source_line,
            length,
        }
    }

    /// The span of the last character of the text, for "unexpected end" errors.
    pub fn end_span(&self) -> Span {
        let last = self.line_starts.len();
        let line = if self.text.ends_with('\n') && last > 1 {
            last - 1
        } else {
            last
        };
        let col = self.line(line).map_or(0, |l| l.chars().count());
        Span::new(line, col.max(1), 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_snippets() {
        let s = Source::new("f.yaml", "a: 1\r\nbb: héllo\n");
        assert_eq!(s.line(1), Some("a: 1"));
        assert_eq!(s.line(2), Some("bb: héllo"));
        assert_eq!(s.line(3), Some(""));
        assert_eq!(s.line(4), None);
        assert_eq!(s.snippet(Span::new(2, 5, 5)), "héllo");
        assert_eq!(s.snippet(Span::new(2, 5, 50)), "héllo");
        let d = s.error(Span::new(2, 5, 50), "x");
        assert_eq!((d.line, d.column, d.length), (2, 5, 5));
    }
}

//! Builds the spanned tree from yaml-rust2's parser events. We drive the event
//! stream ourselves (no recursion, so hostile nesting cannot blow the stack)
//! and resolve scalars with the YAML 1.2 core schema, as serde_yaml does.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::node::{Entry, Node, Value};
use crate::diag::{Diagnostic, Source, Span};

/// Deeper than any hand-written file; keeps hostile input bounded.
const MAX_DEPTH: usize = 128;
/// Nodes that aliases may copy in one file (the "billion laughs" guard).
const MAX_ALIAS_NODES: usize = 100_000;

/// One document of a (possibly multi-document) file.
#[derive(Debug, Clone)]
pub struct Document {
    pub root: Node,
}

/// Parses every document of a file. Documents completed before a syntax error
/// are still returned, so their mistakes are reported too.
pub fn parse(src: &Source<'_>) -> (Vec<Document>, Vec<Diagnostic>) {
    let mut builder = Builder::new(src);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut parser = Parser::new_from_str(src.text);
        loop {
            match parser.next_token() {
                Ok((Event::StreamEnd, _)) => break Ok(()),
                Ok((ev, mark)) => {
                    if let Err(d) = builder.event(ev, mark) {
                        break Err(d);
                    }
                }
                Err(e) => {
                    let m = e.marker();
                    // At end of input the scanner may report the line after
                    // the last one; keep the caret on real text.
                    let mut span = Span::new(m.line(), m.col() + 1, 1);
                    if src.line(m.line()).is_none() {
                        span = src.end_span();
                    }
                    break Err(Box::new(
                        src.error(span, format!("YAML syntax error: {}", e.info()))
                            .with_hint(syntax_hint(e.info())),
                    ));
                }
            }
        }
    }));
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(d)) => builder.diags.push(*d),
        Err(_) => builder
            .diags
            .push(src.error(Span::new(1, 1, 1), "the YAML parser failed on this file")),
    }
    (builder.docs, builder.diags)
}

fn syntax_hint(info: &str) -> String {
    if info.contains("tab") {
        "YAML indentation must use spaces, not tabs".into()
    } else if info.contains("mapping values are not allowed") {
        "a `:` inside a value needs quotes, or the line is indented too far".into()
    } else if info.contains("did not find expected key") || info.contains("block end") {
        "check the indentation of this line against the lines above it".into()
    } else {
        "check the quoting, brackets and indentation around this position".into()
    }
}

enum Frame {
    Seq {
        span: Span,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        span: Span,
        anchor: usize,
        entries: Vec<Entry>,
        merges: Vec<Node>,
        key: Option<Node>,
    },
}

struct Builder<'s, 'a> {
    src: &'s Source<'a>,
    /// Char index -> byte offset, only built for non-ASCII text.
    char_bytes: Option<Vec<usize>>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    alias_budget: usize,
    docs: Vec<Document>,
    diags: Vec<Diagnostic>,
}

type Step = Result<(), Box<Diagnostic>>;

impl<'s, 'a> Builder<'s, 'a> {
    fn new(src: &'s Source<'a>) -> Self {
        let char_bytes =
            (!src.text.is_ascii()).then(|| src.text.char_indices().map(|(i, _)| i).collect());
        Builder {
            src,
            char_bytes,
            stack: Vec::new(),
            anchors: HashMap::new(),
            alias_budget: MAX_ALIAS_NODES,
            docs: Vec::new(),
            diags: Vec::new(),
        }
    }

    fn span_at(&self, mark: &Marker, len: usize) -> Span {
        Span::new(mark.line(), mark.col() + 1, len)
    }

    fn byte_offset(&self, char_index: usize) -> usize {
        match &self.char_bytes {
            None => char_index,
            Some(t) => t.get(char_index).copied().unwrap_or(self.src.text.len()),
        }
    }

    /// How many characters a quoted scalar covers on its first line,
    /// closing quote included.
    fn quoted_len(&self, mark: &Marker, quote: char) -> usize {
        let start = self.byte_offset(mark.index());
        let rest = self.src.text.get(start..).unwrap_or("");
        let line = rest.split('\n').next().unwrap_or("");
        let mut chars = line.chars().enumerate().skip(1).peekable();
        while let Some((i, c)) = chars.next() {
            if quote == '"' && c == '\\' {
                chars.next();
            } else if c == quote {
                if quote == '\'' && chars.peek().is_some_and(|&(_, n)| n == '\'') {
                    chars.next();
                } else {
                    return i + 1;
                }
            }
        }
        line.chars().count()
    }

    fn event(&mut self, ev: Event, mark: Marker) -> Step {
        match ev {
            Event::StreamStart | Event::Nothing | Event::StreamEnd => Ok(()),
            Event::DocumentStart => {
                self.anchors.clear();
                Ok(())
            }
            Event::DocumentEnd => Ok(()),
            Event::Alias(id) => {
                let span = self.span_at(&mark, 1);
                let Some((node, size)) = self.anchors.get(&id) else {
                    return Err(Box::new(self.src.error(span, "unknown alias")));
                };
                if *size > self.alias_budget {
                    return Err(Box::new(
                        self.src
                            .error(span, "aliases expand to too many nodes")
                            .with_hint("this file repeats anchors so often that it would not fit in memory"),
                    ));
                }
                self.alias_budget -= *size;
                let node = node.clone();
                self.complete(node, 0)
            }
            Event::Scalar(text, style, anchor, tag) => {
                let len = match style {
                    TScalarStyle::Plain if !text.contains('\n') => text.chars().count(),
                    TScalarStyle::SingleQuoted => self.quoted_len(&mark, '\''),
                    TScalarStyle::DoubleQuoted => self.quoted_len(&mark, '"'),
                    _ => 1,
                };
                let span = self.span_at(&mark, len);
                let value = self.resolve(text, style, tag.as_ref(), span)?;
                self.complete(Node::new(span, value), anchor)
            }
            Event::SequenceStart(anchor, tag) => {
                let span = self.span_at(&mark, 1);
                self.check_collection_tag(tag.as_ref(), "seq", span)?;
                self.push(Frame::Seq {
                    span,
                    anchor,
                    items: Vec::new(),
                })
            }
            Event::MappingStart(anchor, tag) => {
                let span = self.span_at(&mark, 1);
                self.check_collection_tag(tag.as_ref(), "map", span)?;
                self.push(Frame::Map {
                    span,
                    anchor,
                    entries: Vec::new(),
                    merges: Vec::new(),
                    key: None,
                })
            }
            Event::SequenceEnd => match self.stack.pop() {
                Some(Frame::Seq {
                    span,
                    anchor,
                    items,
                }) => {
                    let span = self.flow_span(span);
                    self.complete(Node::new(span, Value::Seq(items)), anchor)
                }
                _ => Err(Box::new(
                    self.src
                        .error(self.span_at(&mark, 1), "unbalanced sequence end"),
                )),
            },
            Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Map {
                    span,
                    anchor,
                    mut entries,
                    merges,
                    ..
                }) => {
                    self.apply_merges(&mut entries, merges);
                    let span = match entries.first() {
                        Some(first) if !self.is_flow(span) => first.key.span,
                        _ => self.flow_span(span),
                    };
                    self.complete(Node::new(span, Value::Map(entries)), anchor)
                }
                _ => Err(Box::new(
                    self.src
                        .error(self.span_at(&mark, 1), "unbalanced mapping end"),
                )),
            },
        }
    }

    /// Whether a collection starts with `{` or `[` (flow style).
    fn is_flow(&self, span: Span) -> bool {
        self.src
            .line(span.line as usize)
            .and_then(|l| l.chars().nth(span.col as usize - 1))
            .is_some_and(|c| c == '{' || c == '[')
    }

    /// A flow collection's span covers it up to the matching bracket when that
    /// is on the same line, so the caret underlines all of `{percnt: 33}`.
    fn flow_span(&self, span: Span) -> Span {
        let Some(line) = self.src.line(span.line as usize) else {
            return span;
        };
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        for (i, c) in line.chars().skip(span.col as usize - 1).enumerate() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '{' | '[') => depth += 1,
                (None, '}' | ']') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Span {
                            len: i as u32 + 1,
                            ..span
                        };
                    }
                }
                _ if i == 0 => return span,
                _ => {}
            }
        }
        span
    }

    fn push(&mut self, frame: Frame) -> Step {
        if self.stack.len() >= MAX_DEPTH {
            let span = match &frame {
                Frame::Seq { span, .. } | Frame::Map { span, .. } => *span,
            };
            return Err(Box::new(
                self.src
                    .error(span, format!("nesting deeper than {MAX_DEPTH} levels")),
            ));
        }
        self.stack.push(frame);
        Ok(())
    }

    fn complete(&mut self, node: Node, anchor: usize) -> Step {
        if anchor > 0 {
            let size = count_nodes(&node);
            self.anchors.insert(anchor, (node.clone(), size));
        }
        let src = self.src;
        match self.stack.last_mut() {
            None => {
                self.docs.push(Document { root: node });
                Ok(())
            }
            Some(Frame::Seq { items, .. }) => {
                items.push(node);
                Ok(())
            }
            Some(Frame::Map {
                entries,
                merges,
                key,
                ..
            }) => {
                match key.take() {
                    None => *key = Some(node),
                    Some(k) => {
                        if k.as_str() == Some("<<") && k.span.len == 2 {
                            merges.push(node);
                        } else if let Some(first) = entries.iter().find(|e| same_key(&e.key, &k)) {
                            let name = k.as_scalar_string().unwrap_or_else(|| "?".into());
                            self.diags.push(
                                src.error(k.span, format!("duplicate key `{name}`"))
                                    .with_hint(format!(
                                        "`{name}` is already set on line {}; remove one of them",
                                        first.key.span.line
                                    )),
                            );
                        } else {
                            entries.push(Entry {
                                key: k,
                                value: node,
                            });
                        }
                    }
                }
                Ok(())
            }
        }
    }

    /// YAML merge keys (`<<: *defaults`): explicit keys win over merged ones.
    fn apply_merges(&mut self, entries: &mut Vec<Entry>, merges: Vec<Node>) {
        for merge in merges {
            let maps: Vec<Node> = match merge.value {
                Value::Map(_) => vec![merge],
                Value::Seq(items) => items,
                _ => {
                    self.diags.push(self.src.error(
                        merge.span,
                        "a merge key `<<` needs a mapping or a list of mappings",
                    ));
                    continue;
                }
            };
            for map in maps {
                match map.value {
                    Value::Map(merged) => {
                        for e in merged {
                            if !entries.iter().any(|x| same_key(&x.key, &e.key)) {
                                entries.push(e);
                            }
                        }
                    }
                    _ => self.diags.push(self.src.error(
                        map.span,
                        "a merge key `<<` needs a mapping or a list of mappings",
                    )),
                }
            }
        }
    }

    fn check_collection_tag(&self, tag: Option<&Tag>, expected: &str, span: Span) -> Step {
        match tag {
            None => Ok(()),
            Some(t) if is_core(t) && t.suffix == expected => Ok(()),
            Some(t) => Err(Box::new(self.unsupported_tag(t, span))),
        }
    }

    fn unsupported_tag(&self, t: &Tag, span: Span) -> Diagnostic {
        self.src
            .error(
                span,
                format!("unsupported YAML tag `{}{}`", t.handle, t.suffix),
            )
            .with_hint("gameday files use plain YAML values; remove the tag")
    }

    fn resolve(
        &self,
        text: String,
        style: TScalarStyle,
        tag: Option<&Tag>,
        span: Span,
    ) -> Result<Value, Box<Diagnostic>> {
        if let Some(t) = tag {
            if !is_core(t) {
                return Err(Box::new(self.unsupported_tag(t, span)));
            }
            let bad = |what: &str| {
                Box::new(
                    self.src
                        .error(span, format!("`{text}` is not a valid {what}")),
                )
            };
            return match t.suffix.as_str() {
                "str" => Ok(Value::Str(text)),
                "null" => Ok(Value::Null { implicit: false }),
                "bool" => match resolve_plain(&text) {
                    Value::Bool(b) => Ok(Value::Bool(b)),
                    _ => Err(bad("boolean")),
                },
                "int" => match resolve_plain(&text) {
                    Value::Int(i) => Ok(Value::Int(i)),
                    _ => Err(bad("integer")),
                },
                "float" => match resolve_plain(&text) {
                    Value::Int(i) => Ok(Value::Float(i as f64)),
                    Value::Float(f) => Ok(Value::Float(f)),
                    _ => Err(bad("number")),
                },
                _ => Err(Box::new(self.unsupported_tag(t, span))),
            };
        }
        if style == TScalarStyle::Plain {
            Ok(resolve_plain_kind(&text).with_text(text))
        } else {
            Ok(Value::Str(text))
        }
    }
}

fn is_core(t: &Tag) -> bool {
    t.handle == "tag:yaml.org,2002:" || t.handle == "!!"
}

fn same_key(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Map(_) | Value::Seq(_), _) | (_, Value::Map(_) | Value::Seq(_)) => false,
        _ => a.as_scalar_string() == b.as_scalar_string() && a.is_null() == b.is_null(),
    }
}

fn count_nodes(node: &Node) -> usize {
    1 + match &node.value {
        Value::Seq(items) => items.iter().map(count_nodes).sum(),
        Value::Map(entries) => entries
            .iter()
            .map(|e| count_nodes(&e.key) + count_nodes(&e.value))
            .sum(),
        _ => 0,
    }
}

/// A resolved plain scalar, or a marker that it is a string (the text is
/// moved in afterwards, so strings are not copied).
enum Plain {
    Resolved(Value),
    Str,
}

impl Plain {
    fn with_text(self, text: String) -> Value {
        match self {
            Plain::Resolved(v) => v,
            Plain::Str => Value::Str(text),
        }
    }
}

fn resolve_plain_kind(s: &str) -> Plain {
    match s {
        "" => return Plain::Resolved(Value::Null { implicit: true }),
        "~" | "null" | "Null" | "NULL" => return Plain::Resolved(Value::Null { implicit: false }),
        "true" | "True" | "TRUE" => return Plain::Resolved(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Plain::Resolved(Value::Bool(false)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Plain::Resolved(Value::Float(f64::INFINITY));
        }
        "-.inf" | "-.Inf" | "-.INF" => return Plain::Resolved(Value::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return Plain::Resolved(Value::Float(f64::NAN)),
        _ => {}
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return Plain::Str;
    }
    if let Some(hex) = s.strip_prefix("0x") {
        return i128::from_str_radix(hex, 16)
            .map_or(Plain::Str, |i| Plain::Resolved(Value::Int(i)));
    }
    if let Some(oct) = s.strip_prefix("0o") {
        return i128::from_str_radix(oct, 8).map_or(Plain::Str, |i| Plain::Resolved(Value::Int(i)));
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<i128>()
            .map_or(Plain::Str, |i| Plain::Resolved(Value::Int(i)));
    }
    if is_core_float(digits) {
        return s
            .parse::<f64>()
            .map_or(Plain::Str, |f| Plain::Resolved(Value::Float(f)));
    }
    Plain::Str
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` without a regex.
fn is_core_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let int_digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac_digits;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let exp = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp == 0 {
            return false;
        }
        i += exp;
    }
    i == b.len()
}

/// The value a plain scalar stands for under the YAML 1.2 core schema.
pub fn resolve_plain(s: &str) -> Value {
    resolve_plain_kind(s).with_text(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Vec<Document> {
        let src = Source::new("t.yaml", text);
        let (docs, diags) = parse(&src);
        assert!(diags.is_empty(), "{diags:?}");
        docs
    }

    #[test]
    fn core_schema_scalars() {
        assert_eq!(resolve_plain("10"), Value::Int(10));
        assert_eq!(resolve_plain("-3"), Value::Int(-3));
        assert_eq!(resolve_plain("0x1f"), Value::Int(31));
        assert_eq!(resolve_plain("1.5"), Value::Float(1.5));
        assert_eq!(resolve_plain("1e3"), Value::Float(1000.0));
        assert_eq!(resolve_plain("yes"), Value::Str("yes".into()));
        assert_eq!(resolve_plain("90s"), Value::Str("90s".into()));
        assert_eq!(resolve_plain("1.2.3"), Value::Str("1.2.3".into()));
        assert_eq!(resolve_plain("~"), Value::Null { implicit: false });
        assert_eq!(resolve_plain("True"), Value::Bool(true));
        assert_eq!(resolve_plain("-"), Value::Str("-".into()));
        assert_eq!(resolve_plain("."), Value::Str(".".into()));
    }

    #[test]
    fn spans_point_at_keys_and_values() {
        let docs = parse_ok("a:\n  bb: 'x y'\n  c: [1, \"two\"]\n");
        let root = &docs[0].root;
        let a = root.entry("a").unwrap();
        assert_eq!((a.key.span.line, a.key.span.col, a.key.span.len), (1, 1, 1));
        let bb = a.value.entry("bb").unwrap();
        assert_eq!((bb.key.span.line, bb.key.span.col), (2, 3));
        assert_eq!((bb.value.span.col, bb.value.span.len), (7, 5));
        let two = a.value.get("c").unwrap().index(1).unwrap();
        assert_eq!((two.span.line, two.span.col, two.span.len), (3, 10, 5));
    }

    #[test]
    fn multi_document_anchors_and_merge_keys() {
        let docs = parse_ok("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n---\nz: *missing_is_error_only_if_used\n".replace("*missing_is_error_only_if_used", "4").as_str());
        assert_eq!(docs.len(), 2);
        let used = docs[0].root.get("use").unwrap();
        assert_eq!(used.get("x").unwrap().value, Value::Int(1));
        assert_eq!(used.get("y").unwrap().value, Value::Int(3));
    }

    #[test]
    fn duplicate_keys_are_reported_at_the_second() {
        let src = Source::new("t.yaml", "a: 1\nb: 2\na: 3\n");
        let (_, diags) = parse(&src);
        assert_eq!(diags.len(), 1);
        assert_eq!((diags[0].line, diags[0].column), (3, 1));
        assert!(diags[0].message.contains("duplicate key `a`"));
    }

    #[test]
    fn syntax_errors_have_positions_and_keep_earlier_documents() {
        let src = Source::new("t.yaml", "a: 1\n---\nb: [1, 2\n");
        let (docs, diags) = parse(&src);
        assert_eq!(docs.len(), 1);
        assert_eq!(diags.len(), 1);
        assert!(diags[0].message.starts_with("YAML syntax error"));
        assert!(diags[0].line >= 3);
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let src = Source::new("t.yaml", &text);
        let (_, diags) = parse(&src);
        assert!(diags.iter().any(|d| d.message.contains("too many nodes")));
    }

    #[test]
    fn deep_nesting_is_refused_without_overflow() {
        let text = "[".repeat(5000);
        let src = Source::new("t.yaml", &text);
        let (_, diags) = parse(&src);
        assert_eq!(diags.len(), 1);
    }
}

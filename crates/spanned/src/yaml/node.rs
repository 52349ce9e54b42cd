//! The spanned YAML tree: what serde_yaml parses, plus the position of every
//! node, so that structural and semantic errors can point at the exact key or
//! value that is wrong.

use crate::diag::Span;

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub span: Span,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `~`, `null` or nothing. `implicit` is true for an empty value (`key:`),
    /// whose own position is meaningless, so errors point at the key instead.
    Null {
        implicit: bool,
    },
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: Node,
    pub value: Node,
}

impl Node {
    pub fn new(span: Span, value: Value) -> Self {
        Node { span, value }
    }

    /// The scalar as a string: a string as is, numbers and booleans as YAML
    /// prints them. None for null and collections.
    pub fn as_scalar_string(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[Entry] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    /// The entry under a string key of a mapping.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries().iter().find(|e| e.key.as_str() == Some(key))
    }

    /// The value under a string key of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// The i-th item of a sequence.
    pub fn index(&self, i: usize) -> Option<&Node> {
        self.items().get(i)
    }

    /// A short description for "expected X, found Y" messages.
    pub fn kind_name(&self) -> &'static str {
        match &self.value {
            Value::Null { .. } => "nothing (null)",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null { .. })
    }
}

/// A path into a document, for locating the node a semantic rule is about.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

impl<'a> From<&'a str> for Step<'a> {
    fn from(k: &'a str) -> Self {
        Step::Key(k)
    }
}

impl From<usize> for Step<'_> {
    fn from(i: usize) -> Self {
        Step::Index(i)
    }
}

/// Where a rule points: a value, or (for `Key`) the key that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Value,
    Key,
}

impl Node {
    /// Follows a path and returns the span it ends at. When the path runs out
    /// (an optional field that was left out), the deepest node found is used,
    /// so a diagnostic always has a position.
    pub fn locate(&self, path: &[Step<'_>], target: Target) -> Span {
        let mut node = self;
        let mut key_span = None;
        for step in path {
            let next = match *step {
                Step::Key(k) => node.entry(k).map(|e| (Some(e.key.span), &e.value)),
                Step::Index(i) => node.index(i).map(|n| (None, n)),
            };
            match next {
                Some((k, n)) => {
                    key_span = k;
                    node = n;
                }
                None => return key_span.unwrap_or(node.span),
            }
        }
        match (target, key_span) {
            (Target::Key, Some(k)) => k,
            _ if matches!(node.value, Value::Null { implicit: true }) => {
                key_span.unwrap_or(node.span)
            }
            _ => node.span,
        }
    }
}

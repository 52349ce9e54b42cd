//! The structural checker: walks a spanned YAML tree against a compiled JSON
//! Schema and reports every mismatch at the node that causes it. serde stops at
//! the first error and knows no positions; this is what lets `gameday validate`
//! list all mistakes of a file, each with a caret.

use super::node::{Node, Value};
use super::schema::{
    Additional, Compiled, SchemaNode, T_ARR, T_BOOL, T_INT, T_NULL, T_NUM, T_OBJ, T_STR, humanize,
};
use super::suggest::{did_you_mean, one_of};
use crate::diag::{Diagnostic, Source, Span};

/// Where in the document the checker is: the key that holds the node (for
/// messages and for pointing at empty values) and the object it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'n> {
    pub field: &'n str,
    pub index: Option<usize>,
    pub key_span: Option<Span>,
    pub owner: Option<&'n str>,
}

impl Ctx<'_> {
    fn display(&self) -> String {
        match self.index {
            Some(i) => format!("{}[{i}]", self.field),
            None => self.field.to_string(),
        }
    }
}

/// Value checks the schema can only express as a pattern; the real parser
/// gives a better message than "does not match".
fn scalar_check(def: &str, s: &str) -> Option<Result<(), (String, &'static str)>> {
    match def {
        "Duration" => Some(
            s.parse::<crate::values::Duration>()
                .map(|_| ())
                .map_err(|e| (e.to_string(), "write a number and a unit: `500ms`, `90s`, `2m30s` or `1h`")),
        ),
        "Expectation" => Some(
            s.parse::<crate::values::Expectation>()
                .map(|_| ())
                .map_err(|e| (e.to_string(), "write a comparator and a number, e.g. `\">= 0.99\"`, `\"< 300ms\"` or `\"between 0.9 and 1\"`")),
        ),
        _ => None,
    }
}

pub struct Checker<'c, 's, 'a> {
    c: &'c Compiled,
    src: &'s Source<'a>,
    pub diags: Vec<Diagnostic>,
}

impl<'c, 's, 'a> Checker<'c, 's, 'a> {
    pub fn new(c: &'c Compiled, src: &'s Source<'a>) -> Self {
        Checker {
            c,
            src,
            diags: Vec::new(),
        }
    }

    /// Checks a whole document against the root schema.
    pub fn check_root(&mut self, node: &Node) {
        let c = self.c;
        let ctx = Ctx {
            field: &c.root_name,
            index: None,
            key_span: None,
            owner: Some(&c.root_name),
        };
        self.check(c.root, node, ctx);
    }

    fn span_of(&self, node: &Node, ctx: &Ctx<'_>) -> Span {
        match (&node.value, ctx.key_span) {
            (Value::Null { implicit: true }, Some(k)) => k,
            _ => node.span,
        }
    }

    fn trial(&self, id: usize, node: &Node, ctx: Ctx<'_>) -> Vec<Diagnostic> {
        let mut sub = Checker::new(self.c, self.src);
        sub.check(id, node, ctx);
        sub.diags
    }

    pub fn check(&mut self, id: usize, node: &Node, ctx: Ctx<'_>) {
        let c = self.c;
        let s = c.node(c.resolve(id));
        if !s.alternatives.is_empty() {
            self.check_alternatives(s, node, ctx);
            return;
        }
        if s.types != 0 && s.types & kind_bit(node) == 0 {
            self.type_error(s, node, ctx);
            return;
        }
        if let Some(values) = &s.enum_values {
            if !values.iter().any(|v| scalar_equals(node, v)) {
                self.enum_error(values, node, ctx);
            }
            return;
        }
        match &node.value {
            Value::Str(text) => self.check_string(s, text, node, ctx),
            Value::Int(_) | Value::Float(_) => self.check_number(s, node, ctx),
            Value::Seq(items) => {
                let n = items.len();
                if let Some(min) = s.min_items.filter(|&m| n < m) {
                    let span = ctx.key_span.unwrap_or(node.span);
                    let msg = if min == 1 {
                        format!("`{}` needs at least one entry", ctx.display())
                    } else {
                        format!(
                            "`{}` needs at least {min} entries, found {n}",
                            ctx.display()
                        )
                    };
                    self.diags.push(self.src.error(span, msg));
                }
                if let Some(max) = s.max_items.filter(|&m| n > m) {
                    let msg = format!(
                        "`{}` has {n} entries, at most {max} are allowed",
                        ctx.display()
                    );
                    self.diags.push(self.src.error(node.span, msg));
                }
                if let Some(item) = s.items {
                    for (i, child) in items.iter().enumerate() {
                        let sub = Ctx {
                            index: Some(i),
                            key_span: None,
                            ..ctx
                        };
                        self.check(item, child, sub);
                    }
                }
            }
            Value::Map(_) => self.check_object(s, node, ctx),
            Value::Null { .. } | Value::Bool(_) => {}
        }
    }

    fn check_object(&mut self, s: &'c SchemaNode, node: &Node, ctx: Ctx<'_>) {
        let owner_name = s.name.as_deref().or(ctx.owner);
        let owner = owner_name.map_or_else(|| ctx.display(), humanize);
        for e in node.entries() {
            let Some(key) = e.key.as_scalar_string() else {
                self.diags.push(
                    self.src
                        .error(e.key.span, format!("keys in {owner} must be plain strings")),
                );
                continue;
            };
            if let Some(pid) = s.property(&key) {
                let sub = Ctx {
                    field: &key,
                    index: None,
                    key_span: Some(e.key.span),
                    owner: owner_name,
                };
                self.check(pid, &e.value, sub);
                continue;
            }
            match s.additional {
                Additional::Schema(vid) => {
                    let sub = Ctx {
                        field: &key,
                        index: None,
                        key_span: Some(e.key.span),
                        owner: owner_name,
                    };
                    self.check(vid, &e.value, sub);
                }
                Additional::Allowed => {}
                Additional::Denied => {
                    let names: Vec<&str> = s.properties.iter().map(|(k, _)| k.as_str()).collect();
                    let hint = match did_you_mean(&key, names.iter().copied()) {
                        Some(m) => format!("did you mean `{m}`?"),
                        None if names.is_empty() => format!("{owner} takes no fields"),
                        None => format!("the fields of {owner} are {}", one_of(&names)),
                    };
                    self.diags.push(
                        self.src
                            .error(e.key.span, format!("unknown field `{key}` in {owner}"))
                            .with_hint(hint),
                    );
                }
            }
        }
        for req in &s.required {
            if node.entry(req).is_none() {
                let span = ctx.key_span.unwrap_or(node.span);
                let mut d = self
                    .src
                    .error(span, format!("missing field `{req}` in {owner}"));
                let desc = s.property(req).and_then(|p| self.describe_field(p));
                d = d.with_hint(match desc {
                    Some(desc) => format!("add `{req}`: {desc}"),
                    None => format!("add `{req}`"),
                });
                self.diags.push(d);
            }
        }
    }

    /// The description of a field for hints, following `$ref`s.
    fn describe_field(&self, id: usize) -> Option<String> {
        let c = self.c;
        let own = c.node(id).description.as_deref();
        let desc = own.or_else(|| c.node(c.resolve(id)).description.as_deref())?;
        let first = desc.split("\n\n").next().unwrap_or(desc).replace('\n', " ");
        let mut chars = first.chars();
        let lowered = match chars.next() {
            Some(f) if !chars.as_str().starts_with(|c: char| c.is_ascii_uppercase()) => {
                f.to_lowercase().collect::<String>() + chars.as_str()
            }
            _ => first.clone(),
        };
        Some(lowered.trim_end_matches('.').to_string())
    }

    fn check_string(&mut self, s: &SchemaNode, text: &str, node: &Node, ctx: Ctx<'_>) {
        let field = ctx.display();
        if let Some(result) = s.name.as_deref().and_then(|n| scalar_check(n, text)) {
            if let Err((msg, hint)) = result {
                let what = humanize(s.name.as_deref().unwrap_or_default());
                self.diags.push(
                    self.src
                        .error(
                            node.span,
                            format!("invalid {what} `{text}` for `{field}`: {msg}"),
                        )
                        .with_hint(hint),
                );
            }
            return;
        }
        let count = || text.chars().count();
        if let Some(min) = s.min_length.filter(|&m| count() < m) {
            let msg = if min == 1 {
                format!("`{field}` must not be empty")
            } else {
                format!("`{field}` must be at least {min} characters long")
            };
            self.diags
                .push(self.src.error(self.span_of(node, &ctx), msg));
            return;
        }
        if let Some(max) = s.max_length.filter(|&m| count() > m) {
            self.diags.push(self.src.error(
                node.span,
                format!(
                    "`{field}` is {} characters long, at most {max} are allowed",
                    count()
                ),
            ));
            return;
        }
        if let Some((pattern, re)) = &s.pattern
            && !re.is_match(text)
        {
            let mut d = self.src.error(
                node.span,
                format!("`{text}` is not a valid `{field}` (it must match `{pattern}`)"),
            );
            if let Some(desc) = &s.description {
                d = d.with_hint(desc.replace('\n', " "));
            }
            self.diags.push(d);
        }
    }

    fn check_number(&mut self, s: &SchemaNode, node: &Node, ctx: Ctx<'_>) {
        let field = ctx.display();
        let v = match node.value {
            Value::Int(i) => i as f64,
            Value::Float(f) => f,
            _ => return,
        };
        let shown = self.src.snippet(node.span).to_string();
        let mut fail = |msg: String| {
            self.diags.push(self.src.error(node.span, msg));
        };
        if !v.is_finite() {
            fail(format!(
                "`{field}` must be a finite number, found `{shown}`"
            ));
            return;
        }
        if let Some(min) = s.minimum.filter(|&m| v < m) {
            fail(format!("`{field}` must be at least {min}, found {shown}"));
        } else if let Some(max) = s.maximum.filter(|&m| v > m) {
            fail(format!("`{field}` must be at most {max}, found {shown}"));
        } else if let Some(min) = s.exclusive_minimum.filter(|&m| v <= m) {
            fail(format!(
                "`{field}` must be greater than {min}, found {shown}"
            ));
        } else if let Some(max) = s.exclusive_maximum.filter(|&m| v >= m) {
            fail(format!("`{field}` must be less than {max}, found {shown}"));
        } else if let (Value::Int(i), Some((lo, hi))) = (&node.value, s.int_range)
            && (*i < lo || *i > hi)
        {
            fail(format!(
                "`{field}` must be between {lo} and {hi}, found {shown}"
            ));
        }
    }

    fn check_alternatives(&mut self, s: &SchemaNode, node: &Node, ctx: Ctx<'_>) {
        let c = self.c;
        if node.is_null() && s.alternatives.iter().any(|&a| accepts_null(c, a)) {
            return;
        }
        let alts: Vec<usize> = s
            .alternatives
            .iter()
            .copied()
            .filter(|&a| !null_only(c, a))
            .collect();
        if alts.len() == 1 {
            self.check(alts[0], node, ctx);
            return;
        }
        let mut tried = Vec::with_capacity(alts.len());
        for &a in &alts {
            let errs = self.trial(a, node, ctx);
            if errs.is_empty() {
                return;
            }
            tried.push((a, errs));
        }
        let compatible: Vec<&(usize, Vec<Diagnostic>)> = tried
            .iter()
            .filter(|(a, _)| shape_accepts(c, *a, node))
            .collect();
        if compatible.len() == 1 {
            self.diags.extend(compatible[0].1.iter().cloned());
            return;
        }
        if !compatible.is_empty()
            && compatible
                .iter()
                .all(|(a, _)| c.node(c.resolve(*a)).enum_values.is_some())
        {
            let values: Vec<serde_json::Value> = compatible
                .iter()
                .flat_map(|(a, _)| {
                    c.node(c.resolve(*a))
                        .enum_values
                        .clone()
                        .unwrap_or_default()
                })
                .collect();
            self.enum_error(&values, node, ctx);
            return;
        }
        if let Value::Map(entries) = &node.value {
            let keyed: Vec<_> = compatible
                .iter()
                .filter(|(a, _)| {
                    let sn = c.node(c.resolve(*a));
                    entries
                        .iter()
                        .all(|e| e.key.as_str().is_some_and(|k| sn.property(k).is_some()))
                })
                .collect();
            if keyed.len() == 1 {
                self.diags.extend(keyed[0].1.iter().cloned());
                return;
            }
        }
        let forms: Vec<String> = alts.iter().map(|&a| describe_alt(c, a)).collect();
        let mut d = self.src.error(
            self.span_of(node, &ctx),
            format!("`{}` must be one of {}", ctx.display(), forms.join(", ")),
        );
        let mut words: Vec<String> = Vec::new();
        for &a in &alts {
            let sn = c.node(c.resolve(a));
            words.extend(sn.properties.iter().map(|(k, _)| k.clone()));
            if let Some(vals) = &sn.enum_values {
                words.extend(vals.iter().filter_map(|v| v.as_str().map(str::to_string)));
            }
        }
        let written: Option<String> = match &node.value {
            Value::Map(entries) => entries.first().and_then(|e| e.key.as_scalar_string()),
            _ => node.as_scalar_string(),
        };
        if let Some(w) = written
            && let Some(m) = did_you_mean(&w, words.iter().map(String::as_str))
        {
            d = d.with_hint(format!("did you mean `{m}`?"));
        }
        self.diags.push(d);
    }

    fn type_error(&mut self, s: &SchemaNode, node: &Node, ctx: Ctx<'_>) {
        let field = ctx.display();
        let expected = expected_name(s);
        if matches!(node.value, Value::Null { implicit: true }) {
            let span = self.span_of(node, &ctx);
            self.diags.push(
                self.src
                    .error(span, format!("`{field}` is empty: expected {expected}")),
            );
            return;
        }
        let raw = self.src.snippet(node.span).to_string();
        let found = match &node.value {
            Value::Seq(_) | Value::Map(_) | Value::Null { .. } => node.kind_name().to_string(),
            _ => format!("{} `{raw}`", node.kind_name()),
        };
        let mut d = self.src.error(
            node.span,
            format!("wrong type for `{field}`: expected {expected}, found {found}"),
        );
        let wants_str = s.types & T_STR != 0;
        let hint = match (&node.value, s.name.as_deref()) {
            (Value::Int(i), Some("Duration")) => {
                Some(format!("durations need a unit, e.g. `{i}s` or `{i}ms`"))
            }
            (Value::Int(_) | Value::Float(_), Some("Expectation")) => Some(format!(
                "an expectation needs a comparator, e.g. `\">= {raw}\"`"
            )),
            (Value::Bool(_) | Value::Int(_) | Value::Float(_), _) if wants_str => {
                Some(format!("quote it to make it a string: `\"{raw}\"`"))
            }
            (Value::Str(t), _) if s.types & T_OBJ != 0 && t.contains(':') => {
                Some("put a space after the `:` to make it a mapping".to_string())
            }
            (Value::Str(_) | Value::Int(_), _) if s.types & T_ARR != 0 => {
                Some(format!("write a list, e.g. `[{raw}]`"))
            }
            _ => None,
        };
        if let Some(h) = hint {
            d = d.with_hint(h);
        }
        self.diags.push(d);
    }

    fn enum_error(&mut self, values: &[serde_json::Value], node: &Node, ctx: Ctx<'_>) {
        let field = ctx.display();
        let names: Vec<String> = values
            .iter()
            .map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        let span = self.span_of(node, &ctx);
        let written = node.as_scalar_string();
        let msg = match &written {
            Some(w) => format!("unknown value `{w}` for `{field}`"),
            None => format!(
                "wrong type for `{field}`: expected one of {}, found {}",
                one_of(&names),
                node.kind_name()
            ),
        };
        let hint = match written
            .as_deref()
            .and_then(|w| did_you_mean(w, names.iter().map(String::as_str)))
        {
            Some(m) => format!("did you mean `{m}`?"),
            None => format!("expected {}", one_of(&names)),
        };
        self.diags.push(self.src.error(span, msg).with_hint(hint));
    }
}

fn kind_bit(node: &Node) -> u8 {
    match node.value {
        Value::Null { .. } => T_NULL,
        Value::Bool(_) => T_BOOL,
        Value::Int(_) => T_INT,
        Value::Float(_) => T_NUM,
        Value::Str(_) => T_STR,
        Value::Seq(_) => T_ARR,
        Value::Map(_) => T_OBJ,
    }
}

fn scalar_equals(node: &Node, v: &serde_json::Value) -> bool {
    match (&node.value, v) {
        (Value::Str(a), serde_json::Value::String(b)) => a == b,
        (Value::Bool(a), serde_json::Value::Bool(b)) => a == b,
        (Value::Int(a), serde_json::Value::Number(n)) => {
            n.as_i64().is_some_and(|b| *a == b as i128)
        }
        (Value::Null { .. }, serde_json::Value::Null) => true,
        _ => false,
    }
}

fn accepts_null(c: &Compiled, id: usize) -> bool {
    let s = c.node(c.resolve(id));
    s.types & T_NULL != 0
        || s.enum_values
            .as_ref()
            .is_some_and(|v| v.iter().any(serde_json::Value::is_null))
}

fn null_only(c: &Compiled, id: usize) -> bool {
    c.node(c.resolve(id)).types == T_NULL
}

fn shape_accepts(c: &Compiled, id: usize, node: &Node) -> bool {
    let s = c.node(c.resolve(id));
    if !s.alternatives.is_empty() {
        return s.alternatives.iter().any(|&a| shape_accepts(c, a, node));
    }
    if s.types != 0 {
        return s.types & kind_bit(node) != 0;
    }
    match &s.enum_values {
        Some(vals) => vals.iter().any(|v| {
            matches!(
                (v, &node.value),
                (serde_json::Value::String(_), Value::Str(_))
                    | (
                        serde_json::Value::Number(_),
                        Value::Int(_) | Value::Float(_)
                    )
                    | (serde_json::Value::Bool(_), Value::Bool(_))
            )
        }),
        None => true,
    }
}

fn describe_alt(c: &Compiled, id: usize) -> String {
    let s = c.node(c.resolve(id));
    if let Some(vals) = &s.enum_values {
        let names: Vec<String> = vals
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect();
        return one_of(&names).replace(" or ", ", ");
    }
    if s.types & T_OBJ != 0 && s.properties.len() == 1 {
        let (k, p) = &s.properties[0];
        let inner = c.node(c.resolve(*p));
        let v = if inner.types & (T_INT | T_NUM) != 0 {
            "N"
        } else {
            "..."
        };
        return format!("`{{{k}: {v}}}`");
    }
    expected_name(s)
}

fn expected_name(s: &SchemaNode) -> String {
    match s.name.as_deref() {
        Some("Duration") => return "a duration such as `90s`".into(),
        Some("Expectation") => return "an expectation such as `\">= 0.99\"`".into(),
        _ => {}
    }
    let mut names = Vec::new();
    let t = s.types;
    if t & T_BOOL != 0 {
        names.push("true or false");
    }
    if t & T_NUM != 0 {
        names.push("a number");
    } else if t & T_INT != 0 {
        names.push("an integer");
    }
    if t & T_STR != 0 {
        names.push("a string");
    }
    if t & T_ARR != 0 {
        names.push("a list");
    }
    if t & T_OBJ != 0 {
        names.push("a mapping");
    }
    if names.is_empty() {
        return "a value".into();
    }
    names.join(" or ")
}

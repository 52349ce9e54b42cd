//! The template functions beyond Go's builtins: the Sprig functions the
//! chart uses, and Helm's own (`include`, `required`, `toYaml`). Semantics
//! follow Sprig v3 (github.com/Masterminds/sprig: defaults.go, strings.go,
//! dict.go) and Helm (pkg/engine/funcs.go, engine.go). A chart rendered here
//! must keep to [`SPRIG`] and Go's builtins.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use gtmpl::{Context, Func, FuncError, Template, Value};
use serde_json::Value as Json;

use crate::RenderError;

/// The non-builtin functions available to templates.
pub const SPRIG: &[&str] = &[
    "include",
    "required",
    "toYaml",
    "default",
    "empty",
    "quote",
    "indent",
    "nindent",
    "trunc",
    "trimSuffix",
    "dict",
    "list",
    "hasKey",
    "toString",
    "contains",
    "keys",
    "sortAlpha",
];

fn table() -> Vec<(&'static str, Func)> {
    vec![
        ("include", include as Func),
        ("required", required as Func),
        ("toYaml", to_yaml as Func),
        ("default", default as Func),
        ("empty", empty as Func),
        ("quote", quote as Func),
        ("indent", indent as Func),
        ("nindent", nindent as Func),
        ("trunc", trunc as Func),
        ("trimSuffix", trim_suffix as Func),
        ("dict", dict as Func),
        ("list", list as Func),
        ("hasKey", has_key as Func),
        ("toString", to_string as Func),
        ("contains", contains as Func),
        ("keys", keys as Func),
        ("sortAlpha", sort_alpha as Func),
    ]
}

thread_local! {
    /// The chart's templates while one renders: `include` is a plain
    /// function (gtmpl passes it no template), so it finds the named
    /// templates here.
    static FILES: RefCell<Vec<(String, String)>> = const { RefCell::new(Vec::new()) };
    /// The set parsed once per entry template while one chart renders:
    /// parsing every file again for each `include` made a render take
    /// seconds in a debug build.
    static PARSED: RefCell<HashMap<String, Rc<Template>>> = RefCell::new(HashMap::new());
}

/// All of a chart's template files, parsed together as Helm parses them so
/// that a `define` in any file is visible to every other.
pub struct TemplateSet {
    chart: String,
    files: Vec<(String, String)>,
}

impl TemplateSet {
    pub fn new(chart: &str, templates: &[(String, String)]) -> TemplateSet {
        let files = templates
            .iter()
            .map(|(n, t)| (format!("{chart}/{n}"), t.clone()))
            .collect();
        TemplateSet {
            chart: chart.to_string(),
            files,
        }
    }

    /// Executes the file `name` (relative to the chart) with `top` as `.`.
    /// Like Helm, `<no value>` from a missing key prints as nothing.
    pub fn execute_file(&self, name: &str, top: &Json) -> Result<String, RenderError> {
        let full = format!("{}/{name}", self.chart);
        FILES.with(|f| *f.borrow_mut() = self.files.clone());
        let out = execute(&full, &to_value(top));
        FILES.with(|f| f.borrow_mut().clear());
        PARSED.with(|p| p.borrow_mut().clear());
        Ok(out?.replace("<no value>", ""))
    }
}

/// Parses every file into one set named `entry` and runs `entry`.
fn execute(entry: &str, dot: &Value) -> Result<String, RenderError> {
    let t = match PARSED.with(|p| p.borrow().get(entry).cloned()) {
        Some(t) => t,
        None => {
            let t = Rc::new(parse_set(entry)?);
            PARSED.with(|p| p.borrow_mut().insert(entry.to_string(), t.clone()));
            t
        }
    };
    t.render(&Context::from(dot.clone()))
        .map_err(|e| RenderError::Template {
            template: entry.to_string(),
            message: e.to_string(),
        })
}

fn parse_set(entry: &str) -> Result<Template, RenderError> {
    let files = FILES.with(|f| f.borrow().clone());
    let mut t = Template::with_name(entry);
    t.add_funcs(&table());
    for (name, text) in &files {
        t.add_template(name.as_str(), text.as_str())
            .map_err(|e| RenderError::Template {
                template: name.clone(),
                message: e.to_string(),
            })?;
    }
    Ok(t)
}

fn generic(msg: impl Into<String>) -> FuncError {
    FuncError::Generic(msg.into())
}

fn arg<'a>(args: &'a [Value], i: usize, func: &str, n: usize) -> Result<&'a Value, FuncError> {
    if args.len() != n {
        return Err(FuncError::ExactlyXArgs(func.into(), n));
    }
    Ok(&args[i])
}

/// Go's fmt of a value as text: strings bare, nil as empty.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::NoValue | Value::Nil => String::new(),
        other => other.to_string(),
    }
}

/// `include NAME DOT`: runs a named template and returns its text, so it
/// can be piped (Helm's answer to `template` being an action).
fn include(args: &[Value]) -> Result<Value, FuncError> {
    let name = text(arg(args, 0, "include", 2)?);
    execute(&name, &args[1])
        .map(Value::String)
        .map_err(|e| generic(format!("error calling include: {e}")))
}

/// `required MSG VALUE`: fails with MSG when VALUE is nil or "".
fn required(args: &[Value]) -> Result<Value, FuncError> {
    let v = arg(args, 1, "required", 2)?;
    match v {
        Value::NoValue | Value::Nil => Err(generic(text(&args[0]))),
        Value::String(s) if s.is_empty() => Err(generic(text(&args[0]))),
        v => Ok(v.clone()),
    }
}

/// Sprig's `empty`: nil, false, 0, "" and empty collections.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::NoValue | Value::Nil => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Map(m) | Value::Object(m) => m.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Function(_) => false,
    }
}

fn empty(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Bool(is_empty(arg(args, 0, "empty", 1)?)))
}

/// `default D V`: V unless it is empty, else D. Piped (`V | default D`)
/// V is the last argument; with V missing entirely, D.
fn default(args: &[Value]) -> Result<Value, FuncError> {
    match args {
        [d] => Ok(d.clone()),
        [d, v] => Ok(if is_empty(v) { d.clone() } else { v.clone() }),
        _ => Err(FuncError::AtLeastXArgs("default".into(), 1)),
    }
}

/// `quote`: each argument as a Go `%q` string, space separated; nil skipped.
fn quote(args: &[Value]) -> Result<Value, FuncError> {
    let parts: Vec<String> = args
        .iter()
        .filter(|v| !matches!(v, Value::NoValue | Value::Nil))
        .map(|v| serde_json::to_string(&text(v)).unwrap_or_default())
        .collect();
    Ok(Value::String(parts.join(" ")))
}

fn pad(n: &Value, s: &Value) -> Result<String, FuncError> {
    let n = number(n)?;
    let pad = " ".repeat(n);
    Ok(format!(
        "{pad}{}",
        text(s).replace('\n', &format!("\n{pad}"))
    ))
}

fn number(v: &Value) -> Result<usize, FuncError> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .map(|n| n as usize)
            .ok_or_else(|| generic(format!("not a count: {v}"))),
        _ => Err(generic(format!("not a number: {v}"))),
    }
}

fn indent(args: &[Value]) -> Result<Value, FuncError> {
    arg(args, 0, "indent", 2)?;
    Ok(Value::String(pad(&args[0], &args[1])?))
}

fn nindent(args: &[Value]) -> Result<Value, FuncError> {
    arg(args, 0, "nindent", 2)?;
    Ok(Value::String(format!("\n{}", pad(&args[0], &args[1])?)))
}

/// `trunc N S`: the first N characters.
fn trunc(args: &[Value]) -> Result<Value, FuncError> {
    let n = number(arg(args, 0, "trunc", 2)?)?;
    Ok(Value::String(text(&args[1]).chars().take(n).collect()))
}

fn trim_suffix(args: &[Value]) -> Result<Value, FuncError> {
    let suffix = text(arg(args, 0, "trimSuffix", 2)?);
    let s = text(&args[1]);
    Ok(Value::String(
        s.strip_suffix(&suffix).unwrap_or(&s).to_string(),
    ))
}

fn dict(args: &[Value]) -> Result<Value, FuncError> {
    if !args.len().is_multiple_of(2) {
        return Err(generic("dict needs key/value pairs"));
    }
    let map: HashMap<String, Value> = args
        .chunks(2)
        .map(|kv| (text(&kv[0]), kv[1].clone()))
        .collect();
    Ok(Value::Map(map))
}

fn list(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Array(args.to_vec()))
}

fn has_key(args: &[Value]) -> Result<Value, FuncError> {
    let key = text(arg(args, 1, "hasKey", 2)?);
    match &args[0] {
        Value::Map(m) | Value::Object(m) => Ok(Value::Bool(m.contains_key(&key))),
        other => Err(generic(format!("hasKey on a non-map: {other}"))),
    }
}

fn to_string(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(text(arg(args, 0, "toString", 1)?)))
}

/// `contains SUBSTR S`.
fn contains(args: &[Value]) -> Result<Value, FuncError> {
    let needle = text(arg(args, 0, "contains", 2)?);
    Ok(Value::Bool(text(&args[1]).contains(&needle)))
}

/// `keys MAP`: its keys (unordered in Sprig too; pipe to `sortAlpha`).
fn keys(args: &[Value]) -> Result<Value, FuncError> {
    match arg(args, 0, "keys", 1)? {
        Value::Map(m) | Value::Object(m) => {
            Ok(Value::Array(m.keys().cloned().map(Value::String).collect()))
        }
        Value::NoValue | Value::Nil => Ok(Value::Array(Vec::new())),
        other => Err(generic(format!("keys on a non-map: {other}"))),
    }
}

/// `sortAlpha LIST`: sorted as strings. gtmpl ranges over a map in hash
/// order, not Go's sorted order, so the chart ranges over `keys | sortAlpha`.
fn sort_alpha(args: &[Value]) -> Result<Value, FuncError> {
    match arg(args, 0, "sortAlpha", 1)? {
        Value::Array(a) => {
            let mut items: Vec<String> = a.iter().map(text).collect();
            items.sort();
            Ok(Value::Array(items.into_iter().map(Value::String).collect()))
        }
        other => Err(generic(format!("sortAlpha on a non-list: {other}"))),
    }
}

/// `toYaml`: keys sorted and the final newline trimmed, as Helm's
/// (sigs.k8s.io/yaml over Go maps) prints them.
fn to_yaml(args: &[Value]) -> Result<Value, FuncError> {
    let v = from_value(arg(args, 0, "toYaml", 1)?);
    if v.is_null() {
        return Ok(Value::String("null".into()));
    }
    let s = serde_yaml::to_string(&v).map_err(|e| generic(e.to_string()))?;
    Ok(Value::String(s.trim_end_matches('\n').to_string()))
}

/// JSON to a template value.
pub fn to_value(v: &Json) -> Value {
    match v {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or_default())
            }
        }
        Json::String(s) => Value::String(s.clone()),
        Json::Array(a) => Value::Array(a.iter().map(to_value).collect()),
        Json::Object(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), to_value(v))).collect()),
    }
}

/// A template value back to JSON, maps with sorted keys.
fn from_value(v: &Value) -> Json {
    match v {
        Value::NoValue | Value::Nil | Value::Function(_) => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::String(s) => Json::String(s.clone()),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Json::from(i),
            (_, Some(u), _) => Json::from(u),
            (_, _, Some(f)) => Json::from(f),
            _ => Json::Null,
        },
        Value::Array(a) => Json::Array(a.iter().map(from_value).collect()),
        Value::Map(m) | Value::Object(m) => {
            let sorted: BTreeMap<&String, Json> =
                m.iter().map(|(k, v)| (k, from_value(v))).collect();
            Json::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str, dot: Json) -> String {
        let set = TemplateSet::new("c", &[("templates/t.yaml".into(), src.into())]);
        set.execute_file("templates/t.yaml", &dot).expect("renders")
    }

    #[test]
    fn include_pipes_a_defined_template_through_nindent() {
        let src = r#"{{- define "x" }}a: {{ .v }}{{ end -}}
m:{{ include "x" . | nindent 2 }}"#;
        assert_eq!(render(src, serde_json::json!({"v": 1})), "m:\n  a: 1");
    }

    #[test]
    fn to_yaml_sorts_keys_and_default_replaces_empty() {
        let src = r#"{{ toYaml .m }}|{{ .s | default "d" }}|{{ .missing | default "z" | quote }}"#;
        let out = render(src, serde_json::json!({"m": {"b": 1, "a": [1]}, "s": ""}));
        assert_eq!(out, "a:\n- 1\nb: 1|d|\"z\"");
    }
}

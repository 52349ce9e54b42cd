//! A JSON Schema (as schemars generates it) compiled once per type into a
//! flat arena: `$ref`s resolved to indices and patterns compiled to regexes,
//! so that checking a file costs no allocation of schema data or regex builds.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

use regex::Regex;
use schemars::JsonSchema;
use serde_json::Value as Json;

pub const T_NULL: u8 = 1;
pub const T_BOOL: u8 = 2;
pub const T_INT: u8 = 4;
pub const T_NUM: u8 = 8;
pub const T_STR: u8 = 16;
pub const T_ARR: u8 = 32;
pub const T_OBJ: u8 = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Additional {
    Allowed,
    Denied,
    Schema(usize),
}

#[derive(Debug)]
pub struct SchemaNode {
    /// The `$defs` name when this node is a definition (`Duration`, `Probe`).
    pub name: Option<String>,
    pub description: Option<String>,
    pub reference: Option<usize>,
    /// Bit set of allowed JSON types; 0 means any.
    pub types: u8,
    pub enum_values: Option<Vec<Json>>,
    pub properties: Vec<(String, usize)>,
    pub required: Vec<String>,
    pub additional: Additional,
    pub items: Option<usize>,
    pub min_items: Option<usize>,
    pub max_items: Option<usize>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub exclusive_minimum: Option<f64>,
    pub exclusive_maximum: Option<f64>,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub pattern: Option<(String, Regex)>,
    /// Integer range implied by schemars' `format` (uint32, int32, ...).
    pub int_range: Option<(i128, i128)>,
    pub alternatives: Vec<usize>,
}

impl SchemaNode {
    fn empty() -> Self {
        SchemaNode {
            name: None,
            description: None,
            reference: None,
            types: 0,
            enum_values: None,
            properties: Vec::new(),
            required: Vec::new(),
            additional: Additional::Allowed,
            items: None,
            min_items: None,
            max_items: None,
            minimum: None,
            maximum: None,
            exclusive_minimum: None,
            exclusive_maximum: None,
            min_length: None,
            max_length: None,
            pattern: None,
            int_range: None,
            alternatives: Vec::new(),
        }
    }

    pub fn property(&self, key: &str) -> Option<usize> {
        self.properties
            .iter()
            .find(|(k, _)| k == key)
            .map(|&(_, id)| id)
    }
}

#[derive(Debug)]
pub struct Compiled {
    pub nodes: Vec<SchemaNode>,
    pub root: usize,
    /// Human name of the root type, for messages ("scenario", "config").
    pub root_name: String,
}

impl Compiled {
    pub fn node(&self, id: usize) -> &SchemaNode {
        &self.nodes[id]
    }

    /// Follows `$ref`s to the node that holds the constraints.
    pub fn resolve(&self, mut id: usize) -> usize {
        for _ in 0..32 {
            match self.nodes[id].reference {
                Some(r) => id = r,
                None => break,
            }
        }
        id
    }
}

/// The compiled schema of `T`, built on first use and kept for the process.
pub fn compiled<T: JsonSchema>() -> &'static Compiled {
    static CACHE: OnceLock<RwLock<HashMap<String, &'static Compiled>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let id = T::schema_id();
    if let Some(c) = cache.read().ok().and_then(|m| m.get(id.as_ref()).copied()) {
        return c;
    }
    let schema = serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Json::Null);
    let compiled: &'static Compiled = Box::leak(Box::new(compile(&schema, &T::schema_name())));
    if let Ok(mut m) = cache.write() {
        m.entry(id.into_owned()).or_insert(compiled);
    }
    compiled
}

/// Compiles a schema document with its `$defs`.
pub fn compile(schema: &Json, name: &str) -> Compiled {
    let mut c = Compiler {
        defs: schema.get("$defs").and_then(Json::as_object),
        def_ids: HashMap::new(),
        nodes: Vec::new(),
    };
    let root = c.compile(schema, None);
    Compiled {
        nodes: c.nodes,
        root,
        root_name: humanize(name),
    }
}

struct Compiler<'a> {
    defs: Option<&'a serde_json::Map<String, Json>>,
    def_ids: HashMap<String, usize>,
    nodes: Vec<SchemaNode>,
}

impl Compiler<'_> {
    fn def(&mut self, name: &str) -> Option<usize> {
        if let Some(&id) = self.def_ids.get(name) {
            return Some(id);
        }
        let schema = self.defs?.get(name)?;
        Some(self.compile(schema, Some(name)))
    }

    fn compile(&mut self, s: &Json, def_name: Option<&str>) -> usize {
        let id = self.nodes.len();
        self.nodes.push(SchemaNode::empty());
        if let Some(n) = def_name {
            self.def_ids.insert(n.to_string(), id);
        }
        let mut node = SchemaNode::empty();
        node.name = def_name.map(str::to_string);
        let Some(obj) = s.as_object() else {
            // `true` accepts anything; `false` accepts nothing we can express.
            self.nodes[id] = node;
            return id;
        };
        let get_f = |k: &str| obj.get(k).and_then(Json::as_f64);
        let get_u = |k: &str| obj.get(k).and_then(Json::as_u64).map(|v| v as usize);
        node.description = obj
            .get("description")
            .and_then(Json::as_str)
            .map(str::to_string);
        if let Some(r) = obj.get("$ref").and_then(Json::as_str) {
            let name = r.rsplit('/').next().unwrap_or(r);
            node.reference = self.def(name);
        }
        node.types = match obj.get("type") {
            Some(Json::String(t)) => type_bit(t),
            Some(Json::Array(ts)) => ts
                .iter()
                .filter_map(Json::as_str)
                .map(type_bit)
                .fold(0, |a, b| a | b),
            _ => 0,
        };
        if let Some(Json::Array(vals)) = obj.get("enum") {
            node.enum_values = Some(vals.clone());
        }
        if let Some(v) = obj.get("const") {
            node.enum_values = Some(vec![v.clone()]);
        }
        if let Some(Json::Object(props)) = obj.get("properties") {
            for (k, v) in props {
                let pid = self.compile(v, None);
                node.properties.push((k.clone(), pid));
            }
        }
        if let Some(Json::Array(req)) = obj.get("required") {
            node.required = req
                .iter()
                .filter_map(Json::as_str)
                .map(str::to_string)
                .collect();
        }
        node.additional = match obj.get("additionalProperties") {
            Some(Json::Bool(false)) => Additional::Denied,
            Some(v @ Json::Object(_)) => Additional::Schema(self.compile(v, None)),
            _ => Additional::Allowed,
        };
        if let Some(items) = obj.get("items") {
            node.items = Some(self.compile(items, None));
        }
        node.min_items = get_u("minItems");
        node.max_items = get_u("maxItems");
        node.minimum = get_f("minimum");
        node.maximum = get_f("maximum");
        node.exclusive_minimum = get_f("exclusiveMinimum");
        node.exclusive_maximum = get_f("exclusiveMaximum");
        node.min_length = get_u("minLength");
        node.max_length = get_u("maxLength");
        if let Some(p) = obj.get("pattern").and_then(Json::as_str)
            && let Ok(re) = Regex::new(p)
        {
            node.pattern = Some((p.to_string(), re));
        }
        node.int_range = match obj.get("format").and_then(Json::as_str) {
            Some("uint8") => Some((0, u8::MAX as i128)),
            Some("uint16") => Some((0, u16::MAX as i128)),
            Some("uint32") | Some("uint") => Some((0, u32::MAX as i128)),
            Some("uint64") => Some((0, u64::MAX as i128)),
            Some("int8") => Some((i8::MIN as i128, i8::MAX as i128)),
            Some("int16") => Some((i16::MIN as i128, i16::MAX as i128)),
            Some("int32") | Some("int") => Some((i32::MIN as i128, i32::MAX as i128)),
            Some("int64") => Some((i64::MIN as i128, i64::MAX as i128)),
            _ => None,
        };
        for key in ["anyOf", "oneOf"] {
            if let Some(Json::Array(alts)) = obj.get(key) {
                for a in alts {
                    let aid = self.compile(a, None);
                    node.alternatives.push(aid);
                }
            }
        }
        self.nodes[id] = node;
        id
    }
}

fn type_bit(t: &str) -> u8 {
    match t {
        "null" => T_NULL,
        "boolean" => T_BOOL,
        "integer" => T_INT,
        "number" => T_NUM | T_INT,
        "string" => T_STR,
        "array" => T_ARR,
        "object" => T_OBJ,
        _ => 0,
    }
}

/// `KubernetesProbe` -> `kubernetes probe`, for messages.
pub fn humanize(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push(' ');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

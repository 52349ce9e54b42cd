//! A decoded message as the JSON a real server would store after decoding
//! the Go struct and encoding it with encoding/json.
//!
//! Conventions, each the Go type's own JSON encoding:
//! - meta/v1 Time {seconds=1, nanos=2}: RFC 3339 in whole seconds, UTC; a
//!   zero Time is omitted (apimachinery/pkg/apis/meta/v1/time.go MarshalJSON
//!   writes null for it, which a decoder reads back as zero).
//! - meta/v1 MicroTime: RFC 3339 with microseconds (micro_time.go).
//! - meta/v1 Duration {duration=1 ns}: Go's `time.Duration.String()` (duration.go).
//! - resource.Quantity {string=1}: the string (quantity.go MarshalJSON).
//! - intstr.IntOrString {type=1, intVal=2, strVal=3}: a number for type 0, a
//!   string for type 1 (intstr.go MarshalJSON).
//! - runtime.RawExtension / meta/v1 FieldsV1 {raw=1}: the embedded JSON
//!   itself (runtime/types.go RawExtension.MarshalJSON).
//! - bytes: base64 (encoding/json's []byte), as Secret.data expects.
//! - Empty strings are omitted: gogo-protobuf writes every non-pointer
//!   string, and the Go structs tag them `omitempty`.
//! - Numbers and bools are kept as sent, zero included: gogo writes a
//!   non-pointer number whether or not it is zero, and an absent field
//!   decodes to the same zero, so `"hostPort": 0` and no hostPort mean the
//!   same object to every Go (and sandbox) reader.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::model::{Field, Kind, Label, Message, Shape};
use super::reader::{self, Wire};
use super::{MAX_DEPTH, WireError, schema};

fn mismatch(m: &Message, f: &Field, w: &Wire<'_>) -> WireError {
    WireError::Malformed(format!(
        "field {} ({}) of {}: {} where {:?} was expected",
        f.num,
        f.name,
        m.name,
        w.type_name(),
        f.kind
    ))
}

/// A message as JSON; `None` for a value its Go type omits (a zero Time).
pub fn message(buf: &[u8], idx: usize, depth: usize) -> Result<Option<Value>, WireError> {
    if depth > MAX_DEPTH {
        return Err(WireError::Malformed(format!(
            "objects nested deeper than {MAX_DEPTH} levels"
        )));
    }
    let m = &schema::MESSAGES[idx];
    match m.shape {
        Shape::Raw => raw(buf),
        shape => {
            let obj = object(buf, m, depth)?;
            Ok(shaped(shape, obj))
        }
    }
}

/// The JSON of the special types, from their fields read as an object.
fn shaped(shape: Shape, mut obj: Map<String, Value>) -> Option<Value> {
    let int = |o: &Map<String, Value>, k: &str| o.get(k).and_then(Value::as_i64).unwrap_or(0);
    match shape {
        Shape::Object => Some(Value::Object(obj)),
        Shape::Items => Some(obj.remove("items").unwrap_or_else(|| json!([]))),
        Shape::Quantity => Some(obj.remove("string").unwrap_or_else(|| json!("0"))),
        Shape::IntOrString => Some(if int(&obj, "type") == 1 {
            obj.remove("strVal").unwrap_or_else(|| json!(""))
        } else {
            json!(int(&obj, "intVal"))
        }),
        Shape::Duration => Some(json!(go_duration(int(&obj, "duration")))),
        Shape::Time | Shape::MicroTime => {
            let (secs, nanos) = (int(&obj, "seconds"), int(&obj, "nanos"));
            time(secs, nanos, shape == Shape::MicroTime).map(Value::String)
        }
        Shape::Raw => None,
    }
}

/// RFC 3339 as metav1.Time (seconds) or MicroTime (microseconds) writes it;
/// None for the zero time and for instants outside the representable range.
fn time(secs: i64, nanos: i64, micro: bool) -> Option<String> {
    if secs == 0 && nanos == 0 {
        return None;
    }
    let ts = jiff::Timestamp::new(secs, i32::try_from(nanos).ok()?).ok()?;
    let base = ts.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    Some(if micro {
        format!("{base}.{:06}Z", ts.subsec_nanosecond() / 1000)
    } else {
        format!("{base}Z")
    })
}

/// Go's `time.Duration.String()`: "1h0m0s", "1m30s", "1.5s", "100ms", "0s".
pub fn go_duration(ns: i64) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let u = ns.unsigned_abs();
    let frac = |v: u64, digits: usize| {
        let s = format!("{v:0digits$}");
        let s = s.trim_end_matches('0');
        if s.is_empty() {
            String::new()
        } else {
            format!(".{s}")
        }
    };
    if u == 0 {
        return "0s".into();
    }
    if u < 1_000_000_000 {
        let (unit, div, digits) = match u {
            0..1_000 => ("ns", 1, 0),
            1_000..1_000_000 => ("µs", 1_000, 3),
            _ => ("ms", 1_000_000, 6),
        };
        return format!("{sign}{}{}{unit}", u / div, frac(u % div, digits));
    }
    let (secs, sub) = (u / 1_000_000_000, u % 1_000_000_000);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let s = format!("{s}{}s", frac(sub, 9));
    match (h, m) {
        (0, 0) => format!("{sign}{s}"),
        (0, m) => format!("{sign}{m}m{s}"),
        (h, m) => format!("{sign}{h}h{m}m{s}"),
    }
}

/// RawExtension / FieldsV1: the embedded bytes must themselves be JSON.
fn raw(buf: &[u8]) -> Result<Option<Value>, WireError> {
    let mut bytes: &[u8] = &[];
    for field in reader::fields(buf) {
        if let (1, Wire::Len(b)) = field? {
            bytes = b;
        }
    }
    if bytes.is_empty() {
        return Ok(None);
    }
    serde_json::from_slice(bytes).map(Some).map_err(|_| {
        WireError::Unsupported(
            "an embedded object (RawExtension) is not JSON; send the object as application/json"
                .into(),
        )
    })
}

/// The fields of an ordinary message, by their JSON names.
fn object(buf: &[u8], m: &Message, depth: usize) -> Result<Map<String, Value>, WireError> {
    let mut out = Map::new();
    for field in reader::fields(buf) {
        let (num, w) = field?;
        let f = m.field(num).ok_or_else(|| {
            WireError::Unsupported(format!(
                "field {num} of {} is not in the sandbox's protobuf schema (Kubernetes 1.33); send the object as application/json",
                m.name
            ))
        })?;
        match f.label {
            Label::One => match scalar(m, f, w, depth)? {
                Some(Value::String(s)) if s.is_empty() && f.kind == Kind::Str => {
                    out.remove(f.name);
                }
                Some(v) => {
                    out.insert(f.name.to_string(), v);
                }
                None => {}
            },
            Label::Many => {
                let arr = out.entry(f.name).or_insert_with(|| json!([]));
                if let Value::Array(items) = arr {
                    repeated(m, f, w, depth, items)?;
                }
            }
            Label::Inline => {
                if let Some(Value::Object(inner)) = scalar(m, f, w, depth)? {
                    out.extend(inner);
                }
            }
            Label::Map => {
                let (k, v) = entry(m, f, w, depth)?;
                let obj = out.entry(f.name).or_insert_with(|| json!({}));
                if let Value::Object(o) = obj {
                    o.insert(k, v);
                }
            }
        }
    }
    Ok(out)
}

fn numeric(kind: Kind) -> bool {
    !matches!(kind, Kind::Str | Kind::Bytes | Kind::Msg(_))
}

/// One occurrence of a repeated field; a length-delimited run of numbers is
/// the packed encoding, which decoders must accept for any repeated scalar.
fn repeated(
    m: &Message,
    f: &Field,
    w: Wire<'_>,
    depth: usize,
    items: &mut Vec<Value>,
) -> Result<(), WireError> {
    match w {
        Wire::Len(b) if numeric(f.kind) => {
            let mut pos = 0;
            while pos < b.len() {
                let w = match f.kind {
                    Kind::F64 => Wire::Fixed64(fixed::<8>(b, &mut pos)?),
                    Kind::F32 => Wire::Fixed32(fixed::<4>(b, &mut pos)? as u32),
                    _ => Wire::Varint(reader::varint(b, &mut pos)?),
                };
                items.push(scalar(m, f, w, depth)?.unwrap_or(Value::Null));
            }
        }
        w => items.push(scalar(m, f, w, depth)?.unwrap_or(Value::Null)),
    }
    Ok(())
}

fn fixed<const N: usize>(b: &[u8], pos: &mut usize) -> Result<u64, WireError> {
    let s = b
        .get(*pos..*pos + N)
        .ok_or_else(|| WireError::Malformed("unexpected EOF in packed field".into()))?;
    *pos += N;
    Ok(s.iter()
        .rev()
        .fold(0u64, |acc, x| (acc << 8) | u64::from(*x)))
}

/// A map entry {key=1, value=2}; a missing value is the value type's zero.
fn entry(m: &Message, f: &Field, w: Wire<'_>, depth: usize) -> Result<(String, Value), WireError> {
    let Wire::Len(b) = w else {
        return Err(mismatch(m, f, &w));
    };
    let (mut key, mut value) = (String::new(), None);
    for field in reader::fields(b) {
        match field? {
            (1, Wire::Len(k)) => key = String::from_utf8_lossy(k).into_owned(),
            (2, w) => value = scalar(m, f, w, depth)?,
            (n, w) => {
                return Err(WireError::Malformed(format!(
                    "map entry of {}.{}: field {n} ({})",
                    m.name,
                    f.name,
                    w.type_name()
                )));
            }
        }
    }
    let value = match value {
        Some(v) => v,
        None => scalar(m, f, zero(f.kind), depth)?.unwrap_or(Value::Null),
    };
    Ok((key, value))
}

fn zero(kind: Kind) -> Wire<'static> {
    match kind {
        Kind::Str | Kind::Bytes | Kind::Msg(_) => Wire::Len(&[]),
        Kind::F64 => Wire::Fixed64(0),
        Kind::F32 => Wire::Fixed32(0),
        _ => Wire::Varint(0),
    }
}

/// One value of field `f`'s kind.
fn scalar(m: &Message, f: &Field, w: Wire<'_>, depth: usize) -> Result<Option<Value>, WireError> {
    let v = match (f.kind, w) {
        // encoding/json replaces invalid UTF-8 with U+FFFD; so does this.
        (Kind::Str, Wire::Len(b)) => json!(String::from_utf8_lossy(b)),
        (Kind::Bytes, Wire::Len(b)) => json!(STANDARD.encode(b)),
        (Kind::Bool, Wire::Varint(v)) => json!(v != 0),
        // int32 is sign-extended to 64 bits on the wire; truncation restores it.
        (Kind::I32, Wire::Varint(v)) => json!(v as i32),
        (Kind::I64, Wire::Varint(v)) => json!(v as i64),
        (Kind::U64, Wire::Varint(v)) => json!(v),
        (Kind::F64, Wire::Fixed64(v)) => finite(f64::from_bits(v))?,
        (Kind::F32, Wire::Fixed32(v)) => finite(f64::from(f32::from_bits(v)))?,
        (Kind::Msg(idx), Wire::Len(b)) => return message(b, idx, depth + 1),
        (_, w) => return Err(mismatch(m, f, &w)),
    };
    Ok(Some(v))
}

/// encoding/json refuses NaN and infinities; so does this.
fn finite(x: f64) -> Result<Value, WireError> {
    serde_json::Number::from_f64(x)
        .map(Value::Number)
        .ok_or_else(|| WireError::Malformed(format!("{x} is not a JSON number")))
}

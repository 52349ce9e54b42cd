//! Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`),
//! decoded to the JSON the rest of the sandbox stores. client-go's typed
//! clients send every built-in kind this way (kubectl create job --from,
//! create deployment, create token, auth can-i, drain's evictions), and a real
//! kube-apiserver decodes them all, so the sandbox must too.
//!
//! The envelope (k8s.io/apimachinery/pkg/runtime/serializer/protobuf/
//! protobuf.go) is the magic `k8s\0` followed by a `runtime.Unknown`:
//! `typeMeta{apiVersion=1, kind=2}=1, raw=2, contentEncoding=3,
//! contentType=4`. `raw` is the object's own message, chosen by
//! apiVersion+kind from the generated [`schema`] tables; [`convert`] turns it
//! into JSON following the Go types' JSON encodings.
//!
//! Refusals: a kind or field number the schema lacks is 415 naming it (the
//! data would otherwise be dropped silently; JSON works for anything);
//! malformed bytes are 400, as a real server's decode error is.

mod convert;
pub mod model;
mod reader;
pub mod schema;

use serde_json::{Map, Value, json};

use reader::Wire;

/// The magic prefix of a Kubernetes protobuf body.
pub const MAGIC: &[u8] = b"k8s\x00";

/// Deepest message nesting accepted. The deepest real object (a CronJob's
/// pod template's affinity terms) nests about 15 levels; the limit keeps a
/// hostile body from exhausting the stack.
pub const MAX_DEPTH: usize = 64;

/// The largest body decoded: the real server's default request-body limit
/// (apiserver's `MaxRequestBodyBytes`, 3 MiB). Decoded JSON grows at most a
/// small constant factor beyond the input, so memory stays bounded too.
pub const MAX_BODY: usize = 3 * 1024 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    /// Bytes that are not a well-formed protobuf object: 400.
    #[error("error decoding protobuf body: {0}")]
    Malformed(String),
    /// Well-formed, but a kind or field the sandbox's schema lacks: 415.
    #[error("{0}")]
    Unsupported(String),
}

/// The envelope's parts.
struct Envelope<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
    encoding: String,
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn envelope(body: &[u8]) -> Result<Envelope<'_>, WireError> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| WireError::Malformed("the body does not start with k8s\\0".into()))?;
    let mut env = Envelope {
        api_version: String::new(),
        kind: String::new(),
        raw: &[],
        encoding: String::new(),
    };
    for field in reader::fields(rest) {
        match field? {
            (1, Wire::Len(tm)) => {
                for f in reader::fields(tm) {
                    match f? {
                        (1, Wire::Len(s)) => env.api_version = lossy(s),
                        (2, Wire::Len(s)) => env.kind = lossy(s),
                        _ => {}
                    }
                }
            }
            (2, Wire::Len(raw)) => env.raw = raw,
            (3, Wire::Len(s)) => env.encoding = lossy(s),
            // contentType and fields newer than this schema carry nothing
            // the object needs.
            _ => {}
        }
    }
    Ok(env)
}

/// The message index for `api_version` + `kind`.
pub fn lookup(api_version: &str, kind: &str) -> Option<usize> {
    schema::KINDS
        .binary_search_by(|k| (k.api_version, k.kind).cmp(&(api_version, kind)))
        .ok()
        .map(|i| schema::KINDS[i].message)
}

/// Decodes a protobuf body into the JSON object a client would have sent as
/// `application/json`, `kind` and `apiVersion` first.
pub fn decode(body: &[u8]) -> Result<Value, WireError> {
    if body.len() > MAX_BODY {
        return Err(WireError::Malformed(format!(
            "the body is {} bytes, more than the {MAX_BODY} allowed",
            body.len()
        )));
    }
    let env = envelope(body)?;
    if !env.encoding.is_empty() {
        return Err(WireError::Unsupported(format!(
            "protobuf contentEncoding {:?} is not supported; send the object as application/json",
            env.encoding
        )));
    }
    let idx = lookup(&env.api_version, &env.kind).ok_or_else(|| {
        WireError::Unsupported(format!(
            "the sandbox cannot decode {} {:?} from protobuf (not in its Kubernetes 1.33 schema); send it as application/json",
            env.api_version, env.kind
        ))
    })?;
    let mut out = Map::new();
    out.insert("kind".into(), json!(env.kind));
    out.insert("apiVersion".into(), json!(env.api_version));
    if let Some(Value::Object(fields)) = convert::message(env.raw, idx, 0)? {
        out.extend(fields);
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests;

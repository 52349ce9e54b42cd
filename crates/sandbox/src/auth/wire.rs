//! Just enough of the Kubernetes protobuf encoding to read the three
//! requests kubectl sends as protobuf to the identity APIs
//! (SelfSubjectAccessReview, SelfSubjectRulesReview, TokenRequest): client-go's
//! typed clients for built-in kinds post `application/vnd.kubernetes.protobuf`.
//! The envelope is the magic `k8s\0` and a `runtime.Unknown` whose field 2 is
//! the object (k8s.io/apimachinery/pkg/runtime/serializer/protobuf); field
//! numbers are those of k8s.io/api/{authorization,authentication}/v1
//! generated.proto. Answers go back as JSON, which client-go also accepts.

use serde_json::{Map, Value, json};

const MAGIC: &[u8] = b"k8s\x00";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed protobuf body")]
pub struct WireError;

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(b: &[u8], pos: &mut usize) -> Result<u64, WireError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*pos).ok_or(WireError)?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(WireError)
}

/// The fields of one message, in order: (number, value).
fn fields(b: &[u8]) -> Result<Vec<(u64, Field<'_>)>, WireError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        let key = varint(b, &mut pos)?;
        let (num, wire) = (key >> 3, key & 7);
        let f = match wire {
            0 => Field::Varint(varint(b, &mut pos)?),
            2 => {
                let len = usize::try_from(varint(b, &mut pos)?).map_err(|_| WireError)?;
                let end = pos
                    .checked_add(len)
                    .filter(|e| *e <= b.len())
                    .ok_or(WireError)?;
                let s = &b[pos..end];
                pos = end;
                Field::Bytes(s)
            }
            1 => {
                pos += 8;
                continue;
            }
            5 => {
                pos += 4;
                continue;
            }
            _ => return Err(WireError),
        };
        out.push((num, f));
    }
    if pos > b.len() {
        return Err(WireError);
    }
    Ok(out)
}

fn sub(b: &[u8], num: u64) -> Result<Option<&[u8]>, WireError> {
    Ok(fields(b)?.into_iter().find_map(|(n, f)| match f {
        Field::Bytes(s) if n == num => Some(s),
        _ => None,
    }))
}

/// A message of string fields as a JSON object, named by `names[number-1]`.
fn strings(b: &[u8], names: &[&str]) -> Result<Value, WireError> {
    let mut m = Map::new();
    for (n, f) in fields(b)? {
        if let (Field::Bytes(s), Some(name)) = (f, names.get((n as usize).wrapping_sub(1))) {
            m.insert(
                name.to_string(),
                json!(String::from_utf8_lossy(s).into_owned()),
            );
        }
    }
    Ok(Value::Object(m))
}

/// The object inside the `k8s\0` + runtime.Unknown envelope.
fn unwrap_envelope(body: &[u8]) -> Result<&[u8], WireError> {
    let rest = body.strip_prefix(MAGIC).ok_or(WireError)?;
    sub(rest, 2)?.ok_or(WireError)
}

/// The `spec` of a protobuf SelfSubjectAccessReview / SelfSubjectRulesReview
/// / TokenRequest, as the JSON the handlers read.
pub fn decode(kind: &str, body: &[u8]) -> Result<Value, WireError> {
    let obj = unwrap_envelope(body)?;
    let spec = sub(obj, 2)?.unwrap_or(&[]);
    let spec = match kind {
        "SelfSubjectAccessReview" => {
            let mut s = json!({});
            if let Some(r) = sub(spec, 1)? {
                s["resourceAttributes"] = strings(
                    r,
                    &[
                        "namespace",
                        "verb",
                        "group",
                        "version",
                        "resource",
                        "subresource",
                        "name",
                    ],
                )?;
            }
            if let Some(n) = sub(spec, 2)? {
                s["nonResourceAttributes"] = strings(n, &["path", "verb"])?;
            }
            s
        }
        "SelfSubjectRulesReview" => strings(spec, &["namespace"])?,
        "TokenRequest" => {
            let mut s = json!({});
            let mut audiences = Vec::new();
            for (n, f) in fields(spec)? {
                match (n, f) {
                    (1, Field::Bytes(a)) => audiences.push(json!(String::from_utf8_lossy(a))),
                    (4, Field::Varint(v)) => s["expirationSeconds"] = json!(v),
                    _ => {}
                }
            }
            if !audiences.is_empty() {
                s["audiences"] = Value::Array(audiences);
            }
            s
        }
        _ => return Err(WireError),
    };
    Ok(json!({"spec": spec}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ld(num: u8, b: &[u8]) -> Vec<u8> {
        let mut v = vec![(num << 3) | 2, u8::try_from(b.len()).unwrap()];
        v.extend_from_slice(b);
        v
    }

    #[test]
    fn decodes_a_kubectl_access_review() {
        let attrs = [ld(1, b"shop"), ld(2, b"delete"), ld(5, b"pods")].concat();
        let obj = ld(2, &ld(1, &attrs));
        let body = [MAGIC.to_vec(), ld(2, &obj)].concat();
        let v = decode("SelfSubjectAccessReview", &body).unwrap();
        assert_eq!(
            v["spec"]["resourceAttributes"],
            json!({"namespace": "shop", "verb": "delete", "resource": "pods"})
        );
        let token = [ld(1, b"aud"), vec![4 << 3, 0xd0, 0x0f]].concat();
        let body = [MAGIC.to_vec(), ld(2, &ld(2, &token))].concat();
        let v = decode("TokenRequest", &body).unwrap();
        assert_eq!(v["spec"]["expirationSeconds"], 2000);
        assert_eq!(v["spec"]["audiences"][0], "aud");
        assert_eq!(decode("TokenRequest", b"{}"), Err(WireError));
    }
}

//! Small accessors for object metadata held as `serde_json::Value`. The store
//! keeps objects untyped so that every field a client sends survives a round
//! trip, the way kube-apiserver preserves them.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value};

/// RFC 3339 UTC with second precision, as `metav1.Time` serialises.
pub fn now_rfc3339() -> String {
    format_time(jiff::Timestamp::now())
}

pub fn format_time(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parses a `metav1.Time`; None for anything malformed.
pub fn parse_time(s: &str) -> Option<jiff::Timestamp> {
    s.parse().ok()
}

static UID_COUNTER: AtomicU64 = AtomicU64::new(1);

/// A UUID-shaped unique id. Uniqueness within one sandbox is what matters
/// (kubectl drain compares uids to tell a replacement from the original);
/// the time component keeps ids distinct across sandboxes too.
pub fn new_uid() -> String {
    let n = UID_COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = jiff::Timestamp::now().as_nanosecond() as u64;
    let a = mix(t ^ n.rotate_left(32));
    let b = mix(a ^ n);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (a >> 32) as u32,
        (a >> 16) as u16,
        (a & 0xfff) as u16,
        (b >> 52) as u16 & 0xfff,
        b & 0xffff_ffff_ffff
    )
}

/// splitmix64: enough to spread counters into random-looking bits.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A pod-name suffix like the ReplicaSet controller's: 5 characters from the
/// alphabet Kubernetes uses (no vowels, no confusable digits).
pub fn random_suffix(len: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut x =
        mix(UID_COUNTER.fetch_add(1, Ordering::Relaxed)
            ^ jiff::Timestamp::now().as_nanosecond() as u64);
    let mut s = String::with_capacity(len);
    for _ in 0..len {
        s.push(ALPHABET[(x % ALPHABET.len() as u64) as usize] as char);
        x /= ALPHABET.len() as u64;
        if x == 0 {
            x = mix(x ^ 0x5eed);
        }
    }
    s
}

/// A stable short hash of a JSON value (pod-template-hash, revisions).
pub fn value_hash(v: &Value) -> String {
    // FNV-1a over the canonical serialisation (serde_json maps are sorted).
    let bytes = serde_json::to_vec(v).unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut x = mix(h);
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut s = String::new();
    for _ in 0..10 {
        s.push(ALPHABET[(x % ALPHABET.len() as u64) as usize] as char);
        x /= ALPHABET.len() as u64;
    }
    s
}

/// A pod template as its hash should see it: without nulls, empty maps and
/// lists, and the `pod-template-hash` label. Clients that round-trip a
/// template through Go structs (kubectl rollout undo) add
/// `creationTimestamp: null` and `resources: {}`; they must not make a
/// different template.
pub fn canonical_template(v: &Value) -> Value {
    fn strip(v: &Value) -> Option<Value> {
        match v {
            Value::Null => None,
            Value::Object(m) => {
                let out: Map<String, Value> = m
                    .iter()
                    .filter(|(k, _)| k.as_str() != "pod-template-hash")
                    .filter_map(|(k, x)| strip(x).map(|x| (k.clone(), x)))
                    .collect();
                (!out.is_empty()).then_some(Value::Object(out))
            }
            Value::Array(a) => {
                let out: Vec<Value> = a.iter().filter_map(strip).collect();
                (!out.is_empty()).then_some(Value::Array(out))
            }
            x => Some(x.clone()),
        }
    }
    strip(v).unwrap_or(Value::Null)
}

pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(v, path).and_then(Value::as_str)
}

pub fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    Some(cur)
}

pub fn name(v: &Value) -> &str {
    str_at(v, &["metadata", "name"]).unwrap_or("")
}

pub fn namespace(v: &Value) -> &str {
    str_at(v, &["metadata", "namespace"]).unwrap_or("")
}

pub fn uid(v: &Value) -> &str {
    str_at(v, &["metadata", "uid"]).unwrap_or("")
}

pub fn labels(v: &Value) -> Option<&Map<String, Value>> {
    at(v, &["metadata", "labels"]).and_then(Value::as_object)
}

pub fn annotation<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    at(v, &["metadata", "annotations", key]).and_then(Value::as_str)
}

/// The uid of the owner marked `controller: true`, if any.
pub fn controller_uid(v: &Value) -> Option<&str> {
    at(v, &["metadata", "ownerReferences"])?
        .as_array()?
        .iter()
        .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))
        .and_then(|o| o.get("uid"))
        .and_then(Value::as_str)
}

/// Mutable access to `v[path]`, creating empty objects on the way.
pub fn ensure_object<'a>(v: &'a mut Value, path: &[&str]) -> &'a mut Map<String, Value> {
    let mut cur = v;
    for p in path {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let Value::Object(map) = cur else {
            unreachable!("just made an object")
        };
        cur = map
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if !cur.is_object() {
        *cur = Value::Object(Map::new());
    }
    match cur {
        Value::Object(map) => map,
        _ => unreachable!("just made an object"),
    }
}

/// An owner reference to `owner` with `controller: true`.
pub fn owner_ref(owner: &Value) -> Value {
    serde_json::json!({
        "apiVersion": owner.get("apiVersion").cloned().unwrap_or(Value::Null),
        "kind": owner.get("kind").cloned().unwrap_or(Value::Null),
        "name": name(owner),
        "uid": uid(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// Human age as kubectl prints it: 45s, 5m10s, 3h, 2d.
pub fn human_age(created: Option<&str>) -> String {
    let Some(ts) = created.and_then(parse_time) else {
        return "<unknown>".to_string();
    };
    let secs = (jiff::Timestamp::now().as_second() - ts.as_second()).max(0);
    human_duration(secs)
}

pub fn human_duration(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 600 => {
            let m = s / 60;
            let r = s % 60;
            if r == 0 {
                format!("{m}m")
            } else {
                format!("{m}m{r}s")
            }
        }
        s if s < 3 * 3600 => format!("{}m", s / 60),
        s if s < 8 * 3600 => {
            let h = s / 3600;
            let m = (s % 3600) / 60;
            if m == 0 {
                format!("{h}h")
            } else {
                format!("{h}h{m}m")
            }
        }
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_unique_and_uuid_shaped() {
        let a = new_uid();
        let b = new_uid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
    }

    #[test]
    fn template_hash_is_stable_and_sensitive() {
        let a = serde_json::json!({"spec": {"containers": [{"name": "a", "image": "x:1"}]}});
        let b = serde_json::json!({"spec": {"containers": [{"name": "a", "image": "x:2"}]}});
        assert_eq!(value_hash(&a), value_hash(&a.clone()));
        assert_ne!(value_hash(&a), value_hash(&b));
    }

    #[test]
    fn canonical_templates_ignore_go_round_trip_artifacts() {
        let a = serde_json::json!({"metadata": {"labels": {"app": "x"}},
            "spec": {"containers": [{"name": "a", "image": "x:1"}]}});
        let b = serde_json::json!({"metadata": {"creationTimestamp": null,
            "labels": {"app": "x", "pod-template-hash": "abc"}},
            "spec": {"containers": [{"name": "a", "image": "x:1", "resources": {}}]}});
        assert_eq!(
            value_hash(&canonical_template(&a)),
            value_hash(&canonical_template(&b))
        );
    }

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(310), "5m10s");
        assert_eq!(human_duration(4000), "66m");
        assert_eq!(human_duration(3 * 86400), "3d");
    }
}

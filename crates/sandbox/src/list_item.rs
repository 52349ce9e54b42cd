//! How an object appears inside a list response: without `kind` and
//! `apiVersion`. kube-apiserver omits both from the items of a list (the
//! list's own `kind` says what they are; kubernetes/kubernetes#3030, still
//! open), while a GET or a watch event carries them. Clients that read
//! `items[].kind` work on a lenient server and break on a real one, so the
//! sandbox serves items as the real server does.
//!
//! Items are written from their stored bytes, not re-serialised: this finds,
//! once per stored version, the spans of the top-level members to keep.

use std::ops::Range;

/// The byte spans of `raw`'s top-level members other than `kind` and
/// `apiVersion`, or None when it has neither (write `raw` as it is).
/// `raw` is compact JSON as serde_json writes it; anything else gives None.
pub fn kept_members(raw: &[u8]) -> Option<Box<[Range<u32>]>> {
    let members = top_level_members(raw)?;
    let dropped = |m: &Member| {
        let key = &raw[m.key.clone()];
        key == b"\"kind\"" || key == b"\"apiVersion\""
    };
    if !members.iter().any(dropped) {
        return None;
    }
    // Neighbouring kept members form one span (the comma between them
    // included), so an item is usually written with one copy.
    let mut kept: Vec<Range<u32>> = Vec::new();
    let mut after_dropped = true;
    for m in &members {
        if dropped(m) {
            after_dropped = true;
            continue;
        }
        let (start, end) = (
            u32::try_from(m.span.start).ok()?,
            u32::try_from(m.span.end).ok()?,
        );
        match kept.last_mut() {
            Some(last) if !after_dropped => last.end = end,
            _ => kept.push(start..end),
        }
        after_dropped = false;
    }
    Some(kept.into_boxed_slice())
}

/// Appends the list form of `raw` to `out`.
pub fn write(raw: &[u8], kept: Option<&[Range<u32>]>, out: &mut Vec<u8>) {
    let Some(kept) = kept else {
        out.extend_from_slice(raw);
        return;
    };
    out.push(b'{');
    for (i, r) in kept.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&raw[r.start as usize..r.end as usize]);
    }
    out.push(b'}');
}

struct Member {
    key: Range<usize>,
    /// The whole `"key":value`.
    span: Range<usize>,
}

/// The top-level members of a compact JSON object, by scanning bytes:
/// strings (with escapes) are skipped whole, nesting is counted.
fn top_level_members(raw: &[u8]) -> Option<Vec<Member>> {
    if raw.first() != Some(&b'{') || raw.last() != Some(&b'}') {
        return None;
    }
    let mut members = Vec::new();
    let mut i = 1;
    let end = raw.len() - 1;
    while i < end {
        let start = i;
        let key_end = string_end(raw, i)?;
        if raw.get(key_end) != Some(&b':') {
            return None;
        }
        let mut j = key_end + 1;
        let mut depth = 0usize;
        while j < end {
            match raw[j] {
                b'"' => {
                    j = string_end(raw, j)?;
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth = depth.checked_sub(1)?,
                b',' if depth == 0 => break,
                _ => {}
            }
            j += 1;
        }
        members.push(Member {
            key: start..key_end,
            span: start..j,
        });
        i = j + 1;
    }
    Some(members)
}

/// The index just past the string that starts at `raw[i]` (a `"`).
fn string_end(raw: &[u8], i: usize) -> Option<usize> {
    if raw.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    while j < raw.len() {
        match raw[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn list_form(v: &Value) -> Value {
        let raw = serde_json::to_vec(v).unwrap();
        let kept = kept_members(&raw);
        let mut out = Vec::new();
        write(&raw, kept.as_deref(), &mut out);
        serde_json::from_slice(&out).expect("valid JSON")
    }

    #[test]
    fn kind_and_api_version_go_wherever_they_are_and_nothing_else_does() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet"}],
                "annotations": {"x": "a \"kind\":\"Pod\", {[", "kind": "v"}},
            "spec": {"containers": [{"name": "c"}]}});
        let mut want = pod.clone();
        want.as_object_mut().unwrap().remove("kind");
        want.as_object_mut().unwrap().remove("apiVersion");
        assert_eq!(list_form(&pod), want);
        // At the end, or between other members.
        let end =
            json!({"metadata": {"name": "p"}, "status": {}, "apiVersion": "v1", "kind": "Pod"});
        assert_eq!(
            list_form(&end),
            json!({"metadata": {"name": "p"}, "status": {}})
        );
        let mid = json!({"metadata": {}, "kind": "Pod", "spec": {}, "apiVersion": "v1"});
        assert_eq!(list_form(&mid), json!({"metadata": {}, "spec": {}}));
        // Kept neighbours are one span.
        let raw = serde_json::to_vec(&end).unwrap();
        assert_eq!(kept_members(&raw).map(|k| k.len()), Some(1));
        let raw = serde_json::to_vec(&mid).unwrap();
        assert_eq!(kept_members(&raw).map(|k| k.len()), Some(2));
        // Nothing to drop: the bytes as stored.
        let raw = serde_json::to_vec(&json!({"metadata": {"kind": "x"}})).unwrap();
        assert!(kept_members(&raw).is_none());
    }

    #[test]
    fn odd_bytes_are_left_as_they_are() {
        for raw in [
            &b""[..],
            b"[]",
            b"{\"a\"}",
            b"{\"a\":\"unterminated}",
            b"{\"kind\":1",
        ] {
            assert!(
                kept_members(raw).is_none(),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }
}

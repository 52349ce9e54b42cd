//! Object views kept between scrapes, by uid and resourceVersion.
//!
//! A `/metrics` scrape needs a [`Snapshot`] of every pod, workload, node
//! and policy. Building it from the stored bytes means parsing each object
//! into a `serde_json::Value` and dropping it again: for 10,000 pods that
//! was most of a scrape's 400-870 ms, nearly all of it in the allocator
//! (docs/performance.md, "Sandbox metrics"). A view is a pure function of
//! the object and the store gives every write a new resourceVersion, so a
//! view whose object still has the resourceVersion it was built from is
//! still right: only objects written since the last scrape are parsed.
//!
//! The cache holds views, not parsed trees, so it costs a few hundred bytes
//! per object, not the kilobytes of a `Value` (the reason the store keeps
//! bytes plus a summary rather than parsed objects).

use std::collections::HashMap;
use std::sync::Arc;

use crate::snapshot::{ObjectView, Snapshot};
use crate::store::Obj;

/// One object's view, and the resourceVersion it was built from.
struct Entry {
    rv: u64,
    view: Option<ObjectView>,
}

/// Views of the objects seen at the last scrape, per kind and uid.
#[derive(Default)]
pub struct ViewCache {
    kinds: Vec<HashMap<String, Entry>>,
}

impl ViewCache {
    /// A snapshot of `objects`, listed per kind (`lists[i]` is one kind,
    /// the same kind at the same index on every call). Objects unchanged
    /// since the last call are not parsed again; objects gone are
    /// forgotten.
    pub fn snapshot(&mut self, lists: &[Vec<Arc<Obj>>]) -> Snapshot {
        self.kinds.resize_with(lists.len(), HashMap::new);
        let mut snap = Snapshot::default();
        for (objects, cached) in lists.iter().zip(self.kinds.iter_mut()) {
            let mut kept = HashMap::with_capacity(objects.len());
            for obj in objects {
                let key = cache_key(obj);
                let (key, entry) = match cached.remove_entry(key.as_ref()) {
                    Some((k, e)) if e.rv == obj.rv => (k, e),
                    _ => (
                        key.into_owned(),
                        Entry {
                            rv: obj.rv,
                            view: obj.with_value(ObjectView::of),
                        },
                    ),
                };
                if let Some(v) = &entry.view {
                    snap.push(v.clone());
                }
                kept.insert(key, entry);
            }
            *cached = kept;
        }
        snap
    }
}

/// The uid, or for an object without one (never stored so, but a view
/// must not depend on it) its namespace and name.
fn cache_key(obj: &Obj) -> std::borrow::Cow<'_, str> {
    if obj.summary.uid.is_empty() {
        format!("{}/{}", obj.summary.namespace, obj.summary.name).into()
    } else {
        obj.summary.uid.as_str().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, rv: u64, phase: &str) -> Arc<Obj> {
        let v = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"),
                          "resourceVersion": rv.to_string()},
            "spec": {"containers": [{"name": "app", "image": "shop/app:1"}]},
            "status": {"phase": phase},
        });
        Arc::new(Obj::new(v, rv, false).expect("serialisable"))
    }

    #[test]
    fn a_changed_object_is_read_again_and_a_deleted_one_forgotten() {
        let mut cache = ViewCache::default();
        let first = cache.snapshot(&[vec![pod("a", 1, "Pending"), pod("b", 2, "Running")]]);
        assert_eq!(first.pods.len(), 2);
        assert_eq!(first.pods[0].phase, "Pending");

        // Same uid, new resourceVersion: the new phase shows; b is gone.
        let second = cache.snapshot(&[vec![pod("a", 3, "Running")]]);
        assert_eq!(second.pods.len(), 1);
        assert_eq!(second.pods[0].phase, "Running");
        assert_eq!(cache.kinds[0].len(), 1, "b's view must not outlive b");
    }

    #[test]
    fn the_cached_snapshot_equals_one_built_from_parsed_objects() {
        let objs = vec![pod("a", 1, "Running"), pod("b", 2, "Pending")];
        let mut cache = ViewCache::default();
        cache.snapshot(std::slice::from_ref(&objs));
        let cached = cache.snapshot(std::slice::from_ref(&objs));
        let values: Vec<_> = objs.iter().map(|o| o.parse()).collect();
        let fresh = Snapshot::from_objects(values.iter());
        assert_eq!(cached.pods, fresh.pods);
    }

    #[test]
    fn an_unchanged_object_is_not_parsed_again() {
        // A view is rebuilt only from a new resourceVersion: an object
        // whose bytes changed under the same resourceVersion (which the
        // store never does) keeps its first view, which shows the cache hit.
        let mut cache = ViewCache::default();
        cache.snapshot(&[vec![pod("a", 1, "Pending")]]);
        let again = cache.snapshot(&[vec![pod("a", 1, "Running")]]);
        assert_eq!(again.pods[0].phase, "Pending");
    }
}

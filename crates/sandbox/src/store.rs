//! The object store: every object as JSON under (resource, namespace, name),
//! one global resourceVersion counter, and a bounded per-resource history of
//! changes so watches can resume from a resourceVersion.
//!
//! Each object keeps its serialised bytes: a list of 10,000 pods is then a
//! concatenation, not 10,000 serialisations, which is what keeps `kubectl
//! get pods -A -o json` fast. Pods keep only those bytes and a [`Summary`]
//! of the fields controllers and selectors read; their full JSON tree is
//! parsed on demand. A parsed pod costs about 18 KB (serde_json maps), its
//! bytes about 2 KB, so this is what keeps 10,000 pods well under 300 MB.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use axum::body::Bytes;
use serde_json::{Map, Value};
use tokio::sync::{Notify, broadcast};

use crate::deletion;
use crate::error::ApiError;
use crate::meta;
use crate::resources::{self, RESOURCES, ResId};

/// `(namespace, name, uid)` of a pod.
pub type PodKey = (String, String, String);

/// How many abrupt pod deletions the store remembers: far more than can
/// happen within the few seconds the traffic model looks back.
const ABRUPT_POD_DELETIONS: usize = 1024;

/// One stored version of an object. Immutable once stored; a change stores a
/// new `Obj`, so readers and watch events can hold it without locks.
#[derive(Debug)]
pub struct Obj {
    pub raw: Bytes,
    /// How `raw` appears as a list item (without `kind` and `apiVersion`,
    /// see [`crate::list_item`]); None when it is `raw` as it is.
    pub list_kept: Option<Box<[std::ops::Range<u32>]>>,
    pub rv: u64,
    pub summary: Summary,
    parsed: OnceLock<Value>,
}

/// The stored version a [`Store::modify`] edit starts from.
pub struct Current<'a> {
    pub rv: u64,
    pub value: &'a Value,
}

/// The fields of an object that controllers, selectors and watch filters
/// read on every pass, extracted once when the object is stored.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub labels: Vec<(String, String)>,
    /// The controlling owner: (kind, name, uid).
    pub owner: Option<(String, String, String)>,
    pub node_name: String,
    pub phase: String,
    pub ready: bool,
    pub deleting: bool,
    pub created: String,
    pub cpu_millis: i64,
}

impl Summary {
    fn of(v: &Value) -> Self {
        let labels = meta::labels(v)
            .map(|m| {
                m.iter()
                    .map(|(k, x)| (k.clone(), x.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let owner = meta::at(v, &["metadata", "ownerReferences"])
            .and_then(Value::as_array)
            .and_then(|os| os.iter().find(|o| o["controller"] == true))
            .map(|o| {
                let s = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                (s("kind"), s("name"), s("uid"))
            });
        let ready = meta::at(v, &["status", "conditions"])
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            });
        let cpu_millis = meta::at(v, &["spec", "containers"])
            .and_then(Value::as_array)
            .map(|cs| {
                cs.iter()
                    .filter_map(|c| meta::str_at(c, &["resources", "requests", "cpu"]))
                    .filter_map(crate::controllers::scheduler::cpu_millis)
                    .sum()
            })
            .unwrap_or(0);
        let s = |path: &[&str]| meta::str_at(v, path).unwrap_or("").to_string();
        Summary {
            name: s(&["metadata", "name"]),
            namespace: s(&["metadata", "namespace"]),
            uid: s(&["metadata", "uid"]),
            labels,
            owner,
            node_name: s(&["spec", "nodeName"]),
            phase: s(&["status", "phase"]),
            ready,
            deleting: meta::at(v, &["metadata", "deletionTimestamp"]).is_some(),
            created: s(&["metadata", "creationTimestamp"]),
            cpu_millis,
        }
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn owner_uid(&self) -> Option<&str> {
        self.owner.as_ref().map(|(_, _, uid)| uid.as_str())
    }
}

impl Obj {
    /// The full object. Pods are parsed from their bytes on first use and
    /// kept with this version; bulk readers use [`Obj::parse`] instead.
    pub fn value(&self) -> &Value {
        self.parsed.get_or_init(|| self.parse())
    }

    /// A fresh parse that is not kept: for one-off reads of many objects.
    pub fn parse(&self) -> Value {
        match self.parsed.get() {
            Some(v) => v.clone(),
            // The bytes were serialised from a Value, so they parse.
            None => serde_json::from_slice(&self.raw).unwrap_or(Value::Null),
        }
    }

    /// Reads the full object without keeping a parse: the kept tree when
    /// there is one, else a parse dropped after `f`.
    pub fn with_value<R>(&self, f: impl FnOnce(&Value) -> R) -> R {
        match self.parsed.get() {
            Some(v) => f(v),
            None => f(&serde_json::from_slice(&self.raw).unwrap_or(Value::Null)),
        }
    }

    /// Builds a stored object; `keep_tree` keeps the parsed JSON alongside.
    pub fn new(value: Value, rv: u64, keep_tree: bool) -> Result<Self, serde_json::Error> {
        let raw = Bytes::from(serde_json::to_vec(&value)?);
        let list_kept = crate::list_item::kept_members(&raw);
        let summary = Summary::of(&value);
        let parsed = OnceLock::new();
        if keep_tree {
            let _ = parsed.set(value);
        }
        Ok(Obj {
            raw,
            list_kept,
            rv,
            summary,
            parsed,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

#[derive(Debug)]
pub struct WatchEvent {
    pub res: ResId,
    pub kind: EventType,
    pub obj: Arc<Obj>,
    /// The version a MODIFIED event replaced: a filtered watch turns the
    /// change into ADDED or DELETED when the object starts or stops matching
    /// its selectors, as the apiserver does.
    pub prev: Option<Arc<Obj>>,
}

impl WatchEvent {
    /// The event type a watch with the filter `matches` should see, if any.
    pub fn seen_as(&self, matches: impl Fn(&Obj) -> bool) -> Option<&'static str> {
        let now = matches(&self.obj);
        match (self.kind, &self.prev) {
            (EventType::Modified, Some(prev)) => match (matches(prev), now) {
                (true, true) => Some("MODIFIED"),
                (false, true) => Some("ADDED"),
                (true, false) => Some("DELETED"),
                (false, false) => None,
            },
            (kind, _) => now.then_some(kind.as_str()),
        }
    }
}

/// How an update treats `status`. kube-apiserver ignores status on the main
/// resource and everything but status on `/status`; controllers write both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateMode {
    Spec,
    Status,
    Full,
}

type Key = (String, String);

#[derive(Default)]
struct History {
    events: VecDeque<Arc<WatchEvent>>,
    /// The newest resourceVersion dropped from `events`; a watch starting
    /// before it has missed changes and gets 410 Gone.
    evicted_up_to: u64,
}

struct Inner {
    rv: u64,
    tables: Vec<BTreeMap<Key, Arc<Obj>>>,
    history: Vec<History>,
}

pub struct Store {
    inner: Mutex<Inner>,
    tx: broadcast::Sender<Arc<WatchEvent>>,
    history_cap: usize,
    /// Pods removed while still serving (force-deleted, never marked
    /// terminating), `(namespace, name, uid)`, newest last, at most
    /// `ABRUPT_POD_DELETIONS`: the traffic model keeps such a pod's endpoint
    /// for the propagation delay, while a graceful deletion leaves the
    /// endpoints first.
    abrupt_pod_deletions: Mutex<VecDeque<PodKey>>,
    /// Wakes the controllers after a write.
    pub changed: Notify,
}

/// The options of a DELETE the store honours.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeleteRequest<'a> {
    /// `preconditions.uid`: 409 when the stored object has another uid.
    pub uid: Option<&'a str>,
    /// `gracePeriodSeconds` from the request, if it gave one.
    pub grace: Option<i64>,
}

/// What a DELETE did: `removed` is false while the object stays (a
/// terminating pod, or finalizers pending).
#[derive(Debug)]
pub struct Deletion {
    pub obj: Arc<Obj>,
    pub removed: bool,
}

/// What a watch starts with: the backlog to replay, then the live stream.
pub struct Subscription {
    pub backlog: Vec<Arc<WatchEvent>>,
    pub rx: broadcast::Receiver<Arc<WatchEvent>>,
    pub rv: u64,
}

fn key(ns: &str, name: &str) -> Key {
    (ns.to_string(), name.to_string())
}

impl Store {
    pub fn new(history_cap: usize) -> Self {
        let (tx, _) = broadcast::channel(1024);
        Store {
            inner: Mutex::new(Inner {
                rv: 1,
                tables: RESOURCES.iter().map(|_| BTreeMap::new()).collect(),
                history: RESOURCES.iter().map(|_| History::default()).collect(),
            }),
            tx,
            history_cap: history_cap.max(16),
            abrupt_pod_deletions: Mutex::new(VecDeque::new()),
            changed: Notify::new(),
        }
    }

    /// Notes that `pod` was deleted with no grace period (see the field).
    fn note_abrupt_pod_deletion(&self, pod: &Value) {
        let mut v = self
            .abrupt_pod_deletions
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if v.len() >= ABRUPT_POD_DELETIONS {
            v.pop_front();
        }
        v.push_back((
            meta::namespace(pod).to_string(),
            meta::name(pod).to_string(),
            meta::str_at(pod, &["metadata", "uid"])
                .unwrap_or_default()
                .to_string(),
        ));
    }

    /// The recent pods deleted with no grace period.
    pub fn abrupt_pod_deletions(&self) -> HashSet<PodKey> {
        self.abrupt_pod_deletions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent maps (every
        // mutation is a single insert/remove), so a poisoned lock is usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    pub fn get(&self, res: ResId, ns: &str, name: &str) -> Result<Arc<Obj>, ApiError> {
        self.try_get(res, ns, name)
            .ok_or_else(|| ApiError::not_found(resources::def(res), name))
    }

    pub fn try_get(&self, res: ResId, ns: &str, name: &str) -> Option<Arc<Obj>> {
        self.lock().tables[res].get(&key(ns, name)).cloned()
    }

    /// All objects of `res` (in `ns` when given) and the list's resourceVersion.
    pub fn list(&self, res: ResId, ns: Option<&str>) -> (Vec<Arc<Obj>>, u64) {
        self.list_filtered(res, ns, |_| true)
    }

    pub fn list_filtered(
        &self,
        res: ResId,
        ns: Option<&str>,
        keep: impl Fn(&Obj) -> bool,
    ) -> (Vec<Arc<Obj>>, u64) {
        let inner = self.lock();
        let table = &inner.tables[res];
        let items = match ns {
            Some(ns) => table
                .range(key(ns, "")..)
                .take_while(|((n, _), _)| n == ns)
                .filter(|(_, o)| keep(o))
                .map(|(_, o)| o.clone())
                .collect(),
            None => table.values().filter(|o| keep(o)).cloned().collect(),
        };
        (items, inner.rv)
    }

    /// The oldest resourceVersion a list continuation or watch may still
    /// start from for `res`: older ones were compacted away (410).
    pub fn oldest_rv(&self, res: ResId) -> u64 {
        self.lock().history[res].evicted_up_to
    }

    pub fn count(&self, res: ResId) -> usize {
        self.lock().tables[res].len()
    }

    fn record(
        &self,
        inner: &mut Inner,
        res: ResId,
        kind: EventType,
        obj: Arc<Obj>,
        prev: Option<Arc<Obj>>,
    ) {
        let ev = Arc::new(WatchEvent {
            res,
            kind,
            obj,
            prev,
        });
        let hist = &mut inner.history[res];
        hist.events.push_back(ev.clone());
        while hist.events.len() > self.history_cap {
            if let Some(old) = hist.events.pop_front() {
                hist.evicted_up_to = old.obj.rv;
            }
        }
        // No receivers is fine: nobody is watching.
        let _ = self.tx.send(ev);
    }

    fn stamp(inner: &mut Inner, res: ResId, mut v: Value) -> Result<Arc<Obj>, ApiError> {
        inner.rv += 1;
        let def = resources::def(res);
        if let Value::Object(m) = &mut v {
            m.insert("apiVersion".into(), Value::String(def.api_version()));
            m.insert("kind".into(), Value::String(def.kind.to_string()));
        }
        meta::ensure_object(&mut v, &["metadata"]).insert(
            "resourceVersion".into(),
            Value::String(inner.rv.to_string()),
        );
        let obj = Obj::new(v, inner.rv, res != resources::PODS)
            .map_err(|e| ApiError::BadRequest(format!("cannot encode object: {e}")))?;
        Ok(Arc::new(obj))
    }

    /// Creates an object, filling in the metadata the server owns. Honours
    /// `generateName` the way the apiserver does.
    pub fn create(&self, res: ResId, ns: &str, mut v: Value) -> Result<Arc<Obj>, ApiError> {
        let def = resources::def(res);
        if !v.is_object() {
            return Err(ApiError::BadRequest(
                "the body must be a JSON object".into(),
            ));
        }
        let ns = if def.namespaced { ns } else { "" };
        let mut inner = self.lock();
        if def.namespaced && !inner.tables[resources::NAMESPACES].contains_key(&key("", ns)) {
            return Err(ApiError::not_found(
                resources::def(resources::NAMESPACES),
                ns,
            ));
        }
        if res == resources::NODES {
            crate::defaults::node(&mut v);
        }
        crate::defaults::workload(res, &mut v);
        if res == resources::PODS {
            crate::defaults::pod(&mut v);
            let namespace = inner.tables[resources::NAMESPACES]
                .get(&key("", ns))
                .map(|o| o.parse());
            crate::admission::pod_security(namespace.as_ref(), &v)?;
        }
        crate::validation::object(res, &v)?;
        let md = meta::ensure_object(&mut v, &["metadata"]);
        let mut name = md
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if name.is_empty() {
            match md.get("generateName").and_then(Value::as_str) {
                Some(prefix) if !prefix.is_empty() => {
                    name = format!("{prefix}{}", meta::random_suffix(5));
                }
                _ => {
                    return Err(ApiError::invalid(
                        def,
                        "",
                        "metadata.name: Required value: name or generateName is required",
                    ));
                }
            }
        }
        validate_name(def, &name)?;
        if let Some(given) = md.get("namespace").and_then(Value::as_str)
            && def.namespaced
            && !given.is_empty()
            && given != ns
        {
            return Err(ApiError::BadRequest(format!(
                "the namespace of the provided object ({given}) does not match the namespace sent on the request ({ns})"
            )));
        }
        md.insert("name".into(), Value::String(name.clone()));
        if def.namespaced {
            md.insert("namespace".into(), Value::String(ns.to_string()));
        } else {
            md.remove("namespace");
        }
        md.insert("uid".into(), Value::String(meta::new_uid()));
        md.insert(
            "creationTimestamp".into(),
            Value::String(meta::now_rfc3339()),
        );
        md.insert("generation".into(), Value::from(1));
        md.remove("deletionTimestamp");
        md.remove("deletionGracePeriodSeconds");
        md.remove("resourceVersion");
        md.remove("managedFields");
        crate::defaults::batch(res, &mut v);
        let k = key(ns, &name);
        if inner.tables[res].contains_key(&k) {
            return Err(ApiError::already_exists(def, &name));
        }
        if res == resources::NAMESPACES {
            let status = meta::ensure_object(&mut v, &["status"]);
            status.insert("phase".into(), Value::String("Active".into()));
            let spec = meta::ensure_object(&mut v, &["spec"]);
            spec.entry("finalizers")
                .or_insert(serde_json::json!(["kubernetes"]));
            meta::ensure_object(&mut v, &["metadata", "labels"]).insert(
                "kubernetes.io/metadata.name".into(),
                Value::String(name.clone()),
            );
        }
        let obj = Self::stamp(&mut inner, res, v)?;
        inner.tables[res].insert(k, obj.clone());
        self.record(&mut inner, res, EventType::Added, obj.clone(), None);
        drop(inner);
        self.changed.notify_one();
        Ok(obj)
    }

    /// Replaces an object. A resourceVersion in the new object must match the
    /// stored one (optimistic concurrency), else 409 Conflict.
    pub fn update(
        &self,
        res: ResId,
        ns: &str,
        name: &str,
        v: Value,
        mode: UpdateMode,
    ) -> Result<Arc<Obj>, ApiError> {
        let def = resources::def(res);
        if let Some(given) = meta::str_at(&v, &["metadata", "name"])
            && given != name
        {
            return Err(ApiError::BadRequest(format!(
                "the name of the object ({given}) does not match the name on the URL ({name})"
            )));
        }
        let want_rv = meta::str_at(&v, &["metadata", "resourceVersion"])
            .filter(|s| !s.is_empty())
            .map(String::from);
        self.modify(res, ns, name, mode, |old, new| {
            if let Some(want) = &want_rv
                && *want != old.rv.to_string()
            {
                return Err(ApiError::conflict(def, name));
            }
            *new = v;
            Ok(())
        })
    }

    /// Read-modify-write under the store lock: `f` sees the stored object and
    /// edits a copy. Server-owned metadata is restored afterwards, and the
    /// update mode decides which of spec and status the edit may change.
    pub fn modify(
        &self,
        res: ResId,
        ns: &str,
        name: &str,
        mode: UpdateMode,
        f: impl FnOnce(&Current<'_>, &mut Value) -> Result<(), ApiError>,
    ) -> Result<Arc<Obj>, ApiError> {
        let def = resources::def(res);
        let ns = if def.namespaced { ns } else { "" };
        let mut inner = self.lock();
        let k = key(ns, name);
        let old = inner.tables[res]
            .get(&k)
            .cloned()
            .ok_or_else(|| ApiError::not_found(def, name))?;
        // One uncached parse: caching the tree on `old` would keep 18 KB per
        // pod alive for as long as anything holds the old version.
        let old_v = old.parse();
        let mut new = old_v.clone();
        f(
            &Current {
                rv: old.rv,
                value: &old_v,
            },
            &mut new,
        )?;
        if !new.is_object() {
            return Err(ApiError::BadRequest(
                "the body must be a JSON object".into(),
            ));
        }
        if res == resources::NODES {
            crate::defaults::node(&mut new);
        }
        crate::defaults::workload(res, &mut new);
        let has_status = def.subresource("status").is_some();
        match mode {
            UpdateMode::Spec if has_status => {
                restore(&mut new, &old_v, "status");
            }
            UpdateMode::Status => {
                let status = new.get("status").cloned();
                let mut merged = old_v.clone();
                if let Some(s) = status {
                    merged["status"] = s;
                }
                // Labels and annotations may change through /status too.
                for field in ["labels", "annotations"] {
                    if let Some(x) = meta::at(&new, &["metadata", field]).cloned() {
                        meta::ensure_object(&mut merged, &["metadata"]).insert(field.into(), x);
                    }
                }
                new = merged;
            }
            _ => {}
        }
        // Server-owned metadata survives any edit.
        let md = meta::ensure_object(&mut new, &["metadata"]);
        for field in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "generation",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ] {
            match meta::at(&old_v, &["metadata", field]) {
                Some(x) => {
                    md.insert(field.into(), x.clone());
                }
                None => {
                    md.remove(field);
                }
            }
        }
        md.remove("managedFields");
        if old_v.get("spec") != new.get("spec") {
            let g = meta::at(&old_v, &["metadata", "generation"])
                .and_then(Value::as_i64)
                .unwrap_or(1);
            meta::ensure_object(&mut new, &["metadata"])
                .insert("generation".into(), Value::from(g + 1));
        }
        if strip_rv(&old_v) == strip_rv(&new) {
            // No-op writes keep the resourceVersion, as the apiserver does.
            return Ok(old);
        }
        if let Some(f) = deletion::added_finalizer(&old_v, &new) {
            return Err(ApiError::invalid(
                def,
                name,
                format!(
                    "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{{\"{f}\"}}"
                ),
            ));
        }
        if deletion::remove_after_update(&old_v, &new) {
            let obj = self.remove_locked(&mut inner, res, &k, &old, new)?;
            drop(inner);
            self.changed.notify_one();
            return Ok(obj);
        }
        let obj = Self::stamp(&mut inner, res, new)?;
        inner.tables[res].insert(k, obj.clone());
        self.record(&mut inner, res, EventType::Modified, obj.clone(), Some(old));
        drop(inner);
        self.changed.notify_one();
        Ok(obj)
    }

    /// Deletes with the request's defaults: a pod gets its own grace
    /// period, an object with finalizers stays (see [`Store::delete_with`]).
    pub fn delete(
        &self,
        res: ResId,
        ns: &str,
        name: &str,
        precondition_uid: Option<&str>,
    ) -> Result<Arc<Obj>, ApiError> {
        self.delete_with(
            res,
            ns,
            name,
            DeleteRequest {
                uid: precondition_uid,
                grace: None,
            },
        )
        .map(|d| d.obj)
    }

    /// Deletes as kube-apiserver does (rules in [`deletion`]): a scheduled
    /// pod is marked terminating (`deletionTimestamp`, MODIFIED) and stays
    /// until the kubelet model removes it; a grace period of 0 removes it at
    /// once (DELETED); finalizers keep any object. Deleting a namespace
    /// deletes everything in it at once.
    pub fn delete_with(
        &self,
        res: ResId,
        ns: &str,
        name: &str,
        req: DeleteRequest<'_>,
    ) -> Result<Deletion, ApiError> {
        let def = resources::def(res);
        let ns = if def.namespaced { ns } else { "" };
        let mut inner = self.lock();
        let k = key(ns, name);
        let old = inner.tables[res]
            .get(&k)
            .cloned()
            .ok_or_else(|| ApiError::not_found(def, name))?;
        if let Some(uid) = req.uid
            && uid != old.summary.uid
        {
            return Err(ApiError::Conflict {
                plural: def.plural.to_string(),
                group_suffix: if def.group.is_empty() {
                    String::new()
                } else {
                    format!(".{}", def.group)
                },
                name: name.to_string(),
                detail: format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    old.summary.uid
                ),
            });
        }
        let mut v = old.parse();
        let plan = deletion::plan(&v, res == resources::PODS, req.grace);
        match plan {
            deletion::Plan::Pending => Ok(Deletion {
                obj: old,
                removed: false,
            }),
            deletion::Plan::Mark { .. } | deletion::Plan::Shorten { .. } => {
                deletion::stamp(&mut v, &plan);
                let obj = Self::stamp(&mut inner, res, v)?;
                inner.tables[res].insert(k, obj.clone());
                self.record(&mut inner, res, EventType::Modified, obj.clone(), Some(old));
                drop(inner);
                self.changed.notify_one();
                Ok(Deletion {
                    obj,
                    removed: false,
                })
            }
            deletion::Plan::Remove => {
                let obj = self.remove_locked(&mut inner, res, &k, &old, v)?;
                drop(inner);
                self.changed.notify_one();
                Ok(Deletion { obj, removed: true })
            }
        }
    }

    /// Removes a stored object (DELETED event). A pod that was still
    /// serving, not terminating, is noted as an abrupt deletion.
    fn remove_locked(
        &self,
        inner: &mut Inner,
        res: ResId,
        k: &Key,
        old: &Obj,
        mut gone: Value,
    ) -> Result<Arc<Obj>, ApiError> {
        inner.tables[res].remove(k);
        if res == resources::PODS && !old.summary.deleting && !old.summary.node_name.is_empty() {
            self.note_abrupt_pod_deletion(&gone);
        }
        let md = meta::ensure_object(&mut gone, &["metadata"]);
        if !md.contains_key("deletionTimestamp") {
            md.insert(
                "deletionTimestamp".into(),
                Value::String(meta::now_rfc3339()),
            );
            md.insert("deletionGracePeriodSeconds".into(), Value::from(0));
        }
        let obj = Self::stamp(inner, res, gone)?;
        self.record(inner, res, EventType::Deleted, obj.clone(), None);
        if res == resources::NAMESPACES {
            let name = k.1.as_str();
            for (r, def) in RESOURCES.iter().enumerate() {
                if !def.namespaced {
                    continue;
                }
                let keys: Vec<Key> = inner.tables[r]
                    .range(key(name, "")..)
                    .take_while(|((n, _), _)| n == name)
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in keys {
                    if let Some(o) = inner.tables[r].remove(&k) {
                        let o = Self::stamp(inner, r, o.parse())?;
                        self.record(inner, r, EventType::Deleted, o, None);
                    }
                }
            }
        }
        Ok(obj)
    }

    /// Starts a watch on `res`. `from` None or 0 replays the current objects
    /// as ADDED (the apiserver's "any" semantics); a resourceVersion replays
    /// the history after it, or fails with 410 Gone when it is too old.
    pub fn subscribe(&self, res: ResId, from: Option<u64>) -> Result<Subscription, ApiError> {
        let inner = self.lock();
        let rx = self.tx.subscribe();
        let rv = inner.rv;
        let backlog = match from {
            None | Some(0) => inner.tables[res]
                .values()
                .map(|o| {
                    Arc::new(WatchEvent {
                        res,
                        kind: EventType::Added,
                        obj: o.clone(),
                        prev: None,
                    })
                })
                .collect(),
            Some(from) => {
                let hist = &inner.history[res];
                if from < hist.evicted_up_to {
                    return Err(ApiError::Gone {
                        requested: from,
                        oldest: hist.evicted_up_to,
                    });
                }
                hist.events
                    .iter()
                    .filter(|e| e.obj.rv > from)
                    .cloned()
                    .collect()
            }
        };
        Ok(Subscription { backlog, rx, rv })
    }
}

fn restore(new: &mut Value, old: &Value, field: &str) {
    if let Value::Object(m) = new {
        match old.get(field) {
            Some(x) => {
                m.insert(field.into(), x.clone());
            }
            None => {
                m.remove(field);
            }
        }
    }
}

fn strip_rv(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(Value::Object(md)) = v.get_mut("metadata") {
        md.remove("resourceVersion");
    }
    v
}

/// DNS-1123 subdomain check: kubectl users get the apiserver's 422 instead
/// of an object no client can address.
fn validate_name(def: &resources::ResourceDef, name: &str) -> Result<(), ApiError> {
    // RBAC names are path segments (`system:discovery`):
    // pkg/apis/rbac/validation `ValidateRBACName = path.IsValidPathSegmentName`.
    if def.group == "rbac.authorization.k8s.io" {
        return if name.is_empty() || name == "." || name == ".." || name.contains(['/', '%']) {
            Err(ApiError::invalid(
                def,
                name,
                format!(
                    "metadata.name: Invalid value: \"{name}\": may not contain '/' or '%' or be '.' or '..'"
                ),
            ))
        } else {
            Ok(())
        };
    }
    let ok = name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            def,
            name,
            format!(
                "metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
            ),
        ))
    }
}

/// An empty JSON object, for building objects in controllers.
pub fn object() -> Value {
    Value::Object(Map::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{CONFIGMAPS, NAMESPACES, PODS};
    use serde_json::json;

    fn store_with_ns() -> Store {
        let s = Store::new(100);
        s.create(NAMESPACES, "", json!({"metadata": {"name": "shop"}}))
            .unwrap();
        s
    }

    #[test]
    fn create_stamps_metadata_and_rejects_duplicates() {
        let s = store_with_ns();
        let o = s
            .create(CONFIGMAPS, "shop", json!({"metadata": {"name": "a"}}))
            .unwrap();
        assert_eq!(o.value()["kind"], "ConfigMap");
        assert_eq!(o.value()["metadata"]["namespace"], "shop");
        assert!(!meta::uid(o.value()).is_empty());
        assert_eq!(o.value()["metadata"]["resourceVersion"], o.rv.to_string());
        let err = s
            .create(CONFIGMAPS, "shop", json!({"metadata": {"name": "a"}}))
            .unwrap_err();
        assert_eq!(err.code(), 409);
        let err = s
            .create(CONFIGMAPS, "nope", json!({"metadata": {"name": "a"}}))
            .unwrap_err();
        assert_eq!(err.code(), 404);
        let err = s
            .create(
                CONFIGMAPS,
                "shop",
                json!({"metadata": {"name": "Bad_Name"}}),
            )
            .unwrap_err();
        assert_eq!(err.code(), 422);
    }

    #[test]
    fn stale_update_conflicts() {
        let s = store_with_ns();
        let o = s
            .create(
                CONFIGMAPS,
                "shop",
                json!({"metadata": {"name": "a"}, "data": {"k": "1"}}),
            )
            .unwrap();
        let mut v = o.parse();
        v["data"]["k"] = json!("2");
        let o2 = s
            .update(CONFIGMAPS, "shop", "a", v.clone(), UpdateMode::Spec)
            .unwrap();
        assert!(o2.rv > o.rv);
        v["data"]["k"] = json!("3");
        let err = s
            .update(CONFIGMAPS, "shop", "a", v, UpdateMode::Spec)
            .unwrap_err();
        assert_eq!(err.code(), 409);
    }

    #[test]
    fn spec_updates_keep_status_and_bump_generation() {
        let s = store_with_ns();
        s.create(PODS, "shop", json!({"metadata": {"name": "p"}, "spec": {"containers": []}, "status": {"phase": "Running"}})).unwrap();
        let o = s
            .update(
                PODS,
                "shop",
                "p",
                json!({"metadata": {"name": "p"}, "spec": {"x": 1}, "status": {"phase": "Failed"}}),
                UpdateMode::Spec,
            )
            .unwrap();
        assert_eq!(o.value()["status"]["phase"], "Running");
        assert_eq!(o.value()["metadata"]["generation"], 2);
    }

    #[test]
    fn watch_replays_history_and_expires() {
        let s = Store::new(16);
        s.create(NAMESPACES, "", json!({"metadata": {"name": "shop"}}))
            .unwrap();
        let start = s.current_rv();
        for i in 0..5 {
            s.create(
                CONFIGMAPS,
                "shop",
                json!({"metadata": {"name": format!("c{i}")}}),
            )
            .unwrap();
        }
        let sub = s.subscribe(CONFIGMAPS, Some(start)).unwrap();
        assert_eq!(sub.backlog.len(), 5);
        for i in 5..40 {
            s.create(
                CONFIGMAPS,
                "shop",
                json!({"metadata": {"name": format!("c{i}")}}),
            )
            .unwrap();
        }
        assert_eq!(
            s.subscribe(CONFIGMAPS, Some(start)).err().map(|e| e.code()),
            Some(410)
        );
    }

    #[test]
    fn deleting_a_namespace_deletes_its_objects() {
        let s = store_with_ns();
        s.create(CONFIGMAPS, "shop", json!({"metadata": {"name": "a"}}))
            .unwrap();
        s.delete(NAMESPACES, "", "shop", None).unwrap();
        assert_eq!(s.count(CONFIGMAPS), 0);
    }
}

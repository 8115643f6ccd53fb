//! The store proper: a mutex-guarded map of objects, a resourceVersion counter, a bounded
//! event log for resuming watches (older versions answer 410 Gone) and a broadcast channel.
//!
//! The event log is bounded twice: by a number of events and by a memory budget (an
//! estimate of the bytes its objects hold, see [`approx_size`]). The oldest events are
//! dropped ("compacted") first, like etcd's compaction behind kube-apiserver's watch
//! cache; a watch from a version at or before the compaction point answers 410 Gone. The
//! budget is a simulation choice (kube-apiserver sizes its watch cache per resource and
//! etcd compacts on a 5-minute timer); it keeps a fleet's memory flat under any write load.
//!
//! Critical sections are short and never await: callers compute new objects outside the
//! lock and commit with a resourceVersion precondition (compare-and-swap), retrying on
//! conflict, as the real API server's `GuaranteedUpdate` does.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::broadcast;

use super::{EventType, Meta, ObjKey, ResKey, StoreEvent};

/// Errors of store operations; the API layer maps them to `Status` objects.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// An object with this key exists already.
    #[error("{res} \"{name}\" already exists")]
    AlreadyExists {
        /// Resource.
        res: ResKey,
        /// Object name.
        name: String,
    },
    /// No object with this key.
    #[error("{res} \"{name}\" not found")]
    NotFound {
        /// Resource.
        res: ResKey,
        /// Object name.
        name: String,
    },
    /// The caller's resourceVersion precondition does not hold.
    #[error(
        "operation cannot be fulfilled on {res} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
    )]
    Conflict {
        /// Resource.
        res: ResKey,
        /// Object name.
        name: String,
    },
    /// The requested resourceVersion is older than the event log keeps.
    #[error("too old resource version: {requested} ({oldest})")]
    Gone {
        /// The version asked for.
        requested: u64,
        /// The oldest version still available.
        oldest: u64,
    },
    /// The object has no `metadata.name`.
    #[error("object has no metadata.name")]
    NoName,
}

/// Receiver of committed events.
pub type EventReceiver = broadcast::Receiver<Arc<StoreEvent>>;

/// Result alias of this module.
pub type StoreResult<T> = Result<T, StoreError>;

/// One page of a list.
#[derive(Debug)]
pub struct ListPage {
    /// Matching objects in key order.
    pub items: Vec<Arc<Value>>,
    /// The store's resourceVersion when the page was taken.
    pub rv: u64,
    /// Key of the last item returned when more matching items remain.
    pub next: Option<ObjKey>,
    /// How many objects follow this page (when `next` is set), counted without the filter.
    pub remaining: u64,
}

type Entry = (ResKey, ObjKey);

struct Inner {
    rv: u64,
    objects: HashMap<ResKey, BTreeMap<ObjKey, Arc<Value>>>,
    log: VecDeque<Arc<StoreEvent>>,
    log_capacity: usize,
    /// Estimated bytes held by the events in the log, and the most it may hold.
    log_bytes: usize,
    log_budget: usize,
    /// Events with rv <= compacted are no longer in the log.
    compacted: u64,
    uids: HashMap<String, Entry>,
    dependents: HashMap<String, HashSet<Entry>>,
}

/// All objects of one cluster.
pub struct Store {
    inner: Mutex<Inner>,
    tx: broadcast::Sender<Arc<StoreEvent>>,
}

impl Store {
    /// A new empty store keeping the last `log_capacity` events for watch resumption, within
    /// the default memory budget.
    pub fn new(log_capacity: usize) -> Self {
        Self::with_budget(log_capacity, DEFAULT_LOG_BUDGET)
    }

    /// A new empty store keeping at most `log_capacity` events and about `log_budget` bytes
    /// of them for watch resumption.
    pub fn with_budget(log_capacity: usize, log_budget: usize) -> Self {
        let (tx, _) = broadcast::channel(16_384);
        Self {
            inner: Mutex::new(Inner {
                rv: 1,
                objects: HashMap::new(),
                log: VecDeque::new(),
                log_capacity: log_capacity.max(1),
                log_bytes: 0,
                log_budget: log_budget.max(1),
                compacted: 1,
                uids: HashMap::new(),
                dependents: HashMap::new(),
            }),
            tx,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-written map (every mutation is
        // a single insert/remove), so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current resourceVersion.
    pub fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    /// The oldest resourceVersion a watch can resume from.
    pub fn oldest_rv(&self) -> u64 {
        self.lock().compacted
    }

    /// One object.
    pub fn get(&self, res: &ResKey, key: &ObjKey) -> Option<Arc<Value>> {
        self.lock().objects.get(res)?.get(key).cloned()
    }

    /// Looks an object up by uid.
    pub fn by_uid(&self, uid: &str) -> Option<(ResKey, Arc<Value>)> {
        let inner = self.lock();
        let (res, key) = inner.uids.get(uid)?;
        let obj = inner.objects.get(res)?.get(key)?.clone();
        Some((res.clone(), obj))
    }

    /// Whether an object with this uid exists.
    pub fn uid_exists(&self, uid: &str) -> bool {
        self.lock().uids.contains_key(uid)
    }

    /// Objects whose ownerReferences name `owner_uid`.
    pub fn dependents(&self, owner_uid: &str) -> Vec<(ResKey, Arc<Value>)> {
        let inner = self.lock();
        let Some(set) = inner.dependents.get(owner_uid) else {
            return Vec::new();
        };
        set.iter()
            .filter_map(|(r, k)| Some((r.clone(), inner.objects.get(r)?.get(k)?.clone())))
            .collect()
    }

    /// A page of objects of `res` (in `namespace` when given) that pass `filter`, starting
    /// after `after`, at most `limit` items (0 = no limit). After a full page, `remaining`
    /// counts the keys that follow without applying `filter` (a walk of keys only, so a
    /// paged list of N objects stays O(N) in filter calls): it is exact for lists filtered
    /// by namespace alone, the only ones kube-apiserver reports `remainingItemCount` for.
    pub fn list(
        &self,
        res: &ResKey,
        namespace: Option<&str>,
        after: Option<&ObjKey>,
        limit: usize,
        filter: &dyn Fn(&Value) -> bool,
    ) -> ListPage {
        let inner = self.lock();
        let mut page = ListPage {
            items: Vec::new(),
            rv: inner.rv,
            next: None,
            remaining: 0,
        };
        let Some(map) = inner.objects.get(res) else {
            return page;
        };
        let start = match (after, namespace) {
            (Some(k), _) => std::ops::Bound::Excluded(k.clone()),
            (None, Some(ns)) => std::ops::Bound::Included(ObjKey::new(ns, "")),
            (None, None) => std::ops::Bound::Unbounded,
        };
        let in_scope = |k: &ObjKey| namespace.is_none_or(|ns| k.namespace == ns);
        let mut rest = map.range((start, std::ops::Bound::Unbounded));
        for (k, v) in rest.by_ref() {
            if !in_scope(k) {
                break;
            }
            if !filter(v) {
                continue;
            }
            if limit > 0 && page.items.len() == limit {
                page.next = page.items.last().map(|v| key_of(v));
                let more = rest.take_while(|(k, _)| in_scope(k)).count();
                page.remaining = u64::try_from(more).unwrap_or(u64::MAX) + 1;
                break;
            }
            page.items.push(v.clone());
        }
        page
    }

    /// Every (resource, key) stored in `namespace`.
    pub fn keys_in_namespace(&self, namespace: &str) -> Vec<Entry> {
        let inner = self.lock();
        let mut out = Vec::new();
        for (res, map) in &inner.objects {
            let from = ObjKey::new(namespace, "");
            for (k, _) in map.range(from..) {
                if k.namespace != namespace {
                    break;
                }
                out.push((res.clone(), k.clone()));
            }
        }
        out
    }

    /// Every resource that holds at least one object.
    pub fn resources(&self) -> Vec<ResKey> {
        let inner = self.lock();
        inner
            .objects
            .iter()
            .filter(|(_, m)| !m.is_empty())
            .map(|(r, _)| r.clone())
            .collect()
    }

    /// Stores a new object; its `metadata.resourceVersion` is set.
    pub fn create(&self, res: &ResKey, mut obj: Value) -> StoreResult<Arc<Value>> {
        let key = key_of(&obj);
        if key.name.is_empty() {
            return Err(StoreError::NoName);
        }
        let mut inner = self.lock();
        let map = inner.objects.entry(res.clone()).or_default();
        if map.contains_key(&key) {
            return Err(StoreError::AlreadyExists {
                res: res.clone(),
                name: key.name,
            });
        }
        let rv = inner.rv + 1;
        set_rv(&mut obj, rv);
        let obj = Arc::new(obj);
        inner.rv = rv;
        inner.index(res, &key, &obj);
        if let Some(map) = inner.objects.get_mut(res) {
            map.insert(key.clone(), obj.clone());
        }
        self.emit(&mut inner, EventType::Added, res, key, obj.clone(), None);
        Ok(obj)
    }

    /// Replaces an object. With `expected_rv`, fails with `Conflict` unless the stored
    /// version matches. An update that changes nothing but bookkeeping is not written and
    /// returns the stored object unchanged (no new resourceVersion, no event).
    pub fn update(
        &self,
        res: &ResKey,
        mut obj: Value,
        expected_rv: Option<u64>,
    ) -> StoreResult<Arc<Value>> {
        let key = key_of(&obj);
        let mut inner = self.lock();
        let old = inner
            .objects
            .get(res)
            .and_then(|m| m.get(&key))
            .cloned()
            .ok_or_else(|| StoreError::NotFound {
                res: res.clone(),
                name: key.name.clone(),
            })?;
        if let Some(expected) = expected_rv
            && rv_of(&old) != Some(expected)
        {
            return Err(StoreError::Conflict {
                res: res.clone(),
                name: key.name,
            });
        }
        if same_content(&old, &obj) {
            return Ok(old);
        }
        let rv = inner.rv + 1;
        set_rv(&mut obj, rv);
        let obj = Arc::new(obj);
        inner.rv = rv;
        inner.unindex(res, &key, &old);
        inner.index(res, &key, &obj);
        if let Some(map) = inner.objects.get_mut(res) {
            map.insert(key.clone(), obj.clone());
        }
        self.emit(
            &mut inner,
            EventType::Modified,
            res,
            key,
            obj.clone(),
            Some(old),
        );
        Ok(obj)
    }

    /// Removes an object. With `expected_rv`, fails with `Conflict` unless it matches.
    /// Returns the removed object carrying the deletion's resourceVersion.
    pub fn delete(
        &self,
        res: &ResKey,
        key: &ObjKey,
        expected_rv: Option<u64>,
    ) -> StoreResult<Arc<Value>> {
        let mut inner = self.lock();
        let Some(old) = inner.objects.get(res).and_then(|m| m.get(key)).cloned() else {
            return Err(StoreError::NotFound {
                res: res.clone(),
                name: key.name.clone(),
            });
        };
        if let Some(expected) = expected_rv
            && rv_of(&old) != Some(expected)
        {
            return Err(StoreError::Conflict {
                res: res.clone(),
                name: key.name.clone(),
            });
        }
        if let Some(map) = inner.objects.get_mut(res) {
            map.remove(key);
        }
        inner.unindex(res, key, &old);
        let rv = inner.rv + 1;
        inner.rv = rv;
        let mut last = (*old).clone();
        set_rv(&mut last, rv);
        let last = Arc::new(last);
        self.emit(
            &mut inner,
            EventType::Deleted,
            res,
            key.clone(),
            last.clone(),
            Some(old),
        );
        Ok(last)
    }

    /// Events of `res` after `from_rv` still in the log, and a receiver for later ones.
    /// Fails with `Gone` when events after `from_rv` were already dropped from the log.
    pub fn watch_from(
        &self,
        res: Option<&ResKey>,
        from_rv: u64,
    ) -> StoreResult<(Vec<Arc<StoreEvent>>, EventReceiver)> {
        let inner = self.lock();
        // Events after `compacted` are all in the log; older starting points are gone.
        if from_rv < inner.compacted {
            return Err(StoreError::Gone {
                requested: from_rv,
                oldest: inner.compacted,
            });
        }
        let rx = self.tx.subscribe();
        let backlog = inner
            .log
            .iter()
            .filter(|e| e.rv > from_rv && res.is_none_or(|r| &e.res == r))
            .cloned()
            .collect();
        Ok((backlog, rx))
    }

    /// A receiver of every event from now on (for in-process controllers).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StoreEvent>> {
        self.tx.subscribe()
    }

    fn emit(
        &self,
        inner: &mut Inner,
        kind: EventType,
        res: &ResKey,
        key: ObjKey,
        object: Arc<Value>,
        prev: Option<Arc<Value>>,
    ) {
        let ev = Arc::new(StoreEvent {
            encoded: std::sync::OnceLock::new(),
            rv: inner.rv,
            kind,
            res: res.clone(),
            key,
            object,
            prev,
        });
        inner.log_bytes += event_size(&ev);
        inner.log.push_back(ev.clone());
        while inner.log.len() > inner.log_capacity
            || (inner.log_bytes > inner.log_budget && inner.log.len() > 1)
        {
            if let Some(old) = inner.log.pop_front() {
                inner.log_bytes = inner.log_bytes.saturating_sub(event_size(&old));
                inner.compacted = old.rv;
            }
        }
        // Sent while the lock is held so that receivers see events in version order.
        let _ = self.tx.send(ev);
    }
}

impl Inner {
    fn index(&mut self, res: &ResKey, key: &ObjKey, obj: &Value) {
        let meta = Meta(obj);
        let entry = (res.clone(), key.clone());
        if !meta.uid().is_empty() {
            self.uids.insert(meta.uid().to_string(), entry.clone());
        }
        for owner in meta.owner_uids() {
            self.dependents
                .entry(owner.to_string())
                .or_default()
                .insert(entry.clone());
        }
    }

    fn unindex(&mut self, res: &ResKey, key: &ObjKey, obj: &Value) {
        let meta = Meta(obj);
        let entry = (res.clone(), key.clone());
        if self.uids.get(meta.uid()) == Some(&entry) {
            self.uids.remove(meta.uid());
        }
        for owner in meta.owner_uids() {
            if let Some(set) = self.dependents.get_mut(owner) {
                set.remove(&entry);
                if set.is_empty() {
                    self.dependents.remove(owner);
                }
            }
        }
    }
}

/// Default memory budget of one store's event log (simulation choice).
pub const DEFAULT_LOG_BUDGET: usize = 64 * 1024 * 1024;

/// What one logged event is charged: its object twice (the object, and the served encoding
/// a watch caches next to it), plus bookkeeping. `prev` is the previous event's object and
/// is not charged again.
fn event_size(ev: &StoreEvent) -> usize {
    2 * approx_size(&ev.object) + 128
}

/// A cheap estimate of the bytes a JSON value occupies (about its encoded length).
pub fn approx_size(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 8,
        Value::String(s) => s.len() + 2,
        Value::Array(a) => 2 + a.iter().map(|x| approx_size(x) + 1).sum::<usize>(),
        Value::Object(o) => {
            2 + o
                .iter()
                .map(|(k, x)| k.len() + 4 + approx_size(x))
                .sum::<usize>()
        }
    }
}

/// The store key of an object, from its metadata.
pub fn key_of(obj: &Value) -> ObjKey {
    let m = Meta(obj);
    ObjKey::new(m.namespace(), m.name())
}

fn rv_of(obj: &Value) -> Option<u64> {
    Meta(obj).resource_version().parse().ok()
}

fn set_rv(obj: &mut Value, rv: u64) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
    }
}

/// Equal but for resourceVersion and managedFields timestamps.
fn same_content(old: &Value, new: &Value) -> bool {
    fn strip(v: &Value) -> Value {
        let mut v = v.clone();
        if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("resourceVersion");
            if let Some(Value::Array(mf)) = meta.get_mut("managedFields") {
                for e in mf.iter_mut().filter_map(Value::as_object_mut) {
                    e.remove("time");
                }
            }
        }
        v
    }
    strip(old) == strip(new)
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;

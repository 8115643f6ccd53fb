//! Events as the kubelet and the controllers record them (client-go's event recorder): one
//! core/v1 Event per (object, reason, message), named `<object>.<hex nanoseconds>`, with
//! `source`/`reportingComponent`; a repeat of the same event increments `count` and moves
//! `lastTimestamp` (client-go's EventCorrelator aggregation) instead of creating another.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::ops::{self, WriteCtx};
use crate::store::{Meta, ObjKey, ResKey, now_rfc3339};

/// `Normal` or `Warning`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Informational.
    Normal,
    /// Something went wrong.
    Warning,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Normal => "Normal",
            Kind::Warning => "Warning",
        }
    }
}

/// Who reports: `kubelet` (with the node as host), `default-scheduler`, a controller.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    /// `source.component` / `reportingComponent`.
    pub component: &'a str,
    /// `source.host` (kubelet only).
    pub host: Option<&'a str>,
}

impl<'a> Source<'a> {
    /// A controller or the scheduler.
    pub fn controller(component: &'a str) -> Self {
        Self {
            component,
            host: None,
        }
    }
}

/// Events remembered for aggregation before the memory is reset.
const MAX_REMEMBERED: usize = 20_000;

/// Remembers the events already written, for aggregation.
#[derive(Default)]
pub struct Recorder {
    seen: Mutex<HashMap<String, ObjKey>>,
}

/// Records an event about `obj` (any namespaced or cluster object); `field_path` names a
/// container (`spec.containers{web}`), as kubelet events do.
pub fn record(
    cluster: &Cluster,
    obj: &Value,
    field_path: Option<&str>,
    kind: Kind,
    reason: &str,
    message: &str,
    source: Source<'_>,
) {
    let Some(def) = cluster.builtin("", "events") else {
        return;
    };
    let meta = Meta(obj);
    let ns = match meta.namespace() {
        "" => "default",
        ns => ns,
    };
    let id = format!(
        "{}|{}|{reason}|{message}|{}",
        meta.uid(),
        field_path.unwrap_or(""),
        source.component
    );
    let ctx = WriteCtx::controller(cluster, &def, source.component);
    let now = now_rfc3339();
    let known = lock(&cluster.events).get(&id).cloned();
    if let Some(key) = known {
        let bumped = ops::modify(&ctx, &key, &|cur| {
            let mut new = cur.clone();
            new["count"] = json!(cur["count"].as_i64().unwrap_or(1) + 1);
            new["lastTimestamp"] = json!(now);
            Some(new)
        });
        if matches!(bumped, Ok(Some(_))) {
            return;
        }
    }
    let mut involved = json!({"kind": obj["kind"], "apiVersion": obj["apiVersion"], "name": meta.name(),
        "uid": meta.uid(), "resourceVersion": meta.resource_version()});
    if !meta.namespace().is_empty() {
        involved["namespace"] = json!(meta.namespace());
    }
    if let Some(f) = field_path {
        involved["fieldPath"] = json!(f);
    }
    let nanos = jiff::Timestamp::now().as_nanosecond();
    let mut src = json!({"component": source.component});
    if let Some(h) = source.host {
        src["host"] = json!(h);
    }
    let ev = json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("{}.{:x}", meta.name(), nanos), "namespace": ns},
        "involvedObject": involved, "reason": reason, "message": message, "type": kind.as_str(),
        "source": src, "firstTimestamp": now, "lastTimestamp": now, "count": 1, "eventTime": null,
        "reportingComponent": source.component, "reportingInstance": source.host.unwrap_or("")});
    match ops::create(&ctx, ev, Some(ns)) {
        Ok(created) => {
            let mut seen = lock(&cluster.events);
            if seen.len() >= MAX_REMEMBERED {
                // Forgetting only costs a second Event object instead of a bumped count.
                seen.clear();
            }
            seen.insert(id, crate::store::key_of(&created));
        }
        Err(e) => {
            tracing::debug!(cluster = %cluster.name, reason, error = %e, "event not recorded")
        }
    }
}

fn lock(r: &Recorder) -> std::sync::MutexGuard<'_, HashMap<String, ObjKey>> {
    r.seen.lock().unwrap_or_else(|e| e.into_inner())
}

/// The store key of the events resource (for tests and readers).
pub fn events_res() -> ResKey {
    ResKey::new("", "events")
}

//! CustomResourceDefinitions: serve their versions, set `Established`, and clean up their
//! custom resources when the CRD is deleted.

use serde_json::{Value, json};

use super::Controller;
use crate::cluster::Cluster;
use crate::ops::{self, WriteCtx};
use crate::registry::defs_from_crd;
use crate::store::{EventType, Meta, ResKey, StoreEvent, key_of, now_rfc3339};

const CLEANUP: &str = "customresourcecleanup.apiextensions.k8s.io";

pub struct CrdController;

fn crds() -> ResKey {
    ResKey::new("apiextensions.k8s.io", "customresourcedefinitions")
}

fn storage_of(crd: &Value) -> ResKey {
    ResKey::new(
        crd["spec"]["group"].as_str().unwrap_or_default(),
        crd["spec"]["names"]["plural"].as_str().unwrap_or_default(),
    )
}

impl Controller for CrdController {
    fn on_event(&mut self, cluster: &Cluster, ev: &StoreEvent) {
        if ev.res != crds() {
            return;
        }
        match ev.kind {
            EventType::Deleted => cluster
                .registry
                .set_custom(&storage_of(&ev.object), Vec::new()),
            _ => reconcile(cluster, &ev.object),
        }
    }

    fn resync(&mut self, cluster: &Cluster) {
        let page = cluster.store.list(&crds(), None, None, 0, &|_| true);
        for crd in page.items {
            reconcile(cluster, &crd);
        }
    }
}

fn reconcile(cluster: &Cluster, crd: &Value) {
    let storage = storage_of(crd);
    let Some(def) = cluster.builtin("apiextensions.k8s.io", "customresourcedefinitions") else {
        return;
    };
    let ctx = WriteCtx::controller(cluster, &def, "apiextensions-apiserver");
    let key = key_of(crd);
    if Meta(crd).deleting() {
        cleanup(cluster, &storage);
        let _ = ops::modify(&ctx, &key, &remove_finalizer);
        return;
    }
    cluster.registry.set_custom(&storage, defs_from_crd(crd));
    let _ = ops::modify(&ctx, &key, &add_finalizer);
    let status = WriteCtx {
        sub: Some("status"),
        ..ctx
    };
    let _ = ops::modify(&status, &key, &established);
}

/// Removes every custom resource of `storage` (their finalizers are not waited for).
fn cleanup(cluster: &Cluster, storage: &ResKey) {
    let page = cluster.store.list(storage, None, None, 0, &|_| true);
    for obj in page.items {
        let _ = cluster.store.delete(storage, &key_of(&obj), None);
    }
}

fn remove_finalizer(cur: &Value) -> Option<Value> {
    let fins = Meta(cur).finalizers();
    if !fins.contains(&CLEANUP) {
        return None;
    }
    let mut new = cur.clone();
    let kept: Vec<&str> = fins.into_iter().filter(|f| *f != CLEANUP).collect();
    new["metadata"]["finalizers"] = json!(kept);
    Some(new)
}

fn add_finalizer(cur: &Value) -> Option<Value> {
    if Meta(cur).finalizers().contains(&CLEANUP) {
        return None;
    }
    let mut new = cur.clone();
    let mut fins: Vec<Value> = cur["metadata"]["finalizers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    fins.push(json!(CLEANUP));
    new["metadata"]["finalizers"] = Value::Array(fins);
    Some(new)
}

fn established(cur: &Value) -> Option<Value> {
    let ok = cur["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Established" && c["status"] == "True")
    });
    if ok && cur["status"]["acceptedNames"] == cur["spec"]["names"] {
        return None;
    }
    let mut new = cur.clone();
    let now = now_rfc3339();
    let stored: Vec<Value> = cur["spec"]["versions"]
        .as_array()
        .map(|vs| {
            vs.iter()
                .filter(|v| v["storage"] == true)
                .map(|v| v["name"].clone())
                .collect()
        })
        .unwrap_or_default();
    new["status"] = json!({
        "acceptedNames": cur["spec"]["names"],
        "storedVersions": stored,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": now},
        ],
    });
    Some(new)
}

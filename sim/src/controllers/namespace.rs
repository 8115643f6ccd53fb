//! Namespace termination: when a namespace is deleted, delete everything in it (honouring
//! the contents' finalizers), then drop the `kubernetes` finalizer and remove the namespace.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::Controller;
use crate::cluster::Cluster;
use crate::ops::{self, DeleteOpts, WriteCtx};
use crate::store::{EventType, Meta, ObjKey, ResKey, StoreEvent};

#[derive(Default)]
pub struct NamespaceController {
    /// Namespaces whose contents were already asked to go.
    emptied: HashSet<String>,
}

fn namespaces() -> ResKey {
    ResKey::new("", "namespaces")
}

impl Controller for NamespaceController {
    fn on_event(&mut self, cluster: &Cluster, ev: &StoreEvent) {
        if ev.res == namespaces() {
            if ev.kind == EventType::Deleted {
                self.emptied.remove(&ev.key.name);
            } else if Meta(&ev.object).deleting() {
                self.terminate(cluster, &ev.key.name);
            }
        } else if ev.kind == EventType::Deleted
            && !ev.key.namespace.is_empty()
            && self.emptied.contains(&ev.key.namespace)
        {
            finish(cluster, &ev.key.namespace);
        }
    }

    fn resync(&mut self, cluster: &Cluster) {
        let page = cluster
            .store
            .list(&namespaces(), None, None, 0, &|o| Meta(o).deleting());
        self.emptied.clear();
        for ns in page.items {
            self.terminate(cluster, Meta(&ns).name());
        }
    }
}

impl NamespaceController {
    fn terminate(&mut self, cluster: &Cluster, ns: &str) {
        if self.emptied.insert(ns.to_string()) {
            for (res, key) in cluster.store.keys_in_namespace(ns) {
                let Some(def) = cluster.def_for(&res) else {
                    let _ = cluster.store.delete(&res, &key, None);
                    continue;
                };
                let ctx = WriteCtx::controller(cluster, &def, "namespace-controller");
                let _ = ops::delete(&ctx, &key, &DeleteOpts::default());
            }
        }
        finish(cluster, ns);
    }
}

/// Completes termination once the namespace is empty.
fn finish(cluster: &Cluster, ns: &str) {
    if !cluster.store.keys_in_namespace(ns).is_empty() {
        return;
    }
    let Some(def) = cluster.builtin("", "namespaces") else {
        return;
    };
    let ctx = WriteCtx::controller(cluster, &def, "namespace-controller");
    let fin = WriteCtx {
        sub: Some("finalize"),
        ..ctx
    };
    let key = ObjKey::new("", ns);
    let _ = ops::modify(&fin, &key, &drop_kubernetes_finalizer);
    // Finalizers that were already gone (or never set) leave nothing to trigger removal.
    if let Some(cur) = cluster.store.get(&namespaces(), &key)
        && Meta(&cur).deleting()
        && !ops::held(&cur)
    {
        let _ = cluster.store.delete(&namespaces(), &key, None);
    }
}

fn drop_kubernetes_finalizer(cur: &Value) -> Option<Value> {
    let fins = cur["spec"]["finalizers"].as_array()?;
    if !fins.iter().any(|f| f == "kubernetes") {
        return None;
    }
    let mut new = cur.clone();
    let kept: Vec<&Value> = fins.iter().filter(|f| *f != "kubernetes").collect();
    new["spec"]["finalizers"] = json!(kept);
    Some(new)
}

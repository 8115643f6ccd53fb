//! The `default` ServiceAccount of every namespace, as kube-controller-manager's
//! serviceaccounts-controller keeps it (fact): created with the namespace, re-created when
//! deleted, never in a terminating namespace.

use serde_json::json;

use super::Controller;
use crate::cluster::Cluster;
use crate::ops::{self, WriteCtx};
use crate::store::{EventType, Meta, ObjKey, ResKey, StoreEvent};

pub struct ServiceAccountController;

fn ensure(cluster: &Cluster, ns: &str) {
    let res = ResKey::new("", "serviceaccounts");
    if cluster
        .store
        .get(&res, &ObjKey::new(ns, "default"))
        .is_some()
    {
        return;
    }
    let Some(def) = cluster.def_for(&res) else {
        return;
    };
    let ctx = WriteCtx::controller(cluster, &def, "kube-controller-manager");
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}});
    // AlreadyExists (a race with a client) and Forbidden (terminating) are both fine.
    let _ = ops::create(&ctx, sa, Some(ns));
}

impl Controller for ServiceAccountController {
    fn on_event(&mut self, cluster: &Cluster, ev: &StoreEvent) {
        let live = |o: &serde_json::Value| !Meta(o).deleting();
        if ev.res == ResKey::new("", "namespaces") {
            if ev.kind != EventType::Deleted && live(&ev.object) {
                ensure(cluster, &ev.key.name);
            }
        } else if ev.res == ResKey::new("", "serviceaccounts")
            && ev.kind == EventType::Deleted
            && ev.key.name == "default"
        {
            let ns = ResKey::new("", "namespaces");
            if cluster
                .store
                .get(&ns, &ObjKey::new("", &ev.key.namespace))
                .is_some_and(|n| live(&n))
            {
                ensure(cluster, &ev.key.namespace);
            }
        }
    }

    fn resync(&mut self, cluster: &Cluster) {
        let page = cluster
            .store
            .list(&ResKey::new("", "namespaces"), None, None, 0, &|o| {
                !Meta(o).deleting()
            });
        for ns in page.items {
            ensure(cluster, Meta(&ns).name());
        }
    }
}

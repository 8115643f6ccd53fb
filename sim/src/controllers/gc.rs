//! Garbage collection by ownerReferences: dependents of a deleted owner are deleted
//! (background), `foregroundDeletion` owners wait for their dependents, `orphan` owners
//! release them. References to owners that no longer exist are dropped.

use serde_json::{Value, json};

use super::Controller;
use crate::cluster::Cluster;
use crate::ops::{self, DeleteOpts, WriteCtx};
use crate::store::{EventType, Meta, ResKey, StoreEvent, key_of};

const FOREGROUND: &str = "foregroundDeletion";
const ORPHAN: &str = "orphan";

pub struct GarbageCollector;

impl Controller for GarbageCollector {
    fn on_event(&mut self, cluster: &Cluster, ev: &StoreEvent) {
        let meta = Meta(&ev.object);
        match ev.kind {
            EventType::Deleted => {
                collect_dependents(cluster, meta.uid());
                // A dependent went: a foreground-deleting owner may now be free to go.
                for owner in meta.owner_uids() {
                    release_foreground(cluster, owner);
                }
            }
            EventType::Added if orphaned(cluster, &ev.object) => {
                delete(cluster, &ev.res, &ev.object, "Background");
            }
            _ if meta.deleting() => {
                let fins = meta.finalizers();
                if fins.contains(&ORPHAN) {
                    orphan(cluster, &ev.res, &ev.object);
                } else if fins.contains(&FOREGROUND) {
                    for (res, dep) in cluster.store.dependents(meta.uid()) {
                        delete(cluster, &res, &dep, "Foreground");
                    }
                    release_foreground(cluster, meta.uid());
                }
            }
            _ => {}
        }
    }

    fn resync(&mut self, cluster: &Cluster) {
        for res in cluster.store.resources() {
            let page = cluster
                .store
                .list(&res, None, None, 0, &|o| !Meta(o).owner_uids().is_empty());
            for obj in page.items {
                let owners = Meta(&obj).owner_uids();
                if owners.iter().all(|u| !cluster.store.uid_exists(u)) {
                    delete(cluster, &res, &obj, "Background");
                }
            }
        }
    }
}

/// Has owner references, none of which exists.
fn orphaned(cluster: &Cluster, obj: &Value) -> bool {
    let owners = Meta(obj).owner_uids();
    !owners.is_empty() && owners.iter().all(|u| !cluster.store.uid_exists(u))
}

fn delete(cluster: &Cluster, res: &ResKey, obj: &Value, propagation: &str) {
    let Some(def) = cluster.def_for(res) else {
        return;
    };
    let ctx = WriteCtx::controller(cluster, &def, "garbage-collector");
    let opts = DeleteOpts {
        propagation: propagation.to_string(),
        uid: Some(Meta(obj).uid().to_string()),
        ..Default::default()
    };
    let _ = ops::delete(&ctx, &key_of(obj), &opts);
}

/// Deletes dependents of a vanished owner whose owners are all gone; drops the dangling
/// reference from dependents that still have another owner.
fn collect_dependents(cluster: &Cluster, owner_uid: &str) {
    for (res, dep) in cluster.store.dependents(owner_uid) {
        let owners = Meta(&dep).owner_uids();
        if owners.iter().all(|u| !cluster.store.uid_exists(u)) {
            delete(cluster, &res, &dep, "Background");
        } else {
            drop_refs(cluster, &res, &dep, owner_uid);
        }
    }
}

fn drop_refs(cluster: &Cluster, res: &ResKey, dep: &Value, owner_uid: &str) {
    let Some(def) = cluster.def_for(res) else {
        return;
    };
    let ctx = WriteCtx::controller(cluster, &def, "garbage-collector");
    let owner = owner_uid.to_string();
    let _ = ops::modify(&ctx, &key_of(dep), &|cur| {
        let refs = cur["metadata"]["ownerReferences"].as_array()?;
        let kept: Vec<&Value> = refs.iter().filter(|r| r["uid"] != owner.as_str()).collect();
        if kept.len() == refs.len() {
            return None;
        }
        let mut new = cur.clone();
        new["metadata"]["ownerReferences"] = json!(kept);
        Some(new)
    });
}

fn orphan(cluster: &Cluster, res: &ResKey, owner: &Value) {
    let uid = Meta(owner).uid();
    for (dres, dep) in cluster.store.dependents(uid) {
        drop_refs(cluster, &dres, &dep, uid);
    }
    remove_finalizer(cluster, res, owner, ORPHAN);
}

fn release_foreground(cluster: &Cluster, owner_uid: &str) {
    let Some((res, owner)) = cluster.store.by_uid(owner_uid) else {
        return;
    };
    let meta = Meta(&owner);
    if meta.deleting()
        && meta.finalizers().contains(&FOREGROUND)
        && cluster.store.dependents(owner_uid).is_empty()
    {
        remove_finalizer(cluster, &res, &owner, FOREGROUND);
    }
}

fn remove_finalizer(cluster: &Cluster, res: &ResKey, obj: &Value, fin: &str) {
    let Some(def) = cluster.def_for(res) else {
        return;
    };
    let ctx = WriteCtx::controller(cluster, &def, "garbage-collector");
    let _ = ops::modify(&ctx, &key_of(obj), &|cur| {
        let fins = Meta(cur).finalizers();
        if !fins.contains(&fin) {
            return None;
        }
        let mut new = cur.clone();
        let kept: Vec<&str> = fins.into_iter().filter(|f| *f != fin).collect();
        new["metadata"]["finalizers"] = json!(kept);
        Some(new)
    });
}

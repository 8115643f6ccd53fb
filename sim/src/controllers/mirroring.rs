//! EndpointSlice mirroring for Services without a selector: Endpoints written by someone
//! else (a user, or the MCS importer for a derived `gke-mcs-…` Service) are mirrored into
//! EndpointSlices managed by `endpointslicemirroring-controller.k8s.io`, as kube does.

use serde_json::{Value, json};

use super::Controller;
use super::owned::owner_ref;
use super::slices::{SliceSet, delete_slices, reconcile_slices};
use crate::cluster::Cluster;
use crate::store::{EventType, ObjKey, ResKey, StoreEvent};

/// `managed-by` of mirrored slices.
pub const MIRROR_MANAGER: &str = "endpointslicemirroring-controller.k8s.io";

pub struct MirroringController;

fn selectorless(svc: &Value) -> bool {
    svc["spec"]["selector"]
        .as_object()
        .is_none_or(|m| m.is_empty())
        && svc["spec"]["type"] != "ExternalName"
}

impl Controller for MirroringController {
    fn on_event(&mut self, cluster: &Cluster, ev: &StoreEvent) {
        let relevant = ev.res == ResKey::new("", "endpoints")
            || (ev.res == ResKey::new("", "services") && ev.kind != EventType::Deleted);
        if relevant {
            mirror(cluster, &ev.key);
        }
    }

    fn resync(&mut self, cluster: &Cluster) {
        for svc in cluster
            .store
            .list(&ResKey::new("", "services"), None, None, 0, &selectorless)
            .items
        {
            mirror(cluster, &crate::store::key_of(&svc));
        }
    }
}

fn mirror(cluster: &Cluster, key: &ObjKey) {
    let Some(svc) = cluster.store.get(&ResKey::new("", "services"), key) else {
        return;
    };
    if !selectorless(&svc) {
        return;
    }
    let ep = cluster.store.get(&ResKey::new("", "endpoints"), key);
    let skip = ep.as_ref().is_some_and(|e| {
        e["metadata"]["labels"]["endpointslice.kubernetes.io/skip-mirror"] == "true"
    });
    if skip {
        return;
    }
    let sets: Vec<SliceSet> = ep
        .as_ref()
        .and_then(|e| e["subsets"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|subset| {
            let ep_of = |a: &Value, ready: bool| {
                let mut e = json!({"addresses": [a["ip"]], "conditions": {"ready": ready, "serving": ready, "terminating": false}});
                for k in ["nodeName", "targetRef", "hostname"] {
                    if let Some(v) = a.get(k) {
                        e[k] = v.clone();
                    }
                }
                e
            };
            let mut endpoints: Vec<Value> = subset["addresses"].as_array().into_iter().flatten().map(|a| ep_of(a, true)).collect();
            endpoints.extend(subset["notReadyAddresses"].as_array().into_iter().flatten().map(|a| ep_of(a, false)));
            SliceSet { ports: subset["ports"].clone(), endpoints }
        })
        .collect();
    let labels = json!({"kubernetes.io/service-name": key.name, "endpointslice.kubernetes.io/managed-by": MIRROR_MANAGER});
    if ep.is_none() {
        delete_slices(cluster, &key.namespace, &labels);
        return;
    }
    reconcile_slices(
        cluster,
        &key.namespace,
        &key.name,
        labels,
        owner_ref(&svc),
        sets,
        1000,
    );
}

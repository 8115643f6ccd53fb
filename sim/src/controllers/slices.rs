//! Writing a Service's EndpointSlices: a desired list of slices (one per port set, chunked)
//! reconciled against the existing slices with the same labels — update in place, create
//! missing ones (`generateName: <service>-`), delete surplus.

use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::ops::{self, WriteCtx};
use crate::selector::LabelSelector;
use crate::store::{ResKey, key_of};

/// Endpoints sharing one port list.
pub struct SliceSet {
    /// Slice `ports`.
    pub ports: Value,
    /// Slice `endpoints`.
    pub endpoints: Vec<Value>,
}

/// Makes the slices labelled `labels` in `namespace` equal `sets` (chunked by `max`).
pub fn reconcile_slices(
    cluster: &Cluster,
    namespace: &str,
    service: &str,
    labels: Value,
    owner: Value,
    sets: Vec<SliceSet>,
    max: usize,
) {
    let Some(def) = cluster.builtin("discovery.k8s.io", "endpointslices") else {
        return;
    };
    let ctx = WriteCtx::controller(cluster, &def, "endpointslice-controller");
    let Some(label_map) = labels.as_object() else {
        return;
    };
    let sel = LabelSelector::from_map(label_map);
    let existing = cluster
        .store
        .list(
            &ResKey::new("discovery.k8s.io", "endpointslices"),
            Some(namespace),
            None,
            0,
            &|o| sel.matches(crate::store::Meta(o).labels()),
        )
        .items;
    let mut desired: Vec<(Value, Vec<Value>)> = Vec::new();
    for set in sets {
        for chunk in set.endpoints.chunks(max.max(1)) {
            desired.push((set.ports.clone(), chunk.to_vec()));
        }
    }
    if desired.is_empty() {
        // A Service with no backends keeps one empty slice, as Kubernetes does.
        desired.push((json!([]), Vec::new()));
    }
    let wanted = desired.len();
    for (i, (ports, endpoints)) in desired.into_iter().enumerate() {
        match existing.get(i) {
            Some(cur) => {
                let _ = ops::modify(&ctx, &key_of(cur), &|cur| {
                    let mut new = cur.clone();
                    new["ports"] = ports.clone();
                    new["endpoints"] = json!(endpoints);
                    (new != *cur).then_some(new)
                });
            }
            None => {
                let slice = json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                    "metadata": {"generateName": format!("{service}-"), "namespace": namespace, "labels": labels, "ownerReferences": [owner]},
                    "addressType": "IPv4", "ports": ports, "endpoints": endpoints});
                let _ = ops::create(&ctx, slice, Some(namespace));
            }
        }
    }
    for surplus in existing.iter().skip(wanted) {
        let _ = ops::delete(&ctx, &key_of(surplus), &Default::default());
    }
}

/// Deletes every slice in `namespace` carrying `labels`.
pub fn delete_slices(cluster: &Cluster, namespace: &str, labels: &Value) {
    let Some(def) = cluster.builtin("discovery.k8s.io", "endpointslices") else {
        return;
    };
    let Some(label_map) = labels.as_object() else {
        return;
    };
    let sel = LabelSelector::from_map(label_map);
    let ctx = WriteCtx::controller(cluster, &def, "endpointslice-controller");
    let existing = cluster
        .store
        .list(&def.storage, Some(namespace), None, 0, &|o| {
            sel.matches(crate::store::Meta(o).labels())
        })
        .items;
    for slice in existing {
        let _ = ops::delete(&ctx, &key_of(&slice), &Default::default());
    }
}

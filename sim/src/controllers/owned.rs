//! Helpers shared by the workload controllers: ownership, pod readiness, hashing, and a
//! compact way to write status.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::ops::{self, WriteCtx};
use crate::store::{Meta, ObjKey, ResKey};

/// Owners (by uid) to reconcile at the next flush: marked when the owner itself changes or
/// when one of the objects it controls does.
#[derive(Default)]
pub struct DirtyOwners {
    dirty: std::collections::BTreeSet<String>,
}

impl DirtyOwners {
    /// Marks the owner an event concerns: `owner_res` objects themselves, or the controller
    /// owner of `child_res` objects (before or after the change).
    pub fn mark(&mut self, ev: &crate::store::StoreEvent, owner_res: &ResKey, child_res: &ResKey) {
        if &ev.res == owner_res && ev.kind != crate::store::EventType::Deleted {
            self.dirty.insert(Meta(&ev.object).uid().to_string());
        } else if &ev.res == child_res {
            let owner =
                controller_uid(&ev.object).or_else(|| ev.prev.as_deref().and_then(controller_uid));
            if let Some(uid) = owner {
                self.dirty.insert(uid.to_string());
            }
        }
    }

    /// The marked owners that still exist (of `owner_res`); clears the marks.
    pub fn take(&mut self, cluster: &Cluster, owner_res: &ResKey) -> Vec<Arc<Value>> {
        std::mem::take(&mut self.dirty)
            .into_iter()
            .filter_map(|uid| {
                cluster
                    .store
                    .by_uid(&uid)
                    .filter(|(res, _)| res == owner_res)
                    .map(|(_, o)| o)
            })
            .collect()
    }
}

/// The uid of the controller owner of `obj`, if any.
pub fn controller_uid(obj: &Value) -> Option<&str> {
    obj["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| r["controller"] == true)
        .and_then(|r| r["uid"].as_str())
}

/// Objects of `res` in `namespace` controlled by `owner_uid` that are not being deleted.
pub fn controlled(
    cluster: &Cluster,
    res: &ResKey,
    namespace: &str,
    owner_uid: &str,
) -> Vec<Arc<Value>> {
    cluster
        .store
        .list(res, Some(namespace), None, 0, &|o| {
            controller_uid(o) == Some(owner_uid) && !Meta(o).deleting()
        })
        .items
}

/// An ownerReference (controller) to `owner`.
pub fn owner_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true,
    })
}

/// Whether a pod's Ready condition is True.
pub fn pod_ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// FNV-1a (32 bit), as Kubernetes hashes pod templates.
pub fn fnv32a(data: &[u8]) -> u32 {
    data.iter().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// Kubernetes' `SafeEncodeString` of the decimal hash: the `pod-template-hash` label value.
pub fn template_hash(template: &Value) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let text = serde_json::to_string(template).unwrap_or_default();
    fnv32a(text.as_bytes())
        .to_string()
        .bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

/// Writes `status` to the object's status subresource when it differs.
pub fn write_status(cluster: &Cluster, res: &ResKey, key: &ObjKey, manager: &str, status: Value) {
    let Some(def) = cluster.def_for(res) else {
        return;
    };
    let ctx = WriteCtx {
        sub: Some("status"),
        ..WriteCtx::controller(cluster, &def, manager)
    };
    let _ = ops::modify(&ctx, key, &|cur| {
        if cur["status"] == status {
            return None;
        }
        let mut new = cur.clone();
        new["status"] = status.clone();
        Some(new)
    });
}

/// Keeps `lastTransitionTime` of conditions whose status did not change.
pub fn keep_transition_times(old: &Value, new: &mut Value) {
    let Some(old) = old.as_array() else { return };
    for c in new.as_array_mut().into_iter().flatten() {
        if let Some(prev) = old
            .iter()
            .find(|o| o["type"] == c["type"] && o["status"] == c["status"])
        {
            for k in ["lastTransitionTime", "lastUpdateTime", "lastProbeTime"] {
                if let Some(t) = prev.get(k) {
                    c[k] = t.clone();
                }
            }
        }
    }
}

/// A Normal event about `obj` from controller `component`.
pub fn event(cluster: &Cluster, obj: &Value, reason: &str, message: &str, component: &str) {
    crate::events::record(
        cluster,
        obj,
        None,
        crate::events::Kind::Normal,
        reason,
        message,
        crate::events::Source::controller(component),
    );
}

/// Creates a pod from `template` owned by `owner` (generateName `<owner>-`, or `name`),
/// with the controller's `SuccessfulCreate`/`FailedCreate` event.
pub fn create_pod(
    cluster: &Cluster,
    owner: &Value,
    template: &Value,
    name: Option<&str>,
    extra_labels: &[(&str, String)],
    manager: &str,
) -> Option<Arc<Value>> {
    let def = cluster.builtin("", "pods")?;
    let mut meta =
        json!({"namespace": Meta(owner).namespace(), "ownerReferences": [owner_ref(owner)]});
    match name {
        Some(n) => meta["name"] = json!(n),
        None => meta["generateName"] = json!(format!("{}-", Meta(owner).name())),
    }
    for k in ["labels", "annotations"] {
        if let Some(v) = template["metadata"].get(k) {
            meta[k] = v.clone();
        }
    }
    for (k, v) in extra_labels {
        meta["labels"][*k] = json!(v);
    }
    let pod =
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template["spec"]});
    let ctx = WriteCtx::controller(cluster, &def, manager);
    match ops::create(&ctx, pod, Some(Meta(owner).namespace())) {
        Ok(p) => {
            event(
                cluster,
                owner,
                "SuccessfulCreate",
                &format!("Created pod: {}", Meta(&p).name()),
                manager,
            );
            Some(p)
        }
        Err(e) => {
            crate::events::record(
                cluster,
                owner,
                None,
                crate::events::Kind::Warning,
                "FailedCreate",
                &format!("Error creating: {e}"),
                crate::events::Source::controller(manager),
            );
            None
        }
    }
}

/// Deletes a controlled pod (graceful) with the `SuccessfulDelete` event.
pub fn delete_pod(cluster: &Cluster, owner: &Value, pod: &Value, manager: &str) {
    let Some(def) = cluster.builtin("", "pods") else {
        return;
    };
    let ctx = WriteCtx::controller(cluster, &def, manager);
    if ops::delete(&ctx, &key(pod), &ops::DeleteOpts::default()).is_ok() {
        event(
            cluster,
            owner,
            "SuccessfulDelete",
            &format!("Deleted pod: {}", Meta(pod).name()),
            manager,
        );
    }
}

/// `spec.replicas` (default 1).
pub fn replicas(obj: &Value) -> i64 {
    obj["spec"]["replicas"].as_i64().unwrap_or(1).max(0)
}

/// The store key of an object.
pub fn key(obj: &Value) -> ObjKey {
    crate::store::key_of(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_stable_and_safe() {
        let t = json!({"metadata": {"labels": {"app": "x"}}});
        let h = template_hash(&t);
        assert_eq!(h, template_hash(&t));
        assert!(
            h.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)),
            "{h}"
        );
        assert_ne!(
            h,
            template_hash(&json!({"metadata": {"labels": {"app": "y"}}}))
        );
        assert_eq!(fnv32a(b""), 0x811c_9dc5);
        assert_eq!(fnv32a(b"a"), 0xe40c_292c);
    }
}

//! StatefulSet controller: pods `<name>-<ordinal>` with stable hostnames (`hostname` = pod
//! name, `subdomain` = `serviceName`, so the headless Service's DNS has
//! `<pod>.<service>.<ns>.svc.cluster.local`), labels `statefulset.kubernetes.io/pod-name`,
//! `apps.kubernetes.io/pod-index` and `controller-revision-hash`; `OrderedReady` creates one
//! pod at a time in ordinal order once the previous is Running and Ready, and removes the
//! highest ordinal first; `Parallel` does all at once; RollingUpdate replaces pods from the
//! highest ordinal down to `partition`. Status as `kubectl rollout status` reads it.
//! ControllerRevision objects and volumeClaimTemplates are not simulated.

use std::sync::Arc;

use serde_json::{Value, json};

use super::Controller;
use super::owned::{
    DirtyOwners, controller_uid, event, key, owner_ref, pod_ready, replicas, template_hash,
    write_status,
};
use crate::cluster::Cluster;
use crate::ops::{self, DeleteOpts, WriteCtx};
use crate::store::{Meta, ResKey, StoreEvent};

const MANAGER: &str = "statefulset-controller";
const REVISION_LABEL: &str = "controller-revision-hash";

#[derive(Default)]
pub struct StatefulSetController {
    dirty: DirtyOwners,
}

fn sts_res() -> ResKey {
    ResKey::new("apps", "statefulsets")
}

fn pod_res() -> ResKey {
    ResKey::new("", "pods")
}

impl Controller for StatefulSetController {
    fn on_event(&mut self, _cluster: &Cluster, ev: &StoreEvent) {
        self.dirty.mark(ev, &sts_res(), &pod_res());
    }

    fn flush(&mut self, cluster: &Cluster) {
        for obj in self.dirty.take(cluster, &sts_res()) {
            reconcile(cluster, &obj);
        }
    }

    fn resync(&mut self, cluster: &Cluster) {
        for s in cluster
            .store
            .list(&sts_res(), None, None, 0, &|_| true)
            .items
        {
            reconcile(cluster, &s);
        }
    }
}

/// Every pod the set controls (terminating ones included), by ordinal.
fn pods_by_ordinal(cluster: &Cluster, sts: &Value) -> Vec<(usize, Arc<Value>)> {
    let prefix = format!("{}-", Meta(sts).name());
    let uid = Meta(sts).uid();
    let mut out: Vec<(usize, Arc<Value>)> = cluster
        .store
        .list(&pod_res(), Some(Meta(sts).namespace()), None, 0, &|p| {
            controller_uid(p) == Some(uid)
        })
        .items
        .into_iter()
        .filter_map(|p| {
            let n = Meta(&p).name().strip_prefix(&prefix)?.parse().ok()?;
            Some((n, p))
        })
        .collect();
    out.sort_by_key(|(n, _)| *n);
    out
}

fn running_ready(p: &Value) -> bool {
    p["status"]["phase"] == "Running" && pod_ready(p) && !Meta(p).deleting()
}

fn revision(p: &Value) -> &str {
    p["metadata"]["labels"][REVISION_LABEL]
        .as_str()
        .unwrap_or("")
}

fn reconcile(cluster: &Cluster, sts: &Value) {
    if Meta(sts).deleting() {
        return;
    }
    let want = replicas(sts) as usize;
    let update = format!(
        "{}-{}",
        Meta(sts).name(),
        template_hash(&sts["spec"]["template"])
    );
    let parallel = sts["spec"]["podManagementPolicy"] == "Parallel";
    let pods = pods_by_ordinal(cluster, sts);
    let find = |i: usize| pods.iter().find(|(n, _)| *n == i).map(|(_, p)| p.clone());
    let mut blocked = false;
    for i in 0..want {
        match find(i) {
            None if !blocked => {
                create(cluster, sts, i, &update);
                blocked = !parallel;
            }
            None => {}
            Some(p)
                if matches!(p["status"]["phase"].as_str(), Some("Failed" | "Succeeded"))
                    && !Meta(&p).deleting() =>
            {
                delete(cluster, sts, &p);
                blocked = !parallel;
            }
            Some(p) => blocked |= !parallel && !running_ready(&p),
        }
    }
    let surplus: Vec<&Arc<Value>> = pods
        .iter()
        .filter(|(n, _)| *n >= want)
        .map(|(_, p)| p)
        .collect();
    let settled = pods
        .iter()
        .filter(|(n, _)| *n < want)
        .all(|(_, p)| running_ready(p));
    if let Some(p) = surplus.iter().rev().find(|p| !Meta(p).deleting())
        && (parallel || (settled && surplus.iter().all(|p| !Meta(p).deleting())))
    {
        delete(cluster, sts, p);
    }
    rolling_update(cluster, sts, &pods, want, &update, settled);
    write(cluster, sts, &update);
}

/// Replaces the highest-ordinal pod not at the update revision (≥ partition), one at a time.
fn rolling_update(
    cluster: &Cluster,
    sts: &Value,
    pods: &[(usize, Arc<Value>)],
    want: usize,
    update: &str,
    settled: bool,
) {
    if sts["spec"]["updateStrategy"]["type"] == "OnDelete" || !settled {
        return;
    }
    let partition = sts["spec"]["updateStrategy"]["rollingUpdate"]["partition"]
        .as_u64()
        .unwrap_or(0) as usize;
    if pods.iter().any(|(_, p)| Meta(p).deleting()) {
        return;
    }
    if let Some((_, p)) = pods
        .iter()
        .rev()
        .find(|(n, p)| *n < want && *n >= partition && revision(p) != update)
    {
        delete(cluster, sts, p);
    }
}

fn create(cluster: &Cluster, sts: &Value, ordinal: usize, update: &str) {
    let Some(def) = cluster.builtin("", "pods") else {
        return;
    };
    let name = format!("{}-{ordinal}", Meta(sts).name());
    let t = &sts["spec"]["template"];
    let mut meta = json!({"name": name, "namespace": Meta(sts).namespace(), "ownerReferences": [owner_ref(sts)],
        "labels": t["metadata"]["labels"].clone()});
    if let Some(a) = t["metadata"].get("annotations") {
        meta["annotations"] = a.clone();
    }
    for (k, v) in [
        (REVISION_LABEL, update.to_string()),
        ("statefulset.kubernetes.io/pod-name", name.clone()),
        ("apps.kubernetes.io/pod-index", ordinal.to_string()),
    ] {
        meta["labels"][k] = json!(v);
    }
    let mut spec = t["spec"].clone();
    spec["hostname"] = json!(name);
    if let Some(svc) = sts["spec"]["serviceName"]
        .as_str()
        .filter(|s| !s.is_empty())
    {
        spec["subdomain"] = json!(svc);
    }
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec});
    let ctx = WriteCtx::controller(cluster, &def, MANAGER);
    let set = Meta(sts).name();
    match ops::create(&ctx, pod, Some(Meta(sts).namespace())) {
        Ok(_) => event(
            cluster,
            sts,
            "SuccessfulCreate",
            &format!("create Pod {name} in StatefulSet {set} successful"),
            MANAGER,
        ),
        Err(e) => crate::events::record(
            cluster,
            sts,
            None,
            crate::events::Kind::Warning,
            "FailedCreate",
            &format!("create Pod {name} in StatefulSet {set} failed error: {e}"),
            crate::events::Source::controller(MANAGER),
        ),
    }
}

fn delete(cluster: &Cluster, sts: &Value, pod: &Value) {
    let Some(def) = cluster.builtin("", "pods") else {
        return;
    };
    let ctx = WriteCtx::controller(cluster, &def, MANAGER);
    if ops::delete(&ctx, &key(pod), &DeleteOpts::default()).is_ok() {
        let msg = format!(
            "delete Pod {} in StatefulSet {} successful",
            Meta(pod).name(),
            Meta(sts).name()
        );
        event(cluster, sts, "SuccessfulDelete", &msg, MANAGER);
    }
}

fn write(cluster: &Cluster, sts: &Value, update: &str) {
    let want = replicas(sts) as usize;
    let pods = pods_by_ordinal(cluster, sts);
    let live: Vec<&Arc<Value>> = pods
        .iter()
        .filter(|(n, p)| *n < want && !Meta(p).deleting())
        .map(|(_, p)| p)
        .collect();
    let ready = live.iter().filter(|p| pod_ready(p)).count();
    let updated = live.iter().filter(|p| revision(p) == update).count();
    let current_rev = match sts["status"]["currentRevision"].as_str() {
        Some(c) if updated < want => c.to_string(),
        _ => update.to_string(),
    };
    let current = live.iter().filter(|p| revision(p) == current_rev).count();
    let status = json!({
        "observedGeneration": sts["metadata"]["generation"], "replicas": live.len(), "readyReplicas": ready,
        "currentReplicas": current, "updatedReplicas": updated, "availableReplicas": ready,
        "currentRevision": current_rev, "updateRevision": update, "collisionCount": 0,
    });
    write_status(cluster, &sts_res(), &key(sts), MANAGER, status);
}

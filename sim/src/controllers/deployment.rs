//! Deployment controller: one ReplicaSet per pod template (named `<deployment>-<hash>`), the
//! new one scaled to `spec.replicas`, old ones scaled to zero once the new one is available,
//! and status fields that `kubectl rollout status` reads.

use std::sync::Arc;

use serde_json::{Value, json};

use super::Controller;
use super::owned::{
    DirtyOwners, controlled, keep_transition_times, key, owner_ref, replicas, template_hash,
    write_status,
};
use crate::cluster::Cluster;
use crate::ops::{self, WriteCtx};
use crate::store::{Meta, ResKey, StoreEvent, now_rfc3339};

const MANAGER: &str = "deployment-controller";
const HASH_LABEL: &str = "pod-template-hash";
const REVISION: &str = "deployment.kubernetes.io/revision";

#[derive(Default)]
pub struct DeploymentController {
    dirty: DirtyOwners,
}

fn deploy_res() -> ResKey {
    ResKey::new("apps", "deployments")
}

fn rs_res() -> ResKey {
    ResKey::new("apps", "replicasets")
}

impl Controller for DeploymentController {
    fn on_event(&mut self, _cluster: &Cluster, ev: &StoreEvent) {
        self.dirty.mark(ev, &deploy_res(), &rs_res());
    }

    fn flush(&mut self, cluster: &Cluster) {
        for obj in self.dirty.take(cluster, &deploy_res()) {
            reconcile(cluster, &obj);
        }
    }

    fn resync(&mut self, cluster: &Cluster) {
        for d in cluster
            .store
            .list(&deploy_res(), None, None, 0, &|_| true)
            .items
        {
            reconcile(cluster, &d);
        }
    }
}

fn rs_int(rs: &Value, field: &str) -> i64 {
    rs["status"][field].as_i64().unwrap_or(0)
}

fn reconcile(cluster: &Cluster, d: &Value) {
    if Meta(d).deleting() {
        return;
    }
    let ns = Meta(d).namespace();
    let want = replicas(d);
    let hash = template_hash(&d["spec"]["template"]);
    let owned = controlled(cluster, &rs_res(), ns, Meta(d).uid());
    let (new, old): (Vec<_>, Vec<_>) = owned
        .into_iter()
        .partition(|rs| rs["metadata"]["labels"][HASH_LABEL] == hash.as_str());
    let new = match new.into_iter().next() {
        Some(rs) => rs,
        None => match create_rs(cluster, d, &hash, next_revision(&old)) {
            Some(rs) => rs,
            None => return,
        },
    };
    scale(cluster, d, &new, want);
    let new_ready = rs_int(&new, "availableReplicas") >= want && rs_int(&new, "replicas") == want;
    if new_ready || d["spec"]["strategy"]["type"] == "Recreate" {
        for rs in old.iter().filter(|rs| replicas(rs) > 0) {
            scale(cluster, d, rs, 0);
        }
    }
    let revision = new["metadata"]["annotations"][REVISION].clone();
    if d["metadata"]["annotations"][REVISION] != revision {
        annotate_revision(cluster, d, &revision);
    }
    write_status(
        cluster,
        &deploy_res(),
        &key(d),
        MANAGER,
        status(d, &new, &old, want),
    );
}

fn next_revision(old: &[Arc<Value>]) -> i64 {
    old.iter()
        .filter_map(|rs| {
            rs["metadata"]["annotations"][REVISION]
                .as_str()?
                .parse::<i64>()
                .ok()
        })
        .max()
        .unwrap_or(0)
        + 1
}

fn create_rs(cluster: &Cluster, d: &Value, hash: &str, revision: i64) -> Option<Arc<Value>> {
    let def = cluster.builtin("apps", "replicasets")?;
    let mut template = d["spec"]["template"].clone();
    template["metadata"]["labels"][HASH_LABEL] = json!(hash);
    let mut selector = d["spec"]["selector"].clone();
    selector["matchLabels"][HASH_LABEL] = json!(hash);
    let rs = json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": format!("{}-{hash}", Meta(d).name()), "namespace": Meta(d).namespace(),
            "labels": template["metadata"]["labels"], "annotations": {REVISION: revision.to_string()},
            "ownerReferences": [owner_ref(d)]},
        "spec": {"replicas": 0, "selector": selector, "template": template,
            "minReadySeconds": d["spec"]["minReadySeconds"].as_i64().unwrap_or(0)},
    });
    let ctx = WriteCtx::controller(cluster, &def, MANAGER);
    match ops::create(&ctx, rs, Some(Meta(d).namespace())) {
        Ok(rs) => Some(rs),
        Err(e) => {
            tracing::warn!(cluster = %cluster.name, deployment = Meta(d).name(), error = %e, "failed to create replicaset");
            None
        }
    }
}

fn scale(cluster: &Cluster, d: &Value, rs: &Value, to: i64) {
    if replicas(rs) == to && rs["spec"]["replicas"].is_number() {
        return;
    }
    let from = replicas(rs);
    let dir = if to > from { "up" } else { "down" };
    let msg = format!(
        "Scaled {dir} replica set {} from {from} to {to}",
        Meta(rs).name()
    );
    super::owned::event(cluster, d, "ScalingReplicaSet", &msg, MANAGER);
    let Some(def) = cluster.builtin("apps", "replicasets") else {
        return;
    };
    let ctx = WriteCtx::controller(cluster, &def, MANAGER);
    let _ = ops::modify(&ctx, &key(rs), &|cur| {
        let mut new = cur.clone();
        new["spec"]["replicas"] = json!(to);
        (new != *cur).then_some(new)
    });
}

fn annotate_revision(cluster: &Cluster, d: &Value, revision: &Value) {
    let Some(def) = cluster.builtin("apps", "deployments") else {
        return;
    };
    let ctx = WriteCtx::controller(cluster, &def, MANAGER);
    let _ = ops::modify(&ctx, &key(d), &|cur| {
        let mut new = cur.clone();
        new["metadata"]["annotations"][REVISION] = revision.clone();
        (new != *cur).then_some(new)
    });
}

fn status(d: &Value, new: &Value, old: &[Arc<Value>], want: i64) -> Value {
    let all = old.iter().map(|a| &**a).chain(std::iter::once(new));
    let (mut total, mut ready, mut available) = (0, 0, 0);
    for rs in all {
        total += rs_int(rs, "replicas");
        ready += rs_int(rs, "readyReplicas");
        available += rs_int(rs, "availableReplicas");
    }
    let updated = rs_int(new, "replicas");
    let complete = updated == want && total == want && available >= want;
    let now = now_rfc3339();
    let cond = |t: &str, ok: bool, reason: &str, msg: String| {
        json!({"type": t, "status": if ok { "True" } else { "False" }, "reason": reason, "message": msg,
               "lastUpdateTime": now, "lastTransitionTime": now})
    };
    let name = Meta(new).name();
    let mut conditions = json!([
        cond(
            "Available",
            available >= want,
            if available >= want {
                "MinimumReplicasAvailable"
            } else {
                "MinimumReplicasUnavailable"
            },
            if available >= want {
                "Deployment has minimum availability.".into()
            } else {
                "Deployment does not have minimum availability.".into()
            }
        ),
        cond(
            "Progressing",
            true,
            if complete {
                "NewReplicaSetAvailable"
            } else {
                "ReplicaSetUpdated"
            },
            if complete {
                format!("ReplicaSet \"{name}\" has successfully progressed.")
            } else {
                format!("ReplicaSet \"{name}\" is progressing.")
            }
        ),
    ]);
    keep_transition_times(&d["status"]["conditions"], &mut conditions);
    let mut s = json!({"observedGeneration": d["metadata"]["generation"], "replicas": total, "updatedReplicas": updated, "conditions": conditions});
    for (k, v) in [
        ("readyReplicas", ready),
        ("availableReplicas", available),
        ("unavailableReplicas", (want - available).max(0)),
    ] {
        if v > 0 {
            s[k] = json!(v);
        }
    }
    s
}

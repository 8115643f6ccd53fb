//! ReplicaSet controller: keeps `spec.replicas` pods from the template, deleting surplus
//! pods not-ready-first and newest-first, and reports replica counts in status.

use std::sync::Arc;

use serde_json::{Value, json};

use super::Controller;
use super::owned::{DirtyOwners, controlled, key, pod_ready, replicas, write_status};
use crate::cluster::Cluster;
use crate::store::{Meta, ResKey, StoreEvent};

const MANAGER: &str = "replicaset-controller";

#[derive(Default)]
pub struct ReplicaSetController {
    dirty: DirtyOwners,
}

fn rs_res() -> ResKey {
    ResKey::new("apps", "replicasets")
}

fn pod_res() -> ResKey {
    ResKey::new("", "pods")
}

impl Controller for ReplicaSetController {
    fn on_event(&mut self, _cluster: &Cluster, ev: &StoreEvent) {
        self.dirty.mark(ev, &rs_res(), &pod_res());
    }

    fn flush(&mut self, cluster: &Cluster) {
        for obj in self.dirty.take(cluster, &rs_res()) {
            reconcile(cluster, &obj);
        }
    }

    fn resync(&mut self, cluster: &Cluster) {
        for rs in cluster
            .store
            .list(&rs_res(), None, None, 0, &|_| true)
            .items
        {
            reconcile(cluster, &rs);
        }
    }
}

fn reconcile(cluster: &Cluster, rs: &Value) {
    if Meta(rs).deleting() {
        return;
    }
    let ns = Meta(rs).namespace();
    let mut pods = controlled(cluster, &pod_res(), ns, Meta(rs).uid());
    let want = replicas(rs) as usize;
    if pods.len() < want {
        for _ in pods.len()..want {
            create_pod(cluster, rs);
        }
    } else if pods.len() > want {
        // Delete not-ready pods first, then the newest.
        pods.sort_by_key(|p| {
            (
                pod_ready(p),
                std::cmp::Reverse(
                    p["metadata"]["creationTimestamp"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                ),
            )
        });
        for p in pods.drain(..pods.len() - want) {
            delete_pod(cluster, rs, &p);
        }
    }
    let pods = controlled(cluster, &pod_res(), ns, Meta(rs).uid());
    let ready = pods.iter().filter(|p| pod_ready(p)).count();
    let mut status = json!({
        "replicas": pods.len(), "fullyLabeledReplicas": pods.len(),
        "observedGeneration": rs["metadata"]["generation"],
    });
    if ready > 0 {
        status["readyReplicas"] = json!(ready);
        status["availableReplicas"] = json!(ready);
    }
    write_status(cluster, &rs_res(), &key(rs), MANAGER, status);
}

fn create_pod(cluster: &Cluster, rs: &Value) {
    let _ = super::owned::create_pod(cluster, rs, &rs["spec"]["template"], None, &[], MANAGER);
}

fn delete_pod(cluster: &Cluster, rs: &Value, pod: &Arc<Value>) {
    super::owned::delete_pod(cluster, rs, pod, MANAGER);
}

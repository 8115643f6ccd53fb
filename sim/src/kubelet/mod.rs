//! The simulated scheduler and kubelet of a cluster's single node: binds pending pods to the
//! node, gives them an IP from the cluster's pod range, serves their containers' ports,
//! runs readiness probes for real and reports pod status; stops all of it when the pod goes.

mod apps;
mod probe;
mod runtime;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

pub use apps::{PodInfo, is_whereami};
pub use runtime::PodRuntime;

use crate::cluster::Cluster;
use crate::controllers::Controller;
use crate::ops::{self, WriteCtx};
use crate::store::{EventType, Meta, ResKey, StoreEvent, key_of, now_rfc3339};

/// Scheduler + kubelet for one cluster.
pub struct Kubelet {
    cluster: Arc<Cluster>,
    pods: HashMap<String, PodRuntime>,
}

impl Kubelet {
    /// A kubelet for `cluster`'s node.
    pub fn new(cluster: Arc<Cluster>) -> Self {
        Self {
            cluster,
            pods: HashMap::new(),
        }
    }

    fn stop(&mut self, uid: &str) {
        if let Some(rt) = self.pods.remove(uid) {
            self.cluster.plan.release_pod_ip(rt.ip);
        }
    }

    fn handle(&mut self, pod: &Value) {
        let uid = Meta(pod).uid().to_string();
        if Meta(pod).deleting()
            || matches!(
                pod["status"]["phase"].as_str(),
                Some("Succeeded" | "Failed")
            )
        {
            self.stop(&uid);
            return;
        }
        let node = pod["spec"]["nodeName"].as_str().unwrap_or("");
        if node.is_empty() {
            schedule(&self.cluster, pod);
            return;
        }
        if node == self.cluster.node_name() && !self.pods.contains_key(&uid) {
            match runtime::start(&self.cluster, pod) {
                Some(rt) => {
                    self.pods.insert(uid, rt);
                }
                None => {
                    tracing::warn!(cluster = %self.cluster.name, pod = Meta(pod).name(), "no pod IP could be bound")
                }
            }
        }
    }
}

impl Controller for Kubelet {
    fn on_event(&mut self, _cluster: &Cluster, ev: &StoreEvent) {
        if ev.res != ResKey::new("", "pods") {
            return;
        }
        match ev.kind {
            EventType::Deleted => self.stop(Meta(&ev.object).uid()),
            _ => self.handle(&ev.object),
        }
    }

    fn resync(&mut self, _cluster: &Cluster) {
        let pods = self
            .cluster
            .store
            .list(&ResKey::new("", "pods"), None, None, 0, &|_| true)
            .items;
        let live: std::collections::HashSet<String> =
            pods.iter().map(|p| Meta(p).uid().to_string()).collect();
        let gone: Vec<String> = self
            .pods
            .keys()
            .filter(|u| !live.contains(*u))
            .cloned()
            .collect();
        for uid in gone {
            self.stop(&uid);
        }
        for p in pods {
            self.handle(&p);
        }
    }
}

/// Binds a pending pod to the node (the default scheduler's job).
fn schedule(cluster: &Cluster, pod: &Value) {
    let Some(def) = cluster.builtin("", "pods") else {
        return;
    };
    let ctx = WriteCtx::controller(cluster, &def, "default-scheduler");
    let node = cluster.node_name();
    let _ = ops::modify(&ctx, &key_of(pod), &|cur| {
        if !cur["spec"]["nodeName"].as_str().unwrap_or("").is_empty() {
            return None;
        }
        let mut new = cur.clone();
        new["spec"]["nodeName"] = json!(node);
        Some(new)
    });
    let status = WriteCtx {
        sub: Some("status"),
        ..ctx
    };
    let _ = ops::modify(&status, &key_of(pod), &|cur| {
        let mut new = cur.clone();
        new["status"]["conditions"] = json!([{"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now_rfc3339()}]);
        (new != *cur).then_some(new)
    });
}

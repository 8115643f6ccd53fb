//! The simulated scheduler and kubelet of a cluster's single node: binds pending pods to the
//! node (`Scheduled`), gives them an IP from the cluster's pod range, runs their containers
//! as the kubelet does (image pulls, the images' programs, probes, restarts with
//! CrashLoopBackOff, Events) and reports pod status; on deletion it stops the containers
//! within the grace period and removes the pod object.

mod apps;
mod container;
mod envvars;
mod image;
mod logs;
mod probe;
mod process;
mod runtime;
mod status;
mod supervise;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

pub use apps::{PodInfo, is_whereami};
pub use image::{Family, ImageRef, parse as parse_image};
pub use logs::{ContainerIo, Log, LogLine, NodeIo};
pub use runtime::PodRuntime;

use crate::cluster::Cluster;
use crate::controllers::Controller;
use crate::events::{self, Kind, Source};
use crate::ops::{self, DeleteOpts, WriteCtx};
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
        let node = pod["spec"]["nodeName"].as_str().unwrap_or("");
        let ours = node == self.cluster.node_name();
        if Meta(pod).deleting() {
            let grace = pod["metadata"]["deletionGracePeriodSeconds"]
                .as_f64()
                .unwrap_or(0.0);
            match self.pods.get(&uid) {
                Some(rt) => rt.terminate(grace),
                // Nothing runs for it here: the kubelet confirms the deletion at once.
                None if ours => force_delete(&self.cluster, pod),
                None => {}
            }
            return;
        }
        if matches!(
            pod["status"]["phase"].as_str(),
            Some("Succeeded" | "Failed")
        ) {
            self.stop(&uid);
            return;
        }
        if node.is_empty() {
            schedule(&self.cluster, pod);
            return;
        }
        if ours && !self.pods.contains_key(&uid) {
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
            EventType::Deleted => {
                let uid = Meta(&ev.object).uid().to_string();
                self.stop(&uid);
                self.cluster.node_io.forget_pod(&uid);
            }
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
            self.cluster.node_io.forget_pod(&uid);
        }
        for p in pods {
            self.handle(&p);
        }
    }
}

/// Deletes a pod with grace 0 (the kubelet's confirmation that nothing runs any more).
fn force_delete(cluster: &Cluster, pod: &Value) {
    let Some(def) = cluster.builtin("", "pods") else {
        return;
    };
    let ctx = WriteCtx::controller(cluster, &def, "kubelet");
    let opts = DeleteOpts {
        uid: Some(Meta(pod).uid().to_string()),
        grace: Some(0),
        ..DeleteOpts::default()
    };
    let _ = ops::delete(&ctx, &key_of(pod), &opts);
}

/// Binds a pending pod to the node (the default scheduler's job).
fn schedule(cluster: &Cluster, pod: &Value) {
    let Some(def) = cluster.builtin("", "pods") else {
        return;
    };
    let ctx = WriteCtx::controller(cluster, &def, "default-scheduler");
    let node = cluster.node_name();
    let bound = ops::modify(&ctx, &key_of(pod), &|cur| {
        if !cur["spec"]["nodeName"].as_str().unwrap_or("").is_empty() {
            return None;
        }
        let mut new = cur.clone();
        new["spec"]["nodeName"] = json!(node);
        Some(new)
    });
    if let Ok(Some(p)) = &bound {
        let msg = format!(
            "Successfully assigned {}/{} to {node}",
            Meta(p).namespace(),
            Meta(p).name()
        );
        events::record(
            cluster,
            p,
            None,
            Kind::Normal,
            "Scheduled",
            &msg,
            Source::controller("default-scheduler"),
        );
    }
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

//! Endpoints and EndpointSlice controllers for Services with a selector: ready and
//! not-ready pod addresses, target ports resolved per pod (named ports), slices of at most
//! 100 endpoints owned by the Service. Also releases a deleted Service's ClusterIP.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde_json::{Value, json};

use super::Controller;
use super::owned::{key, owner_ref, pod_ready};
use super::slices::{SliceSet, reconcile_slices};
use crate::cluster::Cluster;
use crate::ops::{self, WriteCtx};
use crate::selector::LabelSelector;
use crate::store::{EventType, Meta, ObjKey, ResKey, StoreEvent};

const MANAGER: &str = "endpoint-controller";
/// `managed-by` of slices this controller writes.
pub const SLICE_MANAGER: &str = "endpointslice-controller.k8s.io";

#[derive(Default)]
pub struct EndpointsController {
    /// Selector Services that need a reconcile at the next flush.
    dirty: std::collections::BTreeSet<ObjKey>,
}

fn svc_res() -> ResKey {
    ResKey::new("", "services")
}

fn has_selector(svc: &Value) -> bool {
    svc["spec"]["selector"]
        .as_object()
        .is_some_and(|m| !m.is_empty())
        && svc["spec"]["type"] != "ExternalName"
}

impl Controller for EndpointsController {
    fn on_event(&mut self, cluster: &Cluster, ev: &StoreEvent) {
        if ev.res == svc_res() && ev.kind == EventType::Deleted {
            service_gone(cluster, &ev.object);
        } else if ev.res == svc_res() {
            if has_selector(&ev.object) {
                self.dirty.insert(ev.key.clone());
            }
        } else if ev.res == ResKey::new("", "pods") {
            // Only the Services whose selector matches the pod, before or after the change.
            let labels = [Some(&ev.object), ev.prev.as_ref()];
            let matches = |svc: &Value| {
                let Some(sel) = svc["spec"]["selector"]
                    .as_object()
                    .filter(|s| !s.is_empty())
                else {
                    return false;
                };
                let sel = LabelSelector::from_map(sel);
                labels
                    .iter()
                    .flatten()
                    .any(|p| sel.matches(Meta(p).labels()))
            };
            for svc in cluster
                .store
                .list(&svc_res(), Some(&ev.key.namespace), None, 0, &matches)
                .items
            {
                self.dirty.insert(crate::store::key_of(&svc));
            }
        }
    }

    fn flush(&mut self, cluster: &Cluster) {
        for key in std::mem::take(&mut self.dirty) {
            if let Some(svc) = cluster
                .store
                .get(&svc_res(), &key)
                .filter(|s| has_selector(s))
            {
                reconcile(cluster, &svc);
            }
        }
    }

    fn resync(&mut self, cluster: &Cluster) {
        for svc in cluster
            .store
            .list(&svc_res(), None, None, 0, &has_selector)
            .items
        {
            reconcile(cluster, &svc);
        }
    }
}

fn service_gone(cluster: &Cluster, svc: &Value) {
    if let Some(ip) = svc["spec"]["clusterIP"]
        .as_str()
        .and_then(|s| s.parse::<Ipv4Addr>().ok())
    {
        cluster.plan.release_service_ip(ip);
    }
    if has_selector(svc)
        && let Some(def) = cluster.builtin("", "endpoints")
    {
        let ctx = WriteCtx::controller(cluster, &def, MANAGER);
        let _ = ops::delete(&ctx, &key(svc), &Default::default());
    }
}

/// One pod's address as Endpoints and EndpointSlices list it.
pub struct Backend {
    /// Pod IP.
    pub ip: String,
    /// Ready condition (ready and not terminating).
    pub ready: bool,
    /// The pod's Ready condition, also while it terminates (EndpointSlice `serving`).
    pub serving: bool,
    /// The pod is being deleted (EndpointSlice `terminating`).
    pub terminating: bool,
    /// `hostname` (the pod's `spec.hostname` when its `subdomain` is this Service).
    pub hostname: Option<String>,
    /// Node name.
    pub node: Value,
    /// targetRef to the pod.
    pub target: Value,
}

/// Resolves a Service port's targetPort for one pod (named ports from container ports).
fn resolve_port(sp: &Value, pod: &Value) -> Option<i64> {
    let tp = &sp["targetPort"];
    if let Some(n) = tp.as_i64() {
        return Some(n);
    }
    let name = tp.as_str()?;
    if let Ok(n) = name.parse() {
        return Some(n);
    }
    pod["spec"]["containers"].as_array()?.iter().find_map(|c| {
        c["ports"]
            .as_array()?
            .iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["containerPort"].as_i64())
    })
}

/// Pods behind `svc` grouped by their resolved port list.
pub fn group_backends(
    cluster: &Cluster,
    svc: &Value,
) -> BTreeMap<Vec<(String, i64, String)>, Vec<Backend>> {
    let Some(sel) = svc["spec"]["selector"].as_object() else {
        return BTreeMap::new();
    };
    let sel = LabelSelector::from_map(sel);
    let ns = Meta(svc).namespace();
    let pods = cluster
        .store
        .list(&ResKey::new("", "pods"), Some(ns), None, 0, &|p| {
            sel.matches(Meta(p).labels())
                && p["status"]["podIP"].as_str().is_some_and(|s| !s.is_empty())
                && !matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
        });
    let ports = svc["spec"]["ports"].as_array().cloned().unwrap_or_default();
    let mut groups: BTreeMap<Vec<(String, i64, String)>, Vec<Backend>> = BTreeMap::new();
    for pod in pods.items {
        let resolved: Vec<(String, i64, String)> = ports
            .iter()
            .filter_map(|sp| {
                let n = resolve_port(sp, &pod)?;
                Some((
                    sp["name"].as_str().unwrap_or("").to_string(),
                    n,
                    sp["protocol"].as_str().unwrap_or("TCP").to_string(),
                ))
            })
            .collect();
        if resolved.is_empty() {
            continue;
        }
        let m = &pod["metadata"];
        let terminating = Meta(&pod).deleting();
        let hostname = pod["spec"]["hostname"]
            .as_str()
            .filter(|h| !h.is_empty() && pod["spec"]["subdomain"] == Meta(svc).name())
            .map(String::from);
        groups.entry(resolved).or_default().push(Backend {
            ip: pod["status"]["podIP"].as_str().unwrap_or("").to_string(),
            ready: pod_ready(&pod) && !terminating,
            serving: pod_ready(&pod),
            terminating,
            hostname,
            node: pod["spec"]["nodeName"].clone(),
            target: json!({"kind": "Pod", "name": m["name"], "namespace": m["namespace"], "uid": m["uid"]}),
        });
    }
    for v in groups.values_mut() {
        v.sort_by(|a, b| a.ip.cmp(&b.ip));
    }
    groups
}

fn port_list(ports: &[(String, i64, String)]) -> Value {
    json!(
        ports
            .iter()
            .map(|(n, p, proto)| {
                let mut v = json!({"port": p, "protocol": proto});
                if !n.is_empty() {
                    v["name"] = json!(n);
                }
                v
            })
            .collect::<Vec<_>>()
    )
}

/// Endpoints subsets: terminating pods are left out (the endpoints controller's
/// `ShouldPodBeInEndpoints`, without publishNotReadyAddresses).
fn subsets(groups: &BTreeMap<Vec<(String, i64, String)>, Vec<Backend>>) -> Value {
    let addr = |b: &Backend| {
        let mut a = json!({"ip": b.ip, "nodeName": b.node, "targetRef": b.target});
        if let Some(h) = &b.hostname {
            a["hostname"] = json!(h);
        }
        a
    };
    let mut out = Vec::new();
    for (ports, backends) in groups {
        let mut s = json!({"ports": port_list(ports)});
        let live = || backends.iter().filter(|b| !b.terminating);
        let ready: Vec<Value> = live().filter(|b| b.ready).map(addr).collect();
        let not_ready: Vec<Value> = live().filter(|b| !b.ready).map(addr).collect();
        if ready.is_empty() && not_ready.is_empty() {
            continue;
        }
        if !ready.is_empty() {
            s["addresses"] = json!(ready);
        }
        if !not_ready.is_empty() {
            s["notReadyAddresses"] = json!(not_ready);
        }
        out.push(s);
    }
    json!(out)
}

fn reconcile(cluster: &Cluster, svc: &Value) {
    let groups = group_backends(cluster, svc);
    write_endpoints(cluster, svc, subsets(&groups));
    let sets: Vec<SliceSet> = groups
        .iter()
        .map(|(ports, backends)| SliceSet {
            ports: port_list(ports),
            endpoints: backends
                .iter()
                .map(|b| {
                    let mut e = json!({"addresses": [b.ip], "conditions": {"ready": b.ready, "serving": b.serving, "terminating": b.terminating},
                                       "nodeName": b.node, "targetRef": b.target});
                    if let Some(h) = &b.hostname {
                        e["hostname"] = json!(h);
                    }
                    e
                })
                .collect(),
        })
        .collect();
    let labels = json!({"kubernetes.io/service-name": Meta(svc).name(), "endpointslice.kubernetes.io/managed-by": SLICE_MANAGER});
    reconcile_slices(
        cluster,
        Meta(svc).namespace(),
        Meta(svc).name(),
        labels,
        owner_ref(svc),
        sets,
        100,
    );
}

fn write_endpoints(cluster: &Cluster, svc: &Value, subsets: Value) {
    let Some(def) = cluster.builtin("", "endpoints") else {
        return;
    };
    let ctx = WriteCtx::controller(cluster, &def, MANAGER);
    let k = ObjKey::new(Meta(svc).namespace(), Meta(svc).name());
    let labels = svc["metadata"]["labels"].clone();
    match cluster.store.get(&def.storage, &k) {
        None => {
            let mut ep = json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": k.name, "namespace": k.namespace}});
            if labels.is_object() {
                ep["metadata"]["labels"] = labels;
            }
            if subsets.as_array().is_some_and(|s| !s.is_empty()) {
                ep["subsets"] = subsets;
            }
            let _ = ops::create(&ctx, ep, Some(&k.namespace));
        }
        Some(_) => {
            let _ = ops::modify(&ctx, &k, &|cur| {
                let mut new = cur.clone();
                match subsets.as_array().is_some_and(|s| !s.is_empty()) {
                    true => new["subsets"] = subsets.clone(),
                    false => {
                        new.as_object_mut()?.remove("subsets");
                    }
                }
                (new != *cur).then_some(new)
            });
        }
    }
}

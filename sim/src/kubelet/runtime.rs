//! A running pod: its IP, the listeners of its containers' ports, and the loop that runs
//! readiness probes and reports the pod's status.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::apps::{PodInfo, app};
use super::probe;
use crate::cluster::Cluster;
use crate::controllers::write_pod_status;
use crate::store::{Meta, now_rfc3339};

/// The tasks of one running pod; dropping it stops them.
pub struct PodRuntime {
    /// The pod's IP (returned to the pool on stop).
    pub ip: Ipv4Addr,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for PodRuntime {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn container_ports(pod: &Value) -> Vec<(Value, u16)> {
    let mut out = Vec::new();
    for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
        for p in c["ports"].as_array().into_iter().flatten() {
            let tcp = p["protocol"].as_str().is_none_or(|x| x == "TCP");
            if let Some(n) = p["containerPort"]
                .as_u64()
                .and_then(|n| u16::try_from(n).ok())
                && tcp
            {
                out.push((c.clone(), n));
            }
        }
    }
    out
}

/// Binds every container port on a fresh pod IP (another IP when one is taken elsewhere).
fn bind_ports(
    cluster: &Cluster,
    pod: &Value,
) -> Option<(Ipv4Addr, Vec<(Value, std::net::TcpListener)>)> {
    for _ in 0..8 {
        let ip = cluster.plan.allocate_pod_ip().ok()?;
        let mut bound = Vec::new();
        let mut ok = true;
        for (c, port) in container_ports(pod) {
            match std::net::TcpListener::bind(SocketAddr::new(IpAddr::V4(ip), port)) {
                Ok(l) if l.set_nonblocking(true).is_ok() => bound.push((c, l)),
                _ => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            return Some((ip, bound));
        }
        cluster.plan.release_pod_ip(ip);
    }
    None
}

fn info(cluster: &Cluster, pod: &Value, container: &Value, ip: Ipv4Addr) -> PodInfo {
    let env = container["env"].as_array();
    let metadata = env
        .and_then(|e| e.iter().find(|v| v["name"] == "METADATA"))
        .and_then(|v| v["value"].as_str())
        .map(String::from);
    PodInfo {
        cluster: cluster.name.clone(),
        zone: cluster.zone(),
        node: cluster.node_name(),
        pod: Meta(pod).name().to_string(),
        namespace: Meta(pod).namespace().to_string(),
        ip: ip.to_string(),
        service_account: pod["spec"]["serviceAccountName"]
            .as_str()
            .unwrap_or("default")
            .to_string(),
        image: container["image"].as_str().unwrap_or("").to_string(),
        metadata,
    }
}

/// Starts a pod: IP, listeners, status, probe loop. None when no IP could be bound.
pub fn start(cluster: &Arc<Cluster>, pod: &Value) -> Option<PodRuntime> {
    let (ip, listeners) = bind_ports(cluster, pod)?;
    let mut tasks = Vec::new();
    for (container, l) in listeners {
        let router = app(info(cluster, pod, &container, ip));
        let Ok(listener) = tokio::net::TcpListener::from_std(l) else {
            continue;
        };
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        }));
    }
    let started = now_rfc3339();
    let (c, p) = (cluster.clone(), pod.clone());
    tasks.push(tokio::spawn(
        async move { probe_loop(c, p, ip, started).await },
    ));
    Some(PodRuntime { ip, tasks })
}

async fn probe_loop(cluster: Arc<Cluster>, pod: Value, ip: Ipv4Addr, started: String) {
    let containers: Vec<Value> = pod["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut ready: Vec<bool> = vec![false; containers.len()];
    let mut failures = vec![0u64; containers.len()];
    let mut first = true;
    loop {
        let mut changed = first;
        for (i, c) in containers.iter().enumerate() {
            let ok = probe::ready(c, ip).await;
            let threshold = c["readinessProbe"]["failureThreshold"]
                .as_u64()
                .unwrap_or(3)
                .max(1);
            failures[i] = if ok { 0 } else { failures[i] + 1 };
            let now = if ok {
                true
            } else if ready[i] {
                failures[i] < threshold
            } else {
                false
            };
            changed |= now != ready[i];
            ready[i] = now;
        }
        if changed {
            write_pod_status(
                &cluster,
                &pod,
                &status(&cluster, &pod, ip, &started, &containers, &ready),
            );
        }
        first = false;
        tokio::time::sleep(cluster.probe_period).await;
    }
}

fn status(
    cluster: &Cluster,
    pod: &Value,
    ip: Ipv4Addr,
    started: &str,
    containers: &[Value],
    ready: &[bool],
) -> Value {
    let all = ready.iter().all(|r| *r);
    let cond = |t: &str, ok: bool| json!({"type": t, "status": if ok { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": now_rfc3339()});
    let statuses: Vec<Value> = containers
        .iter()
        .zip(ready)
        .map(|(c, r)| json!({
            "name": c["name"], "image": c["image"], "imageID": format!("sim://{}", c["image"].as_str().unwrap_or("")),
            "containerID": format!("sim://{}-{}", Meta(pod).uid(), c["name"].as_str().unwrap_or("")),
            "ready": r, "started": true, "restartCount": 0, "state": {"running": {"startedAt": started}},
        }))
        .collect();
    json!({
        "phase": "Running", "qosClass": "BestEffort", "startTime": started,
        "hostIP": cluster.node_ip().to_string(), "hostIPs": [{"ip": cluster.node_ip().to_string()}],
        "podIP": ip.to_string(), "podIPs": [{"ip": ip.to_string()}],
        "conditions": [cond("PodReadyToStartContainers", true), cond("Initialized", true), cond("Ready", all),
                       cond("ContainersReady", all), cond("PodScheduled", true)],
        "containerStatuses": statuses,
    })
}

//! A pod on the node: its sandbox (IP), its containers' tasks, the status reports, and the
//! end of it — completion (restartPolicy Never/OnFailure) or graceful termination after the
//! API server set `deletionTimestamp` (containers stopped within the grace period, then the
//! pod object deleted with grace 0, as the kubelet's status manager does).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::apps::PodInfo;
use super::status::{self, Container};
use crate::cluster::Cluster;
use crate::controllers::write_pod_status;
use crate::exec::{ExecEnv, Process};
use crate::ops::{self, DeleteOpts, WriteCtx};
use crate::store::{Meta, key_of, now_rfc3339};

/// The tasks of one pod on the node; dropping it stops them.
pub struct PodRuntime {
    /// The pod's IP (returned to the pool on stop).
    pub ip: Ipv4Addr,
    stop: watch::Sender<Option<f64>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for PodRuntime {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl PodRuntime {
    /// Asks the pod to terminate within `grace` simulated seconds (a shorter grace later
    /// shortens it).
    pub fn terminate(&self, grace: f64) {
        self.stop.send_if_modified(|cur| match cur {
            Some(g) if *g <= grace => false,
            _ => {
                *cur = Some(grace);
                true
            }
        });
    }
}

/// What the pod's tasks share.
pub(super) struct PodCtx {
    pub cluster: Arc<Cluster>,
    pub pod: Value,
    pub ip: Ipv4Addr,
    pub started: String,
    pub init: Mutex<Vec<Container>>,
    pub containers: Mutex<Vec<Container>>,
    pub init_done: AtomicBool,
    pub changed: Notify,
    pub stop: watch::Receiver<Option<f64>>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl PodCtx {
    pub fn uid(&self) -> &str {
        Meta(&self.pod).uid()
    }

    pub fn name(&self) -> &str {
        Meta(&self.pod).name()
    }

    pub fn restart_policy(&self) -> &str {
        self.pod["spec"]["restartPolicy"]
            .as_str()
            .unwrap_or("Always")
    }

    /// The env a container's process (or its probes and hooks) runs in.
    pub fn exec_env(&self, spec: &Value, process: Process) -> ExecEnv {
        let ns = Meta(&self.pod).namespace();
        let hostname = self.pod["spec"]["hostname"].as_str().unwrap_or(self.name());
        let mut search = vec![
            format!("{ns}.svc.cluster.local"),
            "svc.cluster.local".into(),
            "cluster.local".into(),
        ];
        if let Some(sub) = self.pod["spec"]["subdomain"]
            .as_str()
            .filter(|s| !s.is_empty())
        {
            search.insert(0, format!("{sub}.{ns}.svc.cluster.local"));
        }
        ExecEnv {
            cluster: self.cluster.name.clone(),
            namespace: ns.to_string(),
            pod: hostname.to_string(),
            pod_ip: self.ip,
            image: spec["image"].as_str().unwrap_or("").to_string(),
            nameserver: self.cluster.dns_addr(),
            search,
            ndots: 5,
            net: self.cluster.net.clone() as Arc<dyn crate::net::Network>,
            process,
        }
    }

    pub fn info(&self, spec: &Value, vars: &[(String, String)]) -> PodInfo {
        PodInfo {
            cluster: self.cluster.name.clone(),
            zone: self.cluster.zone(),
            node: self.cluster.node_name(),
            pod: self.name().to_string(),
            namespace: Meta(&self.pod).namespace().to_string(),
            ip: self.ip.to_string(),
            service_account: self.pod["spec"]["serviceAccountName"]
                .as_str()
                .unwrap_or("default")
                .to_string(),
            image: spec["image"].as_str().unwrap_or("").to_string(),
            metadata: vars
                .iter()
                .rev()
                .find(|(k, _)| k == "METADATA")
                .map(|(_, v)| v.clone()),
        }
    }

    /// Updates one container's status (init or main) and schedules a status report.
    pub fn update(&self, init: bool, idx: usize, f: impl FnOnce(&mut Container)) {
        let list = if init { &self.init } else { &self.containers };
        if let Some(c) = lock(list).get_mut(idx) {
            f(c);
        }
        self.changed.notify_one();
    }

    /// The pod status now.
    pub fn status(&self) -> Value {
        let init = lock(&self.init).clone();
        let containers = lock(&self.containers).clone();
        let init_done = self.init_done.load(Ordering::SeqCst);
        let phase = status::phase(init_done, &containers, self.restart_policy());
        let ip = self.ip.to_string();
        let node_ip = self.cluster.node_ip().to_string();
        let mut st = json!({
            "phase": phase, "qosClass": "BestEffort", "startTime": self.started,
            "hostIP": node_ip, "hostIPs": [{"ip": node_ip}], "podIP": ip, "podIPs": [{"ip": ip}],
            "conditions": status::conditions(phase, &init, init_done, &containers),
            "containerStatuses": containers.iter().map(Container::to_json).collect::<Vec<_>>(),
        });
        if !init.is_empty() {
            st["initContainerStatuses"] =
                json!(init.iter().map(Container::to_json).collect::<Vec<_>>());
        }
        st
    }

    /// Writes the status now (the kubelet's sync after a container exited: the terminated
    /// state is reported before the restart decision changes it).
    pub fn report_now(&self) {
        write_pod_status(&self.cluster, &self.pod, &self.status());
    }

    /// Whether termination was requested.
    pub fn stopping(&self) -> Option<f64> {
        *self.stop.borrow()
    }
}

/// Test-binds the declared TCP ports on a fresh pod IP (another IP when one is taken by
/// another process on the machine).
fn sandbox_ip(cluster: &Cluster, pod: &Value) -> Option<Ipv4Addr> {
    let ports: Vec<u16> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["ports"].as_array().cloned().unwrap_or_default())
        .filter(|p| p["protocol"].as_str().unwrap_or("TCP") == "TCP")
        .filter_map(|p| {
            p["containerPort"]
                .as_u64()
                .and_then(|n| u16::try_from(n).ok())
        })
        .collect();
    for _ in 0..8 {
        let ip = cluster.plan.allocate_pod_ip().ok()?;
        let free = ports
            .iter()
            .all(|p| std::net::TcpListener::bind(SocketAddr::new(IpAddr::V4(ip), *p)).is_ok());
        if free {
            return Some(ip);
        }
        cluster.plan.release_pod_ip(ip);
    }
    None
}

/// Starts a pod: sandbox IP, status reporter, containers. None when no IP could be had.
pub fn start(cluster: &Arc<Cluster>, pod: &Value) -> Option<PodRuntime> {
    let ip = sandbox_ip(cluster, pod)?;
    let (stop_tx, stop_rx) = watch::channel(None);
    let specs = |f: &str| -> Vec<Container> {
        pod["spec"][f]
            .as_array()
            .into_iter()
            .flatten()
            .map(Container::new)
            .collect()
    };
    let init = specs("initContainers");
    let ctx = Arc::new(PodCtx {
        cluster: cluster.clone(),
        pod: pod.clone(),
        ip,
        started: now_rfc3339(),
        init_done: AtomicBool::new(init.is_empty()),
        init: Mutex::new(init),
        containers: Mutex::new(specs("containers")),
        changed: Notify::new(),
        stop: stop_rx,
    });
    let reporter = tokio::spawn(report(ctx.clone()));
    let supervisor = tokio::spawn(supervise(ctx));
    Some(PodRuntime {
        ip,
        stop: stop_tx,
        tasks: vec![reporter, supervisor],
    })
}

/// Writes the pod status whenever a container changes.
async fn report(ctx: Arc<PodCtx>) {
    loop {
        write_pod_status(&ctx.cluster, &ctx.pod, &ctx.status());
        ctx.changed.notified().await;
    }
}

/// Runs init containers in order, then the main containers, then finishes the pod.
async fn supervise(ctx: Arc<PodCtx>) {
    let n_init = lock(&ctx.init).len();
    let mut ok = true;
    for i in 0..n_init {
        ok = super::container::run(ctx.clone(), true, i).await;
        if !ok {
            break;
        }
    }
    if ok && ctx.stopping().is_none() {
        ctx.init_done.store(true, Ordering::SeqCst);
        ctx.changed.notify_one();
        let n = lock(&ctx.containers).len();
        let tasks: Vec<_> = (0..n)
            .map(|i| tokio::spawn(super::container::run(ctx.clone(), false, i)))
            .collect();
        for t in tasks {
            let _ = t.await;
        }
    } else if !ok {
        // An init container failed for good (restartPolicy Never): the pod fails.
        let n = lock(&ctx.containers).len();
        for i in 0..n {
            ctx.update(false, i, |c| {
                c.state = status::State::waiting("PodInitializing", None);
            });
        }
    }
    let mut stop = ctx.stop.clone();
    if ctx.stopping().is_none() {
        // Completed (Never/OnFailure): the final status stays until the pod is deleted.
        write_pod_status(&ctx.cluster, &ctx.pod, &ctx.status());
        if !super::supervise::stopped(&mut stop).await {
            return; // the runtime was dropped (the pod finished or went): nothing to delete
        }
    }
    write_pod_status(&ctx.cluster, &ctx.pod, &ctx.status());
    finalize(&ctx);
}

/// The kubelet's final delete of a terminated pod (grace 0, uid precondition).
fn finalize(ctx: &PodCtx) {
    let Some(def) = ctx.cluster.builtin("", "pods") else {
        return;
    };
    let w = WriteCtx::controller(&ctx.cluster, &def, "kubelet");
    let opts = DeleteOpts {
        uid: Some(ctx.uid().to_string()),
        grace: Some(0),
        ..DeleteOpts::default()
    };
    let _ = ops::delete(&w, &key_of(&ctx.pod), &opts);
}

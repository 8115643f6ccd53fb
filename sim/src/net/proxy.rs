//! The Service proxy of a cluster (kube-proxy's job, for clients on the host): a TCP
//! listener on every Service VIP:port that forwards each connection to a ready endpoint,
//! round-robin, as the fleet network routes it. Pods do not need it — their connections are
//! routed in-process with their cluster as the source — but `curl VIP` from the host works.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinHandle;

use crate::cluster::Cluster;
use crate::controllers::Controller;
use crate::store::{EventType, ObjKey, ResKey, StoreEvent};

/// Listeners per Service.
pub struct ServiceProxy {
    cluster: Arc<Cluster>,
    services: HashMap<ObjKey, Vec<(SocketAddr, JoinHandle<()>)>>,
}

impl ServiceProxy {
    /// A proxy for `cluster`'s Services.
    pub fn new(cluster: Arc<Cluster>) -> Self {
        Self {
            cluster,
            services: HashMap::new(),
        }
    }

    fn desired(&self, svc: &Value) -> Vec<SocketAddr> {
        let Some(ip) = svc["spec"]["clusterIP"]
            .as_str()
            .and_then(|s| s.parse::<Ipv4Addr>().ok())
        else {
            return Vec::new();
        };
        if ip == self.cluster.plan.dns_ip() || !self.cluster.plan.is_service_ip(ip) {
            return Vec::new();
        }
        svc["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["protocol"].as_str().is_none_or(|x| x == "TCP"))
            .filter_map(|p| p["port"].as_u64().and_then(|n| u16::try_from(n).ok()))
            .map(|port| SocketAddr::new(IpAddr::V4(ip), port))
            .collect()
    }

    fn sync(&mut self, key: ObjKey, want: Vec<SocketAddr>) {
        let mut current = self.services.remove(&key).unwrap_or_default();
        current.retain(|(addr, task)| {
            let keep = want.contains(addr);
            if !keep {
                task.abort();
            }
            keep
        });
        for addr in want {
            if current.iter().any(|(a, _)| *a == addr) {
                continue;
            }
            if let Some(task) = listen(self.cluster.clone(), addr) {
                current.push((addr, task));
            }
        }
        if !current.is_empty() {
            self.services.insert(key, current);
        }
    }
}

impl Drop for ServiceProxy {
    fn drop(&mut self) {
        for (_, t) in self.services.values().flatten() {
            t.abort();
        }
    }
}

fn listen(cluster: Arc<Cluster>, addr: SocketAddr) -> Option<JoinHandle<()>> {
    let std = std::net::TcpListener::bind(addr).ok()?;
    std.set_nonblocking(true).ok()?;
    let listener = tokio::net::TcpListener::from_std(std).ok()?;
    let IpAddr::V4(vip) = addr.ip() else {
        return None;
    };
    Some(tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let cluster = cluster.clone();
            tokio::spawn(async move {
                let Some(target) = cluster.net.pick_endpoint(&cluster, vip, addr.port()) else {
                    return; // no ready endpoint: the connection is closed, as with REJECT
                };
                if let Ok(mut outbound) = cluster
                    .net
                    .connect_from_host(target, Duration::from_secs(10))
                    .await
                {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    }))
}

impl Controller for ServiceProxy {
    fn on_event(&mut self, _cluster: &Cluster, ev: &StoreEvent) {
        if ev.res != ResKey::new("", "services") {
            return;
        }
        let want = match ev.kind {
            EventType::Deleted => Vec::new(),
            _ => self.desired(&ev.object),
        };
        self.sync(ev.key.clone(), want);
    }

    fn resync(&mut self, _cluster: &Cluster) {
        let svcs = self
            .cluster
            .store
            .list(&ResKey::new("", "services"), None, None, 0, &|_| true)
            .items;
        let live: Vec<ObjKey> = svcs.iter().map(|s| crate::store::key_of(s)).collect();
        let gone: Vec<ObjKey> = self
            .services
            .keys()
            .filter(|k| !live.contains(k))
            .cloned()
            .collect();
        for k in gone {
            self.sync(k, Vec::new());
        }
        for s in svcs {
            let want = self.desired(&s);
            self.sync(crate::store::key_of(&s), want);
        }
    }
}

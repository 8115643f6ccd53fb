//! The Service proxy of a cluster (kube-proxy's job, for clients on the host): a TCP
//! listener on every Service VIP:port that forwards each connection to a ready endpoint,
//! round-robin, as the fleet network routes it, and a UDP socket on every `UDP` port that
//! relays datagrams per client (a conntrack-like session to one endpoint). Pods do not need
//! it — their traffic is routed in-process with their cluster as the source — but `curl VIP`
//! and `nc -u VIP PORT` from the host work.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinHandle;

use crate::cluster::Cluster;
use crate::controllers::Controller;
use crate::store::{EventType, ObjKey, ResKey, StoreEvent};

/// One VIP listener: address and protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Listen {
    addr: SocketAddr,
    udp: bool,
}

/// How long a UDP session to an endpoint is kept without traffic (conntrack's UDP timeout
/// is 30 s; the relay's socket closes after this much real time).
const UDP_IDLE: Duration = Duration::from_secs(30);

/// Listeners per Service.
pub struct ServiceProxy {
    cluster: Arc<Cluster>,
    services: HashMap<ObjKey, Vec<(Listen, JoinHandle<()>)>>,
}

impl ServiceProxy {
    /// A proxy for `cluster`'s Services.
    pub fn new(cluster: Arc<Cluster>) -> Self {
        Self {
            cluster,
            services: HashMap::new(),
        }
    }

    fn desired(&self, svc: &Value) -> Vec<Listen> {
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
            .filter_map(|p| {
                let udp = match p["protocol"].as_str().unwrap_or("TCP") {
                    "TCP" => false,
                    "UDP" => true,
                    _ => return None,
                };
                let port = p["port"].as_u64().and_then(|n| u16::try_from(n).ok())?;
                Some(Listen {
                    addr: SocketAddr::new(IpAddr::V4(ip), port),
                    udp,
                })
            })
            .collect()
    }

    fn sync(&mut self, key: ObjKey, want: Vec<Listen>) {
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
            let task = match addr.udp {
                false => listen(self.cluster.clone(), addr.addr),
                true => listen_udp(self.cluster.clone(), addr.addr),
            };
            if let Some(task) = task {
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
                let Some(target) = cluster.net.pick_endpoint(&cluster, vip, addr.port(), "TCP")
                else {
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

/// Relays datagrams to `addr` (a UDP VIP port): each client gets a session socket to one
/// ready endpoint; replies go back to the client from the VIP, as with kube-proxy's DNAT.
fn listen_udp(cluster: Arc<Cluster>, addr: SocketAddr) -> Option<JoinHandle<()>> {
    let std = std::net::UdpSocket::bind(addr).ok()?;
    std.set_nonblocking(true).ok()?;
    let sock = Arc::new(tokio::net::UdpSocket::from_std(std).ok()?);
    let IpAddr::V4(vip) = addr.ip() else {
        return None;
    };
    Some(tokio::spawn(async move {
        let mut sessions: HashMap<SocketAddr, Arc<tokio::net::UdpSocket>> = HashMap::new();
        let mut buf = vec![0u8; 65_536];
        while let Ok((n, client)) = sock.recv_from(&mut buf).await {
            sessions.retain(|_, s| Arc::strong_count(s) > 1);
            let session = match sessions.get(&client) {
                Some(s) => s.clone(),
                None => {
                    let Some(target) = cluster.net.pick_endpoint(&cluster, vip, addr.port(), "UDP")
                    else {
                        continue; // no endpoint: dropped (kube-proxy REJECTs)
                    };
                    let Ok(up) = cluster.net.udp_from_host(target).await else {
                        continue;
                    };
                    let up = Arc::new(up);
                    sessions.insert(client, up.clone());
                    tokio::spawn(relay_back(up.clone(), sock.clone(), client));
                    up
                }
            };
            let _ = session.send(&buf[..n]).await;
        }
    }))
}

/// Copies an endpoint's replies back to the client until the session is idle.
async fn relay_back(
    up: Arc<tokio::net::UdpSocket>,
    down: Arc<tokio::net::UdpSocket>,
    client: SocketAddr,
) {
    let mut buf = vec![0u8; 65_536];
    while let Ok(Ok(n)) = tokio::time::timeout(UDP_IDLE, up.recv(&mut buf)).await {
        if down.send_to(&buf[..n], client).await.is_err() {
            break;
        }
    }
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

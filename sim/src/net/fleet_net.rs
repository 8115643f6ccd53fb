//! The fleet's network: flat pod-to-pod routing across clusters (VPC-native), Service VIPs
//! reachable only inside their own cluster and balanced round-robin over ready endpoints
//! (as kube-proxy does), partitions installed by faults, and no egress: an address that no
//! cluster of the fleet owns gets no route (connections time out; nothing is dialled).

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use serde_json::Value;
use tokio::net::{TcpStream, UdpSocket};

use super::{BoxFuture, Network};
use crate::cluster::Cluster;
use crate::store::ResKey;

/// A partition: `cluster` cannot exchange traffic with `peers` (both directions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    /// Who installed it (a Fault's name), for removal.
    pub owner: String,
    /// One side.
    pub cluster: String,
    /// The other side.
    pub peers: Vec<String>,
    /// Only connections to pods in these namespaces are cut (empty: every connection). A
    /// simulation choice, so that runs sharing a fleet break only their own traffic.
    pub namespaces: Vec<String>,
}

/// Opens the real sockets of the simulated network. Only ever asked for fleet addresses
/// (inside 127.0.0.0/8); tests install a recording dialer to prove it.
pub trait Dialer: Send + Sync {
    /// A TCP connection to `addr`.
    fn tcp(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<TcpStream>>;
    /// A UDP socket connected to `addr`.
    fn udp(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<UdpSocket>>;
}

/// The operating system's sockets, refusing anything outside loopback.
pub struct SystemDialer;

fn not_loopback(addr: SocketAddr) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("mcs-sim never connects outside 127.0.0.0/8 (asked for {addr})"),
    )
}

impl Dialer for SystemDialer {
    fn tcp(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<TcpStream>> {
        Box::pin(async move {
            if !addr.ip().is_loopback() {
                return Err(not_loopback(addr));
            }
            TcpStream::connect(addr).await
        })
    }

    fn udp(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<UdpSocket>> {
        Box::pin(async move {
            if !addr.ip().is_loopback() {
                return Err(not_loopback(addr));
            }
            let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
            sock.connect(addr).await?;
            Ok(sock)
        })
    }
}

/// Routing state shared by every cluster of a fleet.
pub struct FleetNet {
    clusters: RwLock<Vec<Weak<Cluster>>>,
    partitions: RwLock<Vec<Partition>>,
    round_robin: Mutex<HashMap<(Ipv4Addr, u16, String), usize>>,
    dialer: Arc<dyn Dialer>,
}

impl Default for FleetNet {
    fn default() -> Self {
        Self::with_dialer(Arc::new(SystemDialer))
    }
}

fn timed_out(addr: SocketAddr) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("connection to {addr} timed out"),
    )
}

/// Where a packet from a pod goes: a real address to dial, or nowhere.
enum Route {
    To(SocketAddr),
    Unroutable,
    Refused(&'static str),
}

impl FleetNet {
    /// A network whose sockets come from `dialer` (tests record what would be dialled).
    pub fn with_dialer(dialer: Arc<dyn Dialer>) -> Self {
        Self {
            clusters: RwLock::default(),
            partitions: RwLock::default(),
            round_robin: Mutex::default(),
            dialer,
        }
    }

    /// Adds a cluster to the routing table.
    pub fn register(&self, cluster: &Arc<Cluster>) {
        let mut c = self.clusters.write().unwrap_or_else(|e| e.into_inner());
        c.retain(|w| w.strong_count() > 0);
        c.push(Arc::downgrade(cluster));
    }

    fn live(&self) -> Vec<Arc<Cluster>> {
        let c = self.clusters.read().unwrap_or_else(|e| e.into_inner());
        c.iter().filter_map(Weak::upgrade).collect()
    }

    /// The cluster whose address plan owns `ip`.
    pub fn owner_of(&self, ip: Ipv4Addr) -> Option<Arc<Cluster>> {
        self.live().into_iter().find(|c| c.plan.owns(ip))
    }

    /// Whether `ip` is an API server of the fleet (reachable, as the `kubernetes` Service's
    /// endpoint is from a cluster's pods).
    fn is_api_server(&self, ip: Ipv4Addr) -> bool {
        self.live().iter().any(|c| c.addr.ip() == IpAddr::V4(ip))
    }

    /// Installs a partition.
    pub fn add_partition(&self, p: Partition) {
        self.partitions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(p);
    }

    /// Removes the partitions installed by `owner`.
    pub fn remove_partitions(&self, owner: &str) {
        self.partitions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|p| p.owner != owner);
    }

    /// Whether traffic between clusters `a` and `b` is blocked; `namespace` tells, when a
    /// partition is scoped, the namespace of the destination pod (looked up only then).
    pub fn blocked(&self, a: &str, b: &str, namespace: impl FnOnce() -> Option<String>) -> bool {
        let ps = self.partitions.read().unwrap_or_else(|e| e.into_inner());
        let mut matching = ps.iter().filter(|p| {
            (p.cluster == a && p.peers.iter().any(|x| x == b))
                || (p.cluster == b && p.peers.iter().any(|x| x == a))
        });
        let mut scopes = Vec::new();
        for p in matching.by_ref() {
            if p.namespaces.is_empty() {
                return true;
            }
            scopes.push(&p.namespaces);
        }
        if scopes.is_empty() {
            return false;
        }
        let Some(ns) = namespace() else {
            return false;
        };
        scopes.iter().any(|s| s.contains(&ns))
    }

    /// The endpoint a connection to Service VIP `vip:port/proto` of `cluster` goes to,
    /// round-robin over ready addresses of the Service's EndpointSlices.
    pub fn pick_endpoint(
        &self,
        cluster: &Cluster,
        vip: Ipv4Addr,
        port: u16,
        proto: &str,
    ) -> Option<SocketAddr> {
        let candidates = service_backends(cluster, vip, port, proto);
        if candidates.is_empty() {
            return None;
        }
        let mut rr = self.round_robin.lock().unwrap_or_else(|e| e.into_inner());
        let n = rr.entry((vip, port, proto.to_string())).or_insert(0);
        let pick = candidates[*n % candidates.len()];
        *n = n.wrapping_add(1);
        Some(pick)
    }

    /// Routes one hop (VIPs are translated, then partitions applied).
    fn route(&self, from: Option<&str>, addr: SocketAddr, proto: &str, hops: u8) -> Route {
        let IpAddr::V4(ip) = addr.ip() else {
            return Route::Unroutable;
        };
        let Some(owner) = self.owner_of(ip) else {
            return if self.is_api_server(ip) {
                Route::To(addr)
            } else {
                Route::Unroutable
            };
        };
        if owner.plan.is_service_ip(ip) && ip != owner.plan.dns_ip() && hops == 0 {
            // ClusterIPs are virtual and local to their cluster (not routed across the VPC).
            if from.is_some_and(|f| f != owner.name) {
                return Route::Unroutable;
            }
            return match self.pick_endpoint(&owner, ip, addr.port(), proto) {
                Some(target) => self.route(from, target, proto, 1),
                None => Route::Refused("no ready endpoints"),
            };
        }
        if from.is_some_and(|f| self.blocked(f, &owner.name, || pod_namespace(&owner, ip))) {
            return Route::Unroutable;
        }
        Route::To(addr)
    }

    async fn connect_to(
        &self,
        from: Option<&str>,
        addr: SocketAddr,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        match self.route(from, addr, "TCP", 0) {
            Route::To(target) => match tokio::time::timeout(timeout, self.dialer.tcp(target)).await
            {
                Ok(r) => r,
                Err(_) => Err(timed_out(addr)),
            },
            Route::Refused(why) => Err(io::Error::new(io::ErrorKind::ConnectionRefused, why)),
            Route::Unroutable => {
                tokio::time::sleep(timeout).await;
                Err(timed_out(addr))
            }
        }
    }

    /// A connection from outside any cluster (the host), e.g. through a VIP listener.
    pub async fn connect_from_host(
        &self,
        addr: SocketAddr,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        self.connect_to(None, addr, timeout).await
    }

    /// A UDP socket from the host to a fleet address (e.g. a VIP listener's backend).
    pub async fn udp_from_host(&self, addr: SocketAddr) -> io::Result<UdpSocket> {
        self.udp_to(None, addr, Duration::ZERO).await
    }

    async fn udp_to(
        &self,
        from: Option<&str>,
        addr: SocketAddr,
        timeout: Duration,
    ) -> io::Result<UdpSocket> {
        match self.route(from, addr, "UDP", 0) {
            Route::To(target) => self.dialer.udp(target).await,
            // A UDP Service without endpoints: kube-proxy REJECTs with ICMP port unreachable.
            Route::Refused(why) => Err(io::Error::new(io::ErrorKind::ConnectionRefused, why)),
            Route::Unroutable => {
                tokio::time::sleep(timeout).await;
                Err(timed_out(addr))
            }
        }
    }
}

impl Network for FleetNet {
    fn connect<'a>(
        &'a self,
        from_cluster: &'a str,
        addr: SocketAddr,
        timeout: Duration,
    ) -> BoxFuture<'a, io::Result<TcpStream>> {
        Box::pin(self.connect_to(Some(from_cluster), addr, timeout))
    }

    fn udp<'a>(
        &'a self,
        from_cluster: &'a str,
        addr: SocketAddr,
        timeout: Duration,
    ) -> BoxFuture<'a, io::Result<UdpSocket>> {
        Box::pin(self.udp_to(Some(from_cluster), addr, timeout))
    }
}

/// The namespace of the pod with IP `ip` in `cluster`, if one has it.
fn pod_namespace(cluster: &Cluster, ip: Ipv4Addr) -> Option<String> {
    let ip = ip.to_string();
    let page = cluster
        .store
        .list(&ResKey::new("", "pods"), None, None, 1, &|p| {
            p["status"]["podIP"] == ip.as_str()
        });
    page.items
        .first()
        .and_then(|p| p["metadata"]["namespace"].as_str().map(str::to_string))
}

/// Ready backends of the Service with ClusterIP `vip` serving `port`/`proto`.
fn service_backends(cluster: &Cluster, vip: Ipv4Addr, port: u16, proto: &str) -> Vec<SocketAddr> {
    let services = ResKey::new("", "services");
    let vip_s = vip.to_string();
    let page = cluster.store.list(&services, None, None, 0, &|s| {
        s["spec"]["clusterIP"] == vip_s.as_str()
    });
    let Some(svc) = page.items.first() else {
        return Vec::new();
    };
    let Some(sp) = svc["spec"]["ports"].as_array().and_then(|ps| {
        ps.iter()
            .find(|p| p["port"] == port && p["protocol"].as_str().unwrap_or("TCP") == proto)
    }) else {
        return Vec::new();
    };
    let port_name = sp["name"].as_str().unwrap_or("");
    let ns = svc["metadata"]["namespace"].as_str().unwrap_or("");
    let name = svc["metadata"]["name"].as_str().unwrap_or("");
    // kube-proxy reads EndpointSlices: the Service's own (selector), mirrored ones
    // (selectorless with Endpoints), and those an MCS importer writes for derived Services.
    let slices = cluster.store.list(
        &ResKey::new("discovery.k8s.io", "endpointslices"),
        Some(ns),
        None,
        0,
        &|s| s["metadata"]["labels"]["kubernetes.io/service-name"] == name,
    );
    let mut out: Vec<SocketAddr> = slices
        .items
        .iter()
        .flat_map(|s| slice_backends(s, port_name, proto))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Ready `address:port` pairs of one EndpointSlice for the Service port named `port_name`.
/// Matched by name and protocol only, as kube-proxy does (its EndpointSlice cache keys
/// endpoints by `ServicePortName`: a fact): a slice whose ports carry other names gives the
/// Service port no backends, which is what keeps a cluster whose port lost an MCS port
/// conflict out of that port's traffic (KEP-1645 #service-port).
fn slice_backends(slice: &Value, port_name: &str, proto: &str) -> Vec<SocketAddr> {
    let ports = slice["ports"].as_array().cloned().unwrap_or_default();
    let same_proto = |p: &&Value| p["protocol"].as_str().unwrap_or("TCP") == proto;
    let port = ports
        .iter()
        .filter(same_proto)
        .find(|p| p["name"].as_str().unwrap_or("") == port_name)
        .and_then(|p| p["port"].as_u64())
        .and_then(|p| u16::try_from(p).ok());
    let Some(port) = port else { return Vec::new() };
    slice["endpoints"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["conditions"]["ready"] != false)
        .filter_map(|e| e["addresses"][0].as_str()?.parse::<Ipv4Addr>().ok())
        .map(|ip| SocketAddr::new(IpAddr::V4(ip), port))
        .collect()
}

//! What a command running inside a simulated pod sees: its identity, resolver configuration
//! and network.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use crate::net::Network;

/// The environment of one exec'd command.
#[derive(Clone)]
pub struct ExecEnv {
    /// Cluster the pod runs in.
    pub cluster: String,
    /// Pod namespace.
    pub namespace: String,
    /// Pod name (also its hostname).
    pub pod: String,
    /// Pod IP.
    pub pod_ip: Ipv4Addr,
    /// Image of the container exec'd into (decides which tools exist: busybox, curl, netshoot).
    pub image: String,
    /// The cluster DNS server (kube-dns ClusterIP, port 53).
    pub nameserver: SocketAddr,
    /// resolv.conf search list, e.g. `["app.svc.cluster.local", "svc.cluster.local", "cluster.local"]`.
    pub search: Vec<String>,
    /// resolv.conf `ndots`.
    pub ndots: u8,
    /// The network, as seen from this pod's cluster.
    pub net: Arc<dyn Network>,
}

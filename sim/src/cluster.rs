//! One simulated cluster: its name, object store, served resources and identities.

use std::net::SocketAddr;
use std::time::Instant;

use std::sync::Arc;

use crate::api::Auth;
use crate::net::{AddressPlan, FleetNet};
use crate::registry::{Registry, ResourceDef};
use crate::store::{ResKey, Store};

/// Everything one simulated cluster holds.
pub struct Cluster {
    /// Cluster name (= kubeconfig context name).
    pub name: String,
    /// All objects.
    pub store: Store,
    /// Served resources.
    pub registry: Registry,
    /// Tokens and deny rules.
    pub auth: Auth,
    /// Where its API server listens.
    pub addr: SocketAddr,
    /// When it started.
    pub started: Instant,
    /// Its pod and Service address ranges.
    pub plan: AddressPlan,
    /// The fleet's network (routing, partitions).
    pub net: Arc<FleetNet>,
    /// How fast kubelet and controller timers run (the sim compresses time).
    pub time: crate::timescale::TimeScale,
    /// The node's containers (logs, files) and pulled images.
    pub node_io: crate::kubelet::NodeIo,
    /// Events written, for aggregation of repeats.
    pub events: crate::events::Recorder,
    /// Whether Fault objects take effect (the fleet serves the Fault API).
    pub faults: bool,
    /// The cluster DNS server's fault switch.
    pub dns: Arc<crate::dns::DnsControl>,
    /// Injected API failures (faults).
    pub api_faults: crate::faults::ApiFaults,
    dns_addr: std::sync::OnceLock<SocketAddr>,
}

impl Cluster {
    /// A new cluster with only built-in resources and no objects, alone on its own network
    /// with addresses `127.250.x.y` (tests); fleets use [`Cluster::with_network`].
    pub fn new(name: &str, addr: SocketAddr, event_log: usize) -> Self {
        Self::with_network(name, addr, event_log, AddressPlan::new(250), Arc::default())
    }

    /// A new cluster with an address plan, on a fleet network.
    pub fn with_network(
        name: &str,
        addr: SocketAddr,
        event_log: usize,
        plan: AddressPlan,
        net: Arc<FleetNet>,
    ) -> Self {
        Self {
            name: name.to_string(),
            store: Store::new(event_log),
            registry: Registry::with_builtins(),
            auth: Auth::default(),
            addr,
            started: Instant::now(),
            plan,
            net,
            time: crate::timescale::TimeScale::default(),
            node_io: crate::kubelet::NodeIo::default(),
            events: crate::events::Recorder::default(),
            faults: true,
            dns: Arc::default(),
            api_faults: crate::faults::ApiFaults::default(),
            dns_addr: std::sync::OnceLock::new(),
        }
    }

    /// Records where the cluster DNS server listens (once, at start).
    pub fn set_dns_addr(&self, addr: SocketAddr) {
        let _ = self.dns_addr.set(addr);
    }

    /// Where pods send DNS queries: the DNS server's address (kube-dns ClusterIP, port 53
    /// when the process may bind it).
    pub fn dns_addr(&self) -> SocketAddr {
        self.dns_addr
            .get()
            .copied()
            .unwrap_or_else(|| SocketAddr::from((self.plan.dns_ip(), 53)))
    }

    /// The zone of the cluster's node (`topology.kubernetes.io/zone`).
    pub fn zone(&self) -> String {
        format!("{}-zone-a", self.name)
    }

    /// The node's InternalIP (in the pod range, outside what pods are given).
    pub fn node_ip(&self) -> std::net::Ipv4Addr {
        std::net::Ipv4Addr::new(127, self.plan.octet(), 127, 254)
    }

    /// The node every pod of this cluster is scheduled to.
    pub fn node_name(&self) -> String {
        format!("{}-node", self.name)
    }

    /// The preferred served definition of a storage resource.
    pub fn def_for(&self, res: &ResKey) -> Option<ResourceDef> {
        self.registry.for_storage(res).into_iter().next()
    }

    /// The definition of a built-in resource by group and plural (`("apps", "deployments")`).
    pub fn builtin(&self, group: &str, plural: &str) -> Option<ResourceDef> {
        self.def_for(&ResKey::new(group, plural))
    }
}

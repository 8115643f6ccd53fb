//! The importer controller: watches every fleet cluster (one `kube::Client` each) and keeps
//! MCS objects in line with the ServiceExports, per flavour (DESIGN §4, §6).
//!
//! Reflectors cache exports, Services, Endpoints and Namespaces of each cluster; any change
//! enqueues the (namespace, name) it concerns; a worker reconciles each key idempotently
//! from the caches and writes with server-side apply. Watch errors per cluster and resource
//! (e.g. 403 reading endpoints) are remembered so a reconcile can report them where users
//! look: a Warning Event and the export's conditions.
//!
//! A reconcile that meets an API error (a failed read or write) reports
//! [`Outcome::Retry`] and its key is queued again with a backoff: the API server raises no
//! event for a request of ours that failed, so nothing else would bring the key back.

mod cache;
mod dns;
mod gke;
mod lease;
mod queue;
mod ready;
mod run;
mod upstream;
mod write;

pub use cache::{ClusterCache, ClusterConn};
pub use dns::DnsRecordsTarget;
pub use queue::Key;
pub use ready::READY_PATH;
pub use run::Importer;

use std::sync::Arc;
use std::time::Duration;

pub use crate::flavour::Flavour;

/// The GKE fleet the GKE flavour plays: where its memberships live, and the VPC network its
/// services are exported from. Real GKE takes these from the fleet host project; the defaults
/// are a **simulation choice** (documented in the README: `sim up --gke-project-number`,
/// `--gke-location`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GkeFleet {
    /// Fleet host project number (`net.gke.io/export-project`, membership resource names).
    pub project_number: String,
    /// Location of the memberships (`us-central1`, or `global`).
    pub location: String,
    /// VPC network name (`net.gke.io/export-network`).
    pub network: String,
}

/// Default fleet host project number of the simulated GKE fleet.
pub const DEFAULT_GKE_PROJECT_NUMBER: &str = "123456789012";
/// Default membership location of the simulated GKE fleet.
pub const DEFAULT_GKE_LOCATION: &str = "us-central1";
/// Default VPC network of the simulated GKE fleet.
pub const DEFAULT_GKE_NETWORK: &str = "default";

impl Default for GkeFleet {
    fn default() -> Self {
        Self {
            project_number: DEFAULT_GKE_PROJECT_NUMBER.into(),
            location: DEFAULT_GKE_LOCATION.into(),
            network: DEFAULT_GKE_NETWORK.into(),
        }
    }
}

impl GkeFleet {
    /// The membership resource name of `cluster` (its membership is named after it: a
    /// simulation choice), as GKE writes it into `status.clusters[].cluster`.
    pub fn membership_resource(&self, cluster: &str) -> String {
        crate::types::gke::membership_resource(&self.project_number, &self.location, cluster)
    }
}

/// How the importer behaves.
#[derive(Clone, Debug)]
pub struct ImporterConfig {
    /// GKE flavour: the fleet's project number, location and network.
    pub gke: GkeFleet,
    /// GKE flavour: keep a `gke-mcs-importer` Deployment in `gke-mcs` whose readiness probe
    /// asks this process over loopback (`ready`). Only where the clusters' kubelets share
    /// this host's loopback: the embedded fleet (on kind, 127.0.0.1 is the node's own).
    pub importer_deployment: bool,
    /// Flavour.
    pub flavour: Flavour,
    /// Wait this long after a change before acting (GKE takes minutes).
    pub propagation_delay: Duration,
    /// Namespace of the Lease (and of the importer on GKE).
    pub lease_namespace: String,
    /// Lease name.
    pub lease_name: String,
    /// Holder identity written into the Lease.
    pub identity: String,
    /// Lease renewal period.
    pub renew_every: Duration,
    /// GKE flavour: keep `clusterset.local` records of every ServiceImport in this
    /// ConfigMap's Corefile in each cluster (kind, k3s: CoreDNS serves them). `None`: off
    /// (the embedded fleet answers `clusterset.local` itself).
    pub dns_records: Option<DnsRecordsTarget>,
}

impl Default for ImporterConfig {
    fn default() -> Self {
        Self {
            gke: GkeFleet::default(),
            importer_deployment: false,
            flavour: Flavour::Gke,
            propagation_delay: Duration::ZERO,
            lease_namespace: "gke-mcs".into(),
            lease_name: "gke-mcs-importer".into(),
            identity: format!("mcs-importer-{}", std::process::id()),
            renew_every: Duration::from_secs(2),
            dns_records: None,
        }
    }
}

/// Shared state of a running importer.
pub struct Shared {
    /// Configuration.
    pub cfg: ImporterConfig,
    /// Caches per cluster, in configuration order.
    pub clusters: tokio::sync::RwLock<Vec<Arc<ClusterCache>>>,
    /// Work queue (retries failed reconciles with a backoff).
    pub queue: queue::Queue,
    /// Hash of the last intent written per (cluster, namespace, name): an unchanged intent
    /// is not written again (cleared at every full resync).
    pub applied: std::sync::Mutex<std::collections::HashMap<(String, String, String), u64>>,
    /// When each cluster last answered (the readiness of the `gke-mcs-importer` pods).
    pub reachability: ready::Reachability,
    /// Where the readiness endpoint listens (`None`: not serving, no Deployment written).
    pub ready_addr: Option<std::net::SocketAddr>,
}

/// How a reconcile ended.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every read and write succeeded: the clusters hold the intent.
    Done,
    /// Something failed (or could not be read): reconcile the key again after a backoff.
    Retry,
}

impl Outcome {
    /// `Done` when `ok`, else `Retry`.
    pub fn from_ok(ok: bool) -> Self {
        if ok { Outcome::Done } else { Outcome::Retry }
    }
}

impl Shared {
    /// True when `intent` for (cluster, ns, name) differs from what was last written.
    pub fn changed(&self, cluster: &str, ns: &str, name: &str, intent: &serde_json::Value) -> bool {
        let a = self.applied.lock().unwrap_or_else(|e| e.into_inner());
        a.get(&(cluster.to_string(), ns.to_string(), name.to_string())) != Some(&hash(intent))
    }

    /// Remembers that `intent` was written; `None` forgets it.
    pub fn mark_applied(
        &self,
        cluster: &str,
        ns: &str,
        name: &str,
        intent: Option<&serde_json::Value>,
    ) {
        let mut a = self.applied.lock().unwrap_or_else(|e| e.into_inner());
        let key = (cluster.to_string(), ns.to_string(), name.to_string());
        match intent {
            Some(i) => a.insert(key, hash(i)),
            None => a.remove(&key),
        };
    }
}

fn hash(v: &serde_json::Value) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.to_string().hash(&mut h);
    h.finish()
}

//! What the doctor knows about one service across the fleet: plain values read from the
//! clusters (by `gather` and `probes`) and judged by the pure `judge`. Kept free of kube
//! types so unit tests can build any situation by hand.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::Timestamp;
use mcs_importer::Flavour;

use super::profile::Implementation;

use crate::probe::{DnsResult, HttpResult};

/// Everything read about `namespace/service`, one entry per cluster in target order.
#[derive(Clone, Debug)]
pub struct Facts {
    /// Which MCS API the fleet speaks.
    pub flavour: Flavour,
    /// Namespace of the Service.
    pub namespace: String,
    /// Name of the Service (and of its export and import).
    pub service: String,
    /// When the facts were read (ages are measured against it).
    pub now: Timestamp,
    /// Per cluster.
    pub clusters: Vec<ClusterFacts>,
    /// GKE fleet membership name → logical cluster name (`--membership NAME=CONTEXT`,
    /// `gcloud container fleet memberships list`, `gke_PROJECT_LOCATION_CLUSTER` contexts).
    /// A membership named like a cluster maps to it without an entry here.
    pub memberships: BTreeMap<String, String>,
    /// The cluster the user consumes the service from (`--from`), if named.
    pub consumer: Option<String>,
    /// Upstream: the implementation profile to judge by (`--implementation`); `None`:
    /// detected from the objects (`profile::choose`).
    pub implementation: Option<Implementation>,
}

impl Facts {
    /// The logical cluster a `status.clusters[].cluster` entry names: a GKE membership
    /// resource name (`projects/N/locations/L/memberships/M`) through [`Self::memberships`]
    /// or a cluster named `M`; any other entry as itself. `None`: a membership nobody mapped.
    pub fn cluster_of_entry(&self, entry: &str) -> Option<String> {
        let Some(m) = mcs_importer::types::gke::membership_of(entry) else {
            return Some(entry.to_string());
        };
        if let Some(c) = self.memberships.get(m) {
            return Some(c.clone());
        }
        self.clusters
            .iter()
            .any(|c| c.name == m)
            .then(|| m.to_string())
    }

    /// Whether no cluster holds a ServiceImport other than this service's (the first MCS
    /// service of a fleet takes longer, gke-reality.md §1.3).
    pub fn first_service(&self) -> bool {
        !self.clusters.iter().any(|c| c.other_imports)
    }
}

/// The facts of one cluster.
#[derive(Clone, Debug, Default)]
pub struct ClusterFacts {
    /// Logical cluster name.
    pub name: String,
    /// Whether the namespace exists (and is not being deleted).
    pub namespace_present: bool,
    /// Its creation time.
    pub namespace_created: Option<Timestamp>,
    /// The Service.
    pub service: Option<ServiceFacts>,
    /// Pods matched by the Service's selector (empty without a selector).
    pub pods: Vec<PodFacts>,
    /// A few other pods of the namespace with their labels (evidence for a bad selector).
    pub other_pods: Vec<String>,
    /// Ready addresses of the Service's own Endpoints.
    pub local_endpoints: BTreeSet<String>,
    /// The ServiceExport.
    pub export: Option<ExportFacts>,
    /// The ServiceImport.
    pub import: Option<ImportFacts>,
    /// The derived Service named by the import (or by the naming rule).
    pub derived: Option<DerivedFacts>,
    /// Ready addresses imported for the service (GKE: the derived Endpoints; upstream: the
    /// EndpointSlices labelled with the service name); `None` when no such object exists.
    pub imported: Option<BTreeSet<String>>,
    /// The importer as seen from this cluster.
    pub importer: ImporterFacts,
    /// Warning Events about the service, its import or its derived Service.
    pub warnings: Vec<WarningFacts>,
    /// Results of the DNS and HTTP probes run from this cluster.
    pub probes: ProbeFacts,
    /// Why the flavour's MCS API (ServiceExport and ServiceImport CRDs) is not served here,
    /// if it is not: MCS is not enabled for the cluster (or not yet reconciled).
    pub mcs_missing: Option<String>,
    /// Whether the cluster holds a ServiceImport other than this service's.
    pub other_imports: bool,
    /// Upstream: what the implementation profiles look at.
    pub upstream: UpstreamFacts,
}

/// The objects an upstream implementation writes besides the ServiceImport, read for every
/// profile (each judges by its own; `profile::detect` looks at their markers).
#[derive(Clone, Debug, Default)]
pub struct UpstreamFacts {
    /// EndpointSlices labelled `multicluster.kubernetes.io/service-name=<service>`.
    pub slices: Vec<SliceFacts>,
    /// The ServiceImport's annotations.
    pub import_annotations: BTreeMap<String, String>,
    /// The annotations of the derived Service the import names (`derived`).
    pub derived_annotations: BTreeMap<String, String>,
    /// Antrea: Service `antrea-mc-<service>` (annotated as Antrea's) and its Endpoints.
    pub antrea: Option<AntreaFacts>,
    /// Cloud Map: the derived Services its import's annotation lists, one per cluster.
    pub per_cluster: Vec<PerClusterDerived>,
}

/// One EndpointSlice of an import.
#[derive(Clone, Debug, Default)]
pub struct SliceFacts {
    /// Name.
    pub name: String,
    /// `endpointslice.kubernetes.io/managed-by`.
    pub managed_by: String,
    /// Its ready addresses.
    pub ready: BTreeSet<String>,
}

/// Antrea's imported Service and Endpoints.
#[derive(Clone, Debug, Default)]
pub struct AntreaFacts {
    /// Service `antrea-mc-<service>`.
    pub service: DerivedFacts,
    /// The ready addresses of Endpoints `antrea-mc-<service>`; `None` when absent.
    pub endpoints: Option<BTreeSet<String>>,
}

/// One entry of Cloud Map's derived-service annotation.
#[derive(Clone, Debug, Default)]
pub struct PerClusterDerived {
    /// Source cluster id.
    pub cluster: String,
    /// Derived Service name (`imported-<hash>`).
    pub name: String,
    /// The Service, when it exists.
    pub service: Option<DerivedFacts>,
}

/// A port as MCS compares them: name, number, protocol.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortKey {
    /// Port name, if any.
    pub name: Option<String>,
    /// Port number.
    pub port: i32,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
}

impl PortKey {
    /// An unnamed TCP port.
    #[cfg(test)]
    pub fn tcp(port: i32) -> Self {
        Self {
            name: None,
            port,
            protocol: "TCP".into(),
        }
    }
}

impl fmt::Display for PortKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{n}:{}/{}", self.port, self.protocol),
            None => write!(f, "{}/{}", self.port, self.protocol),
        }
    }
}

/// Joins displayable values with ", " (or "none").
pub fn list<T: fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let v: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// The exported Service.
#[derive(Clone, Debug, Default)]
pub struct ServiceFacts {
    /// `spec.type` (`ClusterIP` when unset).
    pub type_: String,
    /// `spec.externalName`.
    pub external_name: Option<String>,
    /// `spec.selector`; `None` or empty = endpoints managed by hand.
    pub selector: Option<BTreeMap<String, String>>,
    /// `spec.clusterIP` (`None` for headless).
    pub cluster_ip: Option<String>,
    /// `spec.ports`.
    pub ports: Vec<PortKey>,
    /// `spec.sessionAffinity`.
    pub session_affinity: String,
    /// Last write to the object (latest `managedFields[].time`), for propagation ages.
    pub updated: Option<Timestamp>,
}

impl ClusterFacts {
    /// The endpoint IPs this cluster's Service should have: its ready pods' IPs when it has
    /// a selector, else (endpoints managed by hand) whatever its Endpoints list.
    pub fn expected_local_endpoints(&self) -> BTreeSet<String> {
        match self
            .service
            .as_ref()
            .is_some_and(ServiceFacts::has_selector)
        {
            true => self
                .pods
                .iter()
                .filter(|p| p.ready)
                .filter_map(|p| p.ip.clone())
                .collect(),
            false => self.local_endpoints.clone(),
        }
    }
}

impl ServiceFacts {
    /// Whether it selects pods (a non-empty selector).
    pub fn has_selector(&self) -> bool {
        self.selector.as_ref().is_some_and(|m| !m.is_empty())
    }

    /// Whether `spec.clusterIP` is `None`.
    pub fn headless(&self) -> bool {
        self.cluster_ip.as_deref() == Some("None")
    }

    /// The selector as `k=v,k2=v2`.
    pub fn selector_string(&self) -> String {
        self.selector
            .iter()
            .flatten()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// One pod.
#[derive(Clone, Debug, Default)]
pub struct PodFacts {
    /// Name.
    pub name: String,
    /// `status.podIP`.
    pub ip: Option<String>,
    /// Ready condition is True.
    pub ready: bool,
    /// Last transition of its Ready condition (or its creation).
    pub changed: Option<Timestamp>,
    /// Phase plus container waiting/terminated reasons, for evidence.
    pub state: String,
}

/// A status condition.
#[derive(Clone, Debug, Default)]
pub struct CondFacts {
    /// Type.
    pub type_: String,
    /// `True`, `False`, `Unknown`.
    pub status: String,
    /// Reason.
    pub reason: String,
    /// Message.
    pub message: String,
}

impl CondFacts {
    /// `Type=Status (Reason: message)`.
    pub fn describe(&self) -> String {
        let mut s = format!("{}={}", self.type_, self.status);
        if !self.reason.is_empty() {
            s += &format!(" ({}", self.reason);
            if !self.message.is_empty() {
                s += &format!(": {}", self.message);
            }
            s += ")";
        }
        s
    }
}

/// The ServiceExport.
#[derive(Clone, Debug, Default)]
pub struct ExportFacts {
    /// `creationTimestamp`.
    pub created: Option<Timestamp>,
    /// `status.conditions`.
    pub conditions: Vec<CondFacts>,
}

impl ExportFacts {
    /// The condition of `type_`, if set.
    pub fn condition(&self, type_: &str) -> Option<&CondFacts> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }
}

/// The ServiceImport.
#[derive(Clone, Debug, Default)]
pub struct ImportFacts {
    /// `creationTimestamp`.
    pub created: Option<Timestamp>,
    /// `spec.type`.
    pub type_: String,
    /// `spec.ports`.
    pub ports: Vec<PortKey>,
    /// `spec.ips`.
    pub ips: Vec<String>,
    /// `status.clusters[].cluster`, sorted.
    pub clusters: Vec<String>,
    /// The derived Service it names (annotation, else the naming rule).
    pub derived_name: String,
}

/// The derived Service.
#[derive(Clone, Debug, Default)]
pub struct DerivedFacts {
    /// Name.
    pub name: String,
    /// `spec.clusterIP`.
    pub cluster_ip: Option<String>,
    /// `spec.ports`.
    pub ports: Vec<PortKey>,
}

/// The importer's heartbeat and health as seen from one cluster.
#[derive(Clone, Debug, Default)]
pub struct ImporterFacts {
    /// Lease `gke-mcs/gke-mcs-importer` (our importer renews it).
    pub lease: Option<LeaseFacts>,
    /// Pods in namespace `gke-mcs` (GKE's importer); `None` when they could not be read.
    pub pods: Option<Vec<PodFacts>>,
    /// Lines of their recent logs that speak of permissions (`pod: line`).
    pub permission_logs: Vec<String>,
    /// Why the importer's objects could not be read, if so.
    pub unreadable: Option<String>,
}

/// A Lease.
#[derive(Clone, Debug, Default)]
pub struct LeaseFacts {
    /// `spec.holderIdentity`.
    pub holder: Option<String>,
    /// `spec.renewTime`.
    pub renewed: Option<Timestamp>,
    /// `spec.leaseDurationSeconds`.
    pub duration_secs: Option<i32>,
}

/// A Warning Event.
#[derive(Clone, Debug, Default)]
pub struct WarningFacts {
    /// `Kind name` of the object it is about.
    pub object: String,
    /// Event name.
    pub name: String,
    /// Reason.
    pub reason: String,
    /// Message.
    pub message: String,
    /// Last time it was seen.
    pub last: Option<Timestamp>,
}

/// Probe results of one cluster; all `None` when probes did not run there.
#[derive(Clone, Debug, Default)]
pub struct ProbeFacts {
    /// Why probes did not run (pod could not start, disabled...).
    pub skipped: Option<String>,
    /// The name looked up.
    pub fqdn: String,
    /// The DNS answer.
    pub dns: Option<DnsResult>,
    /// The URL requested.
    pub url: String,
    /// The HTTP result (not run when DNS gave no address).
    pub http: Option<HttpResult>,
    /// Why the HTTP probe could not be carried out, if so.
    pub http_skipped: Option<String>,
}

/// Whether a message speaks of missing permissions (API 403s, IAM denials).
pub fn is_permission_message(message: &str) -> bool {
    const PATTERNS: [&str; 7] = [
        "forbidden",
        "permission",
        "error 403",
        " 403 ",
        "unauthorized",
        "not authorized",
        "access denied",
    ];
    let m = message.to_ascii_lowercase();
    PATTERNS.iter().any(|p| m.contains(p))
}

/// Human age of `t` at `now`: `12s`, `3m`, `2h`.
pub fn age(now: Timestamp, t: Timestamp) -> String {
    let secs = now.as_second().saturating_sub(t.as_second()).max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s => format!("{}h", s / 3600),
    }
}

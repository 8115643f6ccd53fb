//! Conflict resolution across the exports of one (namespace, name) (KEP-1645): the oldest
//! export (ServiceExport `creationTimestamp`, ties broken by cluster name) decides the
//! import's type and session affinity, ports are merged ([`crate::ports::merge_ports`]),
//! and every export gets an [`ExportState`] (`NoService`, `InvalidServiceType`, or exported
//! with the KEP conflict reasons), which [`crate::types::conditions`] turns into each
//! flavour's conditions (`Valid`/`Ready`/`Conflict` upstream, `Initialized`/`Exported`/
//! `Conflict` on GKE).
//!
//! Two rule sets ([`Rules`]): [`Rules::Collisions`] (the GKE flavour and the doctor:
//! ports conflict only when they cannot sit side by side in one Service) and
//! [`Rules::McsApi`] (the upstream flavour, mcs-api v0.5: also port sets that differ but
//! merge, exported labels/annotations, internalTrafficPolicy, trafficDistribution).
//!
//! Pure: callers pass snapshots ([`Export`]); nothing here talks to a cluster.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::ports::{ClusterPorts, PortConflict, merge_ports};
use crate::types::common::{
    SESSION_AFFINITY_NONE, ServiceImportType, ServicePort, SessionAffinityConfig,
};
pub use crate::types::conditions::{Conflict, ConflictReason, ExportState};

/// What an import needs to know about one cluster's exported Service.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceShape {
    /// `spec.type` (`ClusterIP` when unset).
    pub service_type: String,
    /// `spec.clusterIP` is `None`.
    pub headless: bool,
    /// `spec.ports` as import ports.
    pub ports: Vec<ServicePort>,
    /// `spec.sessionAffinity` (`None` when unset).
    pub session_affinity: String,
    /// `spec.sessionAffinityConfig`.
    pub session_affinity_config: Option<SessionAffinityConfig>,
    /// `spec.ipFamilies` (empty when unset).
    pub ip_families: Vec<String>,
    /// `spec.internalTrafficPolicy`.
    pub internal_traffic_policy: Option<String>,
    /// `spec.trafficDistribution`.
    pub traffic_distribution: Option<String>,
}

impl ServiceShape {
    /// Snapshot of a core/v1 Service.
    pub fn from_service(service: &core::Service) -> Self {
        let spec = service.spec.clone().unwrap_or_default();
        Self {
            service_type: spec.type_.unwrap_or_else(|| "ClusterIP".to_string()),
            headless: spec.cluster_ip.as_deref() == Some("None"),
            ports: spec
                .ports
                .iter()
                .flatten()
                .map(crate::ports::from_core)
                .collect(),
            session_affinity: spec
                .session_affinity
                .unwrap_or_else(|| SESSION_AFFINITY_NONE.to_string()),
            session_affinity_config: spec.session_affinity_config,
            ip_families: spec.ip_families.unwrap_or_default(),
            internal_traffic_policy: spec.internal_traffic_policy,
            traffic_distribution: spec.traffic_distribution,
        }
    }

    fn import_type(&self) -> ServiceImportType {
        if self.headless {
            ServiceImportType::Headless
        } else {
            ServiceImportType::ClusterSetIp
        }
    }

    fn affinity_timeout(&self) -> Option<i32> {
        let config = self.session_affinity_config.as_ref()?;
        config.client_ip.as_ref()?.timeout_seconds
    }
}

/// A ServiceExport's `spec.exportedLabels` / `spec.exportedAnnotations` (mcs-api v1beta1
/// `ServiceExportSpec`): the only labels and annotations that reach the ServiceImport
/// (KEP-1645 #labels-and-annotations).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportedMetadata {
    /// `spec.exportedLabels`.
    pub labels: BTreeMap<String, String>,
    /// `spec.exportedAnnotations`.
    pub annotations: BTreeMap<String, String>,
}

impl ExportedMetadata {
    /// Reads `spec.exportedLabels`/`spec.exportedAnnotations` of a ServiceExport as JSON
    /// (absent or not string maps: empty).
    pub fn from_export(export: &serde_json::Value) -> Self {
        let map = |v: &serde_json::Value| -> BTreeMap<String, String> {
            v.as_object()
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        };
        Self {
            labels: map(&export["spec"]["exportedLabels"]),
            annotations: map(&export["spec"]["exportedAnnotations"]),
        }
    }
}

/// One cluster's ServiceExport of the (namespace, name) being resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Export {
    /// The exporting cluster (one entry per cluster).
    pub cluster: String,
    /// The ServiceExport's `creationTimestamp` (`None` sorts after every timestamp).
    pub created: Option<Time>,
    /// The Service of the same name there, or `None` if it does not exist.
    pub service: Option<ServiceShape>,
    /// The export's exported labels and annotations (empty on GKE).
    pub exported: ExportedMetadata,
}

/// Which disagreements between exports are conflicts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rules {
    /// Type, session affinity (+ config) and ports that cannot share one Service (same
    /// name or same port/protocol, different definition). Port sets that merge are no
    /// conflict. The GKE flavour's rule (GKE's own is unpublished, gke-reality.md §3.1:
    /// a simulation choice) and the doctor's.
    #[default]
    Collisions,
    /// mcs-api v0.5 (`ServiceExportReasonPortConflict`: "if the ports are not identical in
    /// all the constituent Services"; conformance spec "should expose the union of the
    /// constituent service ports and raise a conflict"): [`Rules::Collisions`] plus any
    /// difference of the port sets, of `exportedLabels`/`exportedAnnotations`, of
    /// `internalTrafficPolicy` and of `trafficDistribution` (facts). The upstream flavour.
    McsApi,
}

/// The import the exports agree on after conflict resolution.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportShape {
    /// From the oldest export.
    pub import_type: ServiceImportType,
    /// Union of the valid exports' ports.
    pub ports: Vec<ServicePort>,
    /// From the oldest export.
    pub session_affinity: String,
    /// From the oldest export.
    pub session_affinity_config: Option<SessionAffinityConfig>,
    /// From the oldest export (its Service's `spec.ipFamilies`).
    pub ip_families: Vec<String>,
    /// From the oldest export.
    pub internal_traffic_policy: Option<String>,
    /// From the oldest export.
    pub traffic_distribution: Option<String>,
    /// From the oldest export: its `exportedLabels`/`exportedAnnotations` (KEP-1645
    /// #labels-and-annotations: conflicts resolve to the oldest export's).
    pub exported: ExportedMetadata,
}

/// The outcome for one (namespace, name).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resolution {
    /// `None` when no export is valid (then no import should exist).
    pub import: Option<ImportShape>,
    /// The cluster whose export won (oldest valid).
    pub winner: Option<String>,
    /// Valid exporting clusters, sorted by name (`status.clusters`).
    pub clusters: Vec<String>,
    /// Ports left out of the import.
    pub port_conflicts: Vec<PortConflict>,
    /// Every input cluster's state.
    pub states: BTreeMap<String, ExportState>,
}

/// Resolves the exports of one (namespace, name) across the fleet with
/// [`Rules::Collisions`].
pub fn resolve(exports: &[Export]) -> Resolution {
    resolve_with(exports, Rules::Collisions)
}

/// Resolves the exports of one (namespace, name) across the fleet under `rules`.
pub fn resolve_with(exports: &[Export], rules: Rules) -> Resolution {
    let mut ordered: Vec<&Export> = exports.iter().collect();
    ordered.sort_by(|a, b| {
        let key = |e: &Export| (e.created.is_none(), e.created.clone());
        key(a).cmp(&key(b)).then_with(|| a.cluster.cmp(&b.cluster))
    });
    let mut resolution = Resolution::default();
    let mut valid: Vec<Valid<'_>> = Vec::new();
    for export in ordered {
        match &export.service {
            None => insert(&mut resolution, export, ExportState::NoService),
            Some(svc) if svc.service_type == "ExternalName" => {
                let service_type = svc.service_type.clone();
                insert(
                    &mut resolution,
                    export,
                    ExportState::InvalidServiceType { service_type },
                );
            }
            Some(svc) => valid.push(Valid {
                cluster: export.cluster.as_str(),
                svc,
                exported: &export.exported,
            }),
        }
    }
    let Some(first) = valid.first() else {
        return resolution;
    };
    let (winner, oldest) = (first.cluster, first.exported.clone());
    let first = first.svc;
    let sources: Vec<ClusterPorts<'_>> = valid
        .iter()
        .map(|v| ClusterPorts {
            cluster: v.cluster,
            ports: &v.svc.ports,
        })
        .collect();
    let merged = merge_ports(&sources);
    let conflicts = conflicts(&valid, &merged.conflicts, rules);
    for v in &valid {
        let state = ExportState::Exported {
            conflicts: conflicts.clone(),
        };
        resolution.states.insert(v.cluster.to_string(), state);
    }
    let mut clusters: Vec<String> = valid.iter().map(|v| v.cluster.to_string()).collect();
    clusters.sort();
    resolution.import = Some(ImportShape {
        import_type: first.import_type(),
        ports: merged.ports.clone(),
        session_affinity: first.session_affinity.clone(),
        session_affinity_config: first.session_affinity_config.clone(),
        ip_families: first.ip_families.clone(),
        internal_traffic_policy: first.internal_traffic_policy.clone(),
        traffic_distribution: first.traffic_distribution.clone(),
        exported: oldest,
    });
    resolution.winner = Some(winner.to_string());
    resolution.clusters = clusters;
    resolution.port_conflicts = merged.conflicts;
    resolution
}

fn insert(resolution: &mut Resolution, export: &Export, state: ExportState) {
    resolution.states.insert(export.cluster.clone(), state);
}

/// A valid export: its cluster, Service and exported metadata.
struct Valid<'a> {
    cluster: &'a str,
    svc: &'a ServiceShape,
    exported: &'a ExportedMetadata,
}

/// Reads the compared property of an export as text (for equality and messages).
type FieldValue = fn(&Valid<'_>) -> String;

/// Every disagreement among `valid` (oldest first) with the oldest export.
fn conflicts(valid: &[Valid<'_>], ports: &[PortConflict], rules: Rules) -> Vec<Conflict> {
    let mut out: Vec<Conflict> = port_conflict(valid, ports, rules).into_iter().collect();
    let mut checks: Vec<(ConflictReason, &str, FieldValue)> = vec![
        (ConflictReason::Type, "type", |v| {
            v.svc.import_type().to_string()
        }),
        (ConflictReason::SessionAffinity, "sessionAffinity", |v| {
            v.svc.session_affinity.clone()
        }),
        (
            ConflictReason::SessionAffinityConfig,
            "sessionAffinityConfig.clientIP.timeoutSeconds",
            |v| {
                v.svc
                    .affinity_timeout()
                    .map(|t| t.to_string())
                    .unwrap_or_default()
            },
        ),
    ];
    if rules == Rules::McsApi {
        checks.extend([
            (
                ConflictReason::Annotations,
                "exportedAnnotations",
                (|v| json_map(&v.exported.annotations)) as FieldValue,
            ),
            (ConflictReason::Labels, "exportedLabels", |v| {
                json_map(&v.exported.labels)
            }),
            // Kubernetes defaults `internalTrafficPolicy` to `Cluster` (core/v1 defaulting):
            // unset and `Cluster` agree.
            (
                ConflictReason::InternalTrafficPolicy,
                "internalTrafficPolicy",
                |v| {
                    v.svc
                        .internal_traffic_policy
                        .clone()
                        .unwrap_or_else(|| "Cluster".to_string())
                },
            ),
            (
                ConflictReason::TrafficDistribution,
                "trafficDistribution",
                |v| v.svc.traffic_distribution.clone().unwrap_or_default(),
            ),
        ]);
    }
    for (reason, field, value) in checks {
        out.extend(field_conflict(valid, reason, field, value));
    }
    out
}

fn json_map(map: &BTreeMap<String, String>) -> String {
    serde_json::to_string(map).unwrap_or_default()
}

/// The `PortConflict` entry: ports dropped from the import (`ports`), or under
/// [`Rules::McsApi`] port sets that differ from the oldest export's (none when neither).
fn port_conflict(valid: &[Valid<'_>], ports: &[PortConflict], rules: Rules) -> Option<Conflict> {
    let exports = valid.len();
    if ports.is_empty() {
        if rules != Rules::McsApi {
            return None;
        }
        let (first, rest) = valid.split_first()?;
        let set = |v: &Valid<'_>| {
            let mut ports = v.svc.ports.clone();
            ports.sort_by_key(|p| (p.port, p.protocol.clone(), p.name.clone()));
            ports
        };
        let oldest = set(first);
        let differ: Vec<&str> = rest
            .iter()
            .filter(|v| set(v) != oldest)
            .map(|v| v.cluster)
            .collect();
        if differ.is_empty() {
            return None;
        }
        let (n, clusters, winner) = (differ.len(), quoted(&differ), first.cluster);
        let message = format!(
            "Conflicting ports. {n}/{exports} clusters disagree ({clusters}): their ports \
             differ from those of the oldest service export in cluster {winner:?}; the \
             import exposes the union."
        );
        return Some(Conflict {
            reason: ConflictReason::Port,
            message,
        });
    }
    let mut clusters: Vec<&str> = ports.iter().map(|c| c.cluster.as_str()).collect();
    clusters.dedup();
    let details: Vec<String> = ports.iter().map(ToString::to_string).collect();
    let (n, clusters, details) = (clusters.len(), quoted(&clusters), details.join("; "));
    let message =
        format!("Conflicting ports. {n}/{exports} clusters disagree ({clusters}): {details}.");
    Some(Conflict {
        reason: ConflictReason::Port,
        message,
    })
}

/// The conflict on one property, if any export's value differs from the oldest one's.
fn field_conflict(
    valid: &[Valid<'_>],
    reason: ConflictReason,
    field: &str,
    value: FieldValue,
) -> Option<Conflict> {
    let first = valid.first()?;
    let (winner, winning) = (first.cluster, value(first));
    let disagree: Vec<&str> = valid
        .iter()
        .filter(|v| value(v) != winning)
        .map(|v| v.cluster)
        .collect();
    if disagree.is_empty() {
        return None;
    }
    let (n, total, clusters) = (disagree.len(), valid.len(), quoted(&disagree));
    let message = format!(
        "Conflicting {field}. {n}/{total} clusters disagree ({clusters}). \
         Using {winning:?} from oldest service export in cluster {winner:?}."
    );
    Some(Conflict { reason, message })
}

fn quoted(clusters: &[&str]) -> String {
    let quoted: Vec<String> = clusters.iter().map(|c| format!("{c:?}")).collect();
    quoted.join(", ")
}

#[cfg(test)]
mod tests;

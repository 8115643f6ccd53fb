//! Conflict resolution across the exports of one (namespace, name) (KEP-1645): the oldest
//! export (ServiceExport `creationTimestamp`, ties broken by cluster name) decides the
//! import's type and session affinity, ports are merged ([`crate::ports::merge_ports`]),
//! and every export gets an [`ExportState`] (`NoService`, `InvalidServiceType`, or exported
//! with the KEP conflict reasons), which [`crate::types::conditions`] turns into each
//! flavour's conditions (`Valid`/`Ready`/`Conflict` upstream, `Initialized`/`Exported`/
//! `Conflict` on GKE).
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

/// One cluster's ServiceExport of the (namespace, name) being resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Export {
    /// The exporting cluster (one entry per cluster).
    pub cluster: String,
    /// The ServiceExport's `creationTimestamp` (`None` sorts after every timestamp).
    pub created: Option<Time>,
    /// The Service of the same name there, or `None` if it does not exist.
    pub service: Option<ServiceShape>,
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

/// Resolves the exports of one (namespace, name) across the fleet.
pub fn resolve(exports: &[Export]) -> Resolution {
    let mut ordered: Vec<&Export> = exports.iter().collect();
    ordered.sort_by(|a, b| {
        let key = |e: &Export| (e.created.is_none(), e.created.clone());
        key(a).cmp(&key(b)).then_with(|| a.cluster.cmp(&b.cluster))
    });
    let mut resolution = Resolution::default();
    let mut valid: Vec<(&str, &ServiceShape)> = Vec::new();
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
            Some(svc) => valid.push((export.cluster.as_str(), svc)),
        }
    }
    let Some(&(winner, first)) = valid.first() else {
        return resolution;
    };
    let sources: Vec<ClusterPorts<'_>> = valid
        .iter()
        .map(|(cluster, svc)| ClusterPorts {
            cluster,
            ports: &svc.ports,
        })
        .collect();
    let merged = merge_ports(&sources);
    let conflicts = conflicts(&valid, &merged.conflicts);
    for (cluster, _) in &valid {
        let state = ExportState::Exported {
            conflicts: conflicts.clone(),
        };
        resolution.states.insert((*cluster).to_string(), state);
    }
    let mut clusters: Vec<String> = valid.iter().map(|(c, _)| (*c).to_string()).collect();
    clusters.sort();
    resolution.import = Some(ImportShape {
        import_type: first.import_type(),
        ports: merged.ports.clone(),
        session_affinity: first.session_affinity.clone(),
        session_affinity_config: first.session_affinity_config.clone(),
        ip_families: first.ip_families.clone(),
        internal_traffic_policy: first.internal_traffic_policy.clone(),
        traffic_distribution: first.traffic_distribution.clone(),
    });
    resolution.winner = Some(winner.to_string());
    resolution.clusters = clusters;
    resolution.port_conflicts = merged.conflicts;
    resolution
}

fn insert(resolution: &mut Resolution, export: &Export, state: ExportState) {
    resolution.states.insert(export.cluster.clone(), state);
}

/// Reads the compared property of a Service as text (for equality and messages).
type FieldValue = fn(&ServiceShape) -> String;

/// Every disagreement among `valid` (oldest first) with the oldest export.
fn conflicts(valid: &[(&str, &ServiceShape)], ports: &[PortConflict]) -> Vec<Conflict> {
    let mut out: Vec<Conflict> = port_conflict(valid.len(), ports).into_iter().collect();
    let checks: [(ConflictReason, &str, FieldValue); 3] = [
        (ConflictReason::Type, "type", |s| {
            s.import_type().to_string()
        }),
        (ConflictReason::SessionAffinity, "sessionAffinity", |s| {
            s.session_affinity.clone()
        }),
        (
            ConflictReason::SessionAffinityConfig,
            "sessionAffinityConfig.clientIP.timeoutSeconds",
            |s| {
                s.affinity_timeout()
                    .map(|t| t.to_string())
                    .unwrap_or_default()
            },
        ),
    ];
    for (reason, field, value) in checks {
        out.extend(field_conflict(valid, reason, field, value));
    }
    out
}

/// The `PortConflict` entry summarising `ports` (none when empty).
fn port_conflict(exports: usize, ports: &[PortConflict]) -> Option<Conflict> {
    if ports.is_empty() {
        return None;
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
    valid: &[(&str, &ServiceShape)],
    reason: ConflictReason,
    field: &str,
    value: FieldValue,
) -> Option<Conflict> {
    let &(winner, first) = valid.first()?;
    let winning = value(first);
    let disagree: Vec<&str> = valid
        .iter()
        .filter(|(_, svc)| value(svc) != winning)
        .map(|(cluster, _)| *cluster)
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
mod tests {
    use super::*;
    use crate::types::conditions::{gke_conditions, upstream_conditions};
    use k8s_openapi::jiff::Timestamp;

    fn at(second: i64) -> Option<Time> {
        Timestamp::from_second(second).ok().map(Time)
    }

    fn svc(ports: &[(&str, i32)]) -> ServiceShape {
        let ports = ports
            .iter()
            .map(|(name, port)| ServicePort::new(*port, "TCP").named(name));
        ServiceShape {
            service_type: "ClusterIP".to_string(),
            headless: false,
            ports: ports.collect(),
            session_affinity: "None".to_string(),
            session_affinity_config: None,
            ip_families: Vec::new(),
            internal_traffic_policy: None,
            traffic_distribution: None,
        }
    }

    fn export(cluster: &str, created: Option<Time>, service: Option<ServiceShape>) -> Export {
        Export {
            cluster: cluster.to_string(),
            created,
            service,
        }
    }

    fn reasons(resolution: &Resolution, cluster: &str) -> Vec<ConflictReason> {
        match &resolution.states[cluster] {
            ExportState::Exported { conflicts } => conflicts.iter().map(|c| c.reason).collect(),
            other => panic!("{cluster} not exported: {other:?}"),
        }
    }

    #[test]
    fn from_service_reads_defaults_and_headless() {
        let service: core::Service = serde_json::from_value(serde_json::json!({
            "spec": {"clusterIP": "None", "ports": [{"port": 80, "targetPort": 8080}]}
        }))
        .unwrap();
        let shape = ServiceShape::from_service(&service);
        assert_eq!(
            (shape.service_type.as_str(), shape.headless),
            ("ClusterIP", true)
        );
        assert_eq!(shape.ports, vec![ServicePort::new(80, "TCP")]);
        assert_eq!(shape.session_affinity, "None");
        assert_eq!(shape.import_type(), ServiceImportType::Headless);
    }

    #[test]
    fn oldest_export_wins_then_cluster_name() {
        let mut headless = svc(&[("http", 80)]);
        headless.headless = true;
        let exports = [
            export("b", at(100), Some(svc(&[("http", 80)]))),
            export("a", at(100), Some(headless)),
            export("c", None, Some(svc(&[("http", 80)]))),
        ];
        let resolution = resolve(&exports);
        assert_eq!(resolution.winner.as_deref(), Some("a"));
        let import = resolution.import.as_ref().unwrap();
        assert_eq!(import.import_type, ServiceImportType::Headless);
        assert_eq!(resolution.clusters, ["a", "b", "c"]);
        assert_eq!(reasons(&resolution, "b"), [ConflictReason::Type]);
        assert_eq!(
            reasons(&resolution, "a"),
            [ConflictReason::Type],
            "raised on every export"
        );
    }

    #[test]
    fn agreeing_exports_merge_ports_without_conflict() {
        let exports = [
            export("c2", at(200), Some(svc(&[("http", 80), ("metrics", 9090)]))),
            export("c1", at(100), Some(svc(&[("http", 80)]))),
        ];
        let resolution = resolve(&exports);
        let import = resolution.import.unwrap();
        let names: Vec<_> = import
            .ports
            .iter()
            .map(|p| p.name.clone().unwrap_or_default())
            .collect();
        assert_eq!(names, ["http", "metrics"]);
        assert_eq!(
            resolution.states["c1"],
            ExportState::Exported { conflicts: vec![] }
        );
    }

    #[test]
    fn port_and_affinity_conflicts_keep_the_oldest_values() {
        let mut sticky = svc(&[("web", 80)]);
        sticky.session_affinity = "ClientIP".to_string();
        sticky.session_affinity_config = Some(SessionAffinityConfig {
            client_ip: Some(core::ClientIPConfig {
                timeout_seconds: Some(60),
            }),
        });
        let exports = [
            export("old", at(1), Some(svc(&[("http", 80)]))),
            export("new", at(2), Some(sticky)),
        ];
        let resolution = resolve(&exports);
        let import = resolution.import.clone().unwrap();
        assert_eq!(
            (
                import.session_affinity.as_str(),
                import.session_affinity_config
            ),
            ("None", None)
        );
        assert_eq!(
            import.ports,
            vec![ServicePort::new(80, "TCP").named("http")]
        );
        let expected = [
            ConflictReason::Port,
            ConflictReason::SessionAffinity,
            ConflictReason::SessionAffinityConfig,
        ];
        assert_eq!(reasons(&resolution, "old"), expected);
        let upstream = upstream_conditions(&resolution.states["new"]);
        assert_eq!(
            upstream[2].reason,
            "PortConflict,SessionAffinityConflict,SessionAffinityConfigConflict"
        );
        assert!(
            upstream[2]
                .message
                .contains(r#"Using "None" from oldest service export in cluster "old""#)
        );
        assert_eq!(resolution.port_conflicts.len(), 1);
    }

    #[test]
    fn missing_and_external_name_services_are_invalid() {
        let mut external = svc(&[]);
        external.service_type = "ExternalName".to_string();
        let exports = [
            export("gone", at(1), None),
            export("ext", at(2), Some(external)),
        ];
        let resolution = resolve(&exports);
        assert_eq!((resolution.import, resolution.winner), (None, None));
        let gone = upstream_conditions(&resolution.states["gone"]);
        assert_eq!(
            (gone[0].type_, gone[0].status, gone[0].reason.as_str()),
            ("Valid", false, "NoService")
        );
        assert_eq!(
            (gone[1].type_, gone[1].reason.as_str()),
            ("Ready", "Pending")
        );
        let ext = gke_conditions(&resolution.states["ext"]);
        assert_eq!(
            (ext[1].type_, ext[1].status, ext[1].reason.as_str()),
            ("Exported", false, "InvalidServiceType")
        );
    }
}

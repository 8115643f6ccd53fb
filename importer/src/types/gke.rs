//! GKE flavour (`net.gke.io/v1`): the ServiceExport/ServiceImport pair GKE's MCS controller
//! serves, as the §4 semantics and `kubectl get serviceimport` on GKE show them
//! (`NAME TYPE IP AGE`, e.g. `whereami ClusterSetIP ["10.x.y.z"] 5m`).
//!
//! GKE's own CRD manifests were not available to check against, so short names and
//! printer columns follow upstream mcs-api where GKE's observed behaviour says nothing else.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::common::{
    ClusterStatus, SESSION_AFFINITY_NONE, ServiceImportType, ServicePort, SessionAffinityConfig,
};

/// API group of the GKE flavour.
pub const GROUP: &str = "net.gke.io";
/// API version of the GKE flavour.
pub const VERSION: &str = "v1";
/// Annotation on a ServiceImport naming its derived Service (`gke-mcs-<hash>`).
pub const DERIVED_SERVICE_ANNOTATION: &str = "net.gke.io/derived-service";
/// `app.kubernetes.io/managed-by` value GKE puts on the objects its importer owns.
pub const MANAGED_BY: &str = "gke-mcs-controller.gke.io";
/// ServiceExport condition: the controller has seen the export.
pub const CONDITION_INITIALIZED: &str = "Initialized";
/// ServiceExport condition: the Service is exported to the fleet.
pub const CONDITION_EXPORTED: &str = "Exported";
/// ServiceExport condition: exports of the same Service disagree.
pub const CONDITION_CONFLICT: &str = "Conflict";

/// A GKE ServiceExport has no spec at all: its name and namespace select the Service.
///
/// `no_spec` flattens this empty struct onto the root, so manifests without `spec`
/// (like the mcs-basic recipe's `export.yaml`) are valid and round-trip unchanged.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "net.gke.io",
    version = "v1",
    kind = "ServiceExport",
    namespaced,
    no_spec,
    status = "ServiceExportStatus",
    shortname = "svcex",
    shortname = "svcexport",
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    doc = "ServiceExport declares that the Service with the same name and namespace as this \
           export should be consumable from the other clusters of the fleet.",
    derive = "PartialEq",
    derive = "Default"
)]
pub struct ServiceExportSpec {}

/// Status of a GKE ServiceExport, written by the importer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceExportStatus {
    /// Conditions `Initialized`, `Exported` and, when exports disagree, `Conflict`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "super::common::conditions_schema")]
    pub conditions: Vec<Condition>,
}

/// spec of a GKE ServiceImport: the multi-cluster service as reachable in this cluster.
// kube's `printcolumn(...)` lists repeat `type_ = ...`, which clippy mistakes for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "net.gke.io",
    version = "v1",
    kind = "ServiceImport",
    namespaced,
    status = "ServiceImportStatus",
    shortname = "svcim",
    shortname = "svcimport",
    printcolumn(
        name = "Type",
        type_ = "string",
        description = "The type of this ServiceImport",
        json_path = ".spec.type"
    ),
    printcolumn(
        name = "IP",
        type_ = "string",
        description = "The VIP for this ServiceImport",
        json_path = ".spec.ips"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    doc = "ServiceImport describes a service exported from clusters of the fleet, as seen \
           in this cluster.",
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
pub struct ServiceImportSpec {
    /// `ClusterSetIP` (one VIP, the derived Service's ClusterIP) or `Headless`.
    #[serde(rename = "type")]
    pub type_: ServiceImportType,

    /// The merged ports of the exporting clusters' Services.
    #[schemars(schema_with = "super::common::ports_schema")]
    pub ports: Vec<ServicePort>,

    /// The ClusterIP of the derived Service `gke-mcs-<hash>` in this cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<String>,

    /// `None` or `ClientIP`, from the oldest export.
    #[serde(default = "session_affinity_none")]
    pub session_affinity: String,

    /// Session affinity configuration, from the oldest export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_affinity_config: Option<SessionAffinityConfig>,
}

/// Status of a GKE ServiceImport.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceImportStatus {
    /// The clusters currently exporting the service.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "super::common::clusters_schema")]
    pub clusters: Vec<ClusterStatus>,
}

fn session_affinity_none() -> String {
    SESSION_AFFINITY_NONE.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_without_spec_round_trips_unchanged() {
        let manifest = serde_json::json!({
            "apiVersion": "net.gke.io/v1",
            "kind": "ServiceExport",
            "metadata": {"name": "whereami", "namespace": "multi-cluster-demo"},
        });
        let export: ServiceExport = serde_json::from_value(manifest.clone()).unwrap();
        assert_eq!(export.metadata.name.as_deref(), Some("whereami"));
        assert_eq!(export.status, None);
        assert_eq!(serde_json::to_value(&export).unwrap(), manifest);
    }

    #[test]
    fn import_reads_like_kubectl_shows_it() {
        let import: ServiceImport = serde_json::from_value(serde_json::json!({
            "apiVersion": "net.gke.io/v1",
            "kind": "ServiceImport",
            "metadata": {"name": "whereami", "namespace": "multi-cluster-demo"},
            "spec": {"type": "ClusterSetIP", "ips": ["10.112.3.4"], "ports": [{"port": 80}]},
            "status": {"clusters": [{"cluster": "cluster-1"}]},
        }))
        .unwrap();
        assert_eq!(import.spec.type_, ServiceImportType::ClusterSetIp);
        assert_eq!(import.spec.ports, vec![ServicePort::new(80, "TCP")]);
        assert_eq!(import.spec.session_affinity, SESSION_AFFINITY_NONE);
        let status = import.status.unwrap_or_default();
        assert_eq!(
            status.clusters,
            vec![ClusterStatus {
                cluster: "cluster-1".into()
            }]
        );
    }

    #[test]
    fn import_serializes_type_and_ips() {
        let spec = ServiceImportSpec {
            type_: ServiceImportType::ClusterSetIp,
            ports: vec![ServicePort::new(80, "TCP")],
            ips: vec!["10.0.0.7".into()],
            session_affinity: SESSION_AFFINITY_NONE.into(),
            session_affinity_config: None,
        };
        let json = serde_json::to_value(ServiceImport::new("whereami", spec)).unwrap();
        assert_eq!(json["spec"]["type"], "ClusterSetIP");
        assert_eq!(json["spec"]["ips"], serde_json::json!(["10.0.0.7"]));
        assert_eq!(
            json["spec"]["ports"][0],
            serde_json::json!({"port": 80, "protocol": "TCP"})
        );
    }
}

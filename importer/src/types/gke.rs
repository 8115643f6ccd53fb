//! GKE flavour (`net.gke.io`): the ServiceExport/ServiceImport pair GKE's MCS controller
//! serves, shaped as the CRDs dumped from a GKE cluster (`reference/gke-reality.md` §1.1,
//! a GKE fact): ServiceExport `v1alpha1` (storage, `spec.superclusterIP`, printer column
//! `SuperclusterIP`) plus `v1` (served, status only); ServiceImport `v1` only, printer
//! columns `Type`/`IP`/`Age`, `spec.ips` at most one item; no short names on either.
//!
//! What the importer writes on them is in `controller/gke.rs`; the labels GKE puts on a
//! ServiceImport (§1.3) are the constants below.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceDefinitionVersion,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, CustomResourceExt};
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
/// ServiceImport label naming the Traffic Director backend service prefix
/// (`gkemcs-<ns>-<svc>`; the backend services are `…-tcp-<port>`, gke-reality.md §1.3, §1.6).
pub const BACKEND_SERVICE_LABEL: &str = "net.gke.io/backend-service-name";
/// ServiceImport label naming the VPC network the service is exported from (§1.3).
pub const EXPORT_NETWORK_LABEL: &str = "net.gke.io/export-network";
/// ServiceImport label holding the exporting project's **number** (§1.3).
pub const EXPORT_PROJECT_LABEL: &str = "net.gke.io/export-project";
/// Storage version of `serviceexports.net.gke.io` (§1.1).
pub const EXPORT_STORAGE_VERSION: &str = "v1alpha1";

/// `gkemcs-<ns>-<svc>`: the value of [`BACKEND_SERVICE_LABEL`] (§1.3: `gkemcs-app-myapp`).
pub fn backend_service_name(namespace: &str, name: &str) -> String {
    format!("gkemcs-{namespace}-{name}")
}

/// A fleet membership's resource name, as GKE writes it into `status.clusters[].cluster`
/// (§1.3: `projects/680206487583/locations/us-central1/memberships/gke-1`).
pub fn membership_resource(project_number: &str, location: &str, membership: &str) -> String {
    format!("projects/{project_number}/locations/{location}/memberships/{membership}")
}

/// The membership name of a `status.clusters[].cluster` entry: the last segment of a
/// membership resource name, `None` for anything else (e.g. a plain cluster name written by
/// another implementation).
pub fn membership_of(entry: &str) -> Option<&str> {
    let (head, name) = entry.rsplit_once("/memberships/")?;
    (head.starts_with("projects/") && !name.is_empty() && !name.contains('/')).then_some(name)
}
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

/// The `v1alpha1` version of `serviceexports.net.gke.io` as GKE serves it (§1.1): the
/// storage version, `spec.superclusterIP`, status `conditions` (free strings) and
/// `superclusterIP`, printer columns `SuperclusterIP` and `Age`.
fn export_v1alpha1() -> CustomResourceDefinitionVersion {
    let cond = serde_json::json!({"type": "object", "properties": {
        "lastTransitionTime": {"type": "string"}, "message": {"type": "string"},
        "reason": {"type": "string"}, "status": {"type": "string"}, "type": {"type": "string"}}});
    let version = serde_json::json!({
        "name": EXPORT_STORAGE_VERSION, "served": true, "storage": true,
        "subresources": {"status": {}},
        "additionalPrinterColumns": [
            {"name": "SuperclusterIP", "type": "string", "jsonPath": ".spec.superclusterIP",
             "description": "The Supercluster scoped IP assigned to this service export"},
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}],
        "schema": {"openAPIV3Schema": {"type": "object", "properties": {
            "spec": {"type": "object", "properties": {"superclusterIP": {"type": "string"}}},
            "status": {"type": "object", "properties": {
                "conditions": {"type": "array", "items": cond},
                "superclusterIP": {"type": "string"}}}}}}});
    // A literal that matches the type: cannot fail.
    serde_json::from_value(version).unwrap_or_default()
}

/// `serviceexports.net.gke.io`: `v1alpha1` stored, `v1` served (§1.1).
pub fn service_export_crd() -> CustomResourceDefinition {
    let mut crd = ServiceExport::crd();
    for v in &mut crd.spec.versions {
        v.storage = false;
    }
    crd.spec.versions.insert(0, export_v1alpha1());
    crd
}

/// `serviceimports.net.gke.io`: `v1` only, `spec.ips` with `maxItems: 1` (§1.1).
pub fn service_import_crd() -> CustomResourceDefinition {
    let mut crd = ServiceImport::crd();
    for v in &mut crd.spec.versions {
        let ips = v
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
            .and_then(|root| root.properties.as_mut())
            .and_then(|p| p.get_mut("spec"))
            .and_then(|spec| spec.properties.as_mut())
            .and_then(|p| p.get_mut("ips"));
        if let Some(ips) = ips {
            ips.max_items = Some(1);
        }
    }
    crd
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
    fn crds_are_shaped_as_gke_serves_them() {
        let export = service_export_crd();
        let versions: Vec<(&str, bool, bool)> = export
            .spec
            .versions
            .iter()
            .map(|v| (v.name.as_str(), v.served, v.storage))
            .collect();
        assert_eq!(versions, [("v1alpha1", true, true), ("v1", true, false)]);
        assert_eq!(export.spec.names.short_names, None);
        let import = service_import_crd();
        assert_eq!(import.spec.names.short_names, None);
        let v = &import.spec.versions[0];
        let columns: Vec<&str> = v
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(columns, ["Type", "IP", "Age"]);
        let json = serde_json::to_value(&import).unwrap();
        let ips = &json["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
            ["ips"];
        assert_eq!(ips["maxItems"], 1);
    }

    #[test]
    fn membership_names_round_trip() {
        let r = membership_resource("680206487583", "us-central1", "gke-1");
        assert_eq!(
            r,
            "projects/680206487583/locations/us-central1/memberships/gke-1"
        );
        assert_eq!(membership_of(&r), Some("gke-1"));
        assert_eq!(membership_of("gke-1"), None);
        assert_eq!(membership_of("projects/p/memberships/"), None);
        assert_eq!(backend_service_name("app", "myapp"), "gkemcs-app-myapp");
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

//! Upstream flavour (`multicluster.x-k8s.io`, KEP-1645, kubernetes-sigs/mcs-api): the
//! ServiceExport/ServiceImport pair used by Submariner, Cilium and the mcs-api controllers.
//!
//! The Rust types are `v1alpha1`. mcs-api v0.5 serves the identical schema as `v1beta1`
//! too (and stores that one), so [`service_export_crd`] and [`service_import_crd`] list
//! both versions, exactly like the upstream manifests. Use those two functions, not
//! `ServiceExport::crd()`/`ServiceImport::crd()`, which hold only the non-storage `v1alpha1`.

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, CustomResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

pub use super::common::{ClusterStatus, ServiceImportType, ServicePort, SessionAffinityConfig};

/// API group of the upstream flavour.
pub const GROUP: &str = "multicluster.x-k8s.io";
/// API version of the Rust types in this module.
pub const VERSION: &str = "v1alpha1";
/// The storage version upstream serves alongside [`VERSION`] (same schema).
pub const STORAGE_VERSION: &str = "v1beta1";
/// Annotation on a ServiceImport naming its derived Service (`derived-<hash>`).
pub const DERIVED_SERVICE_ANNOTATION: &str = "multicluster.kubernetes.io/derived-service";
/// ServiceExport condition: the exported Service exists and may be exported.
pub const CONDITION_VALID: &str = "Valid";
/// ServiceExport condition: the export has been taken into the cluster set.
pub const CONDITION_READY: &str = "Ready";
/// ServiceExport condition: exports of the same Service disagree.
pub const CONDITION_CONFLICT: &str = "Conflict";

/// spec of an upstream ServiceExport: optional extras; the export's name and namespace
/// select the Service.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
#[kube(
    group = "multicluster.x-k8s.io",
    version = "v1alpha1",
    kind = "ServiceExport",
    namespaced,
    storage = false,
    status = "ServiceExportStatus",
    shortname = "svcex",
    shortname = "svcexport",
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    doc = "ServiceExport declares that the Service with the same name and namespace as this \
           export should be consumable from other clusters.",
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase")]
pub struct ServiceExportSpec {
    /// exportedLabels describes the labels exported. It is optional for implementation.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exported_labels: BTreeMap<String, String>,

    /// exportedAnnotations describes the annotations exported. It is optional for
    /// implementation.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exported_annotations: BTreeMap<String, String>,
}

// Upstream `spec` is optional and usually omitted (`kind: ServiceExport` + metadata only).
// The derived root struct requires the field, so an absent (or null) spec must read as the
// empty spec: serde hands a missing field to `deserialize_option`, which yields `None`.
impl<'de> Deserialize<'de> for ServiceExportSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            #[serde(default)]
            exported_labels: Option<BTreeMap<String, String>>,
            #[serde(default)]
            exported_annotations: Option<BTreeMap<String, String>>,
        }
        let raw = Option::<Raw>::deserialize(deserializer)?;
        Ok(raw.map_or_else(Self::default, |raw| Self {
            exported_labels: raw.exported_labels.unwrap_or_default(),
            exported_annotations: raw.exported_annotations.unwrap_or_default(),
        }))
    }
}

/// status describes the current state of an exported service.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceExportStatus {
    /// Conditions `Valid`, `Ready` and `Conflict` (KEP-1645 reasons).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "super::common::conditions_schema")]
    pub conditions: Vec<Condition>,
}

/// spec defines the behavior of a ServiceImport.
// kube's `printcolumn(...)` lists repeat `type_ = ...`, which clippy mistakes for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "multicluster.x-k8s.io",
    version = "v1alpha1",
    kind = "ServiceImport",
    namespaced,
    storage = false,
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
    doc = "ServiceImport describes a service imported from clusters in a ClusterSet.",
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
pub struct ServiceImportSpec {
    /// `ClusterSetIP` or `Headless`.
    #[serde(rename = "type")]
    pub type_: ServiceImportType,

    /// The merged ports of the exporting clusters' Services.
    #[schemars(schema_with = "super::common::ports_schema")]
    pub ports: Vec<ServicePort>,

    /// ip will be used as the VIP for this service when type is ClusterSetIP.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 2))]
    pub ips: Vec<String>,

    /// IPFamilies identifies all the IPFamilies assigned for this ServiceImport.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 2))]
    pub ip_families: Vec<String>,

    /// `ClientIP` or `None` (the default); ignored when type is Headless.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_affinity: Option<String>,

    /// sessionAffinityConfig contains session affinity configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_affinity_config: Option<SessionAffinityConfig>,

    /// `Cluster` (default) or `Local`, as on a core/v1 Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_traffic_policy: Option<String>,

    /// Routing preference hint such as `PreferClose`, as on a core/v1 Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_distribution: Option<String>,
}

/// status contains information about the exported services that form the multi-cluster
/// service referenced by this ServiceImport.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceImportStatus {
    /// clusters is the list of exporting clusters from which this service was derived.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "super::common::clusters_schema")]
    pub clusters: Vec<ClusterStatus>,

    /// Conditions on the import as a whole.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "super::common::conditions_schema")]
    pub conditions: Vec<Condition>,
}

/// The `serviceexports.multicluster.x-k8s.io` CRD: `v1alpha1` served, `v1beta1` served and
/// stored, `spec` optional — as upstream ships it.
pub fn service_export_crd() -> CustomResourceDefinition {
    with_storage_version(ServiceExport::crd())
}

/// The `serviceimports.multicluster.x-k8s.io` CRD, versions as in [`service_export_crd`].
pub fn service_import_crd() -> CustomResourceDefinition {
    with_storage_version(ServiceImport::crd())
}

/// Adds the `v1beta1` storage version (same schema) and drops kube's root `required: [spec]`,
/// which the upstream manifests do not have.
fn with_storage_version(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    for version in &mut crd.spec.versions {
        if let Some(root) = version
            .schema
            .as_mut()
            .and_then(|schema| schema.open_api_v3_schema.as_mut())
        {
            root.required = None;
        }
    }
    let stored = crd.spec.versions.first().cloned().map(|mut version| {
        version.name = STORAGE_VERSION.to_string();
        version.served = true;
        version.storage = true;
        version
    });
    crd.spec.versions.extend(stored);
    crd
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export(extra: serde_json::Value) -> ServiceExport {
        let mut manifest = serde_json::json!({
            "apiVersion": "multicluster.x-k8s.io/v1alpha1",
            "kind": "ServiceExport",
            "metadata": {"name": "whereami", "namespace": "demo"},
        });
        if let (Some(object), serde_json::Value::Object(extra)) = (manifest.as_object_mut(), extra)
        {
            object.extend(extra);
        }
        serde_json::from_value(manifest).unwrap()
    }

    #[test]
    fn export_spec_is_optional() {
        assert_eq!(
            export(serde_json::json!({})).spec,
            ServiceExportSpec::default()
        );
        assert_eq!(
            export(serde_json::json!({"spec": null})).spec,
            ServiceExportSpec::default()
        );
        let labelled = export(serde_json::json!({"spec": {"exportedLabels": {"tier": "web"}}}));
        assert_eq!(labelled.spec.exported_labels["tier"], "web");
        let json =
            serde_json::to_value(ServiceExport::new("x", ServiceExportSpec::default())).unwrap();
        assert_eq!(json["spec"], serde_json::json!({}));
    }

    #[test]
    fn headless_import_has_no_ips() {
        let import: ServiceImport = serde_json::from_value(serde_json::json!({
            "apiVersion": "multicluster.x-k8s.io/v1alpha1",
            "kind": "ServiceImport",
            "metadata": {"name": "db", "namespace": "demo"},
            "spec": {"type": "Headless", "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]},
        }))
        .unwrap();
        assert_eq!(import.spec.type_, ServiceImportType::Headless);
        assert!(import.spec.ips.is_empty());
        let json = serde_json::to_value(&import).unwrap();
        assert_eq!(json["spec"].get("ips"), None);
        assert_eq!(json["spec"].get("sessionAffinity"), None);
    }

    #[test]
    fn both_versions_served_v1beta1_stored() {
        for crd in [service_export_crd(), service_import_crd()] {
            let versions: Vec<_> = crd
                .spec
                .versions
                .iter()
                .map(|v| (v.name.as_str(), v.served, v.storage))
                .collect();
            assert_eq!(
                versions,
                [("v1alpha1", true, false), ("v1beta1", true, true)]
            );
            assert_eq!(crd.spec.versions[0].schema, crd.spec.versions[1].schema);
        }
    }
}

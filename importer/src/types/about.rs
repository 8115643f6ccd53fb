//! `about.k8s.io/v1alpha1` `ClusterProperty` (KEP-2149, kubernetes-sigs/about-api): the
//! cluster-scoped key/value objects that name a cluster (`cluster.clusterset.k8s.io`) and
//! its cluster set (`clusterset.k8s.io`) for the upstream flavour.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{CustomResource, CustomResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// API group of ClusterProperty.
pub const GROUP: &str = "about.k8s.io";
/// API version of ClusterProperty.
pub const VERSION: &str = "v1alpha1";
/// Well-known property whose value is this cluster's id within its cluster set.
pub const CLUSTER_ID_PROPERTY: &str = "cluster.clusterset.k8s.io";
/// Well-known property whose value names the cluster set this cluster belongs to.
pub const CLUSTER_SET_PROPERTY: &str = "clusterset.k8s.io";
/// `*.k8s.io` is a protected API group: the apiserver rejects a CRD in it unless this
/// annotation points at the approving KEP pull request.
pub const API_APPROVED_ANNOTATION: &str = "api-approved.kubernetes.io";
/// The approval link used by the about-api project for `about.k8s.io`.
pub const API_APPROVED_URL: &str = "https://github.com/kubernetes/enhancements/pull/3084";

/// spec of a ClusterProperty: the property's value.
#[derive(CustomResource, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "about.k8s.io",
    version = "v1alpha1",
    kind = "ClusterProperty",
    plural = "clusterproperties",
    printcolumn(name = "value", type_ = "string", json_path = ".spec.value"),
    printcolumn(
        name = "age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    doc = "ClusterProperty is a resource that stores identification-related, cluster-scoped \
           information for multi-cluster tools.",
    derive = "PartialEq"
)]
pub struct ClusterPropertySpec {
    /// The property-dependent value.
    #[schemars(length(min = 1, max = 128000))]
    pub value: String,
}

/// The `clusterproperties.about.k8s.io` CRD, with the protected-group approval annotation.
///
/// (kube's `annotation(...)` attribute would also stamp it on every `ClusterProperty::new`.)
pub fn cluster_property_crd() -> CustomResourceDefinition {
    let mut crd = ClusterProperty::crd();
    crd.metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(
            API_APPROVED_ANNOTATION.to_string(),
            API_APPROVED_URL.to_string(),
        );
    crd
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::Resource;

    #[test]
    fn cluster_scoped_with_approval_only_on_the_crd() {
        let spec = ClusterPropertySpec {
            value: "cluster-1".to_string(),
        };
        let property = ClusterProperty::new(CLUSTER_ID_PROPERTY, spec);
        assert_eq!(property.metadata.annotations, None);
        let json = serde_json::to_value(&property).unwrap();
        assert_eq!(json["apiVersion"], "about.k8s.io/v1alpha1");
        assert_eq!(json["spec"]["value"], "cluster-1");
        let crd = cluster_property_crd();
        assert_eq!(crd.spec.scope, "Cluster");
        let annotations = crd.metadata.annotations.unwrap_or_default();
        assert_eq!(annotations[API_APPROVED_ANNOTATION], API_APPROVED_URL);
        assert_eq!(ClusterProperty::plural(&()), "clusterproperties");
    }
}

//! The five CRDs generated from our Rust types, and their YAML form for `fixtures/crds/`.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

use super::{about, gke, upstream};

/// Errors producing CRD manifests.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The CRD could not be rendered as YAML.
    #[error("failed to serialize CRD {name} to YAML")]
    Yaml {
        /// `metadata.name` of the CRD.
        name: String,
        /// What the YAML serializer reported.
        #[source]
        source: serde_saphyr::SerializeError,
    },
}

/// Result alias for CRD generation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// First line of every file in `fixtures/crds/`: where it comes from and how to refresh it.
pub const FIXTURE_HEADER: &str = "# Generated from the Rust types in importer/src/types/ \
    (mcs_importer::types::crds); do not edit.\n\
    # Regenerate: MCS_UPDATE_FIXTURES=1 cargo test -p mcs-importer types::\n";

/// All CRDs the importer works with: GKE ServiceExport (`net.gke.io`, `v1alpha1` stored +
/// `v1`) and ServiceImport (`net.gke.io/v1`),
/// upstream ServiceExport/ServiceImport (`multicluster.x-k8s.io`, `v1alpha1` + `v1beta1`),
/// and ClusterProperty (`about.k8s.io/v1alpha1`).
/// The CRDs one flavour needs in a cluster: GKE → `net.gke.io`; upstream →
/// `multicluster.x-k8s.io` and `about.k8s.io` ClusterProperty. (Installing both groups
/// would make `kubectl get serviceimport` ambiguous.)
pub fn crds_for(flavour: crate::Flavour) -> Vec<CustomResourceDefinition> {
    match flavour {
        crate::Flavour::Gke => vec![gke::service_export_crd(), gke::service_import_crd()],
        crate::Flavour::Upstream => vec![
            upstream::service_export_crd(),
            upstream::service_import_crd(),
            about::cluster_property_crd(),
        ],
    }
}

/// Every CRD of both flavours.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        gke::service_export_crd(),
        gke::service_import_crd(),
        upstream::service_export_crd(),
        upstream::service_import_crd(),
        about::cluster_property_crd(),
    ]
}

/// The CRD as a YAML document (no header, no `---`).
pub fn crd_yaml(crd: &CustomResourceDefinition) -> Result<String> {
    serde_saphyr::to_string(crd).map_err(|source| Error::Yaml {
        name: crd_name(crd).to_string(),
        source,
    })
}

/// The fixture files for [`crds`]: `(file name, contents)`, one file per CRD, named
/// `<plural>.<group>.yaml` (e.g. `serviceexports.net.gke.io.yaml`).
pub fn fixture_files() -> Result<Vec<(String, String)>> {
    crds()
        .iter()
        .map(|crd| {
            let yaml = crd_yaml(crd)?;
            Ok((
                format!("{}.yaml", crd_name(crd)),
                format!("{FIXTURE_HEADER}{yaml}"),
            ))
        })
        .collect()
}

fn crd_name(crd: &CustomResourceDefinition) -> &str {
    crd.metadata.name.as_deref().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_crds_with_distinct_names() {
        let names: Vec<String> = crds().iter().map(|c| crd_name(c).to_string()).collect();
        assert_eq!(
            names,
            [
                "serviceexports.net.gke.io",
                "serviceimports.net.gke.io",
                "serviceexports.multicluster.x-k8s.io",
                "serviceimports.multicluster.x-k8s.io",
                "clusterproperties.about.k8s.io",
            ]
        );
    }

    #[test]
    fn yaml_round_trips() {
        for crd in crds() {
            let yaml = crd_yaml(&crd).unwrap();
            let back: CustomResourceDefinition = serde_saphyr::from_str(&yaml).unwrap();
            assert_eq!(back, crd, "{}", crd_name(&crd));
        }
    }

    #[test]
    fn every_version_has_a_schema_and_one_storage_version() {
        for crd in crds() {
            let versions = &crd.spec.versions;
            assert_eq!(
                versions.iter().filter(|v| v.storage).count(),
                1,
                "{}",
                crd_name(&crd)
            );
            for v in versions {
                let schema = v
                    .schema
                    .as_ref()
                    .and_then(|s| s.open_api_v3_schema.as_ref());
                assert!(
                    schema.is_some(),
                    "{} {} has no schema",
                    crd_name(&crd),
                    v.name
                );
            }
        }
    }
}

//! The MCS flavour: which MCS API a fleet speaks. One type for the importer, scenarios
//! (serde, JSON Schema), the command line (clap, with the `clap` feature) and reports; the
//! per-flavour vocabulary (API group, derived-Service naming, annotations, condition types)
//! is answered by its methods instead of a `match` at every use.

use serde::{Deserialize, Serialize};

use crate::naming::{GKE_DERIVED_PREFIX, UPSTREAM_DERIVED_PREFIX, derived_name};
use crate::types::{gke, upstream};

// The doc line is the scenario schema's description (scenario.schema.json).
/// The MCS flavour a scenario targets.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "camelCase")]
pub enum Flavour {
    /// GKE (`net.gke.io` ServiceImports, `gke-mcs-*` derived Services).
    #[default]
    Gke,
    /// Upstream `multicluster.x-k8s.io` (KEP-1645).
    Upstream,
}

impl Flavour {
    /// Every flavour.
    pub const ALL: [Flavour; 2] = [Flavour::Gke, Flavour::Upstream];

    /// `gke` or `upstream`, as written in scenarios and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Flavour::Gke => "gke",
            Flavour::Upstream => "upstream",
        }
    }

    /// API group of ServiceExport/ServiceImport.
    pub fn group(self) -> &'static str {
        match self {
            Flavour::Gke => gke::GROUP,
            Flavour::Upstream => upstream::GROUP,
        }
    }

    /// API version the harness reads and writes ServiceExport/ServiceImport through. Upstream:
    /// `v1alpha1`, served by every mcs-api release through v0.5 (which serves it beside its
    /// storage version `v1beta1`, same schema) and by implementations built on older
    /// releases (Lighthouse on mcs-api v0.1, gke-reality.md §4). The API server converts
    /// between served versions (conversion `None`: only `apiVersion` changes), so objects
    /// the importer stores as [`Flavour::importer_version`] read back identically here.
    pub fn version(self) -> &'static str {
        match self {
            Flavour::Gke => gke::VERSION,
            Flavour::Upstream => upstream::VERSION,
        }
    }

    /// API version the importer watches and writes ServiceExport/ServiceImport in. GKE:
    /// `v1` (gke-reality.md §1.1); upstream: `v1beta1`, mcs-api v0.5's storage version
    /// (a fact: `+kubebuilder:storageversion` on `pkg/apis/v1beta1`).
    pub fn importer_version(self) -> &'static str {
        match self {
            Flavour::Gke => gke::VERSION,
            Flavour::Upstream => upstream::STORAGE_VERSION,
        }
    }

    /// `group/version`, e.g. `net.gke.io/v1`.
    pub fn api(self) -> String {
        format!("{}/{}", self.group(), self.version())
    }

    /// Prefix of the derived Service's name (`gke-mcs-`, `derived-`).
    pub fn derived_prefix(self) -> &'static str {
        match self {
            Flavour::Gke => GKE_DERIVED_PREFIX,
            Flavour::Upstream => UPSTREAM_DERIVED_PREFIX,
        }
    }

    /// The derived Service's name for `namespace/name` (DESIGN §4).
    pub fn derived_name(self, namespace: &str, name: &str) -> String {
        derived_name(self.derived_prefix(), namespace, name)
    }

    /// The ServiceImport annotation naming its derived Service.
    pub fn derived_service_annotation(self) -> &'static str {
        match self {
            Flavour::Gke => gke::DERIVED_SERVICE_ANNOTATION,
            Flavour::Upstream => upstream::DERIVED_SERVICE_ANNOTATION,
        }
    }

    /// The `app.kubernetes.io/managed-by` value of what the importer writes.
    pub fn managed_by(self) -> &'static str {
        match self {
            Flavour::Gke => gke::MANAGED_BY,
            Flavour::Upstream => crate::slices::MANAGED_BY,
        }
    }

    /// The export condition that says whether the export is accepted (`Exported`, `Valid`)
    /// and the one that says it is in effect (`Exported`, `Ready`).
    pub fn export_conditions(self) -> (&'static str, &'static str) {
        match self {
            Flavour::Gke => (gke::CONDITION_EXPORTED, gke::CONDITION_EXPORTED),
            Flavour::Upstream => (upstream::CONDITION_VALID, upstream::CONDITION_READY),
        }
    }
}

impl std::fmt::Display for Flavour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Flavour {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Flavour::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| format!("unknown flavour {s:?}: use gke or upstream"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_match_serde() {
        for f in Flavour::ALL {
            assert_eq!(f.name().parse::<Flavour>(), Ok(f));
            assert_eq!(f.to_string(), f.name());
            assert_eq!(
                serde_json::to_value(f).unwrap(),
                serde_json::Value::from(f.name())
            );
        }
        assert!("GKE".parse::<Flavour>().is_err());
    }

    #[test]
    fn derived_names_follow_the_flavour() {
        assert_eq!(
            Flavour::Gke.derived_name("multi-cluster-demo", "whereami"),
            "gke-mcs-7pqvt62non"
        );
        assert!(
            Flavour::Upstream
                .derived_name("multi-cluster-demo", "whereami")
                .starts_with("derived-")
        );
        assert_eq!(Flavour::Gke.api(), "net.gke.io/v1");
        assert_eq!(Flavour::Upstream.group(), "multicluster.x-k8s.io");
    }
}

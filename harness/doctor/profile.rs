//! Implementation profiles of the doctor's upstream mode: what each KEP-1645 implementation
//! writes, so that the derived-Service, imported-endpoints, export-condition and DNS links
//! judge its objects by its own rules instead of the mcs-api reference controller's.
//!
//! The facts come from `reference/gke-reality.md` §4 (and the upstream sources it cites);
//! what §4 does not say is marked "simulation choice / assumption" here and in the README.
//! The profile is detected from the objects (`managed-by` labels, annotations, the derived
//! objects' names) by [`detect`], or given with `mcs-harness doctor --implementation`.
//! Whatever the profile, export verdicts key on "no negative condition" (`Valid`/`Accepted`
//! False, `Conflict`/`Conflicted` True, `Ready`/`Exported` False): condition reasons differ
//! per implementation and version and are display text only.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::facts::Facts;

/// A KEP-1645 implementation the doctor knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum Implementation {
    /// The kubernetes-sigs/mcs-api reference controller (and the harness's own simulated
    /// importer, which follows it).
    McsApi,
    /// Submariner Lighthouse.
    Lighthouse,
    /// Cilium ClusterMesh's MCS-API support.
    Cilium,
    /// Antrea Multi-cluster.
    Antrea,
    /// The AWS Cloud Map MCS controller for Kubernetes.
    CloudMap,
}

/// Where an implementation puts the derived Service of an import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DerivedRule {
    /// `derived-<hash>`, named by the import's `multicluster.kubernetes.io/derived-service`
    /// annotation; its ClusterIP is the import's `spec.ips`.
    Annotated,
    /// None at all (Lighthouse: DNS answers from its EndpointSlices).
    None,
    /// Service `antrea-mc-<service>`, annotated `multicluster.antrea.io/imported-service`;
    /// its ClusterIP is the import's `spec.ips`.
    AntreaPrefix,
    /// One Service `imported-<hash>` per source cluster, listed as JSON in the import's
    /// `multicluster.k8s.aws/derived-service` annotation; `spec.ips` stays empty.
    PerCluster,
}

/// What an implementation's imported endpoints hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndpointsRule {
    /// EndpointSlices labelled `multicluster.kubernetes.io/service-name` listing the
    /// exporters' ready pod IPs.
    PodSlices,
    /// Such EndpointSlices, but for a ClusterSetIP import one endpoint per source cluster:
    /// that cluster's Service ClusterIP (Lighthouse); pod IPs when headless.
    ServiceIpSlices,
    /// An Endpoints object `antrea-mc-<service>` with the exporters' Service ClusterIPs
    /// (Antrea's default `endpointIPType: ClusterIP`) or their pod IPs (`PodIP`).
    AntreaEndpoints,
    /// Not in the Kubernetes API (Cilium keeps remote endpoints in BPF maps unless
    /// EndpointSlice sync is on): not judged; DNS and HTTP tell.
    NotInApi,
}

/// How the `clusterset.local` answer is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsRule {
    /// Exactly the import's `spec.ips` (the derived ClusterIP).
    ExactlyImportIps,
    /// Some of the import's IPs if it has any, else some of the imported addresses
    /// (Lighthouse answers a source cluster's Service ClusterIP).
    SomeImportIpOrEndpoint,
    /// Some of the import's IPs or of the derived Services' ClusterIPs (Cloud Map).
    SomeImportIpOrDerived,
}

/// What the doctor expects of one implementation.
#[derive(Debug)]
pub struct Profile {
    /// Which one.
    pub implementation: Implementation,
    /// The `--implementation` value.
    pub name: &'static str,
    /// Human name.
    pub title: &'static str,
    /// The controller whose logs to read (remedies).
    pub controller: &'static str,
    /// The condition whose `True` means exported, when the implementation is known to
    /// write one; `None`: only negative conditions count.
    pub ready_condition: Option<&'static str>,
    /// Derived Service.
    pub derived: DerivedRule,
    /// Imported endpoints.
    pub endpoints: EndpointsRule,
    /// The DNS answer.
    pub dns: DnsRule,
    /// Whether it fills `status.clusters` of the import.
    pub writes_import_clusters: bool,
}

/// The profiles, one per [`Implementation`], in declaration order.
pub const PROFILES: [Profile; 5] = [
    Profile {
        implementation: Implementation::McsApi,
        name: "mcs-api",
        title: "mcs-api reference controller",
        controller: "the mcs-api controller (for the simulated importer: the output of \
                     `mcs-harness importer --flavour upstream`)",
        // mcs-api v0.5.0: Valid, Ready, Conflict (gke-reality.md §4).
        ready_condition: Some("Ready"),
        derived: DerivedRule::Annotated,
        endpoints: EndpointsRule::PodSlices,
        dns: DnsRule::ExactlyImportIps,
        writes_import_clusters: true,
    },
    Profile {
        implementation: Implementation::Lighthouse,
        name: "lighthouse",
        title: "Submariner Lighthouse",
        controller: "the Submariner Lighthouse agent (namespace submariner-operator)",
        // Lighthouse writes Valid, Ready and Conflict (gke-reality.md §4; its
        // `constants.ServiceExportReady = "Ready"`).
        ready_condition: Some("Ready"),
        derived: DerivedRule::None,
        endpoints: EndpointsRule::ServiceIpSlices,
        // Simulation choice / assumption: §4 says only that `spec.ips` is empty unless
        // `lighthouse.submariner.io/use-clusterset-ip`; Lighthouse's DNS plugin answers "the
        // cluster IP of the service in the remote cluster" (its README), so any answer among
        // the imported ClusterIPs is accepted.
        dns: DnsRule::SomeImportIpOrEndpoint,
        writes_import_clusters: true,
    },
    Profile {
        implementation: Implementation::Cilium,
        name: "cilium",
        title: "Cilium ClusterMesh (MCS-API)",
        controller: "the Cilium operator and clustermesh components",
        // Assumption: §4 shows Valid and Conflict, and Ready=False while conflicting, but
        // not that Ready=True is always written: only negative conditions count.
        ready_condition: None,
        derived: DerivedRule::Annotated,
        endpoints: EndpointsRule::NotInApi,
        dns: DnsRule::ExactlyImportIps,
        writes_import_clusters: true,
    },
    Profile {
        implementation: Implementation::Antrea,
        name: "antrea",
        title: "Antrea Multi-cluster",
        controller: "antrea-mc-controller",
        // Antrea writes only Valid (gke-reality.md §4); conflicts are not reported.
        ready_condition: Some("Valid"),
        derived: DerivedRule::AntreaPrefix,
        endpoints: EndpointsRule::AntreaEndpoints,
        dns: DnsRule::ExactlyImportIps,
        // Antrea's member controller copies only the leader's `spec` into the ServiceImport
        // (antrea-io/antrea `member/resourceimport_controller.go`, getMCServiceImport).
        writes_import_clusters: false,
    },
    Profile {
        implementation: Implementation::CloudMap,
        name: "cloud-map",
        title: "AWS Cloud Map MCS controller",
        controller: "aws-cloud-map-mcs-controller-for-k8s",
        // Cloud Map writes no export condition (gke-reality.md §4).
        ready_condition: None,
        derived: DerivedRule::PerCluster,
        endpoints: EndpointsRule::PodSlices,
        // Simulation choice / assumption: `spec.ips` is empty (§4) and §4 does not say
        // what clusterset.local answers; any derived Service ClusterIP is accepted.
        dns: DnsRule::SomeImportIpOrDerived,
        writes_import_clusters: true,
    },
];

impl Implementation {
    /// Every implementation, in declaration order.
    pub const ALL: [Implementation; 5] = [
        Implementation::McsApi,
        Implementation::Lighthouse,
        Implementation::Cilium,
        Implementation::Antrea,
        Implementation::CloudMap,
    ];

    /// Its profile.
    pub fn profile(self) -> &'static Profile {
        &PROFILES[self as usize]
    }

    /// The `--implementation` value.
    pub fn name(self) -> &'static str {
        self.profile().name
    }
}

impl fmt::Display for Implementation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Implementation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Implementation::ALL
            .into_iter()
            .find(|i| i.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Implementation::ALL.iter().map(|i| i.name()).collect();
                format!(
                    "unknown implementation {s:?}: use one of {}",
                    names.join(", ")
                )
            })
    }
}

impl TryFrom<String> for Implementation {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Implementation> for &'static str {
    fn from(i: Implementation) -> Self {
        i.name()
    }
}

/// Which profile the doctor judged by, and why (shown in the table and the JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileChoice {
    /// The implementation.
    #[schemars(with = "String")]
    pub implementation: Implementation,
    /// Its human name.
    pub title: String,
    /// `detected`, `given` (`--implementation`) or `default` (nothing to detect it by).
    pub how: String,
    /// The evidence it was detected by, or why the default applies.
    pub reason: String,
}

impl ProfileChoice {
    fn new(implementation: Implementation, how: &str, reason: String) -> Self {
        Self {
            implementation,
            title: implementation.profile().title.to_string(),
            how: how.to_string(),
            reason,
        }
    }

    /// One line for the console.
    pub fn line(&self) -> String {
        format!(
            "implementation: {} ({}), {}: {}",
            self.title, self.implementation, self.how, self.reason
        )
    }
}

/// `managed-by` values of EndpointSlices, and the implementation each marks (values from
/// gke-reality.md §4 and the implementations' sources).
pub const SLICE_MANAGERS: [(&str, Implementation); 4] = [
    ("lighthouse-agent.submariner.io", Implementation::Lighthouse),
    (
        "aws-cloud-map-mcs-controller-for-k8s",
        Implementation::CloudMap,
    ),
    (
        "endpointslice-local-mcsapi-controller.cilium.io",
        Implementation::Cilium,
    ),
    (mcs_importer::slices::MANAGED_BY, Implementation::McsApi),
];

/// Cloud Map's annotation on a ServiceImport naming its derived Services.
pub const CLOUD_MAP_DERIVED_ANNOTATION: &str = "multicluster.k8s.aws/derived-service";
/// Cilium's annotation on the derived Service (it makes it a global service).
pub const CILIUM_GLOBAL_ANNOTATION: &str = "service.cilium.io/global";
/// Antrea's annotation on its imported Service and Endpoints.
pub const ANTREA_IMPORTED_ANNOTATION: &str = "multicluster.antrea.io/imported-service";
/// Prefix of Antrea's imported Service and Endpoints.
pub const ANTREA_PREFIX: &str = "antrea-mc-";

/// The profile for `f`: the one given, else the first marker found on the objects (in
/// cluster order), else the reference controller's.
pub fn choose(f: &Facts) -> ProfileChoice {
    if let Some(i) = f.implementation {
        return ProfileChoice::new(i, "given", "--implementation".into());
    }
    detect(f).unwrap_or_else(|| {
        ProfileChoice::new(
            Implementation::McsApi,
            "default",
            "no implementation marker (managed-by label, annotation, antrea-mc- Service) on \
             the objects; name it with --implementation"
                .into(),
        )
    })
}

/// The implementation the objects of `f` are marked with, if any.
pub fn detect(f: &Facts) -> Option<ProfileChoice> {
    let (ns, svc) = (&f.namespace, &f.service);
    for c in &f.clusters {
        let u = &c.upstream;
        for s in &u.slices {
            if let Some((_, i)) = SLICE_MANAGERS.iter().find(|(m, _)| *m == s.managed_by) {
                let why = format!(
                    "EndpointSlice {ns}/{} in cluster {} is managed by {}",
                    s.name, c.name, s.managed_by
                );
                return Some(ProfileChoice::new(*i, "detected", why));
            }
        }
        if u.import_annotations
            .contains_key(CLOUD_MAP_DERIVED_ANNOTATION)
        {
            let why = format!(
                "ServiceImport {ns}/{svc} in cluster {} has annotation {CLOUD_MAP_DERIVED_ANNOTATION}",
                c.name
            );
            return Some(ProfileChoice::new(
                Implementation::CloudMap,
                "detected",
                why,
            ));
        }
        if u.derived_annotations.contains_key(CILIUM_GLOBAL_ANNOTATION) {
            let name = c.derived.as_ref().map(|d| d.name.as_str()).unwrap_or("?");
            let why = format!(
                "derived Service {ns}/{name} in cluster {} has annotation {CILIUM_GLOBAL_ANNOTATION}",
                c.name
            );
            return Some(ProfileChoice::new(Implementation::Cilium, "detected", why));
        }
        if u.antrea.is_some() {
            let why = format!(
                "Service {ns}/{ANTREA_PREFIX}{svc} in cluster {} has annotation \
                 {ANTREA_IMPORTED_ANNOTATION}",
                c.name
            );
            return Some(ProfileChoice::new(Implementation::Antrea, "detected", why));
        }
    }
    let annotated = f.clusters.iter().find(|c| {
        c.upstream
            .import_annotations
            .contains_key(mcs_importer::types::upstream::DERIVED_SERVICE_ANNOTATION)
    })?;
    let why = format!(
        "ServiceImport {ns}/{svc} in cluster {} names its derived Service with {}",
        annotated.name,
        mcs_importer::types::upstream::DERIVED_SERVICE_ANNOTATION
    );
    Some(ProfileChoice::new(Implementation::McsApi, "detected", why))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_in_declaration_order_and_names_parse() {
        for (i, p) in PROFILES.iter().enumerate() {
            assert_eq!(p.implementation as usize, i, "{}", p.name);
            assert_eq!(p.name.parse::<Implementation>(), Ok(p.implementation));
        }
        let err = "calico".parse::<Implementation>().unwrap_err();
        assert!(
            err.contains("mcs-api, lighthouse, cilium, antrea, cloud-map"),
            "{err}"
        );
        let json = serde_json::to_string(&Implementation::CloudMap).expect("json");
        assert_eq!(json, "\"cloud-map\"");
    }
}

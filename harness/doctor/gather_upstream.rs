//! Reading what depends on the MCS API version and on the upstream implementation: which
//! version of ServiceExport/ServiceImport a cluster serves (mcs-api v0.5 stores `v1beta1`
//! and still serves `v1alpha1`, gke-reality.md §4: the doctor reads whichever discovery
//! says is served, `v1beta1` first), and the objects the implementation profiles judge —
//! the import's EndpointSlices with their `managed-by`, the annotations of the import and
//! its derived Service, Antrea's `antrea-mc-<svc>` Service and Endpoints, and Cloud Map's
//! per-cluster derived Services.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Endpoints, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DynamicObject, ListParams};
use kube::{Client, ResourceExt};
use mcs_importer::Flavour;
use mcs_importer::slices::{LABEL_MANAGED_BY, LABEL_SERVICE_NAME};
use mcs_importer::types::upstream;
use serde_json::Value;

use super::api::Result;
use super::facts::{AntreaFacts, PerClusterDerived, SliceFacts, UpstreamFacts};
use super::gather::{Reader, derived_facts, ready_slice_ips};
use super::profile::{ANTREA_IMPORTED_ANNOTATION, ANTREA_PREFIX, CLOUD_MAP_DERIVED_ANNOTATION};

/// The versions of a flavour's MCS API, most preferred first.
fn versions(flavour: Flavour) -> Vec<&'static str> {
    match flavour {
        Flavour::Gke => vec![flavour.version()],
        Flavour::Upstream => vec![upstream::STORAGE_VERSION, upstream::VERSION],
    }
}

/// The group versions a flavour's MCS API may be served at, most preferred first.
pub fn served_apis(flavour: Flavour) -> Vec<String> {
    let v = versions(flavour).into_iter();
    v.map(|v| format!("{}/{v}", flavour.group())).collect()
}

/// What discovery says about a cluster's MCS API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Served {
    /// This version serves ServiceExport and ServiceImport.
    At(&'static str),
    /// No version does: why.
    Missing(String),
    /// Discovery failed otherwise (then the default version is read, and a read error
    /// says what is wrong).
    Unknown,
}

impl Served {
    /// The version to read.
    pub fn version(&self, flavour: Flavour) -> &'static str {
        match self {
            Served::At(v) => v,
            Served::Missing(_) | Served::Unknown => versions(flavour)[0],
        }
    }
}

/// Which version of the flavour's ServiceExport/ServiceImport API `client` serves: the
/// first of [`versions`] whose group version lists both resources. GKE installs the CRDs
/// only once MCS is enabled and the membership reconciled (gke-reality.md §1.10).
pub(crate) async fn served(client: &Client, flavour: Flavour) -> Served {
    let mut why = Vec::new();
    for v in versions(flavour) {
        let api = format!("{}/{v}", flavour.group());
        match client.list_api_group_resources(&api).await {
            Ok(list) => {
                let missing: Vec<&str> = ["serviceexports", "serviceimports"]
                    .into_iter()
                    .filter(|r| !list.resources.iter().any(|x| x.name == *r))
                    .collect();
                if missing.is_empty() {
                    return Served::At(v);
                }
                why.push(format!("{api} serves no {}", missing.join(", ")));
            }
            Err(kube::Error::Api(s)) if s.code == 404 => why.push(format!("{api} is not served")),
            Err(_) => return Served::Unknown,
        }
    }
    Served::Missing(why.join("; "))
}

/// The upstream objects of `svc` in `r`'s namespace (`import` and `derived`: what the
/// caller already read). Required reads fail like the rest of the gather.
pub(crate) async fn read(
    r: &Reader<'_>,
    svc: &str,
    import: Option<&DynamicObject>,
    derived: Option<&Service>,
) -> Result<UpstreamFacts> {
    let import_annotations = import.map(|i| i.annotations().clone()).unwrap_or_default();
    let derived_annotations = derived.map(|d| d.annotations().clone()).unwrap_or_default();
    let per_cluster = import_annotations
        .get(CLOUD_MAP_DERIVED_ANNOTATION)
        .map(|a| cloud_map_entries(a))
        .unwrap_or_default();
    let (slices, antrea, per_cluster) = tokio::try_join!(
        slices(r, svc),
        antrea(r, svc),
        per_cluster_services(r, per_cluster)
    )?;
    Ok(UpstreamFacts {
        slices,
        import_annotations,
        derived_annotations,
        antrea,
        per_cluster,
    })
}

async fn slices(r: &Reader<'_>, svc: &str) -> Result<Vec<SliceFacts>> {
    let lp = ListParams::default().labels(&format!("{LABEL_SERVICE_NAME}={svc}"));
    let api: Api<EndpointSlice> = Api::namespaced(r.client.clone(), r.namespace);
    let what = || format!("imported EndpointSlices of {}/{svc}", r.namespace);
    let list = r.read(what, || api.list(&lp)).await?;
    Ok(list
        .items
        .iter()
        .map(|s| SliceFacts {
            name: s.name_any(),
            managed_by: s
                .labels()
                .get(LABEL_MANAGED_BY)
                .cloned()
                .unwrap_or_default(),
            ready: ready_slice_ips(s),
        })
        .collect())
}

/// Antrea's Service `antrea-mc-<svc>`, when it carries Antrea's annotation, and its
/// Endpoints (antrea-io/antrea `multicluster/controllers/multicluster/common`).
async fn antrea(r: &Reader<'_>, svc: &str) -> Result<Option<AntreaFacts>> {
    let name = format!("{ANTREA_PREFIX}{svc}");
    let services: Api<Service> = Api::namespaced(r.client.clone(), r.namespace);
    let what = || format!("Service {}/{name}", r.namespace);
    let Some(s) = r.read(what, || services.get_opt(&name)).await? else {
        return Ok(None);
    };
    if !s.annotations().contains_key(ANTREA_IMPORTED_ANNOTATION) {
        return Ok(None);
    }
    let endpoints: Api<Endpoints> = Api::namespaced(r.client.clone(), r.namespace);
    let what = || format!("Endpoints {}/{name}", r.namespace);
    let ep = r.read(what, || endpoints.get_opt(&name)).await?;
    Ok(Some(AntreaFacts {
        service: derived_facts(&s),
        endpoints: ep.map(|ep| endpoints_ips(&ep)),
    }))
}

/// The ready addresses of an Endpoints object.
pub(crate) fn endpoints_ips(ep: &Endpoints) -> BTreeSet<String> {
    let subsets = ep.subsets.iter().flatten();
    subsets
        .flat_map(|s| s.addresses.iter().flatten().map(|a| a.ip.clone()))
        .collect()
}

/// Cloud Map's annotation: a JSON list of `{"cluster": …, "derived-service": …}` (newer
/// controllers, one derived Service per source cluster) or a plain Service name (older
/// ones), as in aws/aws-cloud-map-mcs-controller-for-k8s `pkg/controllers/multicluster/
/// utils.go`. Anything else lists nothing.
fn cloud_map_entries(annotation: &str) -> Vec<PerClusterDerived> {
    let entry = |cluster: &str, name: &str| PerClusterDerived {
        cluster: cluster.to_string(),
        name: name.to_string(),
        service: None,
    };
    match serde_json::from_str::<Value>(annotation) {
        Ok(Value::Array(items)) => items
            .iter()
            .filter_map(|i| {
                Some(entry(
                    i["cluster"].as_str()?,
                    i["derived-service"].as_str()?,
                ))
            })
            .collect(),
        _ if is_name(annotation) => vec![entry("", annotation)],
        _ => Vec::new(),
    }
}

/// Whether `s` can name a Service (a DNS-1035 label).
pub(crate) fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.ends_with('-')
}

async fn per_cluster_services(
    r: &Reader<'_>,
    entries: Vec<PerClusterDerived>,
) -> Result<Vec<PerClusterDerived>> {
    let services: Api<Service> = Api::namespaced(r.client.clone(), r.namespace);
    let mut out = Vec::with_capacity(entries.len());
    for mut e in entries {
        let what = || format!("Service {}/{}", r.namespace, e.name);
        e.service = r
            .read(what, || services.get_opt(&e.name))
            .await?
            .map(|s| derived_facts(&s));
        out.push(e);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_map_annotation_in_both_forms() {
        let json = r#"[{"cluster":"a","derived-service":"imported-abc"},{"cluster":"b","derived-service":"imported-def"}]"#;
        let e = cloud_map_entries(json);
        let got: Vec<(&str, &str)> = e
            .iter()
            .map(|e| (e.cluster.as_str(), e.name.as_str()))
            .collect();
        assert_eq!(got, [("a", "imported-abc"), ("b", "imported-def")]);
        assert_eq!(cloud_map_entries("imported-abc")[0].name, "imported-abc");
        assert!(cloud_map_entries("{not a name").is_empty());
        assert!(!is_name("[{\"cluster\""));
        assert!(is_name("derived-7pqvt62non"));
    }
}

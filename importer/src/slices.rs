//! EndpointSlices an importing cluster gets for an upstream ServiceImport (KEP-1645): one
//! source cluster per slice, at most [`MAX_ENDPOINTS_PER_SLICE`] endpoints each, labelled
//! with the import, the source cluster, our `managed-by`, and the derived Service (so
//! kube-proxy and the sim route the derived Service's VIP to them).
//!
//! Names are deterministic, `<import>.<cluster>.<n>` (not `generateName`): a reconcile can
//! create/update/delete by name, retries never leak slices, and the dots (valid in an
//! EndpointSlice name, never in a Service or cluster name) keep two (import, cluster) pairs
//! from ever producing the same name, which `<import>-<cluster>-<n>` would allow
//! (`web-us` + `east` vs `web` + `us-east`).

use std::collections::BTreeMap;

use k8s_openapi::api::discovery::v1::{Endpoint, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

/// Label naming the ServiceImport a slice belongs to.
pub const LABEL_SERVICE_NAME: &str = "multicluster.kubernetes.io/service-name";
/// Label naming the cluster a slice's endpoints live in.
pub const LABEL_SOURCE_CLUSTER: &str = "multicluster.kubernetes.io/source-cluster";
/// Label naming the controller that owns a slice.
pub const LABEL_MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
/// Label tying a slice to a Service for kube-proxy (the derived Service here).
pub const LABEL_KUBERNETES_SERVICE_NAME: &str = "kubernetes.io/service-name";
/// Our `managed-by` value (not the default `endpointslice-controller.k8s.io`, so the
/// in-cluster controllers leave these slices alone).
pub const MANAGED_BY: &str = "mcs-importer.mcs-harness.dev";
/// Endpoints per slice (the EndpointSlice controller's default maximum).
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;

/// Where the slices go and whom they belong to.
#[derive(Clone, Copy, Debug)]
pub struct SliceTarget<'a> {
    /// Namespace of the ServiceImport in the importing cluster.
    pub namespace: &'a str,
    /// Name of the ServiceImport.
    pub import_name: &'a str,
    /// Name of the derived Service (`derived-<hash>`).
    pub derived_service: &'a str,
    /// Owner reference to the ServiceImport, when known (needs its uid).
    pub owner: Option<&'a OwnerReference>,
}

/// Endpoints of one source cluster that share an address type and a port set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourceEndpoints {
    /// The exporting cluster.
    pub cluster: String,
    /// `IPv4`, `IPv6` or `FQDN`.
    pub address_type: String,
    /// The endpoints' ports (target ports, as in the source cluster's slices).
    pub ports: Vec<EndpointPort>,
    /// The endpoints, with their conditions.
    pub endpoints: Vec<Endpoint>,
}

impl SourceEndpoints {
    /// The endpoints of a source cluster's own EndpointSlice for the exported Service.
    pub fn from_slice(cluster: &str, slice: &EndpointSlice) -> Self {
        Self {
            cluster: cluster.to_string(),
            address_type: slice.address_type.clone(),
            ports: slice.ports.clone().unwrap_or_default(),
            endpoints: slice.endpoints.clone().unwrap_or_default(),
        }
    }
}

/// The slice name for the `index`th slice of `cluster`'s endpoints of `import_name`.
pub fn slice_name(import_name: &str, cluster: &str, index: usize) -> String {
    format!("{import_name}.{}.{index}", dns_label(cluster))
}

/// [`build_slices_with_limit`] with [`MAX_ENDPOINTS_PER_SLICE`].
pub fn build_slices(target: &SliceTarget<'_>, sources: &[SourceEndpoints]) -> Vec<EndpointSlice> {
    build_slices_with_limit(target, sources, MAX_ENDPOINTS_PER_SLICE)
}

/// The desired slices for `sources`: grouped by (cluster, address type, port set),
/// endpoints de-duplicated by addresses and sorted (so unchanged input gives identical
/// slices), chunked by `max_per_slice` (at least 1), numbered per cluster from 0, ordered
/// by cluster. Groups without endpoints produce no slice.
pub fn build_slices_with_limit(
    target: &SliceTarget<'_>,
    sources: &[SourceEndpoints],
    max_per_slice: usize,
) -> Vec<EndpointSlice> {
    let mut slices = Vec::new();
    let mut current_cluster: Option<&str> = None;
    let mut index = 0;
    for ((cluster, address_type, _), group) in &group_sources(sources) {
        if current_cluster != Some(cluster.as_str()) {
            current_cluster = Some(cluster.as_str());
            index = 0;
        }
        for chunk in group.endpoints.chunks(max_per_slice.max(1)) {
            let meta = slice_meta(target, cluster, index);
            slices.push(EndpointSlice {
                address_type: address_type.clone(),
                endpoints: Some(chunk.to_vec()),
                metadata: meta,
                ports: (!group.ports.is_empty()).then(|| group.ports.clone()),
            });
            index += 1;
        }
    }
    slices
}

/// Endpoints and ports of one (cluster, address type, port set) group.
struct Group {
    ports: Vec<EndpointPort>,
    endpoints: Vec<Endpoint>,
}

type GroupKey = (String, String, String);

fn group_sources(sources: &[SourceEndpoints]) -> BTreeMap<GroupKey, Group> {
    let mut groups: BTreeMap<GroupKey, Group> = BTreeMap::new();
    for source in sources {
        let mut ports = source.ports.clone();
        ports.sort_by_key(port_key);
        let key_ports: Vec<String> = ports.iter().map(port_key).collect();
        let key = (
            source.cluster.clone(),
            source.address_type.clone(),
            key_ports.join(","),
        );
        let group = groups.entry(key).or_insert_with(|| Group {
            ports,
            endpoints: Vec::new(),
        });
        for endpoint in &source.endpoints {
            if !group
                .endpoints
                .iter()
                .any(|e| e.addresses == endpoint.addresses)
            {
                group.endpoints.push(endpoint.clone());
            }
        }
    }
    for group in groups.values_mut() {
        group
            .endpoints
            .sort_by(|a, b| a.addresses.cmp(&b.addresses));
    }
    groups.retain(|_, group| !group.endpoints.is_empty());
    groups
}

fn port_key(port: &EndpointPort) -> String {
    let name = port.name.as_deref().unwrap_or_default();
    let number = port.port.map(|p| p.to_string()).unwrap_or_default();
    let protocol = port.protocol.as_deref().unwrap_or("TCP");
    let app = port.app_protocol.as_deref().unwrap_or_default();
    format!("{name}/{number}/{protocol}/{app}")
}

fn slice_meta(target: &SliceTarget<'_>, cluster: &str, index: usize) -> ObjectMeta {
    let labels = [
        (LABEL_SERVICE_NAME, target.import_name),
        (LABEL_SOURCE_CLUSTER, cluster),
        (LABEL_MANAGED_BY, MANAGED_BY),
        (LABEL_KUBERNETES_SERVICE_NAME, target.derived_service),
    ];
    ObjectMeta {
        name: Some(slice_name(target.import_name, cluster, index)),
        namespace: Some(target.namespace.to_string()),
        labels: Some(
            labels
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        owner_references: target.owner.map(|owner| vec![owner.clone()]),
        ..Default::default()
    }
}

/// Lowercase, with anything outside `[a-z0-9-]` turned into `-` (cluster names are meant
/// to be RFC-1123 labels already; this only guards the slice name).
fn dns_label(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    lower
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: SliceTarget<'static> = SliceTarget {
        namespace: "demo",
        import_name: "whereami",
        derived_service: "derived-7pqvt62non",
        owner: None,
    };

    fn endpoint(ip: &str, ready: bool) -> Endpoint {
        Endpoint {
            addresses: vec![ip.to_string()],
            conditions: Some(k8s_openapi::api::discovery::v1::EndpointConditions {
                ready: Some(ready),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn http(port: i32) -> EndpointPort {
        EndpointPort {
            name: Some("http".into()),
            port: Some(port),
            protocol: Some("TCP".into()),
            ..Default::default()
        }
    }

    fn source(
        cluster: &str,
        ports: Vec<EndpointPort>,
        ips: impl IntoIterator<Item = String>,
    ) -> SourceEndpoints {
        let endpoints = ips.into_iter().map(|ip| endpoint(&ip, true)).collect();
        SourceEndpoints {
            cluster: cluster.into(),
            address_type: "IPv4".into(),
            ports,
            endpoints,
        }
    }

    fn eps(slice: &EndpointSlice) -> &[Endpoint] {
        slice.endpoints.as_deref().unwrap_or_default()
    }

    fn names(slices: &[EndpointSlice]) -> Vec<String> {
        slices
            .iter()
            .map(|s| s.metadata.name.clone().unwrap_or_default())
            .collect()
    }

    #[test]
    fn chunks_at_one_hundred_per_cluster() {
        let ips = (0..250).map(|i| format!("10.1.{}.{}", i / 256, i % 256));
        let slices = build_slices(&TARGET, &[source("cluster-1", vec![http(8080)], ips)]);
        let sizes: Vec<usize> = slices.iter().map(|s| eps(s).len()).collect();
        assert_eq!(sizes, [100, 100, 50]);
        assert_eq!(
            names(&slices),
            [
                "whereami.cluster-1.0",
                "whereami.cluster-1.1",
                "whereami.cluster-1.2"
            ]
        );
    }

    #[test]
    fn labels_namespace_ports_and_owner() {
        let owner = OwnerReference {
            kind: "ServiceImport".into(),
            name: "whereami".into(),
            ..Default::default()
        };
        let target = SliceTarget {
            owner: Some(&owner),
            ..TARGET
        };
        let slices = build_slices(
            &target,
            &[source("c1", vec![http(8080)], ["10.0.0.1".to_string()])],
        );
        let meta = &slices[0].metadata;
        let labels = meta.labels.clone().unwrap_or_default();
        assert_eq!(labels[LABEL_SERVICE_NAME], "whereami");
        assert_eq!(labels[LABEL_SOURCE_CLUSTER], "c1");
        assert_eq!(labels[LABEL_MANAGED_BY], "mcs-importer.mcs-harness.dev");
        assert_eq!(labels[LABEL_KUBERNETES_SERVICE_NAME], "derived-7pqvt62non");
        assert_eq!(meta.namespace.as_deref(), Some("demo"));
        assert_eq!(meta.owner_references, Some(vec![owner]));
        assert_eq!(slices[0].ports, Some(vec![http(8080)]));
    }

    #[test]
    fn one_cluster_per_slice_sorted_and_deduplicated() {
        let sources = [
            source("c2", vec![http(8080)], ["10.2.0.1".to_string()]),
            source(
                "c1",
                vec![http(8080)],
                ["10.1.0.2".to_string(), "10.1.0.1".to_string()],
            ),
            source("c1", vec![http(8080)], ["10.1.0.1".to_string()]),
        ];
        let slices = build_slices(&TARGET, &sources);
        assert_eq!(names(&slices), ["whereami.c1.0", "whereami.c2.0"]);
        let c1: Vec<&str> = eps(&slices[0])
            .iter()
            .map(|e| e.addresses[0].as_str())
            .collect();
        assert_eq!(c1, ["10.1.0.1", "10.1.0.2"]);
        assert_eq!(build_slices(&TARGET, &sources), slices, "deterministic");
    }

    #[test]
    fn port_sets_split_slices_and_numbering_continues() {
        let sources = [
            source("c1", vec![http(8080)], ["10.0.0.1".to_string()]),
            source("c1", vec![http(9090)], ["10.0.0.2".to_string()]),
            source("c1", vec![http(7070)], Vec::new()),
        ];
        let slices = build_slices_with_limit(&TARGET, &sources, 0);
        assert_eq!(names(&slices), ["whereami.c1.0", "whereami.c1.1"]);
        assert_ne!(slices[0].ports, slices[1].ports);
    }

    #[test]
    fn from_slice_and_names_are_label_safe() {
        let slice = EndpointSlice {
            address_type: "IPv6".into(),
            endpoints: Some(vec![endpoint("fd00::1", false)]),
            metadata: ObjectMeta::default(),
            ports: None,
        };
        let src = SourceEndpoints::from_slice("Cluster_A", &slice);
        assert_eq!(
            (
                src.address_type.as_str(),
                src.ports.len(),
                src.endpoints.len()
            ),
            ("IPv6", 0, 1)
        );
        let slices = build_slices(&TARGET, &[src]);
        assert_eq!(names(&slices), ["whereami.cluster-a.0"]);
        assert_eq!(slices[0].ports, None);
        assert_ne!(
            slice_name("web-us", "east", 0),
            slice_name("web", "us-east", 0)
        );
    }
}

//! Reading the facts: every cluster concurrently, each object with its own GET or LIST
//! (read-only; transient API errors retried with backoff), turned into plain [`Facts`].
//! Objects the chain needs must be readable (else [`DoctorError::Read`]); the importer's
//! objects and Events are best effort.

use std::collections::BTreeSet;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Endpoints, Event, Namespace, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::{Client, ResourceExt};
use mcs_importer::Flavour;
use mcs_importer::slices::{LABEL_MANAGED_BY, MANAGED_BY};
use serde_json::Value;

use super::api::{DoctorError, Result, Target};
use super::facts::*;

/// Retries of reads: transient failures only, 50 ms to 1 s apart.
fn backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(50))
        .with_max_delay(Duration::from_secs(1))
        .with_max_times(4)
        .with_jitter()
}

/// Worth retrying (the harness-wide rule).
pub(crate) use crate::retry::transient;

/// Reads in one namespace of one cluster.
pub(crate) struct Reader<'a> {
    /// Logical cluster name (for errors).
    pub cluster: &'a str,
    /// Its client.
    pub client: Client,
    /// The namespace read.
    pub namespace: &'a str,
}

impl Reader<'_> {
    fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), self.namespace)
    }

    /// Runs a read with retries; a failure names the cluster and `what`.
    pub async fn read<T, F, Fut>(&self, what: impl Fn() -> String, f: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = kube::Result<T>>,
    {
        f.retry(backoff())
            .when(transient)
            .await
            .map_err(|source| DoctorError::Read {
                cluster: self.cluster.to_string(),
                what: what(),
                source,
            })
    }
}

/// The ApiResource of a flavour's `ServiceExport` / `ServiceImport` at its default version.
#[cfg(test)]
pub(crate) fn mcs_resource(flavour: Flavour, kind: &str) -> ApiResource {
    mcs_resource_at(flavour, flavour.version(), kind)
}

/// The ApiResource of a flavour's `ServiceExport` / `ServiceImport` at `version`.
pub(crate) fn mcs_resource_at(flavour: Flavour, version: &str, kind: &str) -> ApiResource {
    let gvk = GroupVersionKind::gvk(flavour.group(), version, kind);
    ApiResource::from_gvk_with_plural(&gvk, &format!("{}s", kind.to_lowercase()))
}

/// Reads the facts of every cluster of `t`, concurrently.
pub(crate) async fn gather(t: &Target) -> Result<Facts> {
    let reads = t
        .clusters
        .iter()
        .map(|(name, client)| cluster(t, name, client));
    let clusters = futures::future::try_join_all(reads).await?;
    Ok(Facts {
        flavour: t.flavour,
        namespace: t.namespace.clone(),
        service: t.service.clone(),
        now: Timestamp::now(),
        clusters,
        memberships: t.memberships.clone(),
        consumer: t.consumer.clone(),
        implementation: None,
    })
}

async fn cluster(t: &Target, name: &str, client: &Client) -> Result<ClusterFacts> {
    let r = Reader {
        cluster: name,
        client: client.clone(),
        namespace: &t.namespace,
    };
    let (ns, svc) = (t.namespace.as_str(), t.service.as_str());
    let served = super::gather_upstream::served(&r.client, t.flavour).await;
    let version = served.version(t.flavour);
    let namespaces = Api::<Namespace>::all(r.client.clone());
    let services = r.api::<Service>();
    let (namespace, service, local, export, import, importer, other_imports) = tokio::try_join!(
        r.read(|| format!("Namespace {ns}"), || namespaces.get_opt(ns)),
        r.read(|| format!("Service {ns}/{svc}"), || services.get_opt(svc)),
        local_endpoints(&r, svc),
        mcs_object(&r, t.flavour, version, "ServiceExport", svc),
        mcs_object(&r, t.flavour, version, "ServiceImport", svc),
        async { Ok(super::gather_importer::read(&r.client, t.flavour).await) },
        async { Ok(other_imports(&r.client, t.flavour, version, ns, svc).await) },
    )?;
    let service = service.map(|s| service_facts(&s));
    let import_facts = import.as_ref().map(|i| import_facts(i, t.flavour));
    let derived = import_facts
        .as_ref()
        .map(|i| i.derived_name.clone())
        .unwrap_or_else(|| default_derived(t.flavour, ns, svc));
    let (pods, derived_svc, gke_imported, warnings) = tokio::try_join!(
        pods(&r, service.as_ref()),
        r.read(
            || format!("Service {ns}/{derived}"),
            || services.get_opt(&derived)
        ),
        gke_imported(&r, t.flavour, &derived),
        async { Ok(warnings(&r, &[svc, &derived]).await) },
    )?;
    let upstream = match t.flavour {
        Flavour::Gke => UpstreamFacts::default(),
        Flavour::Upstream => {
            super::gather_upstream::read(&r, svc, import.as_ref(), derived_svc.as_ref()).await?
        }
    };
    // Upstream: every EndpointSlice labelled with the service name (None when there is none).
    let imported = match t.flavour {
        Flavour::Gke => gke_imported,
        Flavour::Upstream => (!upstream.slices.is_empty()).then(|| {
            upstream
                .slices
                .iter()
                .flat_map(|s| s.ready.clone())
                .collect()
        }),
    };
    let (pods, other_pods) = pods;
    Ok(ClusterFacts {
        name: name.to_string(),
        namespace_present: namespace
            .as_ref()
            .is_some_and(|n| n.metadata.deletion_timestamp.is_none()),
        namespace_created: namespace
            .and_then(|n| n.metadata.creation_timestamp)
            .map(|t| t.0),
        service,
        pods,
        other_pods,
        local_endpoints: local,
        export: export.map(|e| export_facts(&e)),
        import: import_facts,
        derived: derived_svc.map(|s| derived_facts(&s)),
        imported,
        importer,
        warnings,
        probes: ProbeFacts::default(),
        mcs_missing: match served {
            super::gather_upstream::Served::Missing(why) => Some(why),
            _ => None,
        },
        other_imports,
        upstream,
    })
}

/// Whether the cluster holds a ServiceImport other than `ns/svc` (one page of two is
/// enough to know). Unknown (an error) counts as yes: it must not widen the window.
async fn other_imports(
    client: &Client,
    flavour: Flavour,
    version: &str,
    ns: &str,
    svc: &str,
) -> bool {
    let ar = mcs_resource_at(flavour, version, "ServiceImport");
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    match api.list(&ListParams::default().limit(2)).await {
        Ok(list) => list
            .items
            .iter()
            .any(|i| i.namespace().as_deref() != Some(ns) || i.name_any() != svc),
        Err(kube::Error::Api(s)) if s.code == 404 => false,
        Err(_) => true,
    }
}

fn default_derived(flavour: Flavour, ns: &str, svc: &str) -> String {
    flavour.derived_name(ns, svc)
}

async fn mcs_object(
    r: &Reader<'_>,
    flavour: Flavour,
    version: &str,
    kind: &str,
    name: &str,
) -> Result<Option<DynamicObject>> {
    let ar = mcs_resource_at(flavour, version, kind);
    let api: Api<DynamicObject> = Api::namespaced_with(r.client.clone(), r.namespace, &ar);
    // A cluster without the CRD answers 404 like a missing object: `get_opt` gives None.
    let what = || format!("{kind} {}/{name}", r.namespace);
    r.read(what, || api.get_opt(name)).await
}

fn port_key(p: &k8s_openapi::api::core::v1::ServicePort) -> PortKey {
    PortKey {
        name: p.name.clone().filter(|n| !n.is_empty()),
        port: p.port,
        protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
    }
}

fn service_facts(s: &Service) -> ServiceFacts {
    let spec = s.spec.clone().unwrap_or_default();
    let writes = s.metadata.managed_fields.iter().flatten();
    let updated = writes
        .filter_map(|m| m.time.as_ref().map(|t| t.0))
        .chain(s.metadata.creation_timestamp.as_ref().map(|t| t.0))
        .max();
    ServiceFacts {
        type_: spec.type_.unwrap_or_else(|| "ClusterIP".into()),
        external_name: spec.external_name,
        selector: spec.selector,
        cluster_ip: spec.cluster_ip,
        ports: spec.ports.iter().flatten().map(port_key).collect(),
        session_affinity: spec.session_affinity.unwrap_or_else(|| "None".into()),
        updated,
    }
}

pub(crate) fn derived_facts(s: &Service) -> DerivedFacts {
    let spec = s.spec.clone().unwrap_or_default();
    DerivedFacts {
        name: s.name_any(),
        cluster_ip: spec.cluster_ip,
        ports: spec.ports.iter().flatten().map(port_key).collect(),
    }
}

/// A pod's facts; a terminating pod is never ready (endpoints drop it).
pub(crate) fn pod_facts(p: &Pod) -> PodFacts {
    let status = p.status.clone().unwrap_or_default();
    let ready_cond = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready");
    let terminating = p.metadata.deletion_timestamp.is_some();
    let mut state = status.phase.clone().unwrap_or_else(|| "Pending".into());
    if terminating {
        state += ", terminating";
    }
    for cs in status.container_statuses.iter().flatten() {
        let st = cs.state.as_ref();
        if let Some(reason) = st
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.clone())
        {
            state += &format!(", {} {reason}", cs.name);
        } else if let Some(t) = st.and_then(|s| s.terminated.as_ref()) {
            state += &format!(", {} exited {}", cs.name, t.exit_code);
        } else if !cs.ready {
            state += &format!(", {} not ready", cs.name);
        }
    }
    PodFacts {
        name: p.name_any(),
        ip: status.pod_ip.clone(),
        ready: !terminating && ready_cond.is_some_and(|c| c.status == "True"),
        changed: ready_cond
            .and_then(|c| c.last_transition_time.as_ref().map(|t| t.0))
            .or(p.metadata.creation_timestamp.as_ref().map(|t| t.0)),
        state,
    }
}

/// Pods selected by the Service, and (when none is) a few others with their labels.
async fn pods(r: &Reader<'_>, s: Option<&ServiceFacts>) -> Result<(Vec<PodFacts>, Vec<String>)> {
    let Some(sel) = s
        .map(ServiceFacts::selector_string)
        .filter(|s| !s.is_empty())
    else {
        return Ok((Vec::new(), Vec::new()));
    };
    let what = || format!("Pods in {} ({sel})", r.namespace);
    let lp = ListParams::default().labels(&sel);
    let api = r.api::<Pod>();
    let selected = r.read(what, || api.list(&lp)).await?;
    if !selected.items.is_empty() {
        return Ok((selected.items.iter().map(pod_facts).collect(), Vec::new()));
    }
    let lp = ListParams::default().limit(5);
    let others = r
        .read(|| format!("Pods in {}", r.namespace), || api.list(&lp))
        .await?;
    let labelled = others
        .items
        .iter()
        .map(|p| {
            let labels: Vec<String> = p.labels().iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{} {{{}}}", p.name_any(), labels.join(","))
        })
        .collect();
    Ok((Vec::new(), labelled))
}

/// Ready addresses of the Service's own EndpointSlices (not ones an importer wrote).
async fn local_endpoints(r: &Reader<'_>, svc: &str) -> Result<BTreeSet<String>> {
    let lp = ListParams::default().labels(&format!("kubernetes.io/service-name={svc}"));
    let api = r.api::<EndpointSlice>();
    let what = || format!("EndpointSlices of Service {}/{svc}", r.namespace);
    let list = r.read(what, || api.list(&lp)).await?;
    let own = list
        .items
        .into_iter()
        .filter(|s| s.labels().get(LABEL_MANAGED_BY).map(String::as_str) != Some(MANAGED_BY));
    Ok(own.flat_map(|s| ready_slice_ips(&s)).collect())
}

pub(crate) fn ready_slice_ips(s: &EndpointSlice) -> BTreeSet<String> {
    s.endpoints
        .iter()
        .flatten()
        .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) != Some(false))
        .flat_map(|e| e.addresses.iter().cloned())
        .collect()
}

/// GKE's imported ready addresses: the derived Endpoints; `None` when absent (upstream:
/// the EndpointSlices `gather_upstream` reads).
async fn gke_imported(
    r: &Reader<'_>,
    flavour: Flavour,
    derived: &str,
) -> Result<Option<BTreeSet<String>>> {
    if flavour != Flavour::Gke {
        return Ok(None);
    }
    let what = || format!("Endpoints {}/{derived}", r.namespace);
    let api = r.api::<Endpoints>();
    let ep = r.read(what, || api.get_opt(derived)).await?;
    Ok(ep.map(|ep| super::gather_upstream::endpoints_ips(&ep)))
}

fn export_facts(e: &DynamicObject) -> ExportFacts {
    let conditions = e.data["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten();
    let s = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    ExportFacts {
        created: e.metadata.creation_timestamp.as_ref().map(|t| t.0),
        conditions: conditions
            .map(|c| CondFacts {
                type_: s(c, "type"),
                status: s(c, "status"),
                reason: s(c, "reason"),
                message: s(c, "message"),
            })
            .collect(),
    }
}

fn import_facts(i: &DynamicObject, flavour: Flavour) -> ImportFacts {
    let spec = &i.data["spec"];
    let strings = |v: &Value| -> Vec<String> {
        let items = v.as_array().into_iter().flatten();
        items.filter_map(|x| x.as_str().map(String::from)).collect()
    };
    let ports = spec["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some(PortKey {
                name: p["name"]
                    .as_str()
                    .filter(|n| !n.is_empty())
                    .map(String::from),
                port: i32::try_from(p["port"].as_i64()?).ok()?,
                protocol: p["protocol"].as_str().unwrap_or("TCP").to_string(),
            })
        });
    let mut clusters: Vec<String> = i.data["status"]["clusters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["cluster"].as_str().map(String::from))
        .collect();
    clusters.sort();
    let annotation = flavour.derived_service_annotation();
    let ns = i.namespace().unwrap_or_default();
    ImportFacts {
        created: i.metadata.creation_timestamp.as_ref().map(|t| t.0),
        type_: spec["type"].as_str().unwrap_or_default().to_string(),
        ports: ports.collect(),
        ips: strings(&spec["ips"]),
        clusters,
        // A name only (Cloud Map writes JSON under its own key; `gather_upstream` reads it).
        derived_name: i
            .annotations()
            .get(annotation)
            .filter(|a| super::gather_upstream::is_name(a))
            .cloned()
            .unwrap_or_else(|| default_derived(flavour, &ns, &i.name_any())),
    }
}

/// Warning Events about `names` in the namespace, newest first (best effort: Events may be
/// unreadable or expired).
async fn warnings(r: &Reader<'_>, names: &[&str]) -> Vec<WarningFacts> {
    let Ok(list) = r.api::<Event>().list(&ListParams::default()).await else {
        return Vec::new();
    };
    let mut out: Vec<WarningFacts> = list
        .items
        .into_iter()
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .filter(|e| names.contains(&e.involved_object.name.as_deref().unwrap_or_default()))
        .map(|e| WarningFacts {
            object: format!(
                "{} {}",
                e.involved_object.kind.clone().unwrap_or_default(),
                e.involved_object.name.clone().unwrap_or_default()
            ),
            name: e.name_any(),
            reason: e.reason.clone().unwrap_or_default(),
            message: e.message.clone().unwrap_or_default(),
            last: e
                .last_timestamp
                .as_ref()
                .map(|t| t.0)
                .or(e.event_time.as_ref().map(|t| t.0))
                .or(e.metadata.creation_timestamp.as_ref().map(|t| t.0)),
        })
        .collect();
    out.sort_by_key(|w| std::cmp::Reverse(w.last));
    out.truncate(5);
    out
}

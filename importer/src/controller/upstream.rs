//! Upstream flavour reconcile (KEP-1645, mcs-api v0.5) for one exported name: conflict
//! resolution under mcs-api's rules (oldest export wins, ports merged, any difference a
//! `Conflict`), a ServiceImport (ClusterSetIP or Headless) in every cluster where the
//! namespace exists, a `derived-<hash>` Service, EndpointSlices per source cluster (≤ 100
//! endpoints each, labelled with the source's ClusterProperty cluster id), and the exports'
//! `Valid` / `Ready` / `Conflict` conditions.
//!
//! Everything is written as `multicluster.x-k8s.io/v1beta1`, the storage version of mcs-api
//! v0.5 (a fact: `+kubebuilder:storageversion` on the v1beta1 types); the CRDs serve
//! `v1alpha1` too with the same schema, so readers of either version see the same objects.

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::ResourceExt;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::runtime::reflector::ObjectRef;
use serde_json::{Value, json};

use super::cache::{ClusterCache, api_resource};
use super::write::{self, apply, apply_status, core};
use super::{Flavour, Outcome, Shared};
use crate::conflict::{Export, ExportedMetadata, Rules, ServiceShape, resolve_with};
use crate::naming::derived_name;
use crate::slices::{
    LABEL_MANAGED_BY, LABEL_SERVICE_NAME, MANAGED_BY, SliceTarget, SourceEndpoints, build_slices,
};
use crate::types::about::CLUSTER_ID_PROPERTY;
use crate::types::conditions::upstream_conditions;
use crate::types::upstream::DERIVED_SERVICE_ANNOTATION;
use crate::types::{ServiceImportType, ServicePort};

/// `apiVersion` of everything this flavour writes (mcs-api v0.5's storage version).
const API_VERSION: &str = "multicluster.x-k8s.io/v1beta1";

/// Label on imports and derived Services the importer owns.
const OWNED: &str = "app.kubernetes.io/managed-by";

fn import_ar() -> ApiResource {
    api_resource(Flavour::Upstream, "ServiceImport")
}

fn slice_ar() -> ApiResource {
    ApiResource {
        group: "discovery.k8s.io".into(),
        version: "v1".into(),
        api_version: "discovery.k8s.io/v1".into(),
        kind: "EndpointSlice".into(),
        plural: "endpointslices".into(),
    }
}

/// Reconciles `ns/name` across the fleet; `Retry` when any read or write failed (every
/// write is an idempotent apply or delete, so the retry simply does it all again).
pub async fn reconcile(shared: &Shared, ns: &str, name: &str) -> Outcome {
    let clusters = shared.clusters.read().await.clone();
    let key = ObjectRef::<DynamicObject>::new_with(
        name,
        api_resource(Flavour::Upstream, "ServiceExport"),
    )
    .within(ns);
    let skey = ObjectRef::<Service>::new(name).within(ns);
    let mut exports = Vec::new();
    let mut export_objs = Vec::new();
    for c in &clusters {
        if let Some(e) = c
            .exports
            .get(&key)
            .filter(|e| e.metadata.deletion_timestamp.is_none())
        {
            let service = c
                .services
                .get(&skey)
                .map(|s| ServiceShape::from_service(&s));
            exports.push(Export {
                cluster: c.name.clone(),
                created: e.metadata.creation_timestamp.clone(),
                service,
                exported: ExportedMetadata::from_export(&e.data),
            });
            export_objs.push((c.clone(), e));
        }
    }
    let res = resolve_with(&exports, Rules::McsApi);
    let derived = derived_name(crate::naming::UPSTREAM_DERIVED_PREFIX, ns, name);
    let Some(shape) = &res.import else {
        let mut ok = true;
        for c in &clusters {
            ok &= remove(c, ns, name, &derived).await;
        }
        ok &= update_exports(&export_objs, &res).await;
        return Outcome::from_ok(ok);
    };
    let valid: Vec<Export> = exports
        .iter()
        .filter(|e| res.clusters.contains(&e.cluster))
        .cloned()
        .collect();
    let contributed = contributed_ports(&valid, &shape.ports);
    let Ok((sources, failures)) = read_sources(&clusters, &contributed, ns, name).await else {
        // A transient read error leaves one source's endpoints unknown: syncing without them
        // would delete its slices everywhere. Keep what is written.
        return Outcome::Retry;
    };
    // Slices the importer may not read are looked at again (a permission granted back
    // raises no event).
    let mut ok = failures.is_empty();
    let ctx = Ctx {
        ns,
        name,
        derived: &derived,
        shape,
        exporting: &res.clusters,
        sources: &sources,
        failures: &failures,
    };
    for c in &clusters {
        if c.has_namespace(ns) {
            ok &= ensure(c, &ctx).await;
        } else {
            ok &= remove(c, ns, name, &derived).await;
        }
    }
    ok &= update_exports(&export_objs, &res).await;
    Outcome::from_ok(ok)
}

/// A Warning Event `EndpointsImportFailed` on the cluster's ServiceImport per source cluster
/// whose slices could not be read (as the GKE flavour does), where users and the doctor look.
async fn warn_failures(c: &ClusterCache, import: &DynamicObject, x: &Ctx<'_>) {
    for (cluster, err) in x.failures {
        let note = format!(
            "failed to import endpoints of {}/{} from cluster {cluster}: {err}",
            x.ns, x.name
        );
        write::warn(
            &c.recorder,
            import,
            &import_ar(),
            "EndpointsImportFailed",
            note,
        )
        .await;
    }
}

struct Ctx<'a> {
    ns: &'a str,
    name: &'a str,
    derived: &'a str,
    shape: &'a crate::conflict::ImportShape,
    exporting: &'a [String],
    sources: &'a [SourceEndpoints],
    /// Source clusters whose slices could not be read, with the error.
    failures: &'a [(String, String)],
}

/// Per valid exporting cluster, the names of its Service ports that made it into the import
/// (unnamed: ""). A port that lost a conflict is not there, so that cluster's endpoints get
/// no traffic for it: KEP-1645 #service-port, conformance specs "should only route traffic
/// to the cluster that exposes the port" (StrictPortConflict).
fn contributed_ports(
    exports: &[Export],
    import: &[ServicePort],
) -> Vec<(String, BTreeSet<String>)> {
    exports
        .iter()
        .filter_map(|e| {
            let svc = e.service.as_ref()?;
            let names = svc
                .ports
                .iter()
                .filter(|p| import.contains(p))
                .map(|p| p.name.clone().unwrap_or_default())
                .collect();
            Some((e.cluster.clone(), names))
        })
        .collect()
}

/// The source's endpoint ports limited to `names` (by port name, as kube-proxy matches a
/// Service port to EndpointSlice ports); `None` when ports were listed and none is left.
fn only_contributed(
    mut source: SourceEndpoints,
    names: &BTreeSet<String>,
) -> Option<SourceEndpoints> {
    if source.ports.is_empty() {
        return Some(source);
    }
    source
        .ports
        .retain(|p| names.contains(p.name.as_deref().unwrap_or_default()));
    (!source.ports.is_empty()).then_some(source)
}

/// The cluster id a source cluster's slices are labelled with
/// (`multicluster.kubernetes.io/source-cluster`): the value of its `about.k8s.io`
/// ClusterProperty `cluster.clusterset.k8s.io` (KEP-1645 #cluster-id, KEP-2149: a fact),
/// else the cluster's name in the fleet (no property, or it cannot be read: a simulation
/// choice). Read at each reconcile, not watched: a changed id shows at the next reconcile
/// of each service (simulation choice).
async fn cluster_id(c: &ClusterCache) -> String {
    let ar = ApiResource::erase::<crate::types::about::ClusterProperty>(&());
    match write::get(&c.client, &ar, "", CLUSTER_ID_PROPERTY).await {
        Ok(Some(p)) => p.data["spec"]["value"]
            .as_str()
            .filter(|v| !v.is_empty())
            .map_or_else(|| c.name.clone(), String::from),
        Ok(None) => c.name.clone(),
        Err(e) => {
            tracing::debug!(cluster = %c.name, error = %e, "no ClusterProperty cluster id; using the cluster name");
            c.name.clone()
        }
    }
}

/// The exporting clusters' own EndpointSlices of the Service (read now, not cached), only
/// the ports each contributed ([`contributed_ports`]), labelled with the cluster's id; and
/// the clusters that could not be read, with the error. A transient error (see
/// [`write::transient`]) fails the whole read; other errors (e.g. 403) leave that cluster out.
async fn read_sources(
    clusters: &[Arc<ClusterCache>],
    contributed: &[(String, BTreeSet<String>)],
    ns: &str,
    name: &str,
) -> Result<(Vec<SourceEndpoints>, Vec<(String, String)>), kube::Error> {
    let mut out = Vec::new();
    let mut failures = Vec::new();
    let lp = ListParams::default().labels(&format!("kubernetes.io/service-name={name}"));
    for c in clusters.iter() {
        let Some((_, names)) = contributed.iter().find(|(n, _)| *n == c.name) else {
            continue;
        };
        match Api::<EndpointSlice>::namespaced(c.client.clone(), ns)
            .list(&lp)
            .await
        {
            Ok(list) => {
                let id = cluster_id(c).await;
                for s in list.items.iter().filter(|s| {
                    s.labels().get(LABEL_MANAGED_BY).map(String::as_str) != Some(MANAGED_BY)
                }) {
                    out.extend(only_contributed(SourceEndpoints::from_slice(&id, s), names));
                }
            }
            Err(e) if write::transient(&e) => {
                tracing::debug!(cluster = %c.name, error = %e, "endpoint slices read failed; retrying");
                return Err(e);
            }
            Err(e) => {
                tracing::warn!(cluster = %c.name, error = %e, "failed to read endpoint slices");
                failures.push((c.name.clone(), e.to_string()));
            }
        }
    }
    Ok((out, failures))
}

/// The written object, or None after logging why the write failed.
fn written<T>(c: &ClusterCache, what: &str, r: kube::Result<T>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(cluster = %c.name, error = %e, "failed to write {what}");
            None
        }
    }
}

/// Import, derived Service, slices and the import's status in one cluster; false when a
/// read or write failed.
async fn ensure(c: &ClusterCache, x: &Ctx<'_>) -> bool {
    let headless = x.shape.import_type == ServiceImportType::Headless;
    let svc_ar = core("Service", "services");
    // Not knowing the derived Service is not its absence: applying the import without
    // `spec.ips` would remove the IP this field manager set (server-side apply).
    let existing_ip = match write::get(&c.client, &svc_ar, x.ns, x.derived).await {
        Ok(s) => s
            .and_then(|s| s.data["spec"]["clusterIP"].as_str().map(String::from))
            .filter(|ip| ip != "None"),
        Err(e) => {
            tracing::warn!(cluster = %c.name, error = %e, "failed to read the derived Service");
            return false;
        }
    };
    let Some(import) = written(
        c,
        "ServiceImport",
        apply(
            &c.client,
            &import_ar(),
            x.ns,
            x.name,
            &import_body(x, existing_ip.as_deref()),
        )
        .await,
    ) else {
        return false;
    };
    warn_failures(c, &import, x).await;
    let owner = OwnerReference {
        api_version: API_VERSION.into(),
        kind: "ServiceImport".into(),
        name: x.name.into(),
        uid: import.uid().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    let ports: Vec<Value> = x.shape.ports.iter().map(|p| json!({"name": p.name, "port": p.port, "protocol": p.protocol, "targetPort": p.port})).collect();
    let mut spec =
        json!({"type": "ClusterIP", "ports": ports, "sessionAffinity": x.shape.session_affinity});
    if headless {
        spec["clusterIP"] = json!("None");
    }
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": x.derived, "namespace": x.ns, "labels": {OWNED: MANAGED_BY}, "ownerReferences": [owner]}, "spec": spec});
    let Some(d) = written(
        c,
        "Service",
        apply(&c.client, &svc_ar, x.ns, x.derived, &svc).await,
    ) else {
        return false;
    };
    let mut ok = true;
    if !headless
        && let Some(ip) = d.data["spec"]["clusterIP"].as_str()
        && existing_ip.as_deref() != Some(ip)
    {
        ok &= written(
            c,
            "ServiceImport",
            apply(
                &c.client,
                &import_ar(),
                x.ns,
                x.name,
                &import_body(x, Some(ip)),
            )
            .await,
        )
        .is_some();
    }
    ok &= sync_slices(c, x, &owner).await;
    let status = json!({"apiVersion": API_VERSION, "kind": "ServiceImport", "metadata": {"name": x.name, "namespace": x.ns},
        "status": {"clusters": x.exporting.iter().map(|n| json!({"cluster": n})).collect::<Vec<_>>()}});
    ok &= written(
        c,
        "ServiceImport status",
        apply_status(&c.client, &import_ar(), x.ns, x.name, &status).await,
    )
    .is_some();
    ok
}

fn import_body(x: &Ctx<'_>, ip: Option<&str>) -> Value {
    let mut spec = json!({"type": x.shape.import_type.as_str(), "ports": x.shape.ports, "sessionAffinity": x.shape.session_affinity});
    if let Some(ip) = ip.filter(|_| x.shape.import_type == ServiceImportType::ClusterSetIp) {
        spec["ips"] = json!([ip]);
    }
    // KEP-1645 / mcs-api: the import carries the exported Service's properties (the
    // oldest export's: conflict resolution). `ipFamilies` lists the families of `ips`
    // index by index (conformance spec "one IP per IP family"): the embedded fleet and the
    // VIPs this importer allocates are IPv4 only, so a ClusterSetIP import is [IPv4]
    // (simulation fact); a headless import takes the Service's families.
    let families = match x.shape.import_type {
        ServiceImportType::ClusterSetIp => vec!["IPv4".to_string()],
        ServiceImportType::Headless if x.shape.ip_families.is_empty() => vec!["IPv4".to_string()],
        ServiceImportType::Headless => x.shape.ip_families.clone(),
    };
    spec["ipFamilies"] = json!(families);
    if let Some(config) = &x.shape.session_affinity_config {
        spec["sessionAffinityConfig"] = json!(config);
    }
    if let Some(p) = &x.shape.internal_traffic_policy {
        spec["internalTrafficPolicy"] = json!(p);
    }
    if let Some(d) = &x.shape.traffic_distribution {
        spec["trafficDistribution"] = json!(d);
    }
    // KEP-1645 #labels-and-annotations: only the (oldest) export's `exportedLabels` and
    // `exportedAnnotations` reach the import, never the Service's own (a fact, conformance
    // specs "Only labels and annotations specified as exported ..."). Ours are added last
    // and win over an exported key of the same name (simulation choice).
    let mut labels = x.shape.exported.labels.clone();
    labels.insert(OWNED.to_string(), MANAGED_BY.to_string());
    let mut annotations = x.shape.exported.annotations.clone();
    annotations.insert(
        DERIVED_SERVICE_ANNOTATION.to_string(),
        x.derived.to_string(),
    );
    json!({"apiVersion": API_VERSION, "kind": "ServiceImport",
        "metadata": {"name": x.name, "namespace": x.ns, "labels": labels, "annotations": annotations},
        "spec": spec})
}

/// Applies the desired slices and deletes stale ones; false when a request failed.
async fn sync_slices(c: &ClusterCache, x: &Ctx<'_>, owner: &OwnerReference) -> bool {
    let mut ok = true;
    let target = SliceTarget {
        namespace: x.ns,
        import_name: x.name,
        derived_service: x.derived,
        owner: Some(owner),
    };
    let desired = build_slices(&target, x.sources);
    let mut keep = BTreeSet::new();
    for s in &desired {
        let name = s.name_any();
        let Ok(mut body) = serde_json::to_value(s) else {
            continue;
        };
        body["apiVersion"] = json!("discovery.k8s.io/v1");
        body["kind"] = json!("EndpointSlice");
        ok &= written(
            c,
            "EndpointSlice",
            apply(&c.client, &slice_ar(), x.ns, &name, &body).await,
        )
        .is_some();
        keep.insert(name);
    }
    let lp = ListParams::default().labels(&format!(
        "{LABEL_SERVICE_NAME}={},{LABEL_MANAGED_BY}={MANAGED_BY}",
        x.name
    ));
    ok && delete_slices(c, x.ns, &lp, &keep).await
}

/// Deletes the slices `lp` selects except those in `keep`; false when a request failed.
async fn delete_slices(
    c: &ClusterCache,
    ns: &str,
    lp: &ListParams,
    keep: &BTreeSet<String>,
) -> bool {
    let list = match Api::<EndpointSlice>::namespaced(c.client.clone(), ns)
        .list(lp)
        .await
    {
        Ok(list) => list,
        Err(e) => {
            tracing::warn!(cluster = %c.name, error = %e, "failed to list EndpointSlices");
            return false;
        }
    };
    let mut ok = true;
    for s in list.items.iter().filter(|s| !keep.contains(&s.name_any())) {
        ok &= written(
            c,
            "EndpointSlice (delete)",
            write::delete(&c.client, &slice_ar(), ns, &s.name_any()).await,
        )
        .is_some();
    }
    ok
}

/// Removes the import, its derived Service and slices; false when a request failed.
async fn remove(c: &ClusterCache, ns: &str, name: &str, derived: &str) -> bool {
    let import = match write::get(&c.client, &import_ar(), ns, name).await {
        Ok(Some(import)) => import,
        Ok(None) => return true,
        Err(e) => {
            tracing::warn!(cluster = %c.name, error = %e, "failed to read ServiceImport");
            return false;
        }
    };
    if import.labels().get(OWNED).map(String::as_str) != Some(MANAGED_BY) {
        return true;
    }
    let mut ok = written(
        c,
        "ServiceImport (delete)",
        write::delete(&c.client, &import_ar(), ns, name).await,
    )
    .is_some();
    ok &= written(
        c,
        "Service (delete)",
        write::delete(&c.client, &core("Service", "services"), ns, derived).await,
    )
    .is_some();
    let lp = ListParams::default().labels(&format!(
        "{LABEL_SERVICE_NAME}={name},{LABEL_MANAGED_BY}={MANAGED_BY}"
    ));
    ok && delete_slices(c, ns, &lp, &BTreeSet::new()).await
}

/// Writes every export's conditions; false when a write failed.
async fn update_exports(
    exports: &[(Arc<ClusterCache>, Arc<DynamicObject>)],
    res: &crate::conflict::Resolution,
) -> bool {
    let mut ok = true;
    let now = jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_default();
    for (c, e) in exports {
        let Some(state) = res.states.get(&c.name) else {
            continue;
        };
        let old = e.data["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let conds: Vec<Value> = upstream_conditions(state)
            .into_iter()
            .map(|d| {
                let status = if d.status { "True" } else { "False" };
                let same = old.iter().find(|o| o["type"] == d.type_ && o["status"] == status);
                let t = same.map(|o| o["lastTransitionTime"].clone()).unwrap_or_else(|| json!(now));
                json!({"type": d.type_, "status": status, "reason": d.reason, "message": d.message, "lastTransitionTime": t})
            })
            .collect();
        let ns = e.namespace().unwrap_or_default();
        let body = json!({"apiVersion": API_VERSION, "kind": "ServiceExport", "metadata": {"name": e.name_any(), "namespace": ns}, "status": {"conditions": conds}});
        if let Err(err) = apply_status(
            &c.client,
            &api_resource(Flavour::Upstream, "ServiceExport"),
            &ns,
            &e.name_any(),
            &body,
        )
        .await
        {
            tracing::warn!(cluster = %c.name, error = %err, "failed to write ServiceExport status");
            ok = false;
        }
    }
    ok
}

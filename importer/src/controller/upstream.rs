//! Upstream flavour reconcile (KEP-1645, `multicluster.x-k8s.io/v1alpha1`) for one exported
//! name: conflict resolution (oldest export wins, ports merged), a ServiceImport
//! (ClusterSetIP or Headless) in every cluster where the namespace exists, a `derived-<hash>`
//! Service, EndpointSlices per source cluster (≤ 100 endpoints each), and the exports'
//! `Valid` / `Ready` / `Conflict` conditions.

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
use super::{Flavour, Shared};
use crate::conflict::{Export, ServiceShape, resolve};
use crate::naming::derived_name;
use crate::slices::{
    LABEL_MANAGED_BY, LABEL_SERVICE_NAME, MANAGED_BY, SliceTarget, SourceEndpoints, build_slices,
};
use crate::types::ServiceImportType;
use crate::types::conditions::upstream_conditions;

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

/// Reconciles `ns/name` across the fleet.
pub async fn reconcile(shared: &Shared, ns: &str, name: &str) {
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
            });
            export_objs.push((c.clone(), e));
        }
    }
    let res = resolve(&exports);
    let derived = derived_name(crate::naming::UPSTREAM_DERIVED_PREFIX, ns, name);
    let Some(shape) = &res.import else {
        for c in &clusters {
            remove(c, ns, name, &derived).await;
        }
        update_exports(&export_objs, &res).await;
        return;
    };
    let sources = read_sources(&clusters, &res.clusters, ns, name).await;
    let ctx = Ctx {
        ns,
        name,
        derived: &derived,
        shape,
        exporting: &res.clusters,
        sources: &sources,
    };
    for c in &clusters {
        if c.has_namespace(ns) {
            ensure(c, &ctx).await;
        } else {
            remove(c, ns, name, &derived).await;
        }
    }
    update_exports(&export_objs, &res).await;
}

struct Ctx<'a> {
    ns: &'a str,
    name: &'a str,
    derived: &'a str,
    shape: &'a crate::conflict::ImportShape,
    exporting: &'a [String],
    sources: &'a [SourceEndpoints],
}

/// The exporting clusters' own EndpointSlices of the Service (read now, not cached).
async fn read_sources(
    clusters: &[Arc<ClusterCache>],
    exporting: &[String],
    ns: &str,
    name: &str,
) -> Vec<SourceEndpoints> {
    let mut out = Vec::new();
    let lp = ListParams::default().labels(&format!("kubernetes.io/service-name={name}"));
    for c in clusters.iter().filter(|c| exporting.contains(&c.name)) {
        match Api::<EndpointSlice>::namespaced(c.client.clone(), ns)
            .list(&lp)
            .await
        {
            Ok(list) => {
                for s in list.items.iter().filter(|s| {
                    s.labels().get(LABEL_MANAGED_BY).map(String::as_str) != Some(MANAGED_BY)
                }) {
                    out.push(SourceEndpoints::from_slice(&c.name, s));
                }
            }
            Err(e) => {
                tracing::warn!(cluster = %c.name, error = %e, "failed to read endpoint slices")
            }
        }
    }
    out
}

async fn ensure(c: &ClusterCache, x: &Ctx<'_>) {
    let headless = x.shape.import_type == ServiceImportType::Headless;
    let svc_ar = core("Service", "services");
    let existing_ip = write::get(&c.client, &svc_ar, x.ns, x.derived)
        .await
        .ok()
        .flatten()
        .and_then(|s| s.data["spec"]["clusterIP"].as_str().map(String::from))
        .filter(|ip| ip != "None");
    let Ok(import) = apply(
        &c.client,
        &import_ar(),
        x.ns,
        x.name,
        &import_body(x, existing_ip.as_deref()),
    )
    .await
    else {
        return;
    };
    let owner = OwnerReference {
        api_version: "multicluster.x-k8s.io/v1alpha1".into(),
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
    if let Ok(d) = apply(&c.client, &svc_ar, x.ns, x.derived, &svc).await
        && !headless
        && let Some(ip) = d.data["spec"]["clusterIP"].as_str()
        && existing_ip.as_deref() != Some(ip)
    {
        let _ = apply(
            &c.client,
            &import_ar(),
            x.ns,
            x.name,
            &import_body(x, Some(ip)),
        )
        .await;
    }
    sync_slices(c, x, &owner).await;
    let status = json!({"apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ServiceImport", "metadata": {"name": x.name, "namespace": x.ns},
        "status": {"clusters": x.exporting.iter().map(|n| json!({"cluster": n})).collect::<Vec<_>>()}});
    let _ = apply_status(&c.client, &import_ar(), x.ns, x.name, &status).await;
}

fn import_body(x: &Ctx<'_>, ip: Option<&str>) -> Value {
    let mut spec = json!({"type": x.shape.import_type.as_str(), "ports": x.shape.ports, "sessionAffinity": x.shape.session_affinity});
    if let Some(ip) = ip.filter(|_| x.shape.import_type == ServiceImportType::ClusterSetIp) {
        spec["ips"] = json!([ip]);
    }
    json!({"apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ServiceImport",
        "metadata": {"name": x.name, "namespace": x.ns, "labels": {OWNED: MANAGED_BY},
                     "annotations": {"multicluster.kubernetes.io/derived-service": x.derived}},
        "spec": spec})
}

async fn sync_slices(c: &ClusterCache, x: &Ctx<'_>, owner: &OwnerReference) {
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
        let _ = apply(&c.client, &slice_ar(), x.ns, &name, &body).await;
        keep.insert(name);
    }
    let lp = ListParams::default().labels(&format!(
        "{LABEL_SERVICE_NAME}={},{LABEL_MANAGED_BY}={MANAGED_BY}",
        x.name
    ));
    if let Ok(list) = Api::<EndpointSlice>::namespaced(c.client.clone(), x.ns)
        .list(&lp)
        .await
    {
        for s in list.items.iter().filter(|s| !keep.contains(&s.name_any())) {
            let _ = write::delete(&c.client, &slice_ar(), x.ns, &s.name_any()).await;
        }
    }
}

async fn remove(c: &ClusterCache, ns: &str, name: &str, derived: &str) {
    let Ok(Some(import)) = write::get(&c.client, &import_ar(), ns, name).await else {
        return;
    };
    if import.labels().get(OWNED).map(String::as_str) != Some(MANAGED_BY) {
        return;
    }
    let _ = write::delete(&c.client, &import_ar(), ns, name).await;
    let _ = write::delete(&c.client, &core("Service", "services"), ns, derived).await;
    let lp = ListParams::default().labels(&format!(
        "{LABEL_SERVICE_NAME}={name},{LABEL_MANAGED_BY}={MANAGED_BY}"
    ));
    if let Ok(list) = Api::<EndpointSlice>::namespaced(c.client.clone(), ns)
        .list(&lp)
        .await
    {
        for s in list.items {
            let _ = write::delete(&c.client, &slice_ar(), ns, &s.name_any()).await;
        }
    }
}

async fn update_exports(
    exports: &[(Arc<ClusterCache>, Arc<DynamicObject>)],
    res: &crate::conflict::Resolution,
) {
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
        let body = json!({"apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ServiceExport", "metadata": {"name": e.name_any(), "namespace": ns}, "status": {"conditions": conds}});
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
        }
    }
}

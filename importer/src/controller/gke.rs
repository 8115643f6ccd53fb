//! GKE flavour reconcile for one exported name (DESIGN §4), writing objects shaped as GKE
//! writes them (`reference/gke-reality.md` §1; GKE facts unless marked otherwise):
//! - a ServiceImport in every cluster where the namespace exists, exporters included, with
//!   annotation `net.gke.io/derived-service`, labels `app.kubernetes.io/managed-by`,
//!   `net.gke.io/backend-service-name: gkemcs-<ns>-<svc>`, `net.gke.io/export-network`,
//!   `net.gke.io/export-project: <project number>` (§1.3); `status.clusters[].cluster` =
//!   the exporting clusters' **membership resource names**
//!   `projects/N/locations/L/memberships/<cluster>` (§1.3; that the membership is named after
//!   the cluster is a simulation choice);
//! - `spec.type` `ClusterSetIP` with `ips: [derived ClusterIP]`, or `Headless` with no `ips`
//!   for a headless export (§1.3, GKE 1.35);
//! - derived Service `gke-mcs-<hash>` (headless for a headless import) owned by the import, and
//!   its Endpoints = ready addresses of every exporting cluster (pod IPs; §1.4);
//! - export conditions `Initialized`, `Exported` and `Conflict` only while exports disagree
//!   (§1.2 shows the first two; their reasons and messages, and the `Conflict` condition, are
//!   **simulation choices**: GKE publishes none);
//! - a Warning Event `EndpointsImportFailed` on the import when an exporter's endpoints cannot
//!   be read (**simulation-only**: no GKE importer Event is published, §1.5).
//!
//! Which export wins and how ports merge is `crate::conflict::resolve`, the very resolver the
//! doctor uses: the oldest export decides type and affinity, ports are merged, and a port
//! conflict does not depend on the order ports are listed in (GKE's rule is unpublished: a
//! simulation choice).

use std::sync::Arc;

use k8s_openapi::api::core::v1::Service;
use kube::ResourceExt;
use kube::api::{ApiResource, DynamicObject};
use kube::runtime::reflector::ObjectRef;
use serde_json::{Value, json};

use super::cache::{ClusterCache, api_resource};
use super::write::{self, apply, apply_status, core};
use super::{Flavour, Outcome, Shared};
use crate::conflict::{Export, ImportShape, Resolution, ServiceShape, resolve};
use crate::naming::derived_name;
use crate::types::ServiceImportType;
use crate::types::conditions::gke_conditions;
use crate::types::gke::{
    BACKEND_SERVICE_LABEL, EXPORT_NETWORK_LABEL, EXPORT_PROJECT_LABEL, backend_service_name,
};

/// Label on everything the importer creates (as GKE's controller sets it), and the
/// annotation naming the derived Service.
pub use crate::types::gke::{DERIVED_SERVICE_ANNOTATION as DERIVED_ANNOTATION, MANAGED_BY};

/// One cluster exporting the name.
struct Exporter {
    cluster: Arc<ClusterCache>,
    export: Arc<DynamicObject>,
    service: Option<Arc<Service>>,
}

impl Exporter {
    /// The resolver's view of this export.
    fn snapshot(&self) -> Export {
        Export {
            cluster: self.cluster.name.clone(),
            created: self.export.metadata.creation_timestamp.clone(),
            service: self.service.as_deref().map(ServiceShape::from_service),
            // net.gke.io exports have no exportedLabels/exportedAnnotations.
            exported: Default::default(),
        }
    }
}

fn exporters(clusters: &[Arc<ClusterCache>], ns: &str, name: &str) -> Vec<Exporter> {
    let key =
        ObjectRef::<DynamicObject>::new_with(name, api_resource(Flavour::Gke, "ServiceExport"))
            .within(ns);
    let skey = ObjectRef::<Service>::new(name).within(ns);
    clusters
        .iter()
        .filter_map(|c| {
            let export = c
                .exports
                .get(&key)
                .filter(|e| e.metadata.deletion_timestamp.is_none())?;
            Some(Exporter {
                cluster: c.clone(),
                export,
                service: c.services.get(&skey),
            })
        })
        .collect()
}

/// Reconciles `ns/name` across the fleet; `Retry` when any read or write failed (the
/// fingerprints of what did not land are forgotten, so the retry writes it).
pub async fn reconcile(shared: &Shared, ns: &str, name: &str) -> Outcome {
    let clusters = shared.clusters.read().await.clone();
    let all = exporters(&clusters, ns, name);
    let snapshots: Vec<Export> = all.iter().map(Exporter::snapshot).collect();
    let res = resolve(&snapshots);
    let derived = derived_name(crate::naming::GKE_DERIVED_PREFIX, ns, name);
    let Some(shape) = res.import.clone() else {
        let mut ok = true;
        for c in &clusters {
            ok &= remove_import(shared, c, ns, name, &derived).await;
        }
        ok &= update_exports(shared, &all, &res).await;
        return Outcome::from_ok(ok);
    };
    let valid: Vec<&Exporter> = all
        .iter()
        .filter(|e| res.clusters.contains(&e.cluster.name))
        .collect();
    let Ok((subsets, failures)) = read_endpoints(&valid, ns, name).await else {
        // A transient read error leaves one exporter's addresses unknown: writing the union
        // without them would withdraw live endpoints everywhere. Keep what is written.
        return Outcome::Retry;
    };
    let fleet = &shared.cfg.gke;
    let exporting: Vec<Value> = res
        .clusters
        .iter()
        .map(|c| json!({"cluster": fleet.membership_resource(c)}))
        .collect();
    let labels = json!({
        "app.kubernetes.io/managed-by": MANAGED_BY,
        BACKEND_SERVICE_LABEL: backend_service_name(ns, name),
        EXPORT_NETWORK_LABEL: fleet.network,
        EXPORT_PROJECT_LABEL: fleet.project_number,
    });
    let intent = Intent {
        ns,
        name,
        derived: &derived,
        shape: &shape,
        labels: &labels,
        subsets: &subsets,
        clusters: &exporting,
    };
    // Endpoints the importer may not read are looked at again (a permission granted back
    // raises no event); what they make us write is recorded, so retries write nothing new.
    let mut ok = failures.is_empty();
    let fingerprint = json!({"type": shape.import_type.as_str(), "ports": shape.ports,
        "affinity": shape.session_affinity, "affinityConfig": shape.session_affinity_config,
        "labels": labels, "subsets": subsets, "clusters": exporting, "failures": failures});
    for c in &clusters {
        if c.has_namespace(ns) {
            if !shared.changed(&c.name, ns, name, &fingerprint) {
                continue;
            }
            let ensured = ensure_import(c, &intent).await;
            let complete = ensured.as_ref().is_some_and(|(_, complete)| *complete);
            // Recorded only once every write landed, so the retry writes again.
            shared.mark_applied(&c.name, ns, name, complete.then_some(&fingerprint));
            ok &= complete;
            if let Some((import, _)) = ensured {
                for (cluster, err) in &failures {
                    let note = format!(
                        "failed to import endpoints of {ns}/{name} from cluster {cluster}: {err}"
                    );
                    // Simulation-only Event (no GKE importer Event is published).
                    write::warn(
                        &c.recorder,
                        &import,
                        &api_resource(Flavour::Gke, "ServiceImport"),
                        "EndpointsImportFailed",
                        note,
                    )
                    .await;
                }
            }
        } else {
            ok &= remove_import(shared, c, ns, name, &derived).await;
        }
    }
    ok &= update_exports(shared, &all, &res).await;
    Outcome::from_ok(ok)
}

/// What every importing cluster should hold for one name.
struct Intent<'a> {
    ns: &'a str,
    name: &'a str,
    derived: &'a str,
    shape: &'a ImportShape,
    labels: &'a Value,
    subsets: &'a [Value],
    clusters: &'a [Value],
}

impl Intent<'_> {
    fn headless(&self) -> bool {
        self.shape.import_type == ServiceImportType::Headless
    }
}

/// Ready addresses of every valid exporter (Endpoints read now, not cached), and the
/// clusters whose endpoints the importer may not read (e.g. 403: the §1 symptom). A
/// transient error (see [`write::transient`]) fails the whole read.
async fn read_endpoints(
    valid: &[&Exporter],
    ns: &str,
    name: &str,
) -> Result<(Vec<Value>, Vec<(String, String)>), kube::Error> {
    let mut subsets = Vec::new();
    let mut failures = Vec::new();
    let ar = core("Endpoints", "endpoints");
    for e in valid {
        match write::get(&e.cluster.client, &ar, ns, name).await {
            Ok(Some(ep)) => {
                for s in ep.data["subsets"].as_array().into_iter().flatten() {
                    if s["addresses"].as_array().is_some_and(|a| !a.is_empty()) {
                        subsets.push(json!({"addresses": s["addresses"], "ports": s["ports"]}));
                    }
                }
            }
            Ok(None) => {}
            Err(err) if write::transient(&err) => {
                tracing::debug!(cluster = %e.cluster.name, error = %err, "endpoints read failed; retrying");
                return Err(err);
            }
            Err(err) => failures.push((e.cluster.name.clone(), err.to_string())),
        }
    }
    Ok((subsets, failures))
}

fn import_ar() -> ApiResource {
    api_resource(Flavour::Gke, "ServiceImport")
}

fn import_body(i: &Intent, ips: Option<&str>) -> Value {
    let s = i.shape;
    let mut spec = json!({"type": s.import_type.as_str(), "ports": s.ports, "sessionAffinity": s.session_affinity});
    if let Some(config) = &s.session_affinity_config {
        spec["sessionAffinityConfig"] = json!(config);
    }
    // Headless imports carry no IP (gke-reality.md §1.3: `Headless  <no IP>`).
    if let Some(ip) = ips.filter(|_| !i.headless()) {
        spec["ips"] = json!([ip]);
    }
    json!({"apiVersion": "net.gke.io/v1", "kind": "ServiceImport",
        "metadata": {"name": i.name, "namespace": i.ns, "annotations": {DERIVED_ANNOTATION: i.derived},
                     "labels": i.labels},
        "spec": spec})
}

/// Import, derived Service, its Endpoints and the import's status in one cluster.
/// Returns the import and whether every write succeeded.
async fn ensure_import(c: &ClusterCache, i: &Intent<'_>) -> Option<(DynamicObject, bool)> {
    let svc_ar = core("Service", "services");
    // Not knowing the derived Service is not its absence: applying the import without
    // `spec.ips` would remove the IP this field manager set (server-side apply) and break
    // DNS until the next write. Give up and retry instead.
    let existing_ip = match write::get(&c.client, &svc_ar, i.ns, i.derived).await {
        Ok(s) => s
            .and_then(|s| s.data["spec"]["clusterIP"].as_str().map(String::from))
            .filter(|ip| ip != "None"),
        Err(e) => {
            tracing::warn!(cluster = %c.name, error = %e, "failed to read the derived Service");
            return None;
        }
    };
    let import = log_err(
        c,
        "ServiceImport",
        apply(
            &c.client,
            &import_ar(),
            i.ns,
            i.name,
            &import_body(i, existing_ip.as_deref()),
        )
        .await,
    )?;
    let uid = import.uid().unwrap_or_default();
    // targetPort = port: GKE's derived-Service port mapping is unpublished (§1.4), a
    // simulation choice; the Endpoints carry the pods' real ports.
    let svc_ports: Vec<Value> = i
        .shape
        .ports
        .iter()
        .map(|p| {
            let mut v = json!({"port": p.port, "protocol": p.protocol, "targetPort": p.port});
            if let Some(n) = p.name.as_ref().filter(|n| !n.is_empty()) {
                v["name"] = json!(n);
            }
            v
        })
        .collect();
    let mut spec = json!({"type": "ClusterIP", "ports": svc_ports, "sessionAffinity": i.shape.session_affinity});
    if i.headless() {
        spec["clusterIP"] = json!("None");
    }
    let svc = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": i.derived, "namespace": i.ns, "labels": {"app.kubernetes.io/managed-by": MANAGED_BY},
            "ownerReferences": [{"apiVersion": "net.gke.io/v1", "kind": "ServiceImport", "name": i.name, "uid": uid, "controller": true, "blockOwnerDeletion": true}]},
        "spec": spec});
    let derived = log_err(
        c,
        "Service",
        apply(&c.client, &svc_ar, i.ns, i.derived, &svc).await,
    )?;
    let ip = derived.data["spec"]["clusterIP"]
        .as_str()
        .filter(|ip| *ip != "None" && !i.headless())
        .map(String::from);
    let import = match ip.as_deref() {
        Some(ip) if existing_ip.as_deref() != Some(ip) => log_err(
            c,
            "ServiceImport",
            apply(
                &c.client,
                &import_ar(),
                i.ns,
                i.name,
                &import_body(i, Some(ip)),
            )
            .await,
        )?,
        _ => import,
    };
    let eps = json!({"apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": i.derived, "namespace": i.ns, "labels": {"app.kubernetes.io/managed-by": MANAGED_BY}},
        "subsets": i.subsets});
    let eps_ok = log_err(
        c,
        "Endpoints",
        apply(
            &c.client,
            &core("Endpoints", "endpoints"),
            i.ns,
            i.derived,
            &eps,
        )
        .await,
    )
    .is_some();
    let status = json!({"apiVersion": "net.gke.io/v1", "kind": "ServiceImport", "metadata": {"name": i.name, "namespace": i.ns},
        "status": {"clusters": i.clusters}});
    let status_ok = log_err(
        c,
        "ServiceImport status",
        apply_status(&c.client, &import_ar(), i.ns, i.name, &status).await,
    )
    .is_some();
    Some((import, eps_ok && status_ok))
}

fn log_err<T>(c: &ClusterCache, what: &str, r: kube::Result<T>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(cluster = %c.name, error = %e, "failed to write {what}");
            None
        }
    }
}

/// Removes the import (its derived Service goes by garbage collection) and the Endpoints;
/// false when that could not be done (or checked).
async fn remove_import(
    shared: &Shared,
    c: &ClusterCache,
    ns: &str,
    name: &str,
    derived: &str,
) -> bool {
    let absent = json!("absent");
    if !shared.changed(&c.name, ns, name, &absent) {
        return true;
    }
    let done = match write::get(&c.client, &import_ar(), ns, name).await {
        Ok(Some(import))
            if import
                .labels()
                .get("app.kubernetes.io/managed-by")
                .map(String::as_str)
                == Some(MANAGED_BY) =>
        {
            let i = log_err(
                c,
                "ServiceImport",
                write::delete(&c.client, &import_ar(), ns, name).await,
            );
            let s = log_err(
                c,
                "Service",
                write::delete(&c.client, &core("Service", "services"), ns, derived).await,
            );
            let e = log_err(
                c,
                "Endpoints",
                write::delete(&c.client, &core("Endpoints", "endpoints"), ns, derived).await,
            );
            i.is_some() && s.is_some() && e.is_some()
        }
        // Absent, or not ours: nothing to remove.
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(cluster = %c.name, error = %e, "failed to read ServiceImport");
            false
        }
    };
    // Remember the absence only once it holds, so a failed delete is tried again.
    shared.mark_applied(&c.name, ns, name, done.then_some(&absent));
    done
}

/// Writes every exporter's conditions ([`gke_conditions`] of its resolved state): false when
/// a write failed.
async fn update_exports(shared: &Shared, all: &[Exporter], res: &Resolution) -> bool {
    let mut ok = true;
    let now = jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_default();
    for e in all {
        let Some(state) = res.states.get(&e.cluster.name) else {
            continue;
        };
        let mut conds: Vec<Value> = gke_conditions(state)
            .into_iter()
            .map(|d| {
                let status = if d.status { "True" } else { "False" };
                json!({"type": d.type_, "status": status, "reason": d.reason, "message": d.message, "lastTransitionTime": now})
            })
            .collect();
        let ns = e.export.namespace().unwrap_or_default();
        let name = e.export.name_any();
        keep_times(&e.export.data["status"]["conditions"], &mut conds);
        let body = json!({"apiVersion": "net.gke.io/v1", "kind": "ServiceExport", "metadata": {"name": name, "namespace": ns}, "status": {"conditions": conds}});
        let ar = api_resource(Flavour::Gke, "ServiceExport");
        let slot = format!("export:{name}");
        if !shared.changed(&e.cluster.name, &ns, &slot, &body) {
            continue;
        }
        let written = log_err(
            &e.cluster,
            "ServiceExport status",
            apply_status(&e.cluster.client, &ar, &ns, &name, &body).await,
        );
        shared.mark_applied(
            &e.cluster.name,
            &ns,
            &slot,
            written.is_some().then_some(&body),
        );
        ok &= written.is_some();
    }
    ok
}

/// Keeps lastTransitionTime of conditions whose status did not change (no churn).
fn keep_times(old: &Value, new: &mut [Value]) {
    for c in new.iter_mut() {
        if let Some(prev) = old.as_array().and_then(|o| {
            o.iter()
                .find(|p| p["type"] == c["type"] && p["status"] == c["status"])
        }) {
            c["lastTransitionTime"] = prev["lastTransitionTime"].clone();
        }
    }
}

//! Fault-matrix cases of the importing side (see `matrix`): namespace, import, derived
//! Service, endpoints, the importer, DNS, HTTP, and propagation.

use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use mcs_importer::Flavour;
use serde_json::json;

use super::DEFAULT_PROPAGATION_WINDOW as WINDOW;
use super::id::DiagnosisId;
use super::matrix::*;
use super::recipe::{NS, Recipe, SVC, assert_first, opts, ready_pods, wait_until};

pub(super) async fn import_missing(fl: Flavour) {
    let r = started(fl).await;
    deny_writes(&r, &r.b, "importer-cannot-import", &["serviceimports"]).await;
    exported(&r).await;
    // a's import carries a's pods: the reconcile that also tried b has run.
    r.wait_imported(&r.a, &r.a).await;
    assert_first(
        &r.diagnose(&opts(NOW)).await,
        DiagnosisId::ImportMissing,
        Some("b"),
    );
}

pub(super) async fn import_inconsistent(fl: Flavour) {
    let r = started(fl).await;
    r.healthy().await;
    deny_writes(&r, &r.b, "importer-cannot-import", &["serviceimports"]).await;
    // A second port on the exported Service.
    let services: Api<Service> = Api::namespaced(r.a.clone(), NS);
    let ports = json!({"spec": {"ports": [
        {"name": "http", "port": 80, "targetPort": 8080},
        {"name": "metrics", "port": 9090, "targetPort": 9090}]}});
    services
        .patch(SVC, &PatchParams::default(), &Patch::Merge(&ports))
        .await
        .expect("patch service");
    // b's import cannot follow; a's follows when the importer gets to it, so the first
    // broken link is in b, or in a when the doctor is faster than the importer.
    let d = r.diagnose(&opts(NOW)).await;
    assert_broken_in_b(&d, DiagnosisId::ImportInconsistent, "import");
    assert!(
        d.evidence.iter().any(|e| e.field == "spec.ports"),
        "{:?}",
        d.evidence
    );
}

/// The first broken link is `id` (in a or b) and `link` is broken in b.
fn assert_broken_in_b(d: &super::Diagnosis, id: DiagnosisId, link: &str) {
    let first = d.cluster.as_deref().unwrap_or("b");
    assert_first(d, id, Some(if first == "a" { "a" } else { "b" }));
    let row = d.checks.iter().find(|c| c.cluster == "b" && c.link == link);
    let state = row.map(|c| c.state);
    assert_eq!(state, Some(super::CheckState::Broken), "b/{link}: {row:?}");
}

pub(super) async fn derived_service_missing(fl: Flavour) {
    let r = started(fl).await;
    r.healthy().await;
    deny_writes(&r, &r.b, "importer-cannot-write-services", &["services"]).await;
    let services: Api<Service> = Api::namespaced(r.b.clone(), NS);
    services
        .delete(&derived(fl), &DeleteParams::default())
        .await
        .expect("delete derived");
    wait_until("derived Service gone in b", || async {
        match services.get_opt(&derived(fl)).await {
            Ok(None) => Ok(()),
            other => Err(format!(
                "{:?}",
                other.map(|s| s.map(|s| s.metadata.deletion_timestamp))
            )),
        }
    })
    .await;
    assert_first(
        &r.diagnose(&opts(NOW)).await,
        DiagnosisId::DerivedServiceMissing,
        Some("b"),
    );
}

pub(super) async fn endpoints_empty(fl: Flavour) {
    let r = started(fl).await;
    deny_writes(
        &r,
        &r.b,
        "importer-cannot-write-endpoints",
        &[endpoint_resource(fl)],
    )
    .await;
    exported(&r).await;
    r.wait_imported(&r.a, &r.a).await;
    wait_until("import with a VIP in b", || async {
        let i = r
            .mcs(&r.b, "ServiceImport")
            .get_opt(SVC)
            .await
            .map_err(|e| e.to_string())?;
        let ips = i.as_ref().map(|i| i.data["spec"]["ips"].clone());
        match ips
            .as_ref()
            .and_then(|v| v.as_array())
            .is_some_and(|a| !a.is_empty())
        {
            true => Ok(()),
            false => Err(format!("{ips:?}")),
        }
    })
    .await;
    assert_first(
        &r.diagnose(&opts(NOW)).await,
        DiagnosisId::EndpointsEmpty,
        Some("b"),
    );
}

pub(super) async fn endpoints_stale(fl: Flavour) {
    let r = started(fl).await;
    r.healthy().await;
    let before = r.imported(&r.b).await;
    deny_writes(
        &r,
        &r.b,
        "importer-cannot-write-endpoints",
        &[endpoint_resource(fl)],
    )
    .await;
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> = Api::namespaced(r.a.clone(), NS);
    let scale = Patch::Merge(json!({"spec": {"replicas": 2}}));
    deployments
        .patch_scale(SVC, &PatchParams::default(), &scale)
        .await
        .expect("scale");
    wait_until("two ready pods in a", || async {
        let n = ready_pods(&r.a).await.len();
        if n == 2 { Ok(()) } else { Err(format!("{n}")) }
    })
    .await;
    assert_eq!(
        r.imported(&r.b).await,
        before,
        "b's import could not change"
    );
    let d = r.diagnose(&opts(NOW)).await;
    assert_broken_in_b(&d, DiagnosisId::EndpointsStale, "endpoints");
    assert!(
        d.evidence[0].value.contains("missing: "),
        "{:?}",
        d.evidence
    );
}

/// A Lease `gke-mcs/gke-mcs-importer` last renewed an hour ago: an importer that died.
pub(super) async fn stale_lease(c: &kube::Client) {
    super::recipe::create_namespace(c, "gke-mcs").await;
    let renewed = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1);
    let lease: k8s_openapi::api::coordination::v1::Lease = serde_json::from_value(json!({
        "metadata": {"name": "gke-mcs-importer"},
        "spec": {"holderIdentity": "mcs-importer-1", "leaseDurationSeconds": 10,
                 "renewTime": renewed.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()}}))
    .expect("lease");
    Api::<k8s_openapi::api::coordination::v1::Lease>::namespaced(c.clone(), "gke-mcs")
        .create(&PostParams::default(), &lease)
        .await
        .expect("create lease");
}

pub(super) async fn importer_down(fl: Flavour) {
    let r = Recipe::start(fl, false, Duration::ZERO).await;
    stale_lease(&r.a).await;
    stale_lease(&r.b).await;
    exported(&r).await;
    let d = r.diagnose(&opts(WINDOW)).await;
    assert_first(&d, DiagnosisId::ImporterDown, Some("a"));
    assert!(
        d.evidence.iter().any(|e| e.field == "spec.renewTime"),
        "{:?}",
        d.evidence
    );
}

pub(super) async fn importer_absent(fl: Flavour) {
    let r = Recipe::start(fl, false, Duration::ZERO).await;
    exported(&r).await;
    // GKE always runs an importer in gke-mcs: none at all is down. Other implementations
    // have no known heartbeat: the young export is still propagating.
    let want = if fl == Flavour::Gke {
        DiagnosisId::ImporterDown
    } else {
        DiagnosisId::Propagating
    };
    assert_first(&r.diagnose(&opts(WINDOW)).await, want, Some("a"));
}

pub(super) async fn importer_permission_denied(fl: Flavour) {
    let r = started(fl).await;
    // What each flavour's importer reads: Endpoints (GKE), EndpointSlices (upstream).
    let resource = match fl {
        Flavour::Gke => "endpoints",
        Flavour::Upstream => "endpointslices.discovery.k8s.io",
    };
    let deny = json!({"deny": {"user": IMPORTER_USER, "verbs": ["get", "list", "watch"], "resources": [resource]}});
    r.fault(&r.a, "importer-no-endpoints", deny).await;
    exported(&r).await;
    for c in [&r.a, &r.b] {
        let events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(c.clone(), NS);
        wait_until("EndpointsImportFailed Warning", || async {
            let list = events
                .list(&ListParams::default())
                .await
                .map_err(|e| e.to_string())?;
            let found = list
                .items
                .iter()
                .any(|e| e.reason.as_deref() == Some("EndpointsImportFailed"));
            if found {
                Ok(())
            } else {
                Err(format!("{} events", list.items.len()))
            }
        })
        .await;
    }
    let d = r.diagnose(&opts(WINDOW)).await;
    assert_first(&d, DiagnosisId::ImporterPermissionDenied, Some("a"));
    let remedy = match fl {
        Flavour::Gke => "roles/compute.networkViewer",
        Flavour::Upstream => "read access (get, list, watch) to endpointslices",
    };
    assert!(d.remedy.contains(remedy), "{}", d.remedy);
    assert!(
        d.evidence.iter().any(|e| e.value.contains("forbidden")),
        "{:?}",
        d.evidence
    );
}

pub(super) async fn dns_failed(fl: Flavour) {
    let r = started(fl).await;
    r.healthy().await;
    r.fault(&r.b, "dns-down", json!({"dns": {"mode": "ServFail"}}))
        .await;
    assert_first(
        &r.diagnose(&opts(WINDOW)).await,
        DiagnosisId::DnsFailed,
        Some("b"),
    );
}

pub(super) async fn dns_wrong_answer(fl: Flavour) {
    let r = started(fl).await;
    r.healthy().await;
    // A foreign net.gke.io import shadows the upstream one in b's DNS (the sim prefers
    // it), as a stale record would.
    mcs_importer::install_crds(&r.b, Flavour::Gke)
        .await
        .expect("GKE CRDs");
    let gvk = kube::api::GroupVersionKind::gvk("net.gke.io", "v1", "ServiceImport");
    let ar = kube::api::ApiResource::from_gvk_with_plural(&gvk, "serviceimports");
    let stray: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "net.gke.io/v1", "kind": "ServiceImport", "metadata": {"name": SVC},
        "spec": {"type": "ClusterSetIP", "ips": ["10.250.0.1"], "ports": [{"port": 80, "protocol": "TCP"}]}}))
    .expect("import");
    Api::<kube::api::DynamicObject>::namespaced_with(r.b.clone(), NS, &ar)
        .create(&PostParams::default(), &stray)
        .await
        .expect("create stray import");
    let d = r.diagnose(&opts(NOW)).await;
    assert_first(&d, DiagnosisId::DnsWrongAnswer, Some("b"));
    assert!(
        d.evidence[0].value.contains("10.250.0.1"),
        "{:?}",
        d.evidence
    );
}

pub(super) async fn unreachable(fl: Flavour) {
    let r = started(fl).await;
    r.healthy().await;
    r.fault(&r.b, "cut-from-a", json!({"partition": {"peers": ["a"]}}))
        .await;
    let o = super::Options {
        probe_timeout: Duration::from_secs(2),
        ..opts(WINDOW)
    };
    assert_first(&r.diagnose(&o).await, DiagnosisId::Unreachable, Some("b"));
}

pub(super) async fn propagating(fl: Flavour) {
    let r = Recipe::start(fl, true, Duration::from_secs(60)).await;
    exported(&r).await;
    let d = r.diagnose(&opts(WINDOW)).await;
    assert_first(&d, DiagnosisId::Propagating, Some("a"));
    assert!(d.summary.contains("wait"), "{}", d.summary);
}

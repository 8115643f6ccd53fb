//! Fault-matrix cases of the exporting side (see `matrix`): the healthy recipe, the
//! Service, its selector and pods, and the ServiceExport.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use mcs_importer::Flavour;
use serde_json::json;

use super::DEFAULT_PROPAGATION_WINDOW as WINDOW;
use super::id::DiagnosisId;
use super::matrix::*;
use super::model::CheckState;
use super::recipe::{NS, SVC, assert_first, opts, ready_pods, wait_local_endpoints, wait_until};
use crate::probe::PROBE_POD;

pub(super) async fn healthy(fl: Flavour) {
    let r = started(fl).await;
    r.healthy().await;
    let d = r.diagnose(&opts(WINDOW)).await;
    assert_first(&d, "healthy", None);
    for c in ["a", "b"] {
        for link in ["dns", "http"] {
            let row = d.checks.iter().find(|x| x.cluster == c && x.link == link);
            assert_eq!(
                row.map(|x| x.state),
                Some(CheckState::Ok),
                "{c}/{link}: {row:?}"
            );
        }
    }
    for c in [&r.a, &r.b] {
        let pods: Api<Pod> = Api::namespaced(c.clone(), NS);
        wait_until("the doctor's probe pod deleted", || async {
            match pods.get_opt(PROBE_POD).await {
                Ok(None) => Ok(()),
                other => Err(format!(
                    "{:?}",
                    other.map(|p| p.map(|p| p.metadata.deletion_timestamp))
                )),
            }
        })
        .await;
    }
}

pub(super) async fn keeps_existing_probe_pod(fl: Flavour) {
    let r = started(fl).await;
    r.healthy().await;
    let t = Duration::from_secs(10);
    let image = crate::probe::DEFAULT_PROBE_IMAGE;
    crate::probe::ProbePod::ensure(r.b.clone(), "b", NS, "a-scenario", image, t)
        .await
        .expect("scenario's probe pod");
    let d = r.diagnose(&opts(WINDOW)).await;
    assert_first(&d, "healthy", None);
    let pod = Api::<Pod>::namespaced(r.b.clone(), NS)
        .get(PROBE_POD)
        .await
        .expect("still there");
    assert!(
        pod.metadata.deletion_timestamp.is_none(),
        "the doctor deleted a pod it did not create"
    );
}

pub(super) async fn service_missing(fl: Flavour) {
    let r = started(fl).await;
    r.namespace(&r.a).await;
    r.namespace(&r.b).await;
    r.export(&r.a).await;
    assert_first(
        &r.diagnose(&opts(WINDOW)).await,
        DiagnosisId::ServiceMissing,
        Some("a"),
    );
}

pub(super) async fn external_name(fl: Flavour) {
    let r = started(fl).await;
    r.namespace(&r.a).await;
    r.namespace(&r.b).await;
    r.app(&r.a, |_, s| {
        s["spec"] = json!({"type": "ExternalName", "externalName": "example.com"})
    })
    .await;
    r.export(&r.a).await;
    assert_first(
        &r.diagnose(&opts(WINDOW)).await,
        DiagnosisId::ExternalName,
        Some("a"),
    );
}

pub(super) async fn selector_matches_nothing(fl: Flavour) {
    let r = started(fl).await;
    r.namespace(&r.a).await;
    r.namespace(&r.b).await;
    r.app(&r.a, |_, s| {
        s["spec"]["selector"] = json!({"app": "wheremi"})
    })
    .await;
    r.export(&r.a).await;
    wait_until("whereami pods ready", || async {
        let ready = ready_pods(&r.a).await;
        if ready.is_empty() {
            Err("none".into())
        } else {
            Ok(())
        }
    })
    .await;
    let d = r.diagnose(&opts(WINDOW)).await;
    assert_first(&d, DiagnosisId::SelectorMatchesNothing, Some("a"));
    assert!(
        d.evidence.iter().any(|e| e.value.contains("app=whereami")),
        "{:?}",
        d.evidence
    );
}

pub(super) async fn pods_not_ready(fl: Flavour) {
    let r = started(fl).await;
    r.namespace(&r.a).await;
    r.namespace(&r.b).await;
    let closed_port = json!({"tcpSocket": {"port": 9}, "periodSeconds": 1});
    r.app(&r.a, |d, _| {
        d["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = closed_port
    })
    .await;
    r.export(&r.a).await;
    let pods: Api<Pod> = Api::namespaced(r.a.clone(), NS);
    wait_until("a running whereami pod", || async {
        let list = pods
            .list(&ListParams::default().labels("app=whereami"))
            .await;
        let list = list.map_err(|e| e.to_string())?;
        let running = list
            .items
            .iter()
            .any(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"));
        if running {
            Ok(())
        } else {
            Err(format!("{} pods, none running", list.items.len()))
        }
    })
    .await;
    assert_first(
        &r.diagnose(&opts(WINDOW)).await,
        DiagnosisId::PodsNotReady,
        Some("a"),
    );
}

pub(super) async fn export_not_exported(fl: Flavour) {
    let r = started(fl).await;
    r.namespace(&r.a).await;
    r.namespace(&r.b).await;
    r.app(&r.a, |_, _| {}).await;
    wait_local_endpoints(&r.a).await;
    assert_first(
        &r.diagnose(&opts(WINDOW)).await,
        DiagnosisId::ExportNotExported,
        Some("a"),
    );
}

pub(super) async fn export_conflict(fl: Flavour) {
    let r = started(fl).await;
    r.namespace(&r.a).await;
    r.namespace(&r.b).await;
    r.app(&r.a, |_, _| {}).await;
    r.app(&r.b, |_, s| s["spec"]["ports"][0]["port"] = json!(81))
        .await;
    r.export(&r.a).await;
    r.export(&r.b).await;
    wait_local_endpoints(&r.a).await;
    wait_local_endpoints(&r.b).await;
    // Both flavours resolve with the same rule (`mcs_importer::conflict::resolve`) and flag
    // every constituent export (KEP-1645; GKE's own rule is unpublished).
    let (first, flagged) = ("a", vec![&r.a, &r.b]);
    for c in flagged {
        let exports = r.mcs(c, "ServiceExport");
        wait_until("Conflict=True on the export", || async {
            let e = exports.get(SVC).await.map_err(|e| e.to_string())?;
            let conds = e.data["status"]["conditions"].clone();
            let mut all = conds.as_array().into_iter().flatten();
            match all.any(|c| c["type"] == "Conflict" && c["status"] == "True") {
                true => Ok(()),
                false => Err(conds.to_string()),
            }
        })
        .await;
    }
    assert_first(
        &r.diagnose(&opts(WINDOW)).await,
        DiagnosisId::ExportConflict,
        Some(first),
    );
}

pub(super) async fn namespace_missing(fl: Flavour) {
    let r = started(fl).await;
    r.namespace(&r.a).await;
    r.app(&r.a, |_, _| {}).await;
    r.export(&r.a).await;
    r.wait_imported(&r.a, &r.a).await;
    wait_local_endpoints(&r.a).await;
    assert_first(
        &r.diagnose(&opts(WINDOW)).await,
        DiagnosisId::NamespaceMissing,
        Some("b"),
    );
}

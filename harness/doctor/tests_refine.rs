//! `judge` on hand-built facts, continued: the refinements of importer-owned links
//! (importer down, permission denied, propagating), DNS and HTTP, and the order of links.

use std::collections::BTreeSet;
use std::time::Duration;

use mcs_importer::Flavour;

use super::facts::*;
use super::id::DiagnosisId;
use super::model::{CheckState, Diagnosis};
use super::tests::{both, conditions, expect, expect_with, healthy, old, set, ts};
use crate::probe::{DnsResult, HttpResult};

fn stale_leases(f: &mut Facts) {
    for c in &mut f.clusters {
        if let Some(l) = c.importer.lease.as_mut() {
            l.renewed = old();
        }
    }
}

#[test]
fn importer_down_explains_its_links_and_is_a_link_itself() {
    for fl in both() {
        let mut f = healthy(fl);
        stale_leases(&mut f);
        expect(&f, DiagnosisId::ImporterDown, Some("a"));

        // The first symptom is b's endpoints; the stale heartbeat explains it.
        f.clusters[1].imported = Some(BTreeSet::new());
        let d = expect(&f, DiagnosisId::ImporterDown, Some("b"));
        assert!(d.evidence.iter().any(|e| e.field == "spec.renewTime"));
        assert!(
            d.evidence.iter().any(
                |e| e.object.starts_with("Endpoints") || e.object.starts_with("EndpointSlices")
            )
        );

        // Down beats propagating: waiting will not help.
        let mut f = healthy(fl);
        stale_leases(&mut f);
        f.clusters[1].import = None;
        f.clusters[1].namespace_created = Some(ts("2026-01-01T00:59:50Z"));
        expect_with(
            &f,
            Duration::from_secs(300),
            DiagnosisId::ImporterDown,
            Some("b"),
        );
    }
}

#[test]
fn gke_without_any_importer_is_down_upstream_unknown() {
    let mut f = healthy(Flavour::Gke);
    for c in &mut f.clusters {
        c.importer = ImporterFacts {
            pods: Some(Vec::new()),
            ..ImporterFacts::default()
        };
    }
    expect(&f, DiagnosisId::ImporterDown, Some("a"));
    f.flavour = Flavour::Upstream;
    for c in &mut f.clusters {
        if let Some(e) = c.export.as_mut() {
            e.conditions = conditions(Flavour::Upstream);
        }
    }
    expect(&f, Diagnosis::HEALTHY, None);

    let mut f = healthy(Flavour::Gke);
    f.clusters[1].importer = ImporterFacts {
        pods: Some(vec![PodFacts {
            name: "gke-mcs-importer-x".into(),
            state: "Running, importer CrashLoopBackOff".into(),
            ..PodFacts::default()
        }]),
        ..ImporterFacts::default()
    };
    let d = expect(&f, DiagnosisId::ImporterDown, Some("b"));
    assert!(d.evidence[0].value.contains("CrashLoopBackOff"));
}

#[test]
fn permission_denied_from_events_conditions_or_logs() {
    let warning = WarningFacts {
        object: "ServiceImport whereami".into(),
        name: "whereami.1".into(),
        reason: "EndpointsImportFailed".into(),
        message: "failed to import endpoints of demo/whereami from cluster a: endpoints \"whereami\" is forbidden".into(),
        last: old(),
    };
    for fl in both() {
        let mut f = healthy(fl);
        f.clusters[1].imported = Some(BTreeSet::new());
        f.clusters[1].warnings = vec![warning.clone()];
        let d = expect(&f, DiagnosisId::ImporterPermissionDenied, Some("b"));
        assert!(d.evidence.iter().any(|e| e.value.contains("forbidden")));
        let importer_b = d
            .checks
            .iter()
            .find(|c| c.cluster == "b" && c.link == "importer");
        assert_eq!(importer_b.map(|c| c.state), Some(CheckState::Broken));
        if fl == Flavour::Gke {
            assert!(
                d.remedy
                    .contains("gcloud projects add-iam-policy-binding PROJECT_ID")
            );
            assert!(d.remedy.contains("roles/compute.networkViewer"));
        }
    }
    // An export condition in the exporting cluster says it too.
    let mut f = healthy(Flavour::Gke);
    f.clusters[1].imported = Some(BTreeSet::new());
    if let Some(e) = f.clusters[0].export.as_mut() {
        e.conditions.push(CondFacts {
            type_: "EndpointsImported".into(),
            status: "False".into(),
            reason: "ReadFailed".into(),
            message: "endpoints is forbidden: User cannot list".into(),
        });
    }
    expect(&f, DiagnosisId::ImporterPermissionDenied, Some("b"));
    // GKE's importer logs.
    let mut f = healthy(Flavour::Gke);
    f.clusters[1].imported = Some(set(&["10.1.0.9"]));
    f.clusters[1].importer = ImporterFacts {
        pods: Some(vec![PodFacts {
            name: "gke-mcs-importer-x".into(),
            ready: true,
            ..PodFacts::default()
        }]),
        permission_logs: vec!["gke-mcs-importer-x: googleapi: Error 403: Required 'compute.networkEndpointGroups.get' permission".into()],
        ..ImporterFacts::default()
    };
    expect(&f, DiagnosisId::ImporterPermissionDenied, Some("b"));
}

#[test]
fn dns_and_http_ids() {
    for fl in both() {
        let mut f = healthy(fl);
        f.clusters[1].probes.dns = Some(DnsResult::NxDomain);
        f.clusters[1].probes.http = None;
        expect(&f, DiagnosisId::DnsNxdomain, Some("b"));

        let mut f = healthy(fl);
        f.clusters[1].probes.dns =
            Some(DnsResult::Answer(["10.99.0.1".parse().expect("ip")].into()));
        expect(&f, DiagnosisId::DnsWrongAnswer, Some("b"));

        let mut f = healthy(fl);
        f.clusters[1].probes.dns = Some(DnsResult::Failed(";; connection timed out".into()));
        expect(&f, DiagnosisId::DnsFailed, Some("b"));

        let mut f = healthy(fl);
        f.clusters[1].probes.http = Some(HttpResult {
            status: None,
            body: String::new(),
            error: Some("download timed out".into()),
            backend: None,
        });
        let d = expect(&f, DiagnosisId::Unreachable, Some("b"));
        assert!(d.evidence[0].value.contains("timed out"));

        // A 404 is an answer: reachable.
        let mut f = healthy(fl);
        if let Some(h) = f.clusters[1].probes.http.as_mut() {
            h.status = Some(404);
        }
        expect(&f, Diagnosis::HEALTHY, None);

        // Probes that could not run are skipped, not broken.
        let mut f = healthy(fl);
        f.clusters[1].probes = ProbeFacts {
            skipped: Some("no probe pod: image pull".into()),
            ..ProbeFacts::default()
        };
        expect(&f, Diagnosis::HEALTHY, None);
    }
}

#[test]
fn young_importer_links_are_propagating_and_say_wait() {
    let window = Duration::from_secs(300);
    for fl in both() {
        let mut f = healthy(fl);
        f.clusters[1].import = None;
        f.clusters[1].namespace_created = Some(ts("2026-01-01T00:59:48Z"));
        let d = expect_with(&f, window, DiagnosisId::Propagating, Some("b"));
        assert!(d.summary.contains("12s old"), "{}", d.summary);
        assert!(d.summary.contains("import-missing"), "{}", d.summary);
        assert!(d.remedy.starts_with("wait"));
        let row = d
            .checks
            .iter()
            .find(|c| c.cluster == "b" && c.link == "import");
        assert_eq!(row.map(|c| c.state), Some(CheckState::Propagating));
        // Without a window the same facts are broken.
        expect(&f, DiagnosisId::ImportMissing, Some("b"));

        // A young export without conditions yet.
        let mut f = healthy(fl);
        if let Some(e) = f.clusters[0].export.as_mut() {
            e.conditions.clear();
            e.created = Some(ts("2026-01-01T00:59:59Z"));
        }
        expect_with(&f, window, DiagnosisId::Propagating, Some("a"));

        // A hard break later in the chain wins over propagation.
        let mut f = healthy(fl);
        f.clusters[1].import = None;
        f.clusters[1].namespace_created = Some(ts("2026-01-01T00:59:48Z"));
        f.clusters[0].probes.dns = Some(DnsResult::Failed("SERVFAIL".into()));
        expect_with(&f, window, DiagnosisId::DnsFailed, Some("a"));

        // User-owned breaks are never propagating.
        let mut f = healthy(fl);
        f.clusters[0].service = None;
        f.clusters[0]
            .export
            .iter_mut()
            .for_each(|e| e.created = Some(ts("2026-01-01T00:59:59Z")));
        expect_with(&f, window, DiagnosisId::ServiceMissing, Some("a"));
    }
}

#[test]
fn chain_order_beats_cluster_order() {
    // b's namespace is missing (link 6), a's endpoints are stale (link 9): b first.
    let mut f = healthy(Flavour::Gke);
    f.clusters[1].namespace_present = false;
    f.clusters[1].import = None;
    f.clusters[0].imported = Some(set(&["10.1.0.9"]));
    expect(&f, DiagnosisId::NamespaceMissing, Some("b"));
}

#[test]
fn long_messages_are_cut_in_evidence() {
    let mut f = healthy(Flavour::Gke);
    f.clusters[1].imported = Some(BTreeSet::new());
    f.clusters[1].warnings = vec![WarningFacts {
        object: "ServiceImport whereami".into(),
        name: "whereami.2".into(),
        reason: "EndpointsImportFailed".into(),
        message: format!("forbidden: {}", "x".repeat(2000)),
        last: old(),
    }];
    let d = expect(&f, DiagnosisId::ImporterPermissionDenied, Some("b"));
    assert!(d.evidence.iter().all(|e| e.value.chars().count() <= 301));
    assert!(d.evidence[0].value.ends_with('…'));
}

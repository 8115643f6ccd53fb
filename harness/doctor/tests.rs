//! `judge` on hand-built facts: the healthy fleet and the ids of the exporting and importing
//! links (the refinements are in `tests_refine`), and the facts builder both use.

use std::collections::BTreeSet;
use std::time::Duration;

use jiff::Timestamp;
use mcs_importer::Flavour;

use super::facts::*;
use super::id::DiagnosisId;
use super::judge::judge;
use super::model::{CheckState, Diagnosis};
use crate::probe::{Backend, DnsResult, HttpResult};

pub(super) const POD_IP: &str = "10.1.0.5";

pub(super) fn ts(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

pub(super) fn now() -> Timestamp {
    ts("2026-01-01T01:00:00Z")
}

/// An hour before `now`: old enough for any window used here.
pub(super) fn old() -> Option<Timestamp> {
    Some(ts("2026-01-01T00:00:00Z"))
}

pub(super) fn set(ips: &[&str]) -> BTreeSet<String> {
    ips.iter().map(|s| s.to_string()).collect()
}

pub(super) fn conditions(flavour: Flavour) -> Vec<CondFacts> {
    let c = |t: &str, s: &str, r: &str| CondFacts {
        type_: t.into(),
        status: s.into(),
        reason: r.into(),
        message: String::new(),
    };
    match flavour {
        Flavour::Gke => vec![
            c("Initialized", "True", "Done"),
            c("Exported", "True", "Done"),
            c("Conflict", "False", "NoConflict"),
        ],
        Flavour::Upstream => vec![
            c("Valid", "True", "Valid"),
            c("Ready", "True", "Ready"),
            c("Conflict", "False", "NoConflicts"),
        ],
    }
}

pub(super) fn importing(name: &str, vip: &str) -> ClusterFacts {
    ClusterFacts {
        name: name.into(),
        namespace_present: true,
        namespace_created: old(),
        import: Some(ImportFacts {
            created: old(),
            type_: "ClusterSetIP".into(),
            ports: vec![PortKey {
                name: Some("http".into()),
                ..PortKey::tcp(80)
            }],
            ips: vec![vip.into()],
            clusters: vec!["a".into()],
            derived_name: "gke-mcs-7pqvt62non".into(),
        }),
        derived: Some(DerivedFacts {
            name: "gke-mcs-7pqvt62non".into(),
            cluster_ip: Some(vip.into()),
            ports: vec![PortKey::tcp(80)],
        }),
        imported: Some(set(&[POD_IP])),
        importer: ImporterFacts {
            lease: Some(LeaseFacts {
                holder: Some("mcs-importer-1".into()),
                renewed: Some(ts("2026-01-01T00:59:58Z")),
                duration_secs: Some(10),
            }),
            pods: Some(Vec::new()),
            ..ImporterFacts::default()
        },
        probes: ProbeFacts {
            fqdn: "whereami.demo.svc.clusterset.local".into(),
            dns: Some(DnsResult::Answer([vip.parse().expect("ip")].into())),
            url: "http://whereami.demo.svc.clusterset.local/".into(),
            http: Some(HttpResult {
                status: Some(200),
                body: "{}".into(),
                error: None,
                backend: Some(Backend {
                    cluster: Some("a".into()),
                    pod: "whereami-1".into(),
                    pod_ip: Some(POD_IP.into()),
                }),
            }),
            ..ProbeFacts::default()
        },
        ..ClusterFacts::default()
    }
}

/// Cluster a runs and exports whereami (one ready pod); a and b both import it.
pub(super) fn healthy(flavour: Flavour) -> Facts {
    let mut a = importing("a", "10.96.0.10");
    a.service = Some(ServiceFacts {
        type_: "ClusterIP".into(),
        selector: Some([("app".to_string(), "whereami".to_string())].into()),
        cluster_ip: Some("10.96.0.1".into()),
        ports: vec![PortKey {
            name: Some("http".into()),
            ..PortKey::tcp(80)
        }],
        session_affinity: "None".into(),
        updated: old(),
        ..ServiceFacts::default()
    });
    a.pods = vec![PodFacts {
        name: "whereami-1".into(),
        ip: Some(POD_IP.into()),
        ready: true,
        changed: old(),
        state: "Running".into(),
    }];
    a.local_endpoints = set(&[POD_IP]);
    a.export = Some(ExportFacts {
        created: old(),
        conditions: conditions(flavour),
    });
    Facts {
        flavour,
        namespace: "demo".into(),
        service: "whereami".into(),
        now: now(),
        clusters: vec![a, importing("b", "10.97.0.10")],
        memberships: Default::default(),
        consumer: None,
        implementation: None,
    }
}

/// Judges with no propagation window and checks id and cluster, showing the table if not.
pub(super) fn expect(f: &Facts, id: impl std::fmt::Display, cluster: Option<&str>) -> Diagnosis {
    expect_with(f, Duration::ZERO, id, cluster)
}

pub(super) fn expect_with(
    f: &Facts,
    window: Duration,
    id: impl std::fmt::Display,
    cluster: Option<&str>,
) -> Diagnosis {
    let d = judge(f, window);
    let mut table = Vec::new();
    super::render_table(&d, &mut table).expect("render");
    let table = String::from_utf8_lossy(&table);
    assert_eq!(d.id, id.to_string(), "\n{table}");
    assert_eq!(d.cluster.as_deref(), cluster, "\n{table}");
    d
}

pub(super) fn both() -> [Flavour; 2] {
    Flavour::ALL
}

#[test]
fn healthy_fleet_is_all_green() {
    for fl in both() {
        let d = expect(&healthy(fl), Diagnosis::HEALTHY, None);
        assert!(d.checks.iter().all(|c| c.state != CheckState::Broken));
        let ok = |cluster: &str, link: &str| {
            d.checks
                .iter()
                .any(|c| c.cluster == cluster && c.link == link && c.state == CheckState::Ok)
        };
        for link in super::LINKS {
            assert!(
                ok("b", link)
                    || !["namespace", "import", "endpoints", "dns", "http"].contains(&link)
            );
            assert!(ok("a", link), "a/{link}");
        }
    }
}

#[test]
fn service_side_ids() {
    for fl in both() {
        let mut f = healthy(fl);
        f.clusters[0].service = None;
        expect(&f, DiagnosisId::ServiceMissing, Some("a"));

        let mut f = healthy(fl);
        f.clusters[0].export = None;
        f.clusters[0].service = None;
        expect(&f, DiagnosisId::ServiceMissing, Some("a"));

        let mut f = healthy(fl);
        if let Some(s) = f.clusters[0].service.as_mut() {
            s.type_ = "ExternalName".into();
            s.external_name = Some("example.com".into());
        }
        expect(&f, DiagnosisId::ExternalName, Some("a"));

        let mut f = healthy(fl);
        f.clusters[0].pods.clear();
        f.clusters[0].other_pods = vec!["whereami-1 {app=whereami}".into()];
        let d = expect(&f, DiagnosisId::SelectorMatchesNothing, Some("a"));
        assert!(
            d.evidence
                .iter()
                .any(|e| e.value.contains("{app=whereami}"))
        );

        let mut f = healthy(fl);
        f.clusters[0].pods[0].ready = false;
        expect(&f, DiagnosisId::PodsNotReady, Some("a"));

        let mut f = healthy(fl);
        f.clusters[0].local_endpoints.clear();
        let d = expect(&f, DiagnosisId::EndpointsEmpty, Some("a"));
        assert!(d.remedy.contains("endpoints controller"), "{}", d.remedy);
    }
}

#[test]
fn export_ids() {
    for fl in both() {
        let mut f = healthy(fl);
        f.clusters[0].export = None;
        expect(&f, DiagnosisId::ExportNotExported, Some("a"));

        let mut f = healthy(fl);
        if let Some(e) = f.clusters[0].export.as_mut() {
            e.conditions.retain(|c| c.type_ != "Conflict");
            e.conditions.push(CondFacts {
                type_: "Conflict".into(),
                status: "True".into(),
                reason: "PortConflict".into(),
                message: "ports differ".into(),
            });
        }
        let d = expect(&f, DiagnosisId::ExportConflict, Some("a"));
        assert!(d.evidence[0].value.contains("PortConflict"));

        // Never observed by a live importer, and old: not exported.
        let mut f = healthy(fl);
        if let Some(e) = f.clusters[0].export.as_mut() {
            e.conditions.clear();
        }
        expect(&f, DiagnosisId::ExportNotExported, Some("a"));
    }
}

#[test]
fn import_side_ids() {
    for fl in both() {
        let mut f = healthy(fl);
        f.clusters[1].namespace_present = false;
        f.clusters[1].import = None;
        expect(&f, DiagnosisId::NamespaceMissing, Some("b"));

        let mut f = healthy(fl);
        f.clusters[1].import = None;
        expect(&f, DiagnosisId::ImportMissing, Some("b"));

        let mut f = healthy(fl);
        if let Some(i) = f.clusters[1].import.as_mut() {
            i.ports = vec![PortKey::tcp(81)];
        }
        let d = expect(&f, DiagnosisId::ImportInconsistent, Some("b"));
        assert_eq!(d.evidence[0].field, "spec.ports");

        let mut f = healthy(fl);
        if let Some(i) = f.clusters[1].import.as_mut() {
            i.ips = vec!["10.97.0.99".into()];
        }
        let d = expect(&f, DiagnosisId::ImportInconsistent, Some("b"));
        assert_eq!(d.evidence[0].field, "spec.ips");

        let mut f = healthy(fl);
        f.clusters[1].derived = None;
        expect(&f, DiagnosisId::DerivedServiceMissing, Some("b"));

        let mut f = healthy(fl);
        f.clusters[1].imported = Some(BTreeSet::new());
        expect(&f, DiagnosisId::EndpointsEmpty, Some("b"));

        let mut f = healthy(fl);
        f.clusters[1].imported = None;
        expect(&f, DiagnosisId::EndpointsEmpty, Some("b"));

        let mut f = healthy(fl);
        f.clusters[1].imported = Some(set(&["10.1.0.9"]));
        let d = expect(&f, DiagnosisId::EndpointsStale, Some("b"));
        assert!(
            d.evidence[0].value.contains("missing: 10.1.0.5"),
            "{:?}",
            d.evidence
        );
    }
}

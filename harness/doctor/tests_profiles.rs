//! `judge` with the upstream implementation profiles on hand-built facts: which profile the
//! objects' markers select (and why), verdicts that key on negative conditions whatever
//! their reasons, and each profile's derived-Service, endpoints and DNS rules.

use std::collections::BTreeSet;

use mcs_importer::Flavour;

use super::facts::*;
use super::id::DiagnosisId;
use super::model::{CheckState, Diagnosis};
use super::profile::{Implementation, choose};
use super::tests::{POD_IP, expect, healthy, set};
use crate::probe::DnsResult;

const SERVICE_IP: &str = "10.96.0.1";

fn cond(t: &str, s: &str, r: &str) -> CondFacts {
    CondFacts {
        type_: t.into(),
        status: s.into(),
        reason: r.into(),
        message: String::new(),
    }
}

fn upstream(i: Implementation) -> Facts {
    let mut f = healthy(Flavour::Upstream);
    f.implementation = Some(i);
    f
}

fn set_conditions(f: &mut Facts, conds: Vec<CondFacts>) {
    if let Some(e) = f.clusters[0].export.as_mut() {
        e.conditions = conds;
    }
}

fn state(d: &Diagnosis, cluster: &str, link: &str) -> CheckState {
    let row = d
        .checks
        .iter()
        .find(|c| c.cluster == cluster && c.link == link);
    row.map(|c| c.state).unwrap_or(CheckState::Skipped)
}

#[test]
fn markers_select_the_profile_and_say_why() {
    let mut f = healthy(Flavour::Upstream);
    assert_eq!(choose(&f).how, "default");
    f.clusters[1].upstream.import_annotations.insert(
        "multicluster.kubernetes.io/derived-service".into(),
        "derived-x".into(),
    );
    let c = choose(&f);
    assert_eq!(
        (c.implementation, c.how.as_str()),
        (Implementation::McsApi, "detected")
    );
    let cases = [
        ("lighthouse-agent.submariner.io", Implementation::Lighthouse),
        (
            "aws-cloud-map-mcs-controller-for-k8s",
            Implementation::CloudMap,
        ),
        (
            "endpointslice-local-mcsapi-controller.cilium.io",
            Implementation::Cilium,
        ),
        ("mcs-importer.mcs-harness.dev", Implementation::McsApi),
    ];
    for (manager, want) in cases {
        let mut f = f.clone();
        f.clusters[1].upstream.slices = vec![SliceFacts {
            name: "s1".into(),
            managed_by: manager.into(),
            ready: set(&[POD_IP]),
        }];
        let c = choose(&f);
        assert_eq!(c.implementation, want, "{manager}");
        assert!(
            c.reason.contains(manager) && c.reason.contains("cluster b"),
            "{}",
            c.reason
        );
    }
    let mut g = f.clone();
    g.clusters[0]
        .upstream
        .derived_annotations
        .insert("service.cilium.io/global".into(), "true".into());
    assert_eq!(choose(&g).implementation, Implementation::Cilium);
    let mut g = f.clone();
    g.clusters[0].upstream.antrea = Some(AntreaFacts::default());
    assert_eq!(choose(&g).implementation, Implementation::Antrea);
    // Named on the command line, the profile wins over the markers.
    g.implementation = Some(Implementation::Lighthouse);
    let c = choose(&g);
    assert_eq!(
        (c.implementation, c.how.as_str()),
        (Implementation::Lighthouse, "given")
    );
    // The diagnosis carries the choice; the table shows it first.
    let d = super::judge::judge(&g, std::time::Duration::ZERO);
    let mut out = Vec::new();
    super::render_table(&d, &mut out).expect("render");
    let table = String::from_utf8_lossy(&out);
    assert!(
        table.starts_with(
            "implementation: Submariner Lighthouse (lighthouse), given: --implementation\n"
        ),
        "{table}"
    );
    assert_eq!(
        d.implementation.map(|c| c.implementation),
        Some(Implementation::Lighthouse)
    );
    assert!(
        super::judge::judge(&healthy(Flavour::Gke), std::time::Duration::ZERO)
            .implementation
            .is_none()
    );
}

#[test]
fn verdicts_key_on_negative_conditions_not_reasons() {
    use DiagnosisId as D;
    let cases: Vec<(Implementation, Vec<CondFacts>, &str)> = vec![
        // Lighthouse keeps Conflict=False with the old reason: not a conflict.
        (
            Implementation::Lighthouse,
            vec![
                cond("Valid", "True", "x"),
                cond("Ready", "True", "x"),
                cond("Conflict", "False", "ConflictingPorts"),
            ],
            Diagnosis::HEALTHY,
        ),
        (
            Implementation::Lighthouse,
            vec![cond("Valid", "False", "ServiceUnavailable")],
            D::ExportNotExported.as_str(),
        ),
        // Cilium's older reason is just `Conflict`.
        (
            Implementation::Cilium,
            vec![
                cond("Valid", "True", "Valid"),
                cond("Conflict", "True", "Conflict"),
                cond("Ready", "False", "Conflict"),
            ],
            D::ExportConflict.as_str(),
        ),
        (
            Implementation::Cilium,
            vec![cond("Valid", "True", "Valid")],
            Diagnosis::HEALTHY,
        ),
        // mcs-api main 2025-06/08: Accepted / Exported / Conflicted.
        (
            Implementation::McsApi,
            vec![cond("Accepted", "False", "NoService")],
            D::ExportNotExported.as_str(),
        ),
        (
            Implementation::McsApi,
            vec![
                cond("Accepted", "True", "Accepted"),
                cond("Exported", "True", "Exported"),
                cond("Conflicted", "True", "TypeConflict"),
            ],
            D::ExportConflict.as_str(),
        ),
        (
            Implementation::McsApi,
            vec![
                cond("Accepted", "True", "Accepted"),
                cond("Exported", "True", "Exported"),
            ],
            Diagnosis::HEALTHY,
        ),
        // The reference controller writes Ready: without it the export is not exported.
        (
            Implementation::McsApi,
            vec![cond("Valid", "True", "Valid")],
            D::ExportNotExported.as_str(),
        ),
        // Cloud Map writes no condition at all.
        (Implementation::CloudMap, Vec::new(), Diagnosis::HEALTHY),
        (
            Implementation::Antrea,
            vec![cond("Valid", "True", "Succeed")],
            Diagnosis::HEALTHY,
        ),
        (
            Implementation::Antrea,
            vec![cond("Valid", "False", "ServiceNotFound")],
            D::ExportNotExported.as_str(),
        ),
    ];
    for (i, conds, want) in cases {
        let mut f = upstream(i);
        // Profiles whose imports look different are judged on the export link only here.
        f.clusters.truncate(1);
        f.clusters[0].import = None;
        set_conditions(&mut f, conds.clone());
        let d = super::judge::judge(&f, std::time::Duration::ZERO);
        let got = if state(&d, "a", "export") == CheckState::Ok {
            Diagnosis::HEALTHY.to_string()
        } else {
            d.id.clone()
        };
        assert_eq!(got, want, "{i} {conds:?}");
    }
}

/// Lighthouse: no derived Service; endpoints are the exporters' Service ClusterIPs; DNS
/// answers some of them when the import has no IP.
#[test]
fn lighthouse_rules() {
    let mut f = upstream(Implementation::Lighthouse);
    for c in &mut f.clusters {
        c.derived = None;
        c.imported = Some(set(&[SERVICE_IP]));
        if let Some(i) = c.import.as_mut() {
            i.ips.clear();
        }
        c.probes.dns = Some(DnsResult::Answer([SERVICE_IP.parse().expect("ip")].into()));
    }
    let d = expect(&f, Diagnosis::HEALTHY, None);
    assert_eq!(state(&d, "b", "derived-service"), CheckState::Skipped);
    f.clusters[1].probes.dns = Some(DnsResult::Answer(["10.9.9.9".parse().expect("ip")].into()));
    expect(&f, DiagnosisId::DnsWrongAnswer, Some("b"));
    f.clusters[1].probes.dns = f.clusters[0].probes.dns.clone();
    f.clusters[1].imported = Some(set(&[POD_IP]));
    let d = expect(&f, DiagnosisId::EndpointsStale, Some("b"));
    assert!(d.summary.contains("Service ClusterIPs"), "{}", d.summary);
}

/// Antrea: `antrea-mc-<svc>` Service and Endpoints; ClusterIP or PodIP endpoints.
#[test]
fn antrea_rules() {
    let mut f = upstream(Implementation::Antrea);
    for c in &mut f.clusters {
        let vip = c
            .import
            .as_ref()
            .map(|i| i.ips[0].clone())
            .unwrap_or_default();
        c.derived = None;
        c.imported = None;
        c.upstream.antrea = Some(AntreaFacts {
            service: DerivedFacts {
                name: "antrea-mc-whereami".into(),
                cluster_ip: Some(vip),
                ports: vec![PortKey::tcp(80)],
            },
            endpoints: Some(set(&[SERVICE_IP])),
        });
    }
    set_conditions(&mut f, vec![cond("Valid", "True", "Succeed")]);
    expect(&f, Diagnosis::HEALTHY, None);
    // endpointIPType: PodIP is healthy too.
    for c in &mut f.clusters {
        if let Some(a) = c.upstream.antrea.as_mut() {
            a.endpoints = Some(set(&[POD_IP]));
        }
    }
    expect(&f, Diagnosis::HEALTHY, None);
    f.clusters[1].upstream.antrea = None;
    expect(&f, DiagnosisId::DerivedServiceMissing, Some("b"));
}

/// Cloud Map: per-cluster derived Services, no `spec.ips`, DNS among their ClusterIPs.
#[test]
fn cloud_map_rules() {
    let mut f = upstream(Implementation::CloudMap);
    set_conditions(&mut f, Vec::new());
    for c in &mut f.clusters {
        let vip = c
            .import
            .as_ref()
            .map(|i| i.ips[0].clone())
            .unwrap_or_default();
        if let Some(i) = c.import.as_mut() {
            i.ips.clear();
        }
        c.derived = None;
        c.upstream.per_cluster = vec![PerClusterDerived {
            cluster: "a".into(),
            name: "imported-abc".into(),
            service: Some(DerivedFacts {
                name: "imported-abc".into(),
                cluster_ip: Some(vip),
                ports: vec![PortKey::tcp(80)],
            }),
        }];
    }
    expect(&f, Diagnosis::HEALTHY, None);
    f.clusters[1].upstream.per_cluster[0].service = None;
    expect(&f, DiagnosisId::DerivedServiceMissing, Some("b"));
    f.clusters[1].upstream.per_cluster.clear();
    expect(&f, DiagnosisId::DerivedServiceMissing, Some("b"));
}

/// Cilium: remote endpoints are not in the API, so stale slices are not a verdict.
#[test]
fn cilium_does_not_judge_endpoints() {
    let mut f = upstream(Implementation::Cilium);
    f.clusters[1].imported = Some(BTreeSet::new());
    let d = expect(&f, Diagnosis::HEALTHY, None);
    assert_eq!(state(&d, "b", "endpoints"), CheckState::Skipped);
    let mut f = upstream(Implementation::McsApi);
    f.clusters[1].imported = Some(BTreeSet::new());
    expect(&f, DiagnosisId::EndpointsEmpty, Some("b"));
}

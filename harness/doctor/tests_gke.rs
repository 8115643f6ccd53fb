//! `judge` on GKE-shaped facts: `status.clusters` holding membership resource names (mapped,
//! named like a cluster, or unknown: shown, not judged), the namespace opt-out and
//! `--from`, `mcs-not-enabled`, and the first-service propagation window.

use std::time::Duration;

use mcs_importer::Flavour;

use super::api::{Options, effective_window};
use super::id::DiagnosisId;
use super::model::{CheckState, Diagnosis};
use super::tests::{expect, healthy, importing};

fn membership(m: &str) -> String {
    mcs_importer::types::gke::membership_resource("680206487583", "us-central1", m)
}

fn with_clusters(entries: &[String]) -> super::facts::Facts {
    let mut f = healthy(Flavour::Gke);
    for c in &mut f.clusters {
        if let Some(i) = c.import.as_mut() {
            i.clusters = entries.to_vec();
        }
    }
    f
}

fn detail(d: &Diagnosis, cluster: &str, link: &str) -> (CheckState, String) {
    let row = d
        .checks
        .iter()
        .find(|c| c.cluster == cluster && c.link == link);
    let row = row.unwrap_or_else(|| panic!("no row {cluster}/{link}"));
    (row.state, row.detail.clone())
}

#[test]
fn membership_names_are_compared_by_membership() {
    // Named like the exporting cluster: judged, healthy.
    let f = with_clusters(&[membership("a")]);
    let d = expect(&f, Diagnosis::HEALTHY, None);
    assert!(!detail(&d, "b", "import").1.contains("not judged"));
    // Mapped (`--membership gke-1=a`): healthy; mapped to the wrong cluster: inconsistent.
    let mut f = with_clusters(&[membership("gke-1")]);
    f.memberships.insert("gke-1".into(), "a".into());
    expect(&f, Diagnosis::HEALTHY, None);
    f.memberships.insert("gke-1".into(), "b".into());
    let d = expect(&f, DiagnosisId::ImportInconsistent, Some("a"));
    assert_eq!(d.evidence[0].field, "status.clusters");
    // Unknown membership: shown, not judged.
    let f = with_clusters(&[membership("gke-1")]);
    let d = expect(&f, Diagnosis::HEALTHY, None);
    let (state, text) = detail(&d, "b", "import");
    assert_eq!(state, CheckState::Ok);
    assert!(
        text.contains("not judged") && text.contains("gke-1"),
        "{text}"
    );
    // Plain names (other implementations) are compared as they are.
    let f = with_clusters(&["b".to_string()]);
    expect(&f, DiagnosisId::ImportInconsistent, Some("a"));
}

#[test]
fn a_cluster_without_the_namespace_has_opted_out() {
    let mut f = healthy(Flavour::Gke);
    let mut c = importing("c", "10.98.0.10");
    c.namespace_present = false;
    c.import = None;
    c.derived = None;
    c.imported = None;
    f.clusters.push(c);
    let d = expect(&f, Diagnosis::HEALTHY, None);
    let (state, text) = detail(&d, "c", "namespace");
    assert_eq!(state, CheckState::Skipped);
    assert!(text.contains("opted out"), "{text}");
    // Named as the consumer, it is broken.
    f.consumer = Some("c".into());
    expect(&f, DiagnosisId::NamespaceMissing, Some("c"));
    f.consumer = Some("b".into());
    expect(&f, Diagnosis::HEALTHY, None);
    // Nobody but the exporter imports: broken without --from too.
    f.consumer = None;
    f.clusters.remove(1);
    expect(&f, DiagnosisId::NamespaceMissing, Some("c"));
}

#[test]
fn no_mcs_api_is_mcs_not_enabled() {
    for fl in Flavour::ALL {
        let mut f = healthy(fl);
        f.clusters[1].mcs_missing = Some("net.gke.io/v1 serves no serviceexports".into());
        let d = expect(&f, DiagnosisId::McsNotEnabled, Some("b"));
        assert_eq!(
            d.evidence[0].value,
            "net.gke.io/v1 serves no serviceexports"
        );
        assert!(d.remedy.contains("get crd serviceexports"), "{}", d.remedy);
    }
}

#[test]
fn first_service_widens_the_window_on_gke_only() {
    let opts = Options {
        propagation_window: Duration::from_secs(300),
        first_service_window: Duration::from_secs(1200),
        ..Options::default()
    };
    let mut f = healthy(Flavour::Gke);
    assert_eq!(effective_window(&f, &opts), Duration::from_secs(1200));
    f.clusters[1].other_imports = true;
    assert_eq!(effective_window(&f, &opts), Duration::from_secs(300));
    let up = healthy(Flavour::Upstream);
    assert_eq!(effective_window(&up, &opts), Duration::from_secs(300));
    let zero = Options {
        propagation_window: Duration::ZERO,
        ..opts
    };
    assert_eq!(
        effective_window(&healthy(Flavour::Gke), &zero),
        Duration::ZERO
    );
}

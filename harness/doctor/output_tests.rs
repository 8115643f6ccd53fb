//! The doctor's outputs: the rendered table and block, the JSON form, and the gcloud checks
//! on recorded outputs (`fixtures/gcloud/`).

use super::gcloud::{self, GcloudError};
use super::id::DiagnosisId;
use super::model::{CheckState, Diagnosis, Evidence, LinkCheck};

const DESCRIBE_OK: &str = include_str!("../../fixtures/gcloud/mcs-describe-ok.json");
const DESCRIBE_ERROR: &str = include_str!("../../fixtures/gcloud/mcs-describe-error.json");
const IAM_BOUND: &str = include_str!("../../fixtures/gcloud/iam-policy-bound.json");
const IAM_UNBOUND: &str = include_str!("../../fixtures/gcloud/iam-policy-unbound.json");

fn check(cluster: &str, link: &str, state: CheckState) -> LinkCheck {
    LinkCheck {
        cluster: cluster.into(),
        link: link.into(),
        state,
        detail: format!("{link} detail"),
    }
}

pub(super) fn broken() -> Diagnosis {
    Diagnosis {
        id: DiagnosisId::EndpointsEmpty.into(),
        cluster: Some("b".into()),
        summary: "the imported endpoints of whereami in cluster b are empty".into(),
        evidence: vec![Evidence {
            cluster: "b".into(),
            object: "Endpoints demo/gke-mcs-7pqvt62non".into(),
            field: "subsets[].addresses".into(),
            value: "no ready address".into(),
        }],
        remedy: "check the importer\nand its permissions".into(),
        checks: vec![
            check("a", "service", CheckState::Ok),
            check("a", "endpoints", CheckState::Ok),
            check("long-cluster", "service", CheckState::Skipped),
            check("long-cluster", "endpoints", CheckState::Broken),
            check("b", "service", CheckState::Skipped),
            check("b", "endpoints", CheckState::Propagating),
        ],
        implementation: None,
    }
}

pub(super) fn render(d: &Diagnosis) -> String {
    let mut out = Vec::new();
    super::render_table(d, &mut out).expect("render");
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn table_and_first_broken_link() {
    let expected = "\
LINK       a  long-cluster  b
service    ✓  ·             ·
endpoints  ✓  ✗             …
(✓ holds  ✗ broken  … propagating  · not checked)

✗ long-cluster/endpoints: endpoints detail
… b/endpoints: endpoints detail

✗ first broken link: endpoints-empty in cluster b
  the imported endpoints of whereami in cluster b are empty
  evidence:
    [b] Endpoints demo/gke-mcs-7pqvt62non  subsets[].addresses = no ready address
  remedy:
    check the importer
    and its permissions
";
    assert_eq!(render(&broken()), expected);
}

#[test]
fn healthy_block_and_json() {
    let d = Diagnosis {
        id: Diagnosis::HEALTHY.into(),
        cluster: None,
        summary: "every link holds in every cluster (2)".into(),
        evidence: Vec::new(),
        remedy: String::new(),
        checks: vec![check("a", "service", CheckState::Ok)],
        implementation: None,
    };
    assert!(render(&d).ends_with("\n✓ healthy: every link holds in every cluster (2)\n"));
    let json = serde_json::to_value(broken()).expect("json");
    assert_eq!(json["id"], "endpoints-empty");
    assert_eq!(json["cluster"], "b");
    assert_eq!(json["evidence"][0]["field"], "subsets[].addresses");
    assert_eq!(json["checks"][3]["state"], "broken");
}

#[test]
fn parses_feature_membership_states() {
    let ok = gcloud::parse_feature(DESCRIBE_OK).expect("parse");
    assert_eq!(ok.state, "ACTIVE");
    let names: Vec<(&str, &str)> = ok
        .memberships
        .iter()
        .map(|m| (m.membership.as_str(), m.code.as_str()))
        .collect();
    assert_eq!(names, [("cluster-1", "OK"), ("cluster-2", "OK")]);
    let bad = gcloud::parse_feature(DESCRIBE_ERROR).expect("parse");
    assert_eq!(bad.memberships[1].code, "ERROR");
    assert!(
        bad.memberships[1]
            .description
            .contains("compute.firewalls.create")
    );
    assert!(matches!(
        gcloud::parse_feature("ERROR: (gcloud) not json"),
        Err(GcloudError::Parse { .. })
    ));
}

#[test]
fn finds_the_importer_binding() {
    let member = super::gke_importer_member("my-project");
    assert_eq!(
        member,
        "serviceAccount:my-project.svc.id.goog[gke-mcs/gke-mcs-importer]"
    );
    let role = super::NETWORK_VIEWER;
    assert!(gcloud::has_binding(IAM_BOUND, &member, role).expect("parse"));
    assert!(!gcloud::has_binding(IAM_UNBOUND, &member, role).expect("parse"));
    assert!(!gcloud::has_binding(IAM_BOUND, &member, "roles/owner").expect("parse"));
}

#[test]
fn project_from_gke_context_names() {
    let p = gcloud::project_from_context;
    assert_eq!(
        p("gke_my-project_us-central1_cluster-1").as_deref(),
        Some("my-project")
    );
    assert_eq!(
        p("gke_p_europe-west1-b_c_with_underscores").as_deref(),
        Some("p")
    );
    assert_eq!(p("kind-a"), None);
    assert_eq!(p("gke_only"), None);
}

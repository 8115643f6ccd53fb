//! The `--gcloud` checks on the recorded outputs of `fixtures/gcloud/`, through a stand-in
//! gcloud: membership states (PENDING is propagating), both IAM member forms in the fleet
//! host and VPC host projects (a missing binding is evidence only), memberships → clusters,
//! and Traffic Director backend health.

use super::gcloud::{self, GcloudError, GcloudTargets};
use super::gcloud_fleet::{self, FleetMembership};
use super::id::DiagnosisId;
use super::model::CheckState;
use super::output_tests::{broken, render};

const DESCRIBE_OK: &str = include_str!("../../fixtures/gcloud/mcs-describe-ok.json");
const DESCRIBE_ERROR: &str = include_str!("../../fixtures/gcloud/mcs-describe-error.json");
const DESCRIBE_PENDING: &str = include_str!("../../fixtures/gcloud/mcs-describe-pending.json");
const IAM_BOUND: &str = include_str!("../../fixtures/gcloud/iam-policy-bound.json");
const IAM_UNBOUND: &str = include_str!("../../fixtures/gcloud/iam-policy-unbound.json");
const IAM_PRINCIPAL: &str = include_str!("../../fixtures/gcloud/iam-policy-principal.json");
const MEMBERSHIPS: &str = include_str!("../../fixtures/gcloud/memberships-list.json");
const HEALTH: &str = include_str!("../../fixtures/gcloud/backend-health.json");

fn targets() -> GcloudTargets {
    GcloudTargets {
        project: "my-project".into(),
        ..GcloudTargets::default()
    }
}

/// A gcloud stand-in: `describe` for the fleet, `policy(project)` for IAM.
async fn fake(
    describe: &'static str,
    policy: impl Fn(&str) -> &'static str,
    args: Vec<String>,
) -> Result<String, GcloudError> {
    match args.first().map(String::as_str) {
        Some("container") => Ok(describe.to_string()),
        Some("projects") => Ok(policy(&args[2]).to_string()),
        Some("compute") => Ok(HEALTH.to_string()),
        _ => Err(GcloudError::Missing),
    }
}

fn states(r: &gcloud::GcloudReport) -> Vec<(&str, CheckState)> {
    r.checks
        .iter()
        .map(|c| (c.link.as_str(), c.state))
        .collect()
}

#[tokio::test]
async fn missing_binding_is_evidence_not_a_verdict() {
    let r = gcloud::check(&targets(), async |a| {
        fake(DESCRIBE_ERROR, |_| IAM_UNBOUND, a).await
    })
    .await;
    assert!(r.iam_missing);
    assert_eq!(
        states(&r),
        [
            ("fleet-mcs", CheckState::Broken),
            ("importer-iam", CheckState::Broken)
        ]
    );
    let mut d = broken();
    gcloud::apply(&mut d, &r);
    assert_eq!(
        d.id,
        DiagnosisId::EndpointsEmpty,
        "evidence, not a new verdict"
    );
    assert!(d.remedy.contains(
        "gcloud projects add-iam-policy-binding my-project --member \
         \"serviceAccount:my-project.svc.id.goog[gke-mcs/gke-mcs-importer]\" --role \
         \"roles/compute.networkViewer\""
    ));
    assert!(
        d.evidence
            .iter()
            .any(|e| e.field == "membershipStates[cluster-2].state")
    );
    assert!(d.evidence.iter().any(|e| e.value.contains("principal://")));
    assert!(render(&d).contains("importer-iam"));
    // Propagating stays propagating.
    let mut p = broken();
    p.id = DiagnosisId::Propagating.into();
    gcloud::apply(&mut p, &r);
    assert_eq!(p.id, DiagnosisId::Propagating);
}

#[tokio::test]
async fn both_member_forms_bind_the_importer() {
    for policy in [IAM_BOUND, IAM_PRINCIPAL] {
        let r = gcloud::check(&targets(), async |a| fake(DESCRIBE_OK, |_| policy, a).await).await;
        assert!(!r.iam_missing, "{policy}");
        assert!(
            r.checks.iter().all(|c| c.state == CheckState::Ok),
            "{:?}",
            r.checks
        );
        let mut d = broken();
        gcloud::apply(&mut d, &r);
        assert_eq!(d.id, DiagnosisId::EndpointsEmpty);
        assert!(!d.remedy.contains("add-iam-policy-binding"));
    }
    // Another project's pool is not the fleet host's importer.
    assert!(!gcloud::importer_bound(IAM_PRINCIPAL, "other-project").unwrap());
    assert!(!gcloud::is_importer_member(
        "principal://iam.googleapis.com/projects//locations/global/workloadIdentityPools/my-project.svc.id.goog/subject/ns/gke-mcs/sa/gke-mcs-importer",
        "my-project"
    ));
}

#[tokio::test]
async fn vpc_host_project_is_checked_too() {
    let t = GcloudTargets {
        vpc_host_project: Some("vpc-host".into()),
        ..targets()
    };
    let r = gcloud::check(&t, async |a| {
        fake(
            DESCRIBE_OK,
            |p| {
                if p == "vpc-host" {
                    IAM_UNBOUND
                } else {
                    IAM_BOUND
                }
            },
            a,
        )
        .await
    })
    .await;
    assert_eq!(
        states(&r),
        [
            ("fleet-mcs", CheckState::Ok),
            ("importer-iam", CheckState::Ok),
            ("importer-iam-vpc-host", CheckState::Broken)
        ]
    );
    assert!(r.iam_missing);
    assert!(
        r.evidence[0].object.contains("vpc-host"),
        "{:?}",
        r.evidence
    );
}

#[tokio::test]
async fn pending_membership_is_propagating() {
    let r = gcloud::check(&targets(), async |a| {
        fake(DESCRIBE_PENDING, |_| IAM_BOUND, a).await
    })
    .await;
    assert_eq!(r.pending, ["gke-2"]);
    assert_eq!(r.checks[0].state, CheckState::Propagating);
    let mut d = broken();
    gcloud::apply(&mut d, &r);
    assert_eq!(d.id, DiagnosisId::Propagating);
    assert!(d.summary.contains("gke-2 is PENDING"), "{}", d.summary);
    assert!(d.summary.contains("`endpoints-empty`"), "{}", d.summary);
    // A break PENDING does not explain stays.
    let mut dns = broken();
    dns.id = DiagnosisId::DnsFailed.into();
    gcloud::apply(&mut dns, &r);
    assert_eq!(dns.id, DiagnosisId::DnsFailed);
}

#[tokio::test]
async fn no_gcloud_is_skipped_not_failed() {
    let r = gcloud::check(&targets(), async |_| Err(GcloudError::Missing)).await;
    assert!(r.checks.iter().all(|c| c.state == CheckState::Skipped));
    assert!(r.checks[0].detail.contains("not installed"));
    let mut d = broken();
    gcloud::apply(&mut d, &r);
    assert_eq!(d.id, DiagnosisId::EndpointsEmpty);
    let mut d = broken();
    d.remedy = super::iam_grant_command("PROJECT_ID");
    gcloud::fill_project(&mut d, "p1");
    assert!(d.remedy.contains("p1.svc.id.goog") && !d.remedy.contains("PROJECT_ID"));
}

#[test]
fn memberships_map_to_contexts() {
    let list = gcloud_fleet::parse_memberships(MEMBERSHIPS).expect("parse");
    assert_eq!(
        list[0],
        FleetMembership {
            membership: "gke-1".into(),
            gke_cluster: Some(("my-project".into(), "us-central1".into(), "gke-1".into())),
        }
    );
    assert_eq!(list[1].membership, "member-blue");
    let clusters = vec![
        (
            "a".to_string(),
            "gke_my-project_us-central1_gke-1".to_string(),
        ),
        ("b".to_string(), "blue".to_string()),
    ];
    assert_eq!(
        gcloud_fleet::cluster_for(&list[0], &clusters).as_deref(),
        Some("a")
    );
    assert_eq!(
        gcloud_fleet::cluster_for(&list[1], &clusters).as_deref(),
        Some("b")
    );
    assert_eq!(gcloud_fleet::cluster_for(&list[1], &clusters[..1]), None);
    assert!(gcloud_fleet::parse_memberships("{}").is_err());
}

#[tokio::test]
async fn backend_health_rows_name_unhealthy_endpoints() {
    let t = GcloudTargets {
        backend_services: vec!["gkemcs-app-myapp-tcp-8080".into()],
        ..targets()
    };
    let r = gcloud::check(&t, async |a| fake(DESCRIBE_OK, |_| IAM_BOUND, a).await).await;
    let row = r
        .checks
        .iter()
        .find(|c| c.link == "backend-health")
        .expect("row");
    assert_eq!(row.state, CheckState::Broken);
    assert!(
        row.detail.contains("1/2 backends HEALTHY"),
        "{}",
        row.detail
    );
    assert!(
        r.evidence
            .iter()
            .any(|e| e.value == "10.24.2.5:8080 UNHEALTHY")
    );
}

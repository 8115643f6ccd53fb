//! Optional GKE checks through `gcloud` (the CLI's `--gcloud`), all parsed from
//! `--format json`: the fleet's MCS feature and its membership states (`gcloud container
//! fleet multi-cluster-services describe`), the importer identity's IAM binding in the fleet
//! host project and, for Shared VPC, the VPC host project (`gcloud projects
//! get-iam-policy`), the fleet's memberships (`gcloud container fleet memberships list`, to
//! map memberships to clusters: `gcloud_fleet`) and Traffic Director's view of the
//! service's backends (`gcloud compute backend-services get-health`). No gcloud, or a
//! failing gcloud, makes the checks *skipped*, never failed: they are about MCS, not about
//! the machine running the doctor.
//!
//! The results are extra rows (cluster `gcloud`). What they change, from the public evidence
//! (gke-reality.md §1.8, §1.9, §5.2):
//! - a membership in state `PENDING` is still being set up: an importer-owned break becomes
//!   `propagating`;
//! - an IAM binding not found at project level is **evidence only** (it may be granted on a
//!   folder or organisation, or through the other member form): it never replaces the
//!   diagnosis, and `propagating` stays `propagating`. The importer's own denials (its logs
//!   and Events, read from the clusters) are what make `importer-permission-denied`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::id::DiagnosisId;
use super::model::{CheckState, Diagnosis, Evidence, LinkCheck};
use super::remedy::{NETWORK_VIEWER, gke_importer_member, iam_grant_command};

/// Pseudo-cluster of the gcloud rows.
pub const GCLOUD_ROW: &str = "gcloud";
/// How long one gcloud command may take.
const GCLOUD_TIMEOUT: Duration = Duration::from_secs(60);

/// Errors running or reading gcloud.
#[derive(Debug, thiserror::Error)]
pub enum GcloudError {
    /// gcloud is not on PATH.
    #[error("gcloud is not installed (not found on PATH)")]
    Missing,
    /// It could not be started.
    #[error("failed to run `{command}`")]
    Spawn {
        /// The command line.
        command: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// It exited with an error.
    #[error("`{command}` failed: {stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// First line of its stderr.
        stderr: String,
    },
    /// It did not finish in time.
    #[error("`{command}` did not finish within {GCLOUD_TIMEOUT:?}")]
    Timeout {
        /// The command line.
        command: String,
    },
    /// Its output is not the JSON expected.
    #[error("failed to parse the JSON output of gcloud {what}")]
    Parse {
        /// Which output.
        what: &'static str,
        /// Cause.
        #[source]
        source: serde_json::Error,
    },
}

/// One fleet membership's MCS state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MembershipState {
    /// Membership id (last segment of its resource name).
    pub membership: String,
    /// `OK`, `WARNING`, `ERROR`, ...
    pub code: String,
    /// What the feature says about it.
    pub description: String,
}

/// The `multiclusterservicediscovery` feature of a fleet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct McsFeature {
    /// `resourceState.state`, e.g. `ACTIVE`.
    pub state: String,
    /// Per membership, sorted by name.
    pub memberships: Vec<MembershipState>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FeatureJson {
    #[serde(default)]
    membership_states: BTreeMap<String, MembershipJson>,
    resource_state: Option<StateJson>,
}

#[derive(Deserialize)]
struct MembershipJson {
    state: Option<CodeJson>,
}

#[derive(Deserialize)]
struct CodeJson {
    code: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
struct StateJson {
    state: Option<String>,
}

/// Parses `gcloud container fleet multi-cluster-services describe --format json`.
pub fn parse_feature(json: &str) -> Result<McsFeature, GcloudError> {
    let f: FeatureJson = serde_json::from_str(json).map_err(|source| GcloudError::Parse {
        what: "multi-cluster-services describe",
        source,
    })?;
    let memberships = f
        .membership_states
        .into_iter()
        .map(|(name, m)| {
            let st = m.state.unwrap_or(CodeJson {
                code: None,
                description: None,
            });
            MembershipState {
                membership: name.rsplit('/').next().unwrap_or(&name).to_string(),
                code: st.code.unwrap_or_else(|| "CODE_UNSPECIFIED".into()),
                description: st.description.unwrap_or_default(),
            }
        })
        .collect();
    Ok(McsFeature {
        state: f.resource_state.and_then(|s| s.state).unwrap_or_default(),
        memberships,
    })
}

#[derive(Deserialize)]
struct PolicyJson {
    #[serde(default)]
    bindings: Vec<BindingJson>,
}

#[derive(Deserialize)]
struct BindingJson {
    role: String,
    #[serde(default)]
    members: Vec<String>,
}

/// Whether `gcloud projects get-iam-policy --format json` binds `role` to `member`.
pub fn has_binding(policy_json: &str, member: &str, role: &str) -> Result<bool, GcloudError> {
    binds(policy_json, role, |m| m == member)
}

fn binds(
    policy_json: &str,
    role: &str,
    member: impl Fn(&str) -> bool,
) -> Result<bool, GcloudError> {
    let p: PolicyJson = serde_json::from_str(policy_json).map_err(|source| GcloudError::Parse {
        what: "projects get-iam-policy",
        source,
    })?;
    Ok(p.bindings
        .iter()
        .any(|b| b.role == role && b.members.iter().any(|m| member(m))))
}

/// Whether `member` is the importer's identity in `fleet_project`'s Workload Identity pool,
/// in either form current guides use (gke-reality.md §1.9): the classic
/// `serviceAccount:P.svc.id.goog[gke-mcs/gke-mcs-importer]`, or
/// `principal://iam.googleapis.com/projects/NUM/locations/global/workloadIdentityPools/P.svc.id.goog/subject/ns/gke-mcs/sa/gke-mcs-importer`
/// (any project number).
pub fn is_importer_member(member: &str, fleet_project: &str) -> bool {
    if member == gke_importer_member(fleet_project) {
        return true;
    }
    let tail = format!(
        "/locations/global/workloadIdentityPools/{fleet_project}.svc.id.goog/subject/ns/gke-mcs/sa/gke-mcs-importer"
    );
    member
        .strip_prefix("principal://iam.googleapis.com/projects/")
        .and_then(|rest| rest.strip_suffix(&tail))
        .is_some_and(|num| !num.is_empty() && !num.contains('/'))
}

/// Whether the policy grants [`NETWORK_VIEWER`] to the importer of `fleet_project`'s pool.
pub fn importer_bound(policy_json: &str, fleet_project: &str) -> Result<bool, GcloudError> {
    binds(policy_json, NETWORK_VIEWER, |m| {
        is_importer_member(m, fleet_project)
    })
}

/// The project of a GKE kubeconfig context (`gke_PROJECT_LOCATION_CLUSTER`).
pub fn project_from_context(context: &str) -> Option<String> {
    let rest = context.strip_prefix("gke_")?;
    let mut parts = rest.splitn(3, '_');
    let project = parts.next().filter(|p| !p.is_empty())?;
    parts.next()?;
    parts.next()?;
    Some(project.to_string())
}

/// Runs the real gcloud with `args`, returning its stdout.
pub async fn run_gcloud(args: Vec<String>) -> Result<String, GcloudError> {
    let command = format!("gcloud {}", args.join(" "));
    let child = tokio::process::Command::new("gcloud")
        .args(&args)
        .kill_on_drop(true)
        .output();
    let out = match tokio::time::timeout(GCLOUD_TIMEOUT, child).await {
        Err(_) => return Err(GcloudError::Timeout { command }),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => return Err(GcloudError::Missing),
        Ok(Err(source)) => return Err(GcloudError::Spawn { command, source }),
        Ok(Ok(out)) => out,
    };
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(GcloudError::Failed {
            command,
            stderr: first.trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// What the gcloud checks found.
#[derive(Clone, Debug, Default)]
pub struct GcloudReport {
    /// The `gcloud` rows.
    pub checks: Vec<LinkCheck>,
    /// Evidence of problems found.
    pub evidence: Vec<Evidence>,
    /// No project-level `roles/compute.networkViewer` binding found for the importer.
    pub iam_missing: bool,
    /// Memberships in state `PENDING` (still being set up).
    pub pending: Vec<String>,
    /// The fleet host project checked.
    pub project: String,
}

/// What to check with gcloud.
#[derive(Clone, Debug, Default)]
pub struct GcloudTargets {
    /// The fleet host project (its MCS feature, its Workload Identity pool, its IAM).
    pub project: String,
    /// Shared VPC: the VPC host project, whose IAM must also bind the importer.
    pub vpc_host_project: Option<String>,
    /// Traffic Director backend services to ask about (`gkemcs-<ns>-<svc>-tcp-<port>`).
    pub backend_services: Vec<String>,
}

fn row(link: &str, state: CheckState, detail: String) -> LinkCheck {
    LinkCheck {
        cluster: GCLOUD_ROW.into(),
        link: link.into(),
        state,
        detail,
    }
}

fn evidence(object: String, field: &str, value: String) -> Evidence {
    Evidence {
        cluster: GCLOUD_ROW.into(),
        object,
        field: field.into(),
        value,
    }
}

fn with_project(a: &[&str], project: &str) -> Vec<String> {
    let mut v: Vec<String> = a.iter().map(|s| s.to_string()).collect();
    v.extend(["--project", project, "--format", "json"].map(String::from));
    v
}

/// Runs the checks of `t` through `gcloud` (a stand-in in tests).
pub async fn check<F>(t: &GcloudTargets, gcloud: F) -> GcloudReport
where
    F: AsyncFn(Vec<String>) -> Result<String, GcloudError>,
{
    let project = t.project.as_str();
    let mut r = GcloudReport {
        project: project.to_string(),
        ..GcloudReport::default()
    };
    let describe = with_project(
        &["container", "fleet", "multi-cluster-services", "describe"],
        project,
    );
    let feature = gcloud(describe).await.and_then(|out| parse_feature(&out));
    membership_row(&mut r, feature);
    let mut projects = vec![("importer-iam", project)];
    if let Some(vpc) = t.vpc_host_project.as_deref().filter(|v| *v != project) {
        projects.push(("importer-iam-vpc-host", vpc));
    }
    for (link, policy_project) in projects {
        let args = vec![
            "projects".into(),
            "get-iam-policy".into(),
            policy_project.into(),
            "--format".into(),
            "json".into(),
        ];
        let bound = gcloud(args).await.and_then(|p| importer_bound(&p, project));
        iam_row(&mut r, link, policy_project, bound);
    }
    for bs in &t.backend_services {
        let args = with_project(
            &["compute", "backend-services", "get-health", bs, "--global"],
            project,
        );
        let health = gcloud(args)
            .await
            .and_then(|o| super::gcloud_fleet::parse_health(&o));
        super::gcloud_fleet::health_row(&mut r, bs, health);
    }
    r
}

fn membership_row(r: &mut GcloudReport, feature: Result<McsFeature, GcloudError>) {
    let f = match feature {
        Ok(f) => f,
        Err(e) => {
            return r
                .checks
                .push(row("fleet-mcs", CheckState::Skipped, e.to_string()));
        }
    };
    let object = format!(
        "Feature projects/{}/multiclusterservicediscovery",
        r.project
    );
    let mut bad: Vec<String> = Vec::new();
    if f.state != "ACTIVE" {
        bad.push(format!("feature state {:?}", f.state));
        r.evidence.push(evidence(
            object.clone(),
            "resourceState.state",
            f.state.clone(),
        ));
    }
    for m in f.memberships.iter().filter(|m| m.code != "OK") {
        let field = format!("membershipStates[{}].state", m.membership);
        r.evidence.push(evidence(
            object.clone(),
            &field,
            format!("{} ({})", m.code, m.description),
        ));
        match m.code.as_str() {
            // Seen while MCS sets a membership up ("wait 2–3 minutes", gke-reality.md §1.8).
            "PENDING" => r.pending.push(m.membership.clone()),
            _ => bad.push(format!("{} {}: {}", m.membership, m.code, m.description)),
        }
    }
    let names: Vec<&str> = f
        .memberships
        .iter()
        .map(|m| m.membership.as_str())
        .collect();
    r.checks.push(match (bad.is_empty(), r.pending.is_empty()) {
        (true, true) => row(
            "fleet-mcs",
            CheckState::Ok,
            format!("{}; memberships OK: {}", f.state, names.join(", ")),
        ),
        (true, false) => row(
            "fleet-mcs",
            CheckState::Propagating,
            format!(
                "{}; memberships still PENDING (being set up): {}",
                f.state,
                r.pending.join(", ")
            ),
        ),
        (false, _) => row("fleet-mcs", CheckState::Broken, bad.join("; ")),
    });
}

fn iam_row(r: &mut GcloudReport, link: &str, project: &str, bound: Result<bool, GcloudError>) {
    let member = gke_importer_member(&r.project);
    r.checks.push(match bound {
        Err(e) => row(link, CheckState::Skipped, e.to_string()),
        Ok(true) => row(
            link,
            CheckState::Ok,
            format!(
                "the importer of pool {}.svc.id.goog has {NETWORK_VIEWER} in project {project}",
                r.project
            ),
        ),
        Ok(false) => {
            r.iam_missing = true;
            r.evidence.push(evidence(
                format!("IAM policy of project {project}"),
                "bindings",
                format!(
                    "no {NETWORK_VIEWER} binding for {member} (nor its principal:// form) at \
                     project level; it may be granted on a folder or organisation"
                ),
            ));
            row(
                link,
                CheckState::Broken,
                format!(
                    "no project-level {NETWORK_VIEWER} binding for the importer in {project} \
                     (evidence only)"
                ),
            )
        }
    });
}

/// Importer-owned ids that a `PENDING` membership explains (MCS is still setting it up).
const PENDING_SYMPTOMS: [DiagnosisId; 6] = [
    DiagnosisId::McsNotEnabled,
    DiagnosisId::ExportNotExported,
    DiagnosisId::ImportMissing,
    DiagnosisId::DerivedServiceMissing,
    DiagnosisId::EndpointsEmpty,
    DiagnosisId::EndpointsStale,
];

/// Ids whose cause the importer's IAM binding can be.
const IAM_SYMPTOMS: [DiagnosisId; 4] = [
    DiagnosisId::ImportMissing,
    DiagnosisId::EndpointsEmpty,
    DiagnosisId::EndpointsStale,
    DiagnosisId::Propagating,
];

/// Adds the gcloud rows to `d`: evidence when it is broken; a `PENDING` membership turns an
/// importer-owned break into `propagating`; a missing IAM binding adds its grant to the
/// remedy but never changes the id.
pub fn apply(d: &mut Diagnosis, r: &GcloudReport) {
    d.checks.extend(r.checks.iter().cloned());
    if d.is_healthy() {
        return;
    }
    d.evidence.extend(r.evidence.iter().cloned());
    if !r.pending.is_empty()
        && d.diagnosis_id()
            .is_some_and(|i| PENDING_SYMPTOMS.contains(&i))
    {
        d.summary = format!(
            "fleet membership {} is PENDING in the MCS feature, so MCS is still setting it up \
             (after that this would be `{}`: {})",
            r.pending.join(", "),
            d.id,
            d.summary
        );
        d.id = DiagnosisId::Propagating.to_string();
        d.remedy = "wait 2–3 minutes for the membership to become OK (`gcloud container fleet \
                    multi-cluster-services describe`) and run the doctor again"
            .to_string();
    }
    if r.iam_missing && d.diagnosis_id().is_some_and(|i| IAM_SYMPTOMS.contains(&i)) {
        d.remedy = format!(
            "{}\nno project-level {NETWORK_VIEWER} binding was found for the importer; if it is \
             not granted elsewhere, grant it:\n  {}",
            d.remedy,
            iam_grant_command(&r.project)
        );
    }
}

/// Fills the `PROJECT_ID` placeholder of the remedy.
pub fn fill_project(d: &mut Diagnosis, project: &str) {
    d.remedy = d.remedy.replace("PROJECT_ID", project);
}

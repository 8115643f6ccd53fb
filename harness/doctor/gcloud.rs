//! Optional GKE checks through `gcloud` (the CLI's `--gcloud`): the fleet's MCS feature and
//! its membership states (`gcloud container fleet multi-cluster-services describe`), and
//! the importer identity's IAM binding (`gcloud projects get-iam-policy`), both parsed from
//! `--format json`. No gcloud, or a failing gcloud, makes the checks *skipped*, never
//! failed: they are about MCS, not about the machine running the doctor.
//!
//! The results are two extra rows (cluster `gcloud`, links `fleet-mcs` and `importer-iam`).
//! They change the diagnosis only when the chain shows the importer's symptom (imports or
//! endpoints missing) and the IAM binding is absent: then it is
//! `importer-permission-denied`, with the binding as evidence.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::model::{CheckState, Diagnosis, Evidence, LinkCheck};
use super::remedy::{NETWORK_VIEWER, gke_importer_member, iam_grant_command, ids};

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
    let p: PolicyJson = serde_json::from_str(policy_json).map_err(|source| GcloudError::Parse {
        what: "projects get-iam-policy",
        source,
    })?;
    Ok(p.bindings
        .iter()
        .any(|b| b.role == role && b.members.iter().any(|m| m == member)))
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
    /// The importer's identity has no `roles/compute.networkViewer` binding.
    pub iam_missing: bool,
    /// The project checked.
    pub project: String,
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

/// Runs both checks for `project` through `gcloud` (a stand-in in tests).
pub async fn check<F>(project: &str, gcloud: F) -> GcloudReport
where
    F: AsyncFn(Vec<String>) -> Result<String, GcloudError>,
{
    let args = |a: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = a.iter().map(|s| s.to_string()).collect();
        v.extend([
            "--project".into(),
            project.into(),
            "--format".into(),
            "json".into(),
        ]);
        v
    };
    let mut r = GcloudReport {
        project: project.to_string(),
        ..GcloudReport::default()
    };
    let describe = args(&["container", "fleet", "multi-cluster-services", "describe"]);
    let feature = gcloud(describe).await.and_then(|out| parse_feature(&out));
    membership_row(&mut r, feature);
    let policy = gcloud(vec![
        "projects".into(),
        "get-iam-policy".into(),
        project.into(),
        "--format".into(),
        "json".into(),
    ])
    .await;
    let member = gke_importer_member(project);
    let bound = policy.and_then(|p| has_binding(&p, &member, NETWORK_VIEWER));
    iam_row(&mut r, bound, &member);
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
        bad.push(format!("{} {}: {}", m.membership, m.code, m.description));
        let field = format!("membershipStates[{}].state", m.membership);
        r.evidence.push(evidence(
            object.clone(),
            &field,
            format!("{} ({})", m.code, m.description),
        ));
    }
    let names: Vec<&str> = f
        .memberships
        .iter()
        .map(|m| m.membership.as_str())
        .collect();
    r.checks.push(match bad.is_empty() {
        true => row(
            "fleet-mcs",
            CheckState::Ok,
            format!("{}; memberships OK: {}", f.state, names.join(", ")),
        ),
        false => row("fleet-mcs", CheckState::Broken, bad.join("; ")),
    });
}

fn iam_row(r: &mut GcloudReport, bound: Result<bool, GcloudError>, member: &str) {
    r.checks.push(match bound {
        Err(e) => row("importer-iam", CheckState::Skipped, e.to_string()),
        Ok(true) => row(
            "importer-iam",
            CheckState::Ok,
            format!("{member} has {NETWORK_VIEWER}"),
        ),
        Ok(false) => {
            r.iam_missing = true;
            r.evidence.push(evidence(
                format!("IAM policy of project {}", r.project),
                "bindings",
                format!("no {NETWORK_VIEWER} binding for {member}"),
            ));
            row(
                "importer-iam",
                CheckState::Broken,
                format!("{member} lacks {NETWORK_VIEWER}"),
            )
        }
    });
}

/// Ids whose cause the importer's IAM binding can be.
const IAM_SYMPTOMS: [&str; 5] = [
    ids::IMPORT_MISSING,
    ids::ENDPOINTS_EMPTY,
    ids::ENDPOINTS_STALE,
    ids::IMPORTER_PERMISSION_DENIED,
    ids::PROPAGATING,
];

/// Adds the gcloud rows to `d`; a missing IAM binding explains the importer's symptoms.
pub fn apply(d: &mut Diagnosis, r: &GcloudReport) {
    d.checks.extend(r.checks.iter().cloned());
    if d.is_healthy() {
        return;
    }
    d.evidence.extend(r.evidence.iter().cloned());
    if r.iam_missing && IAM_SYMPTOMS.contains(&d.id.as_str()) {
        d.summary = format!(
            "the importer's identity lacks {NETWORK_VIEWER} in project {} ({})",
            r.project, d.summary
        );
        d.id = ids::IMPORTER_PERMISSION_DENIED.to_string();
        d.remedy = format!(
            "grant the importer's identity {NETWORK_VIEWER}:\n  {}",
            iam_grant_command(&r.project)
        );
    }
}

/// Fills the `PROJECT_ID` placeholder of the remedy.
pub fn fill_project(d: &mut Diagnosis, project: &str) {
    d.remedy = d.remedy.replace("PROJECT_ID", project);
}

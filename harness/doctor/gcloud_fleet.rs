//! GKE fleet facts for the doctor: which kubeconfig context a fleet membership is (from
//! `gcloud container fleet memberships list --format json`, or from a
//! `gke_PROJECT_LOCATION_CLUSTER` context name), and Traffic Director's health of a
//! service's backends (`gcloud compute backend-services get-health … --global --format
//! json`). Shapes: the Fleet API `Membership` resource (`name`,
//! `endpoint.gkeCluster.resourceLink`) and `BackendServiceGroupHealth`
//! (`status.healthStatus[].healthState`), as in `fixtures/gcloud/`.

use serde::Deserialize;

use super::gcloud::{GCLOUD_ROW, GcloudError, GcloudReport};
use super::model::{CheckState, Evidence, LinkCheck};

/// One fleet membership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetMembership {
    /// Membership id (last segment of its resource name).
    pub membership: String,
    /// The GKE cluster behind it: (project, location, cluster) from its resource link.
    pub gke_cluster: Option<(String, String, String)>,
}

#[derive(Deserialize)]
struct MembershipJson {
    name: String,
    endpoint: Option<EndpointJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EndpointJson {
    gke_cluster: Option<GkeClusterJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GkeClusterJson {
    resource_link: Option<String>,
}

/// Parses `gcloud container fleet memberships list --format json`.
pub fn parse_memberships(json: &str) -> Result<Vec<FleetMembership>, GcloudError> {
    let list: Vec<MembershipJson> =
        serde_json::from_str(json).map_err(|source| GcloudError::Parse {
            what: "container fleet memberships list",
            source,
        })?;
    Ok(list
        .into_iter()
        .map(|m| FleetMembership {
            membership: m.name.rsplit('/').next().unwrap_or(&m.name).to_string(),
            gke_cluster: m
                .endpoint
                .and_then(|e| e.gke_cluster)
                .and_then(|g| g.resource_link)
                .and_then(|l| cluster_link(&l)),
        })
        .collect())
}

/// `//container.googleapis.com/projects/P/locations/L/clusters/C` (or `/zones/L/`) →
/// (P, L, C).
fn cluster_link(link: &str) -> Option<(String, String, String)> {
    let rest = link.split_once("/projects/")?.1;
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        [p, "locations" | "zones", l, "clusters", c] => {
            Some((p.to_string(), l.to_string(), c.to_string()))
        }
        _ => None,
    }
}

/// (project, location, cluster) of a `gke_PROJECT_LOCATION_CLUSTER` context name.
pub fn gke_context_parts(context: &str) -> Option<(String, String, String)> {
    let rest = context.strip_prefix("gke_")?;
    let mut parts = rest.splitn(3, '_');
    let p = parts.next().filter(|p| !p.is_empty())?;
    let l = parts.next().filter(|l| !l.is_empty())?;
    let c = parts.next().filter(|c| !c.is_empty())?;
    Some((p.into(), l.into(), c.into()))
}

/// The logical cluster (of `clusters`: (logical name, context)) that `m` is: the context
/// of its GKE cluster (`gke_P_L_C`), else a `gke_…_C` context or a cluster/context named
/// like its cluster or the membership.
pub fn cluster_for(m: &FleetMembership, clusters: &[(String, String)]) -> Option<String> {
    if let Some((p, l, c)) = &m.gke_cluster {
        let exact = clusters.iter().find(|(_, ctx)| {
            gke_context_parts(ctx).as_ref() == Some(&(p.clone(), l.clone(), c.clone()))
        });
        if let Some((name, _)) = exact {
            return Some(name.clone());
        }
        let by_cluster = clusters.iter().find(|(n, ctx)| {
            gke_context_parts(ctx).is_some_and(|(_, _, cc)| cc == *c) || n == c || ctx == c
        });
        if let Some((name, _)) = by_cluster {
            return Some(name.clone());
        }
    }
    clusters
        .iter()
        .find(|(n, ctx)| *n == m.membership || *ctx == m.membership)
        .map(|(n, _)| n.clone())
}

/// One backend's health as Traffic Director sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointHealth {
    /// `ipAddress:port`.
    pub address: String,
    /// `HEALTHY`, `UNHEALTHY`, `UNKNOWN`, ...
    pub state: String,
}

#[derive(Deserialize)]
struct GroupHealthJson {
    status: Option<StatusJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusJson {
    #[serde(default)]
    health_status: Vec<HealthJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HealthJson {
    ip_address: Option<String>,
    port: Option<u16>,
    health_state: Option<String>,
}

/// Parses `gcloud compute backend-services get-health NAME --global --format json` (a list
/// with one entry per backend NEG).
pub fn parse_health(json: &str) -> Result<Vec<EndpointHealth>, GcloudError> {
    let groups: Vec<GroupHealthJson> =
        serde_json::from_str(json).map_err(|source| GcloudError::Parse {
            what: "compute backend-services get-health",
            source,
        })?;
    Ok(groups
        .into_iter()
        .flat_map(|g| g.status.map(|s| s.health_status).unwrap_or_default())
        .map(|h| EndpointHealth {
            address: format!(
                "{}:{}",
                h.ip_address.unwrap_or_default(),
                h.port.map(|p| p.to_string()).unwrap_or_default()
            ),
            state: h.health_state.unwrap_or_else(|| "UNKNOWN".into()),
        })
        .collect())
}

/// The `backend-health` row of backend service `bs` (and evidence for unhealthy backends).
pub fn health_row(
    r: &mut GcloudReport,
    bs: &str,
    health: Result<Vec<EndpointHealth>, GcloudError>,
) {
    let link = "backend-health";
    let check = |state, detail| LinkCheck {
        cluster: GCLOUD_ROW.into(),
        link: link.into(),
        state,
        detail,
    };
    let h = match health {
        Err(e) => {
            return r
                .checks
                .push(check(CheckState::Skipped, format!("{bs}: {e}")));
        }
        Ok(h) => h,
    };
    let bad: Vec<&EndpointHealth> = h.iter().filter(|e| e.state != "HEALTHY").collect();
    for e in &bad {
        r.evidence.push(Evidence {
            cluster: GCLOUD_ROW.into(),
            object: format!("backend service {bs}"),
            field: "status.healthStatus[].healthState".into(),
            value: format!("{} {}", e.address, e.state),
        });
    }
    let summary = format!("{bs}: {}/{} backends HEALTHY", h.len() - bad.len(), h.len());
    r.checks.push(match (h.is_empty(), bad.is_empty()) {
        (true, _) => check(CheckState::Broken, format!("{bs}: no backends")),
        (false, true) => check(CheckState::Ok, summary),
        (false, false) => check(CheckState::Broken, summary),
    });
}

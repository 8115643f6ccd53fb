//! Preflight: before any scenario runs, every bound cluster is checked in parallel, each
//! within a bound (`--preflight-timeout`, 10 s by default): reachable (TCP and TLS), the
//! credentials accepted (`SelfSubjectReview` where served, else an authenticated
//! discovery read), the server version, which MCS APIs it serves, whether the embedded
//! fleet's Fault API is there, and — where `SelfSubjectAccessReview` is served — the
//! permissions a run needs. Any problem is a usage error (exit 2) before the run starts:
//! a nightly run with expired credentials must not go green.

use std::time::{Duration, Instant};

use futures::future::join_all;
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::Client;
use kube::api::{Api, PostParams};
use serde::{Deserialize, Serialize};

use super::registry::{ClusterHandle, ClusterRegistry};
use crate::scenario::Flavour;

/// The default bound of each cluster's checks.
pub const DEFAULT_PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(10);

/// API group of the embedded fleet's Fault objects.
pub const FAULT_GROUP: &str = "sim.mcs-harness.dev";

/// What kind of problem a cluster has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ProblemKind {
    /// Nothing answers at the server address.
    Unreachable,
    /// TLS failed (certificate or CA mismatch).
    Tls,
    /// No answer within the preflight timeout.
    Timeout,
    /// The credentials were rejected (401).
    Unauthorized,
    /// A permission the run needs is missing (403 or a denied access review).
    Forbidden,
    /// The cluster serves no MCS API, or not the one the other clusters serve.
    McsMissing,
    /// Another API error.
    Error,
}

/// One problem of one cluster, with what to do.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The kind.
    pub kind: ProblemKind,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub remedy: String,
}

/// What preflight found for one cluster.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterCheck {
    /// Logical name.
    pub cluster: String,
    /// Context (or `embedded`).
    pub location: String,
    /// API server URL.
    pub server: String,
    /// `gitVersion` of the server.
    pub version: Option<String>,
    /// Who the credentials authenticate as (from `SelfSubjectReview`, where served).
    pub user: Option<String>,
    /// MCS APIs served, `group/version` (e.g. `net.gke.io/v1`).
    pub mcs_apis: Vec<String>,
    /// MCS flavours whose ServiceExport and ServiceImport the harness can use.
    pub flavours: Vec<Flavour>,
    /// The embedded fleet's Fault API is served.
    pub faults: bool,
    /// Permissions checked with `SelfSubjectAccessReview` (None: the API is not served).
    pub permissions_checked: Option<usize>,
    /// Problems found (empty: the cluster is fine).
    pub problems: Vec<Problem>,
    /// How long the checks took.
    #[serde(with = "crate::event::millis")]
    #[schemars(with = "f64")]
    pub took: Duration,
}

/// Preflight of every cluster of a registry.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreflightReport {
    /// One entry per cluster, in registry order.
    pub clusters: Vec<ClusterCheck>,
    /// Wall time of the whole preflight.
    #[serde(with = "crate::event::millis")]
    #[schemars(with = "f64")]
    pub took: Duration,
}

impl PreflightReport {
    /// One line per problem: `cluster a (context gke_x, https://…): message; remedy`.
    pub fn problems(&self) -> Vec<String> {
        self.clusters
            .iter()
            .flat_map(|c| {
                c.problems.iter().map(move |p| {
                    format!(
                        "cluster {} (context {}, {}): {}; {}",
                        c.cluster, c.location, c.server, p.message, p.remedy
                    )
                })
            })
            .collect()
    }

    /// Flavours every cluster serves.
    pub fn flavours(&self) -> Vec<Flavour> {
        Flavour::ALL
            .into_iter()
            .filter(|f| {
                !self.clusters.is_empty() && self.clusters.iter().all(|c| c.flavours.contains(f))
            })
            .collect()
    }

    /// Whether every cluster serves the Fault API.
    pub fn faults(&self) -> bool {
        !self.clusters.is_empty() && self.clusters.iter().all(|c| c.faults)
    }
}

/// Checks every cluster of `registry` in parallel, each within `timeout`; then compares the
/// MCS APIs the clusters serve (a cluster lacking one the others serve is a problem).
pub async fn preflight(registry: &ClusterRegistry, timeout: Duration) -> PreflightReport {
    let started = Instant::now();
    let checks = registry.iter().map(|h| check_bounded(h, timeout));
    let mut clusters = join_all(checks).await;
    compare_mcs(&mut clusters);
    PreflightReport {
        clusters,
        took: started.elapsed(),
    }
}

async fn check_bounded(h: &ClusterHandle, timeout: Duration) -> ClusterCheck {
    let started = Instant::now();
    let mut c = ClusterCheck {
        cluster: h.name.to_string(),
        location: h.location.clone(),
        server: h.server.clone(),
        version: None,
        user: None,
        mcs_apis: Vec::new(),
        flavours: Vec::new(),
        faults: false,
        permissions_checked: None,
        problems: Vec::new(),
        took: Duration::ZERO,
    };
    if tokio::time::timeout(timeout, check(&h.client, &mut c))
        .await
        .is_err()
    {
        c.problems.push(Problem {
            kind: ProblemKind::Timeout,
            message: format!("no answer within {}", crate::duration::human(timeout)),
            remedy: "check that the server address is right and reachable from here (a firewall \
                     dropping packets, a proxy, GKE authorized networks), or raise \
                     --preflight-timeout"
                .into(),
        });
    }
    c.took = started.elapsed();
    c
}

/// Whether the server answered but asks to be asked again (5xx, 429): retried within the
/// preflight bound. Transport failures (refused, TLS) are answers about the cluster: not retried.
fn overloaded(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code >= 500 || s.code == 429)
}

/// `f` retried while the server is overloaded (the caller's timeout bounds it).
async fn retried<T, F, Fut>(f: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    use backon::Retryable;
    f.retry(crate::retry::backoff().with_max_times(usize::MAX))
        .when(overloaded)
        .await
}

/// The checks of one cluster, in order; stops at the first problem that makes the rest moot.
async fn check(client: &Client, c: &mut ClusterCheck) {
    match retried(|| client.apiserver_version()).await {
        Ok(v) => c.version = Some(v.git_version),
        Err(e) => return c.problems.push(problem("read /version", &e)),
    }
    let groups = match retried(|| client.list_api_groups()).await {
        Ok(g) => g,
        Err(e) => return c.problems.push(problem("list API groups", &e)),
    };
    let versions = |name: &str| -> Vec<String> {
        groups
            .groups
            .iter()
            .filter(|g| g.name == name)
            .flat_map(|g| g.versions.iter().map(|v| v.group_version.clone()))
            .collect()
    };
    if versions("authentication.k8s.io")
        .iter()
        .any(|v| v == "authentication.k8s.io/v1")
    {
        match retried(|| who_am_i(client)).await {
            Ok(user) => c.user = user,
            Err(e) => return c.problems.push(problem("create a SelfSubjectReview", &e)),
        }
    }
    for group in ["net.gke.io", "multicluster.x-k8s.io"] {
        c.mcs_apis.extend(versions(group));
    }
    for f in Flavour::ALL {
        match retried(|| serves_mcs(client, f)).await {
            Ok(true) => c.flavours.push(f),
            Ok(false) => {}
            Err(e) => return c.problems.push(problem(&format!("read {}", f.api()), &e)),
        }
    }
    c.faults = !versions(FAULT_GROUP).is_empty();
    if versions("authorization.k8s.io")
        .iter()
        .any(|v| v == "authorization.k8s.io/v1")
    {
        permissions(client, c).await;
    }
}

/// The user name the credentials authenticate as.
async fn who_am_i(client: &Client) -> Result<Option<String>, kube::Error> {
    let api: Api<SelfSubjectReview> = Api::all(client.clone());
    let review: SelfSubjectReview = serde_json::from_value(serde_json::json!({
        "apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview", "metadata": {}
    }))
    .map_err(kube::Error::SerdeError)?;
    let answer = api.create(&PostParams::default(), &review).await?;
    Ok(answer
        .status
        .and_then(|s| s.user_info)
        .and_then(|u| u.username))
}

/// Whether the flavour's ServiceExport and ServiceImport are served in the version the
/// harness uses.
async fn serves_mcs(client: &Client, f: Flavour) -> Result<bool, kube::Error> {
    match client.list_api_group_resources(&f.api()).await {
        Ok(list) => {
            let has = |kind: &str| list.resources.iter().any(|r| r.kind == kind);
            Ok(has("ServiceExport") && has("ServiceImport"))
        }
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => Err(e),
    }
}

/// A permission a run needs: verb, group, resource, subresource, namespace.
pub type Need = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

/// What a run does on a cluster: its namespaces, the recipe's workloads, probe pods and exec,
/// exports, reading what MCS derives, its liveness Lease, and (where served) Faults.
pub fn needs(flavours: &[Flavour], faults: bool) -> Vec<Need> {
    let mut n: Vec<Need> = vec![
        ("create", "", "namespaces", "", ""),
        ("delete", "", "namespaces", "", ""),
        ("create", "", "pods", "", ""),
        ("delete", "", "pods", "", ""),
        ("watch", "", "pods", "", ""),
        ("create", "", "pods", "exec", ""),
        ("create", "", "services", "", ""),
        ("list", "", "endpoints", "", ""),
        ("create", "apps", "deployments", "", ""),
        ("patch", "apps", "deployments", "", ""),
        ("list", "discovery.k8s.io", "endpointslices", "", ""),
        (
            "create",
            "coordination.k8s.io",
            "leases",
            "",
            super::liveness::LEASE_NAMESPACE,
        ),
        (
            "update",
            "coordination.k8s.io",
            "leases",
            "",
            super::liveness::LEASE_NAMESPACE,
        ),
    ];
    for f in flavours {
        let group = f.group();
        n.push(("create", group, "serviceexports", "", ""));
        n.push(("delete", group, "serviceexports", "", ""));
        n.push(("watch", group, "serviceimports", "", ""));
    }
    if faults {
        n.push(("create", FAULT_GROUP, "faults", "", ""));
        n.push(("delete", FAULT_GROUP, "faults", "", ""));
    }
    n
}

/// Asks `SelfSubjectAccessReview` for every need; denied ones become one problem.
async fn permissions(client: &Client, c: &mut ClusterCheck) {
    let wanted = needs(&c.flavours, c.faults);
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let asks = wanted.iter().map(|need| {
        let api = api.clone();
        async move { (need, retried(|| allowed(&api, need)).await) }
    });
    let mut denied = Vec::new();
    for (need, answer) in join_all(asks).await {
        match answer {
            Ok(true) => {}
            Ok(false) => denied.push(describe(need)),
            Err(e) => {
                return c
                    .problems
                    .push(problem("create a SelfSubjectAccessReview", &e));
            }
        }
    }
    c.permissions_checked = Some(wanted.len());
    if !denied.is_empty() {
        c.problems.push(Problem {
            kind: ProblemKind::Forbidden,
            message: format!("the credentials may not {}", denied.join(", ")),
            remedy: "grant them (examples/k8s/cronjob.yaml's ClusterRole lists what a run \
                     needs); `kubectl auth can-i --list` shows what is granted"
                .into(),
        });
    }
}

async fn allowed(api: &Api<SelfSubjectAccessReview>, need: &Need) -> Result<bool, kube::Error> {
    let (verb, group, resource, sub, ns) = *need;
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(verb.into()),
                group: Some(group.into()),
                resource: Some(resource.into()),
                subresource: opt(sub),
                namespace: opt(ns),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let answer = api.create(&PostParams::default(), &review).await?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

fn describe(need: &Need) -> String {
    let (verb, group, resource, sub, ns) = *need;
    let res = match (group, sub) {
        ("", "") => resource.to_string(),
        ("", s) => format!("{resource}/{s}"),
        (g, "") => format!("{resource}.{g}"),
        (g, s) => format!("{resource}/{s}.{g}"),
    };
    match ns {
        "" => format!("{verb} {res}"),
        n => format!("{verb} {res} in namespace {n}"),
    }
}

/// A cluster lacking an MCS flavour that another serves (or serving none) has a problem.
fn compare_mcs(clusters: &mut [ClusterCheck]) {
    let reached: Vec<bool> = clusters.iter().map(|c| c.problems.is_empty()).collect();
    let served: Vec<Flavour> = clusters
        .iter()
        .flat_map(|c| c.flavours.iter().copied())
        .collect();
    for (c, reached) in clusters.iter_mut().zip(reached) {
        if !reached {
            continue;
        }
        if c.flavours.is_empty() {
            c.problems.push(Problem {
                kind: ProblemKind::McsMissing,
                message: format!(
                    "serves no MCS API (neither {} nor {} ServiceExport/ServiceImport)",
                    Flavour::Gke.api(),
                    Flavour::Upstream.api()
                ),
                remedy: "on GKE, MCS is not enabled for this cluster's fleet membership: \
                         `gcloud container fleet multi-cluster-services enable`, check \
                         `gcloud container fleet memberships list` (the CRDs appear minutes \
                         after); elsewhere install the MCS CRDs and controller"
                    .into(),
            });
            continue;
        }
        for f in Flavour::ALL {
            if served.contains(&f) && !c.flavours.contains(&f) {
                c.problems.push(Problem {
                    kind: ProblemKind::McsMissing,
                    message: format!(
                        "does not serve {} ServiceExport/ServiceImport, which other clusters \
                         of the fleet serve",
                        f.api()
                    ),
                    remedy: "the cluster is not (yet) an MCS member: check its fleet \
                             membership and that MCS is enabled for it"
                        .into(),
                });
            }
        }
    }
}

/// A kube error as a preflight problem, classified, with what to do.
pub fn problem(what: &str, e: &kube::Error) -> Problem {
    let text = chain(e);
    let lower = text.to_lowercase();
    let (kind, remedy) = match e {
        kube::Error::Api(s) if s.code == 401 => (
            ProblemKind::Unauthorized,
            "the credentials were rejected: refresh them (GKE: `gcloud container clusters \
             get-credentials …`, and check gke-gcloud-auth-plugin), or fix the kubeconfig's user",
        ),
        kube::Error::Api(s) if s.code == 403 => (
            ProblemKind::Forbidden,
            "the identity lacks permissions a run needs (see examples/k8s/cronjob.yaml's ClusterRole)",
        ),
        kube::Error::Api(_) => (
            ProblemKind::Error,
            "the API server answered with an error: check it is healthy (`kubectl get --raw /readyz`)",
        ),
        _ if lower.contains("certificate")
            || lower.contains("tls")
            || lower.contains("handshake") =>
        {
            (
                ProblemKind::Tls,
                "TLS failed: the server's certificate does not match the kubeconfig's \
             certificate-authority-data (or tls-server-name); fetch the kubeconfig again",
            )
        }
        _ => (
            ProblemKind::Unreachable,
            "nothing answered at the server address: check the cluster is up and the address is \
             right (`kubectl --context CONTEXT cluster-info`)",
        ),
    };
    Problem {
        kind,
        message: format!("cannot {what}: {text}"),
        remedy: remedy.to_string(),
    }
}

/// An error and its sources, joined by `: `, without repeats.
fn chain(e: &kube::Error) -> String {
    let mut parts: Vec<String> = vec![match e {
        kube::Error::Api(s) => format!("{} ({} {})", s.message, s.code, s.reason),
        other => other.to_string(),
    }];
    let mut cur: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, flavours: Vec<Flavour>) -> ClusterCheck {
        ClusterCheck {
            cluster: name.into(),
            location: name.into(),
            server: "https://192.0.2.1".into(),
            version: Some("v1.33.0".into()),
            user: None,
            mcs_apis: Vec::new(),
            flavours,
            faults: false,
            permissions_checked: None,
            problems: Vec::new(),
            took: Duration::ZERO,
        }
    }

    #[test]
    fn a_cluster_without_the_fleets_mcs_api_is_a_problem() {
        let mut cs = vec![check("a", vec![Flavour::Gke]), check("b", vec![])];
        compare_mcs(&mut cs);
        assert!(cs[0].problems.is_empty());
        assert_eq!(cs[1].problems[0].kind, ProblemKind::McsMissing);
        let mut cs = vec![
            check("a", Flavour::ALL.to_vec()),
            check("b", vec![Flavour::Gke]),
        ];
        compare_mcs(&mut cs);
        assert!(cs[1].problems[0].message.contains("multicluster.x-k8s.io"));
        let report = PreflightReport {
            clusters: cs,
            took: Duration::ZERO,
        };
        assert_eq!(report.flavours(), vec![Flavour::Gke]);
        assert!(report.problems()[0].starts_with("cluster b (context b, https://192.0.2.1): "));
    }

    #[test]
    fn needs_describe_the_resources() {
        let n = needs(&[Flavour::Gke], true);
        let shown: Vec<String> = n.iter().map(describe).collect();
        assert!(shown.contains(&"create pods/exec".to_string()));
        assert!(shown.contains(&"create serviceexports.net.gke.io".to_string()));
        assert!(
            shown.contains(
                &"create leases.coordination.k8s.io in namespace mcs-harness".to_string()
            )
        );
        assert!(shown.contains(&"delete faults.sim.mcs-harness.dev".to_string()));
    }
}

//! `mcs-harness doctor`: diagnoses one exported Service across the fleet's clusters and
//! prints the ✓/✗ table and the first broken link (or the diagnosis as JSON).
//! Exit codes: 0 healthy, 1 a broken (or still propagating) link; usage and input errors
//! are returned as [`DoctorCmdError`] (the binary exits 2).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use kube::Client;
use kube::config::Kubeconfig;
use mcs_importer::Flavour;

use crate::doctor::{self, Diagnosis, Options, Target, gcloud};
use crate::fleet::{FleetError, client_for_context};

/// How long a context's API server may take to answer discovery when `--cluster` is not
/// given.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(3);

/// Options of `doctor`.
///
/// Clusters: `--cluster NAME=CONTEXT` (repeatable; `--cluster CONTEXT` uses the context
/// name as the cluster name). Without `--cluster`, the fleet is every context of the
/// kubeconfig whose API server answers discovery within 3 s and serves the flavour's
/// ServiceImport API (`serviceimports` in `net.gke.io/v1` for gke,
/// `multicluster.x-k8s.io/v1beta1` or `v1alpha1` for upstream), named after the context, in kubeconfig
/// order; the contexts left out are listed above the table.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Namespace of the Service.
    #[arg(short = 'n', long)]
    pub namespace: String,
    /// The exported Service.
    pub service: String,
    /// A fleet cluster as NAME=CONTEXT (repeat); default: every context serving ServiceImport.
    #[arg(long = "cluster", value_name = "NAME=CONTEXT", value_parser = parse_cluster)]
    pub clusters: Vec<ClusterArg>,
    /// Kubeconfig (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Which MCS API the fleet speaks.
    #[arg(long, default_value = "gke", value_parser = flavour_parser())]
    pub flavour: Flavour,
    /// Print the diagnosis as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Image of the probe pods (DNS and HTTP links).
    #[arg(long, default_value = crate::probe::DEFAULT_PROBE_IMAGE)]
    pub probe_image: String,
    /// Skip the DNS and HTTP links (no probe pods are created).
    #[arg(long)]
    pub no_probes: bool,
    /// Links the importer has yet to make true are "propagating" (wait), not broken, while
    /// what they depend on is younger than this (e.g. 30s, 5m; 0 = never).
    #[arg(long, default_value = "5m", value_parser = crate::duration::parse_duration)]
    pub propagation_window: Duration,
    /// Bound of each probe step (probe pod start, DNS lookup, HTTP request).
    #[arg(long, default_value = "20s", value_parser = crate::duration::parse_duration)]
    pub probe_timeout: Duration,
    /// How long each cluster may take to answer at all (reachable, credentials accepted)
    /// before the doctor gives up with exit 2.
    #[arg(long, default_value = "10s", value_parser = crate::run_cmd::parse_positive_duration)]
    pub connect_timeout: Duration,
    /// Also check the fleet's MCS feature and the importer's IAM binding with gcloud.
    #[arg(long)]
    pub gcloud: bool,
    /// GCP project for --gcloud and remedies: the fleet host project (default: from a
    /// gke_PROJECT_… context name).
    #[arg(long)]
    pub project: Option<String>,
    /// A GKE fleet membership as NAME=CONTEXT (repeat): whose cluster `status.clusters`
    /// entries `projects/N/locations/L/memberships/NAME` name. Also known from --gcloud
    /// (`gcloud container fleet memberships list`) and from gke_PROJECT_LOCATION_CLUSTER
    /// contexts (membership CLUSTER); entries no mapping names are shown, not judged.
    #[arg(long = "membership", value_name = "NAME=CONTEXT", value_parser = parse_membership)]
    pub memberships: Vec<(String, String)>,
    /// The cluster the service is consumed from: a missing namespace there is
    /// `namespace-missing`; clusters without the namespace elsewhere have opted out.
    #[arg(long = "from", value_name = "CLUSTER")]
    pub from: Option<String>,
    /// Shared VPC: the VPC host project, whose IAM policy --gcloud also checks for the
    /// importer's roles/compute.networkViewer.
    #[arg(long)]
    pub vpc_host_project: Option<String>,
    /// GKE: the propagation window while the fleet holds no other ServiceImport (the first
    /// MCS service of a fleet takes up to 20 minutes); widens --propagation-window, which 0
    /// still turns off.
    #[arg(long, default_value = "20m", value_parser = crate::duration::parse_duration)]
    pub first_service_window: Duration,
    /// Upstream: the MCS implementation whose objects to expect (mcs-api, lighthouse,
    /// cilium, antrea, cloud-map); default: detected from managed-by labels and
    /// annotations, else mcs-api.
    #[arg(long, value_name = "NAME", value_parser = implementation_parser())]
    pub implementation: Option<doctor::Implementation>,
}

fn implementation_parser() -> impl TypedValueParser<Value = doctor::Implementation> {
    let names = doctor::Implementation::ALL.map(|i| i.name());
    PossibleValuesParser::new(names).try_map(|s| s.parse::<doctor::Implementation>())
}

/// Parses `--membership NAME=CONTEXT`.
pub fn parse_membership(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((m, c)) if !m.is_empty() && !c.is_empty() => Ok((m.to_string(), c.to_string())),
        _ => Err(format!(
            "invalid membership {s:?}: use NAME=CONTEXT (e.g. gke-1=gke_my-project_us-central1_gke-1)"
        )),
    }
}

/// A `--cluster` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterArg {
    /// Logical cluster name (table column).
    pub name: String,
    /// Kubeconfig context.
    pub context: String,
}

/// Parses `NAME=CONTEXT` (or `CONTEXT`).
pub fn parse_cluster(s: &str) -> Result<ClusterArg, String> {
    let (name, context) = s.split_once('=').unwrap_or((s, s));
    if name.is_empty() || context.is_empty() {
        return Err(format!(
            "invalid cluster {s:?}: use NAME=CONTEXT (e.g. a=kind-a) or a context name"
        ));
    }
    Ok(ClusterArg {
        name: name.to_string(),
        context: context.to_string(),
    })
}

fn flavour_parser() -> impl TypedValueParser<Value = Flavour> {
    PossibleValuesParser::new(["gke", "upstream"]).try_map(|s| s.parse::<Flavour>())
}

/// Errors of `doctor` that are not a diagnosis (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum DoctorCmdError {
    /// The kubeconfig could not be read.
    #[error("failed to read kubeconfig {path}")]
    Kubeconfig {
        /// Path or description.
        path: String,
        /// Cause.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// A `--cluster` context is unusable.
    #[error(transparent)]
    Context(#[from] FleetError),
    /// Two `--cluster` values share a name.
    #[error("cluster name {0:?} is given twice: each --cluster needs its own NAME")]
    DuplicateCluster(String),
    /// `--membership` names a context that is not one of the fleet's clusters.
    #[error(
        "--membership {membership}={context}: context {context:?} is not one of the clusters \
         diagnosed ({clusters})"
    )]
    MembershipContext {
        /// The membership.
        membership: String,
        /// The context given.
        context: String,
        /// The clusters diagnosed.
        clusters: String,
    },
    /// `--implementation` with the GKE flavour.
    #[error(
        "--implementation {0} names an upstream implementation: use it with --flavour upstream"
    )]
    ImplementationWithGke(doctor::Implementation),
    /// `--from` names no cluster of the fleet.
    #[error("--from {0:?} is not one of the clusters diagnosed ({1})")]
    UnknownFrom(String, String),
    /// No context of the kubeconfig belongs to the fleet.
    #[error(
        "no context of the kubeconfig serves the {flavour} ServiceImport API (tried: {tried}): \
         name the clusters with --cluster NAME=CONTEXT, or check --flavour"
    )]
    NoFleet {
        /// The flavour's API group.
        flavour: String,
        /// Contexts tried.
        tried: String,
    },
    /// The doctor could not read a cluster.
    #[error("the doctor could not finish")]
    Doctor(#[from] doctor::DoctorError),
    /// A cluster does not answer, or rejects the credentials.
    #[error("cannot diagnose: {}", .0.join("; "))]
    Unreachable(Vec<String>),
    /// The output could not be written.
    #[error("failed to write the output")]
    Output(#[from] std::io::Error),
    /// The diagnosis could not be serialized.
    #[error("failed to serialize the diagnosis")]
    Json(#[from] serde_json::Error),
}

fn read_kubeconfig(path: Option<&Path>) -> Result<Kubeconfig, DoctorCmdError> {
    crate::fleet::read_kubeconfig(path).map_err(|e| match e {
        FleetError::Kubeconfig { path, source } => DoctorCmdError::Kubeconfig { path, source },
        other => DoctorCmdError::Context(other),
    })
}

/// The fleet: the `--cluster` contexts, or the kubeconfig's contexts that serve the
/// flavour's ServiceImport API. Returns (name, context, client) and notes on left-out
/// contexts.
async fn fleet(
    args: &DoctorArgs,
    kc: &Kubeconfig,
) -> Result<(Vec<(String, String, Client)>, Vec<String>), DoctorCmdError> {
    if !args.clusters.is_empty() {
        let mut out: Vec<(String, String, Client)> = Vec::new();
        for c in &args.clusters {
            if out.iter().any(|(n, _, _)| *n == c.name) {
                return Err(DoctorCmdError::DuplicateCluster(c.name.clone()));
            }
            let client = client_for_context(kc, &c.context).await?;
            out.push((c.name.clone(), c.context.clone(), client));
        }
        return Ok((out, Vec::new()));
    }
    let apis = doctor::served_apis(args.flavour);
    let names: Vec<String> = kc.contexts.iter().map(|c| c.name.clone()).collect();
    let probes = names.iter().map(|name| member(kc, name, &apis));
    let results = futures::future::join_all(probes).await;
    let (mut members, mut notes) = (Vec::new(), Vec::new());
    for (name, r) in names.iter().zip(results) {
        match r {
            Ok(client) => members.push((name.clone(), name.clone(), client)),
            Err(why) => notes.push(format!("context {name} left out: {why}")),
        }
    }
    if members.is_empty() {
        return Err(DoctorCmdError::NoFleet {
            flavour: apis.join(" or "),
            tried: if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            },
        });
    }
    Ok((members, notes))
}

/// A client for `context` if its API server serves `serviceimports` in one of `apis`
/// (upstream: `v1beta1` or `v1alpha1`).
async fn member(kc: &Kubeconfig, context: &str, apis: &[String]) -> Result<Client, String> {
    let client = client_for_context(kc, context)
        .await
        .map_err(|e| e.to_string())?;
    let mut why = Vec::new();
    for api in apis {
        let discovery = client.list_api_group_resources(api);
        match tokio::time::timeout(DISCOVERY_TIMEOUT, discovery).await {
            Err(_) => return Err(format!("no answer within {DISCOVERY_TIMEOUT:?}")),
            Ok(Err(e)) => why.push(format!("does not serve {api} ({e})")),
            Ok(Ok(list)) if list.resources.iter().any(|r| r.name == "serviceimports") => {
                return Ok(client);
            }
            Ok(Ok(_)) => why.push(format!("{api} has no serviceimports")),
        }
    }
    Err(why.join("; "))
}

/// Every cluster answers `/version` within `timeout` (else the doctor would wait on it for
/// minutes): one problem line per cluster that does not.
async fn reachable(
    members: &[(String, String, Client)],
    timeout: Duration,
) -> Result<(), DoctorCmdError> {
    let checks = members.iter().map(|(name, ctx, client)| async move {
        let answer = tokio::time::timeout(timeout, client.apiserver_version()).await;
        let why = match answer {
            Ok(Ok(_)) => return None,
            Ok(Err(e)) => {
                let p = crate::fleet::preflight::problem("read /version", &e);
                format!("{}; {}", p.message, p.remedy)
            }
            Err(_) => format!(
                "no answer within {} (raise --connect-timeout, or check the address)",
                crate::duration::human(timeout)
            ),
        };
        Some(format!("cluster {name} (context {ctx}): {why}"))
    });
    let problems: Vec<String> = futures::future::join_all(checks)
        .await
        .into_iter()
        .flatten()
        .collect();
    match problems.is_empty() {
        true => Ok(()),
        false => Err(DoctorCmdError::Unreachable(problems)),
    }
}

/// Runs `doctor`; returns the exit code (0 healthy, 1 broken or propagating).
pub async fn run(args: &DoctorArgs, out: &mut dyn std::io::Write) -> Result<i32, DoctorCmdError> {
    if let (Some(i), Flavour::Gke) = (args.implementation, args.flavour) {
        return Err(DoctorCmdError::ImplementationWithGke(i));
    }
    let kc = read_kubeconfig(args.kubeconfig.as_deref())?;
    let (members, notes) = fleet(args, &kc).await?;
    reachable(&members, args.connect_timeout).await?;
    let project = args.project.clone().or_else(|| {
        members
            .iter()
            .find_map(|(_, ctx, _)| gcloud::project_from_context(ctx))
    });
    let columns: Vec<String> = members
        .iter()
        .map(|(n, ctx, _)| {
            if n == ctx {
                n.clone()
            } else {
                format!("{n} (context {ctx})")
            }
        })
        .collect();
    let names: Vec<(String, String)> = members
        .iter()
        .map(|(n, ctx, _)| (n.clone(), ctx.clone()))
        .collect();
    let all = || list_names(&names);
    if let Some(from) = &args.from
        && !names.iter().any(|(n, _)| n == from)
    {
        return Err(DoctorCmdError::UnknownFrom(from.clone(), all()));
    }
    let memberships = memberships(args, project.as_deref(), &names).await?;
    let target = Target {
        clusters: members.into_iter().map(|(n, _, c)| (n, c)).collect(),
        flavour: args.flavour,
        namespace: args.namespace.clone(),
        service: args.service.clone(),
        memberships,
        consumer: args.from.clone(),
    };
    let opts = Options {
        probe_image: args.probe_image.clone(),
        probes: !args.no_probes,
        propagation_window: args.propagation_window,
        probe_timeout: args.probe_timeout,
        first_service_window: args.first_service_window,
        implementation: args.implementation,
        ..Options::default()
    };
    let mut d = doctor::diagnose(&target, &opts).await?;
    let ports = match args.gcloud {
        true => import_ports(&target, &d).await,
        false => Vec::new(),
    };
    add_gcloud(args, project.as_deref(), &ports, &mut d).await;
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &d)?;
        writeln!(out)?;
    } else {
        let flavour = args.flavour.group();
        let (ns, svc) = (&args.namespace, &args.service);
        writeln!(
            out,
            "doctor: Service {ns}/{svc} ({flavour}) in {}",
            columns.join(", ")
        )?;
        for n in &notes {
            writeln!(out, "note: {n}")?;
        }
        writeln!(out)?;
        doctor::render_table(&d, out)?;
    }
    Ok(if d.is_healthy() { 0 } else { 1 })
}

fn list_names(names: &[(String, String)]) -> String {
    let v: Vec<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
    v.join(", ")
}

/// Membership name → logical cluster: `--membership`, then gke_PROJECT_LOCATION_CLUSTER
/// contexts, then (with --gcloud) the fleet's memberships list.
async fn memberships(
    args: &DoctorArgs,
    project: Option<&str>,
    names: &[(String, String)],
) -> Result<std::collections::BTreeMap<String, String>, DoctorCmdError> {
    let mut out = std::collections::BTreeMap::new();
    for (m, ctx) in &args.memberships {
        let Some((name, _)) = names.iter().find(|(n, c)| c == ctx || n == ctx) else {
            return Err(DoctorCmdError::MembershipContext {
                membership: m.clone(),
                context: ctx.clone(),
                clusters: list_names(names),
            });
        };
        out.insert(m.clone(), name.clone());
    }
    for (name, ctx) in names {
        if let Some((_, _, cluster)) = doctor::gcloud_fleet::gke_context_parts(ctx) {
            out.entry(cluster).or_insert_with(|| name.clone());
        }
    }
    if let (true, Flavour::Gke, Some(p)) = (args.gcloud, args.flavour, project) {
        let list = gcloud::run_gcloud(
            [
                "container",
                "fleet",
                "memberships",
                "list",
                "--project",
                p,
                "--format",
                "json",
            ]
            .map(String::from)
            .to_vec(),
        )
        .await
        .and_then(|o| doctor::gcloud_fleet::parse_memberships(&o));
        match list {
            Ok(list) => {
                for m in &list {
                    if let Some(c) = doctor::gcloud_fleet::cluster_for(m, names) {
                        out.entry(m.membership.clone()).or_insert(c);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list the fleet's memberships"),
        }
    }
    Ok(out)
}

/// The service's import ports (for Traffic Director's backend services), read from the
/// first cluster holding its ServiceImport, when the diagnosis is about endpoints or
/// reachability on GKE.
async fn import_ports(t: &Target, d: &Diagnosis) -> Vec<i64> {
    use doctor::DiagnosisId;
    let wanted = [
        DiagnosisId::EndpointsEmpty,
        DiagnosisId::EndpointsStale,
        DiagnosisId::Unreachable,
    ];
    if t.flavour != Flavour::Gke || !d.diagnosis_id().is_some_and(|i| wanted.contains(&i)) {
        return Vec::new();
    }
    let gvk = kube::api::GroupVersionKind::gvk("net.gke.io", "v1", "ServiceImport");
    let ar = kube::api::ApiResource::from_gvk_with_plural(&gvk, "serviceimports");
    for (_, client) in &t.clusters {
        let api: kube::Api<kube::api::DynamicObject> =
            kube::Api::namespaced_with(client.clone(), &t.namespace, &ar);
        if let Ok(Some(i)) = api.get_opt(&t.service).await {
            let ports = i.data["spec"]["ports"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            return ports.iter().filter_map(|p| p["port"].as_i64()).collect();
        }
    }
    Vec::new()
}

/// The `--gcloud` checks (GKE only) and the project in remedies.
async fn add_gcloud(args: &DoctorArgs, project: Option<&str>, ports: &[i64], d: &mut Diagnosis) {
    let skipped = |detail: &str| doctor::LinkCheck {
        cluster: gcloud::GCLOUD_ROW.into(),
        link: "fleet-mcs".into(),
        state: doctor::CheckState::Skipped,
        detail: detail.into(),
    };
    match (args.gcloud, args.flavour, project) {
        (false, _, _) => {}
        (true, Flavour::Upstream, _) => d.checks.push(skipped("gcloud checks are for GKE")),
        (true, Flavour::Gke, None) => d.checks.push(skipped("no project: pass --project")),
        (true, Flavour::Gke, Some(p)) => {
            let bs = mcs_importer::types::gke::backend_service_name(&args.namespace, &args.service);
            let targets = gcloud::GcloudTargets {
                project: p.to_string(),
                vpc_host_project: args.vpc_host_project.clone(),
                backend_services: ports
                    .iter()
                    .map(|port| format!("{bs}-tcp-{port}"))
                    .collect(),
            };
            let report = gcloud::check(&targets, async |a| gcloud::run_gcloud(a).await).await;
            gcloud::apply(d, &report);
        }
    }
    if let Some(p) = project {
        gcloud::fill_project(d, p);
    }
}

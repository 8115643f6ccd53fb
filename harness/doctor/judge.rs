//! The pure half of the doctor: walks the links of the MCS chain over [`Facts`], cluster by
//! cluster, and names the first broken one.
//!
//! Order: links in chain order, and within a link the clusters in target order, so a broken
//! export in the exporting cluster is named before the missing import it causes elsewhere.
//! A hard break anywhere wins over a propagating link (waiting would not fix it).
//!
//! Links the importer makes true (export conditions, import, derived Service, endpoints) are
//! refined before choosing: when the importer of that cluster is down the diagnosis is
//! `importer-down`; when Events, export conditions or importer logs speak of denied
//! permissions it is `importer-permission-denied`; otherwise, while the newest object the
//! link depends on (exports, the importing namespace, the exporting pods' last readiness
//! change, the exported Services' last write) is younger than the propagation window, it is
//! `propagating`: wait, not broken.

use std::collections::BTreeSet;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use mcs_importer::Flavour;
use mcs_importer::conflict::{Export, Resolution, ServiceShape, resolve};
use mcs_importer::types::ServicePort;

use super::facts::{ClusterFacts, Facts, age, is_permission_message};
use super::id::DiagnosisId;
use super::model::{CheckState, Diagnosis, Evidence, LinkCheck};
use super::profile::{self, Profile, ProfileChoice};
use super::remedy::{Scope, remedy};
use super::{links_export, links_import, links_runtime};

/// The links of the chain, in order (the rows of the doctor's table).
pub const LINKS: [&str; 12] = [
    "service",
    "selector",
    "pods-ready",
    "local-endpoints",
    "export",
    "namespace",
    "import",
    "derived-service",
    "endpoints",
    "importer",
    "dns",
    "http",
];

/// Index of the importer link in [`LINKS`].
const IMPORTER: usize = 9;

/// Who makes a link true, which decides how a break is refined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    /// The user's own objects: a break is a break.
    User,
    /// The importer: down importer, denied permissions, or propagation explain it.
    Importer,
    /// Managed infrastructure that follows the import (DNS): propagation explains it.
    Propagation,
}

/// A broken link: what, evidence, and how young its newest dependency is.
#[derive(Clone, Debug)]
pub(crate) struct Finding {
    /// Diagnosis id.
    pub id: DiagnosisId,
    /// One sentence: what is wrong.
    pub summary: String,
    /// Object, field, value.
    pub evidence: Vec<Evidence>,
    /// Overrides the remedy of `id` when the generic one would mislead.
    pub remedy: Option<String>,
    /// Who makes the link true.
    pub owner: Owner,
    /// The newest object the link depends on (for the propagation window).
    pub since: Option<Timestamp>,
}

impl Finding {
    /// A finding owned by the user (no refinement).
    pub fn user(id: DiagnosisId, summary: String, evidence: Vec<Evidence>) -> Self {
        Self {
            id,
            summary,
            evidence,
            remedy: None,
            owner: Owner::User,
            since: None,
        }
    }

    /// The same finding with another owner and age.
    pub fn owned(mut self, owner: Owner, since: Option<Timestamp>) -> Self {
        self.owner = owner;
        self.since = since;
        self
    }
}

/// The outcome of one link in one cluster.
#[derive(Clone, Debug)]
pub(crate) enum Outcome {
    /// Holds; what was seen.
    Ok(String),
    /// Not checked; why.
    Skipped(String),
    /// Broken.
    Broken(Finding),
    /// Not there yet, but young: wait.
    Propagating(Finding),
}

/// Longest evidence value: API error messages embed whole Status objects.
const MAX_VALUE: usize = 300;

/// Evidence entry (the value cut to [`MAX_VALUE`] characters).
pub(crate) fn ev(cluster: &str, object: String, field: &str, value: String) -> Evidence {
    let value = match value.char_indices().nth(MAX_VALUE) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value,
    };
    Evidence {
        cluster: cluster.to_string(),
        object,
        field: field.to_string(),
        value,
    }
}

/// The newest of some timestamps.
pub(crate) fn newest(ts: impl IntoIterator<Item = Option<Timestamp>>) -> Option<Timestamp> {
    ts.into_iter().flatten().max()
}

/// What the links need to know about the whole fleet.
pub(crate) struct Ctx<'a> {
    /// The facts judged.
    pub f: &'a Facts,
    /// Some cluster has a ServiceExport.
    pub any_export: bool,
    /// Some cluster has the Service.
    pub any_service: bool,
    /// The import the exports call for (`mcs_importer`'s own conflict resolution).
    pub resolution: Resolution,
    /// Ready pod IPs of the valid exporting clusters: what every import should list.
    pub expected: BTreeSet<String>,
    /// Newest ServiceExport.
    pub export_since: Option<Timestamp>,
    /// Newest readiness change of the valid exporters' pods.
    pub pods_since: Option<Timestamp>,
    /// Newest write to an exported Service.
    pub services_since: Option<Timestamp>,
    /// Export conditions saying the importer could not read a cluster's endpoints.
    pub export_permission: Vec<Evidence>,
    /// Upstream: the implementation profile and why it was chosen.
    pub choice: Option<ProfileChoice>,
    /// Service ClusterIPs of the valid exporting clusters (what Lighthouse and Antrea
    /// import by default for a ClusterSetIP service).
    pub expected_service_ips: BTreeSet<String>,
}

impl<'a> Ctx<'a> {
    fn new(f: &'a Facts) -> Self {
        let exports: Vec<Export> = f
            .clusters
            .iter()
            .filter_map(|c| {
                let e = c.export.as_ref()?;
                Some(Export {
                    cluster: c.name.clone(),
                    created: e.created.map(Time),
                    service: c.service.as_ref().map(shape),
                })
            })
            .collect();
        let resolution = resolve(&exports);
        let valid: Vec<&ClusterFacts> = f
            .clusters
            .iter()
            .filter(|c| resolution.clusters.contains(&c.name))
            .collect();
        let expected = valid
            .iter()
            .flat_map(|c| c.expected_local_endpoints())
            .collect();
        let expected_service_ips = valid
            .iter()
            .filter_map(|c| c.service.as_ref()?.cluster_ip.clone())
            .filter(|ip| !ip.is_empty() && ip != "None")
            .collect();
        let exporting = || f.clusters.iter().filter(|c| c.export.is_some());
        Ctx {
            f,
            any_export: !exports.is_empty(),
            any_service: f.clusters.iter().any(|c| c.service.is_some()),
            expected,
            export_since: newest(exporting().map(|c| c.export.as_ref().and_then(|e| e.created))),
            pods_since: newest(valid.iter().flat_map(|c| c.pods.iter().map(|p| p.changed))),
            services_since: newest(exporting().map(|c| c.service.as_ref().and_then(|s| s.updated))),
            export_permission: export_permission(f),
            resolution,
            choice: (f.flavour == Flavour::Upstream).then(|| profile::choose(f)),
            expected_service_ips,
        }
    }

    /// Upstream: the profile judged by.
    pub fn profile(&self) -> Option<&'static Profile> {
        self.choice.as_ref().map(|c| c.implementation.profile())
    }

    /// Whether the service-side links (selector, pods, local endpoints) apply to `c`: it
    /// exports, or nobody exports and it has the Service.
    pub fn candidate(&self, c: &ClusterFacts) -> bool {
        c.export.is_some() || (!self.any_export && c.service.is_some())
    }
}

/// The conflict resolver's view of a Service.
fn shape(s: &super::facts::ServiceFacts) -> ServiceShape {
    ServiceShape {
        service_type: s.type_.clone(),
        headless: s.headless(),
        ports: s
            .ports
            .iter()
            .map(|p| ServicePort {
                name: p.name.clone(),
                protocol: p.protocol.clone(),
                port: p.port,
                app_protocol: None,
            })
            .collect(),
        session_affinity: s.session_affinity.clone(),
        session_affinity_config: None,
        ip_families: Vec::new(),
        internal_traffic_policy: None,
        traffic_distribution: None,
    }
}

fn export_permission(f: &Facts) -> Vec<Evidence> {
    let mut out = Vec::new();
    for c in &f.clusters {
        for cond in c.export.iter().flat_map(|e| &e.conditions) {
            if cond.status == "False" && is_permission_message(&cond.message) {
                out.push(ev(
                    &c.name,
                    format!("ServiceExport {}/{}", f.namespace, f.service),
                    &format!("status.conditions[{}]", cond.type_),
                    cond.describe(),
                ));
            }
        }
    }
    out
}

fn check(link: usize, c: &ClusterFacts, ctx: &Ctx<'_>) -> Outcome {
    match LINKS[link] {
        "service" => links_export::service(c, ctx),
        "selector" => links_export::selector(c, ctx),
        "pods-ready" => links_export::pods_ready(c, ctx),
        "local-endpoints" => links_export::local_endpoints(c, ctx),
        "export" => links_export::export(c, ctx),
        "namespace" => links_import::namespace(c, ctx),
        "import" => links_import::import(c, ctx),
        "derived-service" => links_import::derived(c, ctx),
        "endpoints" => links_import::endpoints(c, ctx),
        "importer" => links_runtime::importer(c, ctx),
        "dns" => links_runtime::dns(c, ctx),
        _ => links_runtime::http(c, ctx),
    }
}

/// Judges `facts`: every link in every cluster, and the first broken one.
pub fn judge(facts: &Facts, window: Duration) -> Diagnosis {
    let ctx = Ctx::new(facts);
    // grid[cluster][link]
    let mut grid: Vec<Vec<Outcome>> = facts
        .clusters
        .iter()
        .map(|c| (0..LINKS.len()).map(|l| check(l, c, &ctx)).collect())
        .collect();
    for (ci, row) in grid.iter_mut().enumerate() {
        refine(row, &facts.clusters[ci], &ctx, window);
    }
    choose(facts, &grid, window, ctx.choice)
}

/// Explains importer-owned breaks by the importer's state, or as propagation.
fn refine(row: &mut [Outcome], c: &ClusterFacts, ctx: &Ctx<'_>, window: Duration) {
    let down = match &row[IMPORTER] {
        Outcome::Broken(f) if f.id == DiagnosisId::ImporterDown => Some(f.clone()),
        _ => None,
    };
    let permission = permission_evidence(c, ctx);
    let mut denied: Option<Finding> = None;
    for cell in row.iter_mut() {
        let Outcome::Broken(f) = &*cell else { continue };
        let young = f.since.is_some_and(|t| younger(ctx.f.now, t, window));
        let replacement = match (f.owner, &down) {
            (Owner::Importer, Some(d)) => Outcome::Broken(explained(d.clone(), f)),
            (Owner::Importer, None) if !permission.is_empty() => {
                let d = denied_finding(c, ctx, &permission);
                denied.get_or_insert_with(|| d.clone());
                Outcome::Broken(explained(d, f))
            }
            (Owner::Importer | Owner::Propagation, _) if young => Outcome::Propagating(f.clone()),
            _ => continue,
        };
        *cell = replacement;
    }
    if let (Some(d), Outcome::Ok(_)) = (denied, &row[IMPORTER]) {
        row[IMPORTER] = Outcome::Broken(d);
    }
}

/// `cause`, with the symptom it explains appended as evidence.
fn explained(mut cause: Finding, symptom: &Finding) -> Finding {
    cause.summary = format!("{} ({})", cause.summary, symptom.summary);
    cause.evidence.extend(symptom.evidence.iter().cloned());
    cause
}

/// Whether `t` is younger than `window` at `now`. Object times have whole seconds and clocks
/// may be skewed, so a time in the future counts as age zero; a zero window is never young.
fn younger(now: Timestamp, t: Timestamp, window: Duration) -> bool {
    let age_ms = now
        .as_millisecond()
        .saturating_sub(t.as_millisecond())
        .max(0);
    !window.is_zero() && i128::from(age_ms) < window.as_millis() as i128
}

/// Warnings and logs in `c`, and export conditions anywhere, that speak of permissions.
fn permission_evidence(c: &ClusterFacts, ctx: &Ctx<'_>) -> Vec<Evidence> {
    let mut out: Vec<Evidence> = c
        .warnings
        .iter()
        .filter(|w| is_permission_message(&w.message))
        .map(|w| {
            ev(
                &c.name,
                format!("Event {}/{} about {}", ctx.f.namespace, w.name, w.object),
                "message",
                format!("{}: {}", w.reason, w.message),
            )
        })
        .collect();
    out.extend(c.importer.permission_logs.iter().map(|l| {
        ev(
            &c.name,
            "Pod gke-mcs/gke-mcs-importer".into(),
            "logs",
            l.clone(),
        )
    }));
    out.extend(ctx.export_permission.iter().cloned());
    out
}

fn denied_finding(c: &ClusterFacts, ctx: &Ctx<'_>, evidence: &[Evidence]) -> Finding {
    Finding::user(
        DiagnosisId::ImporterPermissionDenied,
        format!(
            "the importer is denied access it needs for {}/{} (seen from cluster {})",
            ctx.f.namespace, ctx.f.service, c.name
        ),
        evidence.to_vec(),
    )
}

/// The first hard break in chain order, else the first propagating link, else healthy.
fn choose(
    facts: &Facts,
    grid: &[Vec<Outcome>],
    window: Duration,
    choice: Option<ProfileChoice>,
) -> Diagnosis {
    let checks = table(facts, grid);
    let in_order =
        || (0..LINKS.len()).flat_map(move |l| (0..grid.len()).map(move |c| (c, &grid[c][l])));
    let hard = in_order().find_map(|(c, o)| match o {
        Outcome::Broken(f) => Some((c, f, false)),
        _ => None,
    });
    let first = hard.or_else(|| {
        in_order().find_map(|(c, o)| match o {
            Outcome::Propagating(f) => Some((c, f, true)),
            _ => None,
        })
    });
    let Some((ci, f, propagating)) = first else {
        return Diagnosis {
            id: Diagnosis::HEALTHY.to_string(),
            cluster: None,
            summary: format!(
                "every link holds in every cluster ({})",
                facts.clusters.len()
            ),
            evidence: Vec::new(),
            remedy: String::new(),
            checks,
            implementation: choice,
        };
    };
    let cluster = facts.clusters[ci].name.clone();
    let scope = Scope {
        flavour: facts.flavour,
        implementation: choice.as_ref().map(|c| c.implementation),
        namespace: &facts.namespace,
        service: &facts.service,
        cluster: &cluster,
    };
    let (id, summary, remedy_text) = if propagating {
        let since = f.since.map(|t| age(facts.now, t)).unwrap_or_default();
        let summary = format!(
            "{}; the newest change it depends on is {since} old, within the propagation window \
             of {}s: wait (after the window this would be `{}`)",
            f.summary,
            window.as_secs(),
            f.id
        );
        (
            DiagnosisId::Propagating,
            summary,
            remedy(DiagnosisId::Propagating, &scope),
        )
    } else {
        let r = f.remedy.clone().unwrap_or_else(|| remedy(f.id, &scope));
        (f.id, f.summary.clone(), r)
    };
    Diagnosis {
        id: id.to_string(),
        cluster: Some(cluster),
        summary,
        evidence: f.evidence.clone(),
        remedy: remedy_text,
        checks,
        implementation: choice,
    }
}

fn table(facts: &Facts, grid: &[Vec<Outcome>]) -> Vec<LinkCheck> {
    let mut out = Vec::new();
    for (c, row) in facts.clusters.iter().zip(grid) {
        for (link, o) in LINKS.iter().zip(row) {
            let (state, detail) = match o {
                Outcome::Ok(d) => (CheckState::Ok, d.clone()),
                Outcome::Skipped(d) => (CheckState::Skipped, d.clone()),
                Outcome::Broken(f) => (CheckState::Broken, format!("{}: {}", f.id, f.summary)),
                Outcome::Propagating(f) => (CheckState::Propagating, f.summary.clone()),
            };
            out.push(LinkCheck {
                cluster: c.name.clone(),
                link: link.to_string(),
                state,
                detail,
            });
        }
    }
    out
}

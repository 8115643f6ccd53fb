//! The MCS assertion `expectImport`: the ServiceImport in a cluster (present or absent),
//! its derived Service, the endpoint IP set against the ready pods of the exporting
//! clusters, and ServiceExport conditions — judged on snapshots of reflector stores of the
//! objects involved, in every cluster involved (no API reads per evaluation).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Pod, Service};
use kube::ResourceExt;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use mcs_importer::Flavour;
use mcs_importer::slices::LABEL_SERVICE_NAME;

use super::context::Ctx;
use super::error::StepError;
use super::observe::{Watches, named};
use super::op::ImportOp;
use super::wait::{Check, CheckError, Observed, WaitSpec, until};
use crate::event::Milestone;

/// Ready pod IPs behind Service `service` in `cluster` (empty when the Service is absent).
pub(super) async fn ready_pod_ips(
    ctx: &Ctx,
    cluster: &str,
    service: &str,
) -> Result<BTreeSet<String>, CheckError> {
    Ok(ready_pods(ctx, cluster, service)
        .await?
        .into_values()
        .collect())
}

/// Ready pods behind a Service: pod name → IP.
pub(super) async fn ready_pods(
    ctx: &Ctx,
    cluster: &str,
    service: &str,
) -> Result<BTreeMap<String, String>, CheckError> {
    let client = ctx
        .clusters
        .client(cluster)
        .map_err(|e| CheckError::fatal(e.to_string()))?;
    let svc = Api::<Service>::namespaced(client.clone(), &ctx.id.namespace)
        .get_opt(service)
        .await
        .map_err(|e| CheckError::api(&format!("get Service {service} in {cluster}"), &e))?;
    let Some(selector) = svc.and_then(|s| s.spec?.selector).filter(|s| !s.is_empty()) else {
        return Ok(BTreeMap::new());
    };
    let labels: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let pods = Api::<Pod>::namespaced(client, &ctx.id.namespace)
        .list(&ListParams::default().labels(&labels.join(",")))
        .await
        .map_err(|e| CheckError::api(&format!("list pods in {cluster}"), &e))?;
    Ok(pods
        .items
        .into_iter()
        .filter(is_ready)
        .filter_map(|p| Some((p.metadata.name?, p.status?.pod_ip?)))
        .collect())
}

fn is_ready(p: &Pod) -> bool {
    p.metadata.deletion_timestamp.is_none()
        && p.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .flatten()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
}

/// The derived Service's name for `service` in the run's namespace.
pub(super) fn derived(ctx: &Ctx, service: &str) -> String {
    ctx.id.flavour.derived_name(&ctx.id.namespace, service)
}

/// `group/version` of the flavour's MCS API.
pub(super) fn mcs_api_version(f: Flavour) -> String {
    f.api()
}

/// What `expectImport` observes in one snapshot of its watches.
#[derive(Clone, Debug)]
pub(super) struct ImportState {
    /// The ServiceImport exists.
    import: bool,
    /// The derived Service's name and whether it exists (when asked).
    derived: Option<(String, bool)>,
    /// Endpoint IPs MCS published (when asked): the derived Endpoints (GKE) or the ready
    /// addresses of the import's EndpointSlices (upstream).
    published: Option<BTreeSet<String>>,
    /// Ready pod IPs behind the Service in the exporting clusters (when asked).
    want: Option<BTreeSet<String>>,
    /// ServiceExport condition type → status (`<absent>`, `<no ServiceExport>`).
    conditions: Vec<(String, String)>,
}

/// Store indexes of an `expectImport`'s watches.
struct Layout {
    import: usize,
    services: usize,
    published: usize,
    export: Option<usize>,
    /// (pods, services) per exporting cluster.
    exporters: Vec<(usize, usize)>,
}

/// Runs an `expectImport` step: watches every object involved (in every cluster involved)
/// into stores, judges each snapshot, records milestones from the observations.
pub(super) async fn expect_import(
    ctx: &Ctx,
    index: usize,
    a: &ImportOp,
    timeout: std::time::Duration,
) -> Result<(), StepError> {
    let cluster = a.cluster.as_str();
    let spec = WaitSpec {
        index,
        what: format!("ServiceImport {} in {cluster}", a.service),
        timeout,
        hold: 1,
    };
    let flavour = ctx.id.flavour;
    let av = mcs_api_version(flavour);
    let mut w = Watches::new();
    let all = watcher::Config::default;
    let published = match flavour {
        Flavour::Gke => api(ctx, cluster, "v1", "Endpoints").await?,
        Flavour::Upstream => api(ctx, cluster, "discovery.k8s.io/v1", "EndpointSlice").await?,
    };
    let mut layout = Layout {
        import: w.add(api(ctx, cluster, &av, "ServiceImport").await?, all()),
        services: w.add(api(ctx, cluster, "v1", "Service").await?, all()),
        published: w.add(published, all()),
        export: None,
        exporters: Vec::new(),
    };
    if !a.conditions.is_empty() {
        layout.export = Some(w.add(api(ctx, cluster, &av, "ServiceExport").await?, all()));
    }
    for c in a.endpoints_from.iter().flatten() {
        let pods = w.add(api(ctx, c, "v1", "Pod").await?, all());
        let services = w.add(api(ctx, c, "v1", "Service").await?, all());
        layout.exporters.push((pods, services));
    }
    let (op, derived) = (a.clone(), derived(ctx, &a.service));
    let mut source = w.source(move |stores| Ok(snapshot(&op, &layout, &derived, flavour, stores)));
    let m = &ctx.milestones;
    let seen = |o: &Observed<ImportState>| {
        match (a.present, o.state.import) {
            (true, true) => m.reach_at(Milestone::ImportSeen, Some(cluster), o.at),
            (false, false) if m.after_unexport() => {
                m.reach_at(Milestone::ImportRemoved, Some(cluster), o.at)
            }
            _ => {}
        }
        // Endpoints of an import: an empty set before the import exists is not "correct".
        if o.state.import && o.state.want.is_some() && o.state.want == o.state.published {
            m.reach_at(Milestone::EndpointsCorrect, Some(cluster), o.at);
        }
    };
    until(
        ctx.wait_env(),
        spec,
        &mut source,
        |s| Ok(judge_import(a, s)),
        seen,
    )
    .await
    .map(drop)
}

/// The namespaced API (and resource) of `kind` in `cluster`, for watching.
async fn api(
    ctx: &Ctx,
    cluster: &str,
    api_version: &str,
    kind: &str,
) -> Result<(Api<DynamicObject>, ApiResource), StepError> {
    let t = ctx.target(cluster, api_version, kind, "", None).await?;
    Ok((t.api, t.resource))
}

/// Reads what `a` asks about from the stores (pure: no API calls).
fn snapshot(
    a: &ImportOp,
    l: &Layout,
    derived: &str,
    flavour: Flavour,
    stores: &[Store<DynamicObject>],
) -> ImportState {
    let want = a.endpoints_from.as_ref().map(|_| {
        l.exporters
            .iter()
            .flat_map(|(pods, services)| {
                ready_ips_in(
                    &stores[*pods],
                    named(&stores[*services], &a.service).as_ref(),
                )
            })
            .collect()
    });
    let published = a.endpoints_from.as_ref().map(|_| match flavour {
        Flavour::Gke => named(&stores[l.published], derived)
            .into_iter()
            .flat_map(|e| e.data["subsets"].as_array().cloned().unwrap_or_default())
            .flat_map(|s| s["addresses"].as_array().cloned().unwrap_or_default())
            .filter_map(|a| a["ip"].as_str().map(str::to_string))
            .collect(),
        Flavour::Upstream => stores[l.published]
            .state()
            .iter()
            .filter(|s| s.labels().get(LABEL_SERVICE_NAME) == Some(&a.service))
            .flat_map(|s| s.data["endpoints"].as_array().cloned().unwrap_or_default())
            .filter(|e| e["conditions"]["ready"] != false)
            .flat_map(|e| e["addresses"].as_array().cloned().unwrap_or_default())
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect(),
    });
    let export = l.export.and_then(|i| named(&stores[i], &a.service));
    ImportState {
        import: named(&stores[l.import], &a.service).is_some(),
        derived: a.derived_service.map(|_| {
            (
                derived.to_string(),
                named(&stores[l.services], derived).is_some(),
            )
        }),
        published,
        want,
        conditions: a
            .conditions
            .keys()
            .map(|ty| (ty.clone(), condition(export.as_ref(), ty)))
            .collect(),
    }
}

/// Ready pod IPs in `pods` selected by `service` (none when it is absent or selects
/// nothing).
fn ready_ips_in(pods: &Store<DynamicObject>, service: Option<&DynamicObject>) -> Vec<String> {
    let selector = service
        .and_then(|s| s.data["spec"]["selector"].as_object().cloned())
        .filter(|s| !s.is_empty());
    let Some(selector) = selector else {
        return Vec::new();
    };
    pods.state()
        .iter()
        .filter(|p| {
            selector
                .iter()
                .all(|(k, v)| v.as_str() == p.labels().get(k).map(String::as_str))
        })
        .filter(|p| {
            p.metadata.deletion_timestamp.is_none()
                && p.data["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
        .filter_map(|p| p.data["status"]["podIP"].as_str().map(str::to_string))
        .collect()
}

/// The verdict of `expectImport` over one snapshot.
fn judge_import(a: &ImportOp, s: &ImportState) -> Check {
    let (mut expected, mut seen) = (Vec::new(), Vec::new());
    let word = |b: bool| if b { "present" } else { "absent" };
    expected.push(format!("serviceImport: {}", word(a.present)));
    seen.push(format!("serviceImport: {}", word(s.import)));
    if let (Some(want), Some((name, got))) = (a.derived_service, &s.derived) {
        expected.push(format!("derivedService {name}: {}", word(want)));
        seen.push(format!("derivedService {name}: {}", word(*got)));
    }
    if let (Some(want), Some(got)) = (&s.want, &s.published) {
        expected.push(ip_lines(want));
        seen.push(ip_lines(got));
    }
    for ((ty, want), (_, got)) in a.conditions.iter().zip(&s.conditions) {
        expected.push(format!("condition {ty}: {want}"));
        seen.push(format!("condition {ty}: {got}"));
    }
    let (expected, seen) = (expected.join("\n"), seen.join("\n"));
    let summary = first_difference(&expected, &seen);
    Check::compare(summary, expected, seen)
}

/// The first line that differs, as `seen X, expected Y`.
pub(super) fn first_difference(expected: &str, seen: &str) -> String {
    expected
        .lines()
        .zip(seen.lines())
        .find(|(e, s)| e != s)
        .map(|(e, s)| format!("expected {e}, seen {s}"))
        .unwrap_or_else(|| "as expected".to_string())
}

fn ip_lines(ips: &BTreeSet<String>) -> String {
    let list: Vec<&str> = ips.iter().map(String::as_str).collect();
    format!("endpoints: [{}]", list.join(", "))
}

fn condition(obj: Option<&DynamicObject>, ty: &str) -> String {
    let Some(obj) = obj else {
        return "<no ServiceExport>".to_string();
    };
    obj.data["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == ty)
        .and_then(|c| c["status"].as_str())
        .unwrap_or("<absent>")
        .to_string()
}

/// GETs an MCS object (ServiceImport/ServiceExport) of the run's namespace.
pub(super) async fn get_dyn(
    ctx: &Ctx,
    cluster: &str,
    kind: &str,
    name: &str,
) -> Result<Option<DynamicObject>, CheckError> {
    let av = mcs_api_version(ctx.id.flavour);
    let t = ctx
        .target(cluster, &av, kind, name, None)
        .await
        .map_err(|e| CheckError::fatal(e.to_string()))?;
    t.api
        .get_opt(name)
        .await
        .map_err(|e| CheckError::api(&format!("get {kind} {name} in {cluster}"), &e))
}

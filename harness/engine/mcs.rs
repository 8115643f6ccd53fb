//! The MCS assertion `expectImport`: the ServiceImport in a cluster (present or absent),
//! its derived Service, the endpoint IP set against the ready pods of the exporting
//! clusters, and ServiceExport conditions — re-checked on every watch event of the objects
//! involved, in every cluster involved.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DynamicObject, ListParams};
use kube::runtime::watcher;
use mcs_importer::Flavour;
use mcs_importer::slices::LABEL_SERVICE_NAME;

use super::context::Ctx;
use super::wait::{Check, CheckError, Poll, Trigger, WaitSpec, until, watch};
use crate::event::{Failure, Milestone};
use crate::scenario::ExpectImportAction;

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
        .client(cluster)
        .map_err(|f| CheckError::fatal(f.message))?;
    let svc = Api::<Service>::namespaced(client.clone(), &ctx.namespace)
        .get_opt(service)
        .await
        .map_err(|e| CheckError::api(&format!("get Service {service} in {cluster}"), &e))?;
    let Some(selector) = svc.and_then(|s| s.spec?.selector).filter(|s| !s.is_empty()) else {
        return Ok(BTreeMap::new());
    };
    let labels: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let pods = Api::<Pod>::namespaced(client, &ctx.namespace)
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
    ctx.flavour.derived_name(&ctx.namespace, service)
}

/// `group/version` of the flavour's MCS API.
pub(super) fn mcs_api_version(f: Flavour) -> String {
    f.api()
}

/// Endpoint IPs MCS published for `service` in `cluster`: the derived Endpoints (GKE) or
/// the ready addresses of the import's EndpointSlices (upstream).
async fn published_ips(
    ctx: &Ctx,
    cluster: &str,
    service: &str,
) -> Result<BTreeSet<String>, CheckError> {
    let client = ctx
        .client(cluster)
        .map_err(|f| CheckError::fatal(f.message))?;
    match ctx.flavour {
        Flavour::Gke => {
            let name = derived(ctx, service);
            let ep = Api::<Endpoints>::namespaced(client, &ctx.namespace)
                .get_opt(&name)
                .await
                .map_err(|e| CheckError::api(&format!("get Endpoints {name} in {cluster}"), &e))?;
            Ok(ep
                .into_iter()
                .flat_map(|e| e.subsets.unwrap_or_default())
                .flat_map(|s| s.addresses.unwrap_or_default())
                .map(|a| a.ip)
                .collect())
        }
        Flavour::Upstream => {
            let lp = ListParams::default().labels(&format!("{LABEL_SERVICE_NAME}={service}"));
            let slices = Api::<EndpointSlice>::namespaced(client, &ctx.namespace)
                .list(&lp)
                .await
                .map_err(|e| CheckError::api(&format!("list EndpointSlices in {cluster}"), &e))?;
            Ok(slices
                .items
                .into_iter()
                .flat_map(|s| s.endpoints)
                .flatten()
                .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) != Some(false))
                .flat_map(|e| e.addresses)
                .collect())
        }
    }
}

/// Runs an `expectImport` step.
pub(super) async fn expect_import(
    ctx: &Ctx,
    index: usize,
    a: &ExpectImportAction,
    timeout: std::time::Duration,
) -> Result<(), Failure> {
    let cluster = a.cluster.value.as_str();
    let spec = WaitSpec {
        index,
        what: format!("ServiceImport {} in {cluster}", a.service),
        timeout,
        hold: 1,
        poll: Poll::WATCHED,
    };
    let triggers = import_triggers(ctx, a).await?;
    until(ctx, spec, triggers, || check_import(ctx, a))
        .await
        .map(drop)
}

async fn import_triggers(ctx: &Ctx, a: &ExpectImportAction) -> Result<Vec<Trigger>, Failure> {
    let cluster = a.cluster.value.as_str();
    let av = mcs_api_version(ctx.flavour);
    let mut kinds = vec![
        (cluster.to_string(), av.clone(), "ServiceImport"),
        (cluster.to_string(), "v1".into(), "Service"),
    ];
    kinds.push(match ctx.flavour {
        Flavour::Gke => (cluster.to_string(), "v1".into(), "Endpoints"),
        Flavour::Upstream => (
            cluster.to_string(),
            "discovery.k8s.io/v1".into(),
            "EndpointSlice",
        ),
    });
    if !a.conditions.is_empty() {
        kinds.push((cluster.to_string(), av, "ServiceExport"));
    }
    for c in a.endpoints_from.iter().flatten() {
        kinds.push((c.value.clone(), "v1".into(), "Pod"));
        kinds.push((c.value.clone(), "v1".into(), "Service"));
    }
    let mut out = Vec::new();
    for (c, av, kind) in kinds {
        let t = ctx.target(&c, &av, kind, "", None).await?;
        out.push(watch(t.api, watcher::Config::default()));
    }
    Ok(out)
}

async fn check_import(ctx: &Ctx, a: &ExpectImportAction) -> Result<Check, CheckError> {
    let cluster = a.cluster.value.as_str();
    let (mut expected, mut seen) = (Vec::new(), Vec::new());
    let import = get_dyn(ctx, cluster, "ServiceImport", &a.service).await?;
    let word = |b: bool| if b { "present" } else { "absent" };
    expected.push(format!("serviceImport: {}", word(a.present)));
    seen.push(format!("serviceImport: {}", word(import.is_some())));
    match (a.present, import.is_some()) {
        (true, true) => ctx.milestone(Milestone::ImportSeen, Some(cluster)),
        (false, false) if ctx.after_unexport() => {
            ctx.milestone(Milestone::ImportRemoved, Some(cluster))
        }
        _ => {}
    }
    if let Some(want) = a.derived_service {
        let name = derived(ctx, &a.service);
        let client = ctx
            .client(cluster)
            .map_err(|f| CheckError::fatal(f.message))?;
        let got = Api::<Service>::namespaced(client, &ctx.namespace)
            .get_opt(&name)
            .await
            .map_err(|e| CheckError::api(&format!("get Service {name} in {cluster}"), &e))?;
        expected.push(format!("derivedService {name}: {}", word(want)));
        seen.push(format!("derivedService {name}: {}", word(got.is_some())));
    }
    if let Some(from) = &a.endpoints_from {
        let mut want = BTreeSet::new();
        for c in from {
            want.extend(ready_pod_ips(ctx, &c.value, &a.service).await?);
        }
        let got = published_ips(ctx, cluster, &a.service).await?;
        if want == got {
            ctx.milestone(Milestone::EndpointsCorrect, Some(cluster));
        }
        expected.push(ip_lines(&want));
        seen.push(ip_lines(&got));
    }
    if !a.conditions.is_empty() {
        let export = get_dyn(ctx, cluster, "ServiceExport", &a.service).await?;
        for (ty, want) in &a.conditions {
            expected.push(format!("condition {ty}: {want}"));
            seen.push(format!(
                "condition {ty}: {}",
                condition(export.as_ref(), ty)
            ));
        }
    }
    let (expected, seen) = (expected.join("\n"), seen.join("\n"));
    let summary = first_difference(&expected, &seen);
    Ok(Check::compare(summary, expected, seen))
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
    let av = mcs_api_version(ctx.flavour);
    let t = ctx
        .target(cluster, &av, kind, name, None)
        .await
        .map_err(|f| CheckError::fatal(f.message))?;
    t.api
        .get_opt(name)
        .await
        .map_err(|e| CheckError::api(&format!("get {kind} {name} in {cluster}"), &e))
}

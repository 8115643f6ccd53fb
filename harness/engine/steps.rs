//! What each step kind does. Every step gets a deadline; waits and assertions are in
//! `wait`, `mcs` and `probes`; this file holds the mutations (apply, delete, patch,
//! scale, export, unexport, faults) and the generic `wait`.

use std::time::Duration;

use backon::Retryable;
use kube::api::{Patch, PatchParams};
use kube::runtime::watcher;
use serde_json::{Value, json};

use super::FIELD_MANAGER;
use super::background;
use super::context::Ctx;
use super::mcs::{expect_import, mcs_api_version};
use super::objects::{api_failure, backoff, parse_manifests, transient};
use super::probes::{expect_dns, expect_http, host_of, service_of};
use super::wait::{Check, CheckError, Poll, WaitSpec, until, watch};
use crate::event::Failure;
use crate::scenario::{Action, ManifestAction, PatchAction, PatchType, Step, WaitAction, render};

/// API version of sim Fault objects.
const FAULT_API_VERSION: &str = "sim.mcs-harness.dev/v1alpha1";

/// Runs one step (not `expectFailure`, which the scenario runner handles) within `timeout`.
pub(super) async fn run(
    ctx: &Ctx,
    index: usize,
    step: &Step,
    timeout: Duration,
) -> Result<(), Failure> {
    match &step.action {
        Action::Apply(m) => apply(ctx, m).await,
        Action::Delete(m) => delete(ctx, m, timeout).await,
        Action::Patch(p) => patch(ctx, p).await,
        Action::Scale(s) => {
            let p = json!({"spec": {"replicas": s.replicas.value}});
            let t = ctx
                .target(
                    &s.cluster.value,
                    "apps/v1",
                    "Deployment",
                    &s.deployment,
                    None,
                )
                .await?;
            let (params, body) = (PatchParams::default(), Patch::Merge(&p));
            (|| t.api.patch(&s.deployment, &params, &body))
                .retry(backoff())
                .when(transient)
                .await
                .map_err(|e| api_failure(&format!("scale Deployment {}", s.deployment), &e))
                .map(drop)
        }
        Action::Export(s) => {
            let obj = json!({"apiVersion": mcs_api_version(ctx.flavour), "kind": "ServiceExport",
                "metadata": {"name": s.service}});
            ctx.apply_object(&s.cluster.value, obj).await?;
            ctx.export_applied(&s.cluster.value);
            Ok(())
        }
        Action::Unexport(s) => {
            let av = mcs_api_version(ctx.flavour);
            let t = ctx
                .target(&s.cluster.value, &av, "ServiceExport", &s.service, None)
                .await?;
            ctx.delete_object(&t, &s.cluster.value, timeout, false)
                .await?;
            ctx.unexported(&s.cluster.value);
            Ok(())
        }
        Action::Wait(w) => wait(ctx, index, w, timeout).await,
        Action::ExpectImport(a) => expect_import(ctx, index, a, timeout).await,
        Action::ExpectDns(a) => expect_dns(ctx, index, a, timeout).await,
        Action::ExpectHttp(a) => expect_http(ctx, index, a, timeout).await,
        Action::ExpectConnect(a) => super::net::expect_connect(ctx, index, a, timeout).await,
        Action::Fault(f) => {
            let (name, spec) = (ctx.fault_name(&f.name), ctx.fault_spec(&f.spec));
            let obj = json!({"apiVersion": FAULT_API_VERSION, "kind": "Fault",
                "metadata": {"name": name}, "spec": spec});
            ctx.apply_object(&f.cluster.value, obj).await?;
            fault_active(ctx, index, &f.cluster.value, &name, timeout).await
        }
        Action::ClearFault(f) => {
            let name = ctx.fault_name(&f.name);
            let t = ctx
                .target(&f.cluster.value, FAULT_API_VERSION, "Fault", &name, None)
                .await?;
            ctx.delete_object(&t, &f.cluster.value, timeout, false)
                .await
        }
        Action::Sleep(d) => tokio::select! {
            () = tokio::time::sleep(*d) => Ok(()),
            () = ctx.cancel.cancelled() => Err(Failure::msg("cancelled (SIGINT/SIGTERM)")),
        },
        Action::ExpectFailure { .. } => Err(Failure::msg(
            "expectFailure cannot be nested in expectFailure",
        )),
        Action::StartProbe(p) => {
            let running = background::start(ctx, p).await?;
            ctx.background
                .lock()
                .await
                .insert(p.name.value.clone(), running);
            Ok(())
        }
        Action::StopProbe(p) => {
            let running = ctx.background.lock().await.remove(&p.name.value);
            let running = running
                .ok_or_else(|| Failure::msg(format!("no running probe {:?}", p.name.value)))?;
            background::stop(ctx, index, running, p).await
        }
    }
}

/// The rendered manifest text of an apply/delete step.
fn manifest_text(ctx: &Ctx, m: &ManifestAction) -> Result<(String, String), Failure> {
    let cluster = m.cluster.value.as_str();
    let (what, raw) = match (&m.resolved_file, &m.manifest) {
        (Some(path), _) => (
            path.display().to_string(),
            std::fs::read_to_string(path).map_err(|e| {
                Failure::msg(format!("cannot read fixture {}: {e}", path.display()))
            })?,
        ),
        (None, Some(inline)) => ("inline manifest".to_string(), inline.value.clone()),
        (None, None) => return Err(Failure::msg("step has no manifest")),
    };
    let text =
        render(&raw, &ctx.vars(cluster)).map_err(|e| Failure::msg(format!("{what}: {e}")))?;
    Ok((what, text))
}

async fn apply(ctx: &Ctx, m: &ManifestAction) -> Result<(), Failure> {
    let cluster = m.cluster.value.as_str();
    let (what, text) = manifest_text(ctx, m)?;
    for obj in parse_manifests(&text, &what)? {
        let export = obj["kind"] == "ServiceExport";
        ctx.apply_object(cluster, obj).await?;
        if export {
            ctx.export_applied(cluster);
        }
    }
    Ok(())
}

async fn delete(ctx: &Ctx, m: &ManifestAction, timeout: Duration) -> Result<(), Failure> {
    let cluster = m.cluster.value.as_str();
    let (what, text) = manifest_text(ctx, m)?;
    for obj in parse_manifests(&text, &what)?.iter().rev() {
        let field = |k: &str| obj[k].as_str().unwrap_or_default().to_string();
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let ns = obj["metadata"]["namespace"].as_str();
        let t = ctx
            .target(cluster, &field("apiVersion"), &field("kind"), name, ns)
            .await?;
        ctx.delete_object(&t, cluster, timeout, false).await?;
        if obj["kind"] == "ServiceExport" {
            ctx.unexported(cluster);
        }
    }
    Ok(())
}

async fn patch(ctx: &Ctx, p: &PatchAction) -> Result<(), Failure> {
    let cluster = p.cluster.value.as_str();
    let name =
        render(&p.name.value, &ctx.vars(cluster)).map_err(|e| Failure::msg(e.to_string()))?;
    let t = ctx
        .target(cluster, &p.api_version, &p.kind, &name, None)
        .await?;
    let body = &p.patch.value;
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..Default::default()
    };
    let res = match p.patch_type {
        PatchType::Merge => t.api.patch(&name, &params, &Patch::Merge(body)).await,
        PatchType::Strategic => t.api.patch(&name, &params, &Patch::Strategic(body)).await,
        PatchType::Json => {
            let ops: json_patch::Patch = serde_json::from_value(body.clone())
                .map_err(|e| Failure::msg(format!("invalid JSON patch: {e}")))?;
            t.api
                .patch(&name, &params, &Patch::<Value>::Json(ops))
                .await
        }
    };
    res.map(drop)
        .map_err(|e| api_failure(&format!("patch {} {name} in {cluster}", p.kind), &e))
}

/// The generic `wait`: an expression on one object, re-evaluated on its watch events.
async fn wait(ctx: &Ctx, index: usize, w: &WaitAction, timeout: Duration) -> Result<(), Failure> {
    let cluster = w.cluster.value.as_str();
    let name =
        render(&w.name.value, &ctx.vars(cluster)).map_err(|e| Failure::msg(e.to_string()))?;
    let expr = w
        .expr
        .clone()
        .ok_or_else(|| Failure::msg("wait without a parsed expression"))?;
    let t = ctx
        .target(cluster, &w.api_version, &w.kind, &name, None)
        .await?;
    let cfg = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let triggers = vec![watch(t.api.clone(), cfg)];
    let spec = WaitSpec {
        index,
        what: format!("{} {name} in {cluster} to satisfy `{expr}`", w.kind),
        timeout,
        hold: w.hold.unwrap_or(1),
        poll: Poll::WATCHED,
    };
    let check = || async {
        let obj = t
            .api
            .get_opt(&name)
            .await
            .map_err(|e| CheckError::api(&format!("get {} {name}", w.kind), &e))?;
        let value = obj
            .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
            .unwrap_or(Value::Null);
        let seen = match (value.is_null(), expr.observe(&value)) {
            (true, _) => "<object absent>".to_string(),
            (false, Some(v)) => v.to_string(),
            (false, None) => "<field absent>".to_string(),
        };
        Ok(Check {
            ok: expr.eval(&value),
            summary: format!("`{expr}` does not hold: seen {seen}"),
            expected: format!("{expr}"),
            seen: format!("seen: {seen}"),
        })
    };
    until(ctx, spec, triggers, check).await.map(drop)
}

/// Waits until the sim's fault controller reports the Fault in effect.
async fn fault_active(
    ctx: &Ctx,
    index: usize,
    cluster: &str,
    name: &str,
    timeout: Duration,
) -> Result<(), Failure> {
    let t = ctx
        .target(cluster, FAULT_API_VERSION, "Fault", name, None)
        .await?;
    let cfg = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let spec = WaitSpec {
        index,
        what: format!("Fault {name} in {cluster} to be active"),
        timeout,
        hold: 1,
        poll: Poll::WATCHED,
    };
    let check = || async {
        let obj = t
            .api
            .get_opt(name)
            .await
            .map_err(|e| CheckError::api(&format!("get Fault {name}"), &e))?;
        let status = obj.map(|o| o.data["status"].clone()).unwrap_or(Value::Null);
        if status["active"] == false && status["message"].is_string() {
            return Err(CheckError::fatal(format!(
                "Fault {name} rejected: {}",
                status["message"].as_str().unwrap_or_default()
            )));
        }
        Ok(Check::compare(
            "fault not yet active",
            "active: true".to_string(),
            format!("active: {}", status["active"]),
        ))
    };
    until(ctx, spec, vec![watch(t.api.clone(), cfg)], check)
        .await
        .map(drop)
}

/// A readable one-line name for a step without `name`.
pub(super) fn describe(step: &Step) -> String {
    if let Some(n) = &step.name {
        return n.clone();
    }
    match &step.action {
        Action::Apply(m) | Action::Delete(m) => {
            let src = m
                .file
                .as_ref()
                .map(|f| f.value.clone())
                .unwrap_or_else(|| "inline manifest".into());
            let verb = if matches!(step.action, Action::Apply(_)) {
                "to"
            } else {
                "from"
            };
            format!("{} {src} {verb} {}", step.kind(), m.cluster.value)
        }
        Action::Patch(p) => format!("patch {} {} in {}", p.kind, p.name.value, p.cluster.value),
        Action::Scale(s) => format!(
            "scale {} to {} in {}",
            s.deployment, s.replicas.value, s.cluster.value
        ),
        Action::Export(s) | Action::Unexport(s) => {
            format!("{} {} in {}", step.kind(), s.service, s.cluster.value)
        }
        Action::Wait(w) => format!(
            "wait {} {} in {}: {}",
            w.kind, w.name.value, w.cluster.value, w.condition.value
        ),
        Action::ExpectImport(a) => {
            let what = if a.present { "present" } else { "absent" };
            format!("expectImport {} {what} in {}", a.service, a.cluster.value)
        }
        Action::ExpectDns(a) => format!("expectDns {} from {}", a.name.value, a.from.value),
        Action::ExpectHttp(a) => format!("expectHttp {} from {}", a.url.value, a.from.value),
        Action::ExpectConnect(a) => format!(
            "expectConnect {}:{} from {}",
            a.host.value, a.port, a.from.value
        ),
        Action::Fault(f) => format!("fault {} in {}", f.name, f.cluster.value),
        Action::ClearFault(f) => format!("clearFault {} in {}", f.name, f.cluster.value),
        Action::Sleep(d) => format!("sleep {}", crate::duration::human(*d)),
        Action::ExpectFailure { step, diagnosis } => {
            format!("expectFailure ({}) → {diagnosis}", describe(step))
        }
        Action::StartProbe(p) => {
            let from: Vec<&str> = p.from.iter().map(|c| c.value.as_str()).collect();
            format!("startProbe {} from {}", p.name.value, from.join(", "))
        }
        Action::StopProbe(p) => format!("stopProbe {}", p.name.value),
    }
}

/// [`describe`] with its templates (`{{ namespace }}`, `{{ cluster }}`, `{{ run_id }}`)
/// rendered for the step's cluster, so reports show the names actually used.
pub(super) fn shown(ctx: &Ctx, step: &Step) -> String {
    let text = describe(step);
    if !text.contains("{{") {
        return text;
    }
    let cluster = primary_cluster(step)
        .or_else(|| ctx.scenario.clusters.first().cloned())
        .unwrap_or_default();
    render(&text, &ctx.vars(&cluster)).unwrap_or(text)
}

/// The cluster a step acts in or probes from, if it names one.
fn primary_cluster(step: &Step) -> Option<String> {
    let c = match &step.action {
        Action::Apply(m) | Action::Delete(m) => &m.cluster,
        Action::Patch(p) => &p.cluster,
        Action::Scale(s) => &s.cluster,
        Action::Export(s) | Action::Unexport(s) => &s.cluster,
        Action::Wait(w) => &w.cluster,
        Action::ExpectImport(a) => &a.cluster,
        Action::ExpectDns(a) => &a.from,
        Action::ExpectHttp(a) => &a.from,
        Action::ExpectConnect(a) => &a.from,
        Action::Fault(f) => &f.cluster,
        Action::ClearFault(f) => &f.cluster,
        Action::ExpectFailure { step, .. } => return primary_cluster(step),
        Action::StartProbe(p) => p.from.first()?,
        Action::Sleep(_) | Action::StopProbe(_) => return None,
    };
    Some(c.value.clone())
}

/// The Service a step is about (for the doctor), if any.
pub(super) fn service_of_step(step: &Step) -> Option<String> {
    match &step.action {
        Action::Export(s) | Action::Unexport(s) => Some(s.service.clone()),
        Action::ExpectImport(a) => Some(a.service.clone()),
        Action::ExpectDns(a) => service_of(&a.name.value).map(|(s, _)| s),
        Action::ExpectHttp(a) => service_of(host_of(&a.url.value)).map(|(s, _)| s),
        Action::ExpectConnect(a) => service_of(&a.host.value).map(|(s, _)| s),
        Action::Wait(w)
            if matches!(
                w.kind.as_str(),
                "Service" | "ServiceExport" | "ServiceImport"
            ) =>
        {
            Some(w.name.value.clone())
        }
        Action::ExpectFailure { step, .. } => service_of_step(step),
        Action::StartProbe(p) => p
            .url
            .as_ref()
            .and_then(|u| service_of(host_of(&u.value)))
            .or_else(|| p.dns.as_ref().and_then(|d| service_of(&d.value)))
            .map(|(s, _)| s),
        _ => None,
    }
}

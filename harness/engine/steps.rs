//! What each step kind does. Every step gets a deadline; waits and assertions are in
//! `wait`, `mcs` and `probes`; this file holds the mutations (apply, delete, patch,
//! scale, export, unexport, faults) and the generic `wait`.

use std::time::Duration;

use backon::Retryable;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::runtime::watcher;
use serde_json::{Value, json};

use super::FIELD_MANAGER;
use super::background;
use super::context::Ctx;
use super::error::StepError;
use super::mcs::{expect_import, mcs_api_version};
use super::objects::{backoff, transient};
use super::observe::{Watched, Watches, named};
use super::op::{Objects, Op, PatchBody, PatchOp, WaitOp};
use super::probes::{expect_dns, expect_http};
use super::wait::{Check, CheckError, WaitSpec, until};

/// API version of sim Fault objects.
const FAULT_API_VERSION: &str = "sim.mcs-harness.dev/v1alpha1";

/// Runs one bound step (not `expectFailure`, which the scenario runner handles) within
/// `timeout`.
pub(super) async fn run(
    ctx: &Ctx,
    index: usize,
    op: &Op,
    timeout: Duration,
) -> Result<(), StepError> {
    match op {
        Op::Apply(m) => apply(ctx, m).await,
        Op::Delete(m) => delete(ctx, m, timeout).await,
        Op::Patch(p) => patch(ctx, p).await,
        Op::Scale(s) => {
            let p = json!({"spec": {"replicas": s.replicas}});
            let t = ctx
                .target(&s.cluster, "apps/v1", "Deployment", &s.deployment, None)
                .await?;
            let (params, body) = (PatchParams::default(), Patch::Merge(&p));
            (|| t.api.patch(&s.deployment, &params, &body))
                .retry(backoff())
                .when(transient)
                .await
                .map_err(|e| StepError::api(format!("scale Deployment {}", s.deployment), e))
                .map(drop)
        }
        Op::Export(s) => {
            let obj = json!({"apiVersion": mcs_api_version(ctx.id.flavour), "kind": "ServiceExport",
                "metadata": {"name": s.service}});
            ctx.apply_object(&s.cluster, obj).await?;
            ctx.milestones.export_applied(&s.cluster);
            Ok(())
        }
        Op::Unexport(s) => {
            let av = mcs_api_version(ctx.id.flavour);
            let t = ctx
                .target(&s.cluster, &av, "ServiceExport", &s.service, None)
                .await?;
            ctx.delete_object(&t, &s.cluster, timeout, false).await?;
            ctx.milestones.unexported(&s.cluster);
            Ok(())
        }
        Op::Wait(w) => wait(ctx, index, w, timeout).await,
        Op::ExpectImport(a) => expect_import(ctx, index, a, timeout).await,
        Op::ExpectDns(a) if a.record_type == Some(crate::scenario::DnsType::SRV) => {
            super::net::expect_srv(ctx, index, a, timeout).await
        }
        Op::ExpectDns(a) => expect_dns(ctx, index, a, timeout).await,
        Op::ExpectHttp(a) => expect_http(ctx, index, a, timeout).await,
        Op::ExpectConnect(a) => super::net::expect_connect(ctx, index, a, timeout).await,
        Op::Fault(f) => {
            let (name, spec) = (ctx.id.fault_name(&f.name), ctx.id.fault_spec(&f.spec));
            let obj = json!({"apiVersion": FAULT_API_VERSION, "kind": "Fault",
                "metadata": {"name": name}, "spec": spec});
            ctx.apply_object(&f.cluster, obj).await?;
            fault_active(ctx, index, &f.cluster, &name, timeout).await
        }
        Op::ClearFault(f) => {
            let name = ctx.id.fault_name(&f.name);
            let t = ctx
                .target(&f.cluster, FAULT_API_VERSION, "Fault", &name, None)
                .await?;
            ctx.delete_object(&t, &f.cluster, timeout, false).await
        }
        Op::Sleep(d) => tokio::select! {
            () = tokio::time::sleep(*d) => Ok(()),
            () = ctx.cancel.cancelled() => Err(StepError::Cancelled),
        },
        Op::ExpectFailure { .. } => Err(StepError::NestedExpectFailure),
        Op::StartProbe(p) => {
            let running = background::start(ctx, p).await?;
            ctx.background.lock().await.insert(p.name.clone(), running);
            Ok(())
        }
        Op::StopProbe(p) => {
            let running = ctx.background.lock().await.remove(&p.name);
            let running = running.ok_or_else(|| StepError::NoProbe(p.name.clone()))?;
            background::stop(ctx, index, running, p).await
        }
    }
}

async fn apply(ctx: &Ctx, m: &Objects) -> Result<(), StepError> {
    for obj in &m.objects {
        let export = obj["kind"] == "ServiceExport";
        ctx.apply_object(&m.cluster, obj.clone()).await?;
        if export {
            ctx.milestones.export_applied(&m.cluster);
        }
    }
    Ok(())
}

async fn delete(ctx: &Ctx, m: &Objects, timeout: Duration) -> Result<(), StepError> {
    let cluster = m.cluster.as_str();
    for obj in m.objects.iter().rev() {
        let field = |k: &str| obj[k].as_str().unwrap_or_default().to_string();
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let ns = obj["metadata"]["namespace"].as_str();
        let t = ctx
            .target(cluster, &field("apiVersion"), &field("kind"), name, ns)
            .await?;
        ctx.delete_object(&t, cluster, timeout, false).await?;
        if obj["kind"] == "ServiceExport" {
            ctx.milestones.unexported(cluster);
        }
    }
    Ok(())
}

async fn patch(ctx: &Ctx, p: &PatchOp) -> Result<(), StepError> {
    let (cluster, name) = (p.cluster.as_str(), p.name.as_str());
    let t = ctx
        .target(cluster, &p.api_version, &p.kind, name, None)
        .await?;
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..Default::default()
    };
    let res = match &p.body {
        PatchBody::Merge(body) => t.api.patch(name, &params, &Patch::Merge(body)).await,
        PatchBody::Strategic(body) => t.api.patch(name, &params, &Patch::Strategic(body)).await,
        PatchBody::Json(ops) => {
            t.api
                .patch(name, &params, &Patch::<Value>::Json(ops.clone()))
                .await
        }
    };
    res.map(drop)
        .map_err(|e| StepError::api(format!("patch {} {name} in {cluster}", p.kind), e))
}

/// The generic `wait`: an expression on one object, judged on every snapshot of its watch.
async fn wait(ctx: &Ctx, index: usize, w: &WaitOp, timeout: Duration) -> Result<(), StepError> {
    let (cluster, name, expr) = (w.cluster.as_str(), w.name.as_str(), &w.expr);
    let t = ctx
        .target(cluster, &w.api_version, &w.kind, name, None)
        .await?;
    let mut source = one_object(&t.api, &t.resource, name);
    let spec = WaitSpec {
        index,
        what: format!("{} {name} in {cluster} to satisfy `{expr}`", w.kind),
        timeout,
        hold: w.hold,
    };
    let verdict = |obj: &Option<DynamicObject>| {
        let value = obj
            .as_ref()
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
    until(ctx.wait_env(), spec, &mut source, verdict, |_| {})
        .await
        .map(drop)
}

/// A source of snapshots of the one object `name` of `api` (None: absent).
fn one_object(
    api: &Api<DynamicObject>,
    resource: &ApiResource,
    name: &str,
) -> Watched<Option<DynamicObject>> {
    let mut w = Watches::new();
    let cfg = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let i = w.add((api.clone(), resource.clone()), cfg);
    let name = name.to_string();
    w.source(move |stores| Ok(named(&stores[i], &name)))
}

/// Waits until the sim's fault controller reports the Fault in effect.
async fn fault_active(
    ctx: &Ctx,
    index: usize,
    cluster: &str,
    name: &str,
    timeout: Duration,
) -> Result<(), StepError> {
    let t = ctx
        .target(cluster, FAULT_API_VERSION, "Fault", name, None)
        .await?;
    let spec = WaitSpec {
        index,
        what: format!("Fault {name} in {cluster} to be active"),
        timeout,
        hold: 1,
    };
    let verdict = |obj: &Option<DynamicObject>| {
        let status = obj
            .as_ref()
            .map(|o| o.data["status"].clone())
            .unwrap_or(Value::Null);
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
    until(
        ctx.wait_env(),
        spec,
        &mut one_object(&t.api, &t.resource, name),
        verdict,
        |_| {},
    )
    .await
    .map(drop)
}

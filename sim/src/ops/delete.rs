//! Delete: preconditions, finalizers (graceful deletion via deletionTimestamp), namespace
//! termination, the propagation policies' finalizers for the garbage collector, and pods'
//! graceful deletion (kube-apiserver's pod strategy: the grace period is the request's
//! `gracePeriodSeconds`, else `terminationGracePeriodSeconds`; 0 for an unscheduled or
//! finished pod; a pod with a grace period > 0 stays, Terminating, until the kubelet deletes
//! it with grace 0; a later delete may only shorten the grace period).

use std::sync::Arc;

use serde_json::{Value, json};

use super::WriteCtx;
use crate::api::{ApiError, ApiResult};
use crate::store::{Meta, ObjKey, StoreError};

/// Options of a delete (from `DeleteOptions` or query parameters).
#[derive(Debug, Default, Clone)]
pub struct DeleteOpts {
    /// `Background` (default), `Foreground` or `Orphan`.
    pub propagation: String,
    /// Precondition on the uid.
    pub uid: Option<String>,
    /// Precondition on the resourceVersion.
    pub resource_version: Option<String>,
    /// `gracePeriodSeconds` (pods; `None` = the pod's `terminationGracePeriodSeconds`).
    pub grace: Option<i64>,
}

/// Finalizer the garbage collector honours for foreground deletion.
pub const FOREGROUND: &str = "foregroundDeletion";
/// Finalizer the garbage collector honours for orphaning dependents.
pub const ORPHAN: &str = "orphan";

/// Deletes an object: removed at once, or marked with a deletionTimestamp when finalizers
/// must run first. Returns the object as it is afterwards.
pub fn delete(ctx: &WriteCtx, key: &ObjKey, opts: &DeleteOpts) -> ApiResult<Arc<Value>> {
    let store = &ctx.cluster.store;
    for _ in 0..16 {
        let old = store
            .get(&ctx.def.storage, key)
            .ok_or_else(|| ApiError::not_found(&ctx.def.storage, &key.name))?;
        check_preconditions(ctx, &old, opts)?;
        let meta = Meta(&old);
        let mut finalizers: Vec<String> = meta.finalizers().iter().map(|s| s.to_string()).collect();
        let is_namespace =
            ctx.def.storage.group.is_empty() && ctx.def.storage.resource == "namespaces";
        match opts.propagation.as_str() {
            "Foreground" => push_unique(&mut finalizers, FOREGROUND),
            "Orphan" => push_unique(&mut finalizers, ORPHAN),
            _ => {}
        }
        let grace = pod_grace(ctx, &old, opts);
        if meta.deleting() {
            match shorten(ctx, &old, grace)? {
                Some(done) => return Ok(done),
                None => continue,
            }
        }
        if finalizers.is_empty() && !is_namespace && grace == 0 {
            if ctx.dry_run {
                return Ok(old);
            }
            let rv = meta.resource_version().parse().ok();
            match store.delete(&ctx.def.storage, key, rv) {
                Err(StoreError::Conflict { .. }) => continue,
                other => return Ok(other?),
            }
        }
        let mut new = (*old).clone();
        new["metadata"]["deletionTimestamp"] = json!(deletion_time(grace));
        new["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
        if !finalizers.is_empty() {
            new["metadata"]["finalizers"] = json!(finalizers);
        }
        if ctx.def.has_generation() {
            let g = old["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
            new["metadata"]["generation"] = json!(g);
        }
        if is_namespace {
            new["status"]["phase"] = json!("Terminating");
        }
        if ctx.dry_run {
            return Ok(Arc::new(new));
        }
        let rv = meta.resource_version().parse().ok();
        match store.update(&ctx.def.storage, new, rv) {
            Err(StoreError::Conflict { .. }) => continue,
            other => return Ok(other?),
        }
    }
    Err(StoreError::Conflict {
        res: ctx.def.storage.clone(),
        name: key.name.clone(),
    }
    .into())
}

fn is_pod(ctx: &WriteCtx) -> bool {
    ctx.def.storage.group.is_empty() && ctx.def.storage.resource == "pods"
}

/// The grace period of this delete (0 for anything but a pod).
fn pod_grace(ctx: &WriteCtx, pod: &Value, opts: &DeleteOpts) -> i64 {
    if !is_pod(ctx) {
        return 0;
    }
    let scheduled = pod["spec"]["nodeName"]
        .as_str()
        .is_some_and(|n| !n.is_empty());
    let finished = matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    );
    if !scheduled || finished {
        return 0;
    }
    opts.grace
        .or_else(|| pod["spec"]["terminationGracePeriodSeconds"].as_i64())
        .unwrap_or(30)
        .max(0)
}

/// `now + grace` seconds, as the API server writes deletionTimestamp.
fn deletion_time(grace: i64) -> String {
    let now = jiff::Timestamp::now();
    let t = now
        .checked_add(jiff::SignedDuration::from_secs(grace))
        .unwrap_or(now);
    t.round(jiff::Unit::Second)
        .unwrap_or(t)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A delete of a pod already terminating: a shorter grace period replaces the pending one
/// (grace 0 and no finalizers: removed now). `None` = retry after a conflict.
fn shorten(ctx: &WriteCtx, old: &Arc<Value>, grace: i64) -> ApiResult<Option<Arc<Value>>> {
    let pending = old["metadata"]["deletionGracePeriodSeconds"]
        .as_i64()
        .unwrap_or(0);
    if !is_pod(ctx) || grace >= pending {
        return Ok(Some(old.clone()));
    }
    let rv = Meta(old).resource_version().parse().ok();
    let store = &ctx.cluster.store;
    if ctx.dry_run {
        return Ok(Some(old.clone()));
    }
    let result = if grace == 0 && Meta(old).finalizers().is_empty() {
        store.delete(&ctx.def.storage, &crate::store::key_of(old), rv)
    } else {
        let mut new = (**old).clone();
        new["metadata"]["deletionTimestamp"] = json!(deletion_time(grace));
        new["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
        store.update(&ctx.def.storage, new, rv)
    };
    match result {
        Err(StoreError::Conflict { .. }) => Ok(None),
        other => Ok(Some(other?)),
    }
}

fn push_unique(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

fn check_preconditions(ctx: &WriteCtx, old: &Value, opts: &DeleteOpts) -> ApiResult<()> {
    let meta = Meta(old);
    let failed = |what: &str, want: &str, have: &str| ApiError::Conflict {
        message: format!(
            "Precondition failed: {what} in precondition: {want}, {what} in object meta: {have}"
        ),
        res: ctx.def.storage.clone(),
        name: meta.name().to_string(),
        causes: Vec::new(),
    };
    if let Some(uid) = &opts.uid
        && uid != meta.uid()
    {
        return Err(failed("UID", uid, meta.uid()));
    }
    if let Some(rv) = &opts.resource_version
        && rv != meta.resource_version()
    {
        return Err(failed("ResourceVersion", rv, meta.resource_version()));
    }
    Ok(())
}

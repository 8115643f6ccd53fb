//! Delete: preconditions, finalizers (graceful deletion via deletionTimestamp), namespace
//! termination, and the propagation policies' finalizers for the garbage collector.

use std::sync::Arc;

use serde_json::{Value, json};

use super::WriteCtx;
use crate::api::{ApiError, ApiResult};
use crate::store::{Meta, ObjKey, StoreError, now_rfc3339};

/// Options of a delete (from `DeleteOptions` or query parameters).
#[derive(Debug, Default, Clone)]
pub struct DeleteOpts {
    /// `Background` (default), `Foreground` or `Orphan`.
    pub propagation: String,
    /// Precondition on the uid.
    pub uid: Option<String>,
    /// Precondition on the resourceVersion.
    pub resource_version: Option<String>,
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
        if meta.deleting() {
            return Ok(old);
        }
        if finalizers.is_empty() && !is_namespace {
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
        new["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
        new["metadata"]["deletionGracePeriodSeconds"] = json!(0);
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

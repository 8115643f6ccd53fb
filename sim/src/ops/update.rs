//! Update and patch: status-subresource masking, immutable metadata, generation, managed
//! fields, finalizer-driven removal, and compare-and-swap retries.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{WriteCtx, defaults};
use crate::api::{ApiError, ApiResult, from_patch};
use crate::patch::{PatchType, apply_patch, server_side_apply};
use crate::store::{Meta, ObjKey, StoreError, key_of, now_rfc3339};

const RETRIES: usize = 16;

/// A custom resource against its version's structural schema, as the
/// apiextensions-apiserver does on every write: unknown fields pruned, `null`s in
/// non-nullable fields dropped, defaults filled in, then value checks (422 with causes).
/// Request-level `fieldValidation` reports of unknown fields happen before, in the API layer.
pub(super) fn admit_custom(ctx: &WriteCtx, obj: &mut Value) -> ApiResult<()> {
    let Some(schema) = ctx.def.schema.as_deref() else {
        return Ok(());
    };
    let found = crate::schema::check_custom(schema, obj);
    if found.causes.is_empty() {
        return Ok(());
    }
    Err(ApiError::invalid(
        &ctx.def.kind,
        &ctx.def.group,
        Meta(obj).name(),
        &found.causes,
    ))
}

/// Validates `obj` for its kind; 422 with causes on failure.
pub(super) fn validate(ctx: &WriteCtx, obj: &Value) -> ApiResult<()> {
    // Validation rules are written for the served form (events.k8s.io Events are stored as
    // core Events).
    let mut causes = match ctx.def.conversion {
        crate::registry::Conversion::None => {
            crate::validate::validate(&ctx.def.group, &ctx.def.kind, obj)
        }
        _ => crate::validate::validate(&ctx.def.group, &ctx.def.kind, &ctx.def.to_served(obj)),
    };
    causes.extend(crate::validate_workloads::validate(
        &ctx.def.group,
        &ctx.def.kind,
        obj,
    ));
    if causes.is_empty() {
        return Ok(());
    }
    Err(ApiError::invalid(
        &ctx.def.kind,
        &ctx.def.group,
        Meta(obj).name(),
        &causes,
    ))
}

fn parse_rv(obj: &Value) -> ApiResult<Option<u64>> {
    match Meta(obj).resource_version() {
        "" => Ok(None),
        rv => rv
            .parse()
            .map(Some)
            .map_err(|_| ApiError::BadRequest(format!("invalid resource version: {rv:?}"))),
    }
}

/// PUT: replaces the object named in `new` (storage form). With a resourceVersion in the
/// body the update is conditional; without, it retries against concurrent writers.
pub fn update(ctx: &WriteCtx, new: Value) -> ApiResult<Arc<Value>> {
    let key = key_of(&new);
    let client_rv = parse_rv(&new)?;
    for _ in 0..RETRIES {
        let old = get(ctx, &key)?;
        match commit(ctx, &old, new.clone(), client_rv) {
            Err(ApiError::Conflict { .. }) if client_rv.is_none() => continue,
            other => return other,
        }
    }
    Err(conflict(ctx, &key.name))
}

/// PATCH (any type). Returns the object and whether it was created (apply only).
pub fn patch(
    ctx: &WriteCtx,
    key: &ObjKey,
    body: &[u8],
    ptype: PatchType,
    force: bool,
) -> ApiResult<(Arc<Value>, bool)> {
    let kctx = ctx.kind_ctx();
    let now = now_rfc3339();
    for _ in 0..RETRIES {
        let Some(old) = ctx.cluster.store.get(&ctx.def.storage, key) else {
            if ptype != PatchType::Apply || ctx.sub.is_some() {
                return Err(ApiError::not_found(&ctx.def.storage, &key.name));
            }
            let obj = server_side_apply(&kctx, None, body, ctx.manager, force, None, &now)
                .map_err(|e| from_patch(e, &ctx.def.storage, &key.name))?;
            let obj = ctx.def.to_storage(obj);
            check_identity(ctx, key, &obj)?;
            let ns = (!key.namespace.is_empty()).then_some(key.namespace.as_str());
            return match super::create(ctx, obj, ns) {
                Err(ApiError::AlreadyExists { .. }) => continue,
                other => other.map(|o| (o, true)),
            };
        };
        let served = ctx.def.to_served(&old);
        let patched = match ptype {
            PatchType::Apply => server_side_apply(
                &kctx,
                Some(&served),
                body,
                ctx.manager,
                force,
                ctx.sub,
                &now,
            ),
            _ => apply_patch(&kctx, &served, body, ptype),
        }
        .map_err(|e| from_patch(e, &ctx.def.storage, &key.name))?;
        let new = ctx.def.to_storage(patched);
        check_identity(ctx, key, &new)?;
        let old_rv = parse_rv(&old)?;
        if parse_rv(&new)? != old_rv {
            return Err(conflict(ctx, &key.name));
        }
        match commit(ctx, &old, new, old_rv) {
            Err(ApiError::Conflict { causes, .. }) if causes.is_empty() => continue,
            other => return other.map(|o| (o, false)),
        }
    }
    Err(conflict(ctx, &key.name))
}

/// Read-modify-write for controllers: `f` returns the new object, or None to leave it.
pub fn modify(
    ctx: &WriteCtx,
    key: &ObjKey,
    f: &dyn Fn(&Value) -> Option<Value>,
) -> ApiResult<Option<Arc<Value>>> {
    for _ in 0..RETRIES {
        let old = get(ctx, key)?;
        let Some(new) = f(&old) else {
            return Ok(None);
        };
        let rv = parse_rv(&old)?;
        match commit(ctx, &old, new, rv) {
            Err(ApiError::Conflict { .. }) => continue,
            other => return other.map(Some),
        }
    }
    Err(conflict(ctx, &key.name))
}

fn get(ctx: &WriteCtx, key: &ObjKey) -> ApiResult<Arc<Value>> {
    ctx.cluster
        .store
        .get(&ctx.def.storage, key)
        .ok_or_else(|| ApiError::not_found(&ctx.def.storage, &key.name))
}

fn conflict(ctx: &WriteCtx, name: &str) -> ApiError {
    StoreError::Conflict {
        res: ctx.def.storage.clone(),
        name: name.to_string(),
    }
    .into()
}

/// A patch may not rename or move the object.
fn check_identity(ctx: &WriteCtx, key: &ObjKey, obj: &Value) -> ApiResult<()> {
    let m = Meta(obj);
    let ns_ok = !ctx.def.namespaced || m.namespace().is_empty() || m.namespace() == key.namespace;
    if m.name() == key.name && ns_ok {
        return Ok(());
    }
    Err(ApiError::BadRequest(format!(
        "the name or namespace of the object ({}/{}) does not match the request ({}/{})",
        m.namespace(),
        m.name(),
        key.namespace,
        key.name
    )))
}

/// Commits `new` over `old` with all server-side rules applied.
pub(super) fn commit(
    ctx: &WriteCtx,
    old: &Arc<Value>,
    mut new: Value,
    expected_rv: Option<u64>,
) -> ApiResult<Arc<Value>> {
    if !new.is_object() {
        return Err(ApiError::BadRequest(
            "the body of the request must be a JSON object".into(),
        ));
    }
    mask_subresource(ctx, old, &mut new);
    keep_server_metadata(old, &mut new);
    if super::service_ip::is_service(ctx) {
        super::service_ip::keep(old, &mut new);
    }
    defaults::apply(ctx.def, &mut new, false);
    admit_custom(ctx, &mut new)?;
    validate(ctx, &new)?;
    if ctx.def.has_generation() && spec_changed(ctx, old, &new) {
        let g = old["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
        new["metadata"]["generation"] = json!(g);
    }
    if !ctx.apply {
        let now = now_rfc3339();
        crate::patch::record_update(
            &ctx.kind_ctx(),
            Some(old),
            &mut new,
            ctx.manager,
            ctx.sub,
            &now,
        );
    }
    if ctx.dry_run {
        return Ok(Arc::new(new));
    }
    let store = &ctx.cluster.store;
    if Meta(&new).deleting() && !held(&new) {
        return Ok(store.delete(&ctx.def.storage, &key_of(&new), expected_rv)?);
    }
    Ok(store.update(&ctx.def.storage, new, expected_rv)?)
}

/// Whether a deleted object must stay: finalizers (namespaces: also `spec.finalizers`), or
/// a pending graceful deletion (`deletionGracePeriodSeconds` > 0: only a delete with grace
/// 0 removes it, as `ShouldDeleteDuringUpdate` decides).
pub fn held(obj: &Value) -> bool {
    let spec_fins = obj["kind"] == "Namespace"
        && obj["spec"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
    let graceful = obj["metadata"]["deletionGracePeriodSeconds"]
        .as_i64()
        .is_some_and(|g| g > 0);
    spec_fins || graceful || !Meta(obj).finalizers().is_empty()
}

fn mask_subresource(ctx: &WriteCtx, old: &Value, new: &mut Value) {
    match ctx.sub {
        Some("finalize") => {
            let fins = new["spec"]["finalizers"].clone();
            *new = old.clone();
            new["spec"]["finalizers"] = fins;
        }
        Some("status") => {
            let status = new.get("status").cloned();
            let mut merged = old.clone();
            match status {
                Some(s) => merged["status"] = s,
                None => {
                    if let Some(o) = merged.as_object_mut() {
                        o.remove("status");
                    }
                }
            }
            // The status subresource also carries metadata changes the writer made to
            // labels/annotations? Kubernetes ignores them for most kinds; so do we.
            merged["metadata"] = new["metadata"].clone();
            if let Some(m) = merged["metadata"].as_object_mut() {
                for k in ["labels", "annotations", "finalizers", "ownerReferences"] {
                    match old["metadata"].get(k) {
                        Some(v) => m.insert(k.into(), v.clone()),
                        None => m.remove(k),
                    };
                }
            }
            *new = merged;
        }
        _ if ctx.def.status => match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(o) = new.as_object_mut() {
                    o.remove("status");
                }
            }
        },
        _ => {}
    }
}

fn keep_server_metadata(old: &Value, new: &mut Value) {
    if !new.get("metadata").is_some_and(Value::is_object) {
        new["metadata"] = json!({});
    }
    for k in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "namespace",
        "name",
    ] {
        match old["metadata"].get(k) {
            Some(v) => new["metadata"][k] = v.clone(),
            None => {
                if let Some(m) = new["metadata"].as_object_mut() {
                    m.remove(k);
                }
            }
        }
    }
    if let Some(m) = new["metadata"].as_object_mut() {
        m.remove("selfLink");
    }
}

fn spec_changed(ctx: &WriteCtx, old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(o) = v.as_object_mut() {
            o.remove("metadata");
            if ctx.def.status {
                o.remove("status");
            }
        }
        v
    };
    strip(old) != strip(new)
}

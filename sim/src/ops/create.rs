//! Create: namespace checks, generateName, defaults, validation, metadata, storage.

use std::sync::Arc;

use rand::Rng;
use serde_json::{Value, json};

use super::{WriteCtx, defaults};
use crate::api::{ApiError, ApiResult};
use crate::store::{Meta, ObjKey, ResKey, now_rfc3339};

const NAME_CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn random_suffix() -> String {
    let mut rng = rand::rng();
    (0..5)
        .map(|_| NAME_CHARS[rng.random_range(0..NAME_CHARS.len())] as char)
        .collect()
}

/// Checks that `ns` exists and is not terminating.
pub(super) fn check_namespace(ctx: &WriteCtx, ns: &str, name: &str) -> ApiResult<()> {
    let res = ResKey::new("", "namespaces");
    match ctx.cluster.store.get(&res, &ObjKey::new("", ns)) {
        None => Err(ApiError::not_found(&res, ns)),
        Some(n) if Meta(&n).deleting() => Err(ApiError::Forbidden {
            message: format!(
                "{} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                ctx.def.storage.qualified()
            ),
            res: Some(ctx.def.storage.clone()),
            name: name.to_string(),
        }),
        Some(_) => Ok(()),
    }
}

/// Creates `obj` (storage form) in `namespace` (for namespaced resources).
pub fn create(ctx: &WriteCtx, mut obj: Value, namespace: Option<&str>) -> ApiResult<Arc<Value>> {
    if !obj.is_object() {
        return Err(ApiError::BadRequest(
            "the body of the request must be a JSON object".into(),
        ));
    }
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    let meta = &mut obj["metadata"];
    if ctx.def.namespaced {
        let ns = namespace.unwrap_or("");
        match meta.get("namespace").and_then(Value::as_str) {
            Some(m) if !m.is_empty() && m != ns => {
                return Err(ApiError::BadRequest(
                    "the namespace of the provided object does not match the namespace sent on the request".into(),
                ));
            }
            _ => meta["namespace"] = json!(ns),
        }
    } else if let Some(m) = meta.as_object_mut() {
        m.remove("namespace");
    }
    let name = meta
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if name.is_empty() {
        let prefix = meta
            .get("generateName")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !prefix.is_empty() {
            meta["name"] = json!(format!("{prefix}{}", random_suffix()));
        }
    }
    let name = Meta(&obj).name().to_string();
    if ctx.def.namespaced {
        check_namespace(ctx, namespace.unwrap_or(""), &name)?;
    }
    prepare_new(ctx, &mut obj);
    super::update::admit_custom(ctx, &mut obj)?;
    super::update::validate(ctx, &obj)?;
    let allocated = if super::service_ip::is_service(ctx) {
        super::service_ip::allocate(ctx, &mut obj)?
    } else {
        None
    };
    let mut obj = obj;
    if !ctx.apply {
        let now = now_rfc3339();
        crate::patch::record_update(&ctx.kind_ctx(), None, &mut obj, ctx.manager, ctx.sub, &now);
    }
    if ctx.dry_run {
        return Ok(Arc::new(obj));
    }
    let created = ctx.cluster.store.create(&ctx.def.storage, obj);
    if created.is_err()
        && let Some(ip) = allocated
    {
        ctx.cluster.plan.release_service_ip(ip);
    }
    Ok(created?)
}

/// Server-set metadata and defaults of a new object.
fn prepare_new(ctx: &WriteCtx, obj: &mut Value) {
    if ctx.def.status
        && ctx.sub.is_none()
        && let Some(o) = obj.as_object_mut()
    {
        o.remove("status");
    }
    if let Some(m) = obj["metadata"].as_object_mut() {
        for k in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            m.remove(k);
        }
        m.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        m.insert("creationTimestamp".into(), json!(now_rfc3339()));
        if ctx.def.has_generation() {
            m.insert("generation".into(), json!(1));
        } else {
            m.remove("generation");
        }
    }
    defaults::apply(ctx.def, obj, true);
}

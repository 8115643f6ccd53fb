//! POST, PUT, PATCH, DELETE and DELETE-collection: body decoding, type checks, conversion
//! between served and storage form, then the lifecycle rules of `crate::ops`.

use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::handler::Req;
use super::read::{Filter, fetch, scale_view};
use super::respond::json_response;
use crate::ops::{self, DeleteOpts, WriteCtx};
use crate::patch::{PatchType, apply_patch};
use crate::schema::{DecodedBody, decode_json};
use crate::store::{Meta, ObjKey, key_of};

fn content_type(req: &Req) -> &str {
    req.headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
}

/// Decodes a JSON, YAML or protobuf object body; JSON bodies also report duplicate keys.
pub(super) fn decode_body(req: &Req, body: &[u8]) -> ApiResult<DecodedBody> {
    let ct = content_type(req)
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    if crate::protobuf::is_protobuf(&ct) {
        let d = &req.def;
        let value = crate::protobuf::decode_object(body, Some((&d.group, &d.version, &d.kind)))
            .map_err(|e| {
                ApiError::BadRequest(format!(
                    "the body of the request could not be decoded as protobuf: {e}"
                ))
            })?;
        return Ok(DecodedBody {
            value,
            duplicates: Vec::new(),
        });
    }
    let d = match ct.as_str() {
        "application/json" | "" | "*/*" => decode_json(body)
            .map_err(|e| ApiError::BadRequest(format!("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml: {e}")))?,
        "application/yaml" => {
            let text = std::str::from_utf8(body).map_err(|_| ApiError::BadRequest("the body of the request is not UTF-8".into()))?;
            DecodedBody {
                value: serde_saphyr::from_str(text).map_err(|e| ApiError::BadRequest(format!("error decoding YAML: {e}")))?,
                duplicates: Vec::new(),
            }
        }
        other => return Err(ApiError::UnsupportedMediaType(format!("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {other})"))),
    };
    if !d.value.is_object() {
        return Err(ApiError::BadRequest(
            "the body of the request must be a JSON object".into(),
        ));
    }
    Ok(d)
}

/// Checks apiVersion/kind of a served-form body against the addressed resource.
fn check_type(req: &Req, obj: &Value) -> ApiResult<()> {
    let want = req.def.api_version();
    match obj.get("apiVersion").and_then(Value::as_str) {
        Some(av) if av != want => {
            return Err(ApiError::BadRequest(format!(
                "the API version in the data ({av}) does not match the expected API version ({want})"
            )));
        }
        _ => {}
    }
    match obj.get("kind").and_then(Value::as_str) {
        Some(k) if k != req.def.kind => Err(ApiError::BadRequest(format!(
            "the kind in the data ({k}) does not match the expected kind ({})",
            req.def.kind
        ))),
        _ => Ok(()),
    }
}

fn ctx<'a>(req: &'a Req, manager: &'a str) -> WriteCtx<'a> {
    WriteCtx {
        cluster: &req.cluster,
        def: &req.def,
        manager,
        dry_run: req.params.dry_run,
        sub: req.path.sub.as_deref(),
        apply: false,
    }
}

fn served(req: &Req, status: StatusCode, stored: &Value) -> Response {
    json_response(status, &req.def.to_served(stored))
}

/// POST to a collection.
pub fn create(req: &Req, body: &[u8]) -> ApiResult<Response> {
    let mut d = decode_body(req, body)?;
    check_type(req, &d.value)?;
    let warnings = super::fields::check(req, &mut d.value, &d.duplicates, None)?;
    let manager = req.manager();
    let stored = ops::create(
        &ctx(req, &manager),
        req.def.to_storage(d.value),
        req.path.namespace.as_deref(),
    )?;
    Ok(super::fields::warn(
        served(req, StatusCode::CREATED, &stored),
        &warnings,
    ))
}

fn path_key(req: &Req) -> ObjKey {
    ObjKey::new(
        req.path.namespace.as_deref().unwrap_or(""),
        req.path.name.as_deref().unwrap_or(""),
    )
}

/// PUT to an object or its status/scale/finalize subresource.
pub fn update(req: &Req, body: &[u8]) -> ApiResult<Response> {
    let mut d = decode_body(req, body)?;
    let manager = req.manager();
    let key = path_key(req);
    if req.path.sub.as_deref() == Some("scale") {
        super::fields::check(req, &mut d.value, &d.duplicates, Some(SCALE))?;
        let replicas = d.value["spec"]["replicas"].as_i64().unwrap_or(0);
        return set_replicas(req, &manager, replicas);
    }
    let mut obj = d.value;
    check_type(req, &obj)?;
    let warnings = super::fields::check(req, &mut obj, &d.duplicates, None)?;
    let name = obj["metadata"]["name"].as_str().unwrap_or("");
    if !name.is_empty() && name != key.name {
        return Err(ApiError::BadRequest(format!(
            "the name of the object ({name}) does not match the name on the URL ({})",
            key.name
        )));
    }
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    obj["metadata"]["name"] = json!(key.name);
    if req.def.namespaced {
        obj["metadata"]["namespace"] = json!(key.namespace);
    }
    let stored = ops::update(&ctx(req, &manager), req.def.to_storage(obj))?;
    Ok(super::fields::warn(
        served(req, StatusCode::OK, &stored),
        &warnings,
    ))
}

/// The schema of a `scale` subresource body.
const SCALE: (&str, &str, &str) = ("autoscaling", "v1", "Scale");

/// PATCH of any type; apply may create.
pub fn patch(req: &Req, body: &[u8]) -> ApiResult<Response> {
    let ct = content_type(req).to_string();
    let ptype = PatchType::from_content_type(&ct).ok_or_else(|| {
        ApiError::UnsupportedMediaType(format!("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {ct})"))
    })?;
    if ptype == PatchType::Apply && req.params.field_manager.is_empty() {
        return Err(ApiError::BadRequest("PATCH requests with apply content type must have a field manager: set the fieldManager query parameter".into()));
    }
    let manager = req.manager();
    let is_scale = req.path.sub.as_deref() == Some("scale");
    let (warnings, pruned) =
        super::fields::check_patch(req, body, ptype, is_scale.then_some(SCALE))?;
    let body = pruned.as_deref().unwrap_or(body);
    if is_scale {
        let current = scale_view(&*fetch(req)?);
        let builtin = crate::patch::KindContext {
            group: "autoscaling",
            version: "v1",
            kind: "Scale",
            builtin: true,
        };
        let ptype = if ptype == PatchType::StrategicMerge {
            PatchType::Merge
        } else {
            ptype
        };
        let mut patched = apply_patch(&builtin, &current, body, ptype).map_err(|e| {
            super::error::from_patch(
                e,
                &req.def.storage,
                &current["metadata"]["name"].to_string(),
            )
        })?;
        super::fields::check(req, &mut patched, &[], Some(SCALE))?;
        return set_replicas(
            req,
            &manager,
            patched["spec"]["replicas"].as_i64().unwrap_or(0),
        );
    }
    let mut c = ctx(req, &manager);
    c.apply = ptype == PatchType::Apply;
    let (stored, created) = ops::patch(&c, &path_key(req), body, ptype, req.params.force)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(super::fields::warn(served(req, status, &stored), &warnings))
}

fn set_replicas(req: &Req, manager: &str, replicas: i64) -> ApiResult<Response> {
    let c = ctx(req, manager);
    let key = path_key(req);
    let out = ops::modify(&c, &key, &|cur| {
        if cur["spec"]["replicas"].as_i64() == Some(replicas) {
            return None;
        }
        let mut new = cur.clone();
        new["spec"]["replicas"] = json!(replicas);
        Some(new)
    })?;
    let obj = match out {
        Some(o) => o,
        None => fetch(req)?,
    };
    Ok(json_response(StatusCode::OK, &scale_view(&obj)))
}

fn delete_opts(req: &Req, body: &[u8]) -> ApiResult<DeleteOpts> {
    let grace = req
        .params
        .raw
        .iter()
        .find(|(k, _)| k == "gracePeriodSeconds")
        .map(|(_, v)| {
            v.parse::<i64>()
                .map_err(|_| ApiError::BadRequest(format!("invalid gracePeriodSeconds {v:?}")))
        })
        .transpose()?;
    let mut opts = DeleteOpts {
        propagation: req.params.propagation_policy.clone(),
        grace,
        ..Default::default()
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(opts);
    }
    let bad = |e: String| ApiError::BadRequest(format!("invalid DeleteOptions body: {e}"));
    let v: Value = if crate::protobuf::is_protobuf(content_type(req)) {
        crate::protobuf::decode_object(body, Some(("meta.k8s.io", "v1", "DeleteOptions")))
            .map_err(|e| bad(e.to_string()))?
    } else {
        serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?
    };
    if let Some(p) = v["propagationPolicy"].as_str() {
        opts.propagation = p.to_string();
    } else if v["orphanDependents"] == true {
        opts.propagation = "Orphan".into();
    }
    if let Some(g) = v["gracePeriodSeconds"].as_i64() {
        opts.grace = Some(g);
    }
    opts.uid = v["preconditions"]["uid"].as_str().map(String::from);
    opts.resource_version = v["preconditions"]["resourceVersion"]
        .as_str()
        .map(String::from);
    if !matches!(
        opts.propagation.as_str(),
        "" | "Background" | "Foreground" | "Orphan"
    ) {
        return Err(ApiError::BadRequest(format!(
            "invalid propagationPolicy {:?}: use Background, Foreground or Orphan",
            opts.propagation
        )));
    }
    Ok(opts)
}

/// DELETE of one object.
pub fn delete(req: &Req, body: &[u8]) -> ApiResult<Response> {
    let opts = delete_opts(req, body)?;
    let manager = req.manager();
    let obj = ops::delete(&ctx(req, &manager), &path_key(req), &opts)?;
    let status = if Meta(&obj).deleting() {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    let status = if req.params.dry_run {
        StatusCode::OK
    } else {
        status
    };
    Ok(served(req, status, &obj))
}

/// DELETE of every selected object of a collection.
pub fn delete_collection(req: &Req, body: &[u8]) -> ApiResult<Response> {
    let opts = delete_opts(req, body)?;
    let filter = Filter::from_req(req)?;
    let manager = req.manager();
    let page = req.cluster.store.list(
        &req.def.storage,
        req.path.namespace.as_deref(),
        None,
        0,
        &|o| filter.matches(o),
    );
    let mut items = Vec::new();
    for obj in &page.items {
        match ops::delete(&ctx(req, &manager), &key_of(obj), &opts) {
            Ok(o) => items.push(req.def.to_served(&o)),
            Err(ApiError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let list = json!({"kind": format!("{}List", req.def.kind), "apiVersion": req.def.api_version(),
        "metadata": {"resourceVersion": req.cluster.store.current_rv().to_string()}, "items": items});
    Ok(json_response(StatusCode::OK, &list))
}

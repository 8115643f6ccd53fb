//! `fieldValidation` (Strict, Warn, Ignore) of write requests, as kube-apiserver applies it
//! (fact: KEP-2885 server-side field validation, GA in 1.27): bodies are checked against
//! the kind's OpenAPI schema for unknown and duplicate fields. `Strict` fails the request
//! with 400 `Kind in version "v1" cannot be handled as a Kind: strict decoding error:
//! unknown field "spec.replica"`; `Warn` (the default when the client sends nothing)
//! answers one `Warning: 299 - "unknown field \"spec.replica\""` header per field;
//! `Ignore` says nothing. Type errors (a string for an int32, an int32 overflow) fail
//! built-in writes with 400 in any mode, worded as Go's decoder words them.
//!
//! Patch bodies are checked as partial objects (merge, strategic-merge and apply patches;
//! SMP `$` directives skipped); a JSON patch (RFC 6902) is applied to the current object
//! and the result is checked, as the apiserver decodes the patched object. Unknown fields
//! are dropped (Go's decoder drops them from built-ins; CRs are pruned), except from JSON
//! patches of built-ins, where they are kept under Warn/Ignore (a simulation gap).

use axum::http::HeaderValue;
use axum::response::Response;
use serde_json::Value;

use super::error::{ApiError, ApiResult};
use super::handler::Req;
use crate::patch::PatchType;
use crate::schema::{self, FieldValidation, builtin_schemas, decode_json};

fn mode(req: &Req) -> ApiResult<FieldValidation> {
    let v = req
        .params
        .raw
        .iter()
        .find(|(k, _)| k == "fieldValidation")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    FieldValidation::parse(v).map_err(ApiError::BadRequest)
}

/// Checks a (served-form) body; `as_kind` names the schema when it is not the resource's
/// own (the `scale` subresource). Returns the warnings to send.
pub fn check(
    req: &Req,
    obj: &mut Value,
    duplicates: &[String],
    as_kind: Option<(&str, &str, &str)>,
) -> ApiResult<Vec<String>> {
    let mode = mode(req)?;
    let d = &req.def;
    let (group, version, kind) = as_kind.unwrap_or((&d.group, &d.version, &d.kind));
    let prefix = format!("{kind} in version \"{version}\" cannot be handled as a {kind}");
    let found = if let Some(schema) = d.schema.as_deref().filter(|_| as_kind.is_none()) {
        let mut copy = obj.clone();
        schema::check_custom(schema, &mut copy)
    } else {
        let all = builtin_schemas();
        match all.root(group, version, kind) {
            Some(root) => schema::check(&all.components, root, obj),
            None => schema::Checked::default(),
        }
    };
    if let Some(e) = found.type_error {
        return Err(ApiError::BadRequest(format!("{prefix}: {e}")));
    }
    let mut problems: Vec<String> = found
        .unknown
        .iter()
        .map(|p| format!("unknown field {}", Value::from(p.as_str())))
        .collect();
    problems.extend(
        duplicates
            .iter()
            .map(|p| format!("duplicate field {}", Value::from(p.as_str()))),
    );
    match mode {
        _ if problems.is_empty() => Ok(Vec::new()),
        FieldValidation::Strict => Err(ApiError::BadRequest(format!(
            "{prefix}: strict decoding error: {}",
            problems.join(", ")
        ))),
        FieldValidation::Warn => Ok(problems),
        FieldValidation::Ignore => Ok(Vec::new()),
    }
}

/// Checks a patch body as a partial object (a JSON patch: its result). Returns the
/// warnings and, when unknown fields were dropped from a merge, strategic-merge or apply
/// patch, the body to apply instead (re-encoded as JSON).
pub fn check_patch(
    req: &Req,
    body: &[u8],
    ptype: PatchType,
    as_kind: Option<(&str, &str, &str)>,
) -> ApiResult<(Vec<String>, Option<Vec<u8>>)> {
    let json_patch = ptype == PatchType::Json;
    let (warnings, pruned) = check_patch_value(req, body, ptype, as_kind)?;
    let body = match pruned {
        Some(v) if !json_patch => serde_json::to_vec(&v).ok(),
        _ => None,
    };
    Ok((warnings, body))
}

fn check_patch_value(
    req: &Req,
    body: &[u8],
    ptype: PatchType,
    as_kind: Option<(&str, &str, &str)>,
) -> ApiResult<(Vec<String>, Option<Value>)> {
    let decoded = match ptype {
        PatchType::Json => {
            let Some(current) = req.cluster.store.get(
                &req.def.storage,
                &crate::store::ObjKey::new(
                    req.path.namespace.as_deref().unwrap_or(""),
                    req.path.name.as_deref().unwrap_or(""),
                ),
            ) else {
                return mode(req).map(|_| (Vec::new(), None));
            };
            let kctx = crate::patch::KindContext {
                group: &req.def.group,
                version: &req.def.version,
                kind: &req.def.kind,
                builtin: req.def.builtin,
            };
            let served = match as_kind {
                Some(_) => super::read::scale_view(&current),
                None => req.def.to_served(&current),
            };
            // A patch that does not apply is reported by the patch itself.
            crate::patch::apply_patch(&kctx, &served, body, ptype)
                .ok()
                .map(|value| schema::DecodedBody {
                    value,
                    duplicates: Vec::new(),
                })
        }
        PatchType::Merge | PatchType::StrategicMerge => decode_json(body).ok(),
        PatchType::Apply => decode_json(body).ok().or_else(|| {
            let text = std::str::from_utf8(body).ok()?;
            let value = serde_saphyr::from_str::<Value>(text).ok()?;
            Some(schema::DecodedBody {
                value,
                duplicates: Vec::new(),
            })
        }),
    };
    // Undecodable patches are reported by the patch itself.
    match decoded {
        Some(mut d) if d.value.is_object() => {
            let before = d.value.clone();
            let warnings = check(req, &mut d.value, &d.duplicates, as_kind)?;
            let changed = d.value != before;
            Ok((warnings, changed.then_some(d.value)))
        }
        _ => mode(req).map(|_| (Vec::new(), None)),
    }
}

/// Adds one `Warning` header per warning, as the apiserver's warning recorder writes them.
pub fn warn(mut resp: Response, warnings: &[String]) -> Response {
    for w in warnings {
        let text = format!("299 - {}", Value::from(w.as_str()));
        if let Ok(v) = HeaderValue::from_str(&text) {
            resp.headers_mut().append("warning", v);
        }
    }
    resp
}

//! `pods/eviction` (policy/v1 `Eviction`): a graceful delete of the pod, as the eviction
//! subresource does when no PodDisruptionBudget blocks it (the fleet serves no PDBs, so
//! none ever does); the answer is the `Status` kube-apiserver returns (201 Success).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::handler::Req;
use super::respond::json_response;
use crate::ops::{self, DeleteOpts, WriteCtx};
use crate::store::ObjKey;

/// POST `…/pods/NAME/eviction`.
pub fn create(req: &Req, body: &[u8]) -> ApiResult<Response> {
    let ev: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("invalid Eviction body: {e}")))?;
    let name = req.path.name.clone().unwrap_or_default();
    if let Some(n) = ev["metadata"]["name"].as_str().filter(|n| *n != name) {
        return Err(ApiError::BadRequest(format!(
            "name in URL does not match name in Eviction object: {n} != {name}"
        )));
    }
    let d = &ev["deleteOptions"];
    let opts = DeleteOpts {
        grace: d["gracePeriodSeconds"].as_i64(),
        uid: d["preconditions"]["uid"].as_str().map(String::from),
        resource_version: d["preconditions"]["resourceVersion"]
            .as_str()
            .map(String::from),
        ..DeleteOpts::default()
    };
    let manager = req.manager();
    let ctx = WriteCtx {
        sub: None,
        dry_run: req.params.dry_run,
        ..WriteCtx::controller(&req.cluster, &req.def, &manager)
    };
    let key = ObjKey::new(req.path.namespace.as_deref().unwrap_or(""), &name);
    ops::delete(&ctx, &key, &opts)?;
    let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201});
    Ok(json_response(StatusCode::CREATED, &status))
}

//! The review APIs, create-only and never stored: `SelfSubjectReview`
//! (authentication.k8s.io/v1: who am I, `kubectl auth whoami`) and
//! `SelfSubjectAccessReview`, `SubjectAccessReview`, `LocalSubjectAccessReview`
//! (authorization.k8s.io/v1: may I / may they, `kubectl auth can-i`).
//!
//! Answers come from the fleet's own authorizer: every authenticated identity may do
//! everything (as a cluster-admin) unless a Fault's deny rule forbids it, which answers
//! `allowed: false` with the Fault named in `reason` (a simulation choice: RBAC has no deny
//! rules, and a real cluster's reason would name the role that is missing).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::auth::Auth;
use super::error::{ApiError, ApiResult};
use super::handler::Req;
use super::respond::json_response;
use crate::store::ResKey;

/// POST of a review object.
pub fn create(req: &Req, verb: &str, body: &[u8]) -> ApiResult<Response> {
    if verb != "create" || req.path.name.is_some() {
        return Err(ApiError::MethodNotAllowed);
    }
    // JSON, YAML or protobuf (kubectl sends protobuf for these built-in kinds).
    let mut obj = super::write::decode_body(req, body)?.value;
    obj["apiVersion"] = json!(req.def.api_version());
    obj["kind"] = json!(req.def.kind);
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    obj["metadata"]["creationTimestamp"] = Value::Null;
    let status = match req.def.kind.as_str() {
        "SelfSubjectReview" => {
            json!({"userInfo": {"username": req.user, "groups": Auth::groups(&req.user)}})
        }
        "SelfSubjectAccessReview" => access(req, &req.user, &obj)?,
        "SubjectAccessReview" => {
            let user = obj["spec"]["user"].as_str().unwrap_or("").to_string();
            if user.is_empty() && obj["spec"]["groups"].as_array().is_none_or(Vec::is_empty) {
                return Err(invalid(
                    req,
                    "spec.user",
                    "at least one of user or group must be specified",
                ));
            }
            access(req, &user, &obj)?
        }
        "LocalSubjectAccessReview" => {
            let ns = req.path.namespace.as_deref().unwrap_or("");
            if obj["spec"]["resourceAttributes"]["namespace"].as_str() != Some(ns) {
                return Err(invalid(
                    req,
                    "spec.resourceAttributes.namespace",
                    "must match metadata.namespace",
                ));
            }
            let user = obj["spec"]["user"].as_str().unwrap_or("").to_string();
            access(req, &user, &obj)?
        }
        _ => return Err(ApiError::no_route()),
    };
    obj["status"] = status;
    Ok(json_response(StatusCode::CREATED, &obj))
}

fn invalid(req: &Req, field: &str, detail: &str) -> ApiError {
    let cause = crate::validate::Cause {
        reason: crate::validate::INVALID,
        field: field.to_string(),
        message: format!("Invalid value: \"null\": {detail}"),
    };
    ApiError::invalid(&req.def.kind, &req.def.group, "", &[cause])
}

/// The status of an access review for `user`.
fn access(req: &Req, user: &str, obj: &Value) -> ApiResult<Value> {
    let spec = &obj["spec"];
    let attrs = &spec["resourceAttributes"];
    let non = &spec["nonResourceAttributes"];
    if attrs.is_object() == non.is_object() {
        return Err(invalid(
            req,
            "spec.resourceAttributes",
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        ));
    }
    if non.is_object() {
        return Ok(json!({"allowed": true, "reason": ALLOWED}));
    }
    let s = |k: &str| attrs[k].as_str().unwrap_or("");
    let res = ResKey::new(s("group"), s("resource"));
    let ns = Some(s("namespace")).filter(|n| !n.is_empty());
    Ok(
        match req.cluster.auth.denied_by(user, s("verb"), &res, ns) {
            None => json!({"allowed": true, "reason": ALLOWED}),
            Some(owner) => json!({"allowed": false,
            "reason": format!("denied by Fault {:?} in the embedded fleet",
                owner.rsplit('/').next().unwrap_or(&owner))}),
        },
    )
}

const ALLOWED: &str = "the embedded fleet authorizes every authenticated identity";

//! API errors and their rendering as `meta.k8s.io/v1` `Status` objects with the HTTP code
//! Kubernetes uses for each reason.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::patch::PatchError;
use crate::store::{ResKey, StoreError};
use crate::validate::Cause;

/// An error answered to the client as a `Status` object.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: malformed request or body.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no or unknown bearer token.
    #[error("Unauthorized")]
    Unauthorized,
    /// 403: the identity may not do this, or the namespace is terminating.
    #[error("{message}")]
    Forbidden {
        /// Full Kubernetes-style message.
        message: String,
        /// Resource (details.kind) and name.
        res: Option<ResKey>,
        /// Object name, when there is one.
        name: String,
    },
    /// 404: object or resource not found.
    #[error("{message}")]
    NotFound {
        /// Full message.
        message: String,
        /// Resource.
        res: Option<ResKey>,
        /// Object name.
        name: String,
    },
    /// 405: verb not supported on this path.
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    /// 406: no acceptable response type.
    #[error(
        "only the following media types are accepted: application/json, application/yaml, application/json;as=Table;v=v1;g=meta.k8s.io"
    )]
    NotAcceptable,
    /// 409 AlreadyExists.
    #[error("{res} \"{name}\" already exists")]
    AlreadyExists {
        /// Resource.
        res: ResKey,
        /// Object name.
        name: String,
    },
    /// 409 Conflict (resourceVersion precondition or apply conflict).
    #[error("{message}")]
    Conflict {
        /// Message.
        message: String,
        /// Resource.
        res: ResKey,
        /// Object name.
        name: String,
        /// Per-field causes (server-side apply conflicts).
        causes: Vec<Value>,
    },
    /// 410: resourceVersion too old.
    #[error("{0}")]
    Gone(String),
    /// 413: body too large.
    #[error("Request entity too large: limit is {0}")]
    TooLarge(usize),
    /// 415: unsupported body media type.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: the object is invalid.
    #[error("{kind} \"{name}\" is invalid: {summary}")]
    Invalid {
        /// Kind, e.g. `Deployment.apps`.
        kind: String,
        /// Group of the kind.
        group: String,
        /// Object name.
        name: String,
        /// Joined causes.
        summary: String,
        /// Field causes.
        causes: Vec<Value>,
    },
    /// 429/5xx injected or internal failure.
    #[error("{message}")]
    Internal {
        /// HTTP code.
        code: u16,
        /// Reason, e.g. `InternalError`, `ServiceUnavailable`, `TooManyRequests`.
        reason: &'static str,
        /// Message.
        message: String,
    },
}

/// Result alias of the API layer.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// A 404 for one object.
    pub fn not_found(res: &ResKey, name: &str) -> Self {
        ApiError::NotFound {
            message: format!("{res} \"{name}\" not found"),
            res: Some(res.clone()),
            name: name.to_string(),
        }
    }

    /// A 404 for a path the server does not serve.
    pub fn no_route() -> Self {
        ApiError::NotFound {
            message: "the server could not find the requested resource".into(),
            res: None,
            name: String::new(),
        }
    }

    /// A 422 built from validation causes.
    pub fn invalid(kind: &str, group: &str, name: &str, causes: &[Cause]) -> Self {
        let summary = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect::<Vec<_>>()
            .join(", ");
        let qualified = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        ApiError::Invalid {
            kind: qualified,
            group: group.to_string(),
            name: name.to_string(),
            summary: if causes.len() == 1 {
                summary
            } else {
                format!("[{summary}]")
            },
            causes: causes
                .iter()
                .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                .collect(),
        }
    }

    fn code_reason(&self) -> (u16, &'static str) {
        match self {
            ApiError::BadRequest(_) => (400, "BadRequest"),
            ApiError::Unauthorized => (401, "Unauthorized"),
            ApiError::Forbidden { .. } => (403, "Forbidden"),
            ApiError::NotFound { .. } => (404, "NotFound"),
            ApiError::MethodNotAllowed => (405, "MethodNotAllowed"),
            ApiError::NotAcceptable => (406, "NotAcceptable"),
            ApiError::AlreadyExists { .. } => (409, "AlreadyExists"),
            ApiError::Conflict { .. } => (409, "Conflict"),
            ApiError::Gone(_) => (410, "Expired"),
            ApiError::TooLarge(_) => (413, "RequestEntityTooLarge"),
            ApiError::UnsupportedMediaType(_) => (415, "UnsupportedMediaType"),
            ApiError::Invalid { .. } => (422, "Invalid"),
            ApiError::Internal { code, reason, .. } => (*code, reason),
        }
    }

    /// `details` as the apiserver's `k8s.io/apimachinery/pkg/api/errors` constructors fill
    /// them (fact, from those constructors): `NewNotFound`, `NewForbidden`,
    /// `NewAlreadyExists`, `NewConflict`, `NewApplyConflict`, `NewInvalid`,
    /// `NewMethodNotSupported` always carry one (empty fields are omitted, so the apiserver's
    /// own 404 for an unknown path answers `"details": {}`); `NewInternalError` carries the
    /// error as a cause; `NewTooManyRequests`/`NewTimeoutError` a `retryAfterSeconds`.
    /// `BadRequest`, `Unauthorized`, `Expired` and the media-type errors carry none.
    fn details(&self) -> Option<Value> {
        let res_details = |res: &ResKey, name: &str| {
            let mut d = serde_json::Map::new();
            for (k, v) in [
                ("name", name),
                ("group", res.group.as_str()),
                ("kind", res.resource.as_str()),
            ] {
                if !v.is_empty() {
                    d.insert(k.into(), json!(v));
                }
            }
            Value::Object(d)
        };
        match self {
            ApiError::NotFound { res, name, .. } | ApiError::Forbidden { res, name, .. } => {
                Some(match res {
                    Some(r) => res_details(r, name),
                    None if name.is_empty() => json!({}),
                    None => json!({"name": name}),
                })
            }
            ApiError::MethodNotAllowed => Some(json!({})),
            ApiError::AlreadyExists { res, name } => Some(res_details(res, name)),
            ApiError::Conflict {
                res, name, causes, ..
            } => {
                let mut d = res_details(res, name);
                if !causes.is_empty() {
                    d["causes"] = Value::Array(causes.clone());
                }
                Some(d)
            }
            ApiError::Invalid {
                kind,
                group,
                name,
                causes,
                ..
            } => {
                let short = kind.split('.').next().unwrap_or(kind);
                let mut d = json!({"name": name, "group": group, "kind": short, "causes": causes});
                if group.is_empty() {
                    d.as_object_mut().map(|o| o.remove("group"));
                }
                Some(d)
            }
            ApiError::Internal {
                code: 429 | 504, ..
            } => Some(json!({"retryAfterSeconds": 1})),
            ApiError::Internal {
                code: 500, message, ..
            } => Some(json!({"causes": [{"message": message}]})),
            _ => None,
        }
    }

    /// The `Status` object for this error.
    pub fn status(&self) -> Value {
        let (code, reason) = self.code_reason();
        let mut s = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": self.to_string(), "reason": reason, "code": code,
        });
        if let Some(d) = self.details() {
            s["details"] = d;
        }
        s
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, _) = self.code_reason();
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        super::respond::json_response(status, &self.status())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::AlreadyExists { res, name } => ApiError::AlreadyExists { res, name },
            StoreError::NotFound { res, name } => ApiError::not_found(&res, &name),
            StoreError::Conflict { ref res, ref name } => ApiError::Conflict {
                message: e.to_string(),
                res: res.clone(),
                name: name.clone(),
                causes: Vec::new(),
            },
            StoreError::Gone { .. } => ApiError::Gone(e.to_string()),
            StoreError::NoName => ApiError::BadRequest("resource name may not be empty".into()),
        }
    }
}

/// Maps a patch error for object `name` of `res`.
pub fn from_patch(e: PatchError, res: &ResKey, name: &str) -> ApiError {
    match e {
        PatchError::Malformed { .. } => ApiError::BadRequest(e.to_string()),
        PatchError::Invalid { .. } => ApiError::Internal {
            code: 422,
            reason: "Invalid",
            message: e.to_string(),
        },
        PatchError::Unsupported { .. } => ApiError::UnsupportedMediaType(e.to_string()),
        PatchError::Conflict { ref conflicts } => ApiError::Conflict {
            // `Apply failed with N conflict(s): ...` as structured-merge-diff's
            // `getConflictMessage` words it (fact: k8s.io/apimachinery managedfields
            // `conflict.go`); the causes carry one field path each.
            message: e.to_string(),
            res: res.clone(),
            name: name.to_string(),
            causes: conflicts
                .iter()
                .map(|c| json!({"reason": "FieldManagerConflict", "message": c.message, "field": c.field}))
                .collect(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_not_found_carries_details() {
        // kubectl debug reads `details.name` of a 404 without checking it exists.
        let s = ApiError::no_route().status();
        assert_eq!(s["details"], json!({}));
        assert_eq!(
            s["message"],
            "the server could not find the requested resource"
        );
        let s = ApiError::not_found(&ResKey::new("apps", "deployments"), "web").status();
        assert_eq!(
            s["details"],
            json!({"name": "web", "group": "apps", "kind": "deployments"})
        );
        let s = ApiError::not_found(&ResKey::new("", "pods"), "p").status();
        assert_eq!(s["details"], json!({"name": "p", "kind": "pods"}));
        let s = ApiError::Internal {
            code: 500,
            reason: "InternalError",
            message: "boom".into(),
        }
        .status();
        assert_eq!(s["details"]["causes"][0]["message"], "boom");
        assert!(
            ApiError::BadRequest("x".into())
                .status()
                .get("details")
                .is_none()
        );
    }

    #[test]
    fn apply_conflicts_name_their_fields() {
        let e = PatchError::Conflict {
            conflicts: vec![crate::patch::ApplyConflict {
                manager: "kubectl-set".into(),
                field: ".spec.replicas".into(),
                message: "conflict with \"kubectl-set\" using apps/v1".into(),
            }],
        };
        let s = from_patch(e, &ResKey::new("apps", "deployments"), "web").status();
        assert_eq!(s["code"], 409);
        assert_eq!(
            s["message"],
            "Apply failed with 1 conflict: conflict with \"kubectl-set\" using apps/v1: .spec.replicas"
        );
        assert_eq!(s["details"]["causes"][0]["field"], ".spec.replicas");
        assert_eq!(s["details"]["causes"][0]["reason"], "FieldManagerConflict");
    }
}

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

    fn details(&self) -> Option<Value> {
        let res_details = |res: &ResKey, name: &str| json!({"name": name, "group": res.group, "kind": res.resource});
        match self {
            ApiError::NotFound {
                res: Some(r), name, ..
            }
            | ApiError::Forbidden {
                res: Some(r), name, ..
            } => Some(res_details(r, name)),
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
                Some(json!({"name": name, "group": group, "kind": short, "causes": causes}))
            }
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
        PatchError::Conflict { conflicts } => {
            let n = conflicts.len();
            let lines: Vec<String> = conflicts
                .iter()
                .map(|c| format!("- {}", c.message))
                .collect();
            ApiError::Conflict {
                message: format!(
                    "Apply failed with {n} conflict{}: {}",
                    if n == 1 { "" } else { "s" },
                    lines.join("\n")
                ),
                res: res.clone(),
                name: name.to_string(),
                causes: conflicts
                    .iter()
                    .map(|c| json!({"reason": "FieldManagerConflict", "message": c.message, "field": c.field}))
                    .collect(),
            }
        }
    }
}

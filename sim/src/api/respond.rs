//! Response encoding: JSON bodies, content negotiation (JSON or `meta.k8s.io` Table).

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use super::error::{ApiError, ApiResult};

/// What the client wants back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Plain JSON objects and lists.
    Json,
    /// `Table` (kubectl get).
    Table,
}

/// Picks the response format from the Accept header; 406 when nothing acceptable.
pub fn negotiate(headers: &HeaderMap) -> ApiResult<Format> {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.is_empty() {
        return Ok(Format::Json);
    }
    let mut json_ok = false;
    for part in accept.split(',') {
        let part = part.trim();
        let media = part.split(';').next().unwrap_or("").trim();
        if part.contains("as=Table")
            && part.contains("g=meta.k8s.io")
            && media == "application/json"
        {
            return Ok(Format::Table);
        }
        if !part.contains("as=")
            && matches!(
                media,
                "application/json" | "application/*" | "*/*" | "application/yaml"
            )
        {
            json_ok = true;
        }
    }
    if json_ok {
        Ok(Format::Json)
    } else {
        Err(ApiError::NotAcceptable)
    }
}

/// A JSON response.
pub fn json_response(status: StatusCode, v: &Value) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_default();
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap_or_default()
}

//! What simulated containers serve on their declared ports: whereami images answer
//! whereami-style JSON (as the GKE sample does, on every path) and `/healthz`; other images
//! answer a small JSON document. On both, `/status/<code>` answers that HTTP status, so a
//! readiness probe on such a path fails on purpose.

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Who is answering.
#[derive(Clone, Debug)]
pub struct PodInfo {
    /// Cluster name.
    pub cluster: String,
    /// Zone label of the node.
    pub zone: String,
    /// Node name.
    pub node: String,
    /// Pod name.
    pub pod: String,
    /// Pod namespace.
    pub namespace: String,
    /// Pod IP.
    pub ip: String,
    /// Service account name.
    pub service_account: String,
    /// Container image.
    pub image: String,
    /// Value of env `METADATA` (whereami echoes it).
    pub metadata: Option<String>,
}

/// Whether an image is the whereami sample.
pub fn is_whereami(image: &str) -> bool {
    image
        .rsplit('/')
        .next()
        .is_some_and(|n| n.starts_with("whereami"))
}

/// The HTTP app of a container.
pub fn app(info: PodInfo) -> Router {
    let info = Arc::new(info);
    Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
        let info = info.clone();
        async move { answer(&info, &uri, &headers) }
    })
}

fn answer(info: &PodInfo, uri: &Uri, headers: &HeaderMap) -> Response {
    let path = uri.path();
    if let Some(code) = path.strip_prefix("/status/") {
        let code = code
            .parse::<u16>()
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
            .unwrap_or(StatusCode::BAD_REQUEST);
        return (code, format!("{}\n", code.canonical_reason().unwrap_or(""))).into_response();
    }
    if path == "/healthz" {
        return (StatusCode::OK, "OK").into_response();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let now = crate::store::now_rfc3339();
    let body = if is_whereami(&info.image) {
        json!({
            "cluster_name": info.cluster, "host_header": host, "metadata": info.metadata,
            "node_name": info.node, "pod_ip": info.ip, "pod_name": info.pod, "pod_namespace": info.namespace,
            "pod_service_account": info.service_account, "project_id": "mcs-sim", "timestamp": now, "zone": info.zone,
        })
    } else {
        json!({"cluster_name": info.cluster, "pod_name": info.pod, "pod_ip": info.ip, "image": info.image, "path": path})
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

//! A minimal OpenAPI v3 surface, enough for kubectl: per group/version, a PATCH operation
//! per kind that declares the `fieldValidation` parameter, so kubectl delegates validation
//! to the server instead of fetching full schemas. `/openapi/v2` answers 404 (kubectl then
//! uses its compiled-in types for client-side apply).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::error::{ApiError, ApiResult};
use super::respond::json_response;
use crate::cluster::Cluster;

/// `/openapi/{path}`.
pub fn serve(cluster: &Cluster, path: &str) -> ApiResult<Response> {
    let doc = match path {
        "v3" | "v3/" => root(cluster),
        p => match p.strip_prefix("v3/") {
            Some(gv) => group_version(cluster, gv).ok_or_else(ApiError::no_route)?,
            None => return Err(ApiError::no_route()),
        },
    };
    Ok(json_response(StatusCode::OK, &doc))
}

fn gv_paths(cluster: &Cluster) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = cluster
        .registry
        .all()
        .iter()
        .map(|d| {
            let path = if d.group.is_empty() {
                format!("api/{}", d.version)
            } else {
                format!("apis/{}/{}", d.group, d.version)
            };
            (path, d.group.clone(), d.version.clone())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn root(cluster: &Cluster) -> Value {
    let rv = cluster.store.current_rv();
    let mut paths = Map::new();
    for (path, _, _) in gv_paths(cluster) {
        paths.insert(
            path.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={rv}")}),
        );
    }
    json!({"paths": paths})
}

fn group_version(cluster: &Cluster, gv: &str) -> Option<Value> {
    let (_, group, version) = gv_paths(cluster).into_iter().find(|(p, _, _)| p == gv)?;
    let mut paths = Map::new();
    for d in cluster
        .registry
        .all()
        .iter()
        .filter(|d| d.group == group && d.version == version)
    {
        let gvk = json!({"group": d.group, "version": d.version, "kind": d.kind});
        let ns = if d.namespaced {
            "namespaces/{namespace}/"
        } else {
            ""
        };
        let op = json!({
            "x-kubernetes-group-version-kind": gvk,
            "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}}],
            "responses": {"200": {"description": "OK"}},
        });
        paths.insert(
            format!("/{gv}/{ns}{}/{{name}}", d.plural),
            json!({"patch": op}),
        );
    }
    Some(
        json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.33.0"}, "paths": paths, "components": {"schemas": {}}}),
    )
}

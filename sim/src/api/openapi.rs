//! The OpenAPI v3 documents kubectl reads: `/openapi/v3` lists one document per
//! group/version; each holds a PATCH operation per kind that declares the `fieldValidation`
//! parameter (kubectl then leaves validation to the server) and, in `components.schemas`,
//! the real schemas of the kinds served there under their upstream names (built-ins from
//! `k8s-openapi`, custom resources from their CRD's `openAPIV3Schema`, as
//! `com.example.v1.Gadget`), each marked with `x-kubernetes-group-version-kind`, plus every
//! definition they refer to. So `kubectl explain deployment.spec.replicas` works.
//! `/openapi/v2` answers 404 (kubectl from 1.29 does not need it; older ones do).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::error::{ApiError, ApiResult};
use super::respond::json_response;
use crate::cluster::Cluster;
use crate::registry::ResourceDef;
use crate::schema::builtin_schemas;

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
    let defs: Vec<ResourceDef> = cluster
        .registry
        .all()
        .into_iter()
        .filter(|d| d.group == group && d.version == version)
        .collect();
    Some(
        json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.33.0"}, "paths": paths, "components": {"schemas": schemas(&defs)}}),
    )
}

/// The schemas of `defs` and everything they refer to.
fn schemas(defs: &[ResourceDef]) -> Map<String, Value> {
    let all = builtin_schemas();
    let mut out = Map::new();
    let mut todo: Vec<String> = Vec::new();
    for d in defs {
        if let Some(schema) = &d.schema {
            let name = custom_name(d);
            let mut s = (**schema).clone();
            if let Some(props) = s
                .as_object_mut()
                .map(|o| o.entry("properties").or_insert_with(|| json!({})))
                .and_then(Value::as_object_mut)
            {
                props.insert("apiVersion".into(), json!({"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object."}));
                props.insert("kind".into(), json!({"type": "string", "description": "Kind is a string value representing the REST resource this object represents."}));
                props.insert("metadata".into(), json!({"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}], "description": "Standard object's metadata."}));
            }
            s["x-kubernetes-group-version-kind"] =
                json!([{"group": d.group, "version": d.version, "kind": d.kind}]);
            todo.push("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta".into());
            out.insert(name, s);
        } else if let Some(root) = all.root(&d.group, &d.version, &d.kind) {
            todo.push(root.to_string());
        }
    }
    while let Some(name) = todo.pop() {
        if out.contains_key(&name) {
            continue;
        }
        if let Some(s) = all.components.get(&name) {
            refs(s, &mut todo);
            out.insert(name, s.clone());
        }
    }
    out
}

/// Definition names `$ref`erenced anywhere in `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(r) = m.get("$ref").and_then(Value::as_str)
                && let Some(name) = r.rsplit('/').next()
            {
                out.push(name.to_string());
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

/// The upstream definition name of a custom resource: `com.example.v1.Gadget`.
fn custom_name(d: &ResourceDef) -> String {
    let mut parts: Vec<&str> = d.group.split('.').collect();
    parts.reverse();
    format!("{}.{}.{}", parts.join("."), d.version, d.kind)
}

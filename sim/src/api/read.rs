//! GET of one object, a subresource view (`scale`), or a list page, as JSON or Table.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::handler::Req;
use super::respond::{Format, json_response};
use crate::selector::{FieldSelector, LabelSelector, supported_fields};
use crate::store::ObjKey;

/// Label and field selectors of a list or watch.
pub struct Filter {
    label: LabelSelector,
    field: FieldSelector,
    namespace: Option<String>,
}

impl Filter {
    /// From the request's parameters; 400 on bad selectors.
    pub fn from_req(req: &Req) -> ApiResult<Self> {
        let bad = |e: crate::selector::SelectorError| ApiError::BadRequest(e.to_string());
        let label = LabelSelector::parse(&req.params.label_selector).map_err(bad)?;
        let field = FieldSelector::parse(&req.params.field_selector).map_err(bad)?;
        let mut supported = vec!["metadata.name", "metadata.namespace"];
        supported.extend(supported_fields(
            &req.def.storage.group,
            &req.def.storage.resource,
        ));
        field.validate(&supported).map_err(bad)?;
        Ok(Self {
            label,
            field,
            namespace: req.path.namespace.clone(),
        })
    }

    /// Whether a stored object passes.
    pub fn matches(&self, obj: &Value) -> bool {
        let meta = crate::store::Meta(obj);
        self.namespace
            .as_deref()
            .is_none_or(|ns| meta.namespace() == ns)
            && self.label.matches(meta.labels())
            && self.field.matches(obj)
    }
}

/// Table or JSON rendering of served objects.
pub fn render(
    req: &Req,
    fmt: Format,
    objects: Vec<Value>,
    list_meta: Value,
    single: bool,
) -> Value {
    match fmt {
        Format::Table => {
            let include = if req.params.include_object.is_empty() {
                "Metadata"
            } else {
                &req.params.include_object
            };
            crate::table::to_table(
                &req.def.group,
                &req.def.kind,
                req.def.columns.as_deref(),
                &objects,
                list_meta,
                include,
                jiff::Timestamp::now(),
            )
        }
        Format::Json if single => objects.into_iter().next().unwrap_or(Value::Null),
        Format::Json => json!({
            "kind": format!("{}List", req.def.kind), "apiVersion": req.def.api_version(),
            "metadata": list_meta, "items": objects,
        }),
    }
}

fn object_key(req: &Req) -> ObjKey {
    ObjKey::new(
        req.path.namespace.as_deref().unwrap_or(""),
        req.path.name.as_deref().unwrap_or(""),
    )
}

/// The stored object a request names, or 404.
pub fn fetch(req: &Req) -> ApiResult<Arc<Value>> {
    let key = object_key(req);
    req.cluster
        .store
        .get(&req.def.storage, &key)
        .ok_or_else(|| ApiError::not_found(&req.def.storage, &key.name))
}

/// GET one object (or its `status`/`scale` view).
pub fn get(req: &Req, fmt: Format) -> ApiResult<Response> {
    let obj = fetch(req)?;
    let served = if req.path.sub.as_deref() == Some("scale") {
        scale_view(&obj)
    } else {
        req.def.to_served(&obj)
    };
    let rv = crate::store::Meta(&obj).resource_version().to_string();
    let body = render(req, fmt, vec![served], json!({"resourceVersion": rv}), true);
    Ok(json_response(StatusCode::OK, &body))
}

/// The `autoscaling/v1` Scale of an object with `spec.replicas`.
pub fn scale_view(obj: &Value) -> Value {
    let m = &obj["metadata"];
    let selector = obj["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|l| {
            l.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": m["name"], "namespace": m["namespace"], "uid": m["uid"],
                     "resourceVersion": m["resourceVersion"], "creationTimestamp": m["creationTimestamp"]},
        "spec": {"replicas": obj["spec"]["replicas"].as_i64().unwrap_or(0)},
        "status": {"replicas": obj["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector},
    })
}

/// A continue token: the list's resourceVersion and the last key returned.
fn encode_continue(rv: u64, key: &ObjKey) -> String {
    let raw = json!({"v": "meta.k8s.io/v1", "rv": rv, "ns": key.namespace, "name": key.name});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw.to_string())
}

fn decode_continue(token: &str) -> ApiResult<(u64, ObjKey)> {
    let bad = || {
        ApiError::BadRequest(format!(
            "invalid continue token {token:?}: it must be a token returned by a previous list"
        ))
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let rv = v["rv"].as_u64().ok_or_else(bad)?;
    Ok((
        rv,
        ObjKey::new(
            v["ns"].as_str().unwrap_or(""),
            v["name"].as_str().ok_or_else(bad)?,
        ),
    ))
}

/// GET a collection (one page).
pub fn list(req: &Req, fmt: Format) -> ApiResult<Response> {
    let filter = Filter::from_req(req)?;
    let store = &req.cluster.store;
    let (base_rv, after) = if req.params.continue_token.is_empty() {
        (None, None)
    } else {
        let (rv, key) = decode_continue(&req.params.continue_token)?;
        if rv < store.oldest_rv() {
            return Err(ApiError::Gone("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.".into()));
        }
        (Some(rv), Some(key))
    };
    check_exact_rv(req, store.current_rv())?;
    let page = store.list(
        &req.def.storage,
        req.path.namespace.as_deref(),
        after.as_ref(),
        req.params.limit,
        &|o| filter.matches(o),
    );
    let rv = base_rv.unwrap_or(page.rv);
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if let Some(next) = &page.next {
        meta["continue"] = json!(encode_continue(rv, next));
        // Like the apiserver's etcd3 store, only when no selector filters the list (the
        // count is exact then).
        if req.params.label_selector.is_empty() && req.params.field_selector.is_empty() {
            meta["remainingItemCount"] = json!(page.remaining);
        }
    }
    if fmt == Format::Json {
        return Ok(list_json(req, &page.items, &meta));
    }
    let items: Vec<Value> = page.items.iter().map(|o| req.def.to_served(o)).collect();
    Ok(json_response(
        StatusCode::OK,
        &render(req, fmt, items, meta, false),
    ))
}

/// A JSON list written item by item: stored objects already in served form are serialized
/// as they are, without copying them first.
fn list_json(req: &Req, items: &[Arc<Value>], meta: &Value) -> Response {
    let api_version = req.def.api_version();
    let mut buf = Vec::with_capacity(256 + items.len() * 512);
    let head = json!({"kind": format!("{}List", req.def.kind), "apiVersion": api_version, "metadata": meta});
    let head = serde_json::to_vec(&head).unwrap_or_default();
    // `head` is an object: reopen it to append "items".
    buf.extend_from_slice(&head[..head.len().saturating_sub(1)]);
    buf.extend_from_slice(b",\"items\":[");
    for (i, o) in items.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        let as_stored =
            o["apiVersion"] == api_version.as_str() && o["kind"] == req.def.kind.as_str();
        let written = if as_stored {
            serde_json::to_writer(&mut buf, &**o)
        } else {
            serde_json::to_writer(&mut buf, &req.def.to_served(o))
        };
        if written.is_err() {
            buf.extend_from_slice(b"null");
        }
    }
    buf.extend_from_slice(b"]}");
    axum::response::Response::builder()
        .status(StatusCode::OK)
        .header(axum::http::header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(buf))
        .unwrap_or_default()
}

/// `resourceVersionMatch=Exact` can only be served for the current version.
fn check_exact_rv(req: &Req, current: u64) -> ApiResult<()> {
    if req.params.resource_version_match == "Exact"
        && req.params.resource_version != current.to_string()
    {
        return Err(ApiError::Gone(format!(
            "too old resource version: {} ({current})",
            req.params.resource_version
        )));
    }
    Ok(())
}

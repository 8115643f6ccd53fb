//! The axum router and request dispatch: URL → route, authentication, authorization,
//! verb → handler.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, ApiResult};
use super::request::{Params, ResourcePath, Route, parse_path, parse_query};
use super::respond::{json_response, negotiate};
use super::{discovery, openapi, read, watch, write};
use crate::cluster::Cluster;
use crate::registry::ResourceDef;

/// Largest request body accepted, as the real API server (3 MiB).
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// The HTTP application of one cluster.
pub fn router(cluster: Arc<Cluster>) -> Router {
    Router::new()
        .fallback(handle)
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(cluster)
}

/// Everything a resource handler needs to know about the request.
pub struct Req {
    /// The cluster.
    pub cluster: Arc<Cluster>,
    /// The resource definition addressed.
    pub def: ResourceDef,
    /// Parsed path.
    pub path: ResourcePath,
    /// Query parameters.
    pub params: Params,
    /// Request headers.
    pub headers: HeaderMap,
    /// Authenticated user.
    pub user: String,
    /// A non-websocket connection upgrade (SPDY/3.1 exec), taken by the handler that serves it.
    pub upgrade: std::sync::Mutex<Option<hyper::upgrade::OnUpgrade>>,
}

impl Req {
    /// The field manager: `fieldManager`, else the User-Agent's product name.
    pub fn manager(&self) -> String {
        if !self.params.field_manager.is_empty() {
            return self.params.field_manager.clone();
        }
        let ua = self
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("unknown");
        ua.split('/').next().unwrap_or("unknown").to_string()
    }
}

async fn handle(State(cluster): State<Arc<Cluster>>, request: axum::extract::Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let upgrade = parts.headers.get(axum::http::header::UPGRADE).is_some();
    let ws = match upgrade {
        true => WebSocketUpgrade::from_request_parts(&mut parts, &())
            .await
            .ok(),
        false => None,
    };
    let other_upgrade = match ws.is_none() && upgrade {
        true => parts.extensions.remove::<hyper::upgrade::OnUpgrade>(),
        false => None,
    };
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return ApiError::TooLarge(MAX_BODY).into_response(),
    };
    let upgrades = Upgrades {
        ws,
        other: other_upgrade,
    };
    match dispatch(
        cluster,
        parts.method,
        &parts.uri,
        parts.headers,
        body,
        upgrades,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// The connection upgrades a request may carry.
struct Upgrades {
    ws: Option<WebSocketUpgrade>,
    other: Option<hyper::upgrade::OnUpgrade>,
}

async fn dispatch(
    cluster: Arc<Cluster>,
    method: Method,
    uri: &Uri,
    headers: HeaderMap,
    body: Bytes,
    upgrades: Upgrades,
) -> ApiResult<Response> {
    let route = parse_path(uri.path())?;
    match route {
        Route::Version => return Ok(json_response(StatusCode::OK, &discovery::version())),
        Route::Health => return Ok((StatusCode::OK, "ok").into_response()),
        _ => {}
    }
    let user = cluster.auth.authenticate(&headers)?;
    let ok = |v| Ok(json_response(StatusCode::OK, &v));
    match route {
        Route::CoreVersions => ok(discovery::core_versions(&cluster)),
        Route::Groups => ok(discovery::group_list(&cluster)),
        Route::Group(g) => {
            discovery::group(&cluster, &g).map_or_else(|| Err(ApiError::no_route()), ok)
        }
        Route::ResourceList { group, version } => {
            discovery::resource_list(&cluster, &group, &version)
                .map_or_else(|| Err(ApiError::no_route()), ok)
        }
        Route::OpenApi(path) => openapi::serve(&cluster, &path),
        Route::Resource(path) => {
            let mut params = parse_query(uri.query())?;
            let def = resolve(&cluster, &path)?;
            inject_faults(&cluster, &def, &path, &mut params).await?;
            let req = Req {
                cluster,
                def,
                path,
                params,
                headers,
                user,
                upgrade: std::sync::Mutex::new(upgrades.other),
            };
            resource(req, method, body, upgrades.ws).await
        }
        Route::Version | Route::Health => Err(ApiError::no_route()),
    }
}

/// API-error faults: latency, random failures, capped watches (never for Fault objects, so
/// a fault can always be deleted). A scoped fault sees the request's namespace: the path's,
/// or the name of a Namespace object.
async fn inject_faults(
    cluster: &Cluster,
    def: &ResourceDef,
    path: &ResourcePath,
    params: &mut Params,
) -> ApiResult<()> {
    if def.group == crate::faults::GROUP {
        return Ok(());
    }
    let namespace = match (def.group.as_str(), def.plural.as_str()) {
        ("", "namespaces") => path.name.as_deref(),
        _ => path.namespace.as_deref(),
    };
    let injected = cluster.api_faults.roll(namespace);
    if !injected.latency.is_zero() {
        tokio::time::sleep(injected.latency).await;
    }
    if let Some(code) = injected.error {
        let reason = match code {
            429 => "TooManyRequests",
            503 => "ServiceUnavailable",
            504 => "Timeout",
            c if c >= 500 => "InternalError",
            _ => "BadRequest",
        };
        return Err(ApiError::Internal {
            code,
            reason,
            message: format!("injected by a Fault in cluster {}: {reason}", cluster.name),
        });
    }
    if let Some(cap) = injected.watch_cap {
        let secs = cap.as_secs().max(1);
        params.timeout_seconds = Some(params.timeout_seconds.map_or(secs, |t| t.min(secs)));
    }
    Ok(())
}

fn resolve(cluster: &Cluster, p: &ResourcePath) -> ApiResult<ResourceDef> {
    let def = cluster
        .registry
        .find(&p.group, &p.version, &p.resource)
        .ok_or_else(ApiError::no_route)?;
    let scoped_ok = if def.namespaced {
        p.name.is_none() || p.namespace.is_some()
    } else {
        p.namespace.is_none()
    };
    let sub_ok = match p.sub.as_deref() {
        None => true,
        Some("status") => def.status,
        Some("scale") => def.scale,
        Some(s) => def.extra_subresources.contains(&s),
    };
    if scoped_ok && sub_ok {
        Ok(def)
    } else {
        Err(ApiError::no_route())
    }
}

fn verb(method: &Method, p: &ResourcePath, params: &Params) -> &'static str {
    match (method.as_str(), p.name.is_some()) {
        ("GET", _) if params.watch || p.legacy_watch => "watch",
        ("GET", true) => "get",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "unknown",
    }
}

async fn resource(
    req: Req,
    method: Method,
    body: Bytes,
    ws: Option<WebSocketUpgrade>,
) -> ApiResult<Response> {
    let verb = verb(&method, &req.path, &req.params);
    let (ns, name) = (req.path.namespace.as_deref(), req.path.name.as_deref());
    req.cluster
        .auth
        .authorize(&req.user, verb, &req.def.storage, ns, name)?;
    if crate::registry::REVIEW_GROUPS.contains(&req.def.group.as_str()) {
        return super::review::create(&req, verb, &body);
    }
    match req.path.sub.as_deref() {
        Some("exec") => return super::pod_exec::exec(&req, ws),
        Some("log") => return super::pod_exec::log(&req),
        Some("eviction") => return super::eviction::create(&req, &body),
        _ => {}
    }
    match verb {
        "watch" => {
            let fmt = negotiate(&req.headers)?;
            watch::serve(req, fmt)
        }
        "get" => read::get(&req, negotiate(&req.headers)?),
        "list" => read::list(&req, negotiate(&req.headers)?),
        "create" if name.is_none() => write::create(&req, &body),
        "update" => write::update(&req, &body),
        "patch" => write::patch(&req, &body),
        "delete" => write::delete(&req, &body),
        "deletecollection" => write::delete_collection(&req, &body),
        _ => Err(ApiError::MethodNotAllowed),
    }
}

//! Parsing a request URL into what it addresses (discovery document, resource collection,
//! object, subresource) and its query parameters.

use std::collections::HashMap;

use super::error::{ApiError, ApiResult};

/// What a URL path addresses.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `/version`
    Version,
    /// `/healthz`, `/readyz`, `/livez` (and their `/...` checks)
    Health,
    /// `/api`
    CoreVersions,
    /// `/apis`
    Groups,
    /// `/apis/{group}`
    Group(String),
    /// `/api/v1` or `/apis/{group}/{version}`
    ResourceList {
        /// Group ("" = core).
        group: String,
        /// Version.
        version: String,
    },
    /// `/openapi/v2`, `/openapi/v3`, `/openapi/v3/{path}`
    OpenApi(String),
    /// A resource collection, object or subresource.
    Resource(ResourcePath),
}

/// Path of a resource request.
#[derive(Debug, PartialEq, Eq, Default)]
pub struct ResourcePath {
    /// Group ("" = core).
    pub group: String,
    /// Version.
    pub version: String,
    /// Namespace from the path, if any.
    pub namespace: Option<String>,
    /// Plural resource name.
    pub resource: String,
    /// Object name, if any.
    pub name: Option<String>,
    /// Subresource (`status`, `scale`, `exec`, ...), if any.
    pub sub: Option<String>,
    /// Legacy `/watch/` path prefix was used.
    pub legacy_watch: bool,
}

/// Parses a URL path.
pub fn parse_path(path: &str) -> ApiResult<Route> {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match segs.as_slice() {
        ["version"] => Ok(Route::Version),
        ["healthz" | "readyz" | "livez", ..] => Ok(Route::Health),
        ["api"] => Ok(Route::CoreVersions),
        ["apis"] => Ok(Route::Groups),
        ["apis", g] => Ok(Route::Group(g.to_string())),
        ["api", v] => Ok(Route::ResourceList {
            group: String::new(),
            version: v.to_string(),
        }),
        ["apis", g, v] => Ok(Route::ResourceList {
            group: g.to_string(),
            version: v.to_string(),
        }),
        ["openapi", rest @ ..] => Ok(Route::OpenApi(rest.join("/"))),
        ["api", v, rest @ ..] => resource_path("", v, rest).map(Route::Resource),
        ["apis", g, v, rest @ ..] => resource_path(g, v, rest).map(Route::Resource),
        _ => Err(ApiError::no_route()),
    }
}

fn resource_path(group: &str, version: &str, rest: &[&str]) -> ApiResult<ResourcePath> {
    let (legacy_watch, rest) = match rest {
        ["watch", r @ ..] => (true, r),
        r => (false, r),
    };
    let mut p = ResourcePath {
        group: group.to_string(),
        version: version.to_string(),
        legacy_watch,
        ..Default::default()
    };
    let o = |s: &&str| Some(s.to_string());
    let (namespace, resource, name, sub) = match rest {
        [r] => (None, r, None, None),
        ["namespaces", ns, sub @ ("status" | "finalize")] => (None, &"namespaces", o(ns), o(sub)),
        ["namespaces", ns, r] => (o(ns), r, None, None),
        [r, n] => (None, r, o(n), None),
        [r, n, s] => (None, r, o(n), o(s)),
        ["namespaces", ns, r, n] => (o(ns), r, o(n), None),
        ["namespaces", ns, r, n, s] => (o(ns), r, o(n), o(s)),
        _ => return Err(ApiError::no_route()),
    };
    (p.namespace, p.resource, p.name, p.sub) = (namespace, resource.to_string(), name, sub);
    if p.resource.is_empty() {
        return Err(ApiError::no_route());
    }
    Ok(p)
}

/// Query parameters the server understands.
#[derive(Debug, Default)]
pub struct Params {
    /// `watch=true|1`
    pub watch: bool,
    /// `labelSelector`
    pub label_selector: String,
    /// `fieldSelector`
    pub field_selector: String,
    /// `limit` (0 = none)
    pub limit: usize,
    /// `continue`
    pub continue_token: String,
    /// `resourceVersion`
    pub resource_version: String,
    /// `resourceVersionMatch`
    pub resource_version_match: String,
    /// `timeoutSeconds`
    pub timeout_seconds: Option<u64>,
    /// `allowWatchBookmarks`
    pub allow_bookmarks: bool,
    /// `sendInitialEvents`
    pub send_initial_events: Option<bool>,
    /// `fieldManager`
    pub field_manager: String,
    /// `force`
    pub force: bool,
    /// `dryRun=All`
    pub dry_run: bool,
    /// `propagationPolicy`
    pub propagation_policy: String,
    /// `includeObject` (Table responses)
    pub include_object: String,
    /// All raw pairs, for subresources with their own parameters (exec: `command`, ...).
    pub raw: Vec<(String, String)>,
}

fn truthy(v: &str) -> bool {
    matches!(v, "true" | "1" | "True")
}

/// Parses the query string.
pub fn parse_query(query: Option<&str>) -> ApiResult<Params> {
    let raw: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|e| ApiError::BadRequest(format!("invalid query string: {e}")))?;
    let mut p = Params::default();
    let by_name: HashMap<&str, &str> = raw.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    for (k, v) in &by_name {
        let v = v.to_string();
        match *k {
            "watch" => p.watch = truthy(&v),
            "labelSelector" => p.label_selector = v,
            "fieldSelector" => p.field_selector = v,
            "limit" => p.limit = parse_num(k, &v)? as usize,
            "continue" => p.continue_token = v,
            "resourceVersion" => p.resource_version = v,
            "resourceVersionMatch" => p.resource_version_match = v,
            "timeoutSeconds" => p.timeout_seconds = Some(parse_num(k, &v)?),
            "allowWatchBookmarks" => p.allow_bookmarks = truthy(&v),
            "sendInitialEvents" => p.send_initial_events = Some(truthy(&v)),
            "fieldManager" => p.field_manager = v,
            "force" => p.force = truthy(&v),
            "dryRun" => p.dry_run = v == "All",
            "propagationPolicy" => p.propagation_policy = v,
            "includeObject" => p.include_object = v,
            _ => {}
        }
    }
    p.raw = raw;
    Ok(p)
}

fn parse_num(name: &str, v: &str) -> ApiResult<u64> {
    v.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "invalid value {v:?} for query parameter {name}: expected a non-negative integer"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(path: &str) -> ResourcePath {
        match parse_path(path).unwrap() {
            Route::Resource(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_every_path_shape() {
        assert_eq!(parse_path("/api").unwrap(), Route::CoreVersions);
        assert_eq!(
            parse_path("/apis/apps").unwrap(),
            Route::Group("apps".into())
        );
        let ns = res("/api/v1/namespaces");
        assert_eq!((ns.resource.as_str(), ns.name), ("namespaces", None));
        let one_ns = res("/api/v1/namespaces/x");
        assert_eq!(one_ns.name.as_deref(), Some("x"));
        assert_eq!(one_ns.namespace, None);
        let fin = res("/api/v1/namespaces/x/finalize");
        assert_eq!(
            (fin.name.as_deref(), fin.sub.as_deref()),
            (Some("x"), Some("finalize"))
        );
        let coll = res("/api/v1/namespaces/x/pods");
        assert_eq!(
            (coll.namespace.as_deref(), coll.resource.as_str(), coll.name),
            (Some("x"), "pods", None)
        );
        let obj = res("/apis/apps/v1/namespaces/x/deployments/web/status");
        assert_eq!(obj.group, "apps");
        assert_eq!(obj.sub.as_deref(), Some("status"));
        assert_eq!(obj.name.as_deref(), Some("web"));
        let crd = res("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/a.b");
        assert_eq!(crd.name.as_deref(), Some("a.b"));
        assert!(res("/api/v1/watch/namespaces/x/pods").legacy_watch);
        assert!(parse_path("/api/v1/namespaces/x/pods/a/b/c").is_err());
        assert!(parse_path("/nope").is_err());
    }

    #[test]
    fn parses_query() {
        let p = parse_query(Some("watch=1&labelSelector=app%3Dx&limit=5&dryRun=All")).unwrap();
        assert!(p.watch && p.dry_run);
        assert_eq!(p.label_selector, "app=x");
        assert_eq!(p.limit, 5);
        assert!(parse_query(Some("limit=abc")).is_err());
    }
}

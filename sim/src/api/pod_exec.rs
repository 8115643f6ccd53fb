//! `pods/exec` (websocket `v5.channel.k8s.io` / `v4.channel.k8s.io`) and `pods/log`: the
//! request checks the API server does before handing over to the (simulated) kubelet.

use std::net::Ipv4Addr;
use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::error::{ApiError, ApiResult};
use super::handler::Req;
use super::read::fetch;
use crate::exec::{ExecEnv, StreamOptions, command_from_query, serve_with};

/// The container a request names (`container=`), or the pod's first one.
fn container<'a>(req: &Req, pod: &'a Value) -> ApiResult<&'a Value> {
    let containers = pod["spec"]["containers"]
        .as_array()
        .ok_or_else(|| ApiError::BadRequest("pod has no containers".into()))?;
    let wanted = req
        .params
        .raw
        .iter()
        .find(|(k, _)| k == "container")
        .map(|(_, v)| v.as_str());
    match wanted {
        None | Some("") => containers
            .first()
            .ok_or_else(|| ApiError::BadRequest("pod has no containers".into())),
        Some(name) => containers
            .iter()
            .find(|c| c["name"] == name)
            .ok_or_else(|| {
                let pod_name = pod["metadata"]["name"].as_str().unwrap_or("");
                ApiError::BadRequest(format!("container {name} is not valid for pod {pod_name}"))
            }),
    }
}

fn running_ip(pod: &Value) -> ApiResult<Ipv4Addr> {
    let name = pod["metadata"]["name"].as_str().unwrap_or("");
    if pod["spec"]["nodeName"].as_str().unwrap_or("").is_empty() {
        return Err(ApiError::BadRequest(format!(
            "pod {name} does not have a host assigned"
        )));
    }
    pod["status"]["podIP"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .filter(|_| pod["status"]["phase"] == "Running")
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "unable to upgrade connection: container not found (pod {name} is not running)"
            ))
        })
}

/// Opens an exec session in a pod's container.
pub fn exec(req: &Req, ws: Option<WebSocketUpgrade>) -> ApiResult<Response> {
    let ws = ws.ok_or_else(|| {
        ApiError::BadRequest("exec needs a websocket upgrade (v5.channel.k8s.io or v4.channel.k8s.io); mcs-sim does not speak SPDY: use kubectl 1.30 or newer".into())
    })?;
    let pod = fetch(req)?;
    let ip = running_ip(&pod)?;
    let image = container(req, &pod)?["image"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let argv = command_from_query(&req.params.raw).map_err(ApiError::BadRequest)?;
    let ns = req.path.namespace.clone().unwrap_or_default();
    let cluster = &req.cluster;
    let env = ExecEnv {
        cluster: cluster.name.clone(),
        namespace: ns.clone(),
        pod: req.path.name.clone().unwrap_or_default(),
        pod_ip: ip,
        image,
        nameserver: cluster.dns_addr(),
        search: vec![
            format!("{ns}.svc.cluster.local"),
            "svc.cluster.local".into(),
            "cluster.local".into(),
        ],
        ndots: 5,
        net: cluster.net.clone() as Arc<dyn crate::net::Network>,
    };
    Ok(serve_with(
        ws,
        &req.headers,
        argv,
        env,
        StreamOptions::from_query(&req.params.raw),
    ))
}

/// Container logs: the simulated container's start-up lines.
pub fn log(req: &Req) -> ApiResult<Response> {
    let pod = fetch(req)?;
    running_ip(&pod)?;
    let c = container(req, &pod)?;
    let ports: Vec<String> = c["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["containerPort"].as_u64().map(|n| n.to_string()))
        .collect();
    let started = pod["status"]["startTime"].as_str().unwrap_or("");
    let text = format!(
        "{started} mcs-sim: started container {} (image {})\n{started} mcs-sim: serving on ports [{}] of {}\n",
        c["name"].as_str().unwrap_or(""),
        c["image"].as_str().unwrap_or(""),
        ports.join(", "),
        pod["status"]["podIP"].as_str().unwrap_or("")
    );
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], text).into_response())
}

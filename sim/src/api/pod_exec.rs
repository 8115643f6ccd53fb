//! `pods/exec` (websocket `v5.channel.k8s.io` / `v4.channel.k8s.io`, or SPDY/3.1 with
//! `v4.channel.k8s.io`) and `pods/log`: the request checks the API server and the kubelet do
//! before the (simulated) container is reached.

use std::net::Ipv4Addr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::error::{ApiError, ApiResult};
use super::handler::Req;
use super::read::fetch;
use crate::exec::{ExecEnv, Process, StreamOptions, command_from_query, serve_with};
use crate::kubelet::{ContainerIo, Log};

fn param<'a>(req: &'a Req, key: &str) -> Option<&'a str> {
    req.params
        .raw
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn flag(req: &Req, key: &str) -> bool {
    matches!(param(req, key), Some("true" | "1" | "True"))
}

/// The container a request names (`container=`), or the pod's only one.
fn container<'a>(req: &Req, pod: &'a Value) -> ApiResult<&'a Value> {
    let containers = pod["spec"]["containers"]
        .as_array()
        .ok_or_else(|| ApiError::BadRequest("pod has no containers".into()))?;
    let pod_name = pod["metadata"]["name"].as_str().unwrap_or("");
    let init = pod["spec"]["initContainers"].as_array();
    match param(req, "container") {
        None | Some("") if containers.len() > 1 => {
            let names: Vec<&str> = containers
                .iter()
                .filter_map(|c| c["name"].as_str())
                .collect();
            Err(ApiError::BadRequest(format!(
                "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                names.join(" ")
            )))
        }
        None | Some("") => containers
            .first()
            .ok_or_else(|| ApiError::BadRequest("pod has no containers".into())),
        Some(name) => containers
            .iter()
            .chain(init.into_iter().flatten())
            .find(|c| c["name"] == name)
            .ok_or_else(|| {
                ApiError::BadRequest(format!("container {name} is not valid for pod {pod_name}"))
            }),
    }
}

fn scheduled(pod: &Value) -> ApiResult<()> {
    let name = pod["metadata"]["name"].as_str().unwrap_or("");
    if pod["spec"]["nodeName"].as_str().unwrap_or("").is_empty() {
        return Err(ApiError::BadRequest(format!(
            "pod {name} does not have a host assigned"
        )));
    }
    Ok(())
}

/// The waiting reason of a container, from the pod status.
fn waiting_reason(pod: &Value, name: &str) -> String {
    let statuses = ["containerStatuses", "initContainerStatuses"];
    statuses
        .iter()
        .flat_map(|f| pod["status"][f].as_array().cloned().unwrap_or_default())
        .find(|s| s["name"] == name)
        .and_then(|s| s["state"]["waiting"]["reason"].as_str().map(String::from))
        .unwrap_or_else(|| "ContainerCreating".to_string())
}

/// Opens an exec session in a pod's running container (websocket, or SPDY when the client
/// asks for `SPDY/3.1`).
pub fn exec(req: &Req, ws: Option<WebSocketUpgrade>) -> ApiResult<Response> {
    let pod = fetch(req)?;
    scheduled(&pod)?;
    let name = pod["metadata"]["name"].as_str().unwrap_or("").to_string();
    if let Some(phase @ ("Succeeded" | "Failed")) = pod["status"]["phase"].as_str() {
        return Err(ApiError::BadRequest(format!(
            "cannot exec into a container in a completed pod; current phase is {phase}"
        )));
    }
    let c = container(req, &pod)?;
    let cname = c["name"].as_str().unwrap_or("").to_string();
    let uid = pod["metadata"]["uid"].as_str().unwrap_or("");
    let io = req
        .cluster
        .node_io
        .find(uid, &cname)
        .filter(|io| io.running())
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "unable to upgrade connection: container not found (\"{cname}\")"
            ))
        })?;
    let ip: Ipv4Addr = pod["status"]["podIP"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ApiError::BadRequest(format!("pod {name} has no IP yet")))?;
    let argv = command_from_query(&req.params.raw).map_err(ApiError::BadRequest)?;
    let env = exec_env(req, &pod, c, ip, &io);
    let opts = StreamOptions::from_query(&req.params.raw);
    if crate::exec::spdy::requested(&req.headers) {
        let upgrade = req.upgrade.lock().ok().and_then(|mut u| u.take());
        return Ok(crate::exec::spdy::serve(
            &req.headers,
            upgrade,
            argv,
            env,
            opts,
        ));
    }
    let ws = ws.ok_or_else(|| {
        ApiError::BadRequest("exec needs a connection upgrade: websocket (v5.channel.k8s.io, v4.channel.k8s.io) or SPDY/3.1".into())
    })?;
    Ok(serve_with(ws, &req.headers, argv, env, opts))
}

fn exec_env(req: &Req, pod: &Value, c: &Value, ip: Ipv4Addr, io: &ContainerIo) -> ExecEnv {
    let ns = req.path.namespace.clone().unwrap_or_default();
    let cluster = &req.cluster;
    let mut search = vec![
        format!("{ns}.svc.cluster.local"),
        "svc.cluster.local".into(),
        "cluster.local".into(),
    ];
    if let Some(sub) = pod["spec"]["subdomain"].as_str().filter(|s| !s.is_empty()) {
        search.insert(0, format!("{sub}.{ns}.svc.cluster.local"));
    }
    let vars: Vec<(String, String)> = c["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some((
                e["name"].as_str()?.to_string(),
                e["value"].as_str()?.to_string(),
            ))
        })
        .collect();
    ExecEnv {
        cluster: cluster.name.clone(),
        namespace: ns,
        pod: pod["spec"]["hostname"]
            .as_str()
            .or(req.path.name.as_deref())
            .unwrap_or_default()
            .to_string(),
        pod_ip: ip,
        image: c["image"].as_str().unwrap_or("").to_string(),
        nameserver: cluster.dns_addr(),
        search,
        ndots: 5,
        net: cluster.net.clone() as Arc<dyn crate::net::Network>,
        process: Process {
            vars,
            fs: io.fs(),
            ..Process::default()
        },
    }
}

/// Container logs: the output of the container's program (`previous`, `follow`,
/// `timestamps`, `tailLines`, `limitBytes`).
pub fn log(req: &Req) -> ApiResult<Response> {
    let pod = fetch(req)?;
    scheduled(&pod)?;
    let c = container(req, &pod)?;
    let cname = c["name"].as_str().unwrap_or("").to_string();
    let pname = pod["metadata"]["name"].as_str().unwrap_or("").to_string();
    let uid = pod["metadata"]["uid"].as_str().unwrap_or("");
    let io = req.cluster.node_io.find(uid, &cname);
    let opts = LogOpts {
        timestamps: flag(req, "timestamps"),
        tail: param(req, "tailLines").and_then(|v| v.parse().ok()),
        limit: param(req, "limitBytes").and_then(|v| v.parse().ok()),
    };
    if flag(req, "previous") {
        let log = io.as_ref().and_then(|io| io.previous()).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "previous terminated container \"{cname}\" in pod \"{pname}\" not found"
            ))
        })?;
        return Ok(text(opts.render(&log, 0)));
    }
    let Some(io) =
        io.filter(|io| io.running() || !io.current().lines.is_empty() || io.current().done)
    else {
        let reason = waiting_reason(&pod, &cname);
        return Err(ApiError::BadRequest(format!(
            "container \"{cname}\" in pod \"{pname}\" is waiting to start: {reason}"
        )));
    };
    if !flag(req, "follow") {
        return Ok(text(opts.render(&io.current(), 0)));
    }
    Ok(follow(io, opts))
}

fn text(body: Vec<u8>) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

#[derive(Clone, Copy)]
struct LogOpts {
    timestamps: bool,
    tail: Option<usize>,
    limit: Option<usize>,
}

impl LogOpts {
    /// The lines of `log` from index `from`, formatted.
    fn render(&self, log: &Log, from: usize) -> Vec<u8> {
        let lines = log.lines.get(from..).unwrap_or_default();
        let start = match self.tail {
            Some(n) if from == 0 => lines.len().saturating_sub(n),
            _ => 0,
        };
        let mut out = Vec::new();
        for l in &lines[start..] {
            if self.timestamps {
                out.extend_from_slice(l.time.as_bytes());
                out.push(b' ');
            }
            out.extend_from_slice(&l.data);
        }
        if let Some(limit) = self.limit {
            out.truncate(limit);
        }
        out
    }
}

/// `follow=true`: what was logged, then every new line until the container instance ends.
fn follow(io: Arc<ContainerIo>, opts: LogOpts) -> Response {
    let rx = io.subscribe();
    let first = io.current();
    let body = opts.render(&first, 0);
    let state = (io, rx, first.lines.len(), Some(body), first.done);
    let stream =
        futures::stream::unfold(state, move |(io, mut rx, seen, pending, done)| async move {
            if let Some(b) = pending {
                return Some((
                    Ok::<_, std::io::Error>(bytes::Bytes::from(b)),
                    (io, rx, seen, None, done),
                ));
            }
            if done {
                return None;
            }
            loop {
                if rx.changed().await.is_err() {
                    return None;
                }
                let log = io.current();
                if log.lines.len() < seen {
                    return None; // a new instance started: the follow ends with the old one
                }
                let chunk = opts.render(&log, seen);
                let (n, done) = (log.lines.len(), log.done);
                if !chunk.is_empty() || done {
                    return Some((Ok(bytes::Bytes::from(chunk)), (io, rx, n, None, done)));
                }
            }
        });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain")],
        Body::from_stream(stream),
    )
        .into_response()
}

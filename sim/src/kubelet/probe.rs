//! Container probes, run for real against the pod's own listeners: `httpGet` (status
//! 200–399 passes; `host` honoured within 127.0.0.0/8), `tcpSocket` (a connection passes) and `exec` (the command runs in the
//! emulated image: exit 0 passes; on the generic stand-in, whose tools are unknown, it
//! passes). `grpc` probes pass. Failure messages are the kubelet's, for `Unhealthy` events.
//! Probe timeouts are real seconds (capped at 5 s): they bound real network I/O.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::exec::ExecEnv;

/// Which probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `readinessProbe`.
    Readiness,
    /// `livenessProbe`.
    Liveness,
    /// `startupProbe`.
    Startup,
}

impl Kind {
    /// The container field.
    pub fn field(self) -> &'static str {
        match self {
            Kind::Readiness => "readinessProbe",
            Kind::Liveness => "livenessProbe",
            Kind::Startup => "startupProbe",
        }
    }

    /// How the kubelet names it in events (`Readiness probe failed: …`).
    pub fn title(self) -> &'static str {
        match self {
            Kind::Readiness => "Readiness",
            Kind::Liveness => "Liveness",
            Kind::Startup => "Startup",
        }
    }
}

/// Resolves a probe's `port` (number or container port name).
fn port(container: &Value, p: &Value) -> Option<u16> {
    if let Some(n) = p.as_u64() {
        return u16::try_from(n).ok();
    }
    let name = p.as_str()?;
    if let Ok(n) = name.parse() {
        return Some(n);
    }
    container["ports"]
        .as_array()?
        .iter()
        .find(|cp| cp["name"] == name)?["containerPort"]
        .as_u64()
        .and_then(|n| u16::try_from(n).ok())
}

/// Runs `probe` of `container` once against `ip`: `Ok` or the failure message. `exec` is
/// the env to run exec probes in (`None` on the generic stand-in).
pub async fn run(
    probe: &Value,
    container: &Value,
    ip: Ipv4Addr,
    exec: Option<&ExecEnv>,
) -> Result<(), String> {
    let timeout = Duration::from_secs(probe["timeoutSeconds"].as_u64().unwrap_or(1).clamp(1, 5));
    if let Some(h) = probe.get("httpGet") {
        let p = port(container, &h["port"]).ok_or("invalid port")?;
        let path = h["path"].as_str().unwrap_or("/");
        // `httpGet.host` (default: the pod IP), as the kubelet honours it. The fleet connects
        // only within 127.0.0.0/8: another address is unreachable, a name unresolvable.
        let target = match h["host"].as_str().filter(|h| !h.is_empty()) {
            None => ip,
            Some(host) => match host.parse::<Ipv4Addr>() {
                Ok(a) if a.is_loopback() => a,
                Ok(a) => {
                    return Err(format!(
                        "Get \"http://{a}:{p}{path}\": dial tcp {a}:{p}: connect: network is unreachable"
                    ));
                }
                Err(_) => {
                    return Err(format!(
                        "Get \"http://{host}:{p}{path}\": dial tcp: lookup {host}: no such host"
                    ));
                }
            },
        };
        let addr = SocketAddr::from((target, p));
        let url = format!("http://{addr}{path}");
        return match tokio::time::timeout(timeout, http_get(addr, path)).await {
            Err(_) => Err(format!(
                "Get \"{url}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
            )),
            Ok(Err(e)) => Err(format!("Get \"{url}\": dial tcp {addr}: connect: {e}")),
            Ok(Ok(code)) if (200..400).contains(&code) => Ok(()),
            Ok(Ok(code)) => Err(format!("HTTP probe failed with statuscode: {code}")),
        };
    }
    if let Some(t) = probe.get("tcpSocket") {
        let p = port(container, &t["port"]).ok_or("invalid port")?;
        let addr = SocketAddr::from((ip, p));
        return match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("dial tcp {addr}: connect: {}", lower(&e))),
            Err(_) => Err(format!("dial tcp {addr}: i/o timeout")),
        };
    }
    if let (Some(cmd), Some(env)) = (probe["exec"]["command"].as_array(), exec) {
        let argv: Vec<String> = cmd
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect();
        let out = match tokio::time::timeout(timeout, crate::exec::run(env, &argv)).await {
            Ok(out) => out,
            Err(_) => return Err(format!("command {argv:?} timed out")),
        };
        if out.code == 0 {
            return Ok(());
        }
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        return Err(text);
    }
    Ok(())
}

fn lower(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        std::io::ErrorKind::ConnectionReset => "connection reset by peer".into(),
        _ => e.to_string(),
    }
}

async fn http_get(addr: SocketAddr, path: &str) -> Result<u16, String> {
    let mut s = TcpStream::connect(addr).await.map_err(|e| lower(&e))?;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: kube-probe/1.33\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.map_err(|e| lower(&e))?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).await.map_err(|e| lower(&e))?;
    let line = String::from_utf8_lossy(&buf[..n]);
    Ok(line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0))
}

//! Readiness probes, run for real against the pod's own listeners: `httpGet` (status
//! 200–399 passes) and `tcpSocket` (a connection passes). `exec` and `grpc` probes pass
//! (the sim cannot run arbitrary binaries). Named ports resolve through container ports.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

/// Runs `container`'s readiness probe once against `ip`; no probe = ready.
pub async fn ready(container: &Value, ip: Ipv4Addr) -> bool {
    let probe = &container["readinessProbe"];
    if !probe.is_object() {
        return true;
    }
    let timeout = Duration::from_secs(probe["timeoutSeconds"].as_u64().unwrap_or(1).clamp(1, 5));
    if let Some(h) = probe.get("httpGet") {
        let Some(p) = port(container, &h["port"]) else {
            return false;
        };
        let path = h["path"].as_str().unwrap_or("/");
        return tokio::time::timeout(timeout, http_get(SocketAddr::from((ip, p)), path))
            .await
            .unwrap_or(false);
    }
    if let Some(t) = probe.get("tcpSocket") {
        let Some(p) = port(container, &t["port"]) else {
            return false;
        };
        return matches!(
            tokio::time::timeout(timeout, TcpStream::connect((ip, p))).await,
            Ok(Ok(_))
        );
    }
    true
}

async fn http_get(addr: SocketAddr, path: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return false;
    };
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: kube-probe/1.33\r\nConnection: close\r\n\r\n"
    );
    if s.write_all(req.as_bytes()).await.is_err() {
        return false;
    }
    let mut buf = [0u8; 64];
    let Ok(n) = s.read(&mut buf).await else {
        return false;
    };
    let line = String::from_utf8_lossy(&buf[..n]);
    let code: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (200..400).contains(&code)
}

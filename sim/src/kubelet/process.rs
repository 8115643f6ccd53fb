//! A container's main process: what the image runs for the container's `command`/`args`.
//! - whereami (no `command`): the whereami HTTP server on `$PORT` (8080);
//! - the generic stand-in (images the fleet does not emulate): answers on every declared
//!   `containerPort` (TCP: a small JSON document over HTTP; UDP: one JSON datagram back);
//! - `pause`: sleeps until signalled;
//! - emulated images otherwise: the argv is interpreted by [`crate::exec`] (shell, `sleep`,
//!   `nc`, `socat`, `tail -f`, …), its output streamed to the container log.
//!
//! And how it reacts to SIGTERM: servers and `socat` exit; a shell, `sleep`, `tail` or `nc`
//! running as PID 1 has no handler, so the signal is ignored and the kubelet kills it with
//! SIGKILL (exit 137) when the grace period ends — a fact of Linux PID 1 semantics.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use serde_json::Value;
use tokio::task::JoinHandle;

use super::apps::{PodInfo, app};
use super::image::Family;
use super::logs::ContainerIo;
use crate::exec::{ExecEnv, Flavour, image::basename, image::start_failure};

/// What SIGTERM does to the process.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OnTerm {
    /// It exits with `code` after `secs` simulated seconds of shutdown.
    Exit {
        /// Shutdown time (simulated seconds).
        secs: f64,
        /// Exit code.
        code: i32,
    },
    /// Ignored: only SIGKILL ends it.
    Ignore,
}

/// A started process.
pub struct Started {
    /// Resolves to the exit code.
    pub task: JoinHandle<i32>,
    /// Its SIGTERM behaviour.
    pub on_term: OnTerm,
    /// A note for the container log/events (the generic stand-in says what it is).
    pub note: Option<String>,
}

/// What the image runs.
enum Program {
    Whereami(u16),
    Generic { tcp: Vec<u16>, udp: Vec<u16> },
    Pause,
    Exec(Vec<String>),
}

fn declared(spec: &Value, udp: bool) -> Vec<u16> {
    spec["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| (p["protocol"].as_str().unwrap_or("TCP") == "UDP") == udp)
        .filter_map(|p| {
            p["containerPort"]
                .as_u64()
                .and_then(|n| u16::try_from(n).ok())
        })
        .collect()
}

fn program(family: Family, spec: &Value, argv: Vec<String>, env: &ExecEnv) -> Program {
    let has_command = spec["command"].as_array().is_some_and(|c| !c.is_empty());
    match family {
        Family::Whereami if !has_command => {
            let port = env.var("PORT").and_then(|p| p.parse().ok()).unwrap_or(8080);
            Program::Whereami(port)
        }
        Family::Generic => Program::Generic {
            tcp: declared(spec, false),
            udp: declared(spec, true),
        },
        Family::Pause if !has_command => Program::Pause,
        _ => Program::Exec(argv),
    }
}

/// Why a process could not start: the runtime's message (`StartError`).
pub fn start_error(short: &str) -> String {
    format!(
        "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: {short}: unknown"
    )
}

/// Starts the container's process, or returns the runtime's start error.
pub fn start(
    family: Family,
    spec: &Value,
    argv: Vec<String>,
    env: ExecEnv,
    info: PodInfo,
    io: Arc<ContainerIo>,
) -> Result<Started, String> {
    match program(family, spec, argv, &env) {
        Program::Whereami(port) => {
            let ip = env.pod_ip;
            io.append(format!("[mcs-sim] whereami listening on 0.0.0.0:{port}\n").as_bytes());
            Ok(Started {
                task: tokio::spawn(serve_tcp(ip, vec![port], info, io)),
                on_term: OnTerm::Exit { secs: 1.0, code: 0 },
                note: None,
            })
        }
        Program::Generic { tcp, udp } => {
            let note = format!(
                "mcs-sim does not emulate image \"{}\": running a generic stand-in that answers on the declared ports (TCP {tcp:?}, UDP {udp:?}); the container's command is not run",
                info.image
            );
            io.append(format!("[mcs-sim] {note}\n").as_bytes());
            let ip = env.pod_ip;
            let task = tokio::spawn(async move {
                let mut udp_tasks = Vec::new();
                for port in udp {
                    match serve_udp(ip, port, info.clone(), io.clone()).await {
                        Ok(t) => udp_tasks.push(t),
                        Err(code) => return code,
                    }
                }
                let _udp = Aborting(udp_tasks);
                serve_tcp(ip, tcp, info, io).await
            });
            Ok(Started {
                task,
                on_term: OnTerm::Exit { secs: 1.0, code: 0 },
                note: Some(note),
            })
        }
        Program::Pause => Ok(Started {
            task: tokio::spawn(std::future::pending()),
            on_term: OnTerm::Exit { secs: 0.0, code: 0 },
            note: None,
        }),
        Program::Exec(argv) => {
            if let Some(f) = start_failure(Flavour::of(&env.image), &argv) {
                return Err(start_error(&f.short));
            }
            let on_term = match argv.first().map(|a| basename(a)) {
                Some("socat") => OnTerm::Exit {
                    secs: 0.0,
                    code: 143,
                },
                _ => OnTerm::Ignore,
            };
            let task = tokio::spawn(async move {
                let out = crate::exec::run_with_stdin(&env, &argv, &[]).await;
                io.append(&out.stdout);
                io.append(&out.stderr);
                out.code
            });
            Ok(Started {
                task,
                on_term,
                note: None,
            })
        }
    }
}

/// Serves the HTTP app on `ports` of `ip` until aborted; exit 1 when a port is taken.
async fn serve_tcp(ip: Ipv4Addr, ports: Vec<u16>, info: PodInfo, io: Arc<ContainerIo>) -> i32 {
    let mut servers = Vec::new();
    for port in ports {
        let addr = SocketAddr::new(IpAddr::V4(ip), port);
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                io.append(format!("[mcs-sim] cannot listen on {addr}: {e}\n").as_bytes());
                return 1;
            }
        };
        let router = app(info.clone());
        servers.push(tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        }));
    }
    let _guard = Aborting(servers);
    std::future::pending::<i32>().await
}

/// Answers every datagram on `ip:port` with a small JSON document (the generic stand-in).
async fn serve_udp(
    ip: Ipv4Addr,
    port: u16,
    info: PodInfo,
    io: Arc<ContainerIo>,
) -> Result<JoinHandle<()>, i32> {
    let addr = SocketAddr::new(IpAddr::V4(ip), port);
    let sock = match tokio::net::UdpSocket::bind(addr).await {
        Ok(s) => s,
        Err(e) => {
            io.append(format!("[mcs-sim] cannot listen on {addr}/udp: {e}\n").as_bytes());
            return Err(1);
        }
    };
    Ok(tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        while let Ok((_, peer)) = sock.recv_from(&mut buf).await {
            let body = serde_json::json!({"cluster_name": info.cluster, "pod_name": info.pod, "pod_ip": info.ip, "image": info.image});
            let _ = sock.send_to(format!("{body}\n").as_bytes(), peer).await;
        }
    }))
}

/// Aborts the tasks it holds when dropped (the process was killed).
struct Aborting(Vec<JoinHandle<()>>);

impl Drop for Aborting {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

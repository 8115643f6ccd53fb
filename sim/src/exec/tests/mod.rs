//! Tests of the exec emulation against a fake network (real loopback listeners, refusals,
//! black holes), a fake DNS server on UDP and a tiny HTTP server.

mod commands;
mod kubectl;
mod shell;
mod ws;

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use super::dns::display_name;
use super::{ExecEnv, ExecOutput, run};
use crate::net::{BoxFuture, Network};

/// What the fake network does with a connection to an address.
#[derive(Clone, Copy, Debug)]
pub enum Route {
    /// Connect to this real listener instead.
    Forward(SocketAddr),
    /// `ConnectionRefused` at once.
    Refuse,
    /// Nothing answers: `TimedOut` after the caller's timeout.
    Blackhole,
}

/// A [`Network`] over a routing table; unknown addresses refuse.
pub struct FakeNet(pub HashMap<SocketAddr, Route>);

impl Network for FakeNet {
    fn connect<'a>(
        &'a self,
        _from_cluster: &'a str,
        addr: SocketAddr,
        timeout: Duration,
    ) -> BoxFuture<'a, io::Result<TcpStream>> {
        let route = self.0.get(&addr).copied().unwrap_or(Route::Refuse);
        Box::pin(async move {
            match route {
                Route::Forward(to) => TcpStream::connect(to).await,
                Route::Refuse => Err(io::ErrorKind::ConnectionRefused.into()),
                Route::Blackhole => {
                    tokio::time::sleep(timeout).await;
                    Err(io::ErrorKind::TimedOut.into())
                }
            }
        })
    }
}

/// How the fake DNS server answers a name.
#[derive(Clone, Debug)]
pub enum Answer {
    /// A records (AAAA queries get an empty NOERROR, as CoreDNS).
    A(Ipv4Addr),
    /// SERVFAIL.
    ServFail,
    /// No reply at all.
    Drop,
}

/// Names queried so far, with their types.
pub type QueryLog = Arc<Mutex<Vec<(String, RecordType)>>>;

/// Starts an authoritative fake DNS server on UDP 127.0.0.1:0; unknown names are NXDOMAIN.
pub async fn fake_dns(zone: HashMap<String, Answer>) -> io::Result<(SocketAddr, QueryLog)> {
    let sock = UdpSocket::bind("127.0.0.1:0").await?;
    let addr = sock.local_addr()?;
    let log: QueryLog = Arc::default();
    let seen = log.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while let Ok((n, peer)) = sock.recv_from(&mut buf).await {
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let Some(reply) = dns_reply(&zone, &query, &seen) else {
                continue;
            };
            if let Ok(wire) = reply.to_vec() {
                let _ = sock.send_to(&wire, peer).await;
            }
        }
    });
    Ok((addr, log))
}

fn dns_reply(zone: &HashMap<String, Answer>, query: &Message, log: &QueryLog) -> Option<Message> {
    let q = query.queries.first()?.clone();
    let name = display_name(q.name()).to_ascii_lowercase();
    if let Ok(mut l) = log.lock() {
        l.push((name.clone(), q.query_type()));
    }
    let mut reply = Message::response(query.metadata.id, OpCode::Query);
    reply.metadata.authoritative = true;
    reply.metadata.recursion_desired = query.metadata.recursion_desired;
    reply.add_query(q.clone());
    match zone.get(&name) {
        None => reply.metadata.response_code = ResponseCode::NXDomain,
        Some(Answer::Drop) => return None,
        Some(Answer::ServFail) => reply.metadata.response_code = ResponseCode::ServFail,
        Some(Answer::A(ip)) if q.query_type() == RecordType::A => {
            reply.add_answer(Record::from_rdata(q.name().clone(), 5, RData::A(A(*ip))));
        }
        Some(Answer::A(_)) => {}
    }
    Some(reply)
}

/// Requests received by the fake HTTP server.
pub type RequestLog = Arc<Mutex<Vec<String>>>;

/// Starts a tiny HTTP server on 127.0.0.1:0 (paths: `/`, `/missing`, `/chunked`, `/slow`,
/// `/redirect`, `/close`, `/empty`).
pub async fn http_server() -> io::Result<(SocketAddr, RequestLog)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let log: RequestLog = Arc::default();
    let seen = log.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_http(stream, seen.clone()));
        }
    });
    Ok((addr, log))
}

/// The body of `GET /`.
pub const WHEREAMI: &str = r#"{"cluster_name":"c1","pod_name":"whereami-1","pod_ip":"10.0.1.5"}"#;

async fn serve_http(mut stream: TcpStream, log: RequestLog) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let req = String::from_utf8_lossy(&buf).into_owned();
    let path = req.split(' ').nth(1).unwrap_or("/").to_string();
    if let Ok(mut l) = log.lock() {
        l.push(req);
    }
    let fixed = |status: &str, body: &str| {
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let resp = match path.as_str() {
        "/" => fixed("200 OK", WHEREAMI),
        "/missing" => fixed("404 Not Found", "nope\n"),
        "/chunked" => {
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n3\r\nlo\n\r\n0\r\n\r\n".into()
        }
        "/redirect" => "HTTP/1.1 302 Found\r\nLocation: /\r\nContent-Length: 0\r\n\r\n".into(),
        "/close" => "HTTP/1.1 200 OK\r\n\r\nuntil close".into(),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(10)).await;
            fixed("200 OK", "late")
        }
        _ => return,
    };
    let _ = stream.write_all(resp.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// A probe pod with DNS, HTTP and routes wired up.
pub struct World {
    /// The pod's environment.
    pub env: ExecEnv,
    /// DNS queries seen.
    pub dns_log: QueryLog,
    /// HTTP requests seen.
    pub http_log: RequestLog,
}

impl World {
    /// Starts DNS and HTTP fakes for a pod running `image`.
    pub async fn start(image: &str) -> io::Result<Self> {
        let (http, http_log) = http_server().await?;
        let ip = |d: u8| Ipv4Addr::new(10, 0, 1, d);
        let zone: HashMap<String, Answer> = [
            ("whereami.app.svc.cluster.local", Answer::A(ip(5))),
            (
                "whereami.app.svc.clusterset.local",
                Answer::A(Ipv4Addr::new(10, 0, 2, 7)),
            ),
            ("refused.app.svc.cluster.local", Answer::A(ip(6))),
            ("blackhole.app.svc.cluster.local", Answer::A(ip(7))),
            ("broken.app.svc.cluster.local", Answer::ServFail),
            ("silent.app.svc.cluster.local", Answer::Drop),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let (dns, dns_log) = fake_dns(zone).await?;
        let routes = [
            (SocketAddr::from((ip(5), 80)), Route::Forward(http)),
            (
                SocketAddr::from(([10, 0, 2, 7], 8080)),
                Route::Forward(http),
            ),
            (SocketAddr::from((ip(6), 80)), Route::Refuse),
            (SocketAddr::from((ip(7), 80)), Route::Blackhole),
        ];
        let env = ExecEnv {
            cluster: "c1".into(),
            namespace: "app".into(),
            pod: "probe-0".into(),
            pod_ip: Ipv4Addr::LOCALHOST,
            image: image.into(),
            nameserver: dns,
            search: [
                "app.svc.cluster.local",
                "svc.cluster.local",
                "cluster.local",
            ]
            .map(String::from)
            .to_vec(),
            ndots: 5,
            net: Arc::new(FakeNet(routes.into_iter().collect())),
            process: crate::exec::Process::default(),
        };
        Ok(Self {
            env,
            dns_log,
            http_log,
        })
    }

    /// Runs a command given as words.
    pub async fn run(&self, argv: &[&str]) -> ExecOutput {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        run(&self.env, &argv).await
    }

    /// Runs `sh -c SCRIPT`.
    pub async fn sh(&self, script: &str) -> ExecOutput {
        self.run(&["sh", "-c", script]).await
    }

    /// The DNS server port, as printed in nslookup's `Address:` line.
    pub fn dns_port(&self) -> u16 {
        self.env.nameserver.port()
    }
}

/// Stdout, stderr and code as strings, for assertions.
pub fn text(out: &ExecOutput) -> (String, String, i32) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.code,
    )
}

/// Owned strings for expected outputs.
pub fn expect(stdout: &str, stderr: &str, code: i32) -> (String, String, i32) {
    (stdout.to_string(), stderr.to_string(), code)
}

/// A test result with any error.
pub type TestResult = Result<(), Box<dyn std::error::Error>>;

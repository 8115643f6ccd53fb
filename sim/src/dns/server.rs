//! The DNS server proper: a UDP socket and a TCP listener on the same address, each served
//! by one task. Messages are decoded and encoded with `hickory_proto::op::Message`; the
//! records come from [`answer`](super::answer). The fault mode is read on every query.
//!
//! Replies leave through [`wire`](super::wire): address records shuffled as CoreDNS's
//! `loadbalance` does, then truncated to the client's limit (512 bytes over UDP, its EDNS
//! payload size when it sends one, 65535 over TCP) keeping the records that fit and setting
//! TC, so a client retrying over TCP gets the whole answer. As CoreDNS's server does, the
//! reply's OPT record echoes the request's payload size, and an EDNS version other than 0
//! gets BADVERS.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::DNSClass;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::{JoinHandle, JoinSet};

use super::{DnsControl, DnsError, DnsMode, answer, wire};
use crate::cluster::Cluster;

/// The largest UDP answer sent whatever the client advertises: the largest IPv4 UDP
/// payload (CoreDNS has no cap of its own without the `bufsize` plugin).
const MAX_UDP: usize = 65_507;
/// An idle TCP connection is closed after this long.
const TCP_IDLE: Duration = Duration::from_secs(30);
/// Attempts at finding a port free for both UDP and TCP when asked for port 0.
const BIND_ATTEMPTS: usize = 16;

/// A running DNS server; its tasks (and sockets) end when it is dropped.
pub struct DnsServer {
    addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

/// What every task needs.
struct Shared {
    cluster: Arc<Cluster>,
    control: Arc<DnsControl>,
}

impl DnsServer {
    /// Binds UDP and TCP on `addr` and serves records of `cluster`. With port 0, one port
    /// free for both protocols is picked.
    pub async fn start(
        cluster: Arc<Cluster>,
        addr: SocketAddr,
        control: Arc<DnsControl>,
    ) -> Result<DnsServer, DnsError> {
        let (udp, tcp) = bind(addr).await?;
        let addr = udp.local_addr().map_err(DnsError::LocalAddr)?;
        let shared = Arc::new(Shared { cluster, control });
        let tasks = vec![
            tokio::spawn(serve_udp(udp, shared.clone())),
            tokio::spawn(serve_tcp(tcp, shared)),
        ];
        tracing::debug!(%addr, "dns server listening");
        Ok(DnsServer { addr, tasks })
    }

    /// The address served (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server and waits until its sockets are closed, so that the address can be
    /// bound again at once (dropping only requests the stop).
    pub async fn stop(mut self) {
        for task in std::mem::take(&mut self.tasks) {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn bind(addr: SocketAddr) -> Result<(UdpSocket, TcpListener), DnsError> {
    let fail = |source| DnsError::Bind { addr, source };
    if addr.port() != 0 {
        let udp = UdpSocket::bind(addr).await.map_err(fail)?;
        let tcp = TcpListener::bind(addr).await.map_err(fail)?;
        return Ok((udp, tcp));
    }
    let mut last = None;
    for _ in 0..BIND_ATTEMPTS {
        let udp = UdpSocket::bind(addr).await.map_err(fail)?;
        let port = udp.local_addr().map_err(DnsError::LocalAddr)?.port();
        match TcpListener::bind(SocketAddr::new(addr.ip(), port)).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) => last = Some(e),
        }
    }
    let source = last.unwrap_or_else(|| std::io::ErrorKind::AddrInUse.into());
    Err(fail(source))
}

async fn serve_udp(socket: UdpSocket, shared: Arc<Shared>) {
    let mut buf = vec![0u8; u16::MAX as usize];
    loop {
        let (len, peer) = match socket.recv_from(&mut buf).await {
            Ok(v) => v,
            Err(error) => {
                tracing::debug!(%error, "dns udp receive failed");
                continue;
            }
        };
        let Some(reply) = respond(&shared, &buf[..len], Transport::Udp) else {
            continue;
        };
        if let Err(error) = socket.send_to(&reply, peer).await {
            tracing::debug!(%error, %peer, "dns udp send failed");
        }
    }
}

async fn serve_tcp(listener: TcpListener, shared: Arc<Shared>) {
    // Connections live in the set, so aborting this task ends them too.
    let mut conns = JoinSet::new();
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                conns.spawn(serve_conn(stream, shared.clone()));
            }
            Err(error) => {
                tracing::debug!(%error, "dns tcp accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        while conns.try_join_next().is_some() {}
    }
}

/// Length-prefixed messages (RFC 1035 §4.2.2) until the peer closes or idles.
async fn serve_conn(mut stream: TcpStream, shared: Arc<Shared>) {
    loop {
        let Ok(Ok(len)) = tokio::time::timeout(TCP_IDLE, stream.read_u16()).await else {
            return;
        };
        let mut buf = vec![0u8; usize::from(len)];
        let Ok(Ok(_)) = tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut buf)).await else {
            return;
        };
        let Some(reply) = respond(&shared, &buf, Transport::Tcp) else {
            continue;
        };
        let Ok(reply_len) = u16::try_from(reply.len()) else {
            return;
        };
        let mut framed = Vec::with_capacity(reply.len() + 2);
        framed.extend_from_slice(&reply_len.to_be_bytes());
        framed.extend_from_slice(&reply);
        if stream.write_all(&framed).await.is_err() {
            return;
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Udp,
    Tcp,
}

/// The encoded reply to one request, `None` when nothing is to be sent (Drop mode, not a
/// query, or too short to carry a message id).
fn respond(shared: &Shared, request: &[u8], transport: Transport) -> Option<Vec<u8>> {
    let msg = match Message::from_vec(request) {
        Ok(msg) => msg,
        Err(_) if shared.control.mode() == DnsMode::Drop => return None,
        Err(_) => return format_error(request),
    };
    if msg.metadata.message_type != MessageType::Query {
        return None;
    }
    let name = msg
        .queries
        .first()
        .map(|q| q.name.to_ascii())
        .unwrap_or_default();
    let mode = shared.control.mode_for(&name);
    if mode == DnsMode::Drop {
        return None;
    }
    let mut reply = reply(&shared.cluster, &msg, mode);
    wire::shuffle(&mut reply);
    let limit = match transport {
        Transport::Tcp => usize::from(u16::MAX),
        Transport::Udp => msg
            .edns
            .as_ref()
            .map_or(512, |e| usize::from(e.max_payload()).clamp(512, MAX_UDP)),
    };
    encode(&reply, limit)
}

/// Encodes `reply` within `limit`; SERVFAIL when it cannot be encoded.
fn encode(reply: &Message, limit: usize) -> Option<Vec<u8>> {
    if let Some(bytes) = wire::encode_within(reply, limit) {
        return Some(bytes);
    }
    tracing::debug!("dns reply could not be encoded");
    let mut failed = reply.truncate();
    failed.metadata.truncation = false;
    failed.metadata.response_code = ResponseCode::ServFail;
    failed.to_vec().ok()
}

/// FORMERR for a request that does not decode, when it has a header id and is not itself
/// a response (never answer answers).
fn format_error(request: &[u8]) -> Option<Vec<u8>> {
    if request.get(2).is_none_or(|flags| flags & 0x80 != 0) {
        return None;
    }
    let id = u16::from_be_bytes([*request.first()?, *request.get(1)?]);
    Message::error_msg(id, OpCode::Query, ResponseCode::FormErr)
        .to_vec()
        .ok()
}

/// The response message to a decoded query.
fn reply(cluster: &Cluster, msg: &Message, mode: DnsMode) -> Message {
    let mut out = Message::response(msg.metadata.id, msg.metadata.op_code);
    // Copies id, opcode, RD and CD; RA stays clear (no recursion).
    out.metadata = Metadata::response_from_request(&msg.metadata);
    out.queries = msg.queries.clone();
    if let Some(asked) = &msg.edns {
        let mut edns = Edns::new();
        edns.set_max_payload(asked.max_payload());
        out.edns = Some(edns);
    }
    let bad_version = msg.edns.as_ref().is_some_and(|e| e.version() != 0);
    let rcode = match (mode, msg.queries.as_slice()) {
        // CoreDNS's server checks the EDNS version before any plugin runs (`edns.Version`).
        _ if bad_version => ResponseCode::BADVERS,
        (DnsMode::ServFail, _) => ResponseCode::ServFail,
        _ if msg.metadata.op_code != OpCode::Query => ResponseCode::NotImp,
        (_, [q]) if matches!(q.query_class, DNSClass::IN | DNSClass::ANY) => {
            let a = answer(cluster, &q.name.to_ascii(), q.query_type);
            out.metadata.authoritative = a.authoritative;
            out.answers = a.answers;
            out.authorities = a.authorities;
            out.additionals = a.additionals;
            a.rcode
        }
        (_, [_]) => ResponseCode::Refused,
        _ => ResponseCode::FormErr,
    };
    out.metadata.response_code = rcode;
    out
}

//! DNS from inside a pod: UDP queries to the cluster DNS server (with busybox-style resends),
//! and the libc resolver semantics (`/etc/hosts`, search list, `ndots`) that wget and curl get
//! from `getaddrinfo`.
//!
//! Timeouts are shorter than libc's (5 s × 2 attempts per name): a query batch gives up after
//! [`QUERY_TIMEOUT`], resent once halfway, so a DNS outage fails a probe in about 2 s.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use thiserror::Error;
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::ExecEnv;

/// How long a batch of queries waits for answers (all attempts together).
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(2);
/// How many times an unanswered query is sent within the timeout.
pub const QUERY_ATTEMPTS: u32 = 2;

/// A DNS client failure.
#[derive(Debug, Error)]
pub enum DnsError {
    /// The name cannot be encoded as a query.
    #[error("invalid name {0}")]
    BadName(String),
    /// The UDP socket failed.
    #[error("dns socket error")]
    Socket(#[source] std::io::Error),
}

/// Why a host name did not resolve.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ResolveError {
    /// Every candidate name was NXDOMAIN/NODATA/SERVFAIL.
    #[error("host not found")]
    NotFound,
    /// The DNS server did not answer.
    #[error("dns timed out")]
    Timeout,
}

/// Builds a recursive query message for `name` (a trailing dot is optional).
pub fn query_message(id: u16, name: &str, rtype: RecordType) -> Result<Message, DnsError> {
    let fqdn = if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    };
    let qname = Name::from_ascii(&fqdn).map_err(|_| DnsError::BadName(name.to_string()))?;
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(qname, rtype));
    Ok(msg)
}

/// Sends all `queries` to `server` at once and collects the replies, in query order
/// (`None` = unanswered). SERVFAIL answers are retried immediately, as busybox does; an
/// error only when nothing at all could be sent.
pub async fn exchange(
    bind: Ipv4Addr,
    server: SocketAddr,
    queries: &[Message],
    timeout: Duration,
    attempts: u32,
) -> Result<Vec<Option<Message>>, DnsError> {
    let sock = bind_socket(bind, server).await.map_err(DnsError::Socket)?;
    sock.connect(server).await.map_err(DnsError::Socket)?;
    let wires = queries
        .iter()
        .map(|q| {
            q.to_vec()
                .map_err(|_| DnsError::BadName(format!("{:?}", q.queries)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut replies: Vec<Option<Message>> = vec![None; queries.len()];
    let start = Instant::now();
    let interval = timeout / attempts.max(1);
    let mut servfail_retries = 2 * queries.len();
    let mut buf = vec![0u8; 4096];
    while start.elapsed() < timeout && replies.iter().any(Option::is_none) {
        for (i, wire) in wires.iter().enumerate() {
            if replies[i].is_none() {
                let _ = sock.send(wire).await;
            }
        }
        let round_end = (Instant::now() + interval).min(start + timeout);
        while replies.iter().any(Option::is_none) {
            let n = match tokio::time::timeout_at(round_end, sock.recv(&mut buf)).await {
                Ok(Ok(n)) => n,
                Ok(Err(_)) => continue,
                Err(_) => break,
            };
            let Ok(reply) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let Some(i) = queries
                .iter()
                .position(|q| q.metadata.id == reply.metadata.id)
                .filter(|&i| replies[i].is_none())
            else {
                continue;
            };
            if reply.metadata.response_code == ResponseCode::ServFail && servfail_retries > 0 {
                servfail_retries -= 1;
                let _ = sock.send(&wires[i]).await;
                continue;
            }
            replies[i] = Some(reply);
        }
    }
    Ok(replies)
}

async fn bind_socket(bind: Ipv4Addr, server: SocketAddr) -> std::io::Result<UdpSocket> {
    if bind.is_loopback() == server.ip().is_loopback()
        && let Ok(s) = UdpSocket::bind((bind, 0)).await
    {
        return Ok(s);
    }
    UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await
}

/// A random, distinct id per query.
pub fn query_ids(n: usize) -> Vec<u16> {
    let base: u16 = rand::random();
    (0..n).map(|i| base.wrapping_add(i as u16)).collect()
}

/// The names libc tries for `host`, in order (search list and `ndots`, as glibc/musl).
pub fn candidates(host: &str, search: &[String], ndots: u8) -> Vec<String> {
    if let Some(abs) = host.strip_suffix('.') {
        return vec![abs.to_string()];
    }
    let suffixed = search.iter().map(|s| format!("{host}.{s}"));
    let dots = host.matches('.').count();
    if dots >= usize::from(ndots) {
        std::iter::once(host.to_string()).chain(suffixed).collect()
    } else {
        suffixed.chain(std::iter::once(host.to_string())).collect()
    }
}

/// IPv4 addresses of `host` as `getaddrinfo` in the pod returns them: IP literals, then
/// `/etc/hosts` (`localhost` and the pod's own name are the pod IP), then DNS.
pub async fn lookup_v4(env: &ExecEnv, host: &str) -> Result<Vec<Ipv4Addr>, ResolveError> {
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(vec![ip]);
    }
    if host.eq_ignore_ascii_case("localhost") || host == env.pod {
        return Ok(vec![env.pod_ip]);
    }
    for name in candidates(host, &env.search, env.ndots) {
        let id = query_ids(1)[0];
        let msg = query_message(id, &name, RecordType::A).map_err(|_| ResolveError::NotFound)?;
        let replies = exchange(
            env.pod_ip,
            env.nameserver,
            &[msg],
            QUERY_TIMEOUT,
            QUERY_ATTEMPTS,
        )
        .await
        .map_err(|_| ResolveError::Timeout)?;
        let Some(Some(reply)) = replies.into_iter().next() else {
            return Err(ResolveError::Timeout);
        };
        let ips = a_records(&reply);
        if reply.metadata.response_code == ResponseCode::NoError && !ips.is_empty() {
            return Ok(ips);
        }
    }
    Err(ResolveError::NotFound)
}

/// The A records of a reply's answer section (after any CNAMEs).
pub fn a_records(reply: &Message) -> Vec<Ipv4Addr> {
    reply
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect()
}

/// A name as resolver tools print it: no trailing dot, the root as `.`.
pub fn display_name(name: &Name) -> String {
    let s = name.to_ascii();
    let trimmed = s.trim_end_matches('.');
    if trimmed.is_empty() {
        ".".to_string()
    } else {
        trimmed.to_string()
    }
}

/// The reverse-lookup name of an IP literal (`PTR` query), or `None`.
pub fn ptr_name(s: &str) -> Option<String> {
    match s.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            Some(format!("{d}.{c}.{b}.{a}.in-addr.arpa"))
        }
        IpAddr::V6(v6) => {
            let mut out = String::new();
            for byte in v6.octets().iter().rev() {
                out.push_str(&format!("{:x}.{:x}.", byte & 0xf, byte >> 4));
            }
            Some(out + "ip6.arpa")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search() -> Vec<String> {
        [
            "app.svc.cluster.local",
            "svc.cluster.local",
            "cluster.local",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn short_names_try_search_first() {
        assert_eq!(
            candidates("whereami", &search(), 5),
            vec![
                "whereami.app.svc.cluster.local",
                "whereami.svc.cluster.local",
                "whereami.cluster.local",
                "whereami"
            ]
        );
    }

    #[test]
    fn names_with_enough_dots_and_fqdns() {
        let c = candidates("a.b.c.d.e.f", &search(), 5);
        assert_eq!(c.len(), 1 + 3);
        assert_eq!(c.first().map(String::as_str), Some("a.b.c.d.e.f"));
        assert_eq!(candidates("x.y.", &search(), 5), vec!["x.y"]);
    }

    #[test]
    fn ptr_names() {
        assert_eq!(
            ptr_name("10.0.1.5").as_deref(),
            Some("5.1.0.10.in-addr.arpa")
        );
        assert_eq!(ptr_name("whereami"), None);
    }
}

//! Integration tests: a real server on a loopback port, queried over UDP and TCP with raw
//! `hickory_proto` messages, including the fault modes and truncation.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::{DnsControl, DnsMode, DnsServer};
use crate::cluster::Cluster;
use crate::store::ResKey;

const CLIENT_TIMEOUT: Duration = Duration::from_millis(300);

fn cluster(endpoints: usize) -> Arc<Cluster> {
    let c = Cluster::new("a", "127.0.0.1:1".parse().unwrap(), 1000);
    let ns = json!({"metadata": {"name": "app"}});
    c.store.create(&ResKey::new("", "namespaces"), ns).unwrap();
    let svc = ResKey::new("", "services");
    let web = json!({"metadata": {"name": "web", "namespace": "app"},
        "spec": {"clusterIP": "10.96.0.20", "ports": [{"name": "http", "port": 80}]}});
    c.store.create(&svc, web).unwrap();
    let big = json!({"metadata": {"name": "big", "namespace": "app"},
        "spec": {"clusterIP": "None"}});
    c.store.create(&svc, big).unwrap();
    let addrs: Vec<_> = (0..endpoints)
        .map(|i| json!({"ip": format!("10.0.{}.{}", i / 200, i % 200 + 1)}))
        .collect();
    let eps = json!({"metadata": {"name": "big", "namespace": "app"},
        "subsets": [{"addresses": addrs, "ports": [{"port": 80}]}]});
    c.store.create(&ResKey::new("", "endpoints"), eps).unwrap();
    Arc::new(c)
}

async fn start(endpoints: usize) -> (DnsServer, Arc<DnsControl>) {
    let control = Arc::new(DnsControl::default());
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let server = DnsServer::start(cluster(endpoints), addr, control.clone())
        .await
        .unwrap();
    assert_ne!(server.addr().port(), 0);
    (server, control)
}

fn query(id: u16, name: &str, qtype: RecordType, edns: bool) -> Vec<u8> {
    query_with(id, name, qtype, edns.then_some((1232, 0)))
}

/// A query with an EDNS (payload size, version) when given.
fn query_with(id: u16, name: &str, qtype: RecordType, edns: Option<(u16, u8)>) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    if let Some((payload, version)) = edns {
        let mut e = Edns::new();
        e.set_max_payload(payload);
        e.set_version(version);
        m.set_edns(e);
    }
    m.to_vec().unwrap()
}

async fn udp(addr: SocketAddr, request: &[u8]) -> Option<Message> {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.send_to(request, addr).await.unwrap();
    let mut buf = vec![0u8; 65535];
    let (len, _) = tokio::time::timeout(CLIENT_TIMEOUT, sock.recv_from(&mut buf))
        .await
        .ok()?
        .unwrap();
    Some(Message::from_vec(&buf[..len]).unwrap())
}

async fn tcp(addr: SocketAddr, request: &[u8]) -> Option<Message> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let len = u16::try_from(request.len()).unwrap();
    s.write_all(&len.to_be_bytes()).await.unwrap();
    s.write_all(request).await.unwrap();
    let read = async {
        let n = s.read_u16().await.unwrap();
        let mut buf = vec![0u8; usize::from(n)];
        s.read_exact(&mut buf).await.unwrap();
        buf
    };
    let buf = tokio::time::timeout(CLIENT_TIMEOUT, read).await.ok()?;
    Some(Message::from_vec(&buf).unwrap())
}

fn ips(m: &Message) -> Vec<IpAddr> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn answers_over_udp_and_tcp() {
    let (server, _) = start(2).await;
    let q = query(7, "Web.App.svc.cluster.local.", RecordType::A, false);
    for reply in [udp(server.addr(), &q).await, tcp(server.addr(), &q).await] {
        let m = reply.expect("an answer");
        assert_eq!(m.metadata.id, 7);
        assert_eq!(m.metadata.message_type, MessageType::Response);
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert!(m.metadata.authoritative);
        assert_eq!(m.queries[0].name.to_ascii(), "Web.App.svc.cluster.local.");
        assert_eq!(ips(&m), vec!["10.96.0.20".parse::<IpAddr>().unwrap()]);
        assert_eq!(m.answers[0].ttl, 30);
    }
    let miss = query(8, "nope.app.svc.cluster.local.", RecordType::A, true);
    let m = tcp(server.addr(), &miss).await.expect("an answer");
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert!(matches!(m.authorities[0].data, RData::SOA(_)));
    assert!(m.edns.is_some());
    let out = query(9, "example.com.", RecordType::A, false);
    let m = udp(server.addr(), &out).await.expect("an answer");
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert!(!m.metadata.authoritative);
}

#[tokio::test]
async fn servfail_mode_fails_every_query() {
    let (server, control) = start(2).await;
    control.set(DnsMode::ServFail);
    let q = query(1, "web.app.svc.cluster.local.", RecordType::A, false);
    for reply in [udp(server.addr(), &q).await, tcp(server.addr(), &q).await] {
        let m = reply.expect("an answer");
        assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
        assert!(m.answers.is_empty());
    }
    control.set(DnsMode::Normal);
    let m = udp(server.addr(), &q).await.expect("an answer");
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
}

#[tokio::test]
async fn drop_mode_answers_nothing() {
    let (server, control) = start(2).await;
    control.set(DnsMode::Drop);
    let q = query(2, "web.app.svc.cluster.local.", RecordType::A, false);
    assert!(udp(server.addr(), &q).await.is_none());
    assert!(tcp(server.addr(), &q).await.is_none());
    control.set(DnsMode::Normal);
    assert!(udp(server.addr(), &q).await.is_some());
}

#[tokio::test]
async fn large_udp_answers_keep_what_fits_set_tc_and_are_complete_over_tcp() {
    let (server, _) = start(120).await;
    let all: Vec<IpAddr> = (0..120)
        .map(|i| format!("10.0.{}.{}", i / 200, i % 200 + 1).parse().unwrap())
        .collect();
    let q = query(3, "big.app.svc.cluster.local.", RecordType::A, false);
    let m = udp(server.addr(), &q).await.expect("an answer");
    assert!(m.metadata.truncation);
    let got = ips(&m);
    // 12 + 31 (question) + 16 per compressed A record: 29 fit in 512 bytes.
    assert_eq!(got.len(), 29, "the records that fit in 512 bytes");
    assert!(got.iter().all(|ip| all.contains(ip)));
    let m = tcp(server.addr(), &q).await.expect("an answer");
    assert!(!m.metadata.truncation);
    let mut full = ips(&m);
    full.sort();
    let mut want = all.clone();
    want.sort();
    assert_eq!(full, want);
    // The EDNS payload size is honoured both ways.
    let e = query(4, "big.app.svc.cluster.local.", RecordType::A, true);
    let m = udp(server.addr(), &e).await.expect("an answer");
    assert!(m.metadata.truncation, "1232 bytes hold 73 records, not 120");
    assert_eq!(ips(&m).len(), 73);
    assert_eq!(m.edns.as_ref().map(|e| e.max_payload()), Some(1232));
    let big = query_with(
        5,
        "big.app.svc.cluster.local.",
        RecordType::A,
        Some((4096, 0)),
    );
    let m = udp(server.addr(), &big).await.expect("an answer");
    assert!(!m.metadata.truncation);
    assert_eq!(ips(&m).len(), 120);
}

#[tokio::test]
async fn address_records_are_shuffled_per_reply() {
    let (server, _) = start(20).await;
    let q = query(6, "big.app.svc.cluster.local.", RecordType::A, true);
    let first = ips(&tcp(server.addr(), &q).await.expect("an answer"));
    let mut orders = vec![first.clone()];
    // 20! orders: two equal ones in a row are (almost) impossible; a few tries suffice.
    for _ in 0..5 {
        let next = ips(&tcp(server.addr(), &q).await.expect("an answer"));
        if next != first {
            let (mut a, mut b) = (first.clone(), next.clone());
            a.sort();
            b.sort();
            assert_eq!(a, b, "the same records");
            return;
        }
        orders.push(next);
    }
    panic!("the order never changed: {orders:?}");
}

#[tokio::test]
async fn edns_versions_other_than_0_get_badvers() {
    let (server, _) = start(2).await;
    let q = query_with(
        7,
        "web.app.svc.cluster.local.",
        RecordType::A,
        Some((1232, 1)),
    );
    let m = udp(server.addr(), &q).await.expect("an answer");
    // Code 16 is BADVERS in an OPT context; hickory decodes it by its TSIG name BADSIG.
    assert_eq!(u16::from(m.metadata.response_code), 16);
    assert!(m.answers.is_empty());
    assert_eq!(m.edns.as_ref().map(|e| e.version()), Some(0));
}

#[tokio::test]
async fn garbage_gets_formerr_and_the_server_keeps_serving() {
    let (server, _) = start(2).await;
    let m = udp(server.addr(), &[0x12, 0x34, 0x01, 0x00, 0xff])
        .await
        .expect("an answer");
    assert_eq!(m.metadata.id, 0x1234);
    assert_eq!(m.metadata.response_code, ResponseCode::FormErr);
    let q = query(5, "web.app.svc.cluster.local.", RecordType::A, false);
    assert!(udp(server.addr(), &q).await.is_some());
}

#[tokio::test]
async fn stop_frees_the_address_for_a_restart() {
    let (server, control) = start(2).await;
    let addr = server.addr();
    server.stop().await;
    let again = DnsServer::start(cluster(2), addr, control).await.unwrap();
    let q = query(6, "web.app.svc.cluster.local.", RecordType::A, false);
    assert!(udp(again.addr(), &q).await.is_some());
    assert!(tcp(again.addr(), &q).await.is_some());
}

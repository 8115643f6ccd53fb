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
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    if edns {
        let mut e = Edns::new();
        e.set_max_payload(1232);
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
        assert_eq!(m.answers[0].ttl, 5);
    }
    let miss = query(8, "nope.app.svc.cluster.local.", RecordType::A, true);
    let m = tcp(server.addr(), &miss).await.expect("an answer");
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert!(matches!(m.authorities[0].data, RData::SOA(_)));
    assert!(m.edns.is_some());
    let out = query(9, "example.com.", RecordType::A, false);
    let m = udp(server.addr(), &out).await.expect("an answer");
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
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
async fn large_udp_answers_are_truncated_and_complete_over_tcp() {
    let (server, _) = start(50).await;
    let q = query(3, "big.app.svc.cluster.local.", RecordType::A, false);
    let m = udp(server.addr(), &q).await.expect("an answer");
    assert!(m.metadata.truncation);
    assert!(m.answers.is_empty());
    let m = tcp(server.addr(), &q).await.expect("an answer");
    assert!(!m.metadata.truncation);
    assert_eq!(ips(&m).len(), 50);
    let e = query(4, "big.app.svc.cluster.local.", RecordType::A, true);
    let m = udp(server.addr(), &e).await.expect("an answer");
    assert!(
        !m.metadata.truncation,
        "1232-byte EDNS payload holds 50 A records (~850 bytes)"
    );
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

//! The cluster DNS of the embedded fleet, queried over real UDP: cluster.local answers from
//! live Services, NXDOMAIN on miss, and the DNS fault switch.

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, PostParams};
use mcs_sim::dns::DnsMode;
use serde_json::json;

async fn query(server: std::net::SocketAddr, name: &str) -> Option<(ResponseCode, Vec<Ipv4Addr>)> {
    let mut msg = Message::new(7, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.send_to(&msg.to_vec().unwrap(), server).await.unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = tokio::time::timeout(Duration::from_millis(500), sock.recv_from(&mut buf))
        .await
        .ok()?
        .ok()?;
    let resp = Message::from_vec(&buf[..n]).unwrap();
    let ips = resp
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect();
    Some((resp.metadata.response_code, ips))
}

#[tokio::test]
async fn cluster_dns_answers_from_live_services_and_obeys_the_fault_switch() {
    let fleet = common::fleet().await;
    let a = &fleet.cluster("a").unwrap().cluster;
    let dns = a.dns_addr();
    assert_eq!(
        dns.ip(),
        std::net::IpAddr::V4(a.plan.dns_ip()),
        "DNS listens on kube-dns' ClusterIP"
    );
    let c = common::client(&fleet, "a").await;
    let svcs: Api<Service> = Api::namespaced(c, "default");
    let svc: Service = serde_json::from_value(json!({"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})).unwrap();
    let ip: Ipv4Addr = svcs
        .create(&PostParams::default(), &svc)
        .await
        .unwrap()
        .spec
        .unwrap()
        .cluster_ip
        .unwrap()
        .parse()
        .unwrap();

    let (code, ips) = query(dns, "web.default.svc.cluster.local.").await.unwrap();
    assert_eq!((code, ips), (ResponseCode::NoError, vec![ip]));
    let (code, _) = query(dns, "kube-dns.kube-system.svc.cluster.local.")
        .await
        .unwrap();
    assert_eq!(code, ResponseCode::NoError);
    let (code, ips) = query(dns, "nope.default.svc.cluster.local.").await.unwrap();
    assert_eq!((code, ips.len()), (ResponseCode::NXDomain, 0));

    a.dns.set(DnsMode::ServFail);
    assert_eq!(
        query(dns, "web.default.svc.cluster.local.")
            .await
            .unwrap()
            .0,
        ResponseCode::ServFail
    );
    a.dns.set(DnsMode::Drop);
    assert!(
        query(dns, "web.default.svc.cluster.local.").await.is_none(),
        "no answer while dropped"
    );
    a.dns.set(DnsMode::Normal);
    assert_eq!(
        query(dns, "web.default.svc.cluster.local.")
            .await
            .unwrap()
            .1,
        vec![ip]
    );
}

//! Unit tests of the record logic against an in-process cluster store.

use std::net::IpAddr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};
use serde_json::{Value, json};

use super::{Answer, TTL, answer};
use crate::cluster::Cluster;
use crate::store::ResKey;

fn meta(ns: &str, name: &str) -> Value {
    json!({"name": name, "namespace": ns})
}

fn services() -> Value {
    json!([
        {"metadata": meta("app", "web"), "spec": {"type": "ClusterIP",
            "clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"], "ports": [
                {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},
                {"name": "dns", "port": 53, "protocol": "UDP"}]}},
        {"metadata": meta("app", "db"), "spec": {"clusterIP": "None",
            "ports": [{"name": "pg", "port": 5432}]}},
        {"metadata": meta("app", "ext"), "spec": {"type": "ExternalName",
            "externalName": "web.app.svc.cluster.local"}},
        {"metadata": meta("app", "far"), "spec": {"type": "ExternalName",
            "externalName": "example.com."}},
    ])
}

fn endpoints() -> Value {
    json!([{"metadata": meta("app", "db"), "subsets": [{
        "addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2", "hostname": "db-1"}],
        "notReadyAddresses": [{"ip": "10.0.0.3"}],
        "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]}]}])
}

fn gke_imports() -> Value {
    json!([{"metadata": meta("multi-cluster-demo", "whereami"), "spec": {
        "type": "ClusterSetIP", "ips": ["10.96.5.5"], "ports": [{"port": 80, "protocol": "TCP"}]}}])
}

fn upstream_imports() -> Value {
    let http = json!([{"name": "http", "port": 8080, "protocol": "TCP"}]);
    json!([
        {"metadata": meta("multi-cluster-demo", "whereami"),
            "spec": {"type": "ClusterSetIP", "ips": ["10.96.9.9"]}},
        {"metadata": meta("app", "up"),
            "spec": {"type": "ClusterSetIP", "ips": ["10.96.7.7"], "ports": http}},
        {"metadata": meta("app", "hl"), "spec": {"type": "Headless", "ports": http}},
    ])
}

fn slice(ns: &str, name: &str, svc: &str, endpoints: Value) -> Value {
    json!({"metadata": {"name": name, "namespace": ns,
            "labels": {"multicluster.kubernetes.io/service-name": svc}},
        "addressType": "IPv4", "endpoints": endpoints,
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]})
}

fn slices() -> Value {
    json!([
        slice(
            "app",
            "hl-a",
            "hl",
            json!([
            {"addresses": ["10.1.0.1"], "conditions": {"ready": true}},
            {"addresses": ["10.1.0.2"], "conditions": {"ready": false}},
            {"addresses": ["10.1.0.3"]}])
        ),
        slice(
            "app",
            "hl-b",
            "hl",
            json!([{"addresses": ["10.2.0.1"], "conditions": {"ready": true}}])
        ),
        slice("app", "other", "up", json!([{"addresses": ["10.9.9.9"]}])),
        slice(
            "elsewhere",
            "hl-c",
            "hl",
            json!([{"addresses": ["10.8.8.8"]}])
        ),
    ])
}

/// A cluster holding the fixtures above.
fn cluster() -> Cluster {
    let c = Cluster::new("a", "127.0.0.1:1".parse().unwrap(), 1000);
    let fixtures = [
        (ResKey::new("", "services"), services()),
        (ResKey::new("", "endpoints"), endpoints()),
        (ResKey::new("net.gke.io", "serviceimports"), gke_imports()),
        (
            ResKey::new("multicluster.x-k8s.io", "serviceimports"),
            upstream_imports(),
        ),
        (ResKey::new("discovery.k8s.io", "endpointslices"), slices()),
    ];
    for (res, objects) in fixtures {
        for o in objects.as_array().unwrap() {
            c.store.create(&res, o.clone()).unwrap();
        }
    }
    c
}

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

fn sorted(mut v: Vec<IpAddr>) -> Vec<IpAddr> {
    v.sort();
    v
}

/// (port, target) of every SRV answer, checking priority and weight.
fn srv(a: &Answer) -> Vec<(u16, String)> {
    let mut out: Vec<_> = a
        .answers
        .iter()
        .map(|r| match &r.data {
            RData::SRV(s) => {
                assert_eq!((s.priority, s.weight), (0, 100));
                (s.port, s.target.to_ascii())
            }
            other => panic!("not an SRV: {other:?}"),
        })
        .collect();
    out.sort();
    out
}

fn assert_soa(a: &Answer, zone: &str) {
    assert!(a.answers.is_empty(), "{a:?}");
    assert_eq!(a.authorities.len(), 1, "{a:?}");
    let soa = &a.authorities[0];
    assert_eq!(soa.name.to_ascii(), zone);
    assert!(matches!(soa.data, RData::SOA(_)), "{soa:?}");
}

#[test]
fn cluster_ip_service_answers_its_vip_with_ttl_5() {
    let c = cluster();
    let a = answer(&c, "web.app.svc.cluster.local", RecordType::A);
    assert_eq!(a.rcode, ResponseCode::NoError);
    assert!(a.authoritative);
    assert_eq!(a.ips(), ips(&["10.96.0.20"]));
    assert_eq!(a.answers[0].ttl, TTL);
    assert_eq!(TTL, 5);
    assert_eq!(a.answers[0].name.to_ascii(), "web.app.svc.cluster.local.");
}

#[test]
fn headless_service_answers_ready_endpoints_only() {
    let c = cluster();
    let a = answer(&c, "db.app.svc.cluster.local.", RecordType::A);
    assert_eq!(a.rcode, ResponseCode::NoError);
    assert_eq!(sorted(a.ips()), ips(&["10.0.0.1", "10.0.0.2"]));
    let one = |n: &str| answer(&c, &format!("{n}.db.app.svc.cluster.local"), RecordType::A);
    assert_eq!(one("10-0-0-1").ips(), ips(&["10.0.0.1"]));
    assert_eq!(one("db-1").ips(), ips(&["10.0.0.2"]));
    assert_eq!(one("10-0-0-3").rcode, ResponseCode::NXDomain);
}

#[test]
fn external_name_is_a_cname_chased_inside_our_zones() {
    let c = cluster();
    let a = answer(&c, "ext.app.svc.cluster.local", RecordType::A);
    assert_eq!(a.rcode, ResponseCode::NoError);
    match &a.answers[0].data {
        RData::CNAME(t) => assert_eq!(t.0.to_ascii(), "web.app.svc.cluster.local."),
        other => panic!("not a CNAME: {other:?}"),
    }
    assert_eq!(a.ips(), ips(&["10.96.0.20"]));
    let far = answer(&c, "far.app.svc.cluster.local", RecordType::A);
    assert_eq!(far.rcode, ResponseCode::NoError);
    assert_eq!(far.answers.len(), 1);
    assert!(matches!(&far.answers[0].data, RData::CNAME(t) if t.0.to_ascii() == "example.com."));
}

#[test]
fn clusterset_prefers_the_gke_import() {
    let c = cluster();
    let a = answer(
        &c,
        "whereami.multi-cluster-demo.svc.clusterset.local",
        RecordType::A,
    );
    assert_eq!(a.ips(), ips(&["10.96.5.5"]));
}

#[test]
fn clusterset_answers_from_an_upstream_import_only_in_clusterset() {
    let c = cluster();
    let a = answer(&c, "up.app.svc.clusterset.local", RecordType::A);
    assert_eq!(a.ips(), ips(&["10.96.7.7"]));
    let local = answer(&c, "up.app.svc.cluster.local", RecordType::A);
    assert_eq!(local.rcode, ResponseCode::NXDomain);
    let web = answer(&c, "web.app.svc.clusterset.local", RecordType::A);
    assert_eq!(web.rcode, ResponseCode::NXDomain);
}

#[test]
fn headless_upstream_import_answers_ready_slice_endpoints() {
    let c = cluster();
    let a = answer(&c, "hl.app.svc.clusterset.local", RecordType::A);
    assert_eq!(a.rcode, ResponseCode::NoError);
    assert_eq!(sorted(a.ips()), ips(&["10.1.0.1", "10.1.0.3", "10.2.0.1"]));
    let one = answer(&c, "10-2-0-1.hl.app.svc.clusterset.local", RecordType::A);
    assert_eq!(one.ips(), ips(&["10.2.0.1"]));
}

#[test]
fn srv_for_a_named_port_points_at_the_service() {
    let c = cluster();
    let a = answer(&c, "_http._tcp.web.app.svc.cluster.local", RecordType::SRV);
    assert_eq!(a.rcode, ResponseCode::NoError);
    assert_eq!(srv(&a), vec![(80, "web.app.svc.cluster.local.".into())]);
    assert_eq!(a.additionals.len(), 1);
    let dns = answer(&c, "_dns._udp.web.app.svc.cluster.local", RecordType::SRV);
    assert_eq!(srv(&dns), vec![(53, "web.app.svc.cluster.local.".into())]);
    let wrong = answer(&c, "_http._udp.web.app.svc.cluster.local", RecordType::SRV);
    assert_eq!(wrong.rcode, ResponseCode::NXDomain);
    let set = answer(
        &c,
        "_http._tcp.up.app.svc.clusterset.local",
        RecordType::SRV,
    );
    assert_eq!(
        srv(&set),
        vec![(8080, "up.app.svc.clusterset.local.".into())]
    );
    let all = answer(&c, "web.app.svc.cluster.local", RecordType::SRV);
    let target = "web.app.svc.cluster.local.".to_string();
    assert_eq!(srv(&all), vec![(53, target.clone()), (80, target)]);
}

#[test]
fn headless_srv_has_one_record_per_endpoint() {
    let c = cluster();
    let a = answer(&c, "_pg._tcp.db.app.svc.cluster.local", RecordType::SRV);
    let want = vec![
        (5432, "10-0-0-1.db.app.svc.cluster.local.".to_string()),
        (5432, "db-1.db.app.svc.cluster.local.".to_string()),
    ];
    assert_eq!(srv(&a), want);
    assert_eq!(a.additionals.len(), 2);
    let set = answer(
        &c,
        "_http._tcp.hl.app.svc.clusterset.local",
        RecordType::SRV,
    );
    assert_eq!(srv(&set).len(), 3);
}

#[test]
fn unknown_names_are_nxdomain_with_the_zone_soa() {
    let c = cluster();
    for name in [
        "missing.app.svc.cluster.local",
        "web.nons.svc.cluster.local",
        "app.svc.cluster.local",
        "svc.cluster.local",
        "x.y.z.w.v.svc.cluster.local",
    ] {
        let a = answer(&c, name, RecordType::A);
        assert_eq!(a.rcode, ResponseCode::NXDomain, "{name}");
        assert_soa(&a, "cluster.local.");
    }
    let a = answer(&c, "missing.app.svc.clusterset.local", RecordType::A);
    assert_eq!(a.rcode, ResponseCode::NXDomain);
    assert_soa(&a, "clusterset.local.");
}

#[test]
fn existing_names_of_another_type_are_nodata() {
    let c = cluster();
    for (name, qtype) in [
        ("web.app.svc.cluster.local", RecordType::AAAA),
        ("web.app.svc.cluster.local", RecordType::TXT),
        ("_http._tcp.web.app.svc.cluster.local", RecordType::A),
        (
            "whereami.multi-cluster-demo.svc.clusterset.local",
            RecordType::AAAA,
        ),
        ("cluster.local", RecordType::A),
    ] {
        let a = answer(&c, name, qtype);
        assert_eq!(a.rcode, ResponseCode::NoError, "{name} {qtype}");
        assert!(a.answers.is_empty(), "{name} {qtype}");
    }
    let a = answer(&c, "web.app.svc.cluster.local", RecordType::AAAA);
    assert_soa(&a, "cluster.local.");
    let apex = answer(&c, "clusterset.local", RecordType::SOA);
    assert!(matches!(apex.answers[0].data, RData::SOA(_)));
}

#[test]
fn names_are_case_insensitive_and_other_zones_refused() {
    let c = cluster();
    let a = answer(&c, "WEB.App.SVC.Cluster.LOCAL.", RecordType::A);
    assert_eq!(a.ips(), ips(&["10.96.0.20"]));
    let s = answer(&c, "_HTTP._Tcp.Web.APP.svc.cluster.local", RecordType::SRV);
    assert_eq!(srv(&s).len(), 1);
    let out = answer(&c, "example.com", RecordType::A);
    assert_eq!(out.rcode, ResponseCode::Refused);
    assert!(!out.authoritative);
    assert_eq!(
        answer(&c, "local", RecordType::A).rcode,
        ResponseCode::Refused
    );
}

#[test]
fn answers_follow_the_live_store() {
    let c = cluster();
    let res = ResKey::new("", "endpoints");
    let key = crate::store::ObjKey::new("app", "db");
    c.store.delete(&res, &key, None).unwrap();
    let a = answer(&c, "db.app.svc.cluster.local", RecordType::A);
    assert_eq!(a.rcode, ResponseCode::NoError);
    assert!(a.answers.is_empty());
    let svc = ResKey::new("", "services");
    c.store
        .delete(&svc, &crate::store::ObjKey::new("app", "web"), None)
        .unwrap();
    let gone = answer(&c, "web.app.svc.cluster.local", RecordType::A);
    assert_eq!(gone.rcode, ResponseCode::NXDomain);
}

//! Unit tests of the record logic against an in-process cluster store.

use std::net::IpAddr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};
use serde_json::{Value, json};

use super::{Answer, DEFAULT_TTL, answer};
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
        {"metadata": meta("app", "hello"), "spec": {"clusterIP": "10.96.0.42", "ports": [
            {"name": "tcp", "port": 42, "protocol": "TCP"},
            {"name": "udp", "port": 42, "protocol": "UDP"}]}},
        {"metadata": meta("app", "empty"), "spec": {"clusterIP": "None",
            "ports": [{"name": "x", "port": 1}]}},
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
    let cluster = name.rsplit('-').next().unwrap_or("");
    json!({"metadata": {"name": name, "namespace": ns,
            "labels": {"multicluster.kubernetes.io/service-name": svc,
                "multicluster.kubernetes.io/source-cluster": format!("c-{cluster}")}},
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
            json!([{"addresses": ["10.2.0.1"], "conditions": {"ready": true},
                "hostname": "pet-0"}])
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
    let namespaces = json!([
        {"metadata": {"name": "app"}},
        {"metadata": {"name": "multi-cluster-demo"}},
        {"metadata": {"name": "elsewhere"}},
    ]);
    let fixtures = [
        (ResKey::new("", "namespaces"), namespaces),
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

/// Makes the cluster serve the upstream MCS API, so `clusterset.local` is answered as by
/// CoreDNS's multicluster plugin (cluster ids in endpoint names).
fn serve_upstream(c: &Cluster) {
    let crd = json!({"metadata": {"name": "serviceimports.multicluster.x-k8s.io"},
        "spec": {"group": "multicluster.x-k8s.io", "scope": "Namespaced",
            "names": {"plural": "serviceimports", "kind": "ServiceImport"},
            "versions": [{"name": "v1alpha1", "served": true, "storage": true}]}});
    let storage = ResKey::new("multicluster.x-k8s.io", "serviceimports");
    c.registry
        .set_custom(&storage, crate::registry::defs_from_crd(&crd));
}

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

fn sorted(mut v: Vec<IpAddr>) -> Vec<IpAddr> {
    v.sort();
    v
}

/// (weight, port, target) of every SRV answer, checking the priority, sorted.
fn srv(a: &Answer) -> Vec<(u16, u16, String)> {
    let mut out: Vec<_> = a
        .answers
        .iter()
        .map(|r| match &r.data {
            RData::SRV(s) => {
                assert_eq!(s.priority, 0);
                (s.weight, s.port, s.target.to_ascii())
            }
            other => panic!("not an SRV: {other:?}"),
        })
        .collect();
    out.sort();
    out
}

fn names(a: &Answer) -> Vec<String> {
    let mut out: Vec<String> = a
        .answers
        .iter()
        .map(|r| match &r.data {
            RData::PTR(p) => p.0.to_ascii(),
            RData::TXT(t) => t.to_string(),
            RData::NS(n) => n.0.to_ascii(),
            other => panic!("unexpected {other:?}"),
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
fn cluster_ip_service_answers_its_vip_with_ttl_30_in_the_question_case() {
    let c = cluster();
    let a = answer(&c, "Web.App.svc.cluster.local", RecordType::A);
    assert_eq!(a.rcode, ResponseCode::NoError);
    assert!(a.authoritative);
    assert_eq!(a.ips(), ips(&["10.96.0.20"]));
    assert_eq!((a.answers[0].ttl, DEFAULT_TTL), (30, 30));
    assert_eq!(a.answers[0].name.to_ascii(), "Web.App.svc.cluster.local.");
}

#[test]
fn the_ttl_is_configurable_and_the_soa_follows() {
    let c = cluster();
    c.dns.set_ttl(7);
    let a = answer(&c, "web.app.svc.cluster.local", RecordType::A);
    assert_eq!(a.answers[0].ttl, 7);
    let miss = answer(&c, "nope.app.svc.cluster.local", RecordType::A);
    assert_eq!(miss.authorities[0].ttl, 7);
    match &miss.authorities[0].data {
        RData::SOA(soa) => assert_eq!(soa.minimum, 7),
        other => panic!("{other:?}"),
    }
    c.dns.set_ttl(100_000);
    assert_eq!(c.dns.ttl(), 3600, "capped like CoreDNS's ttl option");
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
    // CoreDNS (and the DNS spec): a headless Service without ready endpoints is NXDOMAIN.
    let empty = answer(&c, "empty.app.svc.cluster.local", RecordType::A);
    assert_eq!(empty.rcode, ResponseCode::NXDomain);
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
    // No SRV for ExternalName Services (CoreDNS drops CNAME entries for SRV).
    let srv = answer(&c, "ext.app.svc.cluster.local", RecordType::SRV);
    assert_eq!((srv.rcode, srv.answers.len()), (ResponseCode::NoError, 0));
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
}

#[test]
fn multicluster_names_carry_the_cluster_id_of_the_slice() {
    let c = cluster();
    serve_upstream(&c);
    let one = |n: &str| {
        answer(
            &c,
            &format!("{n}.hl.app.svc.clusterset.local"),
            RecordType::A,
        )
    };
    assert_eq!(one("pet-0.c-b").ips(), ips(&["10.2.0.1"]));
    assert_eq!(one("10-1-0-3.c-a").ips(), ips(&["10.1.0.3"]));
    assert_eq!(one("pet-0.c-a").rcode, ResponseCode::NXDomain);
    assert_eq!(
        one("pet-0").rcode,
        ResponseCode::NXDomain,
        "no id, no match"
    );
    let s = answer(
        &c,
        "_http._tcp.hl.app.svc.clusterset.local",
        RecordType::SRV,
    );
    let want: Vec<(u16, u16, String)> = [
        "10-1-0-1.c-a.hl.app.svc.clusterset.local.",
        "10-1-0-3.c-a.hl.app.svc.clusterset.local.",
        "pet-0.c-b.hl.app.svc.clusterset.local.",
    ]
    .iter()
    .map(|t| (33, 8080, t.to_string()))
    .collect();
    assert_eq!(srv(&s), want);
    assert_eq!(s.additionals.len(), 3);
    let v = answer(&c, "dns-version.clusterset.local", RecordType::TXT);
    assert_eq!(names(&v), vec!["1.1.0".to_string()]);
    assert_eq!(v.answers[0].ttl, 28800);
}

#[test]
fn srv_weights_and_duplicates_are_as_coredns_computes_them() {
    let c = cluster();
    let a = answer(&c, "_http._tcp.web.app.svc.cluster.local", RecordType::SRV);
    assert_eq!(a.rcode, ResponseCode::NoError);
    let web = "web.app.svc.cluster.local.".to_string();
    assert_eq!(srv(&a), vec![(100, 80, web.clone())]);
    assert_eq!(a.additionals.len(), 1);
    let dns = answer(&c, "_dns._udp.web.app.svc.cluster.local", RecordType::SRV);
    assert_eq!(srv(&dns), vec![(100, 53, web.clone())]);
    // Without underscores CoreDNS still reads port and protocol.
    let bare = answer(&c, "dns.udp.web.app.svc.cluster.local", RecordType::SRV);
    assert_eq!(srv(&bare), vec![(100, 53, web.clone())]);
    let wrong = answer(&c, "_http._udp.web.app.svc.cluster.local", RecordType::SRV);
    assert_eq!(wrong.rcode, ResponseCode::NXDomain);
    let all = answer(&c, "web.app.svc.cluster.local", RecordType::SRV);
    assert_eq!(srv(&all), vec![(50, 53, web.clone()), (50, 80, web)]);
    // 42/TCP and 42/UDP: two entries, one record left after de-duplication, weight 50.
    let hello = answer(&c, "hello.app.svc.cluster.local", RecordType::SRV);
    assert_eq!(
        srv(&hello),
        vec![(50, 42, "hello.app.svc.cluster.local.".into())]
    );
    assert_eq!(hello.additionals.len(), 1);
    let set = answer(
        &c,
        "_http._tcp.up.app.svc.clusterset.local",
        RecordType::SRV,
    );
    assert_eq!(
        srv(&set),
        vec![(100, 8080, "up.app.svc.clusterset.local.".into())]
    );
    // A port name asked for addresses answers the service's addresses, as CoreDNS does.
    let addr = answer(&c, "_http._tcp.web.app.svc.cluster.local", RecordType::A);
    assert_eq!(addr.ips(), ips(&["10.96.0.20"]));
}

#[test]
fn headless_srv_has_one_record_per_endpoint() {
    let c = cluster();
    let a = answer(&c, "_pg._tcp.db.app.svc.cluster.local", RecordType::SRV);
    let want = vec![
        (50, 5432, "10-0-0-1.db.app.svc.cluster.local.".to_string()),
        (50, 5432, "db-1.db.app.svc.cluster.local.".to_string()),
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

/// mcs-api conformance specs 18 and 22 (KEP-1645 #dns): the `hello` Service exports
/// `tcp` 42/TCP and `udp` 42/UDP. A ClusterSetIP import's `clusterset.local` SRV query has
/// exactly one record (42, the service name); a headless import's one record per ready
/// endpoint (CoreDNS de-duplicates SRV records by target and port).
#[test]
fn clusterset_srv_has_one_record_per_port_and_endpoint() {
    let c = cluster();
    serve_upstream(&c);
    let hello = json!([{"name": "tcp", "port": 42, "protocol": "TCP"},
        {"name": "udp", "port": 42, "protocol": "UDP"}]);
    let imports = ResKey::new("multicluster.x-k8s.io", "serviceimports");
    let slices = ResKey::new("discovery.k8s.io", "endpointslices");
    let objects = [
        (
            &imports,
            json!({"metadata": meta("app", "hello"),
            "spec": {"type": "ClusterSetIP", "ips": ["10.96.4.2"], "ports": hello}}),
        ),
        (
            &imports,
            json!({"metadata": meta("app", "hh"),
            "spec": {"type": "Headless", "ports": hello}}),
        ),
    ];
    for (res, o) in objects {
        c.store.create(res, o).unwrap();
    }
    for (name, svc, ip) in [
        ("hello-a", "hello", "10.1.4.1"),
        ("hh-a", "hh", "10.1.4.1"),
        ("hh-b", "hh", "10.2.4.1"),
    ] {
        let mut s = slice(
            "app",
            name,
            svc,
            json!([{"addresses": [ip], "conditions": {"ready": true}}]),
        );
        s["ports"] = hello.clone();
        c.store.create(&slices, s).unwrap();
    }
    let set = answer(&c, "hello.app.svc.clusterset.local", RecordType::SRV);
    assert_eq!(
        srv(&set),
        vec![(50, 42, "hello.app.svc.clusterset.local.".to_string())]
    );
    let headless = answer(&c, "hh.app.svc.clusterset.local", RecordType::SRV);
    let want: Vec<(u16, u16, String)> = [
        "10-1-4-1.c-a.hh.app.svc.clusterset.local.",
        "10-2-4-1.c-b.hh.app.svc.clusterset.local.",
    ]
    .iter()
    .map(|t| (25, 42, t.to_string()))
    .collect();
    assert_eq!(srv(&headless), want);
}

#[test]
fn unknown_names_are_nxdomain_with_the_zone_soa() {
    let c = cluster();
    for name in [
        "missing.app.svc.cluster.local",
        "web.nons.svc.cluster.local",
        "nons.svc.cluster.local",
        "x.y.z.w.v.svc.cluster.local",
        "dns-version.cluster.local",
        "foo.cluster.local",
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
        ("web.app.svc.cluster.local", RecordType::MX),
        ("app.svc.cluster.local", RecordType::A),
        ("svc.cluster.local", RecordType::A),
        (
            "whereami.multi-cluster-demo.svc.clusterset.local",
            RecordType::AAAA,
        ),
        ("cluster.local", RecordType::A),
        // CoreDNS answers TXT only for dns-version: NODATA for every other name.
        ("nope.app.svc.cluster.local", RecordType::TXT),
    ] {
        let a = answer(&c, name, qtype);
        assert_eq!(a.rcode, ResponseCode::NoError, "{name} {qtype}");
        assert!(a.answers.is_empty(), "{name} {qtype}");
    }
    let a = answer(&c, "web.app.svc.cluster.local", RecordType::AAAA);
    assert_soa(&a, "cluster.local.");
    let apex = answer(&c, "clusterset.local", RecordType::SOA);
    assert!(matches!(apex.answers[0].data, RData::SOA(_)));
    // cluster.local: the zone's SOA whatever the name (CoreDNS `plugin.SOA`).
    let soa = answer(&c, "web.app.svc.cluster.local", RecordType::SOA);
    assert_eq!(soa.answers[0].name.to_ascii(), "cluster.local.");
    assert!(matches!(soa.answers[0].data, RData::SOA(_)));
}

#[test]
fn dns_version_ns_and_pod_records_of_cluster_local() {
    let c = cluster();
    let v = answer(&c, "dns-version.cluster.local", RecordType::TXT);
    assert_eq!(names(&v), vec!["1.1.0".to_string()]);
    assert_eq!(v.answers[0].ttl, 28800);
    // Without the upstream MCS API (GKE flavour) clusterset.local has no dns-version.
    let gke = answer(&c, "dns-version.clusterset.local", RecordType::TXT);
    assert_eq!(gke.rcode, ResponseCode::NXDomain);
    let ns = answer(&c, "cluster.local", RecordType::NS);
    assert_eq!(names(&ns), vec!["ns.dns.cluster.local.".to_string()]);
    let dns_ip = IpAddr::V4(c.plan.dns_ip());
    assert_eq!(
        answer(&c, "ns.dns.cluster.local", RecordType::A).ips(),
        vec![dns_ip]
    );
    let pod = answer(&c, "10-1-2-3.app.pod.cluster.local", RecordType::A);
    assert_eq!(pod.ips(), ips(&["10.1.2.3"]));
    let six = answer(&c, "fd00--7.app.pod.cluster.local", RecordType::AAAA);
    assert_eq!(six.ips(), ips(&["fd00::7"]));
    let v4_as_aaaa = answer(&c, "10-1-2-3.app.pod.cluster.local", RecordType::AAAA);
    assert_eq!(
        (v4_as_aaaa.rcode, v4_as_aaaa.answers.len()),
        (ResponseCode::NoError, 0)
    );
    for miss in [
        "10-1-2-3.nons.pod.cluster.local",
        "not-an-ip.app.pod.cluster.local",
        "10-1-2-3.app.pod.clusterset.local",
    ] {
        assert_eq!(
            answer(&c, miss, RecordType::A).rcode,
            ResponseCode::NXDomain,
            "{miss}"
        );
    }
}

#[test]
fn ptr_records_name_services_then_endpoints() {
    let c = cluster();
    let ptr = |ip: &str| {
        let rev: Vec<&str> = ip.split('.').rev().collect();
        answer(
            &c,
            &format!("{}.in-addr.arpa.", rev.join(".")),
            RecordType::PTR,
        )
    };
    let svc = ptr("10.96.0.20");
    assert_eq!(svc.rcode, ResponseCode::NoError);
    assert!(svc.authoritative);
    assert_eq!(names(&svc), vec!["web.app.svc.cluster.local.".to_string()]);
    assert_eq!(svc.answers[0].ttl, 30);
    assert_eq!(
        names(&ptr("10.0.0.2")),
        vec!["db-1.db.app.svc.cluster.local.".to_string()]
    );
    assert_eq!(
        names(&ptr("10.0.0.1")),
        vec!["10-0-0-1.db.app.svc.cluster.local.".to_string()]
    );
    // Not ready, unknown, partial: CoreDNS falls through to a missing upstream.
    for miss in [ptr("10.0.0.3"), ptr("192.0.2.1")] {
        assert_eq!(miss.rcode, ResponseCode::ServFail);
        assert!(!miss.authoritative);
    }
    let partial = answer(&c, "96.10.in-addr.arpa", RecordType::PTR);
    assert_eq!(partial.rcode, ResponseCode::ServFail);
}

#[test]
fn names_are_case_insensitive_and_other_zones_get_servfail() {
    let c = cluster();
    let a = answer(&c, "WEB.App.SVC.Cluster.LOCAL.", RecordType::A);
    assert_eq!(a.ips(), ips(&["10.96.0.20"]));
    let s = answer(&c, "_HTTP._Tcp.Web.APP.svc.cluster.local", RecordType::SRV);
    assert_eq!(srv(&s).len(), 1);
    match &s.answers[0].data {
        RData::SRV(srv) => assert_eq!(srv.target.to_ascii(), "web.app.svc.cluster.local."),
        other => panic!("{other:?}"),
    }
    for name in ["example.com", "local", "kubernetes.default"] {
        let out = answer(&c, name, RecordType::A);
        assert_eq!(out.rcode, ResponseCode::ServFail, "{name}");
        assert!(!out.authoritative);
        assert!(out.answers.is_empty());
    }
}

#[test]
fn answers_follow_the_live_store() {
    let c = cluster();
    let res = ResKey::new("", "endpoints");
    let key = crate::store::ObjKey::new("app", "db");
    c.store.delete(&res, &key, None).unwrap();
    let a = answer(&c, "db.app.svc.cluster.local", RecordType::A);
    assert_eq!(
        a.rcode,
        ResponseCode::NXDomain,
        "headless, no endpoints left"
    );
    let svc = ResKey::new("", "services");
    c.store
        .delete(&svc, &crate::store::ObjKey::new("app", "web"), None)
        .unwrap();
    let gone = answer(&c, "web.app.svc.cluster.local", RecordType::A);
    assert_eq!(gone.rcode, ResponseCode::NXDomain);
}

#[test]
fn gke_headless_import_answers_from_its_derived_services_endpoints() {
    let c = cluster();
    let import = json!({"metadata": {"name": "pets", "namespace": "app",
            "annotations": {"net.gke.io/derived-service": "gke-mcs-pets"}},
        "spec": {"type": "Headless", "ports": [{"name": "http", "port": 80}]}});
    c.store
        .create(&ResKey::new("net.gke.io", "serviceimports"), import)
        .unwrap();
    let eps = json!({"metadata": meta("app", "gke-mcs-pets"), "subsets": [{
        "addresses": [{"ip": "10.5.0.1"}, {"ip": "10.5.0.2"}],
        "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}]});
    c.store.create(&ResKey::new("", "endpoints"), eps).unwrap();
    let a = answer(&c, "pets.app.svc.clusterset.local", RecordType::A);
    assert_eq!(sorted(a.ips()), ips(&["10.5.0.1", "10.5.0.2"]));
}

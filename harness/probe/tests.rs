//! Unit tests of the pure parsers, on outputs captured from the embedded fleet's exec
//! emulation and on textbook outputs of real busybox, bind-tools and curl.

use std::collections::BTreeSet;
use std::net::IpAddr;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;

use super::*;

fn answer(ips: &[&str]) -> DnsResult {
    let set: BTreeSet<IpAddr> = ips.iter().map(|s| s.parse().unwrap()).collect();
    DnsResult::Answer(set)
}

const KUBE_DNS: &str = "kube-dns.kube-system.svc.cluster.local";

// --- nslookup, captured from the sim (busybox 1.36 and bind-tools flavours) ---

#[test]
fn sim_busybox_answer_with_empty_aaaa_block() {
    let out = "Server:\t\t127.170.128.10\nAddress:\t127.170.128.10:53\n\nName:\tkube-dns.kube-system.svc.cluster.local\nAddress: 127.170.128.10\n\n\n";
    assert_eq!(
        parse_nslookup(KUBE_DNS, out, "", 0),
        answer(&["127.170.128.10"])
    );
}

#[test]
fn sim_busybox_nxdomain_for_a_and_aaaa() {
    let name = "nope.cap.svc.clusterset.local";
    let out = "Server:\t\t127.170.128.10\nAddress:\t127.170.128.10:53\n\n** server can't find nope.cap.svc.clusterset.local: NXDOMAIN\n\n** server can't find nope.cap.svc.clusterset.local: NXDOMAIN\n\n";
    assert_eq!(parse_nslookup(name, out, "", 1), DnsResult::NxDomain);
}

#[test]
fn sim_busybox_dotless_name_nxdomain_in_every_search_domain() {
    let out = "Server:\t\t127.170.128.10\nAddress:\t127.170.128.10:53\n\n** server can't find whereami.cap12.svc.cluster.local: NXDOMAIN\n\n** server can't find whereami.svc.cluster.local: NXDOMAIN\n\n** server can't find whereami.cluster.local: NXDOMAIN\n\n** server can't find whereami.cap12.svc.cluster.local: NXDOMAIN\n\n** server can't find whereami.svc.cluster.local: NXDOMAIN\n\n** server can't find whereami.cluster.local: NXDOMAIN\n\n";
    assert_eq!(parse_nslookup("whereami", out, "", 1), DnsResult::NxDomain);
}

#[test]
fn sim_busybox_refused_outside_the_cluster_zones_is_a_failure() {
    let out = "Server:\t\t127.170.128.10\nAddress:\t127.170.128.10:53\n\n** server can't find whereami.cap: REFUSED\n\n** server can't find whereami.cap: REFUSED\n\n";
    assert_eq!(
        parse_nslookup("whereami.cap", out, "", 1),
        DnsResult::Failed("** server can't find whereami.cap: REFUSED".into())
    );
}

#[test]
fn sim_busybox_servfail_fault() {
    let out = "Server:\t\t127.170.128.10\nAddress:\t127.170.128.10:53\n\n** server can't find kube-dns.kube-system.svc.cluster.local: SERVFAIL\n\n** server can't find kube-dns.kube-system.svc.cluster.local: SERVFAIL\n\n";
    assert_eq!(
        parse_nslookup(KUBE_DNS, out, "", 1),
        DnsResult::Failed(format!("** server can't find {KUBE_DNS}: SERVFAIL"))
    );
}

#[test]
fn sim_busybox_drop_fault_times_out() {
    let out = ";; connection timed out; no servers could be reached\n\n";
    assert_eq!(
        parse_nslookup(KUBE_DNS, out, "", 1),
        DnsResult::Failed("connection timed out; no servers could be reached".into())
    );
}

#[test]
fn sim_bind_answer_for_search_expansion() {
    let out = "Server:\t\t127.170.128.10\nAddress:\t127.170.128.10#53\n\nName:\twhereami.cap.svc.cluster.local\nAddress: 127.170.128.2\n\n";
    assert_eq!(
        parse_nslookup("whereami.cap", out, "", 0),
        answer(&["127.170.128.2"])
    );
}

#[test]
fn sim_bind_nxdomain() {
    let name = "nope.cap.svc.clusterset.local";
    let out = "Server:\t\t127.170.128.10\nAddress:\t127.170.128.10#53\n\n** server can't find nope.cap.svc.clusterset.local: NXDOMAIN\n\n";
    assert_eq!(parse_nslookup(name, out, "", 1), DnsResult::NxDomain);
}

// --- nslookup, textbook outputs of real tools ---

#[test]
fn busybox_dotless_name_answers_in_one_search_domain_despite_exit_1() {
    let out = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\nName:\tkubernetes.default.svc.cluster.local\nAddress: 10.96.0.1\n\n** server can't find kubernetes.svc.cluster.local: NXDOMAIN\n\n** server can't find kubernetes.cluster.local: NXDOMAIN\n\n\n** server can't find kubernetes.svc.cluster.local: NXDOMAIN\n\n** server can't find kubernetes.cluster.local: NXDOMAIN\n\n";
    assert_eq!(
        parse_nslookup("kubernetes", out, "", 1),
        answer(&["10.96.0.1"])
    );
}

#[test]
fn busybox_partial_reply_keeps_the_answer() {
    let out = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\nName:\tweb.ns.svc.clusterset.local\nAddress: 10.20.0.7\n\n*** Can't find web.ns.svc.clusterset.local: No answer\n\n";
    assert_eq!(
        parse_nslookup("web.ns.svc.clusterset.local", out, "", 0),
        answer(&["10.20.0.7"])
    );
}

#[test]
fn busybox_no_reply_for_any_query_is_a_failure() {
    let out = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n*** Can't find web.ns: No answer\n*** Can't find web.ns: No answer\n\n";
    assert_eq!(
        parse_nslookup("web.ns", out, "", 0),
        DnsResult::Failed("*** Can't find web.ns: No answer".into())
    );
}

#[test]
fn busybox_nodata_is_an_empty_answer() {
    let out = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\nNon-authoritative answer:\n\nNon-authoritative answer:\n\n";
    assert_eq!(parse_nslookup("web.ns", out, "", 0), answer(&[]));
}

#[test]
fn busybox_ipv6_and_v4_answers_are_sorted_and_case_insensitive() {
    let out = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\nName:\tWeb.NS.svc.clusterset.local\nAddress: 10.20.0.9\nName:\tweb.ns.svc.clusterset.local\nAddress: 10.20.0.7\n\nName:\tweb.ns.svc.clusterset.local\nAddress: fd00::7\n\n";
    assert_eq!(
        parse_nslookup("web.ns.svc.clusterset.local.", out, "", 0),
        answer(&["10.20.0.7", "10.20.0.9", "fd00::7"])
    );
}

#[test]
fn records_of_other_names_are_ignored() {
    let out = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\nName:\twebx.ns.svc.clusterset.local\nAddress: 10.20.0.7\n\n** server can't find web.ns: NXDOMAIN\n\n";
    assert_eq!(parse_nslookup("web.ns", out, "", 1), DnsResult::NxDomain);
}

#[test]
fn busybox_1_28_format() {
    let out = "Server:    10.96.0.10\nAddress 1: 10.96.0.10 kube-dns.kube-system.svc.cluster.local\n\nName:      kubernetes.default\nAddress 1: 10.96.0.1 kubernetes.default.svc.cluster.local\n";
    assert_eq!(
        parse_nslookup("kubernetes.default", out, "", 0),
        answer(&["10.96.0.1"])
    );
    let err = "nslookup: can't resolve 'nope'\n";
    assert_eq!(
        parse_nslookup("nope", "Server:    10.96.0.10\n", err, 1),
        DnsResult::Failed("nslookup exited with code 1: nslookup: can't resolve 'nope'".into())
    );
}

#[test]
fn bind_cname_chain() {
    let out = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10#53\n\nNon-authoritative answer:\nwww.example.com\tcanonical name = example.com.\nName:\texample.com\nAddress: 93.184.216.34\nName:\texample.com\nAddress: 2606:2800:220:1:248:1893:25c8:1946\n\n";
    assert_eq!(
        parse_nslookup("www.example.com", out, "", 0),
        answer(&["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
    );
}

#[test]
fn bind_servfail_after_retry() {
    let out = ";; Got SERVFAIL reply from 10.96.0.10, trying next server\nServer:\t\t10.96.0.10\nAddress:\t10.96.0.10#53\n\n** server can't find web.ns.svc.clusterset.local: SERVFAIL\n\n";
    assert_eq!(
        parse_nslookup("web.ns.svc.clusterset.local", out, "", 1),
        DnsResult::Failed("** server can't find web.ns.svc.clusterset.local: SERVFAIL".into())
    );
}

#[test]
fn missing_nslookup_is_a_failure() {
    assert_eq!(
        parse_nslookup("x.y", "", "sh: nslookup: not found\n", 127),
        DnsResult::Failed("nslookup exited with code 127: sh: nslookup: not found".into())
    );
}

// --- wget ---

const WHEREAMI: &str = r#"{"cluster_name":"a","host_header":"whereami.cap.svc.cluster.local","metadata":null,"node_name":"a-node","pod_ip":"127.170.0.1","pod_name":"whereami-78fdcd66df-6gxkc","pod_namespace":"cap","pod_service_account":"default","project_id":"mcs-sim","timestamp":"2026-11-26T21:02:49Z","zone":"a-zone-a"}"#;

fn whereami_backend() -> Backend {
    Backend {
        cluster: Some("a".into()),
        pod: "whereami-78fdcd66df-6gxkc".into(),
        pod_ip: Some("127.170.0.1".into()),
    }
}

#[test]
fn sim_wget_200_with_whereami_body() {
    let err = "  HTTP/1.1 200 OK\n  content-type: application/json\n  content-length: 296\n  connection: close\n  date: Thu, 26 Nov 2026 21:02:48 GMT\n";
    let r = parse_wget(WHEREAMI, err, 0);
    assert_eq!(r.status, Some(200));
    assert_eq!(r.error, None);
    assert_eq!(r.body, WHEREAMI);
    assert_eq!(r.backend, Some(whereami_backend()));
}

#[test]
fn sim_wget_404_is_a_response() {
    let err = "  HTTP/1.1 404 Not Found\n  content-type: text/plain; charset=utf-8\n  content-length: 10\n  connection: close\n  date: Thu, 26 Nov 2026 21:02:48 GMT\nwget: server returned error: HTTP/1.1 404 Not Found\n";
    let r = parse_wget("", err, 1);
    assert_eq!((r.status, r.error, r.backend), (Some(404), None, None));
}

#[test]
fn sim_wget_connection_refused_and_bad_address() {
    for err in [
        "wget: can't connect to remote host (127.170.128.2): Connection refused\n",
        "wget: bad address 'nope.cap.svc.cluster.local'\n",
    ] {
        let r = parse_wget("", err, 1);
        assert_eq!(r.status, None);
        assert_eq!(r.error.as_deref(), Some(err.trim_end()));
    }
}

#[test]
fn wget_status_without_headers_and_after_redirect() {
    let r = parse_wget(
        "",
        "wget: server returned error: HTTP/1.1 503 Service Unavailable\n",
        1,
    );
    assert_eq!((r.status, r.error), (Some(503), None));
    let err = "  HTTP/1.1 301 Moved Permanently\n  Location: /new\n  HTTP/1.1 200 OK\n";
    assert_eq!(parse_wget("ok", err, 0).status, Some(200));
}

#[test]
fn wget_timeouts() {
    let r = parse_wget("", "wget: download timed out\n", 1);
    assert_eq!(r.status, None);
    assert_eq!(r.error.as_deref(), Some("wget: download timed out"));
    // Headers arrived, then the body stalled: both are reported.
    let r = parse_wget("{", "  HTTP/1.1 200 OK\nwget: download timed out\n", 1);
    assert_eq!(r.status, Some(200));
    assert_eq!(r.error.as_deref(), Some("wget: download timed out"));
    assert_eq!(r.backend, None);
}

#[test]
fn wget_verbose_progress_lines_are_not_errors() {
    let err = "Connecting to 10.0.0.1:80 (10.0.0.1:80)\nwget: can't connect to remote host (10.0.0.1): Connection refused\n";
    let r = parse_wget("", err, 1);
    assert_eq!(
        r.error.as_deref(),
        Some("wget: can't connect to remote host (10.0.0.1): Connection refused")
    );
}

#[test]
fn wget_missing_is_reported() {
    let r = parse_wget("", "sh: wget: not found\n", 127);
    assert_eq!(
        r.error.as_deref(),
        Some("wget exited with code 127: sh: wget: not found")
    );
}

// --- curl ---

#[test]
fn sim_curl_200_with_whereami_body() {
    let out = format!("{WHEREAMI}\n@@mcs-probe http_code=200\n");
    let r = parse_curl(&out, "", 0);
    assert_eq!(r.status, Some(200));
    assert_eq!(r.body, WHEREAMI);
    assert_eq!(r.error, None);
    assert_eq!(r.backend, Some(whereami_backend()));
}

#[test]
fn sim_curl_503_keeps_the_body_newline() {
    let r = parse_curl("Service Unavailable\n\n@@mcs-probe http_code=503\n", "", 0);
    assert_eq!(r.status, Some(503));
    assert_eq!(r.body, "Service Unavailable\n");
    assert_eq!(r.error, None);
}

#[test]
fn sim_curl_no_response() {
    let cases = [
        (
            7,
            "curl: (7) Failed to connect to whereami.cap.svc.cluster.local port 81 after 2 ms: Couldn't connect to server\n",
        ),
        (
            6,
            "curl: (6) Could not resolve host: nope.cap.svc.cluster.local\n",
        ),
        (
            28,
            "curl: (28) Connection timed out after 2001 milliseconds\n",
        ),
        (52, "curl: (52) Empty reply from server\n"),
    ];
    for (code, err) in cases {
        let r = parse_curl("\n@@mcs-probe http_code=000\n", err, code);
        assert_eq!(r.status, None, "{err}");
        assert_eq!(r.body, "");
        assert_eq!(r.error.as_deref(), Some(err.trim_end()));
    }
}

#[test]
fn curl_without_trailer_or_message() {
    let err = "curl: option -x: is unknown\ncurl: try 'curl --help' or 'curl --manual' for more information\n";
    let r = parse_curl("", err, 2);
    assert_eq!(r.status, None);
    assert_eq!(
        r.error.as_deref(),
        Some("curl exited with code 2: curl: option -x: is unknown")
    );
}

#[test]
fn curl_marker_is_taken_from_the_end() {
    let body = "text mentioning @@mcs-probe http_code=999";
    let r = parse_curl(&format!("{body}\n@@mcs-probe http_code=200\n"), "", 0);
    assert_eq!((r.status, r.body.as_str()), (Some(200), body));
}

// --- whereami ---

#[test]
fn backend_from_whereami_variants() {
    assert_eq!(parse_backend(WHEREAMI), Some(whereami_backend()));
    // On kind whereami has no metadata server: cluster_name is null.
    let kind = r#"{"cluster_name":null,"pod_name":"whereami-1","pod_ip":"10.244.1.5","zone":null}"#;
    assert_eq!(
        parse_backend(kind),
        Some(Backend {
            cluster: None,
            pod: "whereami-1".into(),
            pod_ip: Some("10.244.1.5".into()),
        })
    );
    assert_eq!(parse_backend("OK"), None);
    assert_eq!(parse_backend(""), None);
    assert_eq!(parse_backend(r#"{"cluster_name":"a"}"#), None);
    assert_eq!(parse_backend("[1,2]"), None);
}

// --- exec status ---

fn status(json: &str) -> Status {
    serde_json::from_str(json).unwrap()
}

#[test]
fn exit_codes_from_exec_status() {
    use super::exec::exit_code;
    assert_eq!(
        exit_code(&status(r#"{"metadata":{},"status":"Success"}"#)),
        Some(0)
    );
    let failed = r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#;
    assert_eq!(exit_code(&status(failed)), Some(3));
    let internal = r#"{"metadata":{},"status":"Failure","message":"Internal error occurred: x","reason":"InternalError","details":{"causes":[{"message":"x"}]},"code":500}"#;
    assert_eq!(exit_code(&status(internal)), None);
}

// --- retry classification ---

#[test]
fn only_transport_failures_are_transient() {
    use super::error::transient_kube;
    let api = |code| {
        kube::Error::Api(
            kube::core::Status::failure("x", "y")
                .with_code(code)
                .boxed(),
        )
    };
    assert!(transient_kube(&api(503)));
    assert!(transient_kube(&api(500)));
    assert!(transient_kube(&api(429)));
    assert!(!transient_kube(&api(404)));
    assert!(!transient_kube(&api(403)));
    let upgrade = kube::Error::UpgradeConnection(
        kube::client::UpgradeConnectionError::MissingUpgradeWebSocketHeader,
    );
    assert!(transient_kube(&upgrade));
    let stream = ProbeError::ExecStream {
        command: "nslookup x".into(),
        pod: Box::new(PodRef {
            cluster: "a".into(),
            namespace: "ns".into(),
            name: PROBE_POD.into(),
        }),
        detail: "closed without an exit status".into(),
        source: None,
    };
    assert!(stream.is_transient());
    let failed = ProbeError::ExecFailed {
        command: "curl".into(),
        pod: Box::new(PodRef {
            cluster: "a".into(),
            namespace: "ns".into(),
            name: PROBE_POD.into(),
        }),
        reason: "InternalError".into(),
        message: "executable file not found".into(),
    };
    assert!(!failed.is_transient());
}

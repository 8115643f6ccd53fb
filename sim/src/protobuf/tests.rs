//! Tests: protobuf bodies built with a tiny hand-rolled encoder, laid out as
//! Go's generated marshallers lay them out (every non-pointer field written,
//! zero or not), decoded and compared with the JSON kubectl would send.

use serde_json::{Value, json};

use super::decode::{go_duration, message_into};
use super::{MAX_DEPTH, ProtobufError, Shape, Ty, decode_object, is_protobuf, message, schema};

/// A protobuf message under construction.
#[derive(Clone, Default)]
struct Pb(Vec<u8>);

fn pb() -> Pb {
    Pb::default()
}

impl Pb {
    fn varint(mut self, mut v: u64) -> Self {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
        self
    }

    fn key(self, tag: u32, wire: u8) -> Self {
        self.varint(u64::from(tag) << 3 | u64::from(wire))
    }

    /// A varint field (int32/int64/bool; negative ints sign-extended).
    fn int(self, tag: u32, v: i64) -> Self {
        self.key(tag, 0).varint(v as u64)
    }

    fn bytes(self, tag: u32, b: &[u8]) -> Self {
        let mut out = self.key(tag, 2).varint(b.len() as u64);
        out.0.extend_from_slice(b);
        out
    }

    fn str(self, tag: u32, s: &str) -> Self {
        self.bytes(tag, s.as_bytes())
    }

    fn msg(self, tag: u32, m: Pb) -> Self {
        self.bytes(tag, &m.0)
    }

    fn map_str(self, tag: u32, k: &str, v: &str) -> Self {
        self.msg(tag, pb().str(1, k).str(2, v))
    }

    fn map_bytes(self, tag: u32, k: &str, v: &[u8]) -> Self {
        self.msg(tag, pb().str(1, k).bytes(2, v))
    }

    fn map_msg(self, tag: u32, k: &str, v: Pb) -> Self {
        self.msg(tag, pb().str(1, k).msg(2, v))
    }
}

/// `k8s\0` + runtime.Unknown{typeMeta, raw}.
fn envelope(api_version: &str, kind: &str, raw: Pb) -> Vec<u8> {
    let unknown = pb()
        .msg(1, pb().str(1, api_version).str(2, kind))
        .msg(2, raw)
        .str(3, "")
        .str(4, "");
    [b"k8s\0".as_slice(), &unknown.0].concat()
}

/// ObjectMeta as Go writes it: all non-pointer fields, a zero
/// creationTimestamp (empty message), then labels.
fn object_meta(name: &str, namespace: &str, labels: &[(&str, &str)]) -> Pb {
    let mut meta = pb()
        .str(1, name)
        .str(2, "")
        .str(3, namespace)
        .str(4, "")
        .str(5, "")
        .str(6, "")
        .int(7, 0)
        .msg(8, pb());
    for (k, v) in labels {
        meta = meta.map_str(11, k, v);
    }
    meta
}

fn decode(body: &[u8]) -> Value {
    match decode_object(body, None) {
        Ok(value) => value,
        Err(e) => panic!("decode failed: {e}"),
    }
}

fn namespace_body() -> Vec<u8> {
    let ns = pb()
        .msg(1, object_meta("demo", "", &[("a", "b")]))
        .msg(2, pb())
        .msg(3, pb().str(1, ""));
    envelope("v1", "Namespace", ns)
}

#[test]
fn namespace_matches_kubectl_json() {
    let expected = json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "demo", "labels": {"a": "b"}, "creationTimestamp": null},
        "spec": {},
        "status": {}
    });
    assert_eq!(decode(&namespace_body()), expected);
}

fn container() -> Pb {
    let port = pb()
        .str(1, "http")
        .int(2, 0)
        .int(3, 8080)
        .str(4, "TCP")
        .str(5, "");
    let http_get = pb()
        .str(1, "/healthz")
        .msg(2, pb().int(1, 0).int(2, 8080).str(3, ""))
        .str(3, "")
        .str(4, "HTTP");
    let probe = pb()
        .msg(1, pb().msg(2, http_get))
        .int(2, 0)
        .int(3, 1)
        .int(4, 0)
        .int(5, 0)
        .int(6, 0);
    pb().str(1, "web")
        .str(2, "nginx:1.27")
        .str(5, "")
        .msg(6, port)
        .msg(8, pb())
        .msg(11, probe)
        .str(13, "")
        .str(14, "IfNotPresent")
        .int(16, 0)
        .int(17, 0)
        .int(18, 0)
        .str(20, "")
}

fn deployment_body() -> Vec<u8> {
    let pod_spec = pb()
        .msg(2, container())
        .str(3, "")
        .int(4, 0) // terminationGracePeriodSeconds: *int64, explicit 0
        .str(6, "")
        .str(8, "")
        .str(9, "")
        .str(10, "")
        .int(11, 0)
        .int(12, 0)
        .int(13, 0)
        .str(16, "")
        .str(17, "")
        .str(19, "")
        .int(21, 0) // automountServiceAccountToken: *bool, explicit false
        .str(24, "");
    let template = pb()
        .msg(1, object_meta("", "", &[("app", "web")]))
        .msg(2, pod_spec);
    let spec = pb()
        .int(1, 3)
        .msg(2, pb().map_str(1, "app", "web"))
        .msg(3, template)
        .msg(4, pb().str(1, ""))
        .int(5, 0)
        .int(7, 0);
    let status = pb()
        .int(1, 0)
        .int(2, 0)
        .int(3, 0)
        .int(4, 0)
        .int(5, 0)
        .int(7, 0);
    let deployment = pb()
        .msg(1, object_meta("web", "default", &[("app", "web")]))
        .msg(2, spec)
        .msg(3, status);
    envelope("apps/v1", "Deployment", deployment)
}

#[test]
fn deployment_matches_kubectl_json() {
    let container = json!({
        "name": "web",
        "image": "nginx:1.27",
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "resources": {},
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"}, "timeoutSeconds": 1},
        "imagePullPolicy": "IfNotPresent"
    });
    let expected = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web", "namespace": "default", "labels": {"app": "web"}, "creationTimestamp": null
        },
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}, "creationTimestamp": null},
                "spec": {
                    "containers": [container],
                    "terminationGracePeriodSeconds": 0,
                    "automountServiceAccountToken": false
                }
            },
            "strategy": {}
        },
        "status": {}
    });
    assert_eq!(decode(&deployment_body()), expected);
}

fn service_body() -> Vec<u8> {
    let port = pb()
        .str(1, "http")
        .str(2, "TCP")
        .int(3, 80)
        .msg(4, pb().int(1, 1).int(2, 0).str(3, "http"))
        .int(5, 0);
    let spec = pb()
        .msg(1, port)
        .map_str(2, "app", "db")
        .str(3, "None")
        .str(4, "ClusterIP")
        .str(7, "")
        .str(8, "")
        .str(10, "")
        .str(11, "")
        .int(12, 0)
        .int(13, 0)
        .str(18, "None");
    let service = pb()
        .msg(1, object_meta("db", "", &[]))
        .msg(2, spec)
        .msg(3, pb().msg(1, pb()));
    envelope("v1", "Service", service)
}

#[test]
fn service_matches_kubectl_json() {
    let expected = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "db", "creationTimestamp": null},
        "spec": {
            "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": "http"}],
            "selector": {"app": "db"},
            "clusterIP": "None",
            "clusterIPs": ["None"],
            "type": "ClusterIP"
        },
        "status": {"loadBalancer": {}}
    });
    assert_eq!(decode(&service_body()), expected);
}

fn secret_body() -> Vec<u8> {
    let secret = pb()
        .msg(1, object_meta("creds", "", &[]))
        .map_bytes(2, "password", b"s3cr3t\x00\xff")
        .map_bytes(2, "empty", b"")
        .str(3, "Opaque");
    envelope("v1", "Secret", secret)
}

#[test]
fn secret_data_is_base64() {
    let expected = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "creationTimestamp": null},
        "data": {"password": "czNjcjN0AP8=", "empty": ""},
        "type": "Opaque"
    });
    assert_eq!(decode(&secret_body()), expected);
}

#[test]
fn configmap_and_serviceaccount() {
    let cm = pb()
        .msg(1, object_meta("cfg", "team", &[]))
        .map_str(2, "k", "v")
        .map_str(2, "empty", "")
        .map_bytes(3, "bin", &[1, 2, 3]);
    let expected = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "team", "creationTimestamp": null},
        "data": {"k": "v", "empty": ""},
        "binaryData": {"bin": "AQID"}
    });
    assert_eq!(decode(&envelope("v1", "ConfigMap", cm)), expected);

    let sa = pb()
        .msg(1, object_meta("robot", "", &[]))
        .msg(2, pb().str(1, "Secret").str(3, "robot-token"))
        .msg(3, pb().str(1, "pull"));
    let expected = json!({
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "robot", "creationTimestamp": null},
        "secrets": [{"kind": "Secret", "name": "robot-token"}],
        "imagePullSecrets": [{"name": "pull"}]
    });
    assert_eq!(decode(&envelope("v1", "ServiceAccount", sa)), expected);
}

fn delete_options() -> Pb {
    pb().int(1, 0).str(4, "Foreground").str(5, "All")
}

#[test]
fn delete_options_in_any_group_version() {
    for api_version in ["v1", "apps/v1", "meta.k8s.io/v1"] {
        let body = envelope(api_version, "DeleteOptions", delete_options());
        let expected = json!({
            "apiVersion": api_version,
            "kind": "DeleteOptions",
            "gracePeriodSeconds": 0,
            "propagationPolicy": "Foreground",
            "dryRun": ["All"]
        });
        assert_eq!(decode(&body), expected);
    }
}

#[test]
fn kind_hint_fills_empty_type_meta() {
    let body = envelope("", "", delete_options().str(5, "x"));
    let hint = Some(("meta.k8s.io", "v1", "DeleteOptions"));
    let Ok(value) = decode_object(&body, hint) else {
        panic!("hinted decode failed");
    };
    assert_eq!(value["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(value["kind"], "DeleteOptions");
    assert_eq!(value["dryRun"], json!(["All", "x"]));
    let err = decode_object(&body, None).map(|_| ()).err();
    assert!(matches!(err, Some(ProtobufError::MissingKind)), "{err:?}");
    // typeMeta wins over the hint.
    let typed = decode_object(&namespace_body(), Some(("apps", "v1", "Deployment")));
    assert!(matches!(typed, Ok(v) if v["kind"] == "Namespace"));
}

#[test]
fn times_and_quantities() {
    let when = 1_704_164_645; // 2024-01-02T03:04:05Z
    let mut meta = object_meta("p", "", &[]);
    meta = meta.msg(9, pb().int(1, when).int(2, 999_999_999));
    let container = pb().str(1, "c").msg(
        8,
        pb().map_msg(1, "cpu", pb().str(1, "500m"))
            .map_msg(2, "memory", pb()),
    );
    let pod = pb()
        .msg(1, meta)
        .msg(2, pb().msg(2, container))
        .msg(3, pb().msg(7, pb().int(1, when)));
    let value = decode(&envelope("v1", "Pod", pod));
    assert_eq!(
        value["metadata"]["deletionTimestamp"],
        "2024-01-02T03:04:05Z"
    );
    assert_eq!(value["status"]["startTime"], "2024-01-02T03:04:05Z");
    let resources = &value["spec"]["containers"][0]["resources"];
    assert_eq!(
        resources,
        &json!({"limits": {"cpu": "500m"}, "requests": {"memory": "0"}})
    );
}

#[test]
fn lease_micro_time_and_pointer_zeros() {
    let spec = pb()
        .str(1, "")
        .int(2, 0)
        .msg(3, pb().int(1, 1_704_164_645).int(2, 123_456_789))
        .msg(4, pb())
        .int(5, 0);
    let lease = pb()
        .msg(1, object_meta("leader", "kube-system", &[]))
        .msg(2, spec);
    let expected = json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "leader", "namespace": "kube-system", "creationTimestamp": null},
        "spec": {
            "holderIdentity": "",
            "leaseDurationSeconds": 0,
            "acquireTime": "2024-01-02T03:04:05.123456Z",
            "renewTime": null,
            "leaseTransitions": 0
        }
    });
    assert_eq!(
        decode(&envelope("coordination.k8s.io/v1", "Lease", lease)),
        expected
    );
}

#[test]
fn endpoint_slice_and_managed_fields() {
    let endpoint = pb()
        .str(1, "10.0.0.1")
        .str(1, "10.0.0.2")
        .msg(2, pb().int(1, 1).int(3, 0))
        .str(3, "");
    let port = pb().str(1, "").str(2, "TCP").int(3, 80);
    let managed = pb()
        .str(1, "kubectl")
        .str(2, "Apply")
        .str(3, "discovery.k8s.io/v1")
        .str(6, "FieldsV1")
        .msg(7, pb().bytes(1, br#"{"f:endpoints":{}}"#));
    let meta = object_meta("s", "", &[]).msg(17, managed);
    let slice = pb()
        .msg(1, meta)
        .str(4, "IPv4")
        .msg(2, endpoint)
        .msg(3, port);
    let value = decode(&envelope("discovery.k8s.io/v1", "EndpointSlice", slice));
    let expected = json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "s",
            "creationTimestamp": null,
            "managedFields": [{
                "manager": "kubectl", "operation": "Apply", "apiVersion": "discovery.k8s.io/v1",
                "fieldsType": "FieldsV1", "fieldsV1": {"f:endpoints": {}}
            }]
        },
        "addressType": "IPv4",
        "endpoints": [{
            "addresses": ["10.0.0.1", "10.0.0.2"],
            "conditions": {"ready": true, "terminating": false},
            "hostname": ""
        }],
        "ports": [{"name": "", "protocol": "TCP", "port": 80}]
    });
    assert_eq!(value, expected);
}

#[test]
fn packed_and_unpacked_repeated_scalars() {
    let ctx = |groups: Pb| pb().msg(2, pb().msg(14, groups));
    let unpacked = ctx(pb().int(4, 1000).int(4, -1));
    let packed = ctx(pb().bytes(4, &pb().varint(1000).varint(u64::MAX).0));
    for spec in [unpacked, packed] {
        let value = decode(&envelope("v1", "Pod", spec));
        let groups = &value["spec"]["securityContext"]["supplementalGroups"];
        assert_eq!(groups, &json!([1000, -1]));
    }
}

#[test]
fn unknown_fields_of_every_wire_type_are_skipped() {
    let mut ns = pb().msg(1, pb().str(1, "x").int(900, 7));
    ns = ns.key(901, 1);
    ns.0.extend_from_slice(&[0; 8]);
    ns = ns.key(902, 5);
    ns.0.extend_from_slice(&[0; 4]);
    ns = ns.str(903, "ignored");
    let value = decode(&envelope("v1", "Namespace", ns));
    assert_eq!(
        value,
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}})
    );
}

#[test]
fn repeated_message_fields_merge() {
    let ns = pb()
        .msg(1, pb().str(1, "x"))
        .msg(1, pb().map_str(11, "k", "v"));
    let value = decode(&envelope("v1", "Namespace", ns));
    assert_eq!(
        value["metadata"],
        json!({"name": "x", "labels": {"k": "v"}})
    );
}

fn error_text(body: &[u8]) -> String {
    match decode_object(body, None) {
        Ok(v) => panic!("expected an error, got {v}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn errors_name_what_is_wrong() {
    assert_eq!(
        error_text(b"{\"kind\":1}"),
        "missing k8s protobuf magic prefix"
    );
    assert_eq!(error_text(b"k8s\0\x0a\x80"), "truncated varint at byte 5");
    assert_eq!(
        error_text(b"k8s\0\x0a\x05\x0a\x02v1"),
        "truncated length-delimited value at byte 6"
    );
    assert_eq!(
        error_text(&envelope("apps/v1", "Foo", pb())),
        "unknown message type apps/v1 Foo"
    );
    assert_eq!(
        error_text(&envelope("v1", "Namespace", pb().int(1, 5))),
        "field 1 of k8s.io.api.core.v1.Namespace has wire type varint, \
         expected length-delimited (byte 23)"
    );
    assert_eq!(
        error_text(b"k8s\0\x0b"),
        "unsupported wire type 3 at byte 4"
    );
    assert_eq!(error_text(b"k8s\0\x02"), "invalid field number 0 at byte 4");
    let mut long = b"k8s\0\x48".to_vec();
    long.extend_from_slice(&[0xff; 11]);
    assert_eq!(error_text(&long), "varint longer than 10 bytes at byte 5");
    let gzip = [b"k8s\0".as_slice(), &pb().str(3, "gzip").0].concat();
    assert_eq!(
        error_text(&gzip),
        "unsupported envelope content encoding \"gzip\""
    );
}

#[test]
fn invalid_well_known_values_are_errors() {
    let bad_intstr = pb().msg(11, pb().msg(1, pb().msg(2, pb().msg(2, pb().int(1, 7)))));
    let pod = pb().msg(2, pb().msg(2, bad_intstr));
    let text = error_text(&envelope("v1", "Pod", pod));
    assert!(
        text.contains("IntOrString") && text.contains("type 7"),
        "{text}"
    );

    let far_future = pb().msg(1, pb().msg(8, pb().int(1, i64::MAX)));
    let text = error_text(&envelope("v1", "Namespace", far_future));
    assert!(
        text.starts_with("invalid k8s.io.apimachinery.pkg.apis.meta.v1.Time"),
        "{text}"
    );

    let bad_json = pb().msg(1, pb().msg(17, pb().msg(7, pb().bytes(1, b"{nope"))));
    let text = error_text(&envelope("v1", "Namespace", bad_json));
    assert!(text.starts_with("invalid embedded JSON in"), "{text}");
}

#[test]
fn nesting_is_bounded() {
    let Ok(ns) = message("k8s.io.api.core.v1.Namespace") else {
        panic!("no Namespace in schema");
    };
    let mut out = serde_json::Map::new();
    let result = message_into(&pb().msg(1, pb()).0, 0, ns, &mut out, MAX_DEPTH);
    assert!(matches!(result, Err(ProtobufError::TooDeep)), "{result:?}");
}

#[test]
fn go_duration_strings() {
    let cases = [
        (0, "0s"),
        (1, "1ns"),
        (1_500, "1.5µs"),
        (500_000_000, "500ms"),
        (1_500_000_000, "1.5s"),
        (90_000_000_000, "1m30s"),
        (3_600_000_000_000, "1h0m0s"),
        (-3_723_000_000_001, "-1h2m3.000000001s"),
        (i64::MIN, "-2562047h47m16.854775808s"),
    ];
    for (nanos, text) in cases {
        assert_eq!(go_duration(nanos), text, "{nanos}");
    }
}

#[test]
fn content_type_detection() {
    assert!(is_protobuf("application/vnd.kubernetes.protobuf"));
    assert!(is_protobuf(
        "Application/Vnd.Kubernetes.Protobuf ; charset=utf-8"
    ));
    assert!(is_protobuf(
        "application/vnd.kubernetes.protobuf;stream=watch"
    ));
    assert!(!is_protobuf("application/json"));
    assert!(!is_protobuf("application/vnd.kubernetes.protobuf+json"));
    assert!(!is_protobuf(""));
}

/// Every message reference resolves, tables are sorted, tags unique.
#[test]
fn schema_is_consistent() {
    assert!(schema::MESSAGES.windows(2).all(|w| w[0].name < w[1].name));
    for msg in schema::MESSAGES {
        assert!(
            msg.fields.windows(2).all(|w| w[0].tag < w[1].tag),
            "{}",
            msg.name
        );
        for field in msg.fields {
            let target = match field.shape {
                Shape::One(Ty::Msg(n)) | Shape::Rep(Ty::Msg(n)) | Shape::Map(Ty::Msg(n)) => n,
                Shape::Inline(n) => n,
                _ => continue,
            };
            assert!(
                message(target).is_ok(),
                "{}.{} -> {target}",
                msg.name,
                field.json
            );
        }
    }
    for (_, _, _, name) in schema::ROOTS {
        assert!(message(name).is_ok(), "root {name}");
    }
    assert!(schema::MESSAGES.len() > 150);
}

fn valid_bodies() -> Vec<Vec<u8>> {
    vec![
        namespace_body(),
        deployment_body(),
        service_body(),
        secret_body(),
        envelope("v1", "DeleteOptions", delete_options()),
        include_bytes!("testdata/kubectl-1.33/deployment.pb").to_vec(),
        include_bytes!("testdata/kubectl-1.33/service.pb").to_vec(),
    ]
}

#[test]
fn truncated_bodies_never_panic() {
    for body in valid_bodies() {
        for len in 0..body.len() {
            let _ = decode_object(&body[..len], None);
        }
    }
    // The envelope's raw is length-delimited, so cutting it must fail.
    let body = deployment_body();
    assert!(decode_object(&body[..body.len() - 1], None).is_err());
}

/// xorshift64*: deterministic pseudo-random bytes without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn random_and_mutated_bodies_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..2000 {
        let len = (rng.next() % 64) as usize;
        let mut body = b"k8s\0".to_vec();
        body.extend((0..len).map(|_| rng.next() as u8));
        let _ = decode_object(&body, Some(("", "v1", "Pod")));
    }
    let bodies = valid_bodies();
    for round in 0..5000 {
        let mut body = bodies[round % bodies.len()].clone();
        for _ in 0..=(rng.next() % 4) {
            let at = 4 + (rng.next() as usize) % (body.len() - 4);
            body[at] = rng.next() as u8;
        }
        let _ = decode_object(&body, None);
    }
}

/// Bodies captured from `kubectl` v1.33.1 (`create namespace demo`,
/// `create configmap|secret generic|serviceaccount|service clusterip|
/// deployment` in namespace `team`) against a recording HTTP listener; the
/// expected JSON is the same command's `--dry-run=client -o json` output.
#[test]
fn real_kubectl_bodies_decode_to_kubectl_json() {
    macro_rules! case {
        ($name:literal) => {
            (
                $name,
                include_bytes!(concat!("testdata/kubectl-1.33/", $name, ".pb")).as_slice(),
                include_str!(concat!("testdata/kubectl-1.33/", $name, ".json")),
            )
        };
    }
    let cases = [
        case!("namespace"),
        case!("configmap"),
        case!("secret"),
        case!("serviceaccount"),
        case!("service"),
        case!("deployment"),
    ];
    for (name, body, expected) in cases {
        let expected: Value = match serde_json::from_str(expected) {
            Ok(value) => value,
            Err(e) => panic!("{name}.json: {e}"),
        };
        assert_eq!(decode(body), expected, "{name}");
    }
}

//! Validation like kube-apiserver: CRD structural schemas (422 causes, pruning, defaults),
//! `fieldValidation` Strict/Warn/Ignore on built-ins and custom resources, type errors.
//! Every rejected write leaves the store unchanged.

mod common;

use kube::Client;
use serde_json::{Value, json};

const BASE: &str = "/apis/example.com/v1/namespaces/default/gadgets";

async fn send(
    c: &Client,
    method: &str,
    uri: &str,
    body: &Value,
) -> Result<Value, kube::core::Status> {
    let req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).unwrap())
        .unwrap();
    match c.request_text(req).await {
        Ok(t) => Ok(serde_json::from_str(&t).unwrap()),
        Err(kube::Error::Api(s)) => Err(*s),
        Err(e) => panic!("{e}"),
    }
}

async fn with_crd() -> (mcs_sim::Fleet, Client) {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "required": ["size"], "properties": {
                        "size": {"type": "integer", "minimum": 1},
                        "color": {"type": "string", "enum": ["red", "blue"], "default": "red"}}}}}}}]}});
    send(
        &c,
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        &crd,
    )
    .await
    .unwrap();
    common::eventually(10, "the CRD is served", || {
        let c = c.clone();
        async move { send(&c, "GET", BASE, &Value::Null).await.ok() }
    })
    .await;
    (fleet, c)
}

fn gadget(spec: Value) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}, "spec": spec})
}

fn causes(s: &kube::core::Status) -> Vec<(String, String)> {
    s.details
        .as_ref()
        .map(|d| {
            d.causes
                .iter()
                .map(|c| (c.reason.clone(), c.field.clone()))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn custom_resources_are_validated_against_their_schema() {
    let (_fleet, c) = with_crd().await;
    let cases = [
        (
            json!({"size": "abc"}),
            "FieldValueTypeInvalid",
            "spec.size",
            "Gadget.example.com \"g\" is invalid: spec.size: Invalid value: \"string\": spec.size in body must be of type integer: \"string\"",
        ),
        (
            json!({"size": 0}),
            "FieldValueInvalid",
            "spec.size",
            "Gadget.example.com \"g\" is invalid: spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1",
        ),
        (
            json!({"size": 1, "color": "green"}),
            "FieldValueNotSupported",
            "spec.color",
            "Gadget.example.com \"g\" is invalid: spec.color: Unsupported value: \"green\": supported values: \"red\", \"blue\"",
        ),
        (
            json!({"color": "red"}),
            "FieldValueRequired",
            "spec.size",
            "Gadget.example.com \"g\" is invalid: spec.size: Required value",
        ),
    ];
    for (spec, reason, field, message) in cases {
        let s = send(&c, "POST", BASE, &gadget(spec.clone()))
            .await
            .unwrap_err();
        assert_eq!(
            (s.code, s.reason.as_str()),
            (422, "Invalid"),
            "{spec}: {s:?}"
        );
        assert_eq!(s.message, message);
        assert_eq!(causes(&s), vec![(reason.to_string(), field.to_string())]);
        let d = s.details.unwrap();
        assert_eq!(
            (d.name.as_str(), d.group.as_str(), d.kind.as_str()),
            ("g", "example.com", "Gadget")
        );
    }
    // Unknown fields with Strict: 400, nothing stored.
    let typo = gadget(json!({"size": 2, "colour": "red"}));
    let s = send(&c, "POST", &format!("{BASE}?fieldValidation=Strict"), &typo)
        .await
        .unwrap_err();
    assert_eq!(s.code, 400);
    assert_eq!(
        s.message,
        "Gadget in version \"v1\" cannot be handled as a Gadget: strict decoding error: unknown field \"spec.colour\""
    );
    let list = send(&c, "GET", BASE, &Value::Null).await.unwrap();
    assert_eq!(
        list["items"],
        json!([]),
        "every rejected write left the store unchanged"
    );
    // Default (Warn): stored, pruned, defaulted.
    let stored = send(&c, "POST", BASE, &typo).await.unwrap();
    assert_eq!(stored["spec"], json!({"size": 2, "color": "red"}));
    // Updates are validated too, and a rejected one leaves the object as it was.
    let mut bad = stored.clone();
    bad["spec"]["size"] = json!(-1);
    let s = send(&c, "PUT", &format!("{BASE}/g"), &bad)
        .await
        .unwrap_err();
    assert_eq!(s.code, 422);
    let now = send(&c, "GET", &format!("{BASE}/g"), &Value::Null)
        .await
        .unwrap();
    assert_eq!(now["spec"]["size"], 2);
    assert_eq!(
        now["metadata"]["resourceVersion"],
        stored["metadata"]["resourceVersion"]
    );
}

#[tokio::test]
async fn built_ins_decode_strictly() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let cms = "/api/v1/namespaces/default/configmaps";
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"k": "v"}, "dataa": {}});
    let s = send(&c, "POST", &format!("{cms}?fieldValidation=Strict"), &cm)
        .await
        .unwrap_err();
    assert_eq!((s.code, s.reason.as_str()), (400, "BadRequest"));
    assert_eq!(
        s.message,
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"dataa\""
    );
    let s = send(&c, "POST", &format!("{cms}?fieldValidation=Bogus"), &cm)
        .await
        .unwrap_err();
    assert_eq!(s.code, 400);
    // A type error fails in every mode.
    let typed = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "y"}, "data": {"k": 1}});
    let s = send(&c, "POST", &format!("{cms}?fieldValidation=Ignore"), &typed)
        .await
        .unwrap_err();
    assert_eq!(
        s.message,
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: json: cannot unmarshal number 1 into Go struct field ConfigMap.data of type string"
    );
    // Duplicate fields are reported by name (raw body: serde_json would merge them).
    let raw = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d","name":"d"}}"#;
    let req = http::Request::post(format!("{cms}?fieldValidation=Strict"))
        .header("content-type", "application/json")
        .body(raw.to_vec())
        .unwrap();
    match c.request_text(req).await {
        Err(kube::Error::Api(s)) => assert!(
            s.message
                .ends_with("strict decoding error: duplicate field \"metadata.name\""),
            "{s:?}"
        ),
        other => panic!("{other:?}"),
    }
    let list = send(&c, "GET", cms, &Value::Null).await.unwrap();
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["metadata"]["name"].as_str())
        .collect();
    assert!(
        !names.iter().any(|n| ["x", "y", "d"].contains(n)),
        "{names:?}"
    );
    // Ignore: stored, without the unknown field (decoding drops it).
    let stored = send(&c, "POST", &format!("{cms}?fieldValidation=Ignore"), &cm)
        .await
        .unwrap();
    assert!(stored.get("dataa").is_none(), "{stored}");
    assert_eq!(stored["data"], json!({"k": "v"}));
    // A merge patch's unknown field is dropped too (Warn, the default).
    let req = http::Request::patch(format!("{cms}/x"))
        .header("content-type", "application/merge-patch+json")
        .body(br#"{"data": {"k2": "v2"}, "bogus": 1}"#.to_vec())
        .unwrap();
    let patched: Value = serde_json::from_str(&c.request_text(req).await.unwrap()).unwrap();
    assert_eq!(patched["data"], json!({"k": "v", "k2": "v2"}));
    assert!(patched.get("bogus").is_none(), "{patched}");
    // A Deployment scaled past int32 is rejected through the scale subresource as well.
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"},
        "spec": {"replicas": 2147483648_i64, "selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}});
    let s = send(
        &c,
        "POST",
        "/apis/apps/v1/namespaces/default/deployments",
        &d,
    )
    .await
    .unwrap_err();
    assert_eq!(
        s.message,
        "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal number 2147483648 into Go struct field DeploymentSpec.spec.replicas of type int32"
    );
    // JSON patches: the patched object is checked.
    let req =
        http::Request::patch("/api/v1/namespaces/default/configmaps/x?fieldValidation=Strict")
            .header("content-type", "application/json-patch+json")
            .body(br#"[{"op": "add", "path": "/dataz", "value": {}}]"#.to_vec())
            .unwrap();
    match c.request_text(req).await {
        Err(kube::Error::Api(s)) => assert!(
            s.message
                .ends_with("strict decoding error: unknown field \"dataz\""),
            "{s:?}"
        ),
        other => panic!("{other:?}"),
    }
}

use serde_json::json;

use super::*;
use crate::schema::builtin_schemas;

fn builtin(kind: &str, group: &str, mut obj: Value) -> Checked {
    let s = builtin_schemas();
    let root = s.root(group, "v1", kind).unwrap();
    check(&s.components, root, &mut obj)
}

#[test]
fn builtin_unknown_fields_are_named_by_path() {
    let out = builtin(
        "Deployment",
        "apps",
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "labelz": {}},
            "spec": {"replica": 2, "selector": {"matchLabels": {"a": "b"}},
              "template": {"metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "i", "imagePullPolicyy": "x",
                  "resources": {"limits": {"cpu": 1, "memory": "1Gi"}}}]}}}}),
    );
    assert_eq!(
        out.unknown,
        vec![
            "metadata.labelz",
            "spec.replica",
            "spec.template.spec.containers[0].imagePullPolicyy"
        ]
    );
    assert_eq!(out.type_error, None);
}

#[test]
fn builtin_type_errors_read_like_go() {
    let out = builtin(
        "Deployment",
        "apps",
        json!({"spec": {"replicas": 2147483648_i64}}),
    );
    assert_eq!(
        out.type_error.as_deref(),
        Some(
            "json: cannot unmarshal number 2147483648 into Go struct field DeploymentSpec.spec.replicas of type int32"
        )
    );
    let out = builtin(
        "Service",
        "",
        json!({"spec": {"ports": [{"port": "http"}]}}),
    );
    assert_eq!(
        out.type_error.as_deref(),
        Some(
            "json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32"
        )
    );
    let out = builtin("ConfigMap", "", json!({"data": {"k": 1}}));
    assert_eq!(
        out.type_error.as_deref(),
        Some("json: cannot unmarshal number 1 into Go struct field ConfigMap.data of type string")
    );
}

fn crd_schema() -> Value {
    json!({"type": "object", "properties": {
        "spec": {"type": "object", "required": ["size"], "properties": {
            "size": {"type": "integer", "minimum": 1, "maximum": 10},
            "color": {"type": "string", "enum": ["red", "blue"], "default": "red"},
            "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 5},
            "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"}},
            "port": {"x-kubernetes-int-or-string": true},
            "note": {"type": "string", "nullable": true},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}})
}

fn custom(obj: Value) -> (Value, Checked) {
    let mut obj = obj;
    let out = check_custom(&crd_schema(), &mut obj);
    (obj, out)
}

fn messages(c: &Checked) -> Vec<String> {
    c.causes
        .iter()
        .map(|c| format!("{} {}: {}", c.reason, c.field, c.message))
        .collect()
}

#[test]
fn custom_resources_are_pruned_and_defaulted() {
    let (obj, out) = custom(
        json!({"apiVersion": "x/v1", "kind": "G", "metadata": {"name": "g"},
        "spec": {"size": 3, "extra": 1, "note": null, "port": "http", "free": {"any": [1]}}, "other": 1}),
    );
    assert_eq!(out.unknown, vec!["other", "spec.extra"]);
    assert!(out.causes.is_empty(), "{:?}", messages(&out));
    assert_eq!(
        obj,
        json!({"apiVersion": "x/v1", "kind": "G", "metadata": {"name": "g"},
            "spec": {"size": 3, "note": null, "port": "http", "free": {"any": [1]}, "color": "red"}})
    );
}

#[test]
fn custom_resource_violations_are_422_causes() {
    let (_, out) = custom(json!({"spec": {"size": "abc"}}));
    assert_eq!(
        messages(&out),
        vec![
            "FieldValueTypeInvalid spec.size: Invalid value: \"string\": spec.size in body must be of type integer: \"string\""
        ]
    );
    let (_, out) = custom(
        json!({"spec": {"size": 0, "color": "green", "name": "ABCDEF",
        "tags": ["a", "b", "c"]}}),
    );
    assert_eq!(
        messages(&out),
        vec![
            "FieldValueNotSupported spec.color: Unsupported value: \"green\": supported values: \"red\", \"blue\"",
            "FieldValueTooLong spec.name: Too long: may not be more than 5 bytes",
            "FieldValueInvalid spec.name: Invalid value: \"ABCDEF\": spec.name in body should match '^[a-z]+$'",
            "FieldValueInvalid spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1",
            "FieldValueTooMany spec.tags: Too many: 3: must have at most 2 items",
        ]
    );
    let (_, out) = custom(json!({"spec": {"color": "blue"}}));
    assert_eq!(
        messages(&out),
        vec!["FieldValueRequired spec.size: Required value"]
    );
    let (_, out) = custom(json!({"spec": {"size": 11, "port": true}}));
    assert_eq!(out.causes.len(), 2, "{:?}", messages(&out));
}

//! Tests for server-side apply.

use super::*;
use crate::patch::{ApplyConflict, record_update};
use serde_json::json;

const DEPLOY: KindContext = KindContext {
    group: "apps",
    version: "v1",
    kind: "Deployment",
    builtin: true,
};
const SERVICE: KindContext = KindContext {
    group: "",
    version: "v1",
    kind: "Service",
    builtin: true,
};
const CM: KindContext = KindContext {
    group: "",
    version: "v1",
    kind: "ConfigMap",
    builtin: true,
};

const DEPLOY_YAML: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
    team: a
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    spec:
      containers:
      - name: web
        image: nginx:1
      - name: sidecar
        image: busybox
";

fn apply(
    ctx: &KindContext,
    live: Option<&Value>,
    body: &str,
    manager: &str,
    force: bool,
) -> Result<Value, PatchError> {
    server_side_apply(ctx, live, body.as_bytes(), manager, force, None, "t1")
}

fn entries(obj: &Value) -> Vec<Value> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn entry_of(obj: &Value, manager: &str) -> Option<Value> {
    entries(obj).into_iter().find(|e| e["manager"] == manager)
}

#[test]
fn create_by_apply_records_fields_v1() {
    let obj = apply(&DEPLOY, None, DEPLOY_YAML, "kubectl", false).unwrap();
    assert_eq!(obj["spec"]["replicas"], 2);
    assert_eq!(obj["metadata"]["name"], "web");
    let all = entries(&obj);
    assert_eq!(all.len(), 1);
    assert_eq!(
        all[0],
        json!({
            "manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1",
            "time": "t1", "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:app": {}, "f:team": {}}},
                "f:spec": {
                    "f:replicas": {},
                    "f:selector": {},
                    "f:template": {"f:spec": {"f:containers": {
                        "k:{\"name\":\"sidecar\"}": {".": {}, "f:image": {}, "f:name": {}},
                        "k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}
                    }}}
                }
            }
        })
    );
}

#[test]
fn create_requires_identity_fields() {
    let cases = [
        ("kind: Deployment\nmetadata: {name: a}\n", "apiVersion"),
        ("apiVersion: apps/v1\nmetadata: {name: a}\n", "kind"),
        (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {}\n",
            "metadata.name",
        ),
        (
            "apiVersion: v1\nkind: Deployment\nmetadata: {name: a}\n",
            "version",
        ),
        (
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: a}\n",
            "kind",
        ),
    ];
    for (body, needle) in cases {
        let err = apply(&DEPLOY, None, body, "m", false).unwrap_err();
        match err {
            PatchError::Invalid { message } => assert!(message.contains(needle), "{message}"),
            other => panic!("{body}: {other:?}"),
        }
    }
}

#[test]
fn malformed_bodies() {
    let cases = [
        "- a\n- b\n",
        "just a string",
        "a: [unclosed",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  managedFields: []\n",
    ];
    for body in cases {
        let err = apply(&CM, None, body, "m", false).unwrap_err();
        assert!(
            matches!(err, PatchError::Malformed { .. }),
            "{body}: {err:?}"
        );
    }
}

#[test]
fn json_bodies_and_legacy_octal_yaml_parse() {
    let body = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"k":"v"}}"#;
    let obj = apply(&CM, None, body, "m", false).unwrap();
    assert_eq!(obj["data"]["k"], "v");
    let pod = KindContext { kind: "Pod", ..CM };
    let yaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  volumes:\n  - name: v\n    secret:\n      defaultMode: 0644\n";
    let obj = apply(&pod, None, yaml, "m", false).unwrap();
    assert_eq!(obj["spec"]["volumes"][0]["secret"]["defaultMode"], 420);
}

#[test]
fn reapply_by_same_manager_removes_dropped_fields() {
    let live = apply(&DEPLOY, None, DEPLOY_YAML, "kubectl", false).unwrap();
    let trimmed = DEPLOY_YAML
        .replace("    team: a\n", "")
        .replace("      - name: sidecar\n        image: busybox\n", "");
    let obj = apply(&DEPLOY, Some(&live), &trimmed, "kubectl", false).unwrap();
    assert_eq!(obj["metadata"]["labels"], json!({"app": "web"}));
    assert_eq!(
        obj["spec"]["template"]["spec"]["containers"],
        json!([{"name": "web", "image": "nginx:1"}])
    );
    let fields = &entries(&obj)[0]["fieldsV1"];
    assert!(fields["f:metadata"]["f:labels"].get("f:team").is_none());
    assert!(
        fields["f:spec"]["f:template"]["f:spec"]["f:containers"]
            .get("k:{\"name\":\"sidecar\"}")
            .is_none()
    );
}

#[test]
fn dropped_field_survives_when_another_manager_owns_it() {
    let live = apply(&DEPLOY, None, DEPLOY_YAML, "kubectl", false).unwrap();
    let mut edited = live.clone();
    edited["metadata"]["labels"]["team"] = json!("b");
    record_update(
        &DEPLOY,
        Some(&live),
        &mut edited,
        "kubectl-edit",
        None,
        "t2",
    );
    let trimmed = DEPLOY_YAML.replace("    team: a\n", "");
    let obj = apply(&DEPLOY, Some(&edited), &trimmed, "kubectl", false).unwrap();
    assert_eq!(obj["metadata"]["labels"]["team"], "b");
    let edit = entry_of(&obj, "kubectl-edit").unwrap();
    assert_eq!(
        edit["fieldsV1"],
        json!({"f:metadata": {"f:labels": {"f:team": {}}}})
    );
}

#[test]
fn conflict_with_an_updater_then_force_takes_ownership() {
    let mut live = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "paused": false}
    });
    record_update(
        &DEPLOY,
        None,
        &mut live,
        "kubectl-client-side-apply",
        None,
        "t0",
    );
    let body = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n  paused: false\n";
    let err = apply(&DEPLOY, Some(&live), body, "ssa", false).unwrap_err();
    let PatchError::Conflict { conflicts } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(
        conflicts,
        &vec![ApplyConflict {
            manager: "kubectl-client-side-apply".into(),
            field: ".spec.replicas".into(),
            message: "conflict with \"kubectl-client-side-apply\" using apps/v1".into(),
        }]
    );
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" \
         using apps/v1: .spec.replicas"
    );

    let obj = apply(&DEPLOY, Some(&live), body, "ssa", true).unwrap();
    assert_eq!(obj["spec"]["replicas"], 3);
    let old = entry_of(&obj, "kubectl-client-side-apply").unwrap();
    assert_eq!(old["fieldsV1"], json!({"f:spec": {"f:paused": {}}}));
    let new = entry_of(&obj, "ssa").unwrap();
    assert_eq!(
        new["fieldsV1"],
        json!({"f:spec": {"f:paused": {}, "f:replicas": {}}})
    );
}

#[test]
fn equal_values_are_shared_without_conflict() {
    let live = apply(&DEPLOY, None, DEPLOY_YAML, "first", false).unwrap();
    let body =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n";
    let obj = apply(&DEPLOY, Some(&live), body, "second", false).unwrap();
    assert_eq!(
        entry_of(&obj, "second").unwrap()["fieldsV1"],
        json!({"f:spec": {"f:replicas": {}}})
    );
    let first = entry_of(&obj, "first").unwrap();
    assert_eq!(first["fieldsV1"]["f:spec"]["f:replicas"], json!({}));
    assert_eq!(first["time"], "t1");

    let changed = body.replace("replicas: 2", "replicas: 4");
    let err = apply(&DEPLOY, Some(&obj), &changed, "second", false).unwrap_err();
    let PatchError::Conflict { conflicts } = err else {
        panic!("expected conflict");
    };
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].manager, "first");
    assert_eq!(conflicts[0].message, "conflict with \"first\"");
}

#[test]
fn service_ports_are_keyed_by_port_and_protocol() {
    let body = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - port: 80\n    targetPort: 8080\n";
    let obj = apply(&SERVICE, None, body, "m", false).unwrap();
    let fields = &entries(&obj)[0]["fieldsV1"];
    assert_eq!(
        fields["f:spec"]["f:ports"],
        json!({"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}, "f:targetPort": {}}})
    );
    let mut live = obj.clone();
    live["spec"]["ports"][0]["protocol"] = json!("TCP");
    let update = body.replace("8080", "9090");
    let obj = apply(&SERVICE, Some(&live), &update, "m", false).unwrap();
    assert_eq!(
        obj["spec"]["ports"],
        json!([{"port": 80, "protocol": "TCP", "targetPort": 9090}])
    );
}

#[test]
fn status_subresource_apply_owns_only_status() {
    let live = apply(&DEPLOY, None, DEPLOY_YAML, "kubectl", false).unwrap();
    let body = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nstatus:\n  replicas: 2\n  conditions:\n  - type: Available\n    status: \"True\"\n";
    let obj = server_side_apply(
        &DEPLOY,
        Some(&live),
        body.as_bytes(),
        "ctrl",
        false,
        Some("status"),
        "t5",
    )
    .unwrap();
    assert_eq!(obj["status"]["replicas"], 2);
    let ctrl = entry_of(&obj, "ctrl").unwrap();
    assert_eq!(ctrl["subresource"], "status");
    assert_eq!(ctrl["time"], "t5");
    assert_eq!(
        ctrl["fieldsV1"],
        json!({"f:status": {"f:replicas": {}, "f:conditions": {
            "k:{\"type\":\"Available\"}": {".": {}, "f:status": {}, "f:type": {}}
        }}})
    );
    assert!(entry_of(&obj, "kubectl").is_some());
}

#[test]
fn main_resource_apply_does_not_own_status() {
    let body = format!("{DEPLOY_YAML}status:\n  replicas: 9\n");
    let obj = apply(&DEPLOY, None, &body, "kubectl", false).unwrap();
    let fields = &entries(&obj)[0]["fieldsV1"];
    assert!(fields.get("f:status").is_none(), "{fields}");
}

#[test]
fn unchanged_reapply_keeps_time_and_nulls_are_ignored() {
    let live = apply(
        &CM,
        None,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '1'}\n",
        "m",
        false,
    )
    .unwrap();
    let again = server_side_apply(
        &CM,
        Some(&live),
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '1', b: null}\n",
        "m",
        false,
        None,
        "t9",
    )
    .unwrap();
    assert_eq!(again, live);
}

#[test]
fn finalizers_apply_as_a_set() {
    let body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  finalizers: [a, b]\n";
    let live = apply(&CM, None, body, "m", false).unwrap();
    assert_eq!(
        entries(&live)[0]["fieldsV1"],
        json!({"f:metadata": {"f:finalizers": {"v:\"a\"": {}, "v:\"b\"": {}}}})
    );
    let other = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  finalizers: [c]\n";
    let obj = apply(&CM, Some(&live), other, "n", false).unwrap();
    assert_eq!(obj["metadata"]["finalizers"], json!(["a", "b", "c"]));
    let dropped = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  finalizers: [b]\n";
    let obj = apply(&CM, Some(&obj), dropped, "m", false).unwrap();
    assert_eq!(obj["metadata"]["finalizers"], json!(["b", "c"]));
}

#[test]
fn dropped_field_shared_with_another_applier_is_kept() {
    let live = apply(&DEPLOY, None, DEPLOY_YAML, "first", false).unwrap();
    let share =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels:\n    team: a\n";
    let shared = apply(&DEPLOY, Some(&live), share, "second", false).unwrap();
    let trimmed = DEPLOY_YAML.replace("    team: a\n", "");
    let obj = apply(&DEPLOY, Some(&shared), &trimmed, "first", false).unwrap();
    assert_eq!(
        obj["metadata"]["labels"],
        json!({"app": "web", "team": "a"})
    );
    let first = entry_of(&obj, "first").unwrap();
    assert!(
        first["fieldsV1"]["f:metadata"]["f:labels"]
            .get("f:team")
            .is_none()
    );
    let second = entry_of(&obj, "second").unwrap();
    assert_eq!(
        second["fieldsV1"],
        json!({"f:metadata": {"f:labels": {"f:team": {}}}})
    );
}

#[test]
fn conflicts_inside_keyed_lists_name_the_item() {
    let live = apply(&DEPLOY, None, DEPLOY_YAML, "first", false).unwrap();
    let body = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:2\n";
    let err = apply(&DEPLOY, Some(&live), body, "second", false).unwrap_err();
    let PatchError::Conflict { conflicts } = err else {
        panic!("expected conflict");
    };
    let fields: Vec<&str> = conflicts.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(
        fields,
        [".spec.template.spec.containers[name=\"web\"].image"]
    );

    let obj = apply(&DEPLOY, Some(&live), body, "second", true).unwrap();
    let containers = &obj["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers[0]["image"], "nginx:2");
    assert_eq!(containers[1]["name"], "sidecar");
    let first = entry_of(&obj, "first").unwrap();
    let web = &first["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"];
    assert_eq!(web, &json!({".": {}, "f:name": {}}));
}

#[test]
fn updaters_take_list_item_fields_from_appliers() {
    let live = apply(&DEPLOY, None, DEPLOY_YAML, "kubectl", false).unwrap();
    let mut edited = live.clone();
    edited["spec"]["template"]["spec"]["containers"][1]["image"] = json!("busybox:2");
    record_update(&DEPLOY, Some(&live), &mut edited, "kubectl-set", None, "t2");
    let set = entry_of(&edited, "kubectl-set").unwrap();
    assert_eq!(
        set["fieldsV1"],
        json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"sidecar\"}": {"f:image": {}}
        }}}}})
    );
    let kubectl = entry_of(&edited, "kubectl").unwrap();
    let sidecar = &kubectl["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"sidecar\"}"];
    assert_eq!(sidecar, &json!({".": {}, "f:name": {}}));
    assert_eq!(kubectl["operation"], "Apply");
}

#[test]
fn custom_resources_use_atomic_lists_and_own_status() {
    let cr = KindContext {
        group: "example.com",
        version: "v1",
        kind: "Widget",
        builtin: false,
    };
    let body = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  items: [a, b]\nstatus:\n  phase: Ready\n";
    let live = apply(&cr, None, body, "m", false).unwrap();
    assert_eq!(
        entries(&live)[0]["fieldsV1"],
        json!({"f:spec": {"f:items": {}}, "f:status": {"f:phase": {}}})
    );
    let other =
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  items: [c]\n";
    let err = apply(&cr, Some(&live), other, "n", false).unwrap_err();
    let PatchError::Conflict { conflicts } = err else {
        panic!("expected conflict");
    };
    assert_eq!(conflicts[0].field, ".spec.items");
    let obj = apply(&cr, Some(&live), other, "n", true).unwrap();
    assert_eq!(obj["spec"]["items"], json!(["c"]));
}

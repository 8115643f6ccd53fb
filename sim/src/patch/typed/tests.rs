//! Tests for the schema-aware walks.

use super::*;
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

fn rendered(set: &FieldSet) -> Vec<String> {
    set.paths().iter().map(|p| path_to_string(p)).collect()
}

#[test]
fn field_set_of_an_applied_deployment() {
    let typed = Typed::new(&DEPLOY);
    let obj = json!({
        "metadata": {"labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"spec": {"containers": [{
                "name": "web", "image": "nginx", "args": ["a"],
                "ports": [{"containerPort": 80}],
                "resources": {}
            }]}}
        }
    });
    let set = typed.to_field_set(&obj, true).unwrap();
    let expected = json!({
        "f:metadata": {"f:labels": {"f:app": {}}},
        "f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {
                ".": {}, "f:args": {}, "f:image": {}, "f:name": {}, "f:resources": {},
                "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                    ".": {}, "f:containerPort": {}
                }}
            }}}}
        }
    });
    assert_eq!(set.to_fields_v1(), expected);
}

#[test]
fn strict_field_sets_reject_unidentifiable_items() {
    let typed = Typed::new(&DEPLOY);
    let missing = json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}});
    let err = typed.to_field_set(&missing, true).unwrap_err();
    assert!(err.contains(".spec.template.spec.containers"), "{err}");
    let dup = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "a"}, {"name": "a"}
    ]}}}});
    let err = typed.to_field_set(&dup, true).unwrap_err();
    assert!(err.contains("duplicate"), "{err}");
    let lenient = typed.to_field_set(&missing, false).unwrap();
    assert_eq!(
        rendered(&lenient),
        [".spec.template.spec.containers".to_string()]
    );
}

#[test]
fn finalizers_are_a_set_of_values() {
    let typed = Typed::new(&DEPLOY);
    let set = typed
        .to_field_set(&json!({"metadata": {"finalizers": ["a", "b"]}}), true)
        .unwrap();
    assert_eq!(
        set.to_fields_v1(),
        json!({"f:metadata": {"f:finalizers": {"v:\"a\"": {}, "v:\"b\"": {}}}})
    );
}

#[test]
fn merge_by_key_keeps_live_items_and_orders_like_smd() {
    let typed = Typed::new(&SERVICE);
    let live = json!({"spec": {"ports": [
        {"port": 80, "protocol": "TCP", "targetPort": 8080},
        {"port": 53, "protocol": "UDP"}
    ]}});
    let applied = json!({"spec": {"ports": [
        {"port": 443, "name": "https"},
        {"port": 80, "targetPort": 9090}
    ]}});
    let out = typed.merge(Some(&live), &applied);
    assert_eq!(
        out["spec"]["ports"],
        json!([
            {"port": 443, "name": "https"},
            {"port": 80, "protocol": "TCP", "targetPort": 9090},
            {"port": 53, "protocol": "UDP"}
        ])
    );
}

#[test]
fn merge_replaces_atomic_lists_and_maps() {
    let typed = Typed::new(&SERVICE);
    let live = json!({"spec": {"selector": {"a": "1", "b": "2"}, "externalIPs": ["1.1.1.1"]}});
    let applied = json!({"spec": {"selector": {"c": "3"}, "externalIPs": ["2.2.2.2"]}});
    let out = typed.merge(Some(&live), &applied);
    assert_eq!(out["spec"]["selector"], json!({"c": "3"}));
    assert_eq!(out["spec"]["externalIPs"], json!(["2.2.2.2"]));
}

#[test]
fn compare_reports_added_modified_removed() {
    let typed = Typed::new(&DEPLOY);
    let old = json!({"metadata": {"labels": {"a": "1", "b": "2"}},
                     "spec": {"replicas": 1, "paused": false}});
    let new = json!({"metadata": {"labels": {"a": "1", "c": "3"}},
                     "spec": {"replicas": 2,
                              "template": {"spec": {"containers": [{"name": "x", "env": [{"name": "E"}]}]}}}});
    let cmp = typed.compare(&old, &new);
    assert_eq!(rendered(&cmp.modified), [".spec.replicas".to_string()]);
    assert_eq!(
        rendered(&cmp.removed),
        [".metadata.labels.b".to_string(), ".spec.paused".to_string()]
    );
    assert_eq!(
        cmp.added.to_fields_v1(),
        json!({
            "f:metadata": {"f:labels": {"f:c": {}}},
            "f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"x\"}": {
                ".": {}, "f:name": {},
                "f:env": {".": {}, "k:{\"name\":\"E\"}": {".": {}, "f:name": {}}}
            }}}}}
        })
    );
}

#[test]
fn new_labels_map_is_a_member() {
    let typed = Typed::new(&DEPLOY);
    let cmp = typed.compare(&json!({}), &json!({"metadata": {"labels": {"a": "1"}}}));
    assert_eq!(
        cmp.added.to_fields_v1(),
        json!({"f:metadata": {"f:labels": {".": {}, "f:a": {}}}})
    );
}

#[test]
fn remove_drops_members_with_their_subtrees() {
    let typed = Typed::new(&DEPLOY);
    let mut obj = json!({"metadata": {"finalizers": ["a", "b"], "labels": {"x": "1", "y": "2"}},
                         "spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": "b", "image": "i"}]}}}});
    let set = FieldSet::from_fields_v1(&json!({
        "f:metadata": {"f:finalizers": {"v:\"a\"": {}}, "f:labels": {"f:y": {}}},
        "f:spec": {"f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"a\"}": {}, "k:{\"name\":\"b\"}": {"f:image": {}}
        }}}}
    }));
    typed.remove(&mut obj, &set);
    assert_eq!(
        obj,
        json!({"metadata": {"finalizers": ["b"], "labels": {"x": "1"}},
               "spec": {"template": {"spec": {"containers": [{"name": "b"}]}}}})
    );
}

#[test]
fn prune_removes_only_unowned_fields_the_applier_dropped() {
    let typed = Typed::new(&DEPLOY);
    let merged = json!({"metadata": {"name": "d", "labels": {"a": "1", "b": "2"}},
                        "spec": {"replicas": 3, "paused": true}});
    let last = FieldSet::from_fields_v1(&json!({
        "f:metadata": {"f:labels": {"f:a": {}, "f:b": {}}},
        "f:spec": {"f:paused": {}}
    }));
    let mut managed = FieldSet::from_fields_v1(&json!({
        "f:metadata": {"f:name": {}, "f:labels": {"f:a": {}}},
        "f:spec": {"f:replicas": {}}
    }));
    let out = typed.prune(&merged, &last, &managed);
    assert_eq!(
        out,
        json!({"metadata": {"name": "d", "labels": {"a": "1"}}, "spec": {"replicas": 3}})
    );
    managed.insert(&[field_pe("spec"), field_pe("paused")]);
    let out = typed.prune(&merged, &last, &managed);
    assert_eq!(out["spec"]["paused"], true);
}

//! Tests for strategic merge patch.

use super::*;
use serde_json::json;

const POD: KindContext = KindContext {
    group: "",
    version: "v1",
    kind: "Pod",
    builtin: true,
};
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

fn smp(ctx: &KindContext, live: &Value, patch: Value) -> Result<Value, PatchError> {
    strategic_merge_patch(ctx, live, patch.to_string().as_bytes())
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| i["name"].as_str().unwrap_or("?"))
                .collect()
        })
        .unwrap_or_default()
}

fn pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": "p", "labels": {"app": "web", "tier": "fe"},
            "finalizers": ["a", "b"],
            "ownerReferences": [{"uid": "u1", "name": "rs1", "kind": "ReplicaSet"}]
        },
        "spec": {
            "containers": [
                {"name": "web", "image": "nginx:1", "args": ["-v"],
                 "ports": [{"containerPort": 80, "name": "http"}],
                 "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                {"name": "side", "image": "busybox"}
            ],
            "tolerations": [{"key": "k1"}, {"key": "k2"}]
        },
        "status": {"conditions": [
            {"type": "Ready", "status": "False"},
            {"type": "Initialized", "status": "True"}
        ]}
    })
}

#[test]
fn containers_merge_by_name_and_new_items_append() {
    let out = smp(
        &POD,
        &pod(),
        json!({"spec": {"containers": [
            {"name": "side", "image": "busybox:2"},
            {"name": "extra", "image": "alpine"}
        ]}}),
    )
    .unwrap();
    let containers = &out["spec"]["containers"];
    assert_eq!(names(containers), ["web", "side", "extra"]);
    assert_eq!(containers[1]["image"], "busybox:2");
    assert_eq!(containers[0]["image"], "nginx:1");
    assert_eq!(containers[0]["args"], json!(["-v"]));
}

#[test]
fn env_and_ports_merge_by_key_inside_a_container() {
    let out = smp(
        &POD,
        &pod(),
        json!({"spec": {"containers": [{"name": "web",
            "env": [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}],
            "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443}]
        }]}}),
    )
    .unwrap();
    let web = &out["spec"]["containers"][0];
    assert_eq!(
        web["env"],
        json!([{"name": "A", "value": "1"}, {"name": "B", "value": "20"}, {"name": "C", "value": "3"}])
    );
    assert_eq!(
        web["ports"],
        json!([{"containerPort": 80, "name": "http", "protocol": "TCP"}, {"containerPort": 443}])
    );
}

#[test]
fn deployment_template_containers_merge_by_name() {
    let live = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "a", "image": "x", "env": [{"name": "E", "value": "1"}]}
    ]}}}});
    let out = smp(
        &DEPLOY,
        &live,
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "env": [{"name": "F", "value": "2"}]}
        ]}}}}),
    )
    .unwrap();
    let a = &out["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(a["image"], "x");
    // A patch naming only new items places them first, as apimachinery does.
    assert_eq!(
        a["env"],
        json!([{"name": "F", "value": "2"}, {"name": "E", "value": "1"}])
    );
}

/// apimachinery's `mergeSortedSlice` puts patch items the live list does not
/// know ahead of the next server-only item, so a new condition lands before
/// `Initialized` (kubectl avoids this by sending `$setElementOrder`).
#[test]
fn conditions_merge_by_type() {
    let out = smp(
        &POD,
        &pod(),
        json!({"status": {"conditions": [
            {"type": "Ready", "status": "True"},
            {"type": "PodScheduled", "status": "True"}
        ]}}),
    )
    .unwrap();
    assert_eq!(
        out["status"]["conditions"],
        json!([
            {"type": "Ready", "status": "True"},
            {"type": "PodScheduled", "status": "True"},
            {"type": "Initialized", "status": "True"}
        ])
    );
}

#[test]
fn service_ports_merge_by_port() {
    let live = json!({"spec": {"ports": [
        {"port": 80, "targetPort": 8080, "name": "http"},
        {"port": 443, "name": "https"}
    ]}});
    let out = smp(
        &SERVICE,
        &live,
        json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}),
    )
    .unwrap();
    assert_eq!(
        out["spec"]["ports"],
        json!([{"port": 80, "targetPort": 9090, "name": "http"}, {"port": 443, "name": "https"}])
    );
}

#[test]
fn finalizers_union_as_a_set() {
    let out = smp(
        &POD,
        &pod(),
        json!({"metadata": {"finalizers": ["b", "c"]}}),
    )
    .unwrap();
    assert_eq!(out["metadata"]["finalizers"], json!(["a", "b", "c"]));
}

#[test]
fn delete_from_primitive_list_directive() {
    let out = smp(
        &POD,
        &pod(),
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
    )
    .unwrap();
    assert_eq!(out["metadata"]["finalizers"], json!(["b"]));
}

#[test]
fn owner_references_merge_by_uid() {
    let out = smp(
        &POD,
        &pod(),
        json!({"metadata": {"ownerReferences": [
            {"uid": "u1", "controller": true}, {"uid": "u2", "name": "rs2"}
        ]}}),
    )
    .unwrap();
    let refs = &out["metadata"]["ownerReferences"];
    assert_eq!(refs[0]["name"], "rs1");
    assert_eq!(refs[0]["controller"], true);
    assert_eq!(refs[1]["uid"], "u2");
}

#[test]
fn null_deletes_and_lists_without_strategy_are_replaced() {
    let out = smp(
        &POD,
        &pod(),
        json!({
            "metadata": {"labels": {"tier": null, "missing": null, "new": "x"}},
            "spec": {"tolerations": [{"key": "k3"}],
                     "containers": [{"name": "web", "args": ["-q"]}]}
        }),
    )
    .unwrap();
    assert_eq!(out["metadata"]["labels"], json!({"app": "web", "new": "x"}));
    assert_eq!(out["spec"]["tolerations"], json!([{"key": "k3"}]));
    assert_eq!(out["spec"]["containers"][0]["args"], json!(["-q"]));
}

#[test]
fn patch_delete_directive_in_list_item() {
    let out = smp(
        &POD,
        &pod(),
        json!({"spec": {"containers": [{"name": "side", "$patch": "delete"}]}}),
    )
    .unwrap();
    assert_eq!(names(&out["spec"]["containers"]), ["web"]);
}

#[test]
fn patch_replace_directive_in_list() {
    let out = smp(
        &POD,
        &pod(),
        json!({"spec": {"containers": [
            {"$patch": "replace"},
            {"name": "only", "image": "x", "gone": null}
        ]}}),
    )
    .unwrap();
    assert_eq!(
        out["spec"]["containers"],
        json!([{"name": "only", "image": "x"}])
    );
}

#[test]
fn patch_replace_and_delete_directives_in_maps() {
    let out = smp(
        &POD,
        &pod(),
        json!({"metadata": {"labels": {"$patch": "replace", "only": "1"}}}),
    )
    .unwrap();
    assert_eq!(out["metadata"]["labels"], json!({"only": "1"}));
    let out = smp(
        &POD,
        &pod(),
        json!({"metadata": {"labels": {"$patch": "delete"}}}),
    )
    .unwrap();
    assert_eq!(out["metadata"]["labels"], json!({}));
    assert_eq!(out["metadata"]["name"], "p");
}

#[test]
fn retain_keys_drops_unlisted_fields() {
    let live = json!({"spec": {"strategy": {
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}
    }}});
    let out = smp(
        &DEPLOY,
        &live,
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
    )
    .unwrap();
    assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
}

#[test]
fn retain_keys_must_list_every_patched_field() {
    let err = smp(
        &DEPLOY,
        &json!({}),
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}),
    )
    .unwrap_err();
    assert!(matches!(err, PatchError::Malformed { .. }), "{err:?}");
    let err = smp(
        &DEPLOY,
        &json!({}),
        json!({"spec": {"strategy": {"$retainKeys": "type"}}}),
    )
    .unwrap_err();
    assert!(matches!(err, PatchError::Malformed { .. }), "{err:?}");
}

#[test]
fn set_element_order_reorders_merged_list() {
    let out = smp(
        &POD,
        &pod(),
        json!({"spec": {
            "$setElementOrder/containers": [{"name": "side"}, {"name": "new"}, {"name": "web"}],
            "containers": [{"name": "new", "image": "n"}]
        }}),
    )
    .unwrap();
    assert_eq!(names(&out["spec"]["containers"]), ["side", "new", "web"]);
    assert_eq!(out["spec"]["containers"][2]["image"], "nginx:1");
}

#[test]
fn set_element_order_for_primitives_and_without_patch_list() {
    let out = smp(
        &POD,
        &pod(),
        json!({"metadata": {"$setElementOrder/finalizers": ["b", "a"]}}),
    )
    .unwrap();
    assert_eq!(out["metadata"]["finalizers"], json!(["b", "a"]));
}

#[test]
fn set_element_order_must_agree_with_patch_list() {
    let err = smp(
        &POD,
        &pod(),
        json!({"spec": {
            "$setElementOrder/containers": [{"name": "web"}],
            "containers": [{"name": "new", "image": "n"}]
        }}),
    )
    .unwrap_err();
    assert!(matches!(err, PatchError::Invalid { .. }), "{err:?}");
}

#[test]
fn patch_list_order_moves_named_items() {
    let out = smp(
        &POD,
        &pod(),
        json!({"spec": {"containers": [{"name": "side"}, {"name": "web"}]}}),
    )
    .unwrap();
    assert_eq!(names(&out["spec"]["containers"]), ["side", "web"]);
}

#[test]
fn bad_directives_are_invalid() {
    let cases = [
        json!({"metadata": {"labels": {"$patch": "merge"}}}),
        json!({"spec": {"containers": [{"name": "web", "$patch": "bogus"}]}}),
        json!({"spec": {"containers": [{"$patch": "merge"}]}}),
        json!({"spec": {"containers": [{"$patch": "delete"}]}}),
        json!({"spec": {"containers": [{"image": "no-name"}]}}),
        json!({"spec": {"containers": ["not-an-object"]}}),
        json!({"metadata": {"finalizers": [{"x": 1}]}}),
    ];
    for patch in cases {
        let err = smp(&POD, &pod(), patch.clone()).unwrap_err();
        assert!(
            matches!(err, PatchError::Invalid { .. }),
            "{patch}: {err:?}"
        );
    }
}

#[test]
fn malformed_bodies() {
    for body in [&b"[1, 2]"[..], b"nope", b"\"str\""] {
        let err = strategic_merge_patch(&POD, &pod(), body).unwrap_err();
        assert!(matches!(err, PatchError::Malformed { .. }), "{err:?}");
    }
}

#[test]
fn custom_resources_are_unsupported() {
    let cr = KindContext {
        group: "example.com",
        version: "v1",
        kind: "Widget",
        builtin: false,
    };
    let err = strategic_merge_patch(&cr, &json!({}), b"{}").unwrap_err();
    assert!(matches!(err, PatchError::Unsupported { .. }), "{err:?}");
}

#[test]
fn new_fields_are_filled_without_directives_or_nulls() {
    let out = smp(
        &POD,
        &json!({"metadata": {"name": "p"}}),
        json!({"spec": {"containers": [{"name": "a", "image": null, "$patch": "delete"},
                                        {"name": "b", "env": [{"name": "X", "value": null}]}]}}),
    )
    .unwrap();
    assert_eq!(
        out["spec"]["containers"],
        json!([{"name": "b", "env": [{"name": "X"}]}])
    );
}

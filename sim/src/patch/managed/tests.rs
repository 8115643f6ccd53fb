//! Tests for managedFields bookkeeping of non-apply writes.

use super::*;

const CM: KindContext = KindContext {
    group: "",
    version: "v1",
    kind: "ConfigMap",
    builtin: true,
};
const DEPLOY: KindContext = KindContext {
    group: "apps",
    version: "v1",
    kind: "Deployment",
    builtin: true,
};

fn managed_fields(obj: &Value) -> &Vec<Value> {
    static EMPTY: Vec<Value> = Vec::new();
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .unwrap_or(&EMPTY)
}

fn created(manager: &str) -> Value {
    let mut obj = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "ns", "uid": "u", "resourceVersion": "1",
                     "creationTimestamp": "2024-01-01T00:00:00Z", "labels": {"app": "x"}},
        "data": {"a": "1", "b": "2"}
    });
    record_update(&CM, None, &mut obj, manager, None, "2024-01-01T00:00:00Z");
    obj
}

#[test]
fn create_records_one_update_entry() {
    let obj = created("kubectl-create");
    assert_eq!(
        managed_fields(&obj),
        &vec![json!({
            "manager": "kubectl-create",
            "operation": "Update",
            "apiVersion": "v1",
            "time": "2024-01-01T00:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:data": {"f:a": {}, "f:b": {}},
                "f:metadata": {"f:labels": {".": {}, "f:app": {}}}
            }
        })]
    );
}

#[test]
fn update_transfers_ownership_and_drops_emptied_entries() {
    let old = created("creator");
    let mut new = old.clone();
    new["data"]["a"] = json!("changed");
    record_update(
        &CM,
        Some(&old),
        &mut new,
        "editor",
        None,
        "2024-01-02T00:00:00Z",
    );
    let fields = managed_fields(&new);
    assert_eq!(fields.len(), 2);
    assert_eq!(fields[0]["manager"], "creator");
    assert_eq!(
        fields[0]["fieldsV1"],
        json!({"f:data": {"f:b": {}}, "f:metadata": {"f:labels": {".": {}, "f:app": {}}}})
    );
    assert_eq!(fields[0]["time"], "2024-01-01T00:00:00Z");
    assert_eq!(fields[1]["manager"], "editor");
    assert_eq!(fields[1]["fieldsV1"], json!({"f:data": {"f:a": {}}}));

    let mut third = new.clone();
    third["data"]["b"] = json!("changed");
    third["metadata"]["labels"] = json!({"app": "y"});
    record_update(
        &CM,
        Some(&new),
        &mut third,
        "editor",
        None,
        "2024-01-03T00:00:00Z",
    );
    let fields = managed_fields(&third);
    assert_eq!(fields.len(), 2, "{fields:?}");
    assert_eq!(
        fields[0]["fieldsV1"],
        json!({"f:metadata": {"f:labels": {}}})
    );
    assert_eq!(
        fields[1]["fieldsV1"],
        json!({"f:data": {"f:a": {}, "f:b": {}}, "f:metadata": {"f:labels": {"f:app": {}}}})
    );
    assert_eq!(fields[1]["time"], "2024-01-03T00:00:00Z");
}

#[test]
fn removed_fields_leave_every_manager() {
    let old = created("creator");
    let mut new = old.clone();
    if let Some(data) = new["data"].as_object_mut() {
        data.remove("a");
        data.remove("b");
    }
    new["metadata"]["labels"] = json!(null);
    if let Some(meta) = new["metadata"].as_object_mut() {
        meta.remove("labels");
    }
    record_update(&CM, Some(&old), &mut new, "cleaner", None, "t2");
    assert!(new.pointer("/metadata/managedFields").is_none(), "{new}");
}

#[test]
fn unchanged_object_keeps_entries_and_times() {
    let old = created("creator");
    let mut new = old.clone();
    new["metadata"]["resourceVersion"] = json!("2");
    record_update(&CM, Some(&old), &mut new, "noop", None, "later");
    assert_eq!(managed_fields(&new), managed_fields(&old));
}

#[test]
fn one_entry_per_api_version_and_subresource() {
    let old = json!({"apiVersion": "apps/v1", "kind": "Deployment",
                     "metadata": {"name": "d"}, "spec": {"replicas": 1}, "status": {}});
    let mut new = old.clone();
    new["spec"]["replicas"] = json!(2);
    new["status"] = json!({"replicas": 1});
    record_update(&DEPLOY, Some(&old), &mut new, "ctl", None, "t1");
    let mut status = new.clone();
    status["status"]["replicas"] = json!(2);
    status["spec"]["replicas"] = json!(5);
    record_update(
        &DEPLOY,
        Some(&new),
        &mut status,
        "ctl",
        Some("status"),
        "t2",
    );
    let fields = managed_fields(&status);
    assert_eq!(fields.len(), 2, "{fields:?}");
    assert_eq!(fields[0]["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));
    assert!(fields[0].get("subresource").is_none());
    assert_eq!(fields[1]["subresource"], "status");
    assert_eq!(
        fields[1]["fieldsV1"],
        json!({"f:status": {"f:replicas": {}}})
    );

    let beta = KindContext {
        version: "v1beta1",
        ..DEPLOY
    };
    let mut again = status.clone();
    again["spec"]["paused"] = json!(true);
    record_update(&beta, Some(&status), &mut again, "ctl", None, "t3");
    assert_eq!(managed_fields(&again).len(), 3);
}

#[test]
fn sent_managed_fields_are_honoured_and_reset_by_single_empty_entry() {
    let old = created("creator");
    let mut new = old.clone();
    new["metadata"]["managedFields"] = json!([{}]);
    record_update(&CM, Some(&old), &mut new, "resetter", None, "t2");
    assert!(new.pointer("/metadata/managedFields").is_none(), "{new}");

    let mut cleared = old.clone();
    cleared["metadata"]["managedFields"] = json!([]);
    record_update(&CM, Some(&old), &mut cleared, "other", None, "t2");
    assert_eq!(managed_fields(&cleared), managed_fields(&old));
}

#[test]
fn entries_sort_apply_first_then_by_time() {
    let mut obj = json!({"metadata": {}});
    let mut set = FieldSet::default();
    set.insert(&[field_pe("data")]);
    let entry = |manager: &str, op: &str, time: &str| Entry {
        time: Some(time.to_string()),
        set: set.clone(),
        ..Entry::new(manager, op, "v1".into(), None)
    };
    encode(
        &mut obj,
        vec![
            entry("b", UPDATE, "2"),
            entry("a", UPDATE, "3"),
            entry("z", APPLY, "9"),
            entry("c", UPDATE, "1"),
        ],
    );
    let order: Vec<&str> = managed_fields(&obj)
        .iter()
        .map(|e| e["manager"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(order, ["z", "c", "b", "a"]);
}

#[test]
fn describe_matches_kubernetes_print_manager() {
    let update = Entry::new(
        "kube-controller-manager",
        UPDATE,
        "apps/v1".into(),
        Some("status"),
    );
    assert_eq!(
        update.describe(),
        "\"kube-controller-manager\" with subresource \"status\" using apps/v1"
    );
    let apply = Entry::new("kubectl", APPLY, "apps/v1".into(), None);
    assert_eq!(apply.describe(), "\"kubectl\"");
}

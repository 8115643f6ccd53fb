use super::*;
use serde_json::json;

fn cm(name: &str, data: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}")},
        "data": {"k": data}})
}

fn res() -> ResKey {
    ResKey::new("", "configmaps")
}

#[test]
fn create_get_update_delete_bump_versions_and_emit_in_order() {
    let s = Store::new(100);
    let (_, mut rx) = s.watch_from(None, s.current_rv()).unwrap();
    let a = s.create(&res(), cm("a", "1")).unwrap();
    assert_eq!(a["metadata"]["resourceVersion"], "2");
    assert!(matches!(
        s.create(&res(), cm("a", "1")),
        Err(StoreError::AlreadyExists { .. })
    ));
    let b = s.update(&res(), cm("a", "2"), Some(2)).unwrap();
    assert_eq!(b["metadata"]["resourceVersion"], "3");
    assert!(matches!(
        s.update(&res(), cm("a", "3"), Some(2)),
        Err(StoreError::Conflict { .. })
    ));
    let d = s.delete(&res(), &ObjKey::new("ns", "a"), None).unwrap();
    assert_eq!(d["metadata"]["resourceVersion"], "4");
    let kinds: Vec<_> = (0..3).map(|_| rx.try_recv().unwrap().kind).collect();
    assert_eq!(
        kinds,
        vec![EventType::Added, EventType::Modified, EventType::Deleted]
    );
    assert!(s.get(&res(), &ObjKey::new("ns", "a")).is_none());
}

#[test]
fn no_op_update_writes_nothing() {
    let s = Store::new(100);
    s.create(&res(), cm("a", "1")).unwrap();
    let rv = s.current_rv();
    let same = s.update(&res(), cm("a", "1"), None).unwrap();
    assert_eq!(same["metadata"]["resourceVersion"], rv.to_string());
    assert_eq!(s.current_rv(), rv);
}

#[test]
fn list_pages_in_key_order_and_filters_namespace() {
    let s = Store::new(100);
    for n in ["c", "a", "b"] {
        s.create(&res(), cm(n, "1")).unwrap();
    }
    let mut other = cm("z", "1");
    other["metadata"]["namespace"] = json!("other");
    s.create(&res(), other).unwrap();
    let p1 = s.list(&res(), Some("ns"), None, 2, &|_| true);
    let names: Vec<_> = p1
        .items
        .iter()
        .map(|o| Meta(o).name().to_string())
        .collect();
    assert_eq!(names, vec!["a", "b"]);
    assert_eq!(p1.remaining, 1);
    let next = p1.next.unwrap();
    let p2 = s.list(&res(), Some("ns"), Some(&next), 2, &|_| true);
    assert_eq!(p2.items.len(), 1);
    assert!(p2.next.is_none());
    assert_eq!(s.list(&res(), None, None, 0, &|_| true).items.len(), 4);
}

#[test]
fn watch_resumes_from_log_and_answers_gone_when_compacted() {
    let s = Store::new(2);
    for n in ["a", "b", "c", "d"] {
        s.create(&res(), cm(n, "1")).unwrap();
    }
    // versions 2..=5; the log keeps 4 and 5
    let (backlog, _) = s.watch_from(Some(&res()), 3).unwrap();
    assert_eq!(backlog.iter().map(|e| e.rv).collect::<Vec<_>>(), vec![4, 5]);
    assert!(matches!(
        s.watch_from(Some(&res()), 2),
        Err(StoreError::Gone { .. })
    ));
}

#[test]
fn dependents_are_indexed_by_owner_uid() {
    let s = Store::new(100);
    let mut child = cm("child", "1");
    child["metadata"]["ownerReferences"] = json!([{"uid": "uid-parent"}]);
    s.create(&res(), child).unwrap();
    assert_eq!(s.dependents("uid-parent").len(), 1);
    s.delete(&res(), &ObjKey::new("ns", "child"), None).unwrap();
    assert!(s.dependents("uid-parent").is_empty());
    assert!(!s.uid_exists("uid-child"));
}

#[test]
fn the_log_stays_within_its_memory_budget() {
    // Room for a handful of 10 kB objects: older events are compacted away.
    let s = Store::with_budget(1_000_000, 100_000);
    let big = "x".repeat(10_000);
    for i in 0..50 {
        s.create(&res(), cm(&format!("o{i}"), &big)).unwrap();
    }
    let (backlog, _) = s.watch_from(Some(&res()), s.oldest_rv()).unwrap();
    assert!(
        !backlog.is_empty() && backlog.len() < 10,
        "{}",
        backlog.len()
    );
    assert!(matches!(
        s.watch_from(Some(&res()), 1),
        Err(StoreError::Gone { requested: 1, .. })
    ));
    // The newest event is always kept, however large.
    let s = Store::with_budget(10, 10);
    s.create(&res(), cm("huge", &big)).unwrap();
    assert_eq!(s.watch_from(Some(&res()), 1).unwrap().0.len(), 1);
}

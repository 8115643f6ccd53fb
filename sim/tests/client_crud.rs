//! kube::Client against the embedded API server: CRUD, errors, selectors, pagination,
//! deletecollection, denied identities, events in both API groups.

mod common;

use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::core::Status;
use serde_json::json;

fn cm(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(
        json!({"metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}),
    )
    .unwrap()
}

fn code(e: kube::Error) -> Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

async fn ns(client: &kube::Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let n: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    api.create(&PostParams::default(), &n).await.unwrap();
}

#[tokio::test]
async fn typed_crud_with_kubernetes_errors() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    ns(&c, "app").await;
    let api: Api<ConfigMap> = Api::namespaced(c.clone(), "app");
    let created = api
        .create(&PostParams::default(), &cm("one", json!({"app": "x"})))
        .await
        .unwrap();
    let meta = &created.metadata;
    assert!(meta.uid.as_deref().is_some_and(|u| u.len() == 36));
    assert!(meta.creation_timestamp.is_some());
    let rv1 = meta.resource_version.clone().unwrap();

    let dup = code(
        api.create(&PostParams::default(), &cm("one", json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!((dup.code, dup.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(dup.message, "configmaps \"one\" already exists");

    let mut changed = created.clone();
    changed.data = Some([("k".to_string(), "w".to_string())].into());
    let replaced = api
        .replace("one", &PostParams::default(), &changed)
        .await
        .unwrap();
    assert_ne!(
        replaced.metadata.resource_version.as_deref(),
        Some(rv1.as_str())
    );
    // The old resourceVersion is now stale: 409 Conflict.
    let stale = code(
        api.replace("one", &PostParams::default(), &changed)
            .await
            .unwrap_err(),
    );
    assert_eq!((stale.code, stale.reason.as_str()), (409, "Conflict"));

    let missing = code(api.get("nope").await.unwrap_err());
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
    let bad = code(
        api.create(&PostParams::default(), &cm("Bad_Name", json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!((bad.code, bad.reason.as_str()), (422, "Invalid"));
    assert!(bad.message.contains("metadata.name"), "{}", bad.message);

    let in_missing_ns: Api<ConfigMap> = Api::namespaced(c.clone(), "ghost");
    let e = code(
        in_missing_ns
            .create(&PostParams::default(), &cm("x", json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 404);

    api.delete("one", &DeleteParams::default()).await.unwrap();
    assert_eq!(code(api.get("one").await.unwrap_err()).code, 404);
}

#[tokio::test]
async fn selectors_pagination_and_deletecollection() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    ns(&c, "sel").await;
    let api: Api<ConfigMap> = Api::namespaced(c.clone(), "sel");
    for i in 0..25 {
        let tier = if i % 2 == 0 { "web" } else { "db" };
        api.create(
            &PostParams::default(),
            &cm(
                &format!("cm-{i:02}"),
                json!({"tier": tier, "idx": i.to_string()}),
            ),
        )
        .await
        .unwrap();
    }
    let names = |l: kube::core::ObjectList<ConfigMap>| -> Vec<String> {
        l.items
            .into_iter()
            .filter_map(|o| o.metadata.name)
            .collect()
    };
    assert_eq!(
        api.list(&ListParams::default().labels("tier=web"))
            .await
            .unwrap()
            .items
            .len(),
        13
    );
    assert_eq!(
        api.list(&ListParams::default().labels("tier!=web"))
            .await
            .unwrap()
            .items
            .len(),
        12
    );
    assert_eq!(
        api.list(&ListParams::default().labels("idx in (1,2,3),tier=db"))
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    assert_eq!(
        api.list(&ListParams::default().labels("!tier"))
            .await
            .unwrap()
            .items
            .len(),
        0
    );
    let by_name = api
        .list(&ListParams::default().fields("metadata.name=cm-07"))
        .await
        .unwrap();
    assert_eq!(names(by_name), vec!["cm-07"]);
    let bad = code(
        api.list(&ListParams::default().labels("a in ("))
            .await
            .unwrap_err(),
    );
    assert_eq!(bad.code, 400);
    let bad_field = code(
        api.list(&ListParams::default().fields("spec.foo=x"))
            .await
            .unwrap_err(),
    );
    assert_eq!(bad_field.code, 400);

    let mut seen = Vec::new();
    let mut lp = ListParams::default().limit(10);
    let mut pages = 0;
    loop {
        let page = api.list(&lp).await.unwrap();
        pages += 1;
        let token = page.metadata.continue_.clone();
        seen.extend(names(page));
        match token.filter(|t| !t.is_empty()) {
            Some(t) => lp = lp.continue_token(&t),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 25);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "lists come in key order");

    api.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("tier=db"),
    )
    .await
    .unwrap();
    assert_eq!(
        api.list(&ListParams::default()).await.unwrap().items.len(),
        13
    );
}

#[tokio::test]
async fn denied_identity_gets_403_and_unknown_token_401() {
    let fleet = common::fleet().await;
    let a = &fleet.cluster("a").unwrap().cluster;
    a.auth.add_rule(mcs_sim::api::DenyRule {
        owner: "test".into(),
        user: "admin".into(),
        verbs: vec!["list".into()],
        resources: vec!["secrets".into()],
        namespaces: vec![],
    });
    let c = common::client(&fleet, "a").await;
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(c.clone(), "default");
    let e = code(secrets.list(&ListParams::default()).await.unwrap_err());
    assert_eq!((e.code, e.reason.as_str()), (403, "Forbidden"));
    assert!(
        e.message.contains("cannot list resource \"secrets\""),
        "{}",
        e.message
    );
    // Other verbs and resources still work.
    let cms: Api<ConfigMap> = Api::namespaced(c, "default");
    cms.list(&ListParams::default()).await.unwrap();

    let mut kc = fleet.kubeconfig();
    kc["users"][0]["user"]["token"] = json!("wrong");
    let kc: kube::config::Kubeconfig = serde_json::from_value(kc).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    let bad = kube::Client::try_from(cfg).unwrap();
    let e = code(
        Api::<ConfigMap>::namespaced(bad, "default")
            .list(&ListParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 401);
}

#[tokio::test]
async fn events_are_served_in_both_groups() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let core: Api<Event> = Api::namespaced(c.clone(), "default");
    let ev: Event = serde_json::from_value(json!({
        "metadata": {"name": "e1"}, "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
        "reason": "Testing", "message": "hello", "type": "Warning"})).unwrap();
    core.create(&PostParams::default(), &ev).await.unwrap();
    let v1: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(c.clone(), "default");
    let got = v1.get("e1").await.unwrap();
    assert_eq!(got.note.as_deref(), Some("hello"));
    assert_eq!(got.regarding.and_then(|r| r.name).as_deref(), Some("p"));
    let warnings = core
        .list(&ListParams::default().fields("type=Warning,involvedObject.name=p"))
        .await
        .unwrap();
    assert_eq!(warnings.items.len(), 1);
}

#[tokio::test]
async fn events_k8s_io_events_as_kube_recorder_writes_them() {
    use kube::runtime::events::{Event as KEvent, EventType, Recorder, Reporter};
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let reporter = Reporter {
        controller: "tester".into(),
        instance: Some("tester-1".into()),
    };
    let recorder = Recorder::new(c.clone(), reporter);
    let reference = k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("ConfigMap".into()),
        name: Some("x".into()),
        namespace: Some("default".into()),
        ..Default::default()
    };
    let ev = KEvent {
        type_: EventType::Warning,
        reason: "Broken".into(),
        note: Some("it broke".into()),
        action: "Check".into(),
        secondary: None,
    };
    recorder.publish(&ev, &reference).await.unwrap();
    recorder.publish(&ev, &reference).await.unwrap();
    let core: Api<Event> = Api::namespaced(c, "default");
    let list = core
        .list(&ListParams::default().fields("reason=Broken"))
        .await
        .unwrap();
    assert_eq!(
        list.items.len(),
        1,
        "the second publish updates the same event (series)"
    );
    assert_eq!(list.items[0].message.as_deref(), Some("it broke"));
    assert_eq!(list.items[0].reporting_component.as_deref(), Some("tester"));
}

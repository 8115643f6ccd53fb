//! Watches through kube::Client: event order, resuming from a resourceVersion, 410 Gone and
//! re-list with kube's runtime watcher, label-filtered watches, bookmarks, await_condition.

mod common;

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::{WatchStreamExt, wait::await_condition, watcher};
use mcs_sim::FleetConfig;
use serde_json::json;

fn cm(name: &str, app: &str) -> ConfigMap {
    serde_json::from_value(
        json!({"metadata": {"name": name, "labels": {"app": app}}, "data": {"v": "1"}}),
    )
    .unwrap()
}

type Events =
    std::pin::Pin<Box<dyn futures::Stream<Item = kube::Result<WatchEvent<ConfigMap>>> + Send>>;

async fn next_any(s: &mut Events) -> WatchEvent<ConfigMap> {
    tokio::time::timeout(Duration::from_secs(5), s.next())
        .await
        .expect("event within 5s")
        .expect("stream open")
        .expect("no error")
}

/// The next event that is not a bookmark (kube asks for bookmarks by default).
async fn next_event(s: &mut Events) -> WatchEvent<ConfigMap> {
    loop {
        match next_any(s).await {
            WatchEvent::Bookmark(_) => continue,
            e => return e,
        }
    }
}

fn describe(e: &WatchEvent<ConfigMap>) -> String {
    match e {
        WatchEvent::Added(o) => format!("ADDED {}", o.metadata.name.clone().unwrap_or_default()),
        WatchEvent::Modified(o) => {
            format!("MODIFIED {}", o.metadata.name.clone().unwrap_or_default())
        }
        WatchEvent::Deleted(o) => {
            format!("DELETED {}", o.metadata.name.clone().unwrap_or_default())
        }
        WatchEvent::Bookmark(_) => "BOOKMARK".into(),
        WatchEvent::Error(e) => format!("ERROR {}", e.code),
    }
}

#[tokio::test]
async fn watch_sees_create_update_delete_in_order_and_resumes() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let api: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    let rv0 = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut stream = api
        .watch(&WatchParams::default(), &rv0)
        .await
        .unwrap()
        .boxed();
    api.create(&PostParams::default(), &cm("w", "x"))
        .await
        .unwrap();
    api.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"v": "2"}})),
    )
    .await
    .unwrap();
    api.delete("w", &DeleteParams::default()).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(describe(&next_event(&mut stream).await));
    }
    assert_eq!(seen, vec!["ADDED w", "MODIFIED w", "DELETED w"]);

    // Resume from rv0 again: the log replays the same three events.
    let mut again = api
        .watch(&WatchParams::default(), &rv0)
        .await
        .unwrap()
        .boxed();
    let mut replay = Vec::new();
    for _ in 0..3 {
        replay.push(describe(&next_event(&mut again).await));
    }
    assert_eq!(replay, seen);
}

#[tokio::test]
async fn label_filtered_watch_sees_objects_enter_and_leave() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let api: Api<ConfigMap> = Api::namespaced(c, "default");
    let mut s = api
        .watch(&WatchParams::default().labels("app=web"), "0")
        .await
        .unwrap()
        .boxed();
    api.create(&PostParams::default(), &cm("f", "db"))
        .await
        .unwrap();
    api.patch(
        "f",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "web"}}})),
    )
    .await
    .unwrap();
    assert_eq!(describe(&next_event(&mut s).await), "ADDED f");
    api.patch(
        "f",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "db"}}})),
    )
    .await
    .unwrap();
    assert_eq!(describe(&next_event(&mut s).await), "DELETED f");
}

#[tokio::test]
async fn expired_resource_version_is_410_and_the_runtime_watcher_relists() {
    let fleet = common::fleet_with(FleetConfig {
        event_log: 8,
        ..Default::default()
    })
    .await;
    let c = common::client(&fleet, "a").await;
    let api: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    let rv0 = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    for i in 0..20 {
        api.create(&PostParams::default(), &cm(&format!("g{i}"), "x"))
            .await
            .unwrap();
    }
    let mut s = api
        .watch(&WatchParams::default(), &rv0)
        .await
        .unwrap()
        .boxed();
    let first = tokio::time::timeout(Duration::from_secs(5), s.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(describe(&first), "ERROR 410");

    // kube's watcher lists, then watches; after a 410 it re-lists and still converges.
    let objs = watcher(api.clone(), watcher::Config::default()).applied_objects();
    futures::pin_mut!(objs);
    let mut names = std::collections::BTreeSet::new();
    while names.len() < 20 {
        let o = tokio::time::timeout(Duration::from_secs(5), objs.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        names.insert(o.metadata.name.unwrap());
    }
    api.create(&PostParams::default(), &cm("late", "x"))
        .await
        .unwrap();
    let late = tokio::time::timeout(Duration::from_secs(5), objs.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(late.metadata.name.as_deref(), Some("late"));
}

#[tokio::test]
async fn bookmarks_and_streaming_lists_work_with_the_runtime_watcher() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let api: Api<ConfigMap> = Api::namespaced(c, "default");
    api.create(&PostParams::default(), &cm("s1", "x"))
        .await
        .unwrap();
    let wp = WatchParams {
        bookmarks: true,
        ..WatchParams::default()
    };
    let mut s = api.watch(&wp, "0").await.unwrap().boxed();
    assert_eq!(describe(&next_event(&mut s).await), "ADDED s1");
    assert_eq!(describe(&next_any(&mut s).await), "BOOKMARK");

    let cfg = watcher::Config::default().streaming_lists();
    let objs = watcher(api.clone(), cfg).applied_objects();
    futures::pin_mut!(objs);
    let o = tokio::time::timeout(Duration::from_secs(5), objs.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(o.metadata.name.as_deref(), Some("s1"));
}

#[tokio::test]
async fn await_condition_returns_when_the_write_lands() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let api: Api<ConfigMap> = Api::namespaced(c, "default");
    let waiter = tokio::spawn(await_condition(
        api.clone(),
        "cond",
        |o: Option<&ConfigMap>| {
            o.and_then(|o| o.data.as_ref())
                .and_then(|d| d.get("v"))
                .is_some_and(|v| v == "ready")
        },
    ));
    api.create(&PostParams::default(), &cm("cond", "x"))
        .await
        .unwrap();
    api.patch(
        "cond",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"v": "ready"}})),
    )
    .await
    .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(got.unwrap().data.unwrap()["v"], "ready");
}

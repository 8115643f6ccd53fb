//! Limits of the API server as kube-apiserver has them: a bounded watch log (410 Gone and
//! a re-list by kube's watcher), `remainingItemCount` on limited lists, Status `details`.

mod common;

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::watcher;
use mcs_sim::FleetConfig;
use serde_json::json;

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"v": "1"}})).unwrap()
}

#[tokio::test]
async fn a_watch_from_before_compaction_is_410_and_the_watcher_relists() {
    // A small memory budget: a few hundred kB of Secrets compact the whole log.
    let fleet = common::fleet_with(FleetConfig {
        event_log_bytes: 200_000,
        ..Default::default()
    })
    .await;
    let c = common::client(&fleet, "a").await;
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    let secrets: Api<Secret> = Api::namespaced(c.clone(), "default");
    cms.create(&PostParams::default(), &cm("first"))
        .await
        .unwrap();

    // The runtime watcher: no bookmarks (they would carry it past the compaction), and a
    // 1 s server-side timeout so that it re-watches from its last version.
    let cfg = watcher::Config::default().timeout(1).disable_bookmarks();
    let events = watcher(cms.clone(), cfg);
    futures::pin_mut!(events);
    let mut inits = 0;
    let mut saw_late = false;
    let mut wrote = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !saw_late {
        assert!(tokio::time::Instant::now() < deadline, "no re-list seen");
        let ev = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("an event")
            .expect("stream open");
        match ev {
            Ok(watcher::Event::Init) => {
                inits += 1;
                // Only a re-list (after the 410) can show an object created from now on.
                if inits == 2 {
                    cms.create(&PostParams::default(), &cm("late"))
                        .await
                        .unwrap();
                }
            }
            Ok(watcher::Event::InitDone) if !wrote => {
                // Writes to another resource compact the log past the watcher's version.
                wrote = true;
                let big = "x".repeat(20_000);
                for i in 0..40 {
                    let s: Secret = serde_json::from_value(
                        json!({"metadata": {"name": format!("s{i}")}, "stringData": {"k": big}}),
                    )
                    .unwrap();
                    secrets.create(&PostParams::default(), &s).await.unwrap();
                }
            }
            Ok(watcher::Event::InitApply(o)) | Ok(watcher::Event::Apply(o)) => {
                saw_late |= o.metadata.name.as_deref() == Some("late");
            }
            _ => {}
        }
    }
    assert_eq!(inits, 2, "the watcher re-listed once");

    // A plain watch from version 1 now answers 410 Expired as its first event.
    let mut s = cms
        .watch(&WatchParams::default().disable_bookmarks(), "1")
        .await
        .unwrap()
        .boxed();
    match tokio::time::timeout(Duration::from_secs(5), s.next()).await {
        Ok(Some(Ok(WatchEvent::Error(e)))) => {
            assert_eq!((e.code, e.reason.as_str()), (410, "Expired"), "{e:?}");
            assert!(
                e.message.starts_with("too old resource version: 1 ("),
                "{e:?}"
            );
        }
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }
}

#[tokio::test]
async fn limited_lists_count_the_remaining_items() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let cms: Api<ConfigMap> = Api::namespaced(c, "default");
    for i in 0..5 {
        cms.create(&PostParams::default(), &cm(&format!("c{i}")))
            .await
            .unwrap();
    }
    let page = cms.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(page.items.len(), 2);
    // kube-root-ca.crt may or may not exist: count what the full list holds.
    let all = cms.list(&ListParams::default()).await.unwrap().items.len() as i64;
    assert_eq!(page.metadata.remaining_item_count, Some(all - 2));
    let last = cms
        .list(
            &ListParams::default()
                .limit(2)
                .continue_token(page.metadata.continue_.as_deref().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(last.metadata.remaining_item_count, Some(all - 4));
    // With a selector the count is unknown, as for the apiserver.
    let sel = cms
        .list(&ListParams::default().limit(1).labels("x!=y"))
        .await
        .unwrap();
    assert_eq!(sel.metadata.remaining_item_count, None);
}

#[tokio::test]
async fn unknown_paths_answer_404_with_empty_details() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let req = http::Request::get("/api/v1/namespaces/default/pods/x/ephemeralcontainers")
        .body(Vec::new())
        .unwrap();
    let e = c.request_text(req).await.unwrap_err();
    match e {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 404);
            assert_eq!(s.reason, "NotFound");
            assert_eq!(
                s.message,
                "the server could not find the requested resource"
            );
            // kubectl debug dereferences `details` of this 404.
            let d = s.details.expect("details");
            assert!(d.name.is_empty() && d.kind.is_empty(), "{d:?}");
        }
        other => panic!("{other:?}"),
    }
}

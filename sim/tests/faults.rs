//! Fault objects applied through the API: injected API errors (clients with retries still
//! converge, state stays consistent, watches are cut and resumed), access denial, and
//! invalid fault specs reported in status.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use futures::TryStreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, PostParams,
};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;

fn faults(c: &kube::Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("sim.mcs-harness.dev", "v1alpha1", "Fault");
    Api::all_with(
        c.clone(),
        &ApiResource::from_gvk_with_plural(&gvk, "faults"),
    )
}

fn fault(name: &str, spec: serde_json::Value) -> DynamicObject {
    serde_json::from_value(json!({"apiVersion": "sim.mcs-harness.dev/v1alpha1", "kind": "Fault", "metadata": {"name": name}, "spec": spec})).unwrap()
}

async fn status_of(api: &Api<DynamicObject>, name: &str) -> serde_json::Value {
    common::eventually(5, "fault status", || {
        let api = api.clone();
        let name = name.to_string();
        async move {
            let f = api.get(&name).await.ok()?;
            f.data
                .get("status")
                .filter(|s| s.get("active").is_some())
                .cloned()
        }
    })
    .await
}

fn transient(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code >= 500 || s.code == 429)
}

#[tokio::test]
async fn clients_with_retries_converge_under_injected_api_errors() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let f = faults(&c);
    let spec = json!({"apiErrors": {"rate": 0.4, "codes": [500, 503], "watchDropSeconds": 1}});
    f.create(&PostParams::default(), &fault("flaky", spec))
        .await
        .unwrap();
    assert_eq!(status_of(&f, "flaky").await["active"], true);

    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    let (mut failures, mut created) = (0, 0);
    for i in 0..40 {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": format!("cm-{i}")}})).unwrap();
        loop {
            match cms.create(&PostParams::default(), &cm).await {
                Ok(_) => break created += 1,
                Err(e) if transient(&e) => failures += 1,
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
    }
    assert_eq!(created, 40);
    // kube retries 429/503 itself; the 500s reach us. Count what the server injected.
    let injected = fleet.cluster("a").unwrap().cluster.api_faults.injected();
    assert!(
        injected > 10 && failures > 0,
        "errors were injected ({injected} injected, {failures} seen)"
    );

    // A runtime watcher (lists and watches through errors and cut watches) sees everything.
    let w = watcher(cms.clone(), watcher::Config::default())
        .default_backoff()
        .applied_objects();
    futures::pin_mut!(w);
    let mut seen = BTreeSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while seen.len() < 40 {
        let o = tokio::time::timeout_at(deadline, w.try_next())
            .await
            .expect("converges")
            .ok()
            .flatten();
        if let Some(o) = o {
            seen.insert(o.metadata.name.unwrap());
        }
    }
    f.delete("flaky", &DeleteParams::default()).await.unwrap();
    common::eventually(5, "fault removed", || {
        let cms = cms.clone();
        async move {
            for _ in 0..50 {
                cms.list(&ListParams::default()).await.ok()?;
            }
            Some(())
        }
    })
    .await;
    let names: BTreeSet<String> = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|o| o.metadata.name)
        .collect();
    assert_eq!(
        names.len(),
        40,
        "exactly the 40 objects, none lost or duplicated"
    );
}

#[tokio::test]
async fn deny_fault_forbids_an_identity_until_deleted() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let f = faults(&c);
    let secrets: Api<Secret> = Api::namespaced(c.clone(), "default");
    f.create(
        &PostParams::default(),
        &fault(
            "no-secrets",
            json!({"deny": {"user": "admin", "verbs": ["list"], "resources": ["secrets"]}}),
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        status_of(&f, "no-secrets").await["effect"],
        "deny admin list on secrets"
    );
    let e = secrets.list(&ListParams::default()).await.unwrap_err();
    assert!(
        matches!(e, kube::Error::Api(ref s) if s.code == 403),
        "{e:?}"
    );
    f.delete("no-secrets", &DeleteParams::default())
        .await
        .unwrap();
    common::eventually(5, "access restored", || {
        let s = secrets.clone();
        async move { s.list(&ListParams::default()).await.ok().map(|_| ()) }
    })
    .await;
}

#[tokio::test]
async fn invalid_fault_is_reported_inactive() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let f = faults(&c);
    f.create(
        &PostParams::default(),
        &fault("bad", json!({"dns": {"mode": "Slow"}})),
    )
    .await
    .unwrap();
    let st = status_of(&f, "bad").await;
    assert_eq!(st["active"], false);
    assert!(
        st["message"].as_str().unwrap().contains("ServFail or Drop"),
        "{st}"
    );
}

#[tokio::test]
async fn scoped_faults_touch_only_their_namespaces() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let f = faults(&c);
    for ns in ["mine", "theirs"] {
        let ns: k8s_openapi::api::core::v1::Namespace =
            serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
        Api::all(c.clone())
            .create(&PostParams::default(), &ns)
            .await
            .unwrap();
    }
    let spec =
        json!({"apiErrors": {"rate": 1.0, "codes": [500]}, "scope": {"namespaces": ["mine"]}});
    f.create(&PostParams::default(), &fault("mine-only", spec))
        .await
        .unwrap();
    let st = status_of(&f, "mine-only").await;
    assert!(
        st["effect"]
            .as_str()
            .unwrap()
            .ends_with(" in namespaces mine"),
        "{st}"
    );
    let mine: Api<ConfigMap> = Api::namespaced(c.clone(), "mine");
    let theirs: Api<ConfigMap> = Api::namespaced(c.clone(), "theirs");
    let e = mine.list(&ListParams::default()).await.unwrap_err();
    assert!(
        matches!(e, kube::Error::Api(ref s) if s.code == 500),
        "{e:?}"
    );
    theirs.list(&ListParams::default()).await.unwrap();
    Api::<ConfigMap>::all(c.clone())
        .list(&ListParams::default())
        .await
        .unwrap();

    let deny = json!({"deny": {"user": "admin", "resources": ["configmaps"]}, "scope": {"namespaces": ["theirs"]}});
    f.create(&PostParams::default(), &fault("deny-theirs", deny))
        .await
        .unwrap();
    status_of(&f, "deny-theirs").await;
    let e = theirs.list(&ListParams::default()).await.unwrap_err();
    assert!(
        matches!(e, kube::Error::Api(ref s) if s.code == 403),
        "{e:?}"
    );
    f.delete("mine-only", &DeleteParams::default())
        .await
        .unwrap();
    common::eventually(5, "mine restored", || {
        let m = mine.clone();
        async move { m.list(&ListParams::default()).await.ok().map(|_| ()) }
    })
    .await;
}

#[tokio::test]
async fn a_fleet_without_faults_does_not_serve_the_fault_api() {
    let cfg = mcs_sim::FleetConfig {
        faults: false,
        ..Default::default()
    };
    let fleet = common::fleet_with(cfg).await;
    let c = common::client(&fleet, "a").await;
    let e = faults(&c).list(&ListParams::default()).await.unwrap_err();
    assert!(
        matches!(e, kube::Error::Api(ref s) if s.code == 404),
        "{e:?}"
    );
    let gvk = GroupVersionKind::gvk("sim.mcs-harness.dev", "v1alpha1", "Fault");
    assert!(kube::discovery::pinned_kind(&c, &gvk).await.is_err());
}

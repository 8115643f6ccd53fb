//! Object lifecycle through kube::Client: CRDs registered at runtime and used (typed by
//! DynamicObject), finalizers and deletionTimestamp, namespace deletion cascade, and
//! ownerReference garbage collection (background, foreground, orphan).

mod common;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams,
    PostParams, PropagationPolicy,
};
use kube::discovery::Discovery;
use serde_json::json;

fn crd() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                "subresources": {"status": {}},
                "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}]}]}})).unwrap()
}

#[tokio::test]
async fn crd_is_established_discovered_and_usable() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let crds: Api<CustomResourceDefinition> = Api::all(c.clone());
    crds.create(&PostParams::default(), &crd()).await.unwrap();
    common::eventually(5, "crd established", || {
        let crds = crds.clone();
        async move {
            let c = crds.get("widgets.example.com").await.ok()?;
            let conds = c.status?.conditions?;
            conds
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
                .then_some(())
        }
    })
    .await;
    let discovery = Discovery::new(c.clone()).run().await.unwrap();
    let gvk = GroupVersionKind::gvk("example.com", "v1", "Widget");
    let (ar, caps) = discovery.resolve_gvk(&gvk).expect("discovered");
    assert!(caps.supports_operation(kube::discovery::verbs::WATCH));
    let api: Api<DynamicObject> = Api::namespaced_with(c.clone(), "default", &ar);
    let w: DynamicObject =
        serde_json::from_value(json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w1"}, "spec": {"size": 3}, "status": {"ok": true}}))
        .unwrap();
    let created = api.create(&PostParams::default(), &w).await.unwrap();
    assert_eq!(created.data["spec"]["size"], 3);
    assert!(
        created.data.get("status").is_none(),
        "status is dropped on create"
    );
    let st = api
        .patch_status(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"ok": true}})),
        )
        .await
        .unwrap();
    assert_eq!(st.data["status"]["ok"], true);
    assert_eq!(api.list(&Default::default()).await.unwrap().items.len(), 1);
    // Strategic merge is not supported for custom resources (415).
    let e = api
        .patch(
            "w1",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"size": 4}})),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, kube::Error::Api(ref s) if s.code == 415),
        "{e:?}"
    );

    // Deleting the CRD removes its objects and stops serving the resource.
    crds.delete("widgets.example.com", &DeleteParams::default())
        .await
        .unwrap();
    common::eventually(5, "crd gone", || {
        let crds = crds.clone();
        async move {
            crds.get_opt("widgets.example.com")
                .await
                .ok()?
                .is_none()
                .then_some(())
        }
    })
    .await;
    let ar2 = ApiResource::from_gvk_with_plural(&gvk, "widgets");
    let gone: Api<DynamicObject> = Api::namespaced_with(c, "default", &ar2);
    assert!(gone.list(&Default::default()).await.is_err());
}

#[tokio::test]
async fn namespace_deletion_cascades_and_waits_for_finalizers() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let nss: Api<Namespace> = Api::all(c.clone());
    nss.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "doomed"}})).unwrap(),
    )
    .await
    .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "doomed");
    for name in ["a", "b"] {
        cms.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": name}})).unwrap(),
        )
        .await
        .unwrap();
    }
    let held: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}),
    )
    .unwrap();
    cms.create(&PostParams::default(), &held).await.unwrap();

    nss.delete("doomed", &DeleteParams::default())
        .await
        .unwrap();
    let ns = nss.get("doomed").await.unwrap();
    assert_eq!(ns.status.unwrap().phase.as_deref(), Some("Terminating"));
    common::eventually(5, "contents deleted", || {
        let cms = cms.clone();
        async move {
            let l = cms.list(&Default::default()).await.ok()?;
            (l.items.len() == 1 && l.items[0].metadata.deletion_timestamp.is_some()).then_some(())
        }
    })
    .await;
    // New content is refused while terminating.
    let e = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "new"}})).unwrap(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, kube::Error::Api(ref s) if s.code == 403),
        "{e:?}"
    );
    assert!(
        nss.get_opt("doomed").await.unwrap().is_some(),
        "held by the finalizer"
    );

    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    common::eventually(5, "namespace gone", || {
        let nss = nss.clone();
        async move { nss.get_opt("doomed").await.ok()?.is_none().then_some(()) }
    })
    .await;
}

async fn owner_and_dependent(c: &kube::Client, suffix: &str) -> (Api<ConfigMap>, Api<Secret>) {
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    let secrets: Api<Secret> = Api::namespaced(c.clone(), "default");
    let owner = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": format!("owner-{suffix}")}}))
                .unwrap(),
        )
        .await
        .unwrap();
    let dep: Secret = serde_json::from_value(json!({"metadata": {"name": format!("dep-{suffix}"), "ownerReferences": [{
        "apiVersion": "v1", "kind": "ConfigMap", "name": owner.metadata.name, "uid": owner.metadata.uid}]}})).unwrap();
    secrets.create(&PostParams::default(), &dep).await.unwrap();
    (cms, secrets)
}

#[tokio::test]
async fn garbage_collection_follows_propagation_policy() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;

    let (cms, secrets) = owner_and_dependent(&c, "bg").await;
    cms.delete("owner-bg", &DeleteParams::default())
        .await
        .unwrap();
    common::eventually(5, "background GC", || {
        let s = secrets.clone();
        async move { s.get_opt("dep-bg").await.ok()?.is_none().then_some(()) }
    })
    .await;

    let (cms, secrets) = owner_and_dependent(&c, "fg").await;
    let dp = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Foreground),
        ..Default::default()
    };
    cms.delete("owner-fg", &dp).await.unwrap();
    common::eventually(5, "foreground GC", || {
        let (s, cms) = (secrets.clone(), cms.clone());
        async move {
            let dep_gone = s.get_opt("dep-fg").await.ok()?.is_none();
            let owner_gone = cms.get_opt("owner-fg").await.ok()?.is_none();
            (dep_gone && owner_gone).then_some(())
        }
    })
    .await;

    let (cms, secrets) = owner_and_dependent(&c, "or").await;
    let dp = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Orphan),
        ..Default::default()
    };
    cms.delete("owner-or", &dp).await.unwrap();
    let orphan = common::eventually(5, "orphaned", || {
        let (s, cms) = (secrets.clone(), cms.clone());
        async move {
            let owner_gone = cms.get_opt("owner-or").await.ok()?.is_none();
            let dep = s.get_opt("dep-or").await.ok()??;
            (owner_gone
                && dep
                    .metadata
                    .owner_references
                    .as_ref()
                    .is_none_or(Vec::is_empty))
            .then_some(dep)
        }
    })
    .await;
    assert_eq!(orphan.metadata.name.as_deref(), Some("dep-or"));
}

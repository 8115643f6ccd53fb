//! Every patch type through kube::Client: JSON patch, merge patch, strategic merge (lists
//! merged by key), server-side apply (create-or-update, conflicts, force), status
//! subresource and generation.

mod common;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

fn deployment() -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                {"name": "web", "image": "whereami:v1", "ports": [{"containerPort": 8080}],
                 "env": [{"name": "A", "value": "1"}]},
                {"name": "side", "image": "busybox", "command": ["sleep", "3600"]}]}}}}))
    .unwrap()
}

#[tokio::test]
async fn json_merge_and_strategic_patches() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let api: Api<Deployment> = Api::namespaced(c.clone(), "default");
    let d = api
        .create(&PostParams::default(), &deployment())
        .await
        .unwrap();
    assert_eq!(d.metadata.generation, Some(1));

    // Strategic merge: containers merge by name, env merges by name.
    let smp = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": "whereami:v2", "env": [{"name": "B", "value": "2"}]}]}}}});
    let d = api
        .patch("web", &PatchParams::default(), &Patch::Strategic(smp))
        .await
        .unwrap();
    let pod = d.spec.template.spec.unwrap();
    assert_eq!(pod.containers.len(), 2, "the sidecar is kept");
    assert_eq!(pod.containers[0].image.as_deref(), Some("whereami:v2"));
    let env: Vec<String> = pod.containers[0]
        .env
        .clone()
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(env, vec!["B", "A"]);
    assert_eq!(d.metadata.generation, Some(2));

    // Merge patch replaces lists wholesale.
    let merge =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "x"}]}}}});
    let d = api
        .patch("web", &PatchParams::default(), &Patch::Merge(merge))
        .await
        .unwrap();
    assert_eq!(d.spec.template.spec.unwrap().containers.len(), 1);

    // JSON patch.
    let jp: json_patch::Patch = serde_json::from_value(json!([
        {"op": "replace", "path": "/spec/replicas", "value": 3},
        {"op": "add", "path": "/metadata/labels", "value": {"tier": "front"}}]))
    .unwrap();
    let d = api
        .patch("web", &PatchParams::default(), &Patch::<()>::Json(jp))
        .await
        .unwrap();
    assert_eq!(d.spec.replicas, Some(3));
    assert_eq!(d.metadata.labels.unwrap()["tier"], "front");

    // A failing JSON patch test is 422, the object unchanged.
    let bad: json_patch::Patch =
        serde_json::from_value(json!([{"op": "test", "path": "/spec/replicas", "value": 9}]))
            .unwrap();
    let e = api
        .patch("web", &PatchParams::default(), &Patch::<()>::Json(bad))
        .await
        .unwrap_err();
    assert!(
        matches!(e, kube::Error::Api(ref s) if s.code == 422),
        "{e:?}"
    );
    // Label-only changes do not bump generation.
    let g = api.get("web").await.unwrap().metadata.generation;
    let d = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .unwrap();
    assert_eq!(d.metadata.generation, g);
}

#[tokio::test]
async fn server_side_apply_creates_updates_and_detects_conflicts() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let api: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    let cfg = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"a": "1", "b": "2"}});
    let pp = PatchParams::apply("tool-one");
    let created = api.patch("ssa", &pp, &Patch::Apply(&cfg)).await.unwrap();
    let managers: Vec<String> = created
        .metadata
        .managed_fields
        .clone()
        .unwrap()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert_eq!(managers, vec!["tool-one"]);

    // Same manager drops "b": it is removed.
    let cfg2 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"a": "1"}});
    let updated = api.patch("ssa", &pp, &Patch::Apply(&cfg2)).await.unwrap();
    assert_eq!(
        updated.data.unwrap().keys().cloned().collect::<Vec<_>>(),
        vec!["a"]
    );

    // Another manager setting "a" differently conflicts...
    let other = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"a": "9"}});
    let e = api
        .patch(
            "ssa",
            &PatchParams::apply("tool-two"),
            &Patch::Apply(&other),
        )
        .await
        .unwrap_err();
    match e {
        kube::Error::Api(s) => {
            assert_eq!((s.code, s.reason.as_str()), (409, "Conflict"));
            assert!(s.message.contains("tool-one"), "{}", s.message);
        }
        other => panic!("{other:?}"),
    }
    // ...unless forced.
    let forced = api
        .patch(
            "ssa",
            &PatchParams::apply("tool-two").force(),
            &Patch::Apply(&other),
        )
        .await
        .unwrap();
    assert_eq!(forced.data.unwrap()["a"], "9");
}

#[tokio::test]
async fn status_subresource_is_separate_from_spec() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    // Status written through the main resource is ignored (a Service: no controller
    // writes its status here)...
    let svcs: Api<k8s_openapi::api::core::v1::Service> = Api::namespaced(c.clone(), "default");
    let svc = serde_json::from_value(
        json!({"metadata": {"name": "st"}, "spec": {"ports": [{"port": 80}]}}),
    )
    .unwrap();
    svcs.create(&PostParams::default(), &svc).await.unwrap();
    let lb = json!({"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}});
    let s = svcs
        .patch(
            "st",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": lb})),
        )
        .await
        .unwrap();
    assert!(
        s.status
            .and_then(|s| s.load_balancer)
            .and_then(|l| l.ingress)
            .is_none()
    );
    // ...and through /status it lands, without touching spec.
    let s = svcs
        .patch_status(
            "st",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": lb, "spec": {"ports": [{"port": 81}]}})),
        )
        .await
        .unwrap();
    assert_eq!(
        s.status.unwrap().load_balancer.unwrap().ingress.unwrap()[0]
            .ip
            .as_deref(),
        Some("192.0.2.1")
    );
    assert_eq!(s.spec.unwrap().ports.unwrap()[0].port, 80);
    let api: Api<Deployment> = Api::namespaced(c, "default");
    api.create(&PostParams::default(), &deployment())
        .await
        .unwrap();
    // Scale subresource.
    let s = api
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
        )
        .await
        .unwrap();
    assert_eq!(s.spec.unwrap().replicas, Some(4));
    assert_eq!(api.get("web").await.unwrap().spec.replicas, Some(4));
}

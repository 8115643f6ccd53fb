//! Helpers for the upstream-flavour importer tests on the embedded fleet (`kube::Client`):
//! the MCS API in either served version, namespaces, a `whereami` Deployment, Services,
//! ServiceExports, export conditions, and a probe pod to exec commands in.
#![allow(dead_code)]

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod, Service};
use kube::api::{Api, ApiResource, AttachParams, DynamicObject, GroupVersionKind, PostParams};
use mcs_harness::fleet::{EmbeddedFleet, EmbeddedOptions};
use mcs_importer::Flavour;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

use super::eventually;

/// The namespace every upstream test works in.
pub const NS: &str = "shop";

/// An embedded fleet (clusters `a` and `b`) running the upstream-flavour importer.
pub async fn fleet() -> EmbeddedFleet {
    let opts = EmbeddedOptions {
        flavour: Flavour::Upstream,
        ..Default::default()
    };
    EmbeddedFleet::start(&opts).await.unwrap()
}

/// `multicluster.x-k8s.io/<version>` `kind` objects in [`NS`].
pub fn api_in(c: &kube::Client, version: &str, kind: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("multicluster.x-k8s.io", version, kind);
    let plural = format!("{}s", kind.to_lowercase());
    Api::namespaced_with(
        c.clone(),
        NS,
        &ApiResource::from_gvk_with_plural(&gvk, &plural),
    )
}

/// [`api_in`] through `v1alpha1`, the version the harness reads.
pub fn api(c: &kube::Client, kind: &str) -> Api<DynamicObject> {
    api_in(c, "v1alpha1", kind)
}

/// Creates namespace [`NS`].
pub async fn namespace(c: &kube::Client) {
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}})).unwrap();
    Api::<Namespace>::all(c.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
}

/// A one-replica `whereami` Deployment labelled `app: <app>` (serves 8080).
pub async fn deployment(c: &kube::Client, app: &str) {
    let d: Deployment = serde_json::from_value(json!({"metadata": {"name": app}, "spec": {"replicas": 1,
        "selector": {"matchLabels": {"app": app}}, "template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": [
            {"name": "w", "image": "whereami:v1", "ports": [{"containerPort": 8080}], "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}}]}}}})).unwrap();
    Api::<Deployment>::namespaced(c.clone(), NS)
        .create(&PostParams::default(), &d)
        .await
        .unwrap();
}

/// A Service `name` selecting `app: <app>` with `ports`, plus `extra` merged into its
/// `metadata` and `spec` (`{"metadata": {...}, "spec": {...}}`).
pub async fn service(c: &kube::Client, name: &str, app: &str, ports: Value, extra: Value) {
    let mut s =
        json!({"metadata": {"name": name}, "spec": {"selector": {"app": app}, "ports": ports}});
    for part in ["metadata", "spec"] {
        if let (Some(to), Some(from)) = (s[part].as_object_mut(), extra[part].as_object()) {
            to.extend(from.clone());
        }
    }
    let s: Service = serde_json::from_value(s).unwrap();
    Api::<Service>::namespaced(c.clone(), NS)
        .create(&PostParams::default(), &s)
        .await
        .unwrap();
}

/// A ServiceExport `name` with `spec` (`{}` for none), through `v1alpha1`.
pub async fn export(c: &kube::Client, name: &str, spec: Value) {
    export_in(c, "v1alpha1", name, spec).await;
}

/// [`export`] through API version `version`.
pub async fn export_in(c: &kube::Client, version: &str, name: &str, spec: Value) {
    let e: DynamicObject = serde_json::from_value(json!({
        "apiVersion": format!("multicluster.x-k8s.io/{version}"),
        "kind": "ServiceExport", "metadata": {"name": name}, "spec": spec}))
    .unwrap();
    api_in(c, version, "ServiceExport")
        .create(&PostParams::default(), &e)
        .await
        .unwrap();
}

/// Namespace, `whereami` Deployment `web`, Service `web` with `ports` (headless or not) and
/// its ServiceExport.
pub async fn setup(c: &kube::Client, ports: Value, headless: bool) {
    namespace(c).await;
    deployment(c, "web").await;
    let extra = match headless {
        true => json!({"spec": {"clusterIP": "None"}}),
        false => json!({}),
    };
    service(c, "web", "web", ports, extra).await;
    export(c, "web", json!({})).await;
}

/// Waits until export `name`'s condition `type_` has `status`; returns the condition.
pub async fn condition(c: &kube::Client, name: &str, type_: &str, status: &str) -> Value {
    let what = format!("{name}: ServiceExport condition {type_}={status}");
    eventually(30, &what, || async {
        let e = api(c, "ServiceExport").get(name).await.ok()?;
        e.data["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|x| x["type"] == type_ && x["status"] == status)
            .cloned()
    })
    .await
}

/// The stdout of `argv` run in pod `probe` (created on first use, busybox).
pub async fn exec_out(c: &kube::Client, argv: &[&str]) -> String {
    let pods: Api<Pod> = Api::namespaced(c.clone(), NS);
    if pods.get_opt("probe").await.unwrap().is_none() {
        let p: Pod = serde_json::from_value(json!({"metadata": {"name": "probe"}, "spec": {"containers": [{"name": "p", "image": "busybox:1.36", "command": ["sleep", "3600"]}], "terminationGracePeriodSeconds": 0}})).unwrap();
        pods.create(&PostParams::default(), &p).await.unwrap();
        eventually(20, "probe running", || async {
            (pods.get("probe").await.ok()?.status?.phase.as_deref() == Some("Running"))
                .then_some(())
        })
        .await;
    }
    let ap = AttachParams::default()
        .stdout(true)
        .stderr(false)
        .stdin(false);
    let mut p = pods.exec("probe", argv.to_vec(), &ap).await.unwrap();
    let mut out = String::new();
    p.stdout().unwrap().read_to_string(&mut out).await.unwrap();
    out
}

/// The `cluster_name` whereami answers on `http://<svc>.<NS>.svc.clusterset.local:<port>/`
/// from `c`'s probe pod, `None` when the request failed.
pub async fn answering_cluster(c: &kube::Client, svc: &str, port: u16) -> Option<String> {
    let url = format!("http://{svc}.{NS}.svc.clusterset.local:{port}/");
    let out = exec_out(c, &["wget", "-qO-", "-T", "2", &url]).await;
    let v: Value = serde_json::from_str(&out).ok()?;
    v["cluster_name"].as_str().map(String::from)
}

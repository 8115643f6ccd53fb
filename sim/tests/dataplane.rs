//! The data plane seen from inside pods (exec through kube's websocket client): DNS answers,
//! Service VIPs load-balancing to ready endpoints, flat cross-cluster pod routing, and the
//! partition and DNS faults breaking them until deleted.

mod common;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{
    Api, ApiResource, AttachParams, DeleteParams, DynamicObject, GroupVersionKind, PostParams,
};
use serde_json::json;
use tokio::io::AsyncReadExt;

async fn probe_pod(c: &kube::Client) -> Api<Pod> {
    let pods: Api<Pod> = Api::namespaced(c.clone(), "default");
    let pod: Pod = serde_json::from_value(
        json!({"metadata": {"name": "probe"}, "spec": {"containers": [
        {"name": "probe", "image": "busybox:1.36", "command": ["sleep", "3600"]}]}}),
    )
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    common::eventually(10, "probe pod running", || {
        let pods = pods.clone();
        async move {
            (pods.get("probe").await.ok()?.status?.phase.as_deref() == Some("Running"))
                .then_some(())
        }
    })
    .await;
    pods
}

/// Runs `sh -c script` in the probe pod: (stdout, stderr, exit code).
async fn sh(pods: &Api<Pod>, script: &str) -> (String, String, i32) {
    let ap = AttachParams::default()
        .stdout(true)
        .stderr(true)
        .stdin(false);
    let mut p = pods
        .exec("probe", ["sh", "-c", script], &ap)
        .await
        .expect("exec starts");
    let (mut out, mut err) = (String::new(), String::new());
    if let Some(mut o) = p.stdout() {
        o.read_to_string(&mut out).await.unwrap();
    }
    if let Some(mut e) = p.stderr() {
        e.read_to_string(&mut err).await.unwrap();
    }
    let status = p.take_status().unwrap().await.unwrap();
    let code = match status.status.as_deref() {
        Some("Success") => 0,
        _ => status
            .details
            .and_then(|d| d.causes)
            .and_then(|c| {
                c.into_iter()
                    .find(|c| c.reason.as_deref() == Some("ExitCode"))
            })
            .and_then(|c| c.message?.parse().ok())
            .unwrap_or(-1),
    };
    (out, err, code)
}

async fn whereami(c: &kube::Client, replicas: i32) -> String {
    let d: Deployment = serde_json::from_value(json!({"metadata": {"name": "whereami"}, "spec": {"replicas": replicas,
        "selector": {"matchLabels": {"app": "whereami"}}, "template": {"metadata": {"labels": {"app": "whereami"}}, "spec": {"containers": [
            {"name": "whereami", "image": "whereami:v1.2.20", "ports": [{"name": "http", "containerPort": 8080}],
             "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}}]}}}})).unwrap();
    Api::<Deployment>::namespaced(c.clone(), "default")
        .create(&PostParams::default(), &d)
        .await
        .unwrap();
    let s: Service = serde_json::from_value(
        json!({"metadata": {"name": "whereami"}, "spec": {"selector": {"app": "whereami"},
        "ports": [{"port": 80, "targetPort": "http"}]}}),
    )
    .unwrap();
    let svc = Api::<Service>::namespaced(c.clone(), "default")
        .create(&PostParams::default(), &s)
        .await
        .unwrap();
    svc.spec.unwrap().cluster_ip.unwrap()
}

fn faults(c: &kube::Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("sim.mcs-harness.dev", "v1alpha1", "Fault");
    Api::all_with(
        c.clone(),
        &ApiResource::from_gvk_with_plural(&gvk, "faults"),
    )
}

#[tokio::test]
async fn dns_vip_balancing_cross_cluster_and_faults() {
    let fleet = common::fleet().await;
    let (ca, cb) = (
        common::client(&fleet, "a").await,
        common::client(&fleet, "b").await,
    );
    let vip = whereami(&ca, 2).await;
    let pa = probe_pod(&ca).await;
    let pb = probe_pod(&cb).await;

    let (out, _, code) = sh(&pa, "nslookup whereami.default.svc.cluster.local").await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("Address: {vip}")), "{out}");

    // Wait until both pods are ready, then every backend answers through the VIP.
    let mut pods = std::collections::BTreeSet::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while pods.len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "both backends answer: {pods:?}"
        );
        let (out, _, code) = sh(
            &pa,
            "wget -qO- -T 2 http://whereami.default.svc.cluster.local/",
        )
        .await;
        if code == 0 {
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(v["cluster_name"], "a");
            pods.insert(v["pod_name"].as_str().unwrap().to_string());
        }
    }

    // A pod in b reaches a pod IP in a (flat network), but not a's ClusterIP.
    let ep: k8s_openapi::api::core::v1::Endpoints = Api::namespaced(ca.clone(), "default")
        .get("whereami")
        .await
        .unwrap();
    let pod_ip = ep.subsets.unwrap()[0].addresses.as_ref().unwrap()[0]
        .ip
        .clone();
    let (out, _, code) = sh(&pb, &format!("wget -qO- -T 2 http://{pod_ip}:8080/")).await;
    assert_eq!(code, 0);
    assert!(out.contains("\"cluster_name\":\"a\""), "{out}");
    let (_, err, code) = sh(&pb, &format!("wget -qO- -T 1 http://{vip}/")).await;
    assert_eq!((code, err.trim()), (1, "wget: download timed out"));

    // Partition b from a: b's pod times out reaching a's pod, like busybox reports it.
    let fb = faults(&cb);
    let f: DynamicObject = serde_json::from_value(
        json!({"apiVersion": "sim.mcs-harness.dev/v1alpha1", "kind": "Fault",
        "metadata": {"name": "cut"}, "spec": {"partition": {"peers": ["a"]}}}),
    )
    .unwrap();
    fb.create(&PostParams::default(), &f).await.unwrap();
    let cmd = format!("wget -qO- -T 1 http://{pod_ip}:8080/");
    common::eventually(5, "partition in effect", || {
        let pb = pb.clone();
        let cmd = cmd.clone();
        async move {
            let (_, err, code) = sh(&pb, &cmd).await;
            (code == 1 && err.trim() == "wget: download timed out").then_some(())
        }
    })
    .await;
    fb.delete("cut", &DeleteParams::default()).await.unwrap();
    common::eventually(5, "partition healed", || {
        let pb = pb.clone();
        let cmd = cmd.clone();
        async move { (sh(&pb, &cmd).await.2 == 0).then_some(()) }
    })
    .await;

    // Scoped to another namespace, a partition leaves this traffic alone; scoped to the
    // destination pod's namespace, it cuts it (runs sharing a fleet scope their faults).
    let scoped = |name: &str, spec: serde_json::Value| -> DynamicObject {
        serde_json::from_value(
            json!({"apiVersion": "sim.mcs-harness.dev/v1alpha1", "kind": "Fault",
            "metadata": {"name": name}, "spec": spec}),
        )
        .unwrap()
    };
    let elsewhere = json!({"partition": {"peers": ["a"]}, "scope": {"namespaces": ["elsewhere"]}});
    fb.create(&PostParams::default(), &scoped("cut-elsewhere", elsewhere))
        .await
        .unwrap();
    active(&fb, "cut-elsewhere").await;
    assert_eq!(
        sh(&pb, &cmd).await.2,
        0,
        "a partition scoped elsewhere cuts nothing here"
    );
    let here = json!({"partition": {"peers": ["a"]}, "scope": {"namespaces": ["default"]}});
    fb.create(&PostParams::default(), &scoped("cut-here", here))
        .await
        .unwrap();
    active(&fb, "cut-here").await;
    let (_, err, code) = sh(&pb, &cmd).await;
    assert_eq!((code, err.trim()), (1, "wget: download timed out"));
    for n in ["cut-elsewhere", "cut-here"] {
        fb.delete(n, &DeleteParams::default()).await.unwrap();
    }
    common::eventually(5, "scoped partition healed", || {
        let pb = pb.clone();
        let cmd = cmd.clone();
        async move { (sh(&pb, &cmd).await.2 == 0).then_some(()) }
    })
    .await;

    // A DNS outage scoped to another namespace leaves names of this one resolving.
    let dns_elsewhere =
        json!({"dns": {"mode": "ServFail"}, "scope": {"namespaces": ["elsewhere"]}});
    let fa0 = faults(&ca);
    fa0.create(
        &PostParams::default(),
        &scoped("dns-elsewhere", dns_elsewhere),
    )
    .await
    .unwrap();
    active(&fa0, "dns-elsewhere").await;
    let (out, _, code) = sh(&pa, "nslookup whereami.default.svc.cluster.local").await;
    assert_eq!(code, 0, "{out}");
    let (out, _, code) = sh(&pa, "nslookup whereami.elsewhere.svc.cluster.local").await;
    assert!(code == 1 && out.contains("SERVFAIL"), "{out}");
    fa0.delete("dns-elsewhere", &DeleteParams::default())
        .await
        .unwrap();

    // DNS outage in a: nslookup fails until the fault goes.
    let fa = faults(&ca);
    let f: DynamicObject = serde_json::from_value(
        json!({"apiVersion": "sim.mcs-harness.dev/v1alpha1", "kind": "Fault",
        "metadata": {"name": "no-dns"}, "spec": {"dns": {"mode": "ServFail"}}}),
    )
    .unwrap();
    fa.create(&PostParams::default(), &f).await.unwrap();
    common::eventually(5, "dns outage", || {
        let pa = pa.clone();
        async move {
            let (out, _, code) = sh(&pa, "nslookup whereami.default.svc.cluster.local").await;
            (code == 1 && out.contains("SERVFAIL")).then_some(())
        }
    })
    .await;
    fa.delete("no-dns", &DeleteParams::default()).await.unwrap();
    common::eventually(5, "dns back", || {
        let pa = pa.clone();
        async move {
            (sh(&pa, "nslookup whereami.default.svc.cluster.local")
                .await
                .2
                == 0)
                .then_some(())
        }
    })
    .await;
    let (_, err, code) = sh(&pa, "frobnicate").await;
    assert_eq!(code, 127);
    assert!(err.contains("not found"), "{err}");
}

/// Waits until the fault controller reports Fault `name` in effect.
async fn active(api: &Api<DynamicObject>, name: &str) {
    common::eventually(5, "fault active", || {
        let api = api.clone();
        let name = name.to_string();
        async move {
            let f = api.get(&name).await.ok()?;
            (f.data["status"]["active"] == true).then_some(())
        }
    })
    .await;
}

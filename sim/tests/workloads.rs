//! Workloads on the embedded fleet through kube::Client: Deployment → ReplicaSet → Pods with
//! real readiness probes, rollout status fields, scaling, ClusterIP allocation, Endpoints and
//! EndpointSlices (named target ports), mirroring for selectorless Services, and the pods'
//! listeners answering whereami JSON.

mod common;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

fn whereami(name: &str, replicas: i32, readiness_path: &str) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{
                "name": "whereami", "image": "us-docker.pkg.dev/google-samples/containers/gke/whereami:v1.2.20",
                "env": [{"name": "METADATA", "value": "hello"}],
                "ports": [{"name": "http", "containerPort": 8080}],
                "readinessProbe": {"httpGet": {"path": readiness_path, "port": "http"}}}]}}}})).unwrap()
}

fn service(name: &str) -> Service {
    serde_json::from_value(
        json!({"metadata": {"name": name}, "spec": {"selector": {"app": name},
        "ports": [{"name": "web", "port": 80, "targetPort": "http"}]}}),
    )
    .unwrap()
}

async fn ready_ips(eps: &Api<Endpoints>, name: &str) -> Vec<String> {
    let Ok(ep) = eps.get(name).await else {
        return Vec::new();
    };
    let mut ips: Vec<String> = ep
        .subsets
        .unwrap_or_default()
        .into_iter()
        .flat_map(|s| s.addresses.unwrap_or_default())
        .map(|a| a.ip)
        .collect();
    ips.sort();
    ips
}

async fn wait_ready_count(eps: &Api<Endpoints>, name: &str, n: usize) -> Vec<String> {
    common::eventually(10, &format!("{n} ready endpoints of {name}"), || {
        let eps = eps.clone();
        let name = name.to_string();
        async move {
            let ips = ready_ips(&eps, &name).await;
            (ips.len() == n).then_some(ips)
        }
    })
    .await
}

#[tokio::test]
async fn deployment_rolls_out_and_endpoints_follow_scaling() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let deploys: Api<Deployment> = Api::namespaced(c.clone(), "default");
    let svcs: Api<Service> = Api::namespaced(c.clone(), "default");
    let eps: Api<Endpoints> = Api::namespaced(c.clone(), "default");
    let svc = svcs
        .create(&PostParams::default(), &service("web"))
        .await
        .unwrap();
    let vip = svc.spec.unwrap().cluster_ip.unwrap();
    let plan = &fleet.cluster("a").unwrap().cluster.plan;
    assert!(
        plan.is_service_ip(vip.parse().unwrap()),
        "{vip} in the service range"
    );
    deploys
        .create(&PostParams::default(), &whereami("web", 3, "/healthz"))
        .await
        .unwrap();

    let ips = wait_ready_count(&eps, "web", 3).await;
    for ip in &ips {
        assert!(
            plan.owns(ip.parse().unwrap()) && !plan.is_service_ip(ip.parse().unwrap()),
            "{ip} in the pod range"
        );
    }
    // The rollout is complete as `kubectl rollout status` judges it.
    let d = common::eventually(10, "rollout complete", || {
        let deploys = deploys.clone();
        async move {
            let d = deploys.get("web").await.ok()?;
            let s = d.status.clone()?;
            let done = s.observed_generation >= d.metadata.generation
                && s.updated_replicas == Some(3)
                && s.replicas == Some(3)
                && s.available_replicas == Some(3);
            done.then_some(d)
        }
    })
    .await;
    let conds = d.status.unwrap().conditions.unwrap();
    assert!(
        conds
            .iter()
            .any(|c| c.type_.as_deref() == Some("Progressing")
                && c.reason.as_deref() == Some("NewReplicaSetAvailable"))
    );

    // Named target port resolved to 8080, and the pod answers whereami JSON naming cluster a.
    let ep = eps.get("web").await.unwrap();
    assert_eq!(
        ep.subsets.as_ref().unwrap()[0].ports.as_ref().unwrap()[0].port,
        8080
    );
    let body = http_get(&format!("{}:8080", ips[0]), "/").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["cluster_name"], "a");
    assert_eq!(v["metadata"], "hello");
    assert_eq!(v["pod_ip"], ips[0].as_str());

    let slices: Api<EndpointSlice> = Api::namespaced(c.clone(), "default");
    let sl = slices
        .list(&ListParams::default().labels("kubernetes.io/service-name=web"))
        .await
        .unwrap();
    let n: usize = sl
        .items
        .iter()
        .map(|s| s.endpoints.as_ref().map_or(0, Vec::len))
        .sum();
    assert_eq!(n, 3);
    assert_eq!(
        sl.items[0].metadata.labels.as_ref().unwrap()["endpointslice.kubernetes.io/managed-by"],
        "endpointslice-controller.k8s.io"
    );

    for (n, expect) in [(1, 1usize), (0, 0), (2, 2)] {
        deploys
            .patch_scale(
                "web",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"replicas": n}})),
            )
            .await
            .unwrap();
        wait_ready_count(&eps, "web", expect).await;
        let pods: Api<Pod> = Api::namespaced(c.clone(), "default");
        common::eventually(10, "pod count", || {
            let pods = pods.clone();
            async move {
                (pods
                    .list(&ListParams::default().labels("app=web"))
                    .await
                    .ok()?
                    .items
                    .len()
                    == expect)
                    .then_some(())
            }
        })
        .await;
    }
}

#[tokio::test]
async fn failing_readiness_probe_keeps_pods_out_of_endpoints() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let deploys: Api<Deployment> = Api::namespaced(c.clone(), "default");
    let svcs: Api<Service> = Api::namespaced(c.clone(), "default");
    let eps: Api<Endpoints> = Api::namespaced(c.clone(), "default");
    svcs.create(&PostParams::default(), &service("bad"))
        .await
        .unwrap();
    deploys
        .create(&PostParams::default(), &whereami("bad", 2, "/status/503"))
        .await
        .unwrap();
    let ep = common::eventually(10, "not-ready addresses", || {
        let eps = eps.clone();
        async move {
            let ep = eps.get("bad").await.ok()?;
            let n: usize = ep
                .subsets
                .clone()?
                .iter()
                .map(|s| s.not_ready_addresses.as_ref().map_or(0, Vec::len))
                .sum();
            (n == 2).then_some(ep)
        }
    })
    .await;
    assert!(
        ep.subsets.unwrap().iter().all(|s| s.addresses.is_none()),
        "no ready addresses"
    );
    // Still not ready several probe periods later.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(ready_ips(&eps, "bad").await.is_empty());
    let d = deploys.get("bad").await.unwrap();
    assert_eq!(d.status.unwrap().available_replicas, None);
}

#[tokio::test]
async fn selectorless_service_endpoints_are_mirrored_to_slices() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let svcs: Api<Service> = Api::namespaced(c.clone(), "default");
    let eps: Api<Endpoints> = Api::namespaced(c.clone(), "default");
    let svc: Service = serde_json::from_value(
        json!({"metadata": {"name": "ext"}, "spec": {"ports": [{"port": 80, "targetPort": 8080}]}}),
    )
    .unwrap();
    svcs.create(&PostParams::default(), &svc).await.unwrap();
    let ep: Endpoints = serde_json::from_value(json!({"metadata": {"name": "ext"},
        "subsets": [{"addresses": [{"ip": "127.9.0.1"}, {"ip": "127.9.0.2"}], "ports": [{"port": 8080}]}]})).unwrap();
    eps.create(&PostParams::default(), &ep).await.unwrap();
    let slices: Api<EndpointSlice> = Api::namespaced(c, "default");
    let sl = common::eventually(10, "mirrored slice", || {
        let slices = slices.clone();
        async move {
            let l = slices
                .list(&ListParams::default().labels("kubernetes.io/service-name=ext"))
                .await
                .ok()?;
            (l.items.len() == 1 && l.items[0].endpoints.as_ref().map_or(0, Vec::len) == 2)
                .then_some(l.items[0].clone())
        }
    })
    .await;
    assert_eq!(
        sl.metadata.labels.unwrap()["endpointslice.kubernetes.io/managed-by"],
        "endpointslicemirroring-controller.k8s.io"
    );
}

async fn http_get(addr: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.unwrap();
    buf.split("\r\n\r\n").nth(1).unwrap_or("").to_string()
}

#[tokio::test]
async fn service_vip_forwards_round_robin_from_the_host() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let svc = Api::<Service>::namespaced(c.clone(), "default")
        .create(&PostParams::default(), &service("rr"))
        .await
        .unwrap();
    let vip = svc.spec.unwrap().cluster_ip.unwrap();
    Api::<Deployment>::namespaced(c.clone(), "default")
        .create(&PostParams::default(), &whereami("rr", 3, "/healthz"))
        .await
        .unwrap();
    wait_ready_count(&Api::namespaced(c, "default"), "rr", 3).await;
    let mut pods = std::collections::BTreeSet::new();
    for _ in 0..6 {
        let body = http_get(&format!("{vip}:80"), "/").await;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        pods.insert(v["pod_name"].as_str().unwrap().to_string());
    }
    assert_eq!(
        pods.len(),
        3,
        "round-robin reaches every ready pod: {pods:?}"
    );
}

//! `make bench` (part 2): the embedded fleet as a cluster — start-up time of a 2-cluster
//! fleet, pod-ready → Endpoints latency, and 1,000 pods in one cluster (time until all are
//! ready and in Endpoints, memory). Prints Markdown rows for the README.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use mcs_sim::store::{EventType, ResKey};
use mcs_sim::{Fleet, FleetConfig};
use serde_json::{Value, json};

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

async fn client(fleet: &Fleet) -> kube::Client {
    let kc: Kubeconfig = serde_json::from_value(fleet.kubeconfig()).expect("kubeconfig");
    let opts = KubeConfigOptions {
        context: Some("a".into()),
        ..Default::default()
    };
    kube::Client::try_from(
        kube::Config::from_custom_kubeconfig(kc, &opts)
            .await
            .expect("config"),
    )
    .expect("client")
}

fn deployment(name: &str, replicas: i32) -> Deployment {
    serde_json::from_value(json!({"metadata": {"name": name}, "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "w", "image": "whereami:v1",
            "ports": [{"containerPort": 8080}], "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}}]}}}}))
    .expect("deployment")
}

fn service(name: &str) -> Service {
    serde_json::from_value(json!({"metadata": {"name": name}, "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}})).expect("svc")
}

fn ready_ips(ep: &Value) -> Vec<String> {
    ep["subsets"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["addresses"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a["ip"].as_str().map(String::from))
        .collect()
}

/// From a pod's status turning Ready to the Endpoints listing its IP (store commit times).
async fn ready_to_endpoint(fleet: &Fleet, c: &kube::Client, samples: usize) -> Vec<Duration> {
    let store = &fleet.cluster("a").expect("a").cluster.store;
    let deploys: Api<Deployment> = Api::namespaced(c.clone(), "default");
    Api::<Service>::namespaced(c.clone(), "default")
        .create(&PostParams::default(), &service("lat"))
        .await
        .expect("svc");
    deploys
        .create(&PostParams::default(), &deployment("lat", 0))
        .await
        .expect("deploy");
    let mut rx = store.subscribe();
    let mut out = Vec::new();
    for i in 1..=samples {
        deploys
            .patch_scale(
                "lat",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"replicas": i}})),
            )
            .await
            .expect("scale");
        let mut ready_at: Option<(String, Instant)> = None;
        loop {
            let ev = rx.recv().await.expect("events");
            if ev.kind == EventType::Deleted {
                continue;
            }
            let o = &ev.object;
            if ev.res == ResKey::new("", "pods")
                && ready_at.is_none()
                && o["status"]["conditions"].as_array().is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True")
                })
            {
                let was = ev.prev.as_ref().is_some_and(|p| {
                    p["status"]["conditions"].as_array().is_some_and(|c| {
                        c.iter()
                            .any(|c| c["type"] == "Ready" && c["status"] == "True")
                    })
                });
                if !was {
                    ready_at = Some((
                        o["status"]["podIP"].as_str().unwrap_or("").to_string(),
                        Instant::now(),
                    ));
                }
            }
            if let Some((ip, t)) = &ready_at
                && ev.res == ResKey::new("", "endpoints")
                && ready_ips(o).contains(ip)
            {
                out.push(t.elapsed());
                break;
            }
        }
    }
    out.sort();
    out
}

async fn thousand_pods(fleet: &Fleet, c: &kube::Client) -> (Duration, u64) {
    let store = &fleet.cluster("a").expect("a").cluster.store;
    let key = mcs_sim::store::ObjKey::new("default", "big");
    Api::<Service>::namespaced(c.clone(), "default")
        .create(&PostParams::default(), &service("big"))
        .await
        .expect("svc");
    let t = Instant::now();
    Api::<Deployment>::namespaced(c.clone(), "default")
        .create(&PostParams::default(), &deployment("big", 1000))
        .await
        .expect("deploy");
    loop {
        let n = store
            .get(&ResKey::new("", "endpoints"), &key)
            .map(|e| ready_ips(&e).len())
            .unwrap_or(0);
        if n == 1000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (t.elapsed(), rss_kib("VmRSS:"))
}

#[tokio::main]
async fn main() {
    let mut startups = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let f = Fleet::start(&FleetConfig::default()).await.expect("fleet");
        startups.push(t.elapsed());
        drop(f);
    }
    startups.sort();
    let fleet = Fleet::start(&FleetConfig::default()).await.expect("fleet");
    let c = client(&fleet).await;
    let lat = ready_to_endpoint(&fleet, &c, 50).await;
    let rss_before = rss_kib("VmRSS:");
    let (all_ready, rss) = thousand_pods(&fleet, &c).await;
    println!("| benchmark | result |");
    println!("|---|---|");
    println!(
        "| 2-cluster fleet start-up (API, TLS, DNS, bootstrap), p50 of 20 | {} |",
        ms(startups[10])
    );
    println!(
        "| pod Ready → its IP in Endpoints, p50 (50 samples) | {} |",
        ms(lat[lat.len() / 2])
    );
    println!(
        "| pod Ready → its IP in Endpoints, p99 | {} |",
        ms(lat[lat.len() * 99 / 100])
    );
    println!(
        "| 1,000 pods in one cluster: Deployment created → all 1,000 ready in Endpoints | {} |",
        ms(all_ready)
    );
    println!(
        "| 1,000 pods: process RSS before → after | {} MiB → {} MiB |",
        rss_before / 1024,
        rss / 1024
    );
}

//! `make bench` (part 3): the simulated importer on the embedded fleet — 1,000 Services
//! exported from 2 clusters converging, a 5,000-endpoint Service sliced ≤ 100 per slice
//! (upstream flavour), and the latency of a scale-by-one change reaching the other cluster
//! (GKE flavour), and how fast the `clusterset.local` records the importer keeps in the
//! CoreDNS Corefile (kind/k3s, GKE flavour) follow exports. Prints Markdown rows for the
//! README.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Service};
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use mcs_harness::fleet::{EmbeddedFleet, EmbeddedOptions};
use mcs_importer::Flavour;
use mcs_sim::store::{EventType, ObjKey, ResKey};
use serde_json::{Value, json};

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

fn exports(c: &kube::Client, ns: &str, flavour: Flavour) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk(flavour.group(), flavour.version(), "ServiceExport");
    Api::namespaced_with(
        c.clone(),
        ns,
        &ApiResource::from_gvk_with_plural(&gvk, "serviceexports"),
    )
}

async fn ns(c: &kube::Client, name: &str) {
    let n: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).expect("ns");
    Api::<Namespace>::all(c.clone())
        .create(&PostParams::default(), &n)
        .await
        .expect("create ns");
}

async fn thousand_services() -> Duration {
    let f = EmbeddedFleet::start(&EmbeddedOptions::default())
        .await
        .expect("fleet");
    let clients = [
        f.client("a").await.expect("a"),
        f.client("b").await.expect("b"),
    ];
    for c in &clients {
        ns(c, "bench").await;
    }
    let t = Instant::now();
    let mut tasks = Vec::new();
    for (ci, c) in clients.iter().enumerate() {
        for w in 0..8 {
            let c = c.clone();
            tasks.push(tokio::spawn(async move {
                for i in (w..n_services()).step_by(8) {
                    if (i % 2 == 0) != (ci == 0) {
                        continue; // half the services are exported from a, half from b
                    }
                    let s: Service = serde_json::from_value(json!({"metadata": {"name": format!("svc-{i}")}, "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]}})).expect("svc");
                    Api::<Service>::namespaced(c.clone(), "bench").create(&PostParams::default(), &s).await.expect("svc");
                    let e: DynamicObject = serde_json::from_value(json!({"apiVersion": "net.gke.io/v1", "kind": "ServiceExport", "metadata": {"name": format!("svc-{i}")}})).expect("export");
                    exports(&c, "bench", Flavour::Gke).create(&PostParams::default(), &e).await.expect("export");
                }
            }));
        }
    }
    for t in tasks {
        t.await.expect("writer");
    }
    let imports = ResKey::new("net.gke.io", "serviceimports");
    let mut last_report = Instant::now();
    loop {
        if last_report.elapsed() > Duration::from_secs(2) {
            last_report = Instant::now();
            let counts: Vec<(usize, usize)> = f
                .fleet
                .clusters()
                .iter()
                .map(|c| {
                    let all = c
                        .cluster
                        .store
                        .list(&imports, Some("bench"), None, 0, &|_| true)
                        .items;
                    (
                        all.len(),
                        all.iter()
                            .filter(|o| o["spec"]["ips"].as_array().is_some_and(|a| !a.is_empty()))
                            .count(),
                    )
                })
                .collect();
            eprintln!("imports (total, with ips) per cluster: {counts:?}");
        }
        let done = f.fleet.clusters().iter().all(|c| {
            c.cluster
                .store
                .list(&imports, Some("bench"), None, 0, &|o: &Value| {
                    o["spec"]["ips"].as_array().is_some_and(|a| !a.is_empty())
                })
                .items
                .len()
                == n_services()
        });
        if done {
            return t.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn five_thousand_endpoints() -> (Duration, usize) {
    let opts = EmbeddedOptions {
        flavour: Flavour::Upstream,
        ..Default::default()
    };
    let f = EmbeddedFleet::start(&opts).await.expect("fleet");
    let (a, b) = (
        f.client("a").await.expect("a"),
        f.client("b").await.expect("b"),
    );
    ns(&a, "big").await;
    ns(&b, "big").await;
    let s: Service = serde_json::from_value(
        json!({"metadata": {"name": "big"}, "spec": {"ports": [{"port": 80, "targetPort": 8080}]}}),
    )
    .expect("svc");
    Api::<Service>::namespaced(a.clone(), "big")
        .create(&PostParams::default(), &s)
        .await
        .expect("svc");
    let addrs: Vec<Value> = (0..5000)
        .map(|i| json!({"ip": format!("10.{}.{}.{}", i / 62500, (i / 250) % 250, i % 250 + 1)}))
        .collect();
    let ep: Endpoints = serde_json::from_value(json!({"metadata": {"name": "big"}, "subsets": [{"addresses": addrs, "ports": [{"port": 8080}]}]})).expect("ep");
    Api::<Endpoints>::namespaced(a.clone(), "big")
        .create(&PostParams::default(), &ep)
        .await
        .expect("ep");
    let t = Instant::now();
    let e: DynamicObject = serde_json::from_value(json!({"apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ServiceExport", "metadata": {"name": "big"}})).expect("export");
    exports(&a, "big", Flavour::Upstream)
        .create(&PostParams::default(), &e)
        .await
        .expect("export");
    let slices = ResKey::new("discovery.k8s.io", "endpointslices");
    let store = &f.fleet.cluster("b").expect("b").cluster.store;
    loop {
        let l = store.list(&slices, Some("big"), None, 0, &|o: &Value| {
            o["metadata"]["labels"]["multicluster.kubernetes.io/service-name"] == "big"
        });
        let total: usize = l
            .items
            .iter()
            .map(|s| s["endpoints"].as_array().map_or(0, Vec::len))
            .sum();
        if total == 5000 {
            return (t.elapsed(), l.items.len());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn ready_ip(pod: &Value) -> Option<String> {
    let ready = pod["status"]["conditions"]
        .as_array()?
        .iter()
        .any(|c| c["type"] == "Ready" && c["status"] == "True");
    ready
        .then(|| pod["status"]["podIP"].as_str().map(String::from))
        .flatten()
}

async fn scale_by_one(samples: usize) -> Vec<Duration> {
    let f = EmbeddedFleet::start(&EmbeddedOptions::default())
        .await
        .expect("fleet");
    let (a, b) = (
        f.client("a").await.expect("a"),
        f.client("b").await.expect("b"),
    );
    ns(&a, "lat").await;
    ns(&b, "lat").await;
    let d: Deployment = serde_json::from_value(json!({"metadata": {"name": "w"}, "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "w"}},
        "template": {"metadata": {"labels": {"app": "w"}}, "spec": {"containers": [{"name": "w", "image": "whereami:v1", "ports": [{"containerPort": 8080}],
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}}]}}}})).expect("deploy");
    let deploys: Api<Deployment> = Api::namespaced(a.clone(), "lat");
    deploys
        .create(&PostParams::default(), &d)
        .await
        .expect("deploy");
    let s: Service = serde_json::from_value(json!({"metadata": {"name": "w"}, "spec": {"selector": {"app": "w"}, "ports": [{"port": 80, "targetPort": 8080}]}})).expect("svc");
    Api::<Service>::namespaced(a.clone(), "lat")
        .create(&PostParams::default(), &s)
        .await
        .expect("svc");
    let e: DynamicObject = serde_json::from_value(
        json!({"apiVersion": "net.gke.io/v1", "kind": "ServiceExport", "metadata": {"name": "w"}}),
    )
    .expect("export");
    exports(&a, "lat", Flavour::Gke)
        .create(&PostParams::default(), &e)
        .await
        .expect("export");
    let derived = mcs_importer::naming::derived_name("gke-mcs-", "lat", "w");
    let store_a = &f.fleet.cluster("a").expect("a").cluster.store;
    let store_b = &f.fleet.cluster("b").expect("b").cluster.store;
    let mut out = Vec::new();
    for n in 1..=samples {
        let mut rx = store_a.subscribe();
        deploys
            .patch_scale(
                "w",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"replicas": n}})),
            )
            .await
            .expect("scale");
        let (ip, ready_at) = loop {
            let ev = rx.recv().await.expect("events");
            if ev.kind != EventType::Deleted
                && ev.res == ResKey::new("", "pods")
                && ev.prev.as_deref().and_then(ready_ip).is_none()
                && let Some(ip) = ready_ip(&ev.object)
            {
                break (ip, Instant::now());
            }
        };
        loop {
            let ep = store_b.get(&ResKey::new("", "endpoints"), &ObjKey::new("lat", &derived));
            let has = ep.is_some_and(|e| {
                e["subsets"].as_array().into_iter().flatten().any(|s| {
                    s["addresses"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|a| a["ip"] == ip.as_str())
                })
            });
            if has {
                out.push(ready_at.elapsed());
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    out.sort();
    out
}

/// kind's CoreDNS objects (`fixtures/kind/coredns.yaml`), as the tests use them.
fn kind_coredns() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/kind/coredns.yaml");
    let text = std::fs::read_to_string(path).expect("fixture");
    serde_saphyr::from_multiple(&text).expect("fixture YAML")
}

/// Clusters `a`, `b` without the fleet's importer, with kind's CoreDNS objects, prepared
/// like `run --provider kind` does (set-up + in-process importer keeping records).
async fn records_fleet() -> (EmbeddedFleet, mcs_harness::local::Prepared) {
    let opts = EmbeddedOptions {
        importer: false,
        ..EmbeddedOptions::default()
    };
    let f = EmbeddedFleet::start(&opts).await.expect("fleet");
    let mut local = Vec::new();
    for name in ["a", "b"] {
        let c = f.client(name).await.expect("client");
        for obj in kind_coredns() {
            let ar = if obj["kind"] == "ConfigMap" {
                ApiResource::erase::<k8s_openapi::api::core::v1::ConfigMap>(&())
            } else {
                ApiResource::erase::<Deployment>(&())
            };
            let obj: DynamicObject = serde_json::from_value(obj).expect("object");
            Api::<DynamicObject>::namespaced_with(c.clone(), "kube-system", &ar)
                .create(&PostParams::default(), &obj)
                .await
                .expect("create kind's CoreDNS object");
        }
        ns(&c, "dns").await;
        local.push(mcs_harness::local::LocalCluster {
            name: name.into(),
            location: name.into(),
            client: c,
        });
    }
    let prepared = mcs_harness::local::prepare(local, Flavour::Gke, Duration::ZERO)
        .await
        .expect("prepare");
    (f, prepared)
}

/// The Corefile of cluster `name`, read from its store.
fn corefile(f: &EmbeddedFleet, name: &str) -> String {
    let store = &f.fleet.cluster(name).expect("cluster").cluster.store;
    store
        .get(
            &ResKey::new("", "configmaps"),
            &ObjKey::new("kube-system", "coredns"),
        )
        .and_then(|cm| cm["data"]["Corefile"].as_str().map(String::from))
        .unwrap_or_default()
}

async fn export_svc(c: &kube::Client, name: &str) {
    let s: Service = serde_json::from_value(json!({"metadata": {"name": name},
        "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]}}))
    .expect("svc");
    Api::<Service>::namespaced(c.clone(), "dns")
        .create(&PostParams::default(), &s)
        .await
        .expect("svc");
    let e: DynamicObject = serde_json::from_value(
        json!({"apiVersion": "net.gke.io/v1", "kind": "ServiceExport", "metadata": {"name": name}}),
    )
    .expect("export");
    exports(c, "dns", Flavour::Gke)
        .create(&PostParams::default(), &e)
        .await
        .expect("export");
}

/// Export in `a` → its record in `b`'s Corefile, per sample; then `bulk` exports at once →
/// every record in both Corefiles.
async fn records_latency(samples: usize, bulk: usize) -> (Vec<Duration>, Duration) {
    let (f, prepared) = records_fleet().await;
    let a = prepared.clusters[0].client.clone();
    let mut out = Vec::new();
    for i in 0..samples {
        let name = format!("one-{i}");
        let fqdn = format!(" {name}.dns.svc.clusterset.local\n");
        let t = Instant::now();
        export_svc(&a, &name).await;
        while !corefile(&f, "b").contains(&fqdn) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        out.push(t.elapsed());
    }
    out.sort();
    let t = Instant::now();
    for i in 0..bulk {
        export_svc(&a, &format!("bulk-{i}")).await;
    }
    let want = samples + bulk;
    let count = |text: &str| text.matches(".dns.svc.clusterset.local").count();
    while count(&corefile(&f, "a")) < want || count(&corefile(&f, "b")) < want {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (out, t.elapsed())
}

#[tokio::main]
async fn main() {
    let thousand = thousand_services().await;
    eprintln!("services converged in {}", ms(thousand));
    let (big, slices) = five_thousand_endpoints().await;
    eprintln!("5,000 endpoints sliced in {}", ms(big));
    let lat = scale_by_one(20).await;
    let (rec, rec_bulk) = records_latency(20, 500).await;
    println!("| benchmark | result |");
    println!("|---|---|");
    println!(
        "| importer: 1,000 Services exported (500 from each of 2 clusters) → 1,000 imports with IPs in both clusters | {} |",
        ms(thousand)
    );
    println!(
        "| importer (upstream): a 5,000-endpoint Service → {slices} slices (≤ 100 each) in the other cluster | {} |",
        ms(big)
    );
    println!(
        "| importer (GKE): scale by one → new pod's IP in the other cluster's gke-mcs Endpoints, p50 / p99 (20 samples) | {} / {} |",
        ms(lat[lat.len() / 2]),
        ms(lat[lat.len() - 1])
    );
    println!(
        "| importer (GKE, kind/k3s DNS): export in a → its clusterset.local record in b's CoreDNS Corefile, p50 / p99 (20 samples) | {} / {} |",
        ms(rec[rec.len() / 2]),
        ms(rec[rec.len() - 1])
    );
    println!(
        "| importer (GKE, kind/k3s DNS): 500 exports created back to back → all 520 records in both Corefiles | {} |",
        ms(rec_bulk)
    );
}

/// Services in the convergence benchmark (`IMPORTER_BENCH_SERVICES`, default 1,000).
fn n_services() -> usize {
    std::env::var("IMPORTER_BENCH_SERVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

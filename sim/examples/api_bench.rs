//! `make bench`: API server benchmarks of the embedded fleet, through kube::Client.
//!
//! 1. sustained writes/s while 100 watchers are connected (and time until every watcher
//!    has seen every write);
//! 2. latency of listing 10,000 objects (one page, and pages of 500);
//! 3. watch delivery latency: from sending a write to a watcher receiving its event.
//!
//! Prints a Markdown table for the README's Performance section.

use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use mcs_sim::{Fleet, FleetConfig};
use serde_json::json;

const WATCHERS: usize = 100;
const WRITES: usize = 5_000;
const WRITERS: usize = 16;
const LIST_OBJECTS: usize = 10_000;
const LATENCY_SAMPLES: usize = 1_000;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
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
    let cfg = kube::Config::from_custom_kubeconfig(kc, &opts)
        .await
        .expect("config");
    kube::Client::try_from(cfg).expect("client")
}

fn cm(name: String) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": "v"}}))
        .expect("configmap")
}

async fn namespace(c: &kube::Client, name: &str) {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(c.clone());
    let ns = serde_json::from_value(json!({"metadata": {"name": name}})).expect("ns");
    api.create(&PostParams::default(), &ns)
        .await
        .expect("create namespace");
}

async fn writes_with_watchers(c: &kube::Client) -> (f64, Duration) {
    namespace(c, "bench-w").await;
    let api: Api<ConfigMap> = Api::namespaced(c.clone(), "bench-w");
    let rv = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .unwrap_or_default();
    let mut watchers = Vec::new();
    for _ in 0..WATCHERS {
        let stream = api
            .watch(&WatchParams::default(), &rv)
            .await
            .expect("watch")
            .boxed();
        watchers.push(tokio::spawn(async move {
            let mut stream = stream;
            let mut n = 0;
            while n < WRITES {
                match stream.next().await {
                    Some(Ok(WatchEvent::Added(_))) => n += 1,
                    Some(_) => {}
                    None => break,
                }
            }
            n
        }));
    }
    let start = Instant::now();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let api = api.clone();
        writers.push(tokio::spawn(async move {
            for i in (w..WRITES).step_by(WRITERS) {
                api.create(&PostParams::default(), &cm(format!("cm-{i:05}")))
                    .await
                    .expect("create");
            }
        }));
    }
    for w in writers {
        w.await.expect("writer");
    }
    let write_time = start.elapsed();
    for w in watchers {
        assert_eq!(
            w.await.expect("watcher"),
            WRITES,
            "every watcher sees every write"
        );
    }
    (WRITES as f64 / write_time.as_secs_f64(), start.elapsed())
}

async fn list_latency(c: &kube::Client) -> (Duration, Duration) {
    namespace(c, "bench-l").await;
    let api: Api<ConfigMap> = Api::namespaced(c.clone(), "bench-l");
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            for i in (w..LIST_OBJECTS).step_by(WRITERS) {
                api.create(&PostParams::default(), &cm(format!("l-{i:05}")))
                    .await
                    .expect("create");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    let mut full = Vec::new();
    let mut paged = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let l = api.list(&ListParams::default()).await.expect("list");
        full.push(t.elapsed());
        assert_eq!(l.items.len(), LIST_OBJECTS);
        let t = Instant::now();
        let mut lp = ListParams::default().limit(500);
        let mut n = 0;
        loop {
            let page = api.list(&lp).await.expect("page");
            n += page.items.len();
            match page.metadata.continue_.filter(|s| !s.is_empty()) {
                Some(tok) => lp = lp.continue_token(&tok),
                None => break,
            }
        }
        paged.push(t.elapsed());
        assert_eq!(n, LIST_OBJECTS);
    }
    full.sort();
    paged.sort();
    (pct(&full, 0.5), pct(&paged, 0.5))
}

async fn watch_latency(c: &kube::Client) -> Vec<Duration> {
    let api: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    let obj = api
        .create(&PostParams::default(), &cm("lat".into()))
        .await
        .expect("create");
    let rv = obj.metadata.resource_version.unwrap_or_default();
    let mut stream = api
        .watch(&WatchParams::default().fields("metadata.name=lat"), &rv)
        .await
        .expect("watch")
        .boxed();
    let mut samples = Vec::with_capacity(LATENCY_SAMPLES);
    for i in 0..LATENCY_SAMPLES {
        let t = Instant::now();
        let patch = Patch::Merge(json!({"data": {"k": i.to_string()}}));
        let pp = PatchParams::default();
        let writer = api.patch("lat", &pp, &patch);
        let (res, ev) = tokio::join!(writer, async {
            loop {
                match stream.next().await {
                    Some(Ok(WatchEvent::Modified(_))) => return Instant::now(),
                    Some(_) => continue,
                    None => panic!("watch ended"),
                }
            }
        });
        res.expect("patch");
        samples.push(ev - t);
    }
    samples.sort();
    samples
}

#[tokio::main]
async fn main() {
    let t = Instant::now();
    let fleet = Fleet::start(&FleetConfig {
        clusters: vec!["a".into(), "b".into()],
        ..Default::default()
    })
    .await
    .expect("fleet");
    let startup = t.elapsed();
    let c = client(&fleet).await;
    let (wps, fanout) = writes_with_watchers(&c).await;
    let (full, paged) = list_latency(&c).await;
    let lat = watch_latency(&c).await;
    println!("| benchmark | result |");
    println!("|---|---|");
    println!("| 2-cluster fleet start-up | {} |", ms(startup));
    println!(
        "| sustained creates/s, {WRITERS} writers, {WATCHERS} watchers connected | {wps:.0} writes/s |"
    );
    println!(
        "| {WRITES} creates delivered to all {WATCHERS} watchers ({} events) | {} |",
        WRITES * WATCHERS,
        ms(fanout)
    );
    println!(
        "| list of {LIST_OBJECTS} objects, one page (p50 of 5) | {} |",
        ms(full)
    );
    println!(
        "| list of {LIST_OBJECTS} objects, pages of 500 (p50 of 5) | {} |",
        ms(paged)
    );
    println!(
        "| watch delivery, write sent → event received, p50 ({LATENCY_SAMPLES} samples) | {} |",
        ms(pct(&lat, 0.5))
    );
    println!(
        "| watch delivery, write sent → event received, p99 | {} |",
        ms(pct(&lat, 0.99))
    );
}

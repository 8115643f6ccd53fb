//! Probes against a live embedded fleet: the probe pod's life cycle, DNS answers and
//! failures (including an injected DNS fault), HTTP through wget and curl to a whereami
//! Service, and exec semantics. Every wait is a watch or a poll with a deadline.

use std::collections::BTreeSet;
use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Pod, Service};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, PostParams,
};
use kube::runtime::wait::await_condition;
use serde_json::json;

use super::*;
use crate::fleet::{EmbeddedFleet, EmbeddedOptions};

const WAIT: Duration = Duration::from_secs(20);
const KUBE_DNS: &str = "kube-dns.kube-system.svc.cluster.local";
const CURL_IMAGE: &str = "curlimages/curl:8.5.0";
const WHEREAMI_IMAGE: &str = "us-docker.pkg.dev/google-samples/containers/gke/whereami:v1.2.22";

async fn fleet(clusters: &[&str], importer: bool) -> EmbeddedFleet {
    let opts = EmbeddedOptions {
        clusters: clusters.iter().map(|c| c.to_string()).collect(),
        importer,
        ..EmbeddedOptions::default()
    };
    EmbeddedFleet::start(&opts).await.expect("fleet starts")
}

async fn namespace(c: &kube::Client, name: &str) {
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    Api::<Namespace>::all(c.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
}

async fn probe(c: &kube::Client, cluster: &str, ns: &str, image: &str) -> ProbePod {
    ProbePod::ensure(c.clone(), cluster, ns, "run-1", image, WAIT)
        .await
        .expect("probe pod runs")
}

/// Polls `f` until it returns `Some`, failing the test at the deadline with `what`.
async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Deploys whereami (Deployment + Service port 80 → 8080) and waits until its Endpoints
/// list a ready address; returns the pod names.
async fn whereami(c: &kube::Client, ns: &str) -> BTreeSet<String> {
    let d: Deployment = serde_json::from_value(json!({"metadata": {"name": "whereami"}, "spec": {"replicas": 1,
        "selector": {"matchLabels": {"app": "whereami"}}, "template": {"metadata": {"labels": {"app": "whereami"}},
        "spec": {"containers": [{"name": "whereami", "image": WHEREAMI_IMAGE,
            "ports": [{"name": "http", "containerPort": 8080}],
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}}]}}}}))
    .unwrap();
    Api::<Deployment>::namespaced(c.clone(), ns)
        .create(&PostParams::default(), &d)
        .await
        .unwrap();
    let s: Service = serde_json::from_value(json!({"metadata": {"name": "whereami"}, "spec": {
        "selector": {"app": "whereami"}, "ports": [{"port": 80, "targetPort": 8080}]}}))
    .unwrap();
    Api::<Service>::namespaced(c.clone(), ns)
        .create(&PostParams::default(), &s)
        .await
        .unwrap();
    let ready = |e: Option<&Endpoints>| {
        e.and_then(|e| e.subsets.as_ref())
            .into_iter()
            .flatten()
            .any(|s| s.addresses.as_ref().is_some_and(|a| !a.is_empty()))
    };
    let eps = Api::<Endpoints>::namespaced(c.clone(), ns);
    tokio::time::timeout(WAIT, await_condition(eps, "whereami", ready))
        .await
        .expect("whereami endpoints ready in time")
        .unwrap();
    let pods = Api::<Pod>::namespaced(c.clone(), ns)
        .list(&ListParams::default().labels("app=whereami"))
        .await
        .unwrap();
    pods.items
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect()
}

fn faults(c: &kube::Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("sim.mcs-harness.dev", "v1alpha1", "Fault");
    Api::all_with(
        c.clone(),
        &ApiResource::from_gvk_with_plural(&gvk, "faults"),
    )
}

#[tokio::test]
async fn ensure_creates_a_labelled_pod_and_reuses_it() {
    let f = fleet(&["a"], false).await;
    let c = f.client("a").await.unwrap();
    namespace(&c, "p1").await;
    let first = probe(&c, "a", "p1", DEFAULT_PROBE_IMAGE).await;
    assert_eq!((first.cluster(), first.namespace()), ("a", "p1"));
    let pod = Api::<Pod>::namespaced(c.clone(), "p1")
        .get(PROBE_POD)
        .await
        .unwrap();
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get(RUN_LABEL).map(String::as_str), Some("run-1"));
    assert_eq!(
        labels
            .get("app.kubernetes.io/managed-by")
            .map(String::as_str),
        Some("mcs-harness")
    );

    // A second ensure (even asking for another image) reuses the running pod.
    let again = ProbePod::ensure(c.clone(), "a", "p1", "run-2", CURL_IMAGE, WAIT)
        .await
        .unwrap();
    let same = Api::<Pod>::namespaced(c.clone(), "p1")
        .get(PROBE_POD)
        .await
        .unwrap();
    assert_eq!(same.metadata.uid, pod.metadata.uid);
    // It probes with the tools of the image it really runs (busybox: wget, not curl).
    assert!(format!("{again:?}").contains(DEFAULT_PROBE_IMAGE));
}

#[tokio::test]
async fn ensure_in_a_missing_namespace_names_the_pod_and_cluster() {
    let f = fleet(&["a"], false).await;
    let c = f.client("a").await.unwrap();
    let err = ProbePod::ensure(c, "a", "nowhere", "run-1", DEFAULT_PROBE_IMAGE, WAIT)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ProbeError::Api {
                action: "create",
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("nowhere/mcs-probe") && msg.contains("cluster a"),
        "{msg}"
    );
}

#[tokio::test]
async fn dns_answers_kube_dns_and_nxdomain_for_a_missing_clusterset_name() {
    let f = fleet(&["a"], false).await;
    let c = f.client("a").await.unwrap();
    let svc = Api::<Service>::namespaced(c.clone(), "kube-system")
        .get("kube-dns")
        .await
        .unwrap();
    let ip: IpAddr = svc.spec.unwrap().cluster_ip.unwrap().parse().unwrap();
    for (ns, image) in [("d1", DEFAULT_PROBE_IMAGE), ("d2", CURL_IMAGE)] {
        namespace(&c, ns).await;
        let p = probe(&c, "a", ns, image).await;
        assert_eq!(
            p.dns(KUBE_DNS).await.unwrap(),
            DnsResult::Answer(BTreeSet::from([ip])),
            "{image}"
        );
        let missing = format!("nope.{ns}.svc.clusterset.local");
        assert_eq!(
            p.dns(&missing).await.unwrap(),
            DnsResult::NxDomain,
            "{image}"
        );
    }
}

#[tokio::test]
async fn http_reaches_whereami_with_wget_and_curl() {
    let f = fleet(&["a"], false).await;
    let c = f.client("a").await.unwrap();
    namespace(&c, "h1").await;
    let pods = whereami(&c, "h1").await;
    let url = "http://whereami.h1.svc.cluster.local";
    for (ns, image) in [("h2", DEFAULT_PROBE_IMAGE), ("h3", CURL_IMAGE)] {
        namespace(&c, ns).await;
        let p = probe(&c, "a", ns, image).await;
        let ok = p.http(&format!("{url}/"), WAIT).await.unwrap();
        assert_eq!(
            (ok.status, &ok.error),
            (Some(200), &None),
            "{image}: {ok:?}"
        );
        let backend = ok.backend.expect("whereami body");
        assert!(pods.contains(&backend.pod), "{image}: {backend:?}");
        assert_eq!(backend.cluster.as_deref(), Some("a"));

        let missing = p.http(&format!("{url}/status/404"), WAIT).await.unwrap();
        assert_eq!(
            (missing.status, &missing.error),
            (Some(404), &None),
            "{image}"
        );

        let closed = p.http(&format!("{url}:81/"), WAIT).await.unwrap();
        assert_eq!(closed.status, None, "{image}: {closed:?}");
        let error = closed.error.unwrap_or_default();
        assert!(error.contains("onnect"), "{image}: {error}");

        let bad = p
            .http("http://nope.h1.svc.cluster.local/", WAIT)
            .await
            .unwrap();
        assert_eq!(bad.status, None, "{image}: {bad:?}");
        assert!(bad.error.is_some(), "{image}: {bad:?}");
    }
}

#[tokio::test]
async fn exec_returns_failed_commands_and_does_not_retry_them() {
    let f = fleet(&["a"], false).await;
    let c = f.client("a").await.unwrap();
    namespace(&c, "e1").await;
    let p = probe(&c, "a", "e1", DEFAULT_PROBE_IMAGE).await;
    let out = p
        .exec(&["sh", "-c", "echo out; echo err >&2; exit 3"])
        .await
        .unwrap();
    let want = ExecOutput {
        stdout: "out\n".into(),
        stderr: "err\n".into(),
        exit_code: 3,
    };
    assert_eq!(out, want);
    let ok = p.exec(&["echo", "hello"]).await.unwrap();
    assert_eq!((ok.stdout.as_str(), ok.exit_code), ("hello\n", 0));

    // busybox has no curl: the runtime refuses to start it; that is final, not transient.
    let err = p.exec(&["curl", "-s", "http://x/"]).await.unwrap_err();
    assert!(matches!(err, ProbeError::ExecFailed { .. }), "{err:?}");
    assert!(!err.is_transient());
    assert!(err.to_string().contains("e1/mcs-probe"), "{err}");
}

#[tokio::test]
async fn dns_fault_makes_lookups_fail_until_removed() {
    let f = fleet(&["a"], false).await;
    let c = f.client("a").await.unwrap();
    namespace(&c, "f1").await;
    let p = probe(&c, "a", "f1", DEFAULT_PROBE_IMAGE).await;
    let fault: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "sim.mcs-harness.dev/v1alpha1", "kind": "Fault",
        "metadata": {"name": "dns-down"}, "spec": {"dns": {"mode": "ServFail"}}}))
    .unwrap();
    faults(&c)
        .create(&PostParams::default(), &fault)
        .await
        .unwrap();
    let failed = eventually("lookups fail under the fault", || async {
        match p.dns(KUBE_DNS).await.unwrap() {
            DnsResult::Failed(msg) => Some(msg),
            _ => None,
        }
    })
    .await;
    assert!(failed.contains("SERVFAIL"), "{failed}");

    faults(&c)
        .delete("dns-down", &DeleteParams::default())
        .await
        .unwrap();
    eventually("lookups answer again", || async {
        matches!(p.dns(KUBE_DNS).await.unwrap(), DnsResult::Answer(_)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn clusterset_name_resolves_and_reaches_the_exporting_cluster() {
    let f = fleet(&["a", "b"], true).await;
    let (a, b) = (f.client("a").await.unwrap(), f.client("b").await.unwrap());
    namespace(&a, "mcs").await;
    namespace(&b, "mcs").await;
    let pods = whereami(&b, "mcs").await;
    let gvk = GroupVersionKind::gvk("net.gke.io", "v1", "ServiceExport");
    let exports: Api<DynamicObject> = Api::namespaced_with(
        b.clone(),
        "mcs",
        &ApiResource::from_gvk_with_plural(&gvk, "serviceexports"),
    );
    let export: DynamicObject = serde_json::from_value(json!({"apiVersion": "net.gke.io/v1",
        "kind": "ServiceExport", "metadata": {"name": "whereami"}}))
    .unwrap();
    exports
        .create(&PostParams::default(), &export)
        .await
        .unwrap();

    let p = probe(&a, "a", "mcs", DEFAULT_PROBE_IMAGE).await;
    let name = "whereami.mcs.svc.clusterset.local";
    eventually("the clusterset name resolves in a", || async {
        match p.dns(name).await.unwrap() {
            DnsResult::Answer(ips) if !ips.is_empty() => Some(ips),
            _ => None,
        }
    })
    .await;
    let backend = eventually("a request from a reaches b's pod", || async {
        let r = p.http(&format!("http://{name}/"), WAIT).await.unwrap();
        r.backend.filter(|_| r.status == Some(200))
    })
    .await;
    assert_eq!(backend.cluster.as_deref(), Some("b"));
    assert!(pods.contains(&backend.pod), "{backend:?}");
}

#[tokio::test]
async fn probes_survive_injected_api_errors() {
    let f = fleet(&["a"], false).await;
    let c = f.client("a").await.unwrap();
    namespace(&c, "x1").await;
    let fault: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "sim.mcs-harness.dev/v1alpha1", "kind": "Fault",
        "metadata": {"name": "flaky-api"},
        "spec": {"apiErrors": {"rate": 0.3, "codes": [500, 503, 429]}}}))
    .unwrap();
    faults(&c)
        .create(&PostParams::default(), &fault)
        .await
        .unwrap();
    // Fault objects themselves are never failed: poll until the fault is in effect.
    eventually("the API fault is active", || async {
        let f = faults(&c).get("flaky-api").await.ok()?;
        (f.data["status"]["active"] == json!(true)).then_some(())
    })
    .await;
    let p = probe(&c, "a", "x1", DEFAULT_PROBE_IMAGE).await;
    for _ in 0..10 {
        let out = p.exec(&["echo", "hi"]).await.unwrap();
        assert_eq!((out.stdout.as_str(), out.exit_code), ("hi\n", 0));
        assert!(matches!(
            p.dns(KUBE_DNS).await.unwrap(),
            DnsResult::Answer(_)
        ));
    }
}

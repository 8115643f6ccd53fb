//! The importer converges while API servers fail requests and cut watches (DESIGN §8: "zero
//! false failures under injected API errors and watch drops"), on an embedded `mcs_sim`
//! fleet with `apiErrors` Fault objects.
//!
//! The API server raises no event for a request of the importer that failed, so a write
//! that failed must be retried by the importer itself: once the fault is gone, nothing else
//! changes in the fleet, and only the retry (not the 60 s resync) can finish the job.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Endpoints, Namespace, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use mcs_importer::naming::{GKE_DERIVED_PREFIX, UPSTREAM_DERIVED_PREFIX, derived_name};
use mcs_importer::{ClusterConn, Flavour, Importer, ImporterConfig};
use mcs_sim::{Fleet, FleetConfig};
use serde_json::{Value, json};

const NS: &str = "demo";
const SVC: &str = "whereami";
/// Well under the importer's 60 s resync: converging must not wait for it.
const CONVERGE_SECS: u64 = 20;

struct Setup {
    fleet: Fleet,
    flavour: Flavour,
    a: Client,
    b: Client,
    _importer: Importer,
}

async fn client(fleet: &Fleet, name: &str) -> Client {
    let kc: Kubeconfig = serde_json::from_value(fleet.kubeconfig()).expect("kubeconfig parses");
    let opts = KubeConfigOptions {
        context: Some(name.to_string()),
        ..Default::default()
    };
    let cfg = Config::from_custom_kubeconfig(kc, &opts)
        .await
        .expect("config");
    Client::try_from(cfg).expect("client")
}

/// Polls `f` until it returns Some, or panics after `secs` seconds with `what`.
async fn eventually<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The test's own requests meet the injected errors too: retry them until they succeed.
async fn retrying<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = kube::Result<T>>,
{
    eventually(CONVERGE_SECS, what, || {
        let r = f();
        async move { r.await.ok() }
    })
    .await
}

/// Waits until cluster `name` writes nothing for a while: the importer's reconciles that the
/// last change triggered are over.
async fn settled(fleet: &Fleet, name: &str) {
    let store = &fleet.cluster(name).expect("cluster").cluster.store;
    let mut last = store.current_rv();
    let mut stable = 0;
    eventually(10, &format!("cluster {name} to settle"), || {
        let rv = store.current_rv();
        stable = if rv == last { stable + 1 } else { 0 };
        last = rv;
        std::future::ready((stable >= 10).then_some(()))
    })
    .await;
}

fn mcs(c: &Client, flavour: Flavour, kind: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk(flavour.group(), flavour.version(), kind);
    let ar = ApiResource::from_gvk_with_plural(&gvk, &format!("{}s", kind.to_lowercase()));
    Api::namespaced_with(c.clone(), NS, &ar)
}

fn faults(c: &Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("sim.mcs-harness.dev", "v1alpha1", "Fault");
    Api::all_with(
        c.clone(),
        &ApiResource::from_gvk_with_plural(&gvk, "faults"),
    )
}

/// Applies an `apiErrors` fault to a cluster and waits until it is active (requests to Fault
/// objects are never failed).
async fn inject(c: &Client, name: &str, api_errors: Value) {
    let f: DynamicObject =
        serde_json::from_value(json!({"apiVersion": "sim.mcs-harness.dev/v1alpha1",
        "kind": "Fault", "metadata": {"name": name}, "spec": {"apiErrors": api_errors}}))
        .expect("fault");
    let api = faults(c);
    api.create(&PostParams::default(), &f)
        .await
        .expect("fault created");
    eventually(5, "the fault to be active", || {
        let api = api.clone();
        async move {
            let f = api.get(name).await.ok()?;
            (f.data["status"]["active"] == true).then_some(())
        }
    })
    .await;
}

async fn clear(c: &Client, name: &str) {
    faults(c)
        .delete(name, &DeleteParams::default())
        .await
        .expect("fault deleted");
}

/// A fleet `a`, `b` with the namespace in both, a selectorless Service `whereami` in `a`
/// whose Endpoints hold `addresses`, and the importer (not yet exporting anything).
async fn setup(flavour: Flavour, addresses: &[&str]) -> Setup {
    let fleet = Fleet::start(&FleetConfig::default())
        .await
        .expect("fleet starts");
    let a = client(&fleet, "a").await;
    let b = client(&fleet, "b").await;
    for c in [&a, &b] {
        mcs_importer::install_crds(c, flavour)
            .await
            .expect("CRDs installed");
        let ns: Namespace =
            serde_json::from_value(json!({"metadata": {"name": NS}})).expect("namespace");
        Api::<Namespace>::all(c.clone())
            .create(&PostParams::default(), &ns)
            .await
            .expect("namespace created");
    }
    let svc: Service = serde_json::from_value(json!({"metadata": {"name": SVC},
        "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}}))
    .expect("service");
    Api::<Service>::namespaced(a.clone(), NS)
        .create(&PostParams::default(), &svc)
        .await
        .expect("service created");
    Api::<Endpoints>::namespaced(a.clone(), NS)
        .create(&PostParams::default(), &endpoints(addresses))
        .await
        .expect("endpoints created");
    let conns = vec![
        ClusterConn {
            name: "a".into(),
            client: a.clone(),
        },
        ClusterConn {
            name: "b".into(),
            client: b.clone(),
        },
    ];
    let cfg = ImporterConfig {
        flavour,
        ..Default::default()
    };
    let importer = Importer::start(cfg, conns).await;
    Setup {
        fleet,
        flavour,
        a,
        b,
        _importer: importer,
    }
}

fn endpoints(addresses: &[&str]) -> Endpoints {
    let addrs: Vec<Value> = addresses.iter().map(|ip| json!({"ip": ip})).collect();
    serde_json::from_value(json!({"metadata": {"name": SVC},
        "subsets": [{"addresses": addrs, "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]}))
    .expect("endpoints")
}

async fn export(s: &Setup) {
    let e: DynamicObject = serde_json::from_value(json!({
        "apiVersion": format!("{}/{}", s.flavour.group(), s.flavour.version()),
        "kind": "ServiceExport", "metadata": {"name": SVC, "namespace": NS}}))
    .expect("export");
    let api = mcs(&s.a, s.flavour, "ServiceExport");
    retrying("the export to be created", || {
        let (api, e) = (api.clone(), e.clone());
        async move {
            match api.create(&PostParams::default(), &e).await {
                // An earlier attempt may have been committed before its answer was lost.
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
                r => r.map(|_| ()),
            }
        }
    })
    .await;
}

/// What cluster `c` imports of `whereami`: the import's `spec.ips` (None when the import is
/// absent) and whether they are the derived Service's ClusterIP, and the endpoint addresses
/// of the derived Service. None when a read failed.
async fn imported(c: &Client, flavour: Flavour) -> Option<(Option<Vec<String>>, BTreeSet<String>)> {
    let Some(import) = mcs(c, flavour, "ServiceImport").get_opt(SVC).await.ok()? else {
        return Some((None, BTreeSet::new()));
    };
    let ips: Vec<String> = import.data["spec"]["ips"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    let prefix = match flavour {
        Flavour::Gke => GKE_DERIVED_PREFIX,
        Flavour::Upstream => UPSTREAM_DERIVED_PREFIX,
    };
    let derived = derived_name(prefix, NS, SVC);
    let svc = Api::<Service>::namespaced(c.clone(), NS)
        .get_opt(&derived)
        .await
        .ok()?;
    let cluster_ip = svc.and_then(|s| s.spec?.cluster_ip);
    let ips = (cluster_ip.is_some() && ips == Vec::from_iter(cluster_ip)).then_some(ips);
    let mut addrs = BTreeSet::new();
    match flavour {
        Flavour::Gke => {
            let ep = Api::<Endpoints>::namespaced(c.clone(), NS)
                .get_opt(&derived)
                .await
                .ok()?;
            for s in ep.and_then(|e| e.subsets).unwrap_or_default() {
                addrs.extend(s.addresses.unwrap_or_default().into_iter().map(|a| a.ip));
            }
        }
        Flavour::Upstream => {
            let lp = ListParams::default().labels(&format!(
                "{}={SVC}",
                mcs_importer::slices::LABEL_SERVICE_NAME
            ));
            let slices = Api::<EndpointSlice>::namespaced(c.clone(), NS)
                .list(&lp)
                .await
                .ok()?;
            for s in slices.items {
                addrs.extend(s.endpoints.into_iter().flatten().flat_map(|e| e.addresses));
            }
        }
    }
    Some((Some(ips.unwrap_or_default()), addrs))
}

/// Waits until cluster `c` imports `whereami` with its derived IP and exactly `want`.
async fn wait_imported(c: &Client, flavour: Flavour, cluster: &str, want: &[&str]) {
    let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
    eventually(
        CONVERGE_SECS,
        &format!("cluster {cluster} to import {want:?} with the derived IP"),
        || {
            let want = want.clone();
            async move {
                let (ips, addrs) = imported(c, flavour).await?;
                (ips.is_some_and(|ips| !ips.is_empty()) && addrs == want).then_some(())
            }
        },
    )
    .await;
}

async fn wait_absent(c: &Client, flavour: Flavour, cluster: &str) {
    eventually(
        CONVERGE_SECS,
        &format!("cluster {cluster}'s import to go"),
        || async move {
            let (ips, _) = imported(c, flavour).await?;
            ips.is_none().then_some(())
        },
    )
    .await;
}

async fn exported_condition(s: &Setup) -> Option<()> {
    let e = mcs(&s.a, s.flavour, "ServiceExport").get(SVC).await.ok()?;
    let want = match s.flavour {
        Flavour::Gke => "Exported",
        Flavour::Upstream => "Ready",
    };
    e.data["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == want && c["status"] == "True")
        .then_some(())
}

/// Every request to `b` fails while the export is processed; then the fault goes and nothing
/// else happens. The importer must retry its failed writes to `b` on its own.
async fn failed_writes_are_retried(flavour: Flavour) {
    let s = setup(flavour, &["10.1.0.7"]).await;
    inject(&s.b, "down", json!({"rate": 1.0, "codes": [500]})).await;
    export(&s).await;
    // The reconcile ran: a holds its import (a imports too) and the export's conditions.
    wait_imported(&s.a, flavour, "a", &["10.1.0.7"]).await;
    eventually(CONVERGE_SECS, "the export's conditions", || {
        exported_condition(&s)
    })
    .await;
    settled(&s.fleet, "a").await;
    let injected = s
        .fleet
        .cluster("b")
        .expect("b")
        .cluster
        .api_faults
        .injected();
    assert!(injected > 0, "the importer's requests to b failed");
    clear(&s.b, "down").await;
    wait_imported(&s.b, flavour, "b", &["10.1.0.7"]).await;
}

#[tokio::test]
async fn gke_failed_writes_are_retried_without_any_new_event() {
    failed_writes_are_retried(Flavour::Gke).await;
}

#[tokio::test]
async fn upstream_failed_writes_are_retried_without_any_new_event() {
    failed_writes_are_retried(Flavour::Upstream).await;
}

/// The api-chaos story: both clusters fail 30% of requests and cut watches every second
/// while a service is exported, its endpoints change, and it is unexported.
async fn converges_under_api_chaos(flavour: Flavour) {
    let s = setup(flavour, &["10.1.0.7"]).await;
    let chaos = json!({"rate": 0.3, "codes": [500, 503, 429], "watchDropSeconds": 1});
    inject(&s.a, "flaky", chaos.clone()).await;
    inject(&s.b, "flaky", chaos).await;
    export(&s).await;
    wait_imported(&s.b, flavour, "b", &["10.1.0.7"]).await;
    wait_imported(&s.a, flavour, "a", &["10.1.0.7"]).await;

    // Scale up: a second ready address in a.
    let eps = Api::<Endpoints>::namespaced(s.a.clone(), NS);
    let body = serde_json::to_value(endpoints(&["10.1.0.7", "10.1.0.8"])).expect("endpoints");
    retrying("the endpoints update", || {
        let (eps, body) = (eps.clone(), body.clone());
        async move {
            eps.patch(SVC, &PatchParams::default(), &Patch::Merge(&body))
                .await
        }
    })
    .await;
    wait_imported(&s.b, flavour, "b", &["10.1.0.7", "10.1.0.8"]).await;

    // Unexport: the import goes everywhere.
    let exports = mcs(&s.a, flavour, "ServiceExport");
    retrying("the export to be deleted", || {
        let exports = exports.clone();
        async move {
            match exports.delete(SVC, &DeleteParams::default()).await {
                Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
                r => r.map(|_| ()),
            }
        }
    })
    .await;
    wait_absent(&s.b, flavour, "b").await;
    wait_absent(&s.a, flavour, "a").await;
}

#[tokio::test]
async fn gke_converges_under_api_errors_and_watch_drops() {
    converges_under_api_chaos(Flavour::Gke).await;
}

#[tokio::test]
async fn upstream_converges_under_api_errors_and_watch_drops() {
    converges_under_api_chaos(Flavour::Upstream).await;
}

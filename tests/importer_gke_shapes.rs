//! The simulated GKE importer writes objects shaped as GKE writes them
//! (`reference/gke-reality.md` §1): membership resource names in `status.clusters`, GKE's
//! ServiceImport labels, `Headless` imports without IPs, one condition set, order-insensitive
//! port conflicts, and a `gke-mcs-importer` Deployment Ready exactly while it runs and
//! reaches the cluster.

mod support;

use k8s_openapi::api::core::v1::{Endpoints, Namespace, Pod, Service};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, PostParams};
use mcs_harness::fleet::{EmbeddedFleet, EmbeddedOptions};
use serde_json::{Value, json};
use support::eventually;

const NS: &str = "shapes";

fn mcs(c: &kube::Client, kind: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("net.gke.io", "v1", kind);
    let ar = ApiResource::from_gvk_with_plural(&gvk, &format!("{}s", kind.to_lowercase()));
    Api::namespaced_with(c.clone(), NS, &ar)
}

async fn create<K>(api: &Api<K>, v: Value)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let obj: K = serde_json::from_value(v).expect("object");
    api.create(&PostParams::default(), &obj)
        .await
        .expect("create");
}

async fn service(c: &kube::Client, name: &str, spec: Value) {
    let api = Api::<Service>::namespaced(c.clone(), NS);
    create(&api, json!({"metadata": {"name": name}, "spec": spec})).await;
}

async fn export(c: &kube::Client, name: &str) {
    let body =
        json!({"apiVersion": "net.gke.io/v1", "kind": "ServiceExport", "metadata": {"name": name}});
    let obj: DynamicObject = serde_json::from_value(body).expect("export");
    mcs(c, "ServiceExport")
        .create(&PostParams::default(), &obj)
        .await
        .expect("create export");
}

async fn condition_types(c: &kube::Client, name: &str) -> Vec<(String, String)> {
    let e = mcs(c, "ServiceExport").get(name).await.expect("export");
    let conds = e.data["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    conds
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (s("type"), s("status"))
        })
        .collect()
}

async fn importer_ready(c: &kube::Client) -> Option<bool> {
    let pods = Api::<Pod>::namespaced(c.clone(), "gke-mcs");
    let lp = ListParams::default().labels("k8s-app=gke-mcs-importer");
    let list = pods.list(&lp).await.ok()?;
    let p = list.items.first()?;
    let conds = p.status.as_ref()?.conditions.clone().unwrap_or_default();
    Some(
        conds
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gke_importer_writes_what_gke_writes() {
    let opts = EmbeddedOptions {
        gke: mcs_importer::GkeFleet {
            project_number: "680206487583".into(),
            location: "europe-west1".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let mut f = EmbeddedFleet::start(&opts).await.expect("fleet");
    let (a, b) = (
        f.client("a").await.expect("a"),
        f.client("b").await.expect("b"),
    );
    for c in [&a, &b] {
        let ns = Api::<Namespace>::all(c.clone());
        create(&ns, json!({"metadata": {"name": NS}})).await;
    }
    // Two ports; b lists them the other way round (order is no conflict).
    let ports = json!([{"name": "http", "port": 80}, {"name": "metrics", "port": 9090}]);
    let reversed = json!([{"name": "metrics", "port": 9090}, {"name": "http", "port": 80}]);
    service(
        &a,
        "web",
        json!({"selector": {"app": "web"}, "ports": ports}),
    )
    .await;
    service(
        &b,
        "web",
        json!({"selector": {"app": "web"}, "ports": reversed}),
    )
    .await;
    service(
        &a,
        "hl",
        json!({"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"port": 8080}]}),
    )
    .await;
    for name in ["web", "hl"] {
        export(&a, name).await;
    }
    export(&b, "web").await;

    let import = eventually(20, "web imported in b from a and b", || async {
        let i = mcs(&b, "ServiceImport").get_opt("web").await.ok()??;
        let n = i.data["status"]["clusters"].as_array().map_or(0, Vec::len);
        (n == 2 && i.data["spec"]["ips"].as_array().is_some()).then_some(i)
    })
    .await;
    let clusters: Vec<&str> = import.data["status"]["clusters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["cluster"].as_str())
        .collect();
    assert_eq!(
        clusters,
        [
            "projects/680206487583/locations/europe-west1/memberships/a",
            "projects/680206487583/locations/europe-west1/memberships/b"
        ]
    );
    let labels = import.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels["net.gke.io/backend-service-name"],
        "gkemcs-shapes-web"
    );
    assert_eq!(labels["net.gke.io/export-project"], "680206487583");
    assert_eq!(labels["net.gke.io/export-network"], "default");
    assert_eq!(
        labels["app.kubernetes.io/managed-by"],
        "gke-mcs-controller.gke.io"
    );
    assert_eq!(import.data["spec"]["type"], "ClusterSetIP");
    assert_eq!(import.data["spec"]["ips"].as_array().map(Vec::len), Some(1));
    for c in [&a, &b] {
        let want = [("Initialized", "True"), ("Exported", "True")]
            .map(|(t, s)| (t.to_string(), s.to_string()));
        let got = eventually(20, "the export's conditions", || async {
            let got = condition_types(c, "web").await;
            (got.len() >= 2).then_some(got)
        })
        .await;
        assert_eq!(
            got, want,
            "one condition set, no Conflict for a mere reordering"
        );
    }

    // Headless: type Headless, no ips, derived Service headless, Endpoints (none ready yet).
    let hl = eventually(20, "hl imported in b", || async {
        mcs(&b, "ServiceImport").get_opt("hl").await.ok()?
    })
    .await;
    assert_eq!(hl.data["spec"]["type"], "Headless");
    assert!(hl.data["spec"]["ips"].is_null(), "{:?}", hl.data);
    let derived =
        hl.metadata.annotations.clone().unwrap_or_default()["net.gke.io/derived-service"].clone();
    let svc = Api::<Service>::namespaced(b.clone(), NS)
        .get(&derived)
        .await
        .expect("derived");
    assert_eq!(svc.spec.and_then(|s| s.cluster_ip).as_deref(), Some("None"));
    Api::<Endpoints>::namespaced(b.clone(), NS)
        .get(&derived)
        .await
        .expect("derived Endpoints");

    // The importer Deployment: Ready while the importer runs, not once it stops.
    for c in [&a, &b] {
        eventually(30, "gke-mcs-importer pod Ready", || async {
            importer_ready(c).await.filter(|r| *r)
        })
        .await;
    }
    // The importer cannot reach a (its Lease renewal is refused): a's pod goes unready, b's
    // stays Ready.
    let gvk = GroupVersionKind::gvk(mcs_sim::faults::GROUP, "v1alpha1", "Fault");
    let faults: Api<DynamicObject> = Api::all_with(
        a.clone(),
        &ApiResource::from_gvk_with_plural(&gvk, "faults"),
    );
    let deny = json!({"apiVersion": format!("{}/v1alpha1", mcs_sim::faults::GROUP), "kind": "Fault",
        "metadata": {"name": "importer-unreachable"},
        "spec": {"deny": {"user": mcs_harness::fleet::IMPORTER_USER, "verbs": ["patch", "create", "update"],
                          "resources": ["leases.coordination.k8s.io"]}}});
    let fault: DynamicObject = serde_json::from_value(deny).expect("fault");
    faults
        .create(&PostParams::default(), &fault)
        .await
        .expect("create fault");
    eventually(
        30,
        "a's importer pod unready while a refuses the importer",
        || async { importer_ready(&a).await.filter(|r| !*r) },
    )
    .await;
    assert_eq!(
        importer_ready(&b).await,
        Some(true),
        "b still reaches the importer"
    );
    faults
        .delete("importer-unreachable", &Default::default())
        .await
        .expect("delete fault");
    eventually(30, "a's importer pod Ready again", || async {
        importer_ready(&a).await.filter(|r| *r)
    })
    .await;
    f.importer.take();
    eventually(
        30,
        "gke-mcs-importer pod not Ready after the importer stopped",
        || async { importer_ready(&a).await.filter(|r| !*r) },
    )
    .await;
}

//! The simulated importer (GKE flavour) on the embedded fleet: the mcs-basic recipe's whole
//! story, invalid exports, and the access-denied symptom customers report.

mod support;

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Pod, Service};
use kube::api::{
    Api, ApiResource, AttachParams, DeleteParams, DynamicObject, GroupVersionKind, ListParams,
    Patch, PatchParams, PostParams,
};
use mcs_harness::fleet::{EmbeddedFleet, EmbeddedOptions};
use serde_json::json;
use support::eventually;
use tokio::io::AsyncReadExt;

const NS: &str = "multi-cluster-demo";
const DERIVED: &str = "gke-mcs-7pqvt62non";

fn ar(kind: &str) -> ApiResource {
    let gvk = GroupVersionKind::gvk("net.gke.io", "v1", kind);
    ApiResource::from_gvk_with_plural(&gvk, &format!("{}s", kind.to_lowercase()))
}

fn dyn_api(c: &kube::Client, kind: &str) -> Api<DynamicObject> {
    Api::namespaced_with(c.clone(), NS, &ar(kind))
}

async fn namespace(c: &kube::Client) {
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}})).unwrap();
    Api::<Namespace>::all(c.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
}

async fn app(c: &kube::Client, replicas: i32) {
    let d: Deployment = serde_json::from_value(json!({"metadata": {"name": "whereami"}, "spec": {"replicas": replicas,
        "selector": {"matchLabels": {"app": "whereami"}}, "template": {"metadata": {"labels": {"app": "whereami"}}, "spec": {"containers": [
            {"name": "whereami", "image": "us-docker.pkg.dev/google-samples/containers/gke/whereami:v1.2.20",
             "ports": [{"name": "http", "containerPort": 8080}],
             "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}}]}}}})).unwrap();
    Api::<Deployment>::namespaced(c.clone(), NS)
        .create(&PostParams::default(), &d)
        .await
        .unwrap();
    let s: Service = serde_json::from_value(
        json!({"metadata": {"name": "whereami"}, "spec": {"selector": {"app": "whereami"},
        "ports": [{"port": 80, "targetPort": 8080}]}}),
    )
    .unwrap();
    Api::<Service>::namespaced(c.clone(), NS)
        .create(&PostParams::default(), &s)
        .await
        .unwrap();
}

async fn export(c: &kube::Client, name: &str) {
    let e: DynamicObject = serde_json::from_value(
        json!({"apiVersion": "net.gke.io/v1", "kind": "ServiceExport", "metadata": {"name": name}}),
    )
    .unwrap();
    dyn_api(c, "ServiceExport")
        .create(&PostParams::default(), &e)
        .await
        .unwrap();
}

async fn ready_pod_ips(c: &kube::Client) -> BTreeSet<String> {
    let pods = Api::<Pod>::namespaced(c.clone(), NS)
        .list(&ListParams::default().labels("app=whereami"))
        .await
        .unwrap();
    pods.items
        .into_iter()
        .filter(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        })
        .filter_map(|p| p.status?.pod_ip)
        .collect()
}

async fn derived_ips(c: &kube::Client) -> Option<BTreeSet<String>> {
    let ep = Api::<Endpoints>::namespaced(c.clone(), NS)
        .get_opt(DERIVED)
        .await
        .ok()??;
    Some(
        ep.subsets
            .unwrap_or_default()
            .into_iter()
            .flat_map(|s| s.addresses.unwrap_or_default())
            .map(|a| a.ip)
            .collect(),
    )
}

/// Waits until the derived Endpoints in `c` list exactly `want`.
async fn endpoints_become(c: &kube::Client, want: &BTreeSet<String>, what: &str) {
    eventually(20, what, || async {
        (derived_ips(c).await.as_ref() == Some(want)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn recipe_story_export_opt_in_migrate_unexport() {
    let f = EmbeddedFleet::start(&EmbeddedOptions::default())
        .await
        .unwrap();
    let (a, b) = (f.client("a").await.unwrap(), f.client("b").await.unwrap());
    namespace(&a).await;
    app(&a, 1).await;
    export(&a, "whereami").await;

    // The import appears in the exporting cluster; b has no namespace, so no import there.
    let import = eventually(20, "import in a", || async {
        dyn_api(&a, "ServiceImport")
            .get_opt("whereami")
            .await
            .ok()?
    })
    .await;
    assert_eq!(
        import.metadata.annotations.as_ref().unwrap()["net.gke.io/derived-service"],
        DERIVED
    );
    assert_eq!(
        import.metadata.labels.as_ref().unwrap()["app.kubernetes.io/managed-by"],
        "gke-mcs-controller.gke.io"
    );
    assert!(
        dyn_api(&b, "ServiceImport")
            .get_opt("whereami")
            .await
            .unwrap()
            .is_none()
    );

    // Opt in: create the namespace in b.
    namespace(&b).await;
    let import_b = eventually(20, "import in b with ips", || async {
        let i = dyn_api(&b, "ServiceImport")
            .get_opt("whereami")
            .await
            .ok()??;
        i.data["spec"]["ips"]
            .as_array()
            .filter(|a| !a.is_empty())
            .map(|_| i.clone())
    })
    .await;
    let derived = Api::<Service>::namespaced(b.clone(), NS)
        .get(DERIVED)
        .await
        .unwrap();
    let spec = derived.spec.unwrap();
    assert_eq!(
        import_b.data["spec"]["ips"],
        json!([spec.cluster_ip.unwrap()])
    );
    assert!(spec.selector.is_none(), "derived Service has no selector");
    assert_eq!(
        derived.metadata.owner_references.unwrap()[0].kind,
        "ServiceImport"
    );
    assert_eq!(import_b.data["spec"]["type"], "ClusterSetIP");
    assert_eq!(import_b.data["spec"]["ports"][0]["port"], 80);

    let a_pods = eventually(20, "a's pod ready", || async {
        Some(ready_pod_ips(&a).await).filter(|s| s.len() == 1)
    })
    .await;
    endpoints_become(&b, &a_pods, "b's derived endpoints = a's ready pod").await;
    let ep = Api::<Endpoints>::namespaced(b.clone(), NS)
        .get(DERIVED)
        .await
        .unwrap();
    assert_eq!(
        ep.subsets.unwrap()[0].ports.as_ref().unwrap()[0].port,
        8080,
        "ready pod IP:targetPort"
    );

    // Migration: export from b too → both pods in both clusters.
    app(&b, 1).await;
    export(&b, "whereami").await;
    let b_pods = eventually(20, "b's pod ready", || async {
        Some(ready_pod_ips(&b).await).filter(|s| s.len() == 1)
    })
    .await;
    let both: BTreeSet<String> = a_pods.union(&b_pods).cloned().collect();
    endpoints_become(&a, &both, "both pods in a").await;
    endpoints_become(&b, &both, "both pods in b").await;
    assert_http_reaches(&b, &["a", "b"]).await;

    // Unexport a → only b's pod everywhere.
    dyn_api(&a, "ServiceExport")
        .delete("whereami", &DeleteParams::default())
        .await
        .unwrap();
    endpoints_become(&a, &b_pods, "only b's pod in a").await;
    endpoints_become(&b, &b_pods, "only b's pod in b").await;

    // Scale b 1 → 3 → 0 → 1, tracked in a.
    for n in [3, 0, 1] {
        Api::<Deployment>::namespaced(b.clone(), NS)
            .patch_scale(
                "whereami",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"replicas": n}})),
            )
            .await
            .unwrap();
        let want = eventually(20, "b scaled", || async {
            Some(ready_pod_ips(&b).await).filter(|s| s.len() == n as usize)
        })
        .await;
        endpoints_become(&a, &want, &format!("a tracks {n} pods of b")).await;
    }

    // Delete the last export → imports and derived Services gone everywhere.
    dyn_api(&b, "ServiceExport")
        .delete("whereami", &DeleteParams::default())
        .await
        .unwrap();
    for c in [&a, &b] {
        eventually(20, "import and derived service gone", || async {
            let gone_i = dyn_api(c, "ServiceImport")
                .get_opt("whereami")
                .await
                .ok()?
                .is_none();
            let gone_s = Api::<Service>::namespaced(c.clone(), NS)
                .get_opt(DERIVED)
                .await
                .ok()?
                .is_none();
            (gone_i && gone_s).then_some(())
        })
        .await;
    }
}

/// From a busybox pod in `c`, requests to the clusterset name reach every listed cluster.
async fn assert_http_reaches(c: &kube::Client, clusters: &[&str]) {
    let pods: Api<Pod> = Api::namespaced(c.clone(), NS);
    let p: Pod = serde_json::from_value(json!({"metadata": {"name": "probe"}, "spec": {"containers": [{"name": "p", "image": "busybox:1.36", "command": ["sleep", "3600"]}], "terminationGracePeriodSeconds": 0}})).unwrap();
    pods.create(&PostParams::default(), &p).await.unwrap();
    eventually(20, "probe running", || async {
        (pods.get("probe").await.ok()?.status?.phase.as_deref() == Some("Running")).then_some(())
    })
    .await;
    let mut seen = BTreeSet::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while !clusters.iter().all(|c| seen.contains(*c)) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "every cluster answers; saw {seen:?}"
        );
        let ap = AttachParams::default()
            .stdout(true)
            .stderr(false)
            .stdin(false);
        let url = format!("http://whereami.{NS}.svc.clusterset.local/");
        let Ok(mut proc) = pods
            .exec("probe", ["wget", "-qO-", "-T", "2", url.as_str()], &ap)
            .await
        else {
            continue;
        };
        let mut out = String::new();
        if let Some(mut o) = proc.stdout() {
            let _ = o.read_to_string(&mut out).await;
        }
        if let Some(c) = serde_json::from_str::<serde_json::Value>(&out)
            .ok()
            .and_then(|v| v["cluster_name"].as_str().map(String::from))
        {
            seen.insert(c);
        }
    }
}

#[tokio::test]
async fn invalid_exports_get_conditions_and_no_import() {
    let f = EmbeddedFleet::start(&EmbeddedOptions::default())
        .await
        .unwrap();
    let a = f.client("a").await.unwrap();
    namespace(&a).await;
    export(&a, "missing").await;
    let ext: Service = serde_json::from_value(json!({"metadata": {"name": "ext"}, "spec": {"type": "ExternalName", "externalName": "example.com"}})).unwrap();
    Api::<Service>::namespaced(a.clone(), NS)
        .create(&PostParams::default(), &ext)
        .await
        .unwrap();
    export(&a, "ext").await;
    for (name, reason) in [("missing", "NoService"), ("ext", "InvalidServiceType")] {
        eventually(20, reason, || async {
            let e = dyn_api(&a, "ServiceExport").get(name).await.ok()?;
            let conds = e.data["status"]["conditions"].as_array()?.clone();
            conds
                .iter()
                .any(|c| c["type"] == "Exported" && c["status"] == "False" && c["reason"] == reason)
                .then_some(())
        })
        .await;
        assert!(
            dyn_api(&a, "ServiceImport")
                .get_opt(name)
                .await
                .unwrap()
                .is_none(),
            "no import for {name}"
        );
    }
}

#[tokio::test]
async fn importer_denied_endpoints_leaves_import_without_endpoints_until_healed() {
    let f = EmbeddedFleet::start(&EmbeddedOptions::default())
        .await
        .unwrap();
    let (a, b) = (f.client("a").await.unwrap(), f.client("b").await.unwrap());
    let fault: DynamicObject = serde_json::from_value(json!({"apiVersion": "sim.mcs-harness.dev/v1alpha1", "kind": "Fault",
        "metadata": {"name": "importer-no-endpoints"},
        "spec": {"deny": {"user": "system:serviceaccount:gke-mcs:gke-mcs-importer", "verbs": ["get", "list", "watch"], "resources": ["endpoints"]}}})).unwrap();
    let gvk = GroupVersionKind::gvk("sim.mcs-harness.dev", "v1alpha1", "Fault");
    let faults: Api<DynamicObject> = Api::all_with(
        a.clone(),
        &ApiResource::from_gvk_with_plural(&gvk, "faults"),
    );
    faults.create(&PostParams::default(), &fault).await.unwrap();
    namespace(&a).await;
    namespace(&b).await;
    app(&a, 1).await;
    export(&a, "whereami").await;
    eventually(20, "a's pod ready", || async {
        Some(ready_pod_ips(&a).await).filter(|s| s.len() == 1)
    })
    .await;

    // The customer's report: import and derived Service exist in b, Endpoints empty.
    eventually(20, "import + derived service in b", || async {
        let i = dyn_api(&b, "ServiceImport")
            .get_opt("whereami")
            .await
            .ok()??;
        let s = Api::<Service>::namespaced(b.clone(), NS)
            .get_opt(DERIVED)
            .await
            .ok()??;
        (i.data["spec"]["ips"]
            .as_array()
            .is_some_and(|x| !x.is_empty())
            && s.spec.is_some())
        .then_some(())
    })
    .await;
    assert_eq!(
        derived_ips(&b).await.unwrap_or_default(),
        BTreeSet::new(),
        "no endpoints while denied"
    );
    let events = eventually(20, "warning event with the 403", || async {
        let evs = Api::<k8s_openapi::api::core::v1::Event>::namespaced(b.clone(), NS)
            .list(&ListParams::default())
            .await
            .ok()?;
        let w: Vec<_> = evs
            .items
            .into_iter()
            .filter(|e| {
                e.type_.as_deref() == Some("Warning")
                    && e.reason.as_deref() == Some("EndpointsImportFailed")
            })
            .collect();
        (!w.is_empty()).then_some(w)
    })
    .await;
    let msg = events[0].message.clone().unwrap_or_default();
    assert!(
        msg.contains("forbidden") && msg.contains("cluster a"),
        "{msg}"
    );

    // Deleting the Fault heals it.
    faults
        .delete("importer-no-endpoints", &DeleteParams::default())
        .await
        .unwrap();
    let want = ready_pod_ips(&a).await;
    endpoints_become(&b, &want, "endpoints after the fault is gone").await;
}

#[tokio::test]
async fn clusters_can_join_the_importer_at_runtime() {
    let opts = EmbeddedOptions {
        importer: false,
        ..Default::default()
    };
    let f = EmbeddedFleet::start(&opts).await.unwrap();
    let (a, b) = (f.client("a").await.unwrap(), f.client("b").await.unwrap());
    let conn = |name: &str, client: &kube::Client| mcs_importer::ClusterConn {
        name: name.into(),
        client: client.clone(),
    };
    let importer =
        mcs_importer::Importer::start(mcs_importer::ImporterConfig::default(), vec![conn("a", &a)])
            .await;
    namespace(&a).await;
    namespace(&b).await;
    app(&a, 1).await;
    export(&a, "whereami").await;
    eventually(20, "import in a", || async {
        dyn_api(&a, "ServiceImport")
            .get_opt("whereami")
            .await
            .ok()?
    })
    .await;
    assert!(
        dyn_api(&b, "ServiceImport")
            .get_opt("whereami")
            .await
            .unwrap()
            .is_none(),
        "b is not in the fleet yet"
    );
    importer.add_cluster(conn("b", &b)).await;
    eventually(20, "import in b after b joined", || async {
        dyn_api(&b, "ServiceImport")
            .get_opt("whereami")
            .await
            .ok()?
    })
    .await;
    importer.remove_cluster("b").await;
    assert_eq!(importer.clusters().await, vec!["a".to_string()]);
}

//! The simulated importer, upstream flavour (KEP-1645) on the embedded fleet: ClusterSetIP
//! imports with EndpointSlices per source cluster and traffic through the derived VIP,
//! oldest-export-wins conflicts with merged ports, headless imports answered by DNS.

mod support;

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams};
use serde_json::json;
use support::embedded_upstream::{NS, api, exec_out, export, fleet, namespace, service, setup};
use support::eventually;

#[tokio::test]
async fn clustersetip_slices_traffic_and_conflicts() {
    let f = fleet().await;
    let (a, b) = (f.client("a").await.unwrap(), f.client("b").await.unwrap());
    setup(
        &a,
        json!([{"name": "http", "port": 80, "targetPort": 8080}]),
        false,
    )
    .await;
    // b exports later with an extra port 81 (merged into the import) and another session
    // affinity (a conflict: a's older export wins).
    setup(&b, json!([{"name": "http", "port": 80, "targetPort": 8080}, {"name": "alt", "port": 81, "targetPort": 8080}]), false).await;
    let svcs = Api::<Service>::namespaced(b.clone(), NS);
    let patch = json!({"spec": {"sessionAffinity": "ClientIP"}});
    svcs.patch(
        "web",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(patch),
    )
    .await
    .unwrap();
    let import = eventually(30, "import with ips and both clusters", || async {
        let i = api(&b, "ServiceImport").get_opt("web").await.ok()??;
        let n = i.data["status"]["clusters"].as_array().map_or(0, Vec::len);
        (i.data["spec"]["ips"]
            .as_array()
            .is_some_and(|x| !x.is_empty())
            && n == 2)
            .then_some(i)
    })
    .await;
    assert_eq!(import.data["spec"]["type"], "ClusterSetIP");
    let ports: BTreeSet<i64> = import.data["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["port"].as_i64())
        .collect();
    assert_eq!(ports, BTreeSet::from([80, 81]), "ports merged");
    let derived =
        import.metadata.annotations.unwrap()["multicluster.kubernetes.io/derived-service"].clone();
    assert!(derived.starts_with("derived-"), "{derived}");

    let slices = eventually(30, "one slice per source cluster", || async {
        let l = Api::<EndpointSlice>::namespaced(b.clone(), NS)
            .list(&ListParams::default().labels("multicluster.kubernetes.io/service-name=web"))
            .await
            .ok()?;
        let sources: BTreeSet<String> = l
            .items
            .iter()
            .filter_map(|s| {
                s.metadata
                    .labels
                    .as_ref()?
                    .get("multicluster.kubernetes.io/source-cluster")
                    .cloned()
            })
            .collect();
        (sources.len() == 2).then_some(l.items)
    })
    .await;
    for s in &slices {
        assert_eq!(
            s.metadata.labels.as_ref().unwrap()["endpointslice.kubernetes.io/managed-by"],
            "mcs-importer.mcs-harness.dev"
        );
        assert_eq!(
            s.metadata.owner_references.as_ref().unwrap()[0].kind,
            "ServiceImport"
        );
    }
    let conflict = eventually(30, "conflict condition on b's export", || async {
        let e = api(&b, "ServiceExport").get("web").await.ok()?;
        e.data["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == "Conflict" && c["status"] == "True")
            .cloned()
    })
    .await;
    assert!(
        conflict["reason"]
            .as_str()
            .unwrap()
            .contains("SessionAffinityConflict"),
        "{conflict}"
    );

    // Traffic to the clusterset name reaches both clusters through the derived VIP.
    let mut seen = BTreeSet::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while seen.len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "both clusters answer: {seen:?}"
        );
        let out = exec_out(
            &b,
            &[
                "wget",
                "-qO-",
                "-T",
                "2",
                &format!("http://web.{NS}.svc.clusterset.local/"),
            ],
        )
        .await;
        if let Some(c) = serde_json::from_str::<serde_json::Value>(&out)
            .ok()
            .and_then(|v| v["cluster_name"].as_str().map(String::from))
        {
            seen.insert(c);
        }
    }
}

#[tokio::test]
async fn headless_import_resolves_to_pod_ips() {
    let f = fleet().await;
    let (a, b) = (f.client("a").await.unwrap(), f.client("b").await.unwrap());
    setup(
        &a,
        json!([{"name": "http", "port": 80, "targetPort": 8080}]),
        true,
    )
    .await;
    namespace(&b).await;
    let import = eventually(30, "headless import in b", || async {
        api(&b, "ServiceImport").get_opt("web").await.ok()?
    })
    .await;
    assert_eq!(import.data["spec"]["type"], "Headless");
    assert!(
        import.data["spec"].get("ips").is_none(),
        "headless imports have no IPs"
    );
    // Kubernetes defaults a headless Service's families too; the import carries them.
    let svc = Api::<Service>::namespaced(a.clone(), NS)
        .get("web")
        .await
        .unwrap();
    let spec = svc.spec.unwrap();
    assert_eq!(spec.ip_families, Some(vec!["IPv4".to_string()]));
    assert_eq!(spec.ip_family_policy.as_deref(), Some("SingleStack"));
    assert_eq!(import.data["spec"]["ipFamilies"], json!(["IPv4"]));
    let pod_ip = eventually(30, "a's pod ip", || async {
        let pods = Api::<Pod>::namespaced(a.clone(), NS)
            .list(&ListParams::default().labels("app=web"))
            .await
            .ok()?;
        pods.items.first()?.status.as_ref()?.pod_ip.clone()
    })
    .await;
    eventually(30, "clusterset DNS answers the pod IP", || async {
        let out = exec_out(&b, &["nslookup", &format!("web.{NS}.svc.clusterset.local")]).await;
        out.contains(&format!("Address: {pod_ip}")).then_some(())
    })
    .await;
}

/// KEP-1645 (mcs-api conformance specs 05-08): the import carries the exported Service's
/// session affinity config, internalTrafficPolicy, trafficDistribution, and one IP family
/// per IP in `ips`.
#[tokio::test]
async fn clustersetip_import_carries_the_service_properties() {
    let f = fleet().await;
    let (a, b) = (f.client("a").await.unwrap(), f.client("b").await.unwrap());
    namespace(&a).await;
    namespace(&b).await;
    let props = json!({"spec": {
        "sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 300}},
        "internalTrafficPolicy": "Local", "trafficDistribution": "PreferClose"}});
    let ports = json!([{"name": "http", "port": 80}]);
    service(&a, "props", "props", ports, props).await;
    export(&a, "props", json!({})).await;
    let import = eventually(30, "import with an IP in b", || async {
        let i = api(&b, "ServiceImport").get_opt("props").await.ok()??;
        i.data["spec"]["ips"].as_array()?.first()?;
        Some(i)
    })
    .await;
    let spec = &import.data["spec"];
    assert_eq!(spec["sessionAffinity"], "ClientIP");
    assert_eq!(
        spec["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"],
        300
    );
    assert_eq!(spec["internalTrafficPolicy"], "Local");
    assert_eq!(spec["trafficDistribution"], "PreferClose");
    let ips = spec["ips"].as_array().unwrap();
    let families = spec["ipFamilies"].as_array().unwrap();
    assert_eq!(ips.len(), families.len(), "one family per IP: {spec}");
    for (ip, family) in ips.iter().zip(families) {
        let ip: std::net::IpAddr = ip.as_str().unwrap().parse().unwrap();
        let want = if ip.is_ipv4() { "IPv4" } else { "IPv6" };
        assert_eq!(family, want, "{spec}");
    }
}

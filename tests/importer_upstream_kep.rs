//! The upstream-flavour importer against KEP-1645 / mcs-api v0.5 on the embedded fleet, one
//! test per behaviour the upstream conformance suite checks (spec numbers as in
//! `reference/kep-1645-conformance.md`): port sets that merge still conflict (10) and
//! colliding ports keep the oldest (11), objects written as `v1beta1` and read in both
//! versions, exported labels/annotations and their conflicts (02, 03), StrictPortConflict
//! routing (26, 27), and ClusterProperty cluster ids on the slices (16); and the doctor on
//! a fleet that serves only `v1beta1`.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use support::embedded_upstream::{
    NS, answering_cluster, api, api_in, condition, deployment, export, export_in, fleet, namespace,
    service,
};
use support::eventually;

/// The (name, port, protocol) of an import's `spec.ports`, sorted.
fn ports(import: &DynamicObject) -> Vec<(String, i64, String)> {
    let mut out: Vec<_> = import.data["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let name = p["name"].as_str().unwrap_or_default().to_string();
            let proto = p["protocol"].as_str().unwrap_or_default().to_string();
            (name, p["port"].as_i64().unwrap_or_default(), proto)
        })
        .collect();
    out.sort();
    out
}

fn port(name: &str, number: i64, proto: &str) -> (String, i64, String) {
    (name.to_string(), number, proto.to_string())
}

/// Waits for `c`'s import `name` to list both clusters and satisfy `ok`.
async fn import_where(
    c: &kube::Client,
    name: &str,
    ok: impl Fn(&DynamicObject) -> bool,
) -> DynamicObject {
    eventually(30, &format!("import {name} from both clusters"), || async {
        let i = api(c, "ServiceImport").get_opt(name).await.ok()??;
        let n = i.data["status"]["clusters"].as_array().map_or(0, Vec::len);
        (n == 2 && ok(&i)).then_some(i)
    })
    .await
}

/// Spec 10 (Required, KEP #service-port; mcs-api v0.5 `PortConflict` "if the ports are not
/// identical"): b adds an SCTP port, the import has the union and both exports say
/// Conflict. Spec 11: b's `tcp` port has another number: Conflict, the oldest's ports.
#[tokio::test]
async fn port_sets_conflict_unless_identical_and_the_union_is_imported() {
    let f = fleet().await;
    let (a, b) = (f.client("a").await.unwrap(), f.client("b").await.unwrap());
    let hello = json!([{"name": "tcp", "port": 42, "protocol": "TCP", "targetPort": 8080},
        {"name": "udp", "port": 42, "protocol": "UDP", "targetPort": 8080}]);
    let mut with_sctp = hello.clone();
    with_sctp
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "stcp", "port": 142, "protocol": "SCTP"}));
    let renumbered = json!([{"name": "tcp", "port": 43, "protocol": "TCP", "targetPort": 8080}]);
    for (c, merge, clash) in [(&a, &hello, &hello), (&b, &with_sctp, &renumbered)] {
        namespace(c).await;
        service(c, "merge", "web", merge.clone(), json!({})).await;
        service(c, "clash", "web", clash.clone(), json!({})).await;
        export(c, "merge", json!({})).await;
        export(c, "clash", json!({})).await;
    }
    for c in [&a, &b] {
        for name in ["merge", "clash"] {
            let conflict = condition(c, name, "Conflict", "True").await;
            assert_eq!(conflict["reason"], "PortConflict", "{name}: {conflict}");
        }
    }
    let merged = import_where(&a, "merge", |i| ports(i).len() == 3).await;
    let expected = vec![
        port("stcp", 142, "SCTP"),
        port("tcp", 42, "TCP"),
        port("udp", 42, "UDP"),
    ];
    assert_eq!(ports(&merged), expected, "the union, SCTP included");
    let clash = import_where(&a, "clash", |_| true).await;
    assert_eq!(
        ports(&clash),
        vec![port("tcp", 42, "TCP"), port("udp", 42, "UDP")],
        "the oldest export's ports"
    );
    let conflict = condition(&b, "clash", "Conflict", "True").await;
    let message = conflict["message"].as_str().unwrap_or_default();
    assert!(message.contains("same name, different port"), "{message}");
}

/// mcs-api v0.5: `v1beta1` is the storage version and the importer writes it; `v1alpha1`
/// stays served, and both versions show the same objects (what the harness reads).
#[tokio::test]
async fn writes_v1beta1_and_both_versions_read_the_same() {
    let f = fleet().await;
    let (a, b) = (f.client("a").await.unwrap(), f.client("b").await.unwrap());
    namespace(&a).await;
    namespace(&b).await;
    let p = json!([{"name": "http", "port": 80, "targetPort": 8080}]);
    service(&a, "web", "web", p, json!({})).await;
    export_in(&a, "v1beta1", "web", json!({})).await;
    let beta = eventually(
        30,
        "v1beta1 import with an IP and its status in b",
        || async {
            let i = api_in(&b, "v1beta1", "ServiceImport")
                .get_opt("web")
                .await
                .ok()??;
            i.data["spec"]["ips"].as_array()?.first()?;
            i.data["status"]["clusters"].as_array()?.first()?;
            Some(i)
        },
    )
    .await;
    let manager = |o: &DynamicObject| -> Vec<String> {
        let fields = o.metadata.managed_fields.iter().flatten();
        fields
            .filter(|m| m.manager.as_deref() == Some("gke-mcs-importer"))
            .filter_map(|m| m.api_version.clone())
            .collect()
    };
    let written = manager(&beta);
    assert!(!written.is_empty(), "the importer's managedFields entry");
    assert!(
        written.iter().all(|v| v == "multicluster.x-k8s.io/v1beta1"),
        "{written:?}"
    );
    let alpha = api(&b, "ServiceImport").get("web").await.unwrap();
    assert_eq!(
        alpha.types.as_ref().unwrap().api_version,
        "multicluster.x-k8s.io/v1alpha1"
    );
    assert_eq!(alpha.data["spec"], beta.data["spec"]);
    assert_eq!(alpha.data["status"], beta.data["status"]);
    let valid = condition(&a, "web", "Valid", "True").await;
    assert_eq!(valid["reason"], "Valid");
    let export = api_in(&a, "v1beta1", "ServiceExport")
        .get("web")
        .await
        .unwrap();
    assert!(
        manager(&export)
            .iter()
            .all(|v| v == "multicluster.x-k8s.io/v1beta1"),
        "status written as v1beta1"
    );
}

/// Specs 02 and 03 (Optional, KEP #labels-and-annotations): only the export's
/// `exportedLabels`/`exportedAnnotations` reach the import, never the Service's own; two
/// exports that disagree both say Conflict (`AnnotationsConflict,LabelsConflict`) and the
/// oldest export's values win.
#[tokio::test]
async fn only_exported_labels_and_annotations_reach_the_import() {
    let f = fleet().await;
    let (a, b) = (f.client("a").await.unwrap(), f.client("b").await.unwrap());
    let meta = |k: &str| json!({"exportedLabels": {k: "true"}, "exportedAnnotations": {format!("{k}-note"): "true"}});
    let own = json!({"metadata": {"labels": {"svc-label": "x"}, "annotations": {"svc-note": "y"}}});
    let p = json!([{"name": "http", "port": 80, "targetPort": 8080}]);
    namespace(&a).await;
    namespace(&b).await;
    service(&a, "solo", "web", p.clone(), own.clone()).await;
    export(&a, "solo", meta("dummy-label")).await;
    service(&a, "twin", "web", p.clone(), own.clone()).await;
    export(&a, "twin", meta("dummy-label")).await;
    service(&b, "twin", "web", p.clone(), own).await;
    export(&b, "twin", meta("dummy-label2")).await;

    let has = |i: &DynamicObject, key: &str| {
        let labels = i.metadata.labels.clone().unwrap_or_default();
        let notes = i.metadata.annotations.clone().unwrap_or_default();
        labels.contains_key(key) || notes.contains_key(&format!("{key}-note"))
    };
    for c in [&a, &b] {
        let solo = eventually(30, "solo import with the exported labels", || async {
            let i = api(c, "ServiceImport").get_opt("solo").await.ok()??;
            has(&i, "dummy-label").then_some(i)
        })
        .await;
        let labels = solo.metadata.labels.clone().unwrap_or_default();
        let notes = solo.metadata.annotations.clone().unwrap_or_default();
        assert_eq!(labels["dummy-label"], "true");
        assert_eq!(notes["dummy-label-note"], "true");
        assert!(!labels.contains_key("svc-label"), "{labels:?}");
        assert!(!notes.contains_key("svc-note"), "{notes:?}");
    }
    for c in [&a, &b] {
        let conflict = condition(c, "twin", "Conflict", "True").await;
        assert_eq!(conflict["reason"], "AnnotationsConflict,LabelsConflict");
    }
    let twin = import_where(&b, "twin", |i| has(i, "dummy-label")).await;
    assert!(!has(&twin, "dummy-label2"), "the oldest export's win");
}

/// The whereami clusters answering `svc:port` through the clusterset name from `c`, over
/// `n` answers (failed requests are retried, not counted; 60 s deadline).
async fn answers(c: &kube::Client, svc: &str, port: u16, n: usize) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while seen.values().sum::<usize>() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{n} answers from {svc}:{port}: {seen:?}"
        );
        if let Some(cluster) = answering_cluster(c, svc, port).await {
            *seen.entry(cluster).or_insert(0) += 1;
        }
    }
    seen
}

/// The source clusters of `c`'s MCS slices for import `name` with a ready endpoint, with
/// the names of their ports.
async fn slice_sources(c: &kube::Client, name: &str) -> BTreeMap<String, BTreeSet<String>> {
    let lp =
        ListParams::default().labels(&format!("multicluster.kubernetes.io/service-name={name}"));
    let list = Api::<EndpointSlice>::namespaced(c.clone(), NS)
        .list(&lp)
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in list {
        let ready = s
            .endpoints
            .iter()
            .flatten()
            .any(|e| e.conditions.as_ref().is_none_or(|c| c.ready != Some(false)));
        let labels = s.metadata.labels.clone().unwrap_or_default();
        let Some(source) = labels.get("multicluster.kubernetes.io/source-cluster") else {
            continue;
        };
        if ready {
            let names = s.ports.iter().flatten().filter_map(|p| p.name.clone());
            out.entry(source.clone()).or_default().extend(names);
        }
    }
    out
}

/// Specs 26 and 27 (Optional, StrictPortConflict, KEP #service-port): with the same port
/// name on another number in b, port 42 reaches only a (the oldest export, whose port
/// won); with different names, 42 reaches only a and 4242 only b.
#[tokio::test]
async fn strict_port_conflict_routes_each_port_to_the_clusters_that_expose_it() {
    let f = fleet().await;
    let (a, b) = (f.client("a").await.unwrap(), f.client("b").await.unwrap());
    let tcp42 = json!([{"name": "tcp", "port": 42, "protocol": "TCP", "targetPort": 8080}]);
    let same_name = json!([{"name": "tcp", "port": 4242, "protocol": "TCP", "targetPort": 8080}]);
    let other_name = json!([{"name": "tcp2", "port": 4242, "protocol": "TCP", "targetPort": 8080}]);
    for (c, strict, named) in [(&a, &tcp42, &tcp42), (&b, &same_name, &other_name)] {
        namespace(c).await;
        deployment(c, "web").await;
        service(c, "strict", "web", strict.clone(), json!({})).await;
        service(c, "named", "web", named.clone(), json!({})).await;
        export(c, "strict", json!({})).await;
        export(c, "named", json!({})).await;
    }
    let want = |pairs: &[(&str, &[&str])]| -> BTreeMap<String, BTreeSet<String>> {
        let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();
        pairs.iter().map(|(c, n)| (c.to_string(), set(n))).collect()
    };
    let strict = want(&[("a", &["tcp"])]);
    let named = want(&[("a", &["tcp"]), ("b", &["tcp2"])]);
    eventually(
        60,
        "slices carry only the ports each cluster exposes",
        || async {
            let s = slice_sources(&b, "strict").await;
            let n = slice_sources(&b, "named").await;
            (s == strict && n == named).then_some(())
        },
    )
    .await;
    let only = |c: &str| BTreeSet::from([c.to_string()]);
    let seen = answers(&b, "strict", 42, 10).await;
    assert_eq!(
        seen.keys().cloned().collect::<BTreeSet<_>>(),
        only("a"),
        "{seen:?}"
    );
    let seen = answers(&b, "named", 42, 10).await;
    assert_eq!(
        seen.keys().cloned().collect::<BTreeSet<_>>(),
        only("a"),
        "{seen:?}"
    );
    let seen = answers(&b, "named", 4242, 10).await;
    assert_eq!(
        seen.keys().cloned().collect::<BTreeSet<_>>(),
        only("b"),
        "{seen:?}"
    );
}

/// Spec 16 / KEP #cluster-id: the `multicluster.kubernetes.io/source-cluster` label of the
/// imported slices is the source cluster's ClusterProperty `cluster.clusterset.k8s.io`;
/// without one, the cluster's name in the fleet.
#[tokio::test]
async fn slices_carry_the_cluster_property_id() {
    let f = fleet().await;
    let (a, b) = (f.client("a").await.unwrap(), f.client("b").await.unwrap());
    let props: Api<DynamicObject> = Api::all_with(
        a.clone(),
        &ApiResource::erase::<mcs_importer::types::about::ClusterProperty>(&()),
    );
    let patch = json!({"spec": {"value": "east-1"}});
    props
        .patch(
            "cluster.clusterset.k8s.io",
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .unwrap();
    let props_b: Api<DynamicObject> = Api::all_with(
        b.clone(),
        &ApiResource::erase::<mcs_importer::types::about::ClusterProperty>(&()),
    );
    props_b
        .delete("cluster.clusterset.k8s.io", &Default::default())
        .await
        .unwrap();
    let p = json!([{"name": "http", "port": 80, "targetPort": 8080}]);
    for c in [&a, &b] {
        namespace(c).await;
        deployment(c, "web").await;
        service(c, "web", "web", p.clone(), json!({})).await;
        export(c, "web", json!({})).await;
    }
    let want: BTreeSet<String> = ["b", "east-1"].iter().map(|s| s.to_string()).collect();
    for c in [&a, &b] {
        let got = eventually(60, "slices labelled with the cluster ids", || async {
            let sources: BTreeSet<String> = slice_sources(c, "web").await.into_keys().collect();
            (sources == want).then_some(sources)
        })
        .await;
        assert_eq!(got, want);
    }
    let import = api(&a, "ServiceImport").get("web").await.unwrap();
    let clusters: Vec<&Value> = import.data["status"]["clusters"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(clusters.len(), 2, "{clusters:?}");
}

/// The doctor reads the upstream API in `v1alpha1` and, where that is not served, in
/// `v1beta1` (`Flavour::read_versions`): a fleet whose CRDs serve only `v1beta1` is healthy.
#[tokio::test]
async fn the_doctor_reads_a_fleet_that_serves_only_v1beta1() {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use mcs_harness::doctor::{Options, Target, diagnose};
    let f = fleet().await;
    let (a, b) = (f.client("a").await.unwrap(), f.client("b").await.unwrap());
    let unserve = json!([{"op": "replace", "path": "/spec/versions/0/served", "value": false}]);
    let unserve: json_patch::Patch = serde_json::from_value(unserve).unwrap();
    for c in [&a, &b] {
        let crds: Api<CustomResourceDefinition> = Api::all(c.clone());
        for crd in ["serviceexports", "serviceimports"] {
            let name = format!("{crd}.multicluster.x-k8s.io");
            let crd = crds.get(&name).await.unwrap();
            assert_eq!(crd.spec.versions[0].name, "v1alpha1");
            crds.patch(
                &name,
                &PatchParams::default(),
                &Patch::<()>::Json(unserve.clone()),
            )
            .await
            .unwrap();
        }
        eventually(30, "v1alpha1 no longer served", || async {
            let r = api(c, "ServiceImport").list(&ListParams::default()).await;
            matches!(r, Err(kube::Error::Api(s)) if s.code == 404).then_some(())
        })
        .await;
    }
    namespace(&a).await;
    namespace(&b).await;
    deployment(&a, "web").await;
    let p = json!([{"name": "http", "port": 80, "targetPort": 8080}]);
    service(&a, "web", "web", p, json!({})).await;
    export_in(&a, "v1beta1", "web", json!({})).await;
    let target = Target {
        clusters: vec![("a".to_string(), a.clone()), ("b".to_string(), b.clone())],
        flavour: mcs_importer::Flavour::Upstream,
        namespace: NS.to_string(),
        service: "web".to_string(),
        memberships: Default::default(),
        consumer: None,
    };
    let opts = Options {
        probes: false,
        propagation_window: std::time::Duration::ZERO,
        ..Default::default()
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let d = diagnose(&target, &opts).await.unwrap();
        if d.is_healthy() {
            break;
        }
        let now = tokio::time::Instant::now();
        assert!(now < deadline, "not healthy: {} {:?}", d.id, d.cluster);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

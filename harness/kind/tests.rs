//! Tests of `kind up`: the dry-run plan text, the fixtures, and the setup steps against the
//! embedded fleet made to look like kind's `kube-system`.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};
use mcs_importer::Flavour;
use mcs_importer::dns::{Record, current_records, replace_records};
use serde_json::json;

use super::cmd::{self, KindAction, KindArgs, KindDown, KindUp};
use super::corefile::{self, tests::kind_coredns, tests::kind_corefile};
use super::plan;
use super::setup::{self, COREDNS, KUBE_SYSTEM, RELOAD_ANNOTATION, SetupOptions};
use crate::fleet::{EmbeddedFleet, EmbeddedOptions};
use crate::local::LocalCluster;

fn dry_run_up(flavour: Flavour) -> String {
    dry_run_up_n(flavour, 2)
}

fn dry_run_up_n(flavour: Flavour, clusters: usize) -> String {
    let args = KindArgs {
        action: KindAction::Up(KindUp {
            name_prefix: "mcs".into(),
            clusters,
            flavour,
            dry_run: true,
        }),
    };
    let mut out = Vec::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(cmd::run(&args, &mut out)).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn dry_run_prints_clusters_configs_and_routes() {
    let text = dry_run_up(Flavour::Gke);
    for n in [1, 2] {
        let create =
            format!("$ kind create cluster --name mcs-{n} --config fixtures/kind/mcs-{n}.yaml\n");
        assert!(text.contains(&create), "{text}");
        let fixture = std::fs::read_to_string(format!(
            "{}/fixtures/kind/mcs-{n}.yaml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        assert!(text.contains(&format!("# fixtures/kind/mcs-{n}.yaml:\n{fixture}")));
    }
    let inspect = "$ docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' ";
    assert!(text.contains(&format!(
        "# NODE_IP_MCS_2_CONTROL_PLANE = output of:\n{inspect}mcs-2-control-plane\n\
         $ docker exec mcs-1-control-plane ip route replace 10.20.0.0/16 via ${{NODE_IP_MCS_2_CONTROL_PLANE}}\n"
    )));
    assert!(text.contains(&format!(
        "{inspect}mcs-1-control-plane\n\
         $ docker exec mcs-2-control-plane ip route replace 10.10.0.0/16 via ${{NODE_IP_MCS_1_CONTROL_PLANE}}\n"
    )));
    assert!(text.ends_with(
        "$ mcs-harness importer --context kind-mcs-1 --context kind-mcs-2 --flavour gke --coredns-records\n"
    ));
    // Order: clusters, then routes, then API operations.
    let pos = |s: &str| text.find(s).unwrap();
    assert!(pos("kind create cluster --name mcs-2") < pos("ip route replace"));
    assert!(pos("ip route replace") < pos("# apply (server-side) in context kind-mcs-1"));
}

#[test]
fn dry_run_gke_applies_gke_crds_and_hosts_block() {
    let text = dry_run_up(Flavour::Gke);
    for ctx in ["kind-mcs-1", "kind-mcs-2"] {
        assert_eq!(
            text.matches(&format!("# apply (server-side) in context {ctx}:"))
                .count(),
            2
        );
        assert!(text.contains(&format!(
            "# in context {ctx}: add to the Corefile of ConfigMap kube-system/coredns"
        )));
    }
    assert_eq!(text.matches("name: serviceimports.net.gke.io").count(), 2);
    assert_eq!(text.matches("name: serviceexports.net.gke.io").count(), 2);
    assert!(!text.contains("multicluster.x-k8s.io"));
    assert!(!text.contains("ClusterRole"));
    assert_eq!(text.matches(&corefile::stanza(Flavour::Gke)).count(), 2);
    assert!(text.contains(RELOAD_ANNOTATION));
}

#[test]
fn dry_run_upstream_applies_crds_rbac_and_plugin_line() {
    let text = dry_run_up(Flavour::Upstream);
    for name in [
        "serviceimports.multicluster.x-k8s.io",
        "serviceexports.multicluster.x-k8s.io",
        "clusterproperties.about.k8s.io",
    ] {
        assert_eq!(text.matches(&format!("name: {name}")).count(), 2, "{name}");
    }
    assert_eq!(text.matches("\nkind: ClusterRole\n").count(), 2);
    assert_eq!(text.matches("\nkind: ClusterRoleBinding\n").count(), 2);
    assert_eq!(
        text.matches("\n    multicluster clusterset.local\n")
            .count(),
        2
    );
    assert!(!text.contains("net.gke.io"));
    assert!(text.ends_with("--flavour upstream\n"));
}

#[test]
fn rbac_manifests_grant_coredns_list_watch() {
    let m = setup::manifests(Flavour::Upstream).unwrap();
    let role = &m[m.len() - 2];
    let binding = &m[m.len() - 1];
    let role_v: serde_json::Value = serde_saphyr::from_str(role).unwrap();
    assert_eq!(role_v["metadata"]["name"], setup::RBAC_NAME);
    assert_eq!(
        role_v["rules"],
        json!([
            {"apiGroups": ["multicluster.x-k8s.io"], "resources": ["serviceimports"],
             "verbs": ["list", "watch"]},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
             "verbs": ["list", "watch"]},
        ])
    );
    let binding_v: serde_json::Value = serde_saphyr::from_str(binding).unwrap();
    assert_eq!(binding_v["apiVersion"], "rbac.authorization.k8s.io/v1");
    assert_eq!(
        binding_v["subjects"],
        json!([{"kind": "ServiceAccount", "name": "coredns", "namespace": "kube-system"}])
    );
    assert_eq!(binding_v["roleRef"]["name"], setup::RBAC_NAME);
    assert_eq!(setup::manifests(Flavour::Gke).unwrap().len(), 2);
}

#[test]
fn three_clusters_get_distinct_cidrs_and_routes_to_every_other() {
    let text = dry_run_up_n(Flavour::Gke, 3);
    assert!(
        text.contains("$ kind create cluster --name mcs-3 --config fixtures/kind/mcs-3.yaml\n")
    );
    assert!(text.contains("  podSubnet: 10.30.0.0/16\n  serviceSubnet: 10.130.0.0/16\n"));
    // Every node routes to the two other pod CIDRs: 6 routes.
    assert_eq!(text.matches(" ip route replace ").count(), 6, "{text}");
    for (node, cidr) in [
        ("mcs-1", "10.30.0.0/16"),
        ("mcs-3", "10.10.0.0/16"),
        ("mcs-3", "10.20.0.0/16"),
    ] {
        assert!(
            text.contains(&format!(
                "$ docker exec {node}-control-plane ip route replace {cidr} via "
            )),
            "{node} → {cidr}: {text}"
        );
    }
    assert!(text.ends_with("--context kind-mcs-1 --context kind-mcs-2 --context kind-mcs-3 --flavour gke --coredns-records\n"));
}

#[test]
fn cluster_counts_outside_one_to_four_are_refused() {
    for n in [0, plan::MAX_CLUSTERS + 1] {
        let args = KindArgs {
            action: KindAction::Up(KindUp {
                name_prefix: "mcs".into(),
                clusters: n,
                flavour: Flavour::Gke,
                dry_run: true,
            }),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let err = rt.block_on(cmd::run(&args, &mut Vec::new())).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("1 to 4 clusters, not {n}")),
            "{err}"
        );
    }
}

#[test]
fn fixtures_match_the_generated_kind_configs() {
    for (i, c) in plan::clusters("mcs", plan::MAX_CLUSTERS)
        .unwrap()
        .iter()
        .enumerate()
    {
        let path = format!("{}/{}", env!("CARGO_MANIFEST_DIR"), c.config_path());
        let on_disk = std::fs::read_to_string(&path).unwrap();
        assert_eq!(on_disk, plan::kind_config(i + 1, c), "{path}");
    }
}

#[test]
fn down_deletes_both_clusters() {
    let args = KindArgs {
        action: KindAction::Down(KindDown {
            name_prefix: "x".into(),
            clusters: 2,
            dry_run: true,
        }),
    };
    let mut out = Vec::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(cmd::run(&args, &mut out)).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "$ kind delete cluster --name x-1\n$ kind delete cluster --name x-2\n"
    );
}

/// A fleet of one cluster with kind's `kube-system/coredns` ConfigMap and Deployment.
async fn kind_like_fleet() -> (EmbeddedFleet, Client) {
    let (fleet, mut clients) = kind_like_fleet_of(&["a"]).await;
    (fleet, clients.remove(0))
}

/// A GKE-flavour fleet without importer whose clusters carry kind's CoreDNS objects.
async fn kind_like_fleet_of(names: &[&str]) -> (EmbeddedFleet, Vec<Client>) {
    let opts = EmbeddedOptions {
        clusters: names.iter().map(|n| n.to_string()).collect(),
        importer: false,
        flavour: Flavour::Gke,
        ..Default::default()
    };
    let fleet = EmbeddedFleet::start(&opts).await.unwrap();
    let mut clients = Vec::new();
    for name in names {
        let client = fleet.client(name).await.unwrap();
        add_kind_coredns(&client).await;
        clients.push(client);
    }
    (fleet, clients)
}

async fn add_kind_coredns(client: &Client) {
    let objects = kind_coredns();
    let cm: ConfigMap = serde_json::from_value(objects[0].clone()).unwrap();
    let deploy: Deployment = serde_json::from_value(objects[1].clone()).unwrap();
    let pp = PostParams::default();
    Api::<ConfigMap>::namespaced(client.clone(), KUBE_SYSTEM)
        .create(&pp, &cm)
        .await
        .unwrap();
    Api::<Deployment>::namespaced(client.clone(), KUBE_SYSTEM)
        .create(&pp, &deploy)
        .await
        .unwrap();
}

async fn corefile_and_annotation(client: &Client) -> (String, Option<String>) {
    let cm = Api::<ConfigMap>::namespaced(client.clone(), KUBE_SYSTEM)
        .get(COREDNS)
        .await
        .unwrap();
    let text = cm.data.unwrap().remove("Corefile").unwrap();
    let d = Api::<Deployment>::namespaced(client.clone(), KUBE_SYSTEM)
        .get(COREDNS)
        .await
        .unwrap();
    let ann = d
        .spec
        .template
        .metadata
        .and_then(|m| m.annotations)
        .and_then(|mut a| a.remove(RELOAD_ANNOTATION));
    (text, ann)
}

async fn check_setup(flavour: Flavour, marker: &str) -> (EmbeddedFleet, Client) {
    let (fleet, client) = kind_like_fleet().await;
    let opts = SetupOptions {
        flavour,
        rbac: false,
    };
    let first = setup::setup(&client, &opts).await.unwrap();
    assert!(first.corefile_changed);
    let (text, ann) = corefile_and_annotation(&client).await;
    assert_eq!(text.matches(marker).count(), 1, "{text}");
    assert_eq!(ann.as_deref(), first.digest.as_deref());
    assert_eq!(ann, Some(corefile::digest(&text)));
    let second = setup::setup(&client, &opts).await.unwrap();
    assert!(!second.corefile_changed);
    assert_eq!(corefile_and_annotation(&client).await, (text, ann));
    (fleet, client)
}

#[tokio::test]
async fn upstream_setup_adds_plugin_line_once_and_installs_crds() {
    let (_fleet, client) =
        check_setup(Flavour::Upstream, "    multicluster clusterset.local\n").await;
    let crds: Api<CustomResourceDefinition> = Api::all(client);
    for name in [
        "serviceimports.multicluster.x-k8s.io",
        "serviceexports.multicluster.x-k8s.io",
        "clusterproperties.about.k8s.io",
    ] {
        let crd = crds.get(name).await.unwrap();
        let conds = crd.status.and_then(|s| s.conditions).unwrap_or_default();
        assert!(
            conds
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True"),
            "{name}: {conds:?}"
        );
    }
}

#[tokio::test]
async fn gke_setup_adds_clusterset_block_once() {
    let (_fleet, client) = check_setup(Flavour::Gke, corefile::CLUSTERSET_BLOCK_HEADER).await;
    let (text, _) = corefile_and_annotation(&client).await;
    assert!(text.starts_with(&kind_corefile()));
}

#[tokio::test]
async fn rbac_setup_against_the_embedded_fleet_stores_role_and_binding() {
    // The embedded fleet serves rbac.authorization.k8s.io (stored, not enforced).
    let (_fleet, client) = kind_like_fleet().await;
    let opts = SetupOptions {
        flavour: Flavour::Upstream,
        rbac: true,
    };
    let report = setup::setup(&client, &opts).await.unwrap();
    assert!(report.rbac_applied);
    let roles: Api<ClusterRole> = Api::all(client.clone());
    assert!(roles.get(setup::RBAC_NAME).await.is_ok());
    let bindings: Api<ClusterRoleBinding> = Api::all(client);
    let b = bindings.get(setup::RBAC_NAME).await.unwrap();
    assert_eq!(b.role_ref.name, setup::RBAC_NAME);
}

/// Creates namespace `demo` (if needed), Service `name` and its ServiceExport in `client`'s cluster.
async fn export_service(client: &Client, name: &str) {
    let pp = PostParams::default();
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "demo"}})).unwrap();
    let _ = Api::<Namespace>::all(client.clone()).create(&pp, &ns).await;
    let svc: Service = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "demo"},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
    }))
    .unwrap();
    Api::<Service>::namespaced(client.clone(), "demo")
        .create(&pp, &svc)
        .await
        .unwrap();
    let export = DynamicObject::new(name, &export_ar()).within("demo");
    Api::<DynamicObject>::namespaced_with(client.clone(), "demo", &export_ar())
        .create(&pp, &export)
        .await
        .unwrap();
}

fn export_ar() -> ApiResource {
    let gvk = GroupVersionKind::gvk("net.gke.io", "v1", "ServiceExport");
    ApiResource::from_gvk_with_plural(&gvk, "serviceexports")
}

/// The records the Corefile should hold: one per ServiceImport IP of the cluster.
async fn import_records(client: &Client) -> Vec<Record> {
    let gvk = GroupVersionKind::gvk("net.gke.io", "v1", "ServiceImport");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "serviceimports");
    let list = Api::<DynamicObject>::all_with(client.clone(), &ar)
        .list(&Default::default())
        .await
        .unwrap();
    let mut out: Vec<Record> = list
        .items
        .iter()
        .flat_map(|i| {
            let ips: Vec<String> = i.data["spec"]["ips"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            let (ns, name) = (
                i.metadata.namespace.clone().unwrap(),
                i.metadata.name.clone().unwrap(),
            );
            ips.into_iter().map(move |ip| Record {
                namespace: ns.clone(),
                name: name.clone(),
                ip: ip.parse().unwrap(),
            })
        })
        .collect();
    out.sort();
    out
}

/// Polls (deadline 20 s) until every cluster's Corefile holds exactly the records of its
/// ServiceImports and those name exactly `names`; returns the records per cluster.
async fn await_records(clients: &[Client], names: &[&str]) -> Vec<Vec<Record>> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let mut all = Vec::new();
        let mut last = String::new();
        for c in clients {
            let (text, _) = corefile_and_annotation(c).await;
            let have = current_records(&text);
            let want = import_records(c).await;
            let mut seen: Vec<&str> = want.iter().map(|r| r.name.as_str()).collect();
            seen.dedup();
            if have != want || seen != names {
                last = format!("Corefile records {have:?}, imports {want:?}, want names {names:?}");
            }
            all.push(have);
        }
        if last.is_empty() {
            return all;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "records did not converge: {last}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gke_records_follow_imports_in_every_cluster() {
    let (_fleet, clients) = kind_like_fleet_of(&["a", "b"]).await;
    let local: Vec<LocalCluster> = ["a", "b"]
        .iter()
        .zip(&clients)
        .map(|(n, c)| LocalCluster {
            name: n.to_string(),
            location: format!("embedded {n}"),
            client: c.clone(),
        })
        .collect();
    let prepared = crate::local::prepare(local, Flavour::Gke, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert!(prepared.reports.iter().all(|r| r.corefile_changed));
    // Before any export: the block is there and empty.
    let none = await_records(&clients, &[]).await;
    assert!(none.iter().all(Vec::is_empty));

    export_service(&clients[0], "web").await;
    export_service(&clients[1], "api").await;
    let both = await_records(&clients, &["api", "web"]).await;
    for (records, client) in both.iter().zip(&clients) {
        assert_eq!(records.len(), 2, "{records:?}");
        // The record's IP is the ClusterSetIP: the derived Service's ClusterIP.
        let derived = mcs_importer::naming::derived_name(
            mcs_importer::naming::GKE_DERIVED_PREFIX,
            "demo",
            "web",
        );
        let svc = Api::<Service>::namespaced(client.clone(), "demo")
            .get(&derived)
            .await
            .unwrap();
        let vip = svc.spec.unwrap().cluster_ip.unwrap();
        let web = records.iter().find(|r| r.name == "web").unwrap();
        assert_eq!(web.ip.to_string(), vip);
        let (text, _) = corefile_and_annotation(client).await;
        assert!(
            text.contains(&format!("        {vip} web.demo.svc.clusterset.local\n")),
            "{text}"
        );
    }

    // Unexport web: its record goes from both clusters, api's stays.
    Api::<DynamicObject>::namespaced_with(clients[0].clone(), "demo", &export_ar())
        .delete("web", &Default::default())
        .await
        .unwrap();
    let after = await_records(&clients, &["api"]).await;
    assert!(after.iter().all(|r| r.len() == 1), "{after:?}");

    // A hand edit of the records is repaired.
    let api = Api::<ConfigMap>::namespaced(clients[1].clone(), KUBE_SYSTEM);
    let mut cm = api.get(COREDNS).await.unwrap();
    let text = cm.data.as_ref().unwrap()["Corefile"].clone();
    let edited = replace_records(&text, &[]).unwrap().unwrap();
    cm.data.as_mut().unwrap().insert("Corefile".into(), edited);
    api.replace(COREDNS, &PostParams::default(), &cm)
        .await
        .unwrap();
    let repaired = await_records(&clients, &["api"]).await;
    assert_eq!(repaired[1].len(), 1, "{repaired:?}");
    drop(prepared);
}

//! Test support for the fault matrix: the mcs-basic recipe (`fixtures/mcs-basic/`) on an
//! embedded fleet of clusters `a` and `b`, with the twists the cases need, and waits on
//! observable preconditions (with a deadline, never a fixed sleep).

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, PostParams};
use mcs_importer::Flavour;
use mcs_importer::slices::LABEL_SERVICE_NAME;
use serde_json::{Value, json};

use super::gather::mcs_resource;
use super::{Diagnosis, Options, Target, diagnose, render_table};
use crate::fleet::{EmbeddedFleet, EmbeddedOptions};

/// Namespace of the recipe.
pub const NS: &str = "multi-cluster-demo";
/// The Service.
pub const SVC: &str = "whereami";
const APP: &str = include_str!("../../fixtures/mcs-basic/app.yaml");
const EXPORT: &str = include_str!("../../fixtures/mcs-basic/export.yaml");
/// How long any precondition may take to show.
const DEADLINE: Duration = Duration::from_secs(20);

/// Polls `f` until it returns `Some`; panics naming `what` and the last state seen.
pub async fn wait_until<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let last = match f().await {
            Ok(v) => return v,
            Err(last) => last,
        };
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}; last seen: {last}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls like [`wait_until`], touching whereami's Service in `nudge` every half second so
/// the importer reconciles it again: its workers may run two reconciles of one name at
/// once, and the older may write last, which nothing corrects before the 60 s resync.
pub async fn wait_nudging<T, F, Fut>(what: &str, nudge: &Client, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let services: Api<Service> = Api::namespaced(nudge.clone(), NS);
    let mut polls = 0u32;
    wait_until(what, || {
        polls += 1;
        let (services, poll) = (services.clone(), polls);
        let check = f();
        async move {
            if poll % 25 == 0 {
                let touch = json!({"metadata": {"annotations": {"mcs-harness.dev/nudge": poll.to_string()}}});
                let pp = kube::api::PatchParams::default();
                let _ = services.patch(SVC, &pp, &kube::api::Patch::Merge(&touch)).await;
            }
            check.await
        }
    })
    .await
}

/// Doctor options for tests: probes on, a short probe timeout, the given window.
pub fn opts(window: Duration) -> Options {
    Options {
        run_id: "doctor-test".into(),
        propagation_window: window,
        probe_timeout: Duration::from_secs(5),
        ..Options::default()
    }
}

/// Asserts the first broken link, printing the whole table when it is not the expected one.
pub fn assert_first(d: &Diagnosis, id: impl std::fmt::Display, cluster: Option<&str>) {
    let mut out = Vec::new();
    let _ = render_table(d, &mut out);
    let table = String::from_utf8_lossy(&out);
    assert_eq!(
        (d.id.clone(), d.cluster.as_deref()),
        (id.to_string(), cluster),
        "\n{table}"
    );
}

/// A fleet `a`, `b` with the recipe's helpers.
pub struct Recipe {
    /// The running fleet (dropping it stops everything).
    pub fleet: EmbeddedFleet,
    /// Its importer's flavour.
    pub flavour: Flavour,
    /// Admin client of cluster a.
    pub a: Client,
    /// Admin client of cluster b.
    pub b: Client,
}

impl Recipe {
    /// Starts the fleet (with or without the importer).
    pub async fn start(flavour: Flavour, importer: bool, delay: Duration) -> Recipe {
        let fleet = EmbeddedFleet::start(&EmbeddedOptions {
            clusters: vec!["a".into(), "b".into()],
            port: 0,
            importer,
            flavour,
            propagation_delay: delay,
            ..EmbeddedOptions::default()
        })
        .await
        .expect("fleet starts");
        let a = fleet.client("a").await.expect("client a");
        let b = fleet.client("b").await.expect("client b");
        Recipe {
            fleet,
            flavour,
            a,
            b,
        }
    }

    /// The doctor's target: whereami in both clusters.
    pub fn target(&self) -> Target {
        Target {
            clusters: vec![("a".into(), self.a.clone()), ("b".into(), self.b.clone())],
            flavour: self.flavour,
            namespace: NS.into(),
            service: SVC.into(),
            memberships: Default::default(),
            consumer: None,
        }
    }

    /// Runs the doctor once.
    pub async fn diagnose(&self, opts: &Options) -> Diagnosis {
        diagnose(&self.target(), opts).await.expect("doctor runs")
    }

    /// Creates the namespace in `c`.
    pub async fn namespace(&self, c: &Client) {
        create_namespace(c, NS).await;
    }

    /// Applies app.yaml in `c` after `tweak(deployment, service)`.
    pub async fn app(&self, c: &Client, tweak: impl FnOnce(&mut Value, &mut Value)) {
        let docs: Vec<Value> = serde_saphyr::from_multiple(APP).expect("app.yaml parses");
        let (mut deploy, mut svc) = (docs[0].clone(), docs[1].clone());
        tweak(&mut deploy, &mut svc);
        let d: Deployment = serde_json::from_value(deploy).expect("deployment");
        let s: Service = serde_json::from_value(svc).expect("service");
        let pp = PostParams::default();
        Api::<Deployment>::namespaced(c.clone(), NS)
            .create(&pp, &d)
            .await
            .expect("create deployment");
        Api::<Service>::namespaced(c.clone(), NS)
            .create(&pp, &s)
            .await
            .expect("create service");
    }

    /// Applies export.yaml (its apiVersion switched to the fleet's flavour) in `c`.
    pub async fn export(&self, c: &Client) {
        let mut e: Value = serde_saphyr::from_str(EXPORT).expect("export.yaml parses");
        e["apiVersion"] = json!(format!(
            "{}/{}",
            self.flavour.group(),
            self.flavour.version()
        ));
        let e: DynamicObject = serde_json::from_value(e).expect("export");
        self.mcs(c, "ServiceExport")
            .create(&PostParams::default(), &e)
            .await
            .expect("create export");
    }

    /// The flavour's ServiceExport/ServiceImport API in the recipe's namespace.
    pub fn mcs(&self, c: &Client, kind: &str) -> Api<DynamicObject> {
        Api::namespaced_with(c.clone(), NS, &mcs_resource(self.flavour, kind))
    }

    /// Applies a sim Fault in `c` and waits until the sim says it is in effect.
    pub async fn fault(&self, c: &Client, name: &str, spec: Value) {
        let gvk = GroupVersionKind::gvk(mcs_sim::faults::GROUP, "v1alpha1", "Fault");
        let api: Api<DynamicObject> = Api::all_with(
            c.clone(),
            &ApiResource::from_gvk_with_plural(&gvk, "faults"),
        );
        let f: DynamicObject = serde_json::from_value(json!({
            "apiVersion": format!("{}/v1alpha1", mcs_sim::faults::GROUP), "kind": "Fault",
            "metadata": {"name": name}, "spec": spec}))
        .expect("fault");
        api.create(&PostParams::default(), &f)
            .await
            .expect("create fault");
        wait_until(&format!("fault {name} active"), || async {
            let f = api.get(name).await.map_err(|e| e.to_string())?;
            match f.data["status"]["active"].as_bool() {
                Some(true) => Ok(()),
                _ => Err(f.data["status"].to_string()),
            }
        })
        .await;
    }

    /// The imported ready addresses in `c` (GKE: derived Endpoints; upstream: slices).
    pub async fn imported(&self, c: &Client) -> Option<BTreeSet<String>> {
        match self.flavour {
            Flavour::Gke => {
                let derived = mcs_importer::naming::derived_name(
                    mcs_importer::naming::GKE_DERIVED_PREFIX,
                    NS,
                    SVC,
                );
                let ep = Api::<Endpoints>::namespaced(c.clone(), NS)
                    .get_opt(&derived)
                    .await
                    .ok()??;
                let subsets = ep.subsets.into_iter().flatten();
                Some(
                    subsets
                        .flat_map(|s| s.addresses.into_iter().flatten().map(|a| a.ip))
                        .collect(),
                )
            }
            Flavour::Upstream => {
                let lp = ListParams::default().labels(&format!("{LABEL_SERVICE_NAME}={SVC}"));
                let list = Api::<EndpointSlice>::namespaced(c.clone(), NS)
                    .list(&lp)
                    .await
                    .ok()?;
                // Ready endpoints only: a pod is listed not-ready while it starts, as on a
                // cluster, and the doctor counts ready addresses.
                let eps = list
                    .items
                    .into_iter()
                    .flat_map(|s| s.endpoints.into_iter().flatten())
                    .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) != Some(false));
                Some(eps.flat_map(|e| e.addresses).collect())
            }
        }
    }

    /// Waits until the import in `c` lists exactly the ready pods of `from`.
    pub async fn wait_imported(&self, c: &Client, from: &Client) {
        wait_nudging("imported endpoints = ready pods", from, || async {
            let want = ready_pods(from).await;
            let got = self.imported(c).await;
            match (&got, want.is_empty()) {
                (Some(g), false) if *g == want => Ok(()),
                _ => Err(format!("imported {got:?}, ready pods {want:?}")),
            }
        })
        .await;
    }

    /// The recipe as written: namespace in a and b, app and export in a, imported in both.
    pub async fn healthy(&self) {
        self.namespace(&self.a).await;
        self.namespace(&self.b).await;
        self.app(&self.a, |_, _| {}).await;
        self.export(&self.a).await;
        self.wait_imported(&self.a, &self.a).await;
        self.wait_imported(&self.b, &self.a).await;
        wait_local_endpoints(&self.a).await;
    }
}

/// Creates namespace `name` in `c`.
pub async fn create_namespace(c: &Client, name: &str) {
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).expect("ns");
    Api::<Namespace>::all(c.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("create namespace");
}

/// Ready whereami pod IPs in `c`.
pub async fn ready_pods(c: &Client) -> BTreeSet<String> {
    let lp = ListParams::default().labels("app=whereami");
    let Ok(pods) = Api::<Pod>::namespaced(c.clone(), NS).list(&lp).await else {
        return BTreeSet::new();
    };
    pods.items
        .iter()
        .map(super::gather::pod_facts)
        .filter(|p| p.ready)
        .filter_map(|p| p.ip)
        .collect()
}

/// Waits until whereami's own EndpointSlices list exactly its ready pods in `c`.
pub async fn wait_local_endpoints(c: &Client) {
    wait_until("local endpoints = ready pods", || async {
        let lp = ListParams::default().labels(&format!("kubernetes.io/service-name={SVC}"));
        let slices = Api::<EndpointSlice>::namespaced(c.clone(), NS)
            .list(&lp)
            .await;
        let got: BTreeSet<String> = slices
            .map_err(|e| e.to_string())?
            .items
            .into_iter()
            .flat_map(|s| s.endpoints.into_iter().flatten())
            .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) != Some(false))
            .flat_map(|e| e.addresses)
            .collect();
        let want = ready_pods(c).await;
        match !want.is_empty() && got == want {
            true => Ok(()),
            false => Err(format!("slices {got:?}, ready pods {want:?}")),
        }
    })
    .await;
}

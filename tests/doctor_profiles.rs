//! `mcs-harness doctor --flavour upstream` on fleets shaped like each KEP-1645
//! implementation's objects (`tests/support/upstream.rs`, facts from
//! `reference/gke-reality.md` §4; no harness importer runs): healthy with the profile
//! detected from the objects (and the same with `--implementation`), then one break each
//! with its own verdict. Cluster `b` serves only `v1alpha1` of the MCS API in one case, so
//! the doctor reads each cluster at the version it serves.

mod support;

use mcs_importer::naming::{UPSTREAM_DERIVED_PREFIX, derived_name};
use serde_json::{Value, json};
use support::SimProcess;
use support::gke::{self, NS, SVC, k, row};
use support::upstream::{self as up, V1ALPHA1, V1BETA1};

/// The doctor's verdict: upstream flavour, no probes, no propagation window.
fn verdict(sim: &SimProcess, extra: &[&str]) -> (i32, Value) {
    let mut args = vec![
        "--flavour",
        "upstream",
        "--no-probes",
        "--propagation-window",
        "0",
    ];
    args.extend(extra);
    gke::doctor(sim, SVC, &args, &[])
}

/// Healthy, judged by `implementation` detected from the objects, and the same when named.
fn assert_healthy_as(sim: &SimProcess, implementation: &str) -> Value {
    let (code, d) = verdict(sim, &[]);
    assert_eq!((code, d["id"].as_str()), (0, Some("healthy")), "{d:#}");
    let p = &d["implementation"];
    assert_eq!(p["implementation"], implementation, "{d:#}");
    assert_eq!(p["how"], "detected", "{d:#}");
    let (code, given) = verdict(sim, &["--implementation", implementation]);
    assert_eq!(
        (code, given["id"].as_str()),
        (0, Some("healthy")),
        "{given:#}"
    );
    assert_eq!(given["implementation"]["how"], "given", "{given:#}");
    d
}

fn assert_broken(sim: &SimProcess, id: &str, cluster: &str) -> Value {
    let (code, d) = verdict(sim, &[]);
    assert_eq!(
        (code, d["id"].as_str(), d["cluster"].as_str()),
        (1, Some(id), Some(cluster)),
        "{d:#}"
    );
    d
}

fn derived() -> String {
    derived_name(UPSTREAM_DERIVED_PREFIX, NS, SVC)
}

/// mcs-api reference controller: `derived-<hash>` named by the import's annotation, its
/// ClusterIP in `spec.ips`, EndpointSlices of pod IPs with both MCS labels; conditions
/// Valid/Ready/Conflict. Break: `Conflict=True` → export-conflict.
#[test]
fn mcs_api_reference_profile() {
    let sim = SimProcess::start_with(&["--flavour", "upstream", "--no-importer"]);
    let base = up::base(&sim);
    up::export_conditions(
        &sim,
        &[
            ("Valid", "True", "Valid"),
            ("Ready", "True", "Exported"),
            ("Conflict", "False", "NoConflicts"),
        ],
    );
    let derived = derived();
    for ctx in ["a", "b"] {
        let ip = up::service(&sim, ctx, &derived, json!({}), json!({}));
        let annotations = json!({"multicluster.kubernetes.io/derived-service": derived});
        up::import(&sim, ctx, V1BETA1, annotations, &[&ip], &["a"]);
        let labels = json!({"multicluster.kubernetes.io/service-name": SVC,
            "multicluster.kubernetes.io/source-cluster": "a",
            "kubernetes.io/service-name": derived});
        up::slice(&sim, ctx, &format!("{SVC}-a"), labels, &[&base.pod]);
    }
    let d = assert_healthy_as(&sim, "mcs-api");
    assert!(
        row(&d, "b", "derived-service")["detail"]
            .as_str()
            .unwrap_or_default()
            .contains(&derived)
    );

    up::export_conditions(
        &sim,
        &[
            ("Valid", "True", "Valid"),
            ("Ready", "True", "Exported"),
            ("Conflict", "True", "PortConflict"),
        ],
    );
    assert_broken(&sim, "export-conflict", "a");
}

/// Lighthouse: no derived Service, `spec.ips` empty, one endpoint per source cluster = its
/// Service ClusterIP, slices managed by `lighthouse-agent.submariner.io`; `Conflict=False`
/// keeps an old reason. Cluster b serves only v1alpha1. Break: the slice lists the pod IP
/// instead of the ClusterIP → endpoints-stale.
#[test]
fn lighthouse_profile_on_mixed_api_versions() {
    let sim = SimProcess::start_with(&["--flavour", "upstream", "--no-importer"]);
    let base = up::base(&sim);
    up::serve_only_v1alpha1(&sim, "b");
    // Lighthouse writes Valid=True with an empty reason (gke-reality.md §4); the mcs-api
    // v0.5 CRD served here requires one, so the test writes a placeholder: the doctor
    // reads no reason anyway.
    up::export_conditions(
        &sim,
        &[
            ("Valid", "True", "Placeholder"),
            ("Ready", "True", "Placeholder"),
            ("Conflict", "False", "ConflictingPorts"),
        ],
    );
    let slice = |ctx: &str, address: &str| {
        let labels = json!({"endpointslice.kubernetes.io/managed-by": "lighthouse-agent.submariner.io",
            "lighthouse.submariner.io/sourceNamespace": NS,
            "multicluster.kubernetes.io/source-cluster": "a",
            "multicluster.kubernetes.io/service-name": SVC,
            "lighthouse.submariner.io/is-headless": "false"});
        up::slice(&sim, ctx, &format!("{SVC}-{NS}-a"), labels, &[address]);
    };
    for (ctx, version) in [("a", V1BETA1), ("b", V1ALPHA1)] {
        up::import(&sim, ctx, version, json!({}), &[], &["a"]);
        slice(ctx, &base.service_ip);
    }
    let d = assert_healthy_as(&sim, "lighthouse");
    assert_eq!(row(&d, "b", "derived-service")["state"], "skipped", "{d:#}");
    let endpoints = row(&d, "b", "endpoints")["detail"]
        .as_str()
        .unwrap_or_default();
    assert!(endpoints.contains("Service ClusterIPs"), "{endpoints}");

    slice("b", &base.pod);
    let d = assert_broken(&sim, "endpoints-stale", "b");
    assert!(
        d["evidence"][0]["value"]
            .as_str()
            .unwrap_or_default()
            .contains(&base.service_ip),
        "{d:#}"
    );
}

/// Cilium: `derived-<hash>` annotated `service.cilium.io/global`, remote endpoints outside
/// the API. Break: b's derived Service is gone → derived-service-missing.
#[test]
fn cilium_profile() {
    let sim = SimProcess::start_with(&["--flavour", "upstream", "--no-importer"]);
    up::base(&sim);
    up::export_conditions(
        &sim,
        &[
            ("Valid", "True", "Valid"),
            ("Conflict", "False", "NoConflicts"),
        ],
    );
    let derived = derived();
    for ctx in ["a", "b"] {
        let annotations = json!({"service.cilium.io/global": "true",
            "multicluster.kubernetes.io/derived-service": derived});
        let labels = json!({"multicluster.kubernetes.io/service-name": SVC});
        let ip = up::service(&sim, ctx, &derived, annotations, labels);
        let annotations = json!({"multicluster.kubernetes.io/derived-service": derived});
        up::import(&sim, ctx, V1BETA1, annotations, &[&ip], &["a"]);
    }
    let d = assert_healthy_as(&sim, "cilium");
    assert_eq!(row(&d, "b", "endpoints")["state"], "skipped", "{d:#}");

    k(&sim, "b", NS, &["delete", "service", &derived]);
    assert_broken(&sim, "derived-service-missing", "b");
}

/// Antrea: Service and Endpoints `antrea-mc-<svc>` (annotated), Endpoints = the
/// exporters' Service ClusterIPs, only a `Valid` condition, no `status.clusters`. Break:
/// b's Endpoints list nothing → endpoints-empty.
#[test]
fn antrea_profile() {
    let sim = SimProcess::start_with(&["--flavour", "upstream", "--no-importer"]);
    let base = up::base(&sim);
    up::export_conditions(&sim, &[("Valid", "True", "Succeed")]);
    let name = format!("antrea-mc-{SVC}");
    let annotation = json!({"multicluster.antrea.io/imported-service": "true"});
    for ctx in ["a", "b"] {
        let ip = up::service(&sim, ctx, &name, annotation.clone(), json!({}));
        up::endpoints(&sim, ctx, &name, annotation.clone(), &[&base.service_ip]);
        up::import(&sim, ctx, V1BETA1, json!({}), &[&ip], &[]);
    }
    let d = assert_healthy_as(&sim, "antrea");
    let import = row(&d, "b", "import")["detail"]
        .as_str()
        .unwrap_or_default();
    assert!(import.contains("not judged"), "{import}");

    up::endpoints(&sim, "b", &name, annotation, &[]);
    assert_broken(&sim, "endpoints-empty", "b");
}

/// AWS Cloud Map: no export condition at all, one `imported-<hash>` Service per source
/// cluster listed as JSON in `multicluster.k8s.aws/derived-service`, `spec.ips: []`, pod IP
/// slices managed by the controller. Break: the derived Service in b is gone →
/// derived-service-missing.
#[test]
fn cloud_map_profile() {
    let sim = SimProcess::start_with(&["--flavour", "upstream", "--no-importer"]);
    let base = up::base(&sim);
    // The controller hashes namespace + name + cluster id into the name; the doctor reads
    // the name from the annotation, so any `imported-…` name stands for it here.
    let derived = "imported-4dkq8l2m0v";
    let annotation = json!([{"cluster": "a", "derived-service": derived}]).to_string();
    for ctx in ["a", "b"] {
        let labels = json!({"multicluster.kubernetes.io/source-cluster": "a",
            "multicluster.kubernetes.io/service-name": SVC});
        up::service(&sim, ctx, derived, json!({}), labels);
        up::import(
            &sim,
            ctx,
            V1BETA1,
            json!({"multicluster.k8s.aws/derived-service": annotation}),
            &[],
            &["a"],
        );
        let labels = json!({"kubernetes.io/service-name": derived,
            "multicluster.kubernetes.io/service-name": SVC,
            "endpointslice.kubernetes.io/managed-by": "aws-cloud-map-mcs-controller-for-k8s",
            "multicluster.kubernetes.io/source-cluster": "a"});
        up::slice(&sim, ctx, &format!("{derived}-x"), labels, &[&base.pod]);
    }
    let d = assert_healthy_as(&sim, "cloud-map");
    assert_eq!(row(&d, "a", "export")["state"], "ok", "{d:#}");

    k(&sim, "b", NS, &["delete", "service", derived]);
    assert_broken(&sim, "derived-service-missing", "b");
}

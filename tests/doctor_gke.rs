//! `mcs-harness doctor` on a fleet shaped exactly as GKE writes it (`tests/support/gke.rs`:
//! built by hand with kubectl, no harness importer, no Lease, membership resource names in
//! `status.clusters`): healthy (exit 0), then broken one link at a time — each break with
//! its own verdict — and a headless export, healthy with `type: Headless`.

mod support;

use serde_json::{Value, json};
use support::SimProcess;
use support::gke::{self, NS, SVC, k, row};

const MEMBERSHIPS: [&str; 4] = ["--membership", "gke-1=a", "--membership", "gke-2=b"];

/// The doctor's verdict with memberships mapped, no probes, no propagation window.
fn verdict(sim: &SimProcess, extra: &[&str]) -> (i32, Value) {
    let mut args = MEMBERSHIPS.to_vec();
    args.extend(["--no-probes", "--propagation-window", "0"]);
    args.extend(extra);
    gke::doctor(sim, SVC, &args, &[])
}

fn assert_verdict(sim: &SimProcess, id: &str, cluster: &str, extra: &[&str]) -> Value {
    let (code, d) = verdict(sim, extra);
    assert_eq!(
        (code, d["id"].as_str(), d["cluster"].as_str()),
        (1, Some(id), Some(cluster)),
        "{d:#}"
    );
    d
}

fn assert_healthy(sim: &SimProcess, extra: &[&str]) -> Value {
    let (code, d) = verdict(sim, extra);
    assert_eq!((code, d["id"].as_str()), (0, Some("healthy")), "{d:#}");
    d
}

#[test]
fn doctor_judges_a_gke_shaped_fleet() {
    let sim = SimProcess::start_with(&["--no-importer"]);
    let pod = gke::build(&sim);

    // Healthy, the whole chain with probes: DNS and HTTP from b reach a's pod.
    let (code, d) = gke::doctor(&sim, SVC, &MEMBERSHIPS, &[]);
    assert_eq!((code, d["id"].as_str()), (0, Some("healthy")), "{d:#}");
    assert_eq!(row(&d, "b", "http")["state"], "ok", "{d:#}");
    assert_eq!(row(&d, "b", "importer")["state"], "ok", "{d:#}");
    // Memberships no mapping names: shown, not judged (no false import-inconsistent).
    let (code, d) = gke::doctor(&sim, SVC, &["--no-probes"], &[]);
    assert_eq!((code, d["id"].as_str()), (0, Some("healthy")), "{d:#}");
    let import = row(&d, "a", "import")["detail"]
        .as_str()
        .unwrap_or_default();
    assert!(
        import.contains("not judged") && import.contains("gke-1"),
        "{import}"
    );

    // 1. endpoints-empty: the derived Endpoints in b list nothing.
    gke::import(&sim, "b", &gke::whereami(vec![]));
    assert_verdict(&sim, "endpoints-empty", "b", &[]);
    gke::import(&sim, "b", &gke::whereami(vec![pod.clone()]));
    assert_healthy(&sim, &[]);

    // 2. import-inconsistent: b's import lists membership gke-2 (b), which exports nothing.
    let mut wrong = gke::whereami(vec![pod.clone()]);
    wrong.clusters.push(gke::membership("gke-2"));
    gke::import(&sim, "b", &wrong);
    let d = assert_verdict(&sim, "import-inconsistent", "b", &[]);
    assert!(d["evidence"][0]["field"] == "status.clusters", "{d:#}");
    gke::import(&sim, "b", &gke::whereami(vec![pod.clone()]));

    // 3. derived-service-missing.
    k(&sim, "b", NS, &["delete", "service", gke::DERIVED]);
    assert_verdict(&sim, "derived-service-missing", "b", &[]);
    gke::import(&sim, "b", &gke::whereami(vec![pod.clone()]));

    // 4. import-missing.
    k(&sim, "b", NS, &["delete", "serviceimport", SVC]);
    assert_verdict(&sim, "import-missing", "b", &[]);
    gke::import(&sim, "b", &gke::whereami(vec![pod.clone()]));
    assert_healthy(&sim, &[]);

    // 5. export-not-exported, 6. export-conflict: the export's conditions.
    gke::export_conditions(
        &sim,
        "a",
        SVC,
        &[("Initialized", "True"), ("Exported", "False")],
    );
    assert_verdict(&sim, "export-not-exported", "a", &[]);
    let conflict = [
        ("Initialized", "True"),
        ("Exported", "True"),
        ("Conflict", "True"),
    ];
    gke::export_conditions(&sim, "a", SVC, &conflict);
    assert_verdict(&sim, "export-conflict", "a", &[]);
    gke::export_conditions(
        &sim,
        "a",
        SVC,
        &[("Initialized", "True"), ("Exported", "True")],
    );

    // 7. selector-matches-nothing.
    let sel = |app: &str| json!({"spec": {"selector": {"app": app}}}).to_string();
    k(
        &sim,
        "a",
        NS,
        &["patch", "service", SVC, "-p", &sel("nothing")],
    );
    assert_verdict(&sim, "selector-matches-nothing", "a", &[]);
    k(
        &sim,
        "a",
        NS,
        &["patch", "service", SVC, "-p", &sel("whereami")],
    );
    assert_healthy(&sim, &[]);

    // 8. importer-down: GKE's importer Deployment in b has no ready pod (no Lease anywhere).
    let scale = |n: &str| {
        k(
            &sim,
            "b",
            "gke-mcs",
            &["scale", "deployment", "gke-mcs-importer", "--replicas", n],
        );
    };
    scale("0");
    assert_verdict(&sim, "importer-down", "b", &[]);
    scale("1");
    gke::ready_pod_ip(&sim, "b", "gke-mcs", "k8s-app=gke-mcs-importer");
    assert_healthy(&sim, &[]);

    // 9. mcs-not-enabled: b serves no ServiceExport API (MCS not enabled there).
    k(
        &sim,
        "b",
        "",
        &["delete", "crd", "serviceexports.net.gke.io"],
    );
    let d = assert_verdict(&sim, "mcs-not-enabled", "b", &[]);
    assert!(
        d["remedy"]
            .as_str()
            .unwrap_or_default()
            .contains("multi-cluster-services enable")
    );
    let crd = support::root().join("fixtures/crds/serviceexports.net.gke.io.yaml");
    k(
        &sim,
        "b",
        "",
        &["apply", "-f", crd.to_str().expect("utf-8")],
    );
    gke::until(30, "the ServiceExport API in b", || {
        sim.run(&["--context", "b", "get", "serviceexports.net.gke.io", "-A"])
            .status
            .success()
            .then_some(())
    });
    assert_healthy(&sim, &[]);

    // 10. namespace-missing: b drops the namespace; only the exporter imports now. Named as
    // the consumer it is a break; with a as the consumer b has merely opted out.
    k(&sim, "b", "", &["delete", "namespace", NS]);
    gke::until(30, "namespace gone in b", || {
        let out = sim.run(&["--context", "b", "get", "namespace", NS]);
        (!out.status.success()).then_some(())
    });
    assert_verdict(&sim, "namespace-missing", "b", &[]);
    assert_verdict(&sim, "namespace-missing", "b", &["--from", "b"]);
    let d = assert_healthy(&sim, &["--from", "a"]);
    let ns_row = row(&d, "b", "namespace");
    assert_eq!(ns_row["state"], "skipped", "{d:#}");
    assert!(
        ns_row["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("opted out")
    );
}

#[test]
fn headless_export_is_healthy_as_type_headless() {
    let sim = SimProcess::start_with(&["--no-importer"]);
    let pod = gke::build(&sim);
    // A headless Service of the same pods on 8080, exported from a.
    let svc = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "hl", "namespace": NS},
        "spec": {"clusterIP": "None", "selector": {"app": "whereami"},
                 "ports": [{"name": "http", "port": 8080, "targetPort": 8080}]}});
    gke::apply(&sim, "a", &svc);
    gke::export(&sim, "a", "hl");
    let derived = "gke-mcs-hl"; // named by the import's annotation
    for ctx in ["a", "b"] {
        let i = gke::Import {
            name: "hl",
            derived,
            port: ("http", 8080),
            target_port: 8080,
            headless: true,
            clusters: vec![gke::membership("gke-1")],
            addresses: vec![pod.clone()],
        };
        gke::import(&sim, ctx, &i);
    }
    let out = k(&sim, "b", NS, &["get", "serviceimport", "hl", "-o", "json"]);
    let import: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(import["spec"]["type"], "Headless");
    assert!(import["spec"]["ips"].is_null(), "{import:#}");
    let (code, d) = gke::doctor(&sim, "hl", &MEMBERSHIPS, &[]);
    assert_eq!((code, d["id"].as_str()), (0, Some("healthy")), "{d:#}");
    let dns = row(&d, "b", "dns")["detail"].as_str().unwrap_or_default();
    assert!(dns.contains(&pod), "headless DNS answers the pod IP: {dns}");
}

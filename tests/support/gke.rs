//! A GKE-shaped fleet built by hand with kubectl on `sim up --no-importer`: every object
//! written as GKE writes it (`reference/gke-reality.md` §1) — membership resource names in
//! `status.clusters`, GKE's ServiceImport labels, the derived Service and Endpoints, export
//! conditions `Initialized`/`Exported`, a `gke-mcs-importer` Deployment in `gke-mcs` — and
//! no Lease (GKE keeps none that is known). Nothing of the harness's importer runs.
#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{SimProcess, harness_bin, root};

/// The recipe's namespace and service.
pub const NS: &str = "multi-cluster-demo";
/// The exported Service.
pub const SVC: &str = "whereami";
/// `gke-mcs-` + base32hex(sha256("multi-cluster-demo/whereami"))[:10] (gke-reality.md §1.4).
pub const DERIVED: &str = "gke-mcs-7pqvt62non";
/// The fleet host project number of the public example (gke-reality.md §1.3).
pub const PROJECT_NUMBER: &str = "680206487583";

/// The membership resource name of membership `m`.
pub fn membership(m: &str) -> String {
    format!("projects/{PROJECT_NUMBER}/locations/us-central1/memberships/{m}")
}

/// Runs kubectl in `ctx` (namespace `ns` when not empty), asserting success.
pub fn k(sim: &SimProcess, ctx: &str, ns: &str, args: &[&str]) -> String {
    let mut all = vec!["--context", ctx];
    if !ns.is_empty() {
        all.extend(["-n", ns]);
    }
    all.extend(args);
    sim.ok(&all)
}

/// `kubectl apply -f -` of a JSON object in `ctx`.
pub fn apply(sim: &SimProcess, ctx: &str, obj: &Value) {
    sim.ok_stdin(&["--context", ctx, "apply", "-f", "-"], &obj.to_string());
}

/// Merge-patches the status subresource of `kind/name`.
pub fn patch_status(sim: &SimProcess, ctx: &str, ns: &str, kind: &str, name: &str, status: Value) {
    let body = json!({"status": status}).to_string();
    let args = [
        "patch",
        kind,
        name,
        "--subresource=status",
        "--type=merge",
        "-p",
        &body,
    ];
    k(sim, ctx, ns, &args);
}

/// Polls `f` every 50 ms for up to `secs` seconds until it returns `Some`.
pub fn until<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The `gke-mcs-importer` Deployment GKE runs in every member cluster (pods labelled
/// `k8s-app=gke-mcs-importer`, gke-reality.md §1.5); here a pause container.
pub fn importer_deployment(sim: &SimProcess, ctx: &str) {
    let _ = sim.run(&["--context", ctx, "create", "namespace", "gke-mcs"]);
    let labels = json!({"k8s-app": "gke-mcs-importer"});
    apply(
        sim,
        ctx,
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "gke-mcs-importer", "namespace": "gke-mcs", "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "gke-mcs-importer", "image": "registry.k8s.io/pause:3.10"}]}}}}),
    );
}

/// Waits until `selector` in `ctx`/`ns` has a Ready pod; returns its IP.
pub fn ready_pod_ip(sim: &SimProcess, ctx: &str, ns: &str, selector: &str) -> String {
    until(60, &format!("a ready pod {selector} in {ctx}"), || {
        let out = k(sim, ctx, ns, &["get", "pods", "-l", selector, "-o", "json"]);
        let v: Value = serde_json::from_str(&out).ok()?;
        v["items"].as_array()?.iter().find_map(|p| {
            let ready = p["status"]["conditions"]
                .as_array()?
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            let ip = p["status"]["podIP"].as_str()?;
            (ready && p["metadata"]["deletionTimestamp"].is_null()).then(|| ip.to_string())
        })
    })
}

/// A ServiceExport as GKE's controller leaves a working one (gke-reality.md §1.2); the
/// reasons are not published: these are placeholders.
pub fn export(sim: &SimProcess, ctx: &str, name: &str) {
    apply(
        sim,
        ctx,
        &json!({"apiVersion": "net.gke.io/v1", "kind": "ServiceExport",
                "metadata": {"name": name, "namespace": NS}}),
    );
    export_conditions(
        sim,
        ctx,
        name,
        &[("Initialized", "True"), ("Exported", "True")],
    );
}

/// Sets the export's conditions.
pub fn export_conditions(sim: &SimProcess, ctx: &str, name: &str, conds: &[(&str, &str)]) {
    let list: Vec<Value> = conds
        .iter()
        .map(|(t, s)| {
            json!({"type": t, "status": s, "reason": t, "message": "",
                             "lastTransitionTime": "2026-06-12T09:20:00Z"})
        })
        .collect();
    patch_status(
        sim,
        ctx,
        NS,
        "serviceexport",
        name,
        json!({"conditions": list}),
    );
}

/// What an importing cluster holds for one exported name.
pub struct Import<'a> {
    /// Service (and import) name.
    pub name: &'a str,
    /// Its derived Service.
    pub derived: &'a str,
    /// `(name, port)` of the import and derived Service.
    pub port: (&'a str, i64),
    /// The pods' port in the Endpoints.
    pub target_port: i64,
    /// Headless import (no IP).
    pub headless: bool,
    /// `status.clusters[].cluster` entries.
    pub clusters: Vec<String>,
    /// Ready pod IPs of the exporters.
    pub addresses: Vec<String>,
}

/// Writes (or rewrites) the import side in `ctx` as GKE writes it: ServiceImport with GKE's
/// labels and annotation, derived Service, its Endpoints, `spec.ips` = the derived
/// ClusterIP (none when headless), `status.clusters` = membership resource names.
pub fn import(sim: &SimProcess, ctx: &str, i: &Import<'_>) {
    let (pname, port) = i.port;
    let mut spec = json!({"type": if i.headless { "Headless" } else { "ClusterSetIP" },
        "ports": [{"name": pname, "port": port, "protocol": "TCP"}], "sessionAffinity": "None"});
    let import = |spec: &Value| {
        json!({"apiVersion": "net.gke.io/v1", "kind": "ServiceImport",
            "metadata": {"name": i.name, "namespace": NS,
                "annotations": {"net.gke.io/derived-service": i.derived},
                "labels": {"app.kubernetes.io/managed-by": "gke-mcs-controller.gke.io",
                    "net.gke.io/backend-service-name": format!("gkemcs-{NS}-{}", i.name),
                    "net.gke.io/export-network": "gke-vpc",
                    "net.gke.io/export-project": PROJECT_NUMBER}},
            "spec": spec})
    };
    apply(sim, ctx, &import(&spec));
    let mut svc_spec = json!({"type": "ClusterIP", "ports": [{"name": pname, "port": port, "protocol": "TCP", "targetPort": i.target_port}]});
    if i.headless {
        svc_spec["clusterIP"] = json!("None");
    }
    apply(
        sim,
        ctx,
        &json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": i.derived, "namespace": NS,
                "labels": {"app.kubernetes.io/managed-by": "gke-mcs-controller.gke.io"}},
            "spec": svc_spec}),
    );
    let addresses: Vec<Value> = i.addresses.iter().map(|ip| json!({"ip": ip})).collect();
    let subsets = match addresses.is_empty() {
        true => json!([]),
        false => json!([{"addresses": addresses,
            "ports": [{"name": pname, "port": i.target_port, "protocol": "TCP"}]}]),
    };
    apply(
        sim,
        ctx,
        &json!({"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": i.derived, "namespace": NS,
                "labels": {"app.kubernetes.io/managed-by": "gke-mcs-controller.gke.io"}},
            "subsets": subsets}),
    );
    if !i.headless {
        let ip = k(
            sim,
            ctx,
            NS,
            &[
                "get",
                "service",
                i.derived,
                "-o",
                "jsonpath={.spec.clusterIP}",
            ],
        );
        spec["ips"] = json!([ip.trim()]);
        apply(sim, ctx, &import(&spec));
    }
    let clusters: Vec<Value> = i.clusters.iter().map(|c| json!({"cluster": c})).collect();
    patch_status(
        sim,
        ctx,
        NS,
        "serviceimport",
        i.name,
        json!({"clusters": clusters}),
    );
}

/// The healthy fleet: whereami runs and is exported in `a` (membership `gke-1`); both
/// clusters import it; each runs GKE's importer Deployment. Returns a's pod IP.
pub fn build(sim: &SimProcess) -> String {
    let app = root().join("fixtures/mcs-basic/app.yaml");
    let app = app.to_str().expect("utf-8 path");
    for ctx in ["a", "b"] {
        importer_deployment(sim, ctx);
        k(sim, ctx, "", &["create", "namespace", NS]);
    }
    k(sim, "a", NS, &["apply", "-f", app]);
    let pod = ready_pod_ip(sim, "a", NS, "app=whereami");
    export(sim, "a", SVC);
    for ctx in ["a", "b"] {
        import(sim, ctx, &whereami(vec![pod.clone()]));
        ready_pod_ip(sim, ctx, "gke-mcs", "k8s-app=gke-mcs-importer");
    }
    pod
}

/// whereami's import as GKE writes it, listing `addresses`.
pub fn whereami(addresses: Vec<String>) -> Import<'static> {
    Import {
        name: SVC,
        derived: DERIVED,
        port: ("http", 80),
        target_port: 8080,
        headless: false,
        clusters: vec![membership("gke-1")],
        addresses,
    }
}

/// Runs `mcs-harness doctor --json` for `svc`; returns (exit code, diagnosis JSON).
pub fn doctor(sim: &SimProcess, svc: &str, extra: &[&str], env: &[(&str, &str)]) -> (i32, Value) {
    let mut c = Command::new(harness_bin());
    c.args(["doctor", "-n", NS, svc, "--json", "--kubeconfig"])
        .arg(&sim.kubeconfig)
        .args(extra)
        .current_dir(root());
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("doctor runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let d: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "doctor printed no JSON ({e}): {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), d)
}

/// The doctor JSON's check row of `link` in `cluster`.
pub fn row<'a>(d: &'a Value, cluster: &str, link: &str) -> &'a Value {
    d["checks"]
        .as_array()
        .and_then(|c| {
            c.iter()
                .find(|r| r["cluster"] == cluster && r["link"] == link)
        })
        .unwrap_or_else(|| panic!("no row {cluster}/{link}: {d:#}"))
}

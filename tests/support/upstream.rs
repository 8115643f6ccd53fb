//! Upstream (KEP-1645) fleets built by hand with kubectl on `sim up --flavour upstream
//! --no-importer`, shaped like one implementation's objects (`reference/gke-reality.md` §4):
//! cluster `a` runs and exports whereami, both clusters import it the way the
//! implementation does. Nothing of the harness's importer runs.
#![allow(dead_code)]

use serde_json::{Value, json};

use super::SimProcess;
use super::gke::{NS, SVC, apply, k, patch_status, ready_pod_ip};

/// The API version objects are written with (mcs-api v0.5 stores v1beta1).
pub const V1BETA1: &str = "multicluster.x-k8s.io/v1beta1";
/// The older version, still served by mcs-api v0.5 (and the only one of mcs-api v0.1).
pub const V1ALPHA1: &str = "multicluster.x-k8s.io/v1alpha1";

/// What the exporting cluster `a` runs.
pub struct Base {
    /// whereami's pod IP.
    pub pod: String,
    /// whereami's Service ClusterIP in `a`.
    pub service_ip: String,
}

/// whereami runs in `a`, exported with a ServiceExport (no conditions yet); namespace `NS`
/// exists in both clusters.
pub fn base(sim: &SimProcess) -> Base {
    let app = super::root().join("fixtures/mcs-basic/app.yaml");
    for ctx in ["a", "b"] {
        k(sim, ctx, "", &["create", "namespace", NS]);
    }
    k(
        sim,
        "a",
        NS,
        &["apply", "-f", app.to_str().expect("utf-8 path")],
    );
    let pod = ready_pod_ip(sim, "a", NS, "app=whereami");
    apply(
        sim,
        "a",
        &json!({"apiVersion": V1BETA1, "kind": "ServiceExport",
                "metadata": {"name": SVC, "namespace": NS}}),
    );
    let service_ip = cluster_ip(sim, "a", SVC);
    Base { pod, service_ip }
}

/// The ClusterIP of Service `name` in `ctx`.
pub fn cluster_ip(sim: &SimProcess, ctx: &str, name: &str) -> String {
    let ip = k(
        sim,
        ctx,
        NS,
        &["get", "service", name, "-o", "jsonpath={.spec.clusterIP}"],
    );
    ip.trim().to_string()
}

/// Sets the export's conditions: `(type, status, reason)`.
pub fn export_conditions(sim: &SimProcess, conds: &[(&str, &str, &str)]) {
    let list: Vec<Value> = conds
        .iter()
        .map(|(t, s, r)| {
            json!({"type": t, "status": s, "reason": r, "message": "",
                   "lastTransitionTime": "2026-12-01T10:00:00Z"})
        })
        .collect();
    let status = json!({"conditions": list});
    patch_status(sim, "a", NS, "serviceexport", SVC, status);
}

/// A ServiceImport for whereami in `ctx` (port http 80/TCP), written at `api_version`.
pub fn import(
    sim: &SimProcess,
    ctx: &str,
    api_version: &str,
    annotations: Value,
    ips: &[&str],
    clusters: &[&str],
) {
    apply(
        sim,
        ctx,
        &json!({"apiVersion": api_version, "kind": "ServiceImport",
            "metadata": {"name": SVC, "namespace": NS, "annotations": annotations},
            "spec": {"type": "ClusterSetIP", "ips": ips,
                     "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}}),
    );
    if !clusters.is_empty() {
        let clusters: Vec<Value> = clusters.iter().map(|c| json!({"cluster": c})).collect();
        // Fully qualified: kubectl's discovery cache may still name another version.
        let (group, version) = api_version.split_once('/').expect("group/version");
        let resource = format!("serviceimports.{version}.{group}");
        patch_status(sim, ctx, NS, &resource, SVC, json!({"clusters": clusters}));
    }
}

/// A selector-less ClusterIP Service `name` (port http 80 → 8080) in `ctx`, with
/// `annotations` and `labels`; returns its ClusterIP.
pub fn service(
    sim: &SimProcess,
    ctx: &str,
    name: &str,
    annotations: Value,
    labels: Value,
) -> String {
    apply(
        sim,
        ctx,
        &json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": NS, "annotations": annotations, "labels": labels},
            "spec": {"type": "ClusterIP",
                     "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]}}),
    );
    cluster_ip(sim, ctx, name)
}

/// An EndpointSlice `name` in `ctx` with `labels`, listing `addresses` as ready.
pub fn slice(sim: &SimProcess, ctx: &str, name: &str, labels: Value, addresses: &[&str]) {
    let endpoints: Vec<Value> = addresses
        .iter()
        .map(|a| json!({"addresses": [a], "conditions": {"ready": true}}))
        .collect();
    apply(
        sim,
        ctx,
        &json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": NS, "labels": labels},
            "addressType": "IPv4", "endpoints": endpoints,
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}),
    );
}

/// An Endpoints object `name` in `ctx` with `annotations`, listing `addresses`.
pub fn endpoints(sim: &SimProcess, ctx: &str, name: &str, annotations: Value, addresses: &[&str]) {
    let subsets = match addresses.is_empty() {
        true => json!([]),
        false => {
            let a: Vec<Value> = addresses.iter().map(|ip| json!({"ip": ip})).collect();
            json!([{"addresses": a, "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}])
        }
    };
    apply(
        sim,
        ctx,
        &json!({"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": name, "namespace": NS, "annotations": annotations},
            "subsets": subsets}),
    );
}

/// Makes cluster `ctx` serve only `v1alpha1` of ServiceExport and ServiceImport (as a
/// fleet installed with older mcs-api CRDs does), and waits until discovery says so.
pub fn serve_only_v1alpha1(sim: &SimProcess, ctx: &str) {
    for crd in [
        "serviceexports.multicluster.x-k8s.io",
        "serviceimports.multicluster.x-k8s.io",
    ] {
        let out = k(
            sim,
            ctx,
            "",
            &["get", "crd", crd, "-o", "jsonpath={.spec.versions[*].name}"],
        );
        let index = out
            .split_whitespace()
            .position(|v| v == "v1beta1")
            .expect("the CRD serves v1beta1");
        let patch = json!([{"op": "replace", "path": format!("/spec/versions/{index}/served"), "value": false}]);
        k(
            sim,
            ctx,
            "",
            &["patch", "crd", crd, "--type=json", "-p", &patch.to_string()],
        );
    }
    super::gke::until(30, "v1beta1 no longer served", || {
        let out = sim.run(&[
            "--context",
            ctx,
            "get",
            "--raw",
            "/apis/multicluster.x-k8s.io/v1beta1",
        ]);
        (!out.status.success()).then_some(())
    });
}

//! The importer's heartbeat: a Lease `gke-mcs-importer` in namespace `gke-mcs` of every
//! cluster, renewed while it runs, so an absent or stuck importer is detectable (a harness
//! convention: GKE is not known to keep such a Lease, gke-reality.md §1.5). Each renewal
//! also records whether the cluster answered (the readiness of the GKE flavour's
//! `gke-mcs-importer` Deployment, see `ready`), and keeps that Deployment written.

use std::sync::Arc;

use serde_json::json;

use super::Shared;
use super::write::{apply, core};

/// Renews the Lease in every cluster, forever.
pub async fn renew_forever(shared: Arc<Shared>) {
    let acquired = now_micro();
    loop {
        let clusters = shared.clusters.read().await.clone();
        for c in &clusters {
            match renew(&shared, &c.client, &acquired).await {
                true => shared.reachability.ok(&c.name),
                false => shared.reachability.failed(&c.name),
            }
            if let Some(addr) = shared.ready_addr {
                deployment(&shared, c, addr).await;
            }
        }
        tokio::time::sleep(shared.cfg.renew_every).await;
    }
}

fn now_micro() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// Keeps the `gke-mcs-importer` Deployment of `c` written (once per intent).
async fn deployment(shared: &Shared, c: &super::ClusterCache, addr: std::net::SocketAddr) {
    let ns = &shared.cfg.lease_namespace;
    let body = super::ready::deployment(ns, &c.name, addr);
    if !shared.changed(&c.name, ns, "deployment:gke-mcs-importer", &body) {
        return;
    }
    let ar = kube::api::ApiResource {
        group: "apps".into(),
        version: "v1".into(),
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        plural: "deployments".into(),
    };
    let written = apply(&c.client, &ar, ns, "gke-mcs-importer", &body).await;
    if let Err(e) = &written {
        tracing::warn!(cluster = %c.name, error = %e, "failed to write the importer Deployment");
    }
    let done = written.is_ok().then_some(&body);
    shared.mark_applied(&c.name, ns, "deployment:gke-mcs-importer", done);
}

/// Renews the Lease in one cluster; whether the cluster accepted it.
async fn renew(shared: &Shared, client: &kube::Client, acquired: &str) -> bool {
    let cfg = &shared.cfg;
    let ns =
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": cfg.lease_namespace}});
    if let Err(e) = apply(
        client,
        &core("Namespace", "namespaces"),
        "",
        &cfg.lease_namespace,
        &ns,
    )
    .await
    {
        tracing::debug!(error = %e, "cannot ensure the lease namespace");
    }
    let lease_ar = kube::api::ApiResource {
        group: "coordination.k8s.io".into(),
        version: "v1".into(),
        api_version: "coordination.k8s.io/v1".into(),
        kind: "Lease".into(),
        plural: "leases".into(),
    };
    let renew_secs = cfg.renew_every.as_secs().max(1);
    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": cfg.lease_name, "namespace": cfg.lease_namespace},
        "spec": {"holderIdentity": cfg.identity, "leaseDurationSeconds": renew_secs * 5,
                 "acquireTime": acquired, "renewTime": now_micro()}});
    match apply(
        client,
        &lease_ar,
        &cfg.lease_namespace,
        &cfg.lease_name,
        &lease,
    )
    .await
    {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, "failed to renew the importer lease");
            false
        }
    }
}

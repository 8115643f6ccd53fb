//! The importer's heartbeat: a Lease `gke-mcs-importer` in namespace `gke-mcs` of every
//! cluster, renewed while it runs, so an absent or stuck importer is detectable.

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
            renew(&shared, &c.client, &acquired).await;
        }
        tokio::time::sleep(shared.cfg.renew_every).await;
    }
}

fn now_micro() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

async fn renew(shared: &Shared, client: &kube::Client, acquired: &str) {
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
    if let Err(e) = apply(
        client,
        &lease_ar,
        &cfg.lease_namespace,
        &cfg.lease_name,
        &lease,
    )
    .await
    {
        tracing::warn!(error = %e, "failed to renew the importer lease");
    }
}

//! Local clusters (kind, k3s): what makes clusters the harness did not build itself ready
//! for MCS scenarios, the same way for every local provider:
//!
//! 1. per cluster, the kube API setup of [`crate::kind::setup`]: the flavour's CRDs, the
//!    CoreDNS `clusterset.local` stanza (and, upstream flavour, RBAC where the API server
//!    serves `rbac.authorization.k8s.io`);
//! 2. the simulated importer, in-process, over all clusters; in GKE flavour it also keeps
//!    the `clusterset.local` records in each cluster's `kube-system/coredns` Corefile.
//!
//! What this installs stays after the run (CRDs, Corefile stanza, the `gke-mcs` lease
//! namespace); `kind down` (or removing the k3s containers) removes it with the clusters.

use std::time::Duration;

use kube::Client;
use mcs_importer::{ClusterConn, DnsRecordsTarget, Flavour, Importer, ImporterConfig};

use crate::kind::setup::{self, SetupError, SetupOptions, SetupReport};

/// One cluster to prepare.
#[derive(Clone)]
pub struct LocalCluster {
    /// Name the importer and reports use (e.g. `mcs-1`).
    pub name: String,
    /// Where it is (kubeconfig context, container id), for messages.
    pub location: String,
    /// Admin client.
    pub client: Client,
}

/// Errors of [`prepare`].
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The setup of one cluster failed.
    #[error("setting up cluster {cluster} ({location}) for MCS failed")]
    Setup {
        /// Cluster name.
        cluster: String,
        /// Where it is.
        location: String,
        /// Cause.
        #[source]
        source: SetupError,
    },
}

/// Prepared clusters with their running importer (dropping it stops the importer).
pub struct Prepared {
    /// The clusters, in the order given.
    pub clusters: Vec<LocalCluster>,
    /// What the setup changed per cluster.
    pub reports: Vec<SetupReport>,
    /// The in-process importer.
    pub importer: Importer,
}

/// Runs the per-cluster setup (CRDs, CoreDNS stanza, RBAC where the API serves it) on every
/// cluster, in order; what each changed.
pub async fn setup_all(
    clusters: &[LocalCluster],
    flavour: Flavour,
) -> Result<Vec<SetupReport>, LocalError> {
    let mut reports = Vec::new();
    for c in clusters {
        let opts = SetupOptions {
            flavour,
            rbac: flavour == Flavour::Upstream && serves_rbac(&c.client).await,
        };
        let report = setup::setup(&c.client, &opts)
            .await
            .map_err(|source| LocalError::Setup {
                cluster: c.name.clone(),
                location: c.location.clone(),
                source,
            })?;
        reports.push(report);
    }
    Ok(reports)
}

/// Sets up every cluster ([`setup_all`]) and starts the importer over all of them.
pub async fn prepare(
    clusters: Vec<LocalCluster>,
    flavour: Flavour,
    propagation_delay: Duration,
) -> Result<Prepared, LocalError> {
    let reports = setup_all(&clusters, flavour).await?;
    let conns = clusters
        .iter()
        .map(|c| ClusterConn {
            name: c.name.clone(),
            client: c.client.clone(),
        })
        .collect();
    let cfg = ImporterConfig {
        flavour,
        propagation_delay,
        dns_records: Some(DnsRecordsTarget::default()),
        ..Default::default()
    };
    let importer = Importer::start(cfg, conns).await;
    Ok(Prepared {
        clusters,
        reports,
        importer,
    })
}

/// Whether the API server serves `rbac.authorization.k8s.io/v1` (real clusters do; the
/// embedded fleet stores RBAC objects without enforcing them).
pub async fn serves_rbac(client: &Client) -> bool {
    let gvk = kube::api::GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", "ClusterRole");
    kube::discovery::pinned_kind(client, &gvk).await.is_ok()
}

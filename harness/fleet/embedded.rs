//! The embedded fleet provider: mcs-sim clusters on loopback, both MCS CRD groups installed,
//! and the simulated importer running in-process with its own identity (so faults can deny
//! it, as IAM would on GKE).

use std::time::Duration;

use kube::Client;
use kube::config::Kubeconfig;
use mcs_importer::{ClusterConn, Flavour, Importer, ImporterConfig};
use mcs_sim::{Fleet, FleetConfig};

use super::kubeconfig::{FleetError, client_for_context};

/// The importer's user in every simulated cluster (GKE's importer service account).
pub const IMPORTER_USER: &str = "system:serviceaccount:gke-mcs:gke-mcs-importer";

/// How to start the embedded fleet.
#[derive(Clone, Debug)]
pub struct EmbeddedOptions {
    /// Cluster names.
    pub clusters: Vec<String>,
    /// Preferred API port (0 = any).
    pub port: u16,
    /// Run the simulated importer.
    pub importer: bool,
    /// Its flavour.
    pub flavour: Flavour,
    /// Its propagation delay.
    pub propagation_delay: Duration,
    /// Serve the sim's Fault API (off: the fleet cannot be broken on purpose, like a real one).
    pub faults: bool,
    /// TTL of the cluster DNS records, seconds.
    pub dns_ttl: u32,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        Self {
            clusters: vec!["a".into(), "b".into()],
            port: 0,
            importer: true,
            flavour: Flavour::Gke,
            propagation_delay: Duration::ZERO,
            faults: true,
            dns_ttl: mcs_sim::dns::DEFAULT_TTL,
        }
    }
}

/// A running embedded fleet.
pub struct EmbeddedFleet {
    /// The simulated clusters.
    pub fleet: Fleet,
    /// The importer, when running.
    pub importer: Option<Importer>,
    /// The MCS flavour its CRDs and importer play.
    pub flavour: Flavour,
    admin: Kubeconfig,
}

fn parse(v: serde_json::Value) -> Result<Kubeconfig, FleetError> {
    serde_json::from_value(v).map_err(|e| FleetError::Internal(e.to_string()))
}

/// Names the cluster in its cluster set, as a KEP-2149 cluster manager would: the
/// ClusterProperty `cluster.clusterset.k8s.io` with the cluster's name as its id (the id the
/// importer puts in the `multicluster.kubernetes.io/source-cluster` label of the slices it
/// imports, which CoreDNS's multicluster plugin, and the sim's DNS, use in
/// `<hostname>.<clusterid>.<svc>.<ns>.svc.clusterset.local`). Simulation choice: the id is
/// the cluster name, not a kube-system namespace uid as KEP-2149 recommends.
async fn cluster_id_property(client: &Client, name: &str) -> kube::Result<()> {
    use mcs_importer::types::about::{CLUSTER_ID_PROPERTY, ClusterProperty, ClusterPropertySpec};
    let api: kube::Api<ClusterProperty> = kube::Api::all(client.clone());
    let property = ClusterProperty::new(
        CLUSTER_ID_PROPERTY,
        ClusterPropertySpec {
            value: name.to_string(),
        },
    );
    let pp = kube::api::PatchParams::apply("mcs-harness").force();
    api.patch(
        CLUSTER_ID_PROPERTY,
        &pp,
        &kube::api::Patch::Apply(&property),
    )
    .await?;
    Ok(())
}

impl EmbeddedFleet {
    /// Starts clusters, installs the MCS CRDs, starts the importer.
    pub async fn start(opts: &EmbeddedOptions) -> Result<EmbeddedFleet, FleetError> {
        let cfg = FleetConfig {
            clusters: opts.clusters.clone(),
            port: opts.port,
            faults: opts.faults,
            dns_ttl: opts.dns_ttl,
            ..Default::default()
        };
        let fleet = Fleet::start(&cfg).await.map_err(FleetError::Sim)?;
        let admin = parse(fleet.kubeconfig())?;
        for name in &opts.clusters {
            let client = client_for_context(&admin, name).await?;
            mcs_importer::install_crds(&client, opts.flavour)
                .await
                .map_err(|source| FleetError::Client {
                    context: name.clone(),
                    source,
                })?;
            if opts.flavour == Flavour::Upstream {
                cluster_id_property(&client, name)
                    .await
                    .map_err(|source| FleetError::Client {
                        context: name.clone(),
                        source,
                    })?;
            }
        }
        let importer = match opts.importer {
            true => {
                let kc = parse(fleet.kubeconfig_for(IMPORTER_USER))?;
                let mut conns = Vec::new();
                for name in &opts.clusters {
                    conns.push(ClusterConn {
                        name: name.clone(),
                        client: client_for_context(&kc, name).await?,
                    });
                }
                let cfg = ImporterConfig {
                    flavour: opts.flavour,
                    propagation_delay: opts.propagation_delay,
                    ..Default::default()
                };
                Some(Importer::start(cfg, conns).await)
            }
            false => None,
        };
        Ok(EmbeddedFleet {
            fleet,
            importer,
            flavour: opts.flavour,
            admin,
        })
    }

    /// An admin client for cluster `name`.
    pub async fn client(&self, name: &str) -> Result<Client, FleetError> {
        client_for_context(&self.admin, name).await
    }
}
